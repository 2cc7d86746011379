"""NaN and inf never leak where they should not .

* The branch ``where`` does not take never leaks NaN or inf into a gradient, whatever
happens to the masked value afterwards (reduced, broadcast, shared, multiplied by
  another input), fused or not, inside ``@fuse`` helpers too.
* ``x ** p`` at ``x = 0`` follows JAX (``d/dp = x**p * log(x)`` is 0 where ``x == 0``,
``d/dx x**0 = 0``), and the scalar build returns what the NumPy build returns.
* Constant folding follows NumPy float64 (NaN, inf; never complex, never an exception).

Expected values are closed forms written out here, or central finite differences in float64
at points away from the branch boundaries.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradc
from tests.gradcheck import as_grad_list, assert_fd_close, central_diff_grad

FUSE = pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
LOG3 = math.log(3.0)


def load(src: str, fuse: bool):
    return gradc.load_source(src, fuse=fuse, filename="<nan_guards>")


def value_and_grads(src: str, fuse: bool, *args):
    """The value and the list of gradients (one per input), NumPy warnings silenced: the
    forward pass may evaluate the untaken branch (log(0)); only the results matter."""
    mod = load(src, fuse)
    with np.errstate(all="ignore"):
        value, grads = mod.f_value_and_grad(*args)
    return value, as_grad_list(grads, len(args))


def assert_grads(got: list, want: list) -> None:
    """Every gradient finite and equal to its closed form (to rounding)."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == np.shape(w), (g.shape, np.shape(w))
        assert np.all(np.isfinite(g)), g
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)


def fd_check(src: str, fuse: bool, *args) -> None:
    """The gradients match central differences at a point away from every branch boundary."""
    mod = load(src, fuse)
    with np.errstate(all="ignore"):
        _, grads = mod.f_value_and_grad(*args)
        numeric = central_diff_grad(mod.f, args, range(len(args)))
    assert_fd_close(as_grad_list(grads, len(args)), numeric, scale=abs(mod.f(*args)))


X = np.array([-2.0, 0.0, 3.0])  # the reported point: log(0) = -inf, log(-2) = nan
X_SMOOTH = np.array([-2.0, 0.5, 3.0])  # the same branches, no boundary, no NaN


# --- where: the untaken branch ------------------------------------------------------------------------

W_LOG = "def f(w: Scalar, x: Vector[n]) -> Scalar:\n    return sum(where(x > 0, w * log(x), 0))\n"


@FUSE
def test_where_masked_value_times_scalar_input(fuse):
    # d/dw = sum over x > 0 of log(x) = log 3; d/dx = w / x there
    value, grads = value_and_grads(W_LOG, fuse, 2.0, X)
    assert value == pytest.approx(2 * LOG3, rel=1e-15)
    assert_grads(grads, [LOG3, [0.0, 0.0, 2.0 / 3.0]])
    fd_check(W_LOG, fuse, 2.0, X_SMOOTH)


W_BROADCAST = (
    "def f(w: Vector[n], X: Matrix[m, n]) -> Scalar:\n"
    "    return sum(where(X > 0, log(w), 0))\n"
)


@FUSE
def test_where_branch_broadcast_over_rows(fuse):
    # column j counts log(w_j) once per row with X > 0: d/dw_j = count_j / w_j
    w = np.array([0.0, 2.0, 4.0])
    x = np.array([[-1.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
    value, grads = value_and_grads(W_BROADCAST, fuse, w, x)
    assert value == pytest.approx(2 * math.log(2.0) + math.log(4.0), rel=1e-15)
    assert_grads(grads, [[0.0, 1.0, 0.25], np.zeros((2, 3))])
    fd_check(W_BROADCAST, fuse, np.array([0.5, 2.0, 4.0]), x)


ROW_WEIGHTS = (
    "def f(X: Matrix[m, n], w: Vector[n]) -> Scalar:\n"
    "    return sum(where(X > 0, log(X) * w, 0))\n"
)


@FUSE
def test_where_masked_value_times_broadcast_input(fuse):
    x = np.array([[0.0, 2.0], [3.0, -1.0]])
    w = np.array([1.0, 2.0])
    _, grads = value_and_grads(ROW_WEIGHTS, fuse, x, w)
    assert_grads(grads, [[[0.0, 1.0], [1.0 / 3.0, 0.0]], [LOG3, math.log(2.0)]])
    fd_check(ROW_WEIGHTS, fuse, np.array([[0.5, 2.0], [3.0, -1.0]]), w)


SCALAR_BRANCH = "def f(s: Scalar, x: Vector[n]) -> Scalar:\n    return sum(where(x > 0, log(s) * x, 0))\n"


@FUSE
def test_where_scalar_branch_spread_over_a_vector(fuse):
    # no element takes the branch: log(0) must not reach d_s
    _, grads = value_and_grads(SCALAR_BRANCH, fuse, 0.0, np.array([-1.0, -2.0]))
    assert_grads(grads, [0.0, [0.0, 0.0]])
    _, grads = value_and_grads(SCALAR_BRANCH, fuse, 2.0, np.array([-1.0, 3.0]))
    assert_grads(grads, [1.5, [0.0, math.log(2.0)]])
    fd_check(SCALAR_BRANCH, fuse, 2.0, np.array([-1.0, 3.0]))


SHARED_LOG = (
    "def f(x: Vector[n]) -> Scalar:\n"
    "    lx = log(x)\n"
    "    return sum(where(x > 0, lx, 0) + where(x > 1, lx, 0))\n"
)


@FUSE
def test_where_log_shared_by_two_wheres(fuse):
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    _, grads = value_and_grads(SHARED_LOG, fuse, x)
    assert_grads(grads, [[0.0, 0.0, 2.0, 2.0 / 3.0]])
    fd_check(SHARED_LOG, fuse, np.array([-2.0, 0.5, 3.0]))


SQRT_TWO_CONDITIONS = (
    "def f(x: Vector[n]) -> Scalar:\n"
    "    return sum(where(x > 0, sqrt(x), 0) + where(x >= 1, sqrt(x), x))\n"
)


@FUSE
def test_where_sqrt_under_two_conditions(fuse):
    # 1 / (2 sqrt x) from each branch that takes sqrt; the second's other branch gives 1
    x = np.array([-2.0, 0.0, 0.25, 4.0])
    _, grads = value_and_grads(SQRT_TWO_CONDITIONS, fuse, x)
    assert_grads(grads, [[1.0, 1.0, 2.0, 0.5]])
    fd_check(SQRT_TWO_CONDITIONS, fuse, np.array([-2.0, 0.25, 4.0]))


W_POW = "def f(p: Scalar, x: Vector[n]) -> Scalar:\n    return sum(where(x > 0, x ** p, 0))\n"


@FUSE
def test_where_pow_exponent_gradient(fuse):
    _, grads = value_and_grads(W_POW, fuse, 1.5, X)
    assert_grads(grads, [3.0**1.5 * LOG3, [0.0, 0.0, 1.5 * math.sqrt(3.0)]])
    fd_check(W_POW, fuse, 1.5, np.array([-2.0, 0.5, 3.0]))


NESTED = (
    "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n"
    "    return sum(where(y > 0, where(x > -1, log(x + 1), 0), 0))\n"
)


@FUSE
def test_where_inner_branch_taken_outer_not(fuse):
    # at x = -1 the inner where takes log(0) = -inf, but the outer one does not
    _, grads = value_and_grads(
        NESTED, fuse, np.array([-1.0, 1.0]), np.array([-1.0, 1.0])
    )
    assert_grads(grads, [[0.0, 0.5], [0.0, 0.0]])
    fd_check(NESTED, fuse, np.array([-0.5, 1.0]), np.array([-1.0, 1.0]))


FUSE_HELPER = (
    "@fuse\n"
    "def safelog(t: Scalar) -> Scalar:\n"
    "    return where(t > 0, log(t), 0.0)\n\n\n"
    "def f(w: Scalar, x: Vector[n]) -> Scalar:\n"
    "    return sum(w * safelog(x))\n"
)


@FUSE
def test_where_inside_fuse_helper(fuse):
    _, grads = value_and_grads(FUSE_HELPER, fuse, 2.0, X)
    assert_grads(grads, [LOG3, [0.0, 0.0, 2.0 / 3.0]])
    fd_check(FUSE_HELPER, fuse, 2.0, X_SMOOTH)


FUSE_HELPER_POW = (
    "@fuse\n"
    "def powpos(t: Scalar, p: Scalar) -> Scalar:\n"
    "    return where(t > 0, t ** p, 0.0)\n\n\n"
    "def f(p: Scalar, x: Vector[n]) -> Scalar:\n"
    "    return sum(powpos(x, p))\n"
)


@FUSE
def test_where_pow_inside_fuse_helper(fuse):
    _, grads = value_and_grads(FUSE_HELPER_POW, fuse, 1.5, X)
    assert_grads(grads, [3.0**1.5 * LOG3, [0.0, 0.0, 1.5 * math.sqrt(3.0)]])


# Formulas whose untaken branch is NaN or inf somewhere in the sweep below.
SWEEP = [
    W_LOG,
    SCALAR_BRANCH,
    W_POW,
    "def f(w: Scalar, x: Vector[n]) -> Scalar:\n    return sum(where(x <= 0, 0, w / x))\n",
    "def f(x: Vector[n]) -> Scalar:\n    return mean(where(x > 0, sqrt(x) * log(x), x) ** 2)\n",
    "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
    "    return sum(exp(where(x > 0, log(x) * w, -x)))\n",
    "def f(x: Vector[n], b: Vector[n]) -> Scalar:\n"
    "    u = log(x) + b\n"
    "    return sum(where(x > 0, u * u, 0) - where(x > 2, u, b))\n",
    "def f(x: Vector[n]) -> Scalar:\n    return sum(where(x > 0, x ** 0.5, 0) * where(x < 4, 1 / (4 - x), 0))\n",
]


@FUSE
@pytest.mark.parametrize("src", SWEEP, ids=range(len(SWEEP)))
def test_no_nan_or_inf_from_untaken_branches(src, fuse):
    names = [
        a.split(":")[0].strip() for a in src.split("(", 1)[1].split(")")[0].split(",")
    ]
    x = np.array([-2.0, -0.0, 0.0, 4.0, 1.0, 9.0])
    args = [
        2.0 if n in ("w", "s", "p") else x if n == "x" else np.linspace(-1, 1, 6)
        for n in names
    ]
    _, grads = value_and_grads(src, fuse, *args)
    for g in grads:
        assert np.all(np.isfinite(g)), (src, g)


SCALAR_WHERE = (
    "def f(w: Scalar, x: Scalar) -> Scalar:\n    return where(x > 0, w * log(x), 0)\n"
)


@FUSE
@pytest.mark.parametrize("x", [0.0, -2.0])
def test_where_scalar_build(fuse, x):
    value, grads = value_and_grads(SCALAR_WHERE, fuse, 2.0, x)
    assert value == 0.0
    assert_grads(grads, [0.0, 0.0])


# --- x ** p at x = 0 (JAX's convention, README.md "Conventions") -----------------

POW = "def f(p: Scalar, x: Vector[n]) -> Scalar:\n    return sum(x ** p)\n"
POW_SCALAR = "def f(p: Scalar, x: Scalar) -> Scalar:\n    return x ** p\n"
POW_ZERO = "def f(x: Vector[n]) -> Scalar:\n    return sum(x ** 0)\n"
ZERO_BASE = "def f(x: Vector[n]) -> Scalar:\n    return sum(0.0 ** (x + 2))\n"


@FUSE
def test_pow_exponent_gradient_at_zero_base(fuse):
    # d/dp = sum x**p log x with 0 log 0 = 0; d/dx = p x**(p - 1)
    _, grads = value_and_grads(POW, fuse, 1.5, np.array([0.0, 2.0]))
    assert_grads(grads, [2.0**1.5 * math.log(2.0), [0.0, 1.5 * math.sqrt(2.0)]])
    fd_check(POW, fuse, 1.5, np.array([0.5, 2.0]))


@FUSE
def test_pow_variable_exponent_zero(fuse):
    # x ** 0 = 1 for every x: d/dx = 0 (also at x = 0); d/dp = sum log x over x != 0
    value, grads = value_and_grads(POW, fuse, 0.0, np.array([0.0, 2.0]))
    assert value == 2.0
    assert_grads(grads, [math.log(2.0), [0.0, 0.0]])


@FUSE
def test_pow_literal_exponent_zero(fuse):
    value, grads = value_and_grads(POW_ZERO, fuse, np.array([0.0, 2.0]))
    assert value == 2.0
    assert_grads(grads, [[0.0, 0.0]])


@FUSE
def test_pow_constant_zero_base(fuse):
    value, grads = value_and_grads(ZERO_BASE, fuse, np.array([0.0, 2.0]))
    assert value == 0.0
    assert_grads(grads, [[0.0, 0.0]])


@FUSE
def test_pow_negative_base_integer_exponent(fuse):
    # (-2) ** 2: d/dx = 2 * -2 = -4; d/dp = 4 log(-2) is NaN (as JAX and NumPy give)
    mod = load(POW, fuse)
    with np.errstate(all="ignore"):
        value, (d_p, d_x) = mod.f_value_and_grad(2.0, np.array([-2.0]))
    assert value == 4.0
    np.testing.assert_array_equal(d_x, [-4.0])
    assert math.isnan(d_p)


@FUSE
def test_pow_inside_fused_region_and_fuse_helper(fuse):
    # w * x ** p (a fusible region around the pow) and a @fuse helper holding t ** p
    region = (
        "def f(p: Scalar, x: Vector[n]) -> Scalar:\n    return sum(3.0 * x ** p + x)\n"
    )
    helper = (
        "@fuse\ndef powf(t: Scalar, q: Scalar) -> Scalar:\n    return 3.0 * t ** q + t\n\n\n"
        "def f(p: Scalar, x: Vector[n]) -> Scalar:\n    return sum(powf(x, p))\n"
    )
    for src in (region, helper):
        _, grads = value_and_grads(src, fuse, 1.5, np.array([0.0, 2.0]))
        assert_grads(
            grads, [3 * 2.0**1.5 * math.log(2.0), [1.0, 4.5 * math.sqrt(2.0) + 1]]
        )
        fd_check(src, fuse, 1.5, np.array([0.5, 2.0]))


# (p, x) -> (value, d/dp, d/dx): NumPy's float64 values and JAX's gradients at x = 0
SCALAR_POW_POINTS = [
    ((1.5, 0.0), (0.0, 0.0, 0.0)),
    ((0.0, 0.0), (1.0, 0.0, 0.0)),
    ((1.0, 0.0), (0.0, 0.0, 1.0)),
    ((0.5, 0.0), (0.0, 0.0, math.inf)),
    ((-1.0, 0.0), (math.inf, math.nan, -math.inf)),
    ((2.0, -2.0), (4.0, math.nan, -4.0)),
    ((1.5, -2.0), (math.nan, math.nan, math.nan)),
    ((1.5, 4.0), (8.0, 8.0 * math.log(4.0), 3.0)),
]


@FUSE
@pytest.mark.parametrize(("at", "want"), SCALAR_POW_POINTS, ids=str)
def test_pow_scalar_build_matches_numpy(fuse, at, want):
    """The all-Scalar build (Python floats and math) raises nothing and gives NumPy's values."""
    p, x = at
    value, (d_p, d_x) = load(POW_SCALAR, fuse).f_value_and_grad(p, x)
    np.testing.assert_array_equal([value, d_p, d_x], want)
    # the same formula built with NumPy arrays gives the same
    with np.errstate(all="ignore"):
        v_np, (dp_np, dx_np) = load(POW, fuse).f_value_and_grad(p, np.array([x]))
    np.testing.assert_array_equal([v_np, dp_np, dx_np[0]], want)


@FUSE
def test_scalar_build_zero_base_and_literal_zero_exponent(fuse):
    src = "def f(x: Scalar) -> Scalar:\n    return 0.0 ** (x + 2) + x ** 0\n"
    assert load(src, fuse).f_value_and_grad(0.0) == (1.0, 0.0)
    src = "def f(x: Scalar) -> Scalar:\n    return x ** -1.0 + x ** -2\n"
    assert load(src, fuse).f(0.0) == math.inf  # NumPy's value, not ZeroDivisionError


# --- constant folding follows NumPy float64 ------------------------------------

# (constant expression in the formula, the same computed by NumPy in float64)
F = np.float64
CONSTANTS = [
    ("(-8.0) ** (1 / 3)", lambda: F(-8.0) ** (F(1.0) / F(3.0))),
    ("(-2.0) ** 0.5", lambda: F(-2.0) ** F(0.5)),
    ("(-8.0) ** 3.0", lambda: F(-8.0) ** F(3.0)),
    ("1 / 0", lambda: F(1.0) / F(0.0)),
    ("-1 / 0", lambda: F(-1.0) / F(0.0)),
    ("0 / 0", lambda: F(0.0) / F(0.0)),
    ("10.0 ** 400", lambda: F(10.0) ** F(400.0)),
    ("(-10.0) ** 401", lambda: F(-10.0) ** F(401.0)),
    ("0.0 ** -1", lambda: F(0.0) ** F(-1.0)),
    ("0.0 ** -2", lambda: F(0.0) ** F(-2.0)),
    ("1e308 * 10", lambda: F(1e308) * F(10.0)),
    ("2.0 ** 0.5", lambda: F(2.0) ** F(0.5)),
    # a NaN exponent is no integer: left to NumPy (an internal error before)
    ("2.0 ** (0.0 / 0.0)", lambda: F(2.0) ** (F(0.0) / F(0.0))),
    ("1.0 ** (0 / 0)", lambda: F(1.0) ** (F(0.0) / F(0.0))),
    ("(-3.0) ** (0 / 0)", lambda: F(-3.0) ** (F(0.0) / F(0.0))),
    ("(0.0 / 0.0) ** 2", lambda: (F(0.0) / F(0.0)) ** F(2.0)),  # refused before
    ("(0 / 0) ** 0", lambda: (F(0.0) / F(0.0)) ** F(0.0)),
    # a negative zero keeps its sign (it was the constant 0.0 made before it)
    ("1 / -0.0", lambda: F(1.0) / F(-0.0)),
    ("1 / (0.0 * -1.0)", lambda: F(1.0) / (F(0.0) * F(-1.0))),
    ("(-0.0) ** -1", lambda: F(-0.0) ** F(-1.0)),
    # -inf to a fractional power: np.power's value, as for an array (np.float64's **
    # and C's pow differ: inf, 0)
    ("(-1e308 * 10) ** 0.5", lambda: np.power(F(-1e308) * F(10.0), F(0.5))),
    ("(-1e308 * 10) ** -2.5", lambda: np.power(F(-1e308) * F(10.0), F(-2.5))),
    # a power of constants left to NumPy is NumPy's float64 (Python's raised after it)
    ("-2.0 / 0 ** 0.5", lambda: F(-2.0) / F(0.0) ** F(0.5)),
    ("1e300 ** 1.5", lambda: F(1e300) ** F(1.5)),
    ("1 / (1e-300 ** 1.5)", lambda: F(1.0) / F(1e-300) ** F(1.5)),
]


@FUSE
@pytest.mark.parametrize(("text", "numpy"), CONSTANTS, ids=[c[0] for c in CONSTANTS])
def test_constant_folding_follows_numpy(text, numpy, fuse):
    with np.errstate(all="ignore"):
        c = numpy()
        v = np.array([-2.0, 1.0, 3.0])
        want = np.sum(v * c)
        mod = load(
            f"def f(v: Vector[n]) -> Scalar:\n    return sum(v * ({text}))\n", fuse
        )
        value, grad = mod.f_value_and_grad(v)
        scalar = load(f"def f(v: Scalar) -> Scalar:\n    return v * ({text})\n", fuse)
        s_value, s_grad = scalar.f_value_and_grad(3.0)
    assert not isinstance(value, complex) and np.isrealobj(grad)
    np.testing.assert_array_equal(value, want)
    np.testing.assert_array_equal(grad, np.full(3, c))
    assert isinstance(s_value, float) and isinstance(s_grad, float)
    np.testing.assert_array_equal([s_value, s_grad], [F(3.0) * c, c])


SCALAR_SHARED = (
    "def f(x: Scalar) -> Scalar:\n"
    "    lx = log(x)\n"
    "    return where(x > 0, 0, lx) + where(x > 1, lx, 0)\n"
)


@FUSE
@pytest.mark.parametrize(("x", "want"), [(0.5, 0.0), (2.0, 0.5), (-1.0, -1.0)])
def test_where_scalar_build_shared_log(fuse, x, want):
    # log x reaches the value where x <= 0 or x > 1 (d/dx = 1 / x there), else not at all
    _, grad = load(SCALAR_SHARED, fuse).f_value_and_grad(x)
    assert isinstance(grad, float)
    assert grad == want
