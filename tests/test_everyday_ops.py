"""Everyday operations a newcomer reaches for.

* comparisons as 0/1 masks outside ``where`` (Caffe's ``x * (t - (x >= 0))``), and
  ``==`` / ``!=`` as conditions;
* ``var`` and ``std`` with every ``axis`` / ``keepdims`` / ``ddof`` form;
* ``erf`` (GELU, Black-Scholes), ``arctan2``, ``sign``.

Values are checked against NumPy / SciPy written here, gradients against central finite
differences of those NumPy references (float64), in the fused and the ``fuse=False``
build, for array and all-Scalar (``math``) builds; the conventions at the kinks against
their closed forms.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.special
import sympy
from gradcheck import central_diff_grad

import gradc
from gradc.errors import FormulaError

FUSE = [True, False]
RTOL = 1e-6  # central differences in float64
ATOL = 1e-8


def build(src: str, fuse: bool):
    """The module compiled from ``src``."""
    return gradc.load_source(src, fuse=fuse)


def fd_vjp(ref, args, pos, u):
    """The gradient of ``<u, ref(*args)>`` with respect to ``args[pos]``, by central
    differences of the NumPy reference ``ref``."""
    return central_diff_grad(lambda *a: np.sum(u * ref(*a)), args, [pos])[0]


def assert_close(got, want, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=rtol, atol=atol)


# --------------------------------------------------------------------- comparison masks

CAFFE = """
def f(x: Vector[n], t: Scalar) -> Scalar:
    return sum(x * (t - (x >= 0)))
"""


def caffe_ref(x, t):
    return np.sum(x * (t - (x >= 0)))


@pytest.mark.parametrize("fuse", FUSE)
def test_caffe_mask_value_and_gradient(fuse):
    """``(x >= 0)`` is NumPy's bool as 0.0/1.0, and a constant for differentiation."""
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=7), 0.3
    m = build(CAFFE, fuse)
    value, (dx, dt) = m.f_value_and_grad(x, t)
    assert value == pytest.approx(caffe_ref(x, t), rel=1e-14)
    fx, ft = central_diff_grad(caffe_ref, [x, t], [0, 1])
    assert_close(dx, fx)
    assert_close(dt, ft)
    # the mask's own derivative is 0: d/dx = t - (x >= 0) exactly, also at x = 0
    x0 = np.array([-1.0, 0.0, 2.0])
    assert_close(m.f_grad(x0, t)[0], t - (x0 >= 0), rtol=0, atol=0)


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_every_comparison_as_a_number(op, fuse):
    """Each comparison outside ``where``, broadcasting (Matrix against Vector), times a
    value: the value is NumPy's, the gradient flows only through the other factor."""
    src = f"""
def f(a: Matrix[3, 4], b: Vector[4], w: Matrix[3, 4]) -> Scalar:
    return sum(w * (a {op} b) + (b {op} 0.5) * a)
"""
    ops = {
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
        "==": np.equal,
        "!=": np.not_equal,
    }

    def ref(a, b, w):
        return np.sum(w * ops[op](a, b) + ops[op](b, 0.5) * a)

    rng = np.random.default_rng(2)
    a, b, w = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(3, 4))
    a[1, 2] = b[2]  # a tie, where == and != differ from the strict comparisons
    b[0] = 0.5
    m = build(src, fuse)
    value, grads = m.f_value_and_grad(a, b, w)
    assert value == pytest.approx(ref(a, b, w), rel=1e-14)
    assert_close(grads[0], np.broadcast_to(ops[op](b, 0.5), (3, 4)), rtol=0, atol=0)
    assert_close(grads[1], np.zeros(4), rtol=0, atol=0)
    assert_close(grads[2], ops[op](a, b), rtol=0, atol=0)


@pytest.mark.parametrize("fuse", FUSE)
def test_eq_and_ne_in_where(fuse):
    """``==`` and ``!=`` as the condition of ``where``; only the taken branch gets gradient,
    also at the point where the condition holds (x == 1)."""
    src = """
def f(x: Vector[n], y: Vector[n]) -> Scalar:
    return sum(where(x == 1.0, y * y, x * y) + where(y != x, sin(x), y))
"""

    def ref(x, y):
        return np.sum(np.where(x == 1.0, y * y, x * y) + np.where(y != x, np.sin(x), y))

    x = np.array([1.0, 0.3, -2.0, 0.7])
    y = np.array([0.5, 0.3, 1.5, -1.0])
    m = build(src, fuse)
    value, (dx, dy) = m.f_value_and_grad(x, y)
    assert value == pytest.approx(ref(x, y), rel=1e-14)
    taken = x == 1.0
    differ = y != x
    assert_close(
        dx, np.where(taken, 0.0, y) + np.where(differ, np.cos(x), 0.0), rtol=1e-15
    )
    assert_close(dy, np.where(taken, 2 * y, x) + np.where(differ, 0.0, 1.0), rtol=1e-15)
    # away from the equalities the gradient is the finite-difference one
    x2, y2 = x + np.array([0.25, 0.1, 0.0, 0.0]), y
    fx, fy = central_diff_grad(ref, [x2, y2], [0, 1])
    got = m.f_grad(x2, y2)
    assert_close(got[0], fx)
    assert_close(got[1], fy)


@pytest.mark.parametrize("fuse", FUSE)
def test_scalar_build_comparisons(fuse):
    """In an all-Scalar function the mask is a Python float and ``==`` works in where."""
    src = """
def f(x: Scalar, t: Scalar) -> Scalar:
    return x * (t - (x >= 0)) + where(x == t, 2.0 * x, x * t) + (t != 0.5)
"""

    def ref(x, t):
        return (
            x * (t - float(x >= 0)) + (2.0 * x if x == t else x * t) + float(t != 0.5)
        )

    assert "1.0 if x >= 0.0 else 0.0" in gradc.compile_source(src, fuse=fuse)
    m = build(src, fuse)
    for x, t in [(0.7, -0.4), (-1.3, 0.5), (0.25, 0.25)]:
        value, (dx, dt) = m.f_value_and_grad(x, t)
        assert isinstance(value, float)
        assert value == pytest.approx(ref(x, t), rel=1e-14)
        if x != t:
            fx, ft = central_diff_grad(ref, [x, t], [0, 1])
            assert dx == pytest.approx(float(fx), rel=RTOL)
            assert dt == pytest.approx(float(ft), rel=RTOL)
        else:  # the taken branch 2x: d/dx = (t - 1) + 2, d/dt = x
            assert (dx, dt) == (t - 1.0 + 2.0, x)


def test_mask_code_reads_as_the_formula():
    """The mask prints as ``np.where(x >= _zero, _one, _zero)`` and stays out of SymPy's
    derivative (unfused: it is a constant there), named as written in the note."""
    text = gradc.compile_source(CAFFE)
    assert "np.where(x >= _zero, _one, _zero)" in text
    assert "# fused mul: d/dx = -(x >= 0.0) + t" in text


@pytest.mark.parametrize(
    "expr, message",
    [
        ("x * (0 < x < 1)", "chained comparisons are not supported"),
        ("where(0 < x < 1, x, 0)", "chained comparisons are not supported"),
        ("x * (x is 1)", "comparison 'is' is not supported"),
    ],
)
def test_comparison_refusals(expr, message):
    with pytest.raises(FormulaError, match=message):
        gradc.load_source(f"def f(x: Scalar) -> Scalar:\n    return {expr}\n")


@pytest.mark.parametrize("fuse", FUSE)
def test_band_mask(fuse):
    """The spelling the chained-comparison error suggests: (0 < x) * (x < 1)."""
    src = "def f(x: Vector[n]) -> Scalar:\n    return sum(x * x * (0 < x) * (x < 1))\n"
    x = np.array([-0.5, 0.25, 0.75, 1.5])
    m = build(src, fuse)
    band = (0 < x) & (x < 1)
    assert m.f(x) == np.sum(x * x * band)
    assert_close(m.f_grad(x), 2 * x * band, rtol=1e-15, atol=0)


# --------------------------------------------------------------------- var and std

MOMENT_FORMS = [
    # (annotation, shape, keyword text, NumPy keywords)
    ("Vector[5]", (5,), "", {}),
    ("Vector[5]", (5,), ", ddof=1", {"ddof": 1}),
    ("Vector[5]", (5,), ", ddof=4, keepdims=True", {"ddof": 4, "keepdims": True}),
    ("Matrix[3, 4]", (3, 4), "", {}),
    ("Matrix[3, 4]", (3, 4), ", axis=None, ddof=1", {"axis": None, "ddof": 1}),
    ("Matrix[3, 4]", (3, 4), ", axis=0", {"axis": 0}),
    ("Matrix[3, 4]", (3, 4), ", 1", {"axis": 1}),
    ("Matrix[3, 4]", (3, 4), ", axis=-1, ddof=1", {"axis": -1, "ddof": 1}),
    ("Matrix[3, 4]", (3, 4), ", axis=0, keepdims=True", {"axis": 0, "keepdims": True}),
    (
        "Matrix[3, 4]",
        (3, 4),
        ", axis=1, ddof=2, keepdims=True",
        {"axis": 1, "ddof": 2, "keepdims": True},
    ),
    ("Matrix[3, 4]", (3, 4), ", axis=(0, 1), ddof=1", {"axis": (0, 1), "ddof": 1}),
    (
        "Matrix[3, 4]",
        (3, 4),
        ", axis=(0, 1), keepdims=True",
        {"axis": (0, 1), "keepdims": True},
    ),
    ("Matrix[3, 4]", (3, 4), ", keepdims=True, ddof=1", {"keepdims": True, "ddof": 1}),
    (
        "Tensor[2, 3, 4]",
        (2, 3, 4),
        ", axis=(0, 2), ddof=1",
        {"axis": (0, 2), "ddof": 1},
    ),
    (
        "Tensor[2, 3, 4]",
        (2, 3, 4),
        ", axis=(-1, 0), keepdims=True",
        {"axis": (-1, 0), "keepdims": True},
    ),
    (
        "Tensor[2, 3, 4]",
        (2, 3, 4),
        ", axis=1, keepdims=False, ddof=2",
        {"axis": 1, "keepdims": False, "ddof": 2},
    ),
    ("Matrix[m, n]", (3, 5), ", axis=1, ddof=1", {"axis": 1, "ddof": 1}),
    ("Matrix[m, n]", (3, 5), ", axis=0, keepdims=True", {"axis": 0, "keepdims": True}),
    ("Matrix[m, n]", (3, 5), ", ddof=1", {"ddof": 1}),
]


def result_type(shape: tuple) -> str:
    return {0: "Scalar", 1: "Vector", 2: "Matrix"}.get(len(shape), "Tensor") + (
        "[" + ", ".join(map(str, shape)) + "]" if shape else ""
    )


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("ann, shape, text, kw", MOMENT_FORMS)
def test_var_std_forms(ann, shape, text, kw, op, fuse):
    """Value against ``np.var``/``np.std``, gradient (``f_backward`` with a random
    upstream gradient) against central differences of NumPy's."""
    ref_fn = getattr(np, op)
    rng = np.random.default_rng(len(text) + 7 * len(shape))
    x = rng.normal(size=shape)
    want = ref_fn(x, **kw)
    out_shape = np.shape(want)
    names = {3: "m", 5: "n"} if "m" in ann else {}  # symbolic sizes name the result
    out = result_type(tuple(names.get(d, d) for d in out_shape))
    src = f"def f(x: {ann}) -> {out}:\n    return {op}(x{text})\n"
    m = build(src, fuse)
    got = m.f(x)
    assert np.shape(got) == out_shape
    assert_close(got, want, rtol=1e-14, atol=0)
    u = rng.normal(size=out_shape)
    dx = m.f_backward(u if out_shape else float(u), m.f_forward(x)[1])
    assert_close(dx, fd_vjp(lambda v: ref_fn(v, **kw), [x], 0, u))


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_closed_form(op, fuse):
    """The gradient as a person writes it: 2 (x - mean) / (N - ddof) for var, that over
    2 std for std (exact up to rounding)."""
    x = np.array([[1.0, 2.0, 4.0, 8.0], [0.5, -1.0, 3.0, 2.0]])
    src = (
        f"def f(x: Matrix[2, 4]) -> Scalar:\n    return sum({op}(x, axis=1, ddof=1))\n"
    )
    centred = x - x.mean(axis=1, keepdims=True)
    var_grad = 2 * centred / 3
    want = (
        var_grad
        if op == "var"
        else var_grad / (2 * x.std(axis=1, ddof=1, keepdims=True))
    )
    assert_close(build(src, fuse).f_grad(x), want, rtol=1e-14, atol=0)


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("x", [[2.0, 2.0, 2.0], [0.1, 0.1, 0.1], [0.0, 0.0, 0.0]])
def test_std_at_a_constant_input_has_gradient_zero(x, fuse):
    """std is not differentiable at a constant input; the minimum-norm subgradient is 0
    (README "Conventions", as norm at 0). NumPy's std of three 0.1s is 1.4e-17 (the mean
    rounds), which must not give a gradient of +-1/3."""
    m = build("def f(x: Vector[3]) -> Scalar:\n    return std(x)\n", fuse)
    x = np.array(x)
    assert m.f(x) == np.std(x)
    assert_close(m.f_grad(x), np.zeros(3), rtol=0, atol=0)


@pytest.mark.parametrize("fuse", FUSE)
def test_std_constant_row_only(fuse):
    """A constant row gets 0, the other rows their usual gradient."""
    m = build(
        "def f(x: Matrix[2, 3]) -> Scalar:\n    return sum(std(x, axis=1, ddof=1))\n",
        fuse,
    )
    x = np.array([[0.7, 0.7, 0.7], [1.0, -2.0, 0.5]])
    centred = x[1] - x[1].mean()
    row = centred / (2 * x[1].std(ddof=1))
    assert_close(m.f_grad(x), np.stack([np.zeros(3), row]), rtol=1e-14, atol=0)


@pytest.mark.parametrize("fuse", FUSE)
def test_var_std_of_a_scalar(fuse):
    """np.var of one number is 0, with gradient 0 (std: the constant-input convention)."""
    m = build("def f(x: Scalar) -> Scalar:\n    return var(x) + std(x) + x\n", fuse)
    value, dx = m.f_value_and_grad(1.5)
    assert value == 1.5
    assert dx == 1.0


@pytest.mark.parametrize("fuse", FUSE)
def test_standardise_layer(fuse):
    """A standardisation (x - mean) / std inside a larger formula, against FD."""
    src = """
def f(X: Matrix[n, d], w: Vector[d]) -> Scalar:
    Z = (X - mean(X, axis=0, keepdims=True)) / std(X, axis=0, keepdims=True, ddof=1)
    return sum(tanh(Z @ w)) + var(w)
"""

    def ref(X, w):
        Z = (X - X.mean(axis=0, keepdims=True)) / X.std(axis=0, keepdims=True, ddof=1)
        return np.sum(np.tanh(Z @ w)) + np.var(w)

    rng = np.random.default_rng(5)
    X, w = rng.normal(size=(6, 3)), rng.normal(size=3)
    m = build(src, fuse)
    value, grads = m.f_value_and_grad(X, w)
    assert value == pytest.approx(ref(X, w), rel=1e-13)
    for got, want in zip(grads, central_diff_grad(ref, [X, w], [0, 1])):
        assert_close(got, want)


def test_var_gradient_code_reads_as_written():
    text = gradc.compile_source(
        "def f(x: Vector[n]) -> Scalar:\n    return var(x, ddof=1)\n"
    )
    assert "out = x.var(ddof=1)" in text
    assert "d_x = d_out * 2.0 * (x - x.sum(keepdims=True) / n) / (n - 1)" in text
    text = gradc.compile_source("def f(x: Vector[n]) -> Scalar:\n    return std(x)\n")
    # the guard at a std of 0 a conditional on the scalar (tests/test_scalar_where.py)
    guarded = "(n * (1.0 if out == 0.0 else out))"
    assert f"out_g1 = d_out * (x - x.sum(keepdims=True) / n) / {guarded}" in text
    assert (
        "np.where(x.max(keepdims=True) == x.min(keepdims=True), _zero, out_g1)" in text
    )


@pytest.mark.parametrize(
    "call, message",
    [
        ("var(x, ddof=3)", "ddof=3 of 3 elements"),
        ("std(x, axis=1, ddof=4)", "ddof=4 of 2 elements"),
        ("var(x, ddof=-1)", "ddof must be a non-negative integer"),
        ("var(x, ddof=0.5)", "ddof must be a non-negative integer"),
        ("std(x, dtype=1)", "unexpected keyword 'dtype'"),
    ],
)
def test_var_std_refusals(call, message):
    src = f"def f(x: Matrix[3, 2]) -> Scalar:\n    return sum({call})\n"
    if "axis=1" not in call:
        src = src.replace("Matrix[3, 2]", "Vector[3]")
    with pytest.raises(FormulaError, match=re.escape(message)):
        gradc.load_source(src)


# --------------------------------------------------------------------- erf


@pytest.mark.parametrize("fuse", FUSE)
def test_erf_array(fuse):
    src = "def f(x: Vector[n], w: Vector[n]) -> Scalar:\n    return sum(w * erf(x))\n"
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=6) * 2, rng.normal(size=6)
    x[0] = 0.0
    m = build(src, fuse)
    assert_close(m.f(x, w), np.sum(w * scipy.special.erf(x)), rtol=1e-15, atol=0)
    dx, dw = m.f_grad(x, w)
    assert_close(dx, w * 2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-14, atol=0)
    assert_close(dw, scipy.special.erf(x), rtol=1e-15, atol=0)
    fx = central_diff_grad(lambda v: np.sum(w * scipy.special.erf(v)), [x], [0])[0]
    assert_close(dx, fx)


@pytest.mark.parametrize("fuse", FUSE)
def test_erf_scalar_build(fuse):
    src = "def f(x: Scalar) -> Scalar:\n    return erf(x)\n"
    text = gradc.compile_source(src, fuse=fuse)
    assert "math.erf(x)" in text
    m = build(src, fuse)
    for x in (-2.5, 0.0, 0.3, 4.0):
        value, dx = m.f_value_and_grad(x)
        assert value == math.erf(x)
        assert dx == pytest.approx(2 / math.sqrt(math.pi) * math.exp(-x * x), rel=1e-15)


GELU = """
def f(x: Vector[n]) -> Scalar:
    return sum(0.5 * x * (1 + erf(x / sqrt(2.0))))
"""


@pytest.mark.parametrize("fuse", FUSE)
def test_gelu(fuse):
    """GELU, x Phi(x): fused, SymPy derives the local gradient through erf."""

    def ref(x):
        return np.sum(0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2.0))))

    x = np.linspace(-3, 3, 7)
    m = build(GELU, fuse)
    assert m.f(x) == pytest.approx(ref(x), rel=1e-14)
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    cdf = 0.5 * (1 + scipy.special.erf(x / np.sqrt(2)))
    assert_close(m.f_grad(x), cdf + x * phi, rtol=1e-13, atol=1e-16)
    assert_close(m.f_grad(x), central_diff_grad(ref, [x], [0])[0])


def test_erf_fused_code():
    """SymPy derives the fused gradient through erf, its constant 2 / sqrt(pi) folded into
    one float (never ``1.0 / np.sqrt(3.141592653589793)``)."""
    text = gradc.compile_source(GELU)
    assert "out = out_t1.dot(_one + _erf(x / out_t2))" in text
    assert "out_t4 = 0.28209479177387814 * x * out_t2 * np.exp(-0.5 * x**2)" in text
    assert "np.sqrt(3.14" not in text


BLACK_SCHOLES = """
def call(S: Scalar, K: Scalar, r: Scalar, sigma: Scalar, T: Scalar) -> Scalar:
    d1 = (log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * sqrt(T))
    d2 = d1 - sigma * sqrt(T)
    return S * 0.5 * (1 + erf(d1 / sqrt(2.0))) - K * exp(-r * T) * 0.5 * (1 + erf(d2 / sqrt(2.0)))
"""


@pytest.mark.parametrize("fuse", FUSE)
def test_black_scholes_greeks(fuse):
    """The call price and its greeks: delta = Phi(d1), vega = S phi(d1) sqrt(T),
    rho = K T exp(-rT) Phi(d2) (closed forms), the rest by finite differences."""
    S, K, r, sigma, T = 100.0, 95.0, 0.03, 0.25, 0.75
    d1 = (math.log(S / K) + (r + sigma**2 / 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    cdf = scipy.special.ndtr
    price = S * cdf(d1) - K * math.exp(-r * T) * cdf(d2)
    m = build(BLACK_SCHOLES, fuse)
    value, grads = m.call_value_and_grad(S, K, r, sigma, T)
    assert value == pytest.approx(price, rel=1e-13)
    pdf = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
    assert grads[0] == pytest.approx(cdf(d1), rel=1e-13)
    assert grads[3] == pytest.approx(S * pdf * math.sqrt(T), rel=1e-12)
    assert grads[2] == pytest.approx(K * T * math.exp(-r * T) * cdf(d2), rel=1e-12)

    def ref(S, K, r, sigma, T):
        a = (np.log(S / K) + (r + 0.5 * sigma**2) * T) / (sigma * np.sqrt(T))
        b = a - sigma * np.sqrt(T)
        return S * cdf(a) - K * np.exp(-r * T) * cdf(b)

    fd = central_diff_grad(ref, [S, K, r, sigma, T], range(5))
    for got, want in zip(grads, fd):
        assert got == pytest.approx(float(want), rel=1e-6)


# --------------------------------------------------------------------- arctan2


@pytest.mark.parametrize("fuse", FUSE)
def test_arctan2_broadcasting(fuse):
    src = """
def f(y: Matrix[3, 4], x: Vector[4]) -> Scalar:
    return sum(arctan2(y, x) * y)
"""

    def ref(y, x):
        return np.sum(np.arctan2(y, x) * y)

    rng = np.random.default_rng(4)
    y, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    y[np.abs(y) < 0.05] = 0.2  # away from the jump across y = 0 at x < 0
    m = build(src, fuse)
    assert m.f(y, x) == pytest.approx(ref(y, x), rel=1e-14)
    dy, dx = m.f_grad(y, x)
    r2 = x * x + y * y
    assert_close(dy, np.arctan2(y, x) + y * x / r2, rtol=1e-14, atol=0)
    assert_close(dx, np.sum(-y * y / r2, axis=0), rtol=1e-14, atol=0)
    fy, fx = central_diff_grad(ref, [y, x], [0, 1])
    assert_close(dy, fy)
    assert_close(dx, fx)


@pytest.mark.parametrize("fuse", FUSE)
def test_arctan2_scalar_build_and_origin(fuse):
    """``math.atan2`` on floats; at (0, 0) the gradient is 0 (minimum norm), on both
    builds; in each quadrant it is (x, -y) / (x^2 + y^2)."""
    src = "def f(y: Scalar, x: Scalar) -> Scalar:\n    return arctan2(y, x)\n"
    assert "math.atan2(y, x)" in gradc.compile_source(src, fuse=fuse)
    m = build(src, fuse)
    for y, x in [(1.0, 2.0), (-0.5, 0.25), (3.0, -1.0), (-2.0, -2.0), (0.0, 1.0)]:
        value, (dy, dx) = m.f_value_and_grad(y, x)
        assert value == math.atan2(y, x)
        assert dy == pytest.approx(x / (x * x + y * y), rel=1e-15)
        assert dx == pytest.approx(-y / (x * x + y * y), rel=1e-15, abs=0)
    assert m.f_grad(0.0, 0.0) == (0.0, 0.0)
    arrays = build(
        "def f(y: Vector[2], x: Vector[2]) -> Scalar:\n    return sum(arctan2(y, x))\n",
        fuse,
    )
    dy, dx = arrays.f_grad(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    assert_close(dy, [0.0, 0.5], rtol=0, atol=0)
    assert_close(dx, [0.0, -0.5], rtol=0, atol=0)


# --------------------------------------------------------------------- sign


@pytest.mark.parametrize("fuse", FUSE)
def test_sign(fuse):
    """sign' = 0 (also at 0, where sign(0) = 0): ``sign(x) * x ** 2`` has gradient 2|x|."""
    src = "def f(x: Vector[n]) -> Scalar:\n    return sum(sign(x) * x ** 2)\n"

    def ref(x):
        return np.sum(np.sign(x) * x**2)

    x = np.array([-1.5, -0.2, 0.0, 0.4, 2.0])
    m = build(src, fuse)
    assert m.f(x) == ref(x)
    assert_close(m.f_grad(x), 2 * np.abs(x), rtol=1e-15, atol=0)
    x2 = x[x != 0]
    m2 = build(src.replace("Vector[n]", "Vector[4]"), fuse)
    assert_close(m2.f_grad(x2), central_diff_grad(ref, [x2], [0])[0])


@pytest.mark.parametrize("fuse", FUSE)
def test_sign_scalar_build(fuse):
    src = "def f(x: Scalar) -> Scalar:\n    return sign(x) + 3.0 * x\n"
    m = build(src, fuse)
    for x in (-2.0, 0.0, 0.5):
        value, dx = m.f_value_and_grad(x)
        assert isinstance(value, float)
        assert value == np.sign(x) + 3.0 * x
        assert dx == 3.0


# --------------------------------------------------------------------- einsum

EINSUM_CASES = [
    ("ik,kj->ij", [(3, 4), (4, 2)]),
    ("ik,kj", [(3, 4), (4, 2)]),  # implicit output: the letters seen once, sorted
    ("i,i->", [(4,), (4,)]),
    ("ij->", [(3, 4)]),
    ("ij->i", [(3, 4)]),  # j only in the operand: its gradient broadcasts back
    ("ij->ji", [(3, 4)]),
    ("ji", [(3, 4)]),  # implicit: a transpose
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ijk,k->j", [(2, 3, 4), (4,)]),
    ("i,j,k->ijk", [(2,), (3,), (2,)]),
    (",i->i", [(), (3,)]),
    ("ij, kj -> ik", [(3, 4), (2, 4)]),
]


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("spec, shapes", EINSUM_CASES)
def test_einsum(spec, shapes, fuse):
    """Value against ``np.einsum``; gradient of ``sum(w * einsum(...))`` against central
    differences of NumPy's, for every operand and ``w``."""
    rng = np.random.default_rng(len(spec))
    names = "abcd"[: len(shapes)]
    args = [rng.normal(size=s) if s else 0.7 for s in shapes]
    want = np.einsum(spec, *args)
    w = rng.normal(size=np.shape(want))
    params = ", ".join(f"{n}: {result_type(s)}" for n, s in zip(names, shapes))
    src = (
        f"def f({params}, w: {result_type(np.shape(want))}) -> Scalar:\n"
        f'    return sum(w * einsum("{spec}", {", ".join(names)}))\n'
    )

    def ref(*a):
        return np.sum(a[-1] * np.einsum(spec, *a[:-1]))

    m = build(src, fuse)
    value, grads = m.f_value_and_grad(*args, w)
    assert value == pytest.approx(ref(*args, w), rel=1e-13)
    fd = central_diff_grad(ref, [*args, w], range(len(args) + 1))
    for got, expected in zip(grads, fd):
        assert_close(got, expected)


@pytest.mark.parametrize("fuse", FUSE)
def test_einsum_to_a_scalar(fuse):
    """A full contraction returned directly: the upstream gradient is a float, spread
    over the operand (``np.full``)."""
    m = build('def f(x: Matrix[n, n]) -> Scalar:\n    return einsum("ij->", x)\n', fuse)
    x = np.arange(9.0).reshape(3, 3)
    value, dx = m.f_value_and_grad(x)
    assert value == np.einsum("ij->", x)
    assert_close(dx, np.ones((3, 3)), rtol=0, atol=0)
    assert_close(
        m.f_backward(2.0, m.f_forward(x)[1]), np.full((3, 3), 2.0), rtol=0, atol=0
    )


def test_einsum_code_reads_as_written():
    text = gradc.compile_source(
        "def f(A: Matrix[n, k], B: Matrix[k, m], W: Matrix[n, m]) -> Scalar:\n"
        '    return sum(W * einsum("ik,kj->ij", A, B))\n'
    )
    assert 'np.einsum("ik,kj->ij", A, B)' in text
    assert 'd_A = np.einsum("ij,kj->ik", d_out_t1, B)' in text
    assert 'd_B = np.einsum("ij,ik->kj", d_out_t1, A)' in text


@pytest.mark.parametrize(
    "call, message",
    [
        ('einsum("ii->i", a)', "a letter repeated in 'ii'"),
        ('einsum("...i->i", a)', "no '...'"),
        ('einsum("ij->k", a)', "output letters k appear in no operand"),
        ('einsum("ij,jk->ik", a)', "2 subscripts for 1 operands"),
        ('einsum("ijk->i", a)', "'ijk' names 3 axes"),
        ('einsum("ij,ij->", a, a.T)', "index 'i' has sizes 3 and 4"),
        ("einsum(s, a)", "literal subscript string"),
    ],
)
def test_einsum_refusals(call, message):
    src = f"def f(a: Matrix[3, 4]) -> Scalar:\n    s = 1.0\n    return sum({call})\n"
    with pytest.raises(FormulaError, match=re.escape(message)):
        gradc.load_source(src)


def test_sympy_expression_with_erf():
    """A SymPy expression using ``sympy.erf`` compiles (the SymPy mapping knows erf); its
    gradient against SymPy's own ``diff``."""
    x = sympy.Symbol("x")
    expr = x * sympy.erf(x)
    m = gradc.load_sympy(expr, [x])
    for v in (-1.2, 0.0, 0.5):
        value, dx = m.f_value_and_grad(v)
        assert value == pytest.approx(float(expr.subs(x, v)), rel=1e-15)
        assert dx == pytest.approx(float(sympy.diff(expr, x).subs(x, v)), rel=1e-15)
