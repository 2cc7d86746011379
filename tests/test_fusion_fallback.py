"""Whatever ``--no-fuse`` compiles, the default (fused) mode compiles (a fused region SymPy
cannot differentiate into the graph falls back to node-by-node differentiation).

A fused region whose local gradient SymPy writes with something the graph cannot express
(``sign``, ``zoo``, ``nan``, ``I``) stays unfused and is differentiated node by node, as
``--no-fuse`` does: ``sqrt(x * x)`` is ``Abs(x)`` to SymPy, whose derivative is
``sign(x)``; ``x / (x - x)`` and ``log(0)`` give ``zoo``. Expected values are closed forms
and NumPy evaluated here, and central finite differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradc
from tests.gradcheck import as_grad_list, assert_fd_close, central_diff_grad

FUSE = pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
X = np.array([-2.0, 0.5, 3.0])


def load(body: str, fuse: bool):
    src = f"def f(x: Vector[n]) -> Scalar:\n    return {body}\n"
    return gradc.load_source(src, fuse=fuse, filename="fallback.grad")


# |x| written four ways, and x / |x|**3: (formula, value, gradient) as closed forms
SMOOTH_AWAY_FROM_ZERO = [
    ("sum(sqrt(x * x))", np.abs, np.sign),
    ("sum(sqrt(x ** 2))", np.abs, np.sign),
    ("sum((x ** 2) ** 0.5)", np.abs, np.sign),
    ("sum(sqrt(x * x) * x)", lambda x: np.abs(x) * x, lambda x: 2 * np.abs(x)),
    # d/dx x |x|^-3 = |x|^-3 - 3 x^2 |x|^-5 = -2 |x|^-3
    (
        "sum((x * x) ** -1.5 * x)",
        lambda x: x / np.abs(x) ** 3,
        lambda x: -2 / np.abs(x) ** 3,
    ),
]


@FUSE
@pytest.mark.parametrize(
    ("body", "value", "grad"),
    SMOOTH_AWAY_FROM_ZERO,
    ids=[c[0] for c in SMOOTH_AWAY_FROM_ZERO],
)
def test_sympy_sign_region_compiles(body, value, grad, fuse):
    mod = load(body, fuse)
    got_value, got_grad = mod.f_value_and_grad(X)
    np.testing.assert_allclose(got_value, np.sum(value(X)), rtol=1e-14)
    np.testing.assert_allclose(got_grad, grad(X), rtol=1e-14)
    numeric = central_diff_grad(mod.f, [X], [0])
    assert_fd_close(as_grad_list(got_grad, 1), numeric, scale=abs(got_value))


# formulas NumPy evaluates to nan or inf: value and gradient from NumPy directly
NON_FINITE = [
    # x / 0: +-inf, summed to nan; the gradient has no value there (checked against --no-fuse)
    ("sum(x / (x - x))", lambda x: np.sum(x / (x - x)), None),
    (
        "sum(x * log(0))",
        lambda x: np.sum(x * np.log(0.0)),
        lambda x: np.full_like(x, np.log(0.0)),
    ),
    (
        "sum(x * (1 / 0))",
        lambda x: np.sum(x * np.inf),
        lambda x: np.full_like(x, np.inf),
    ),
    # SymPy's 1e308 * 10 is 1e309; float64's is inf
    (
        "sum(x * 1e308 * 10)",
        lambda x: np.sum(x * 1e308 * 10),
        lambda x: np.full_like(x, np.inf),
    ),
    ("sum(exp(x) * log(0) + x)", lambda x: np.sum(np.exp(x) * -np.inf + x), None),
]


@FUSE
@pytest.mark.parametrize(
    ("body", "value", "grad"), NON_FINITE, ids=[c[0] for c in NON_FINITE]
)
def test_sympy_zoo_region_compiles(body, value, grad, fuse):
    mod = load(body, fuse)
    with np.errstate(all="ignore"):
        got_value, got_grad = mod.f_value_and_grad(X)
        want_value = value(X)
        want_grad = None if grad is None else grad(X)
    np.testing.assert_array_equal(got_value, want_value)
    assert np.shape(got_grad) == X.shape
    if want_grad is None:
        with np.errstate(all="ignore"):
            want_grad = load(body, fuse=False).f_grad(X)
    np.testing.assert_array_equal(got_grad, want_grad)


def test_fused_and_unfused_code_for_an_unfusable_region_agree():
    """The region SymPy cannot handle is compiled node by node: the same text as --no-fuse."""
    src = "def f(x: Vector[n]) -> Scalar:\n    return sum(sqrt(x * x))\n"
    fused = gradc.compile_source(src, filename="a.grad")
    unfused = gradc.compile_source(src, filename="a.grad", fuse=False)
    assert fused == unfused


def test_fuse_helper_sympy_cannot_differentiate():
    src = (
        "@fuse\ndef mag(t: Scalar) -> Scalar:\n    return sqrt(t * t)\n\n\n"
        "def f(x: Vector[n]) -> Scalar:\n    return sum(mag(x) * x)\n"
    )
    mod = gradc.load_source(src, filename="helper.grad")
    value, grad = mod.f_value_and_grad(X)
    np.testing.assert_allclose(value, np.sum(np.abs(X) * X), rtol=1e-14)
    np.testing.assert_allclose(grad, 2 * np.abs(X), rtol=1e-14)


def test_remaining_errors_point_at_the_formula():
    """A formula both modes refuse is reported at its own FILE:LINE:COL, never <sympy>."""
    src = "def f(x: Vector[n]) -> Scalar:\n    y = sqrt(x * x)\n    return sum(y @ y @ y)\n"
    for fuse in (True, False):
        with pytest.raises(gradc.FormulaError) as err:
            gradc.compile_source(src, filename="bad.grad", fuse=fuse)
        assert str(err.value).startswith("bad.grad:3:"), str(err.value)


# A quotient or difference SymPy cancels (x / x is 1, x - x is 0), a function it
# evaluates away: (formula, point, the gradient NumPy's chain rule gives node by node:
# NaN where the cancelled value is 0 / 0 or inf - inf or outside a domain, the smooth
# value elsewhere)
CANCELLED = [
    ("sum(tanh(x / x) * x)", [0.0, 2.0, -3.0], [np.nan, np.tanh(1.0), np.tanh(1.0)]),
    ("sum(exp(x - x) * x)", [np.inf, 2.0, -3.0], [np.nan, 1.0, 1.0]),
    ("sum(x * x / x)", [0.0, 2.0, -3.0], [np.nan, 1.0, 1.0]),
    ("sum(x * (1.0 / x) + x)", [0.0, 2.0, -3.0], [np.nan, 1.0, 1.0]),
    ("sum(exp((x + 1.0) - x) * x)", [np.inf, 2.0, -3.0], [np.nan, np.e, np.e]),
    ("sum(sqrt(x) * sqrt(x))", [-1.0, 4.0, 0.25], [np.nan, 1.0, 1.0]),
    # a function SymPy evaluates away: exp(log(x)), tanh(arctanh(x)), sqrt(x) ** 2 are x
    ("sum(exp(log(x)) * x)", [-1.0, 1.0, 1.0], [np.nan, 2.0, 2.0]),
    ("sum(tanh(arctanh(x)) * x)", [2.0, 0.0, 0.0], [np.nan, 0.0, 0.0]),
    ("sum(sqrt(x) ** 2)", [-1.0, 4.0, 0.25], [np.nan, 1.0, 1.0]),
]


@pytest.mark.parametrize(("body", "point", "grad"), CANCELLED)
@FUSE
def test_a_region_sympy_cancels_in_stays_unfused(body, point, grad, fuse):
    """SymPy's ``x / x`` is 1 and its ``exp(log(x))`` is ``x``, so a fused gradient was
    finite (``tanh(1)``, 2) where NumPy's, node by node, is NaN, as JAX's is
    (``symbolic/body.uncancelled``)."""
    with np.errstate(all="ignore"):
        value, got = load(body, fuse).f_value_and_grad(np.array(point))
    assert np.isnan(value)
    np.testing.assert_allclose(got, grad, rtol=1e-15, atol=0.0)  # NaN where NaN
