"""Numerical accuracy of values and gradients at extreme magnitudes.

Every expected value is computed here, independently of gradc: closed forms with ``math``,
high-precision ``mpmath`` (shipped with SymPy) rounded to float64, or NumPy written out.
Each formula is compiled fused and with ``--no-fuse`` unless the point is fusion itself.
"""

import math
import warnings

import mpmath
import numpy as np
import pytest

import gradc

mpmath.mp.dps = 60

BUILDS = pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no_fuse"])


def load(text, fuse=True):
    return gradc.load_source(text, fuse=fuse)


def mp_array(f, x):
    """``f`` applied entrywise in 60-digit arithmetic, rounded to float64."""
    return np.array([float(f(mpmath.mpf(float(v)))) for v in np.ravel(x)]).reshape(
        np.shape(x)
    )


def mp_softmax(row):
    """softmax of a float64 vector in 60-digit arithmetic (the exact shifts), as float64."""
    xs = [mpmath.mpf(float(v)) for v in row]
    m = max(xs)
    e = [mpmath.exp(v - m) for v in xs]
    total = mpmath.fsum(e)
    return np.array([float(v / total) for v in e])


def mp_log_softmax(row):
    """log_softmax of a float64 vector in 60-digit arithmetic, as float64."""
    xs = [mpmath.mpf(float(v)) for v in row]
    m = max(xs)
    log_total = mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in xs))
    return np.array([float((v - m) - log_total) for v in xs])


def close(got, want, rtol=1e-14, atol=0.0):
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# --- logsumexp / log_softmax / softmax at large magnitude ----------------------------

LSE = "def f(x: Vector[n]) -> Scalar:\n    return logsumexp(x)\n"
LOG_SOFTMAX = (
    "def f(x: Vector[n], w: Vector[n]) -> Scalar:\n    return sum(w * log_softmax(x))\n"
)
BIG = [
    1e17 * np.ones(4),
    np.array([1e12, 1e12 + 1]),
    np.array([-1e12, -1e12 + 1, -1e12 + 3]),
    np.array([3e300, 3e300, -3e300]),
    np.array([0.5, -2.0, 1.25]),
]


@BUILDS
@pytest.mark.parametrize("x", BIG, ids=["1e17", "1e12", "-1e12", "3e300", "small"])
def test_logsumexp_gradient_is_softmax_at_large_magnitude(fuse, x):
    value, grad = load(LSE, fuse).f_value_and_grad(x)
    close(grad, mp_softmax(x))
    assert math.isclose(math.fsum(grad), 1.0, rel_tol=4e-16)
    close(value, float(max(x)) + math.log(np.exp(x - max(x)).sum()))


@BUILDS
@pytest.mark.parametrize("x", BIG, ids=["1e17", "1e12", "-1e12", "3e300", "small"])
def test_log_softmax_value_and_gradient_at_large_magnitude(fuse, x):
    w = np.arange(1.0, len(x) + 1)
    mod = load(LOG_SOFTMAX, fuse)
    value, (dx, dw) = mod.f_value_and_grad(x, w)
    ls = mp_log_softmax(x)
    close(dw, ls)
    close(value, float(np.dot(w, ls)), rtol=1e-13)
    # d/dx sum(w * log_softmax(x)) = w - softmax(x) * sum(w)
    close(dx, w - mp_softmax(x) * w.sum(), rtol=1e-13, atol=1e-14 * w.sum())


def test_log_softmax_value_at_1e17():
    mod = load("def f(x: Vector[n]) -> Vector[n]:\n    return log_softmax(x)\n")
    close(mod.f(1e17 * np.ones(4)), np.full(4, -math.log(4.0)))


@BUILDS
@pytest.mark.parametrize("axis", [0, 1])
def test_logsumexp_axis_and_keepdims(fuse, axis):
    x = np.array([[1e17, 1e17, 1e17], [1e12, 1e12 + 1, 1e12 - 2]])
    src = (
        "def f(x: Matrix[2, 3], w: Matrix[2, 3]) -> Scalar:\n"
        f"    return sum(w * logsumexp(x, axis={axis}, keepdims=True))\n"
        "def g(x: Matrix[2, 3]) -> Scalar:\n"
        f"    return sum(logsumexp(x, axis={axis}))\n"
    )
    mod = load(src, fuse)
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    soft = np.apply_along_axis(mp_softmax, axis, x)
    wsum = w.sum(axis=axis, keepdims=True)
    close(mod.f_grad(x, w)[0], wsum * soft)
    close(mod.g_grad(x), soft)


@BUILDS
def test_logsumexp_all_axes_matrix(fuse):
    x = np.array([[1e17, 1e17], [1e17, 1e17]])
    src = "def f(x: Matrix[2, 2]) -> Scalar:\n    return logsumexp(x)\n"
    close(load(src, fuse).f_grad(x), np.full((2, 2), 0.25))


@BUILDS
def test_softmax_and_log_softmax_on_rows_at_large_magnitude(fuse):
    x = np.array([[1e17, 1e17, 1e17, 1e17], [1e12, 1e12 + 1, 1e12 + 2, 1e12]])
    src = (
        "def s(x: Matrix[2, 4]) -> Matrix[2, 4]:\n    return softmax(x, axis=1)\n"
        "def ls(x: Matrix[2, 4]) -> Matrix[2, 4]:\n    return log_softmax(x, axis=1)\n"
        "def lsc(x: Matrix[2, 4]) -> Matrix[4, 2]:\n    return log_softmax(x.T, axis=0)\n"
    )
    mod = load(src, fuse)
    close(mod.s(x), np.array([mp_softmax(r) for r in x]))
    close(mod.ls(x), np.array([mp_log_softmax(r) for r in x]))
    close(mod.lsc(x), np.array([mp_log_softmax(r) for r in x]).T)


@BUILDS
def test_rows_with_minus_inf(fuse):
    x = np.array([[-np.inf, 0.0, 0.0], [1e17, -np.inf, 1e17]])
    src = (
        "def f(x: Matrix[2, 3]) -> Scalar:\n    return sum(logsumexp(x, axis=1))\n"
        "def ls(x: Matrix[2, 3]) -> Matrix[2, 3]:\n    return log_softmax(x, axis=1)\n"
    )
    mod = load(src, fuse)
    np.testing.assert_array_equal(mod.f_grad(x), [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    got = mod.ls(x)
    np.testing.assert_array_equal(got[:, [1, 2, 0]].ravel()[:2], [-math.log(2)] * 2)
    assert got[0, 0] == -np.inf and got[1, 1] == -np.inf
    close(got[1, [0, 2]], [-math.log(2)] * 2)


def test_fused_spellings_at_large_magnitude():
    """log(sum(exp(x))) becomes logsumexp, log(softmax(x)) becomes log_softmax."""
    src = (
        "def f(x: Vector[n]) -> Scalar:\n    return log(sum(exp(x)))\n"
        "def g(x: Vector[n]) -> Vector[n]:\n    return log(softmax(x))\n"
    )
    mod = load(src)
    x = np.array([1e12, 1e12 + 1])
    close(mod.f_grad(x), mp_softmax(x))
    close(mod.g(1e17 * np.ones(4)), np.full(4, -math.log(4.0)))


# --- local gradients of the unary functions, to a few ulps (expm1, log1p,
# softplus) or, for the lecture's sigmoid and tanh rules, to an ulp of 1 ----------------------


def mp_sigmoid(v):
    return 1 / (1 + mpmath.exp(-v))


# (formula of x, exact derivative in mpmath, points where the old rule lost precision)
UNARY = {
    "expm1": ("expm1(x)", mpmath.exp, [-30.0, -40.0, -700.0, -1e-20, 0.5, 30.0]),
    "exp_minus_1": ("exp(x) - 1", mpmath.exp, [-30.0, -40.0, -700.0, -1e-20, 0.5]),
    "expm1_times": (
        "3 * (exp(x) - 1)",
        lambda v: 3 * mpmath.exp(v),
        [-30.0, -40.0, 0.5],
    ),
    "expm1_plus": ("exp(x) - 1 + x", lambda v: mpmath.exp(v) + 1, [-40.0, 0.5]),
    "tanh": (
        "tanh(x)",
        lambda v: mpmath.sech(v) ** 2,
        [3.0, 10.0, 20.0, -20.0, 300.0, 1e-9],
    ),
    "tanh_times": (
        "2 * tanh(x)",
        lambda v: 2 * mpmath.sech(v) ** 2,
        [3.0, 20.0, -20.0],
    ),
    "tanh_inner": (
        "tanh(3 * x)",
        lambda v: 3 * mpmath.sech(3 * v) ** 2,
        [1.0, 7.0, -7.0],
    ),
    "sigmoid": (
        "sigmoid(x)",
        lambda v: mp_sigmoid(v) * mp_sigmoid(-v),
        [10.0, 30.0, 40.0, -40.0, 700.0, -700.0, 0.0],
    ),
    "sigmoid_times": (
        "3 * sigmoid(x)",
        lambda v: 3 * mp_sigmoid(v) * mp_sigmoid(-v),
        [30.0, 40.0, -40.0],
    ),
    "sigmoid_plus": (
        "sigmoid(x) + x",
        lambda v: 1 + mp_sigmoid(v) * mp_sigmoid(-v),
        [3.0, 40.0, -40.0],
    ),
    "swish": (
        "x * sigmoid(x)",
        lambda v: mp_sigmoid(v) + v * mp_sigmoid(v) * mp_sigmoid(-v),
        [-5.0, 30.0, 40.0, -30.0],
    ),
    "sigmoid_ratio": (
        "1 / (1 + exp(-x))",
        lambda v: mp_sigmoid(v) * mp_sigmoid(-v),
        [30.0, 40.0, -40.0],
    ),
    "softplus": ("softplus(x)", mp_sigmoid, [40.0, -40.0, -800.0, 800.0, 0.0]),
    "log_one_plus_exp": ("log(1 + exp(x))", mp_sigmoid, [30.0, -40.0, 0.0]),
    "log1p": ("log1p(x)", lambda v: 1 / (1 + v), [1e-20, -0.5, -1 + 2**-30, 1e300]),
}


def unary_module(expr, fuse, scalar):
    t = "Scalar" if scalar else "Vector[n]"
    body = expr if scalar else f"sum({expr})"
    return load(f"def f(x: {t}) -> Scalar:\n    return {body}\n", fuse)


@BUILDS
@pytest.mark.parametrize("scalar", [False, True], ids=["numpy", "math"])
@pytest.mark.parametrize("case", sorted(UNARY))
def test_unary_local_gradient_to_a_few_ulps(case, fuse, scalar):
    expr, deriv, points = UNARY[case]
    mod = unary_module(expr, fuse, scalar)
    want = mp_array(deriv, points)
    if scalar:
        got = np.array([mod.f_grad(v) for v in points])
    else:
        got = mod.f_grad(np.array(points))
    # sigmoid' = s * (1 - s) and tanh' = 1 - y**2 are the lecture's (and JAX's) rules: where
    # s or y rounds to +-1, 1 - s cancels, an absolute error below one ulp of 1 (times the
    # formula's factor, at most 3 here), README "Conventions"
    lecture = case.startswith(("sigmoid", "tanh", "swish"))
    close(got, want, rtol=1e-14, atol=4 * 2**-53 if lecture else 0.0)


def test_expm1_fused_matches_no_fuse():
    """Fusion rewrites exp(x) - 1 to expm1: its gradient must be as exact as exp's."""
    src = "def f(x: Vector[n]) -> Scalar:\n    return sum(exp(x) - 1)\n"
    x = np.array([-30.0, -40.0, -1e-20])
    close(load(src).f_grad(x), np.exp(x), rtol=0)
    close(load(src, fuse=False).f_grad(x), np.exp(x), rtol=0)


# --- clip with lo > hi returns hi, so hi gets the gradient ---------------------------


def clip_routes(x, lo, hi):
    """Which of x, lo, hi np.clip returns at each entry (bounds pass through to x)."""
    x, lo, hi = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, lo, hi)))
    out = np.clip(x, lo, hi)
    to_x = out == x  # inside, or at a bound
    to_hi = ~to_x & (out == hi) & ((x > hi) | (lo > hi))
    to_lo = ~to_x & ~to_hi
    assert np.array_equal(out[to_lo], lo[to_lo])
    return to_x.astype(float), to_lo.astype(float), to_hi.astype(float)


def central_difference(f, args, k, h=1e-6):
    """d sum(f) / d args[k] by central differences, entry by entry."""
    base = [np.array(a, dtype=float) for a in args]
    grad = np.zeros_like(base[k])
    for idx in np.ndindex(grad.shape):
        up = [a.copy() for a in base]
        down = [a.copy() for a in base]
        up[k][idx] += h
        down[k][idx] -= h
        grad[idx] = (np.sum(f(*up)) - np.sum(f(*down))) / (2 * h)
    return grad


CLIP_CASES = {
    "scalars": ("Vector[5]", "Scalar", "Scalar", [-1.0, 0.5, 1.0, 2.0, 3.0], 2.5, 1.0),
    "vector_bounds": (
        "Vector[5]",
        "Vector[5]",
        "Vector[5]",
        [-1.0, 0.5, 1.5, 2.0, 3.0],
        [2.5, 0.0, 0.0, 3.0, 2.0],
        [1.0, 1.0, 1.0, 1.0, 2.5],
    ),
    "broadcast_lo": (
        "Matrix[2, 3]",
        "Vector[3]",
        "Scalar",
        [[-1.0, 0.5, 4.0], [2.0, 3.0, 0.0]],
        [2.0, -1.0, 5.0],
        1.0,
    ),
    "broadcast_hi": (
        "Matrix[2, 3]",
        "Scalar",
        "Matrix[2, 1]",
        [[-1.0, 0.5, 4.0], [2.0, 3.0, 0.0]],
        1.5,
        [[1.0], [4.0]],
    ),
}


@BUILDS
@pytest.mark.parametrize("case", sorted(CLIP_CASES))
def test_clip_gradient_goes_to_the_value_numpy_returns(case, fuse):
    tx, tlo, thi, x, lo, hi = CLIP_CASES[case]
    src = (
        f"def f(x: {tx}, lo: {tlo}, hi: {thi}) -> Scalar:\n"
        "    return sum(clip(x, lo, hi))\n"
    )
    x, lo, hi = (np.array(v) if np.ndim(v) else v for v in (x, lo, hi))
    value, (dx, dlo, dhi) = load(src, fuse).f_value_and_grad(x, lo, hi)
    assert value == np.clip(x, lo, hi).sum()
    to_x, to_lo, to_hi = clip_routes(x, lo, hi)

    def reduce_to(g, shape):
        while g.ndim > len(shape):
            g = g.sum(axis=0)
        return g.sum(
            axis=tuple(k for k, d in enumerate(shape) if d == 1), keepdims=True
        )

    np.testing.assert_array_equal(dx, to_x)
    np.testing.assert_array_equal(dlo, reduce_to(to_lo, np.shape(lo)))
    np.testing.assert_array_equal(dhi, reduce_to(to_hi, np.shape(hi)))


def test_clip_lo_above_hi_matches_central_differences():
    """Away from ties, clip(x, lo, hi) with lo > hi is hi: d/dhi = 1, d/dx = d/dlo = 0."""
    x = np.array([-1.0, 0.3, 1.7, 5.0])
    lo = np.array([2.0, 2.0, 3.0, 6.0])
    hi = np.array([1.0, 0.5, 2.0, 5.5])
    src = "def f(x: Vector[4], lo: Vector[4], hi: Vector[4]) -> Scalar:\n    return sum(clip(x, lo, hi))\n"
    grads = load(src).f_grad(x, lo, hi)
    for k in range(3):
        want = central_difference(np.clip, [x, lo, hi], k)
        close(grads[k], want, rtol=1e-6)


# --- rewrites keep overflow, underflow and NaN behaviour ---------------------------

REASSOCIATION = {
    # s * (t * X) must not become (s * t) * X: s * t overflows to inf, and inf * 0 is NaN
    "scalars_first": (
        "def f(s: Scalar, t: Scalar, x: Vector[3]) -> Scalar:\n    return sum(s * (t * x))\n",
        (1e200, 1e200, np.array([1e-300, 1e-300, 0.0])),
        lambda s, t, x: np.sum(s * (t * x)),
    ),
    "scalars_first_underflow": (
        "def f(s: Scalar, t: Scalar, x: Vector[3]) -> Scalar:\n    return sum(s * (t * x))\n",
        (1e-200, 1e-200, np.array([1e300, 1e300, 0.0])),
        lambda s, t, x: np.sum(s * (t * x)),
    ),
    "scalars_first_array_result": (
        "def f(s: Scalar, t: Scalar, x: Vector[3]) -> Vector[3]:\n    return s * (x * t)\n",
        (1e200, 1e200, np.array([1e-300, -1e-300, 0.0])),
        lambda s, t, x: s * (x * t),
    ),
    # sum(a * b + c * d) must not become vdot(a, b) + vdot(c, d): inf - inf
    "sum_distributed": (
        "def f(a: Vector[2], b: Vector[2], c: Vector[2], d: Vector[2]) -> Scalar:\n"
        "    return sum(a * b + c * d)\n",
        (
            np.array([1e154, 1e154]),
            np.array([1e154, 1e154]),
            np.array([-1e154, -1e154]),
            np.array([1e154, 1e154]),
        ),
        lambda a, b, c, d: np.sum(a * b + c * d),
    ),
    # sum(s * (a * b)) must not become s * vdot(a, b): the dot overflows, 0.5 * it does not
    "sum_scalar_out": (
        "def f(s: Scalar, a: Vector[2], b: Vector[2]) -> Scalar:\n    return sum(s * (a * b))\n",
        (0.5, np.array([1e154, 1e154]), np.array([1e154, 1e154])),
        lambda s, a, b: np.sum(s * (a * b)),
    ),
    "sum_over_scalar": (
        "def f(s: Scalar, a: Vector[2], b: Vector[2]) -> Scalar:\n    return sum(a * b / s)\n",
        (2.0, np.array([1e154, 1e154]), np.array([1e154, 1e154])),
        lambda s, a, b: np.sum(a * b / s),
    ),
    "scalars_first_inf": (
        "def f(s: Scalar, t: Scalar, x: Vector[3]) -> Scalar:\n    return sum(s * (t * x))\n",
        (1e-200, 1e-200, np.array([1e300, 1e300, np.inf])),
        lambda s, t, x: np.sum(s * (t * x)),
    ),
    "mean_scalar_out": (
        "def f(a: Vector[2], b: Vector[2]) -> Scalar:\n    return mean(0.5 * (a * b))\n",
        (np.array([1e154, 1e154]), np.array([1e154, 1e154])),
        lambda a, b: np.mean(0.5 * (a * b)),
    ),
}


@BUILDS
@pytest.mark.parametrize("case", sorted(REASSOCIATION))
def test_rewrites_keep_overflow_behaviour(case, fuse):
    src, args, numpy_f = REASSOCIATION[case]
    mod = load(src, fuse)
    with np.errstate(over="ignore"):
        want = numpy_f(*args)
    assert not np.any(np.isnan(want)), want
    close(mod.f(*args), want)
    close(mod.f_forward(*args)[0], want)
    if np.ndim(want) == 0:
        close(mod.f_value_and_grad(*args)[0], want)


def test_scalars_first_gradient_at_the_reported_point():
    """d/dx sum(s * (t * x)) = s * t (here inf is right: 1e400 overflows); d/ds = t * sum(x)."""
    src = REASSOCIATION["scalars_first"][0]
    s, t, x = REASSOCIATION["scalars_first"][1]
    value, (ds, dt, dx) = load(src).f_value_and_grad(s, t, x)
    close(value, 2e100)
    close(ds, 2e100 / 1e200)
    close(dt, 2e100 / 1e200)


def test_constant_scalars_still_fold():
    """2 * (3 * x) is still one pass: 6 * x (the product is exact and in range)."""
    src = "def f(x: Vector[3]) -> Vector[3]:\n    return 2 * (3 * x)\n"
    text = gradc.compile_source(src)
    assert "6.0 * x" in text, text


# --- norm scaled by max |x|, value and gradient -----------------------


def mp_norm(v):
    return float(
        mpmath.sqrt(mpmath.fsum(mpmath.mpf(float(e)) ** 2 for e in np.ravel(v)))
    )


NORM_POINTS = {
    "1e200": np.array([1e200, 1e200]),
    "1e-200": np.array([1e-200, -1e-200]),
    "mixed": np.array([3e-200, 4e-200, 0.0]),
    "1e154": np.array([1e154, -3e154, 2e154]),
    "subnormal": np.array([3e-310, 4e-310]),
    "big_small": np.array([1e200, 1e-200]),
    "ordinary": np.array([3.0, -4.0, 12.0]),
}


@BUILDS
@pytest.mark.parametrize("point", sorted(NORM_POINTS))
def test_norm_is_scaled_in_value_and_gradient(point, fuse):
    x = NORM_POINTS[point]
    src = "def f(x: Vector[n]) -> Scalar:\n    return norm(x)\n"
    value, grad = load(src, fuse).f_value_and_grad(x)
    want = mp_norm(x)
    close(value, want, rtol=4e-16)
    tol = (
        1e-9 if point == "subnormal" else 4e-16
    )  # x / ||x|| with 3e-310: a subnormal x
    close(grad, [float(mpmath.mpf(float(e)) / mpmath.mpf(want)) for e in x], rtol=tol)


@BUILDS
@pytest.mark.parametrize("axis", [0, 1])
def test_norm_along_an_axis_is_scaled(fuse, axis):
    x = np.array([[1e200, 1e-200, 3.0], [1e200, -1e-200, 4.0]])
    src = (
        "def f(x: Matrix[2, 3], w: Matrix[2, 3]) -> Scalar:\n"
        f"    return sum(w * norm(x, axis={axis}, keepdims=True))\n"
    )
    w = np.ones((2, 3))
    value, (dx, dw) = load(src, fuse).f_value_and_grad(x, w)
    norms = np.apply_along_axis(mp_norm, axis, x)
    close(dw, np.broadcast_to(np.expand_dims(norms, axis), x.shape), rtol=4e-16)
    count = x.shape[
        axis
    ]  # each norm is read by the entries of w along the reduced axis
    close(dx, count * x / np.expand_dims(norms, axis), rtol=1e-15)


def test_norm_at_zero_and_at_inf():
    src = "def f(x: Vector[n]) -> Scalar:\n    return norm(x)\n"
    mod = load(src)
    value, grad = mod.f_value_and_grad(np.zeros(3))
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros(3))
    assert mod.f(np.array([np.inf, 1.0])) == np.inf
    assert np.isnan(mod.f(np.array([np.nan, 1.0])))


def test_norm_of_a_matrix_is_frobenius_scaled():
    x = np.array([[1e200, 0.0], [0.0, 1e200]])
    src = "def f(x: Matrix[2, 2]) -> Scalar:\n    return norm(x)\n"
    value, grad = load(src).f_value_and_grad(x)
    close(value, math.sqrt(2) * 1e200, rtol=4e-16)
    close(grad, x / (math.sqrt(2) * 1e200), rtol=4e-16)


@pytest.mark.parametrize("point", ["1e200", "1e-200", "big_small"])
def test_norm_warns_about_nothing_it_handles(point):
    """The squares that over- or underflow only choose the scaled formula: no warning."""
    x = NORM_POINTS[point]
    mod = load(
        "def f(x: Vector[n], W: Matrix[2, n]) -> Scalar:\n    return norm(x) + sum(norm(W, axis=0))\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, _ = mod.f_value_and_grad(x, np.stack([x, x]))
    close(value, mp_norm(x) + math.sqrt(2) * np.abs(x).sum(), rtol=1e-15)
