"""The scalar (``math``) build returns what NumPy returns.

All-Scalar formulas compile to Python floats and ``math``; where Python raises
(``ValueError``, ``ZeroDivisionError``, ``OverflowError``) NumPy returns inf, nan or
the ``where`` result, and so must the scalar build. The expected numbers are NumPy
written here, on np.float64 (the formula and its derivative by hand), compared
exactly (inf and nan included).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradc

# (formula in x, point, value in NumPy, derivative in NumPy), each a function of a float64.
CASES = {
    "where_sqrt": (
        "where(x > 0, sqrt(x), 0)",
        -1.0,
        lambda x: np.where(x > 0, np.sqrt(x), 0.0),
        lambda x: 0.0,  # the untaken branch sends no gradient
    ),
    "where_recip": (
        "where(x > 0, 1 / x, 0)",
        0.0,
        lambda x: np.where(x > 0, 1.0 / x, 0.0),
        lambda x: 0.0,
    ),
    "square_overflow": ("x ** 2", 1e200, lambda x: x**2, lambda x: 2.0 * x),
    "exp_overflow": ("exp(x)", 1000.0, np.exp, np.exp),
    # NumPy's arithmetic gives inf / inf = nan for the derivative (its exact value is 1).
    "log1p_exp_overflow": (
        "log(1 + 2 * exp(x))",
        800.0,
        lambda x: np.log(1.0 + 2.0 * np.exp(x)),
        lambda x: 2.0 * np.exp(x) / (1.0 + 2.0 * np.exp(x)),
    ),
    "sqrt_at_zero": ("sqrt(x)", 0.0, np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    "log_at_zero": ("log(x)", 0.0, np.log, lambda x: 1.0 / x),
    "log_negative": ("log(x)", -1.0, np.log, lambda x: 1.0 / x),
    "recip_at_zero": ("1 / x", 0.0, lambda x: 1.0 / x, lambda x: -1.0 / x**2),
    "sin_at_inf": ("sin(x)", np.inf, np.sin, np.cos),
    "tan_at_inf": ("tan(x)", np.inf, np.tan, lambda x: 1.0 + np.tan(x) ** 2),
}


def source(formula: str) -> str:
    return f"def f(x: Scalar) -> Scalar:\n    return {formula}\n"


def assert_same(got, expected, what: str) -> None:
    """``got`` is a float (Python's or np.float64) equal to ``expected`` (inf, nan too)."""
    assert isinstance(got, float), f"{what}: {type(got).__name__}, not float"
    np.testing.assert_array_equal(got, float(expected), err_msg=what)


def numpy_at(fn, x: float) -> float:
    with np.errstate(all="ignore"):
        return float(fn(np.float64(x)))


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
@pytest.mark.parametrize("key", sorted(CASES))
def test_scalar_build_returns_numpys_number(key, fuse):
    formula, x, value, grad = CASES[key]
    module = gradc.load_source(source(formula), fuse=fuse)
    assert "math." in gradc.compile_source(source(formula), fuse=fuse) or (
        "math" not in formula
    )
    v, g = numpy_at(value, x), numpy_at(grad, x)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        assert_same(module.f(x), v, "f")
        val, cache = module.f_forward(x)
        assert_same(val, v, "f_forward")
        assert_same(module.f_backward(1.0, cache), g, "f_backward")
        assert_same(module.f_grad(x), g, "f_grad")
        both = module.f_value_and_grad(x)
        assert_same(both[0], v, "f_value_and_grad value")
        assert_same(both[1], g, "f_value_and_grad gradient")


def test_two_inputs_divide_by_zero():
    """``x / y`` at y = 0: inf, and gradients 1 / y = inf, -x / y**2 = -inf."""
    module = gradc.load_source(
        "def f(x: Scalar, y: Scalar) -> Scalar:\n    return x / y\n"
    )
    with np.errstate(all="ignore"):
        value, (gx, gy) = module.f_value_and_grad(1.0, 0.0)
        _, cache = module.f_forward(1.0, 0.0)
        bx, by = module.f_backward(3.0, cache)
    assert (value, gx, gy) == (math.inf, math.inf, -math.inf)
    assert (bx, by) == (math.inf, -math.inf)


def test_backward_falls_back_on_a_cache_from_math():
    """``sqrt`` at 0: the forward succeeds in ``math``, the backward divides by 0."""
    module = gradc.load_source(source("sqrt(x)"))
    value, cache = module.f_forward(0.0)
    assert value == 0.0
    with np.errstate(all="ignore"):
        assert module.f_backward(2.0, cache) == math.inf


def test_backward_reads_a_cache_from_the_fallback():
    """``log`` at 0: the forward falls back to NumPy; its cache feeds the backward."""
    module = gradc.load_source(source("log(x) * x"))
    with np.errstate(all="ignore"):
        value, cache = module.f_forward(0.0)
        grad = module.f_backward(1.0, cache)
    expected_grad = numpy_at(lambda x: np.log(x) + 1.0, 0.0)  # -inf
    assert_same(value, numpy_at(lambda x: np.log(x) * x, 0.0), "value")
    assert_same(grad, expected_grad, "gradient")


def test_fallback_warns_as_numpy_does():
    """The NumPy fallback keeps NumPy's RuntimeWarning (divide by zero)."""
    module = gradc.load_source(source("1 / x"))
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert module.f(0.0) == math.inf


def test_ordinary_points_stay_on_the_math_path():
    """Away from the raising points the results are the ``math`` ones, bit for bit."""
    module = gradc.load_source(source("sqrt(x) + exp(x)"))
    x = 2.0
    value, grad = module.f_value_and_grad(x)
    assert value == math.sqrt(x) + math.exp(x)
    assert grad == pytest.approx(0.5 / math.sqrt(x) + math.exp(x), rel=1e-15)


def test_no_try_where_nothing_can_raise():
    """Only + - * (and max/min/abs, comparisons): no ``try``, no fallback functions."""
    text = gradc.compile_source(
        "def f(x: Scalar, y: Scalar, z: Scalar) -> Scalar:\n    return (x + y) * z\n"
    )
    assert "except (ArithmeticError" not in text
    assert "_numpy(" not in text


MIXED = """\
def f(x: Scalar, v: Vector[n]) -> Scalar:
    return sum(v) * (1 / x) + sum(v * x ** 2)
"""


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("x", [0.0, 1e200, -0.0, 2.0])
def test_scalar_inputs_of_numpy_code_follow_numpy(fuse, x):
    """A Scalar input of a function that also has arrays gives NumPy's inf/nan where
    Python floats would raise (1 / x at 0, x ** 2 at 1e200), as hand-written NumPy does."""
    v = np.array([1.0, 2.0])
    xs = np.float64(x)
    with np.errstate(all="ignore"):
        want_value = v.sum() * (1 / xs) + (v * xs**2).sum()
        want_dx = -v.sum() / xs**2 + (2 * xs * v).sum()
        want_dv = 1 / xs + xs**2 * np.ones(2)
        mod = gradc.load_source(MIXED, fuse=fuse)
        value, (d_x, d_v) = mod.f_value_and_grad(x, v)
        assert_same(mod.f(x, v), want_value, "f")
    assert_same(value, want_value, "value")
    assert_same(d_x, want_dx, "d_x")
    np.testing.assert_array_equal(d_v, want_dv)


SPECIAL = [0.0, -0.0, 1.5, -2.0, 1e308, -1e308, 1e-320, math.inf, -math.inf, math.nan]
RAISE_FREE = [
    "x + y",
    "x - y",
    "x * y",
    "-x + y",
    "where(x > y, x, y)",
    "abs(x) * y",
    "relu(x) + y",
    "maximum(x, y)",
    "minimum(x, y)",
    "sigmoid(x) * y",
    "softplus(x) + y",
    "tanh(x) * y",
    "sigmoid(x * y)",
    "sign(x) * y",
    "where(x != y, x, y)",
]


@pytest.mark.parametrize("expr", RAISE_FREE)
def test_raise_free_ops_need_no_fallback_and_match_numpy(expr):
    """The ops the scalar build runs without a ``try`` (RAISE_FREE_ON_FLOATS) raise on
    no float, inf or nan, and give what the NumPy build gives (nan through maximum and
    sign too, which Python's max() and a comparison-based sign dropped)."""
    scalar = gradc.load_source(
        f"def f(x: Scalar, y: Scalar) -> Scalar:\n    return {expr}\n"
    )
    text = gradc.compile_source(
        f"def f(x: Scalar, y: Scalar) -> Scalar:\n    return {expr}\n"
    )
    assert "_f_forward_numpy" not in text and "_f_value_and_grad_numpy" not in text, (
        text
    )
    arrays = gradc.load_source(
        f"def f(x: Vector[n], y: Vector[n]) -> Scalar:\n    return sum({expr})\n"
    )
    for x in SPECIAL:
        for y in SPECIAL:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value, (d_x, d_y) = scalar.f_value_and_grad(x, y)
                v_np, (dx_np, dy_np) = arrays.f_value_and_grad(
                    np.array([x]), np.array([y])
                )
            got, want = [value, d_x, d_y], [v_np, dx_np[0], dy_np[0]]
            # math's and NumPy's libm may differ by an ulp in tanh, which 1 - t**2 grows
            # about tenfold at t = 0.9; inf and nan must match exactly
            np.testing.assert_allclose(
                got, want, rtol=2e-15, err_msg=f"{expr} at {x}, {y}"
            )
