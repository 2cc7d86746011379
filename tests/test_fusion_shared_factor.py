"""A fused node's local gradients with their shared factor taken out (``symbolic/fused.py``
``fused_adjoint``, ``fused_tangent``) keep their factored form: the factor is divided off
factor by factor (``symbolic/body.without_common``), not by ``sympy.cancel``, which
multiplied ``(1 - tanh(u)**2) * (2 - 2*tanh(v)**2) * ...`` out into terms of size 100
that cancel where a tanh saturates. Formula seed 96780 of ``tests/language_gen.py``: its
``f_hvp`` was not symmetric (<u, H v> = -5.1e-14, <H u, v> = 5.6e-14 where both are
below 1e-70), and its gradient with respect to x2 came out -3.5e-15.

The oracle is SymPy's ``diff`` of the formula written here in SymPy, at 50 digits."""

from __future__ import annotations

import math

import pytest
import sympy

from gradc import compile_source, load_source
from gradc.symbolic.body import common_factor, without_common

SEED_96780 = """
def f(x1: Scalar, x2: Scalar) -> Scalar:
    t3 = ((1.5 + tanh(sign(x2))) ** -1) / (1.5 + tanh(exp((1.5 + tanh(x2)) ** 2)))
    return t3 * x1 + ((1.5 + tanh(2.0)) ** 0.5) - (x1)
"""
POINT = (-1.750708734979717, 0.7287284736095991)


def exact_gradient(x1: float, x2: float) -> tuple:
    """The gradient of SEED_96780 by SymPy's ``diff`` (``sign(x2)`` is 1 here), 50 digits."""
    a, b = sympy.symbols("a b", real=True)
    half = sympy.Rational(3, 2)
    t3 = (
        1
        / (half + sympy.tanh(1))
        / (half + sympy.tanh(sympy.exp((half + sympy.tanh(b)) ** 2)))
    )
    f = t3 * a - a
    at = {a: sympy.Float(x1, 50), b: sympy.Float(x2, 50)}
    return tuple(float(sympy.diff(f, v).evalf(50, subs=at)) for v in (a, b))


@pytest.mark.parametrize("fuse", [True, False])
def test_gradient_where_the_tanh_saturates(fuse):
    m = load_source(SEED_96780, fuse=fuse)
    want = exact_gradient(*POINT)
    assert abs(want[1]) < 1e-70  # tanh(exp(4.5)) is 1 to 78 digits
    _, (g1, g2) = m.f_value_and_grad(*POINT)
    assert math.isclose(g1, want[0], rel_tol=1e-14)
    assert abs(g2 - want[1]) <= 1e-30  # was -3.5e-15: the expanded terms' rounding


def test_the_hessian_vector_product_is_symmetric_there():
    m = load_source(SEED_96780, jvp=True, hvp=True)
    u, v = (0.3, -1.1), (-0.7, 0.4)
    hu, hv = m.f_hvp(*POINT, *u), m.f_hvp(*POINT, *v)
    lhs = u[0] * hv[0] + u[1] * hv[1]
    rhs = hu[0] * v[0] + hu[1] * v[1]
    assert abs(lhs - rhs) <= 1e-30  # both are below 1e-70; were -5.1e-14 and 5.6e-14


def test_the_emitted_gradient_keeps_the_factors():
    text = compile_source(SEED_96780)
    grad = text[text.index("def f_value_and_grad") :]
    grad = grad[: grad.index("\ndef ")]
    assert "(1.0 - t3_t4**2)" in grad  # 1 - tanh(...)**2, one factor
    assert (
        "exp(3.0 *" not in grad
    )  # exp((1.5 + t)**2) was split into e^2.25 e^(t^2) e^(3t)


def test_without_common_divides_factor_by_factor():
    a0, a1, y = sympy.symbols("a0 a1 y", real=True)
    locals_ = [
        y * (1 - sympy.tanh(a0) ** 2) / (sympy.tanh(a0) + 1),
        -2 * y * (1 - sympy.tanh(a1) ** 2) * (1 - sympy.tanh(sympy.exp(a1)) ** 2),
    ]
    common = common_factor(locals_)
    assert common == y
    for local in locals_:
        rest = without_common(local, common)
        assert sympy.simplify(rest * common - local) == 0
        # no product of sums multiplied out: the sums stay as factors
        assert any(f.is_Add for f in sympy.Mul.make_args(rest))
