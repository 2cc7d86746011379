"""A whole sum of an array scaled by a scalar, summed first and scaled once (issue 16):
``rewrite/scaled_sums.py`` makes ``guarded(|sum(a)| < 1e300, sum(a) / c, sum(a / c))``.

A Gaussian's negative log-likelihood over its mean and log standard deviation (the
"Formulas outside the suite" finding, 2.1-6.3x the hand-written NumPy) summed
``out_t1 / sigma ** 2`` and ``out_t2 / sigma`` as new arrays for the two Scalar
gradients. Checked: the emitted text; values and gradients against central differences
and the formula written here in NumPy; the formula's order where summing first
overflows (bit for bit); no inf or nan where the formula's order has none, over scales
and magnitudes from 1e-300 to 1e300; nan; ``f_backward`` with a seed, where the
forward has the same test (the backward computes it again from the cached sum); the
targets and the scalar build that keep the formula's order.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(1701)

GAUSS = """
@wrt(mu, log_sigma)
def gauss_nll(mu: Scalar, log_sigma: Scalar, x: Vector[n]) -> Scalar:
    sigma = exp(log_sigma)
    return 0.5 * sum(((x - mu) / sigma) ** 2) + n * log_sigma
"""

# d/ds of sum(tanh(x / s)): -sum(x * (1 - tanh^2) / s ** 2), a dot product over s ** 2
OVER = """
@wrt(s)
def f(x: Vector[n], s: Scalar) -> Scalar:
    return sum(tanh(x / s))
"""

# a scaled sum in the value itself (sum(t) * s), and one the gradient makes (d_s)
BOTH = """
@wrt(s)
def g(x: Matrix[n, m], s: Scalar) -> Scalar:
    return sum(tanh(x) * s) + mean(exp(x) / s)
"""

# the value scaled once: sinh(x) * s is a temporary (d_x reads cosh(x), not it)
PLAIN = """
@wrt(x)
def h(x: Vector[n], s: Scalar) -> Scalar:
    return sum(sinh(x) * s)
"""


def plain_formula(a, s):
    """h at x = arcsinh(a), summed in the formula's order: the products, then their sum."""
    return (np.sinh(np.arcsinh(a)) * s).sum()


def gauss_by_hand(mu, log_sigma, x):
    """The value and both gradients, written out: r = (x - mu) / sigma."""
    sigma = np.exp(log_sigma)
    r = (x - mu) / sigma
    return 0.5 * np.sum(r * r) + len(x) * log_sigma, (
        -np.sum(r) / sigma,
        len(x) - np.sum(r * r),
    )


@pytest.fixture(scope="module")
def gauss():
    return gradc.load_source(GAUSS)


@pytest.fixture(scope="module")
def plain():
    return gradc.load_source(PLAIN)


def test_the_gaussian_sums_each_array_once():
    vg = function_text(gradc.compile_source(GAUSS), "gauss_nll_value_and_grad")
    # the value's sum of squares is the log standard deviation's sum too (a dot
    # product: the squares are made in the overflow branch alone, test_early_reads.py)
    assert vg.count("out_t1.dot(out_t1)") == 1 and "out_t4 = out_t1.dot(out_t1)" in vg
    assert "out_t4 / sigma if abs(out_t4) < 1e300 else (out_t1**2 / sigma).sum()" in vg
    # the mean's gradient sums the differences, then divides once
    assert "out_t3 = out_t1.sum()" in vg, vg
    fast, slow = "-(out_t3 / out_t2)", "-(out_t1 / out_t2).sum()"
    assert f"{fast} if abs(out_t3) < 1e300 else {slow}" in vg, vg
    assert "e+" not in vg  # 1e300 as ruff format writes it


def test_a_sum_of_products_over_a_scalar_is_a_dot_product():
    vg = function_text(gradc.compile_source(OVER), "f_value_and_grad")
    # (tanh(x / s) ** 2 - 1 written in the memory of tanh(x / s), which the value read)
    assert "x.dot(out_t1)" in vg and "< 1e300" in vg, vg
    assert "(x * out_t1 / out_t3).sum()" in vg, vg  # the formula's order, else


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_gaussian_values_and_gradients(gauss, n):
    x = RNG.standard_normal(n) * 3.0 + 1.0
    for mu, log_sigma in [(0.3, -0.2), (-2.0, 1.5), (1.0, -3.0)]:
        value, (d_mu, d_ls) = gauss.gauss_nll_value_and_grad(mu, log_sigma, x)
        want, (w_mu, w_ls) = gauss_by_hand(mu, log_sigma, x)
        assert value == pytest.approx(want, rel=1e-12)
        assert d_mu == pytest.approx(w_mu, rel=1e-12, abs=1e-12 * n)
        assert d_ls == pytest.approx(w_ls, rel=1e-12, abs=1e-12 * n)
        check_gradients(gauss, "gauss_nll", [mu, log_sigma, x], [0, 1])


@pytest.mark.parametrize("source, name", [(OVER, "f"), (BOTH, "g")], ids=["f", "g"])
def test_values_gradients_and_the_backward_with_a_seed(source, name):
    mod = gradc.load_source(source)
    shape = (5,) if name == "f" else (4, 3)
    x = RNG.standard_normal(shape)
    for s in (0.7, -2.5, 40.0):
        check_gradients(mod, name, [x, s], [1])
        value, grad = getattr(mod, f"{name}_value_and_grad")(x, s)
        out, cache = getattr(mod, f"{name}_forward")(x, s)
        assert out == value
        back = getattr(mod, f"{name}_backward")(-3.0, cache)
        back = back if isinstance(back, tuple) else (back,)
        grad = grad if isinstance(grad, tuple) else (grad,)
        for got, want in zip(back, grad):
            np.testing.assert_allclose(got, -3.0 * np.asarray(want), rtol=1e-12)


def test_the_backward_tests_the_cached_sum_again():
    # the value's sum(tanh(x)) * s and d_s's sum(tanh(x)) share the test; the backward
    # reads the sum from the cache and tests it itself (the cache holds no condition)
    source = gradc.compile_source(BOTH)
    forward = function_text(source, "g_forward")
    backward = function_text(source, "g_backward")
    assert "out_t2 = out_t1.sum()" in forward and "abs(out_t2) < 1e300" in forward
    assert "cache = (s, out_t1, out_t2, " in forward, forward
    assert "abs(out_t2) < 1e300" in backward, backward


def test_the_value_is_scaled_once(plain):
    text = function_text(gradc.compile_source(PLAIN), "h")
    forward = function_text(gradc.compile_source(PLAIN), "h_forward")
    assert "return h_forward(x, s)[0]" in text
    assert "out_t2 = out_t1.sum()" in forward, forward
    assert "out_t2 * s if abs(out_t2) < 1e300 else (out_t1 * s).sum()" in forward


def test_where_summing_first_overflows_the_formulas_order_runs(plain):
    # each product is 1e307 and so is their sum / 4; sum(a) alone is inf
    a = np.full(4, 1e308)
    with np.errstate(over="ignore"):
        assert np.isinf(np.sinh(np.arcsinh(a)).sum())
        got = plain.h(np.arcsinh(a), 0.1)
    assert got == plain_formula(a, 0.1) and np.isfinite(got)


def test_no_inf_or_nan_where_the_formulas_order_has_none(plain):
    """Over scales and magnitudes from 1e-300 to 1e300, with cancelling signs: where the
    formula's order is finite, so is the emitted value, to rounding; where the formula's
    order overflows only in its products (their sum cancels), the emitted value is the
    finite sum, as ``rewrite/contraction.py``'s dot products are."""
    checked = 0
    for magnitude in (1e-300, 1e-10, 1.0, 1e150, 1e300, 1e307):
        for scale in (1e-300, 1e-5, 0.5, 1.0, 3.0, 1e5, 1e300, -7.0):
            for _ in range(3):
                a = RNG.standard_normal(6) * magnitude
                with np.errstate(all="ignore"):
                    formula = plain_formula(a, scale)
                    got = plain.h(np.arcsinh(a), scale)
                    bound = np.abs(np.sinh(np.arcsinh(a)) * scale).sum()
                if np.isfinite(formula):
                    checked += 1
                    assert np.isfinite(got), (a, scale)
                    # the formula's products round to the subnormal grid below 2.2e-308
                    tiny = 6 * np.finfo(float).smallest_subnormal
                    assert abs(got - formula) <= 1e-14 * bound + tiny, (a, scale, got)
    assert checked > 100


def test_where_the_products_overflow_and_cancel(plain):
    # a * 10 is +-inf (a nan sum in the formula's order); the sum first is 0
    a = np.array([1e308, -1e308])
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(plain_formula(a, 10.0))
        assert plain.h(np.arcsinh(a), 10.0) == 0.0


def test_nan_reaches_the_value_and_gradients(gauss):
    x = RNG.standard_normal(6)
    x[3] = np.nan
    value, (d_mu, d_ls) = gauss.gauss_nll_value_and_grad(0.3, -0.2, x)
    assert np.isnan(value) and np.isnan(d_mu) and np.isnan(d_ls)


CONSTANT_SCALE = "def f(v: Vector[n]) -> Scalar:\n    return sum(v * 2.0 ** 0.5)\n"


def test_a_scale_of_constants_keeps_numpys_value():
    # 2.0 ** 0.5 is left to NumPy at run time (not folded): still the formula's order
    assert "1e300" not in gradc.compile_source(CONSTANT_SCALE)
    v = RNG.standard_normal(9)
    want = np.sum(v * np.float64(2.0) ** 0.5)
    assert gradc.load_source(CONSTANT_SCALE).f(v) == want


@pytest.mark.parametrize("target", ["array-api", "numba"])
def test_other_targets_keep_the_formulas_order(target):
    if target == "numba":
        pytest.importorskip("numba", reason="the numba target's library")
    assert "1e300" not in gradc.compile_source(GAUSS, target=target)


def test_the_scalar_build_keeps_the_formulas_order():
    tiny = GAUSS.replace("Vector[n]", "Vector[3]").replace("n * log", "3 * log")
    source = gradc.compile_source(tiny)
    assert "1e300" not in source and "x_list = x.tolist()" in source
    mod = gradc.load_source(tiny)
    x = np.array([0.5, -1.0, 2.0])
    value, grads = mod.gauss_nll_value_and_grad(0.3, -0.2, x)
    want, wgrads = gauss_by_hand(0.3, -0.2, x)
    assert value == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(grads, wgrads, rtol=1e-12)
