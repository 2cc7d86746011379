"""A runtime scalar meets a constant first, under a bound (issue 16):
``rewrite/reassociation.scalar_meets_constant`` makes ``k * (s * x)`` into
``guarded(|s| < 1e300 / |k|, (k * s) * x, k * (s * x))`` on the NumPy target, for a
constant ``k = +-2 ** m`` with ``|k| >= 1``, a scalar ``s`` known only at run time and an
array ``x``. Ridge's ``lam * norm(w) ** 2`` has the gradient ``2.0 * (lam * w)``, two
passes over ``w``; the hand-written ``(2.0 * lam) * w`` makes one, but overflows where
``|lam| > MAX / 2`` and the formula's order does not.

Checked: the emitted text; values and gradients against NumPy written here in the
formula's order and against central differences; inputs past the bound (the formula's
order, bit for bit, finite where the hand-written form is inf); nan; a backward whose
scalar is ``d_out * lam``; where the rule must not fire (a constant scalar, a product read
twice, a factor below 1 or not a power of two); the other targets and the scalar build.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(1617)
MAX = sys.float_info.max

RIDGE = """
@wrt(w)
def ridge(w: Vector[d], X: Matrix[n, d], y: Vector[n], lam: Scalar) -> Scalar:
    return 0.5 * norm(X @ w - y) ** 2 + lam * norm(w) ** 2
"""


@pytest.fixture(scope="module")
def ridge():
    return gradc.load_source(RIDGE)


def inputs(n=7, d=4, lam=0.3):
    return [
        RNG.standard_normal(d),
        RNG.standard_normal((n, d)),
        RNG.standard_normal(n),
        lam,
    ]


def as_written(w, X, y, lam):
    """The gradient in the formula's order: 2 * (lam * w) + X^T r."""
    return 2.0 * (lam * w) + (X @ w - y) @ X


def test_the_scalar_meets_the_constant_under_a_bound():
    vg = function_text(gradc.compile_source(RIDGE), "ridge_value_and_grad")
    lines = [ln.strip() for ln in vg.splitlines()]
    # one line where it fits (backend/branches.conditional)
    assert "d_w = 2.0 * lam * w if abs(lam) < 5e299 else _two * (lam * w)" in lines, vg
    assert "np.abs(lam)" not in vg  # a scalar's abs is Python's: 30 ns, not 140


def test_values_and_gradients(ridge):
    args = inputs()
    value, d_w = ridge.ridge_value_and_grad(*args)
    np.testing.assert_allclose(d_w, as_written(*args), rtol=1e-13, atol=1e-14)
    check_gradients(ridge, "ridge", args, [0])


@pytest.mark.parametrize("lam", [0.6 * MAX, -0.6 * MAX, 5e299, MAX])
def test_past_the_bound_the_formulas_order_runs(ridge, lam):
    # 2.0 * lam is inf (or near it) at these lam; 2.0 * (lam * w) is finite at |w| = 0.5
    w, X, y = np.full(3, 0.5), np.zeros((2, 3)), np.zeros(2)
    d_w = ridge.ridge_grad(w, X, y, lam)
    assert np.isfinite(d_w).all()
    np.testing.assert_array_equal(d_w, 2.0 * (lam * w))


def test_below_the_bound_both_orders_agree_to_the_bit(ridge):
    # multiplying by 2 only moves the exponent: (2 lam) w == 2 (lam w) wherever normal
    w, X, y = RNG.standard_normal(5), np.zeros((3, 5)), np.zeros(3)
    for lam in (4.9e299, 1e-3, -7.25, 1e-300):
        d_w = ridge.ridge_grad(w, X, y, lam)
        np.testing.assert_array_equal(d_w, 2.0 * (lam * w))
        np.testing.assert_array_equal(d_w, (2.0 * lam) * w)


def test_where_the_formula_overflows_the_gradient_does(ridge):
    w, X, y = np.array([1e10, -1.0]), np.zeros((2, 2)), np.zeros(2)
    d_w = ridge.ridge_grad(w, X, y, 1e299)
    assert d_w[0] == np.inf and d_w[1] == -2e299


def test_nan_reaches_the_gradient(ridge):
    w, X, y = inputs()[:3]
    assert np.isnan(ridge.ridge_grad(w, X, y, float("nan"))).all()


def test_the_backward_guards_the_upstream_product(ridge):
    source = gradc.compile_source(RIDGE)
    bw = function_text(source, "ridge_backward")
    assert "out_g1 = d_out * lam" in bw, bw
    assert "if abs(out_g1) < 5e299 else _two * (out_g1 * w)" in bw, bw
    w, X, y, lam = inputs()
    _, cache = ridge.ridge_forward(w, X, y, lam)
    for d_out in (1.0, -2.5, 1e300, MAX):  # the last two past the bound
        got = ridge.ridge_backward(d_out, cache)
        with np.errstate(over="ignore"):
            want = 2.0 * (d_out * lam * w) + (d_out * (X @ w - y)) @ X
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize(
    "body",
    [
        "return sum(2.0 * (3.0 * w))",  # a constant scalar: folded, no bound needed
        "return sum(0.5 * (lam * w))",  # |k| < 1: never overflows where the formula does not
        "return sum(3.0 * (lam * w))",  # not a power of two
        "v = lam * w\n    return sum(2.0 * v) + sum(v * w)",  # lam * w read twice
    ],
)
def test_where_the_rule_does_not_apply(body):
    src = f"def f(w: Vector[n], lam: Scalar) -> Scalar:\n    {body}\n"
    assert "5e299" not in gradc.compile_source(src)


@pytest.mark.parametrize("target", ["array-api", "numba"])
def test_other_targets_keep_the_formulas_order(target):
    if target == "numba":
        pytest.importorskip("numba", reason="the numba target's library")
    assert "5e299" not in gradc.compile_source(RIDGE, target=target)


def test_scalar_build_keeps_the_formulas_order():
    tiny = RIDGE.replace("Vector[d]", "Vector[2]").replace(
        "Matrix[n, d]", "Matrix[3, 2]"
    )
    tiny = tiny.replace("Vector[n]", "Vector[3]")
    assert "5e299" not in gradc.compile_source(tiny)
    mod = gradc.load_source(tiny)
    args = inputs(n=3, d=2)
    np.testing.assert_allclose(
        mod.ridge_grad(*args), as_written(*args), rtol=1e-13, atol=1e-14
    )


# ---------------------------------------------------------------------------
# The family: every way the product k * (s * x) reaches the rule. The language oracle's
# generator does not build it (no formula of its first 600 seeds emits the bound), so
# each form is built here: k a power of two of either sign (or a constant the rule must
# leave alone), s a parameter, a product of two or the upstream gradient, x an array the
# product is the only reader of, in the value or in the gradient. Each is checked
# against NumPy written here and central differences, and past the bound against the
# formula's order (finite where the gradient is).

# (body, value(x, y, s, t), gradient in x(x, y, s, t)) in NumPy, written independently
FAMILY = {
    "k(sx)y": (
        "sum(K * (s * x) * y)",
        lambda x, y, s, t, k: np.sum(k * (s * x) * y),
        lambda x, y, s, t, k: k * (s * y),
    ),
    "(xs)k-y": (
        "sum((x * s) * K - y)",
        lambda x, y, s, t, k: np.sum((x * s) * k - y),
        lambda x, y, s, t, k: np.full_like(x, k * s),
    ),
    "s-sum-xx": (
        "K * s * sum(x * x) + sum(y)",
        lambda x, y, s, t, k: k * s * np.sum(x * x) + np.sum(y),
        lambda x, y, s, t, k: 2.0 * (k * s * x),
    ),
    "ts-norm": (
        "t * s * norm(x) ** 2 * K",
        lambda x, y, s, t, k: t * s * np.sum(x * x) * k,
        lambda x, y, s, t, k: 2.0 * (t * s * k * x),
    ),
    "mean-of-squares": (
        "s * mean((x * K) ** 2) + sum(y * x)",
        lambda x, y, s, t, k: s * np.mean((x * k) ** 2) + np.sum(y * x),
        lambda x, y, s, t, k: 2.0 * k * k * s * x / x.size + y,
    ),
}
KS = [2.0, -2.0, 4.0, 0.5, 3.0, -1.0]


def family_source(body: str, k: float) -> str:
    return (
        "@wrt(x, s)\n"
        "def f(x: Vector[n], y: Vector[n], s: Scalar, t: Scalar) -> Scalar:\n"
        f"    return {body.replace('K', repr(k))}\n"
    )


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("form", sorted(FAMILY))
def test_the_family_values_and_gradients(form, k):
    body, value, grad_x = FAMILY[form]
    mod = gradc.load_source(family_source(body, k))
    x, y = RNG.standard_normal(6), RNG.standard_normal(6)
    s, t = float(RNG.uniform(-2, 2)), float(RNG.uniform(0.5, 2))
    got, (d_x, _) = mod.f_value_and_grad(x, y, s, t)
    assert got == pytest.approx(value(x, y, s, t, k), rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(d_x, grad_x(x, y, s, t, k), rtol=1e-13, atol=1e-13)
    check_gradients(mod, "f", [x, y, s, t], [0, 2])
    _, cache = mod.f_forward(x, y, s, t)
    d_x2, _ = mod.f_backward(-1.5, cache)
    np.testing.assert_allclose(d_x2, -1.5 * grad_x(x, y, s, t, k), rtol=1e-13)


@pytest.mark.parametrize("k", [2.0, -2.0, 4.0])
@pytest.mark.parametrize("form", ["k(sx)y", "s-sum-xx", "ts-norm"])
def test_the_family_past_the_bound(form, k):
    # k * s * x with |x| = 2 ** -6 is finite for every s below; the formula's own order
    # overflows only where it computes k * s alone (s-sum-xx, ts-norm at |k s| > MAX),
    # and the gradient must be finite everywhere else: the exact value, in extended
    # precision, is the reference
    body, _, grad_x = FAMILY[form]
    mod = gradc.load_source(family_source(body, k))
    x, y, t = np.full(3, 2.0**-6), np.full(3, 2.0**-6), 1.0
    for s in (0.3 * MAX, -0.3 * MAX, 1e300, 0.6 * MAX):
        if form != "k(sx)y" and abs(k * s) > MAX:
            continue  # the formula's k * s overflows first
        d_x, _ = mod.f_grad(x, y, s, t)
        wide = [np.longdouble(v) for v in (s, t, k)]
        exact = grad_x(x.astype(np.longdouble), y.astype(np.longdouble), *wide)
        assert np.isfinite(d_x).all(), (form, k, s, d_x)
        np.testing.assert_allclose(d_x, exact.astype(np.float64), rtol=1e-15)
    assert np.isnan(mod.f_grad(x, y, float("nan"), t)[0]).all()


def test_the_family_reaches_the_rule():
    # every form emits the bound for some k (a power of two, from the formula or from the
    # adjoint of x * x), in the value or the gradient, and each bound is 1e300 / |k|; not
    # the mean of squares, whose adjoint is pow's g * (2 * u), which the rule leaves alone
    # (bench/README.md: changing pow's rule undid two other folds)
    reached = set()
    for form, (body, _, _) in FAMILY.items():
        for k in KS:
            source = gradc.compile_source(family_source(body, k))
            bounds = re.findall(r"if abs\(\w+\) < ([0-9.e]+)[: ]", source)
            assert set(bounds) <= {"5e299", "2.5e299", "1e300"}, (form, k, bounds)
            reached |= {form} if bounds else set()
    assert reached == set(FAMILY) - {"mean-of-squares"}
