"""Layer normalisation's backward with fewer passes over the (N, D) arrays (issue 16;
measured in bench/README.md, "Layer normalisation at 1024x512").

``rewrite/reassociation.py`` ``small_factor_first`` (late): ``a * (k * x) -> (a * x) * k``
for a constant k = +-2 ** m, |k| >= 1, and an array ``a`` smaller than ``x``: the mean's
adjoint times ``xc`` first, then the 2 of ``xc ** 2``'s local gradient in place, so no
second full-size temporary is alive beside the first. Each test asserts
the emitted spelling, the gradients against central finite differences and the values
against NumPy written here.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(1602)

LAYERNORM = """
EPS = 1e-5


@wrt(x, gamma, beta)
def layernorm(x: Matrix[N, D], gamma: Vector[D], beta: Vector[D], t: Matrix[N, D]) -> Scalar:
    mu = mean(x, axis=1, keepdims=True)
    xc = x - mu
    v = mean(xc ** 2, axis=1, keepdims=True)
    xhat = xc / sqrt(v + EPS)
    return sum((gamma * xhat + beta) * t)
"""


def layernorm_numpy(x, gamma, beta, t):
    """The hand-written compact backward (CS231n), independent of gradc."""
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    inv = 1.0 / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + 1e-5)
    xhat = xc * inv
    loss = np.sum((gamma * xhat + beta) * t)
    dxhat = t * gamma
    dx = inv * (
        dxhat
        - dxhat.mean(axis=1, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)
    )
    return loss, (dx, (t * xhat).sum(axis=0), t.sum(axis=0))


def test_mean_adjoint_meets_the_two_before_xc():
    text = gradc.compile_source(LAYERNORM)
    vg = function_text(text, "layernorm_value_and_grad")
    assert "    d_xc += d_v / D * xc * _two\n" in vg, vg
    assert "(2.0 * xc)" not in text and "(_two * xc)" not in text


@pytest.mark.parametrize("shape", [(3, 5), (4, 1), (1, 6)])
def test_layernorm_gradients(shape):
    mod = gradc.load_source(LAYERNORM)
    n, d = shape
    args = [
        RNG.standard_normal((n, d)),
        RNG.standard_normal(d),
        RNG.standard_normal(d),
        RNG.standard_normal((n, d)),
    ]
    check_gradients(mod, "layernorm", args, [0, 1, 2])
    value, grads = mod.layernorm_value_and_grad(*args)
    want, want_grads = layernorm_numpy(*args)
    assert value == pytest.approx(want, rel=1e-12, abs=1e-12)
    for got, ref in zip(grads, want_grads):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


SCALED = (
    "@wrt(x)\n"
    "def f(a: Vector[n], x: Matrix[m, n]) -> Scalar:\n"
    "    return sum(a * ({k} * x))\n"
)


def test_only_powers_of_two_move():
    # a * (2 x) -> a * x * 2.0: the same numbers; a * (3 x) keeps its order (3 a x would
    # round differently)
    two = function_text(gradc.compile_source(SCALED.format(k=2)), "f_value_and_grad")
    assert "    out = (a * x * _two).sum()\n" in two, two
    three = function_text(gradc.compile_source(SCALED.format(k=3)), "f_value_and_grad")
    assert "    out = (a * (3.0 * x)).sum()\n" in three, three
    mod = gradc.load_source(SCALED.format(k=2))
    check_gradients(
        mod, "f", [RNG.standard_normal(4), RNG.standard_normal((3, 4))], [1]
    )


def test_a_product_read_twice_costs_no_more_passes():
    # with a's gradient too, 2.0 * x is read by d_a: the value's product is a * x * 2.0
    # (one temporary, scaled in place), d_a sums 2.0 * x
    src = SCALED.format(k=2).replace("@wrt(x)\n", "")
    vg = function_text(gradc.compile_source(src), "f_value_and_grad")
    assert "    out = (a * x * _two).sum()\n" in vg, vg
    assert "    d_a = _sum_leading(_two * x)\n" in vg, vg


def test_a_scalar_factor_keeps_its_order():
    # s * (2.0 * q) stays: (s * q) * 2.0 makes as many arrays, and 2 * s may overflow where
    # 2 * (s * q) does not (tests/test_spellings.py test_scalars_multiply_first)
    src = "def f(W: Matrix[m, n], x: Vector[n]) -> Scalar:\n    q = W @ x\n    return sum(q ** 2)\n"
    vg = function_text(gradc.compile_source(src), "f_backward")
    assert "d_q = d_out * (_two * q)\n" in vg, vg
    half = SCALED.format(
        k=0.5
    )  # |k| < 1: (a * x) * 0.5 could overflow where a * (0.5 x)
    text = function_text(gradc.compile_source(half), "f_value_and_grad")
    assert "(a * (_half * x)).sum()" in text, text


def test_same_numbers_as_before_on_the_same_point():
    # (a * x) * 2 == a * (2 * x) bit for bit in the normal range
    a = RNG.standard_normal((50, 1))
    x = RNG.standard_normal((50, 40))
    np.testing.assert_array_equal(a * x * 2.0, a * (2.0 * x))
    np.testing.assert_array_equal(a * x * -4.0, a * (-4.0 * x))
