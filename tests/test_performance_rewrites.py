"""Rewrites that make formulas written the way people write them run like hand-written
NumPy (issue 16; measured in bench/README.md, "Formulas as people write them").

Each test asserts the emitted spelling and checks the gradients against central finite
differences in float64 (``tests/gradcheck.py``) and the value against NumPy written here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradc
from tests.gradcheck import as_grad_list, assert_fd_close, central_diff_grad

RNG = np.random.default_rng(16)


def function_text(source: str, name: str) -> str:
    """The text of the emitted function ``name`` (up to the next top-level def)."""
    match = re.search(rf"^def {name}\(.*?(?=^def |\Z)", source, re.S | re.M)
    assert match, name
    return match.group(0)


def check_gradients(mod, name: str, args: list, wrt: list[int]) -> None:
    f = getattr(mod, name)
    value, grads = getattr(mod, f"{name}_value_and_grad")(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    numeric = central_diff_grad(f, args, wrt)
    assert_fd_close(as_grad_list(grads, len(wrt)), numeric, scale=abs(value))


# ---------------------------------------------------------------------------
# a. Mirrored stable calls collected (symbolic/collect.py, collected_body)

LOGREG = """
@wrt(w, b)
def logreg(w: Vector[d], b: Scalar, X: Matrix[n, d], y: Vector[n]) -> Scalar:
    z = X @ w + b
    p = 1 / (1 + exp(-z))
    return -mean(y * log(p) + (1 - y) * log(1 - p))
"""


def test_logistic_regression_has_one_softplus_and_one_sigmoid_from_one_exp():
    # softplus(z) in the value, sigmoid(z) in the gradient: both from exp(-|z|)
    source = gradc.compile_source(LOGREG)
    vg = function_text(source, "logreg_value_and_grad")
    assert vg.count("np.exp(") == 1 and "_softplus(" not in vg and "_sigmoid(" not in vg
    assert "out_t1 = np.exp(-np.abs(z))" in vg
    # the value's line past 88 characters, its negation a statement of its own
    assert (
        "out_t2 = (z * y - (np.maximum(z, _zero) + np.log1p(out_t1))).sum() / n" in vg
    )
    assert "out = -out_t2" in vg
    assert "(y - np.where(z >= _zero, _one, out_t1) / (_one + out_t1))" in vg
    # f_forward caches the exp for f_backward, which computes none
    backward = function_text(source, "logreg_backward")
    assert "np.exp(" not in backward and "_sigmoid(" not in backward, backward


def test_logistic_regression_collected_value_and_gradients():
    mod = gradc.load_source(LOGREG)
    X = RNG.standard_normal((9, 4))
    w = RNG.standard_normal(4)
    y = RNG.integers(0, 2, 9).astype(float)
    z = X @ w + 0.3
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert mod.logreg(w, 0.3, X, y) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "logreg", [w, 0.3, X, y], [0, 1])
    # margins of +-800: softplus(z) - y z stays finite, the gradient is sigmoid(z) - y
    zs = np.array([800.0, -800.0, 800.0, -800.0])
    ys = np.array([1.0, 0.0, 0.0, 1.0])
    value, (gw, gb) = mod.logreg_value_and_grad(np.array([1.0]), 0.0, zs[:, None], ys)
    assert value == pytest.approx(400.0, rel=1e-12)  # mean of 0, 800, 800, 0
    np.testing.assert_allclose(gw, [np.mean((np.array([1, 0, 1, 0]) - ys) * zs)])
    assert gb == pytest.approx(0.0, abs=1e-12)


def test_mirrored_sigmoid_pair_collects():
    src = "def f(x: Vector[n], t: Vector[n]) -> Scalar:\n"
    src += "    return sum(t * sigmoid(x) + (1 - t) * sigmoid(-x))\n"
    source = gradc.compile_source(src)
    fwd = function_text(source, "f_forward")
    assert fwd.count("_sigmoid(") == 1, fwd
    mod = gradc.load_source(src)
    x, t = RNG.standard_normal(7), RNG.random(7)
    s = 1 / (1 + np.exp(-x))
    assert mod.f(x, t) == pytest.approx(np.sum(t * s + (1 - t) * (1 - s)), rel=1e-12)
    check_gradients(mod, "f", [x, t], [0, 1])


# ---------------------------------------------------------------------------
# b. logsumexp's exp and sum shared with its backward (passes/late.py, expose_logsumexp)

SOFTMAX_CE = """
@wrt(W)
def ce(W: Matrix[D, C], X: Matrix[N, D], y: Index[N]) -> Scalar:
    scores = X @ W
    return mean(logsumexp(scores, axis=1) - scores[arange(N), y])
"""


def test_softmax_cross_entropy_backward_reads_the_forward_exp():
    vg = function_text(gradc.compile_source(SOFTMAX_CE), "ce_value_and_grad")
    assert vg.count("np.exp(") == 1 and "_logsumexp" not in vg, vg
    assert "out_t1 = _max_shift(scores, axis=1)" in vg
    assert "out_t2 = np.exp(scores - out_t1[:, None])" in vg
    assert "out_t3 = _sum_trailing(out_t2)" in vg
    # (out_t2 is dead after: the gradient is written into it, tests/test_inplace_reuse.py)
    assert (
        "d_scores = np.multiply(out_t2, (1.0 / N / out_t3)[:, None], out=out_t2)" in vg
    )
    assert "d_scores[np.arange(N), y] += -1.0 / N" in vg
    assert "np.zeros" not in vg and "np.full" not in vg


def test_softmax_cross_entropy_value_and_gradients():
    mod = gradc.load_source(SOFTMAX_CE)
    W, X = RNG.standard_normal((4, 3)), RNG.standard_normal((6, 4))
    y = RNG.integers(0, 3, 6)
    s = X @ W
    lse = np.log(np.exp(s).sum(axis=1))
    expected = np.mean(lse - s[np.arange(6), y])
    assert mod.ce(W, X, y) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "ce", [W, X, y], [0])


def test_exposed_logsumexp_at_large_and_infinite_rows():
    src = "def f(x: Matrix[n, k], y: Index[n]) -> Scalar:\n"
    src += "    return mean(logsumexp(x, axis=1) - x[arange(n), y])\n"
    mod = gradc.load_source(src)
    y = np.array([0, 2])
    value, g = mod.f_value_and_grad(np.full((2, 4), 1e17), y)
    assert value == (np.log(4.0) + 1e17) - 1e17  # log(4) + 1e17 rounds to 1e17
    onehot = np.zeros((2, 4))
    onehot[[0, 1], y] = 1.0
    np.testing.assert_allclose(g, (0.25 - onehot) / 2, rtol=1e-15)
    x = np.array([[0.0, -np.inf, 1.0, 2.0], [3.0, 1.0, -np.inf, 0.0]])
    value, g = mod.f_value_and_grad(x, np.array([0, 1]))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    assert value == pytest.approx(
        np.mean(np.log(np.exp(x).sum(axis=1)) - x[[0, 1], [0, 1]]), rel=1e-14
    )
    onehot = np.zeros((2, 4))
    onehot[[0, 1], [0, 1]] = 1.0
    np.testing.assert_allclose(g, (p - onehot) / 2, rtol=1e-14)
    x = RNG.standard_normal((3, 5))
    check_gradients(mod, "f", [x, np.array([4, 0, 2])], [0])


def test_logsumexp_without_gradient_keeps_its_helper():
    src = "@wrt(w)\ndef f(w: Vector[k], x: Matrix[n, k]) -> Scalar:\n"
    src += "    return sum(w * w) * sum(logsumexp(x, axis=1))\n"
    source = gradc.compile_source(src)
    assert "_logsumexp(x, axis=1)" in function_text(source, "f_value_and_grad")
    assert "_max_shift" not in source


# ---------------------------------------------------------------------------
# c. Constants not materialised as arrays (rewrite/shape_ops.py, rewrite/accumulation.py)

HINGE = """
@wrt(m)
def f(m: Matrix[N, C], y: Index[N]) -> Scalar:
    per = sum(m, axis=1) - m[arange(N), y]
    return mean(per)
"""


def test_mean_of_row_sums_adds_a_number_not_an_array():
    vg = function_text(gradc.compile_source(HINGE), "f_value_and_grad")
    assert "np.full" not in vg and "np.broadcast_to" not in vg, vg
    assert "d_m[np.arange(N), y] = -1.0 / N" in vg
    assert "d_m += 1.0 / N" in vg
    mod = gradc.load_source(HINGE)
    m, y = RNG.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    expected = np.mean(m.sum(axis=1) - m[np.arange(5), y])
    assert mod.f(m, y) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "f", [m, y], [0])


# the gradient of sum(a * W) in W is a broadcast to W's shape: np.full(S, 1.0) * a was
# two passes over S (algebra.mul_ones); alone it is one copy, added it is one addition
BROADCAST_FACTORS = """
def rows(W: Matrix[n, d], v: Vector[n]) -> Scalar:
    return sum(v[:, None] * W)

def added(W: Matrix[n, d], v: Vector[n]) -> Scalar:
    return sum(v[:, None] * W) + sum(W ** 2)

def columns(W: Matrix[n, d], v: Vector[d]) -> Scalar:
    return sum(v * W)

def norms(W: Matrix[n, d]) -> Scalar:
    return sum(norm(W, axis=1, keepdims=True) * W)
"""


def test_a_broadcast_factor_is_not_multiplied_by_ones():
    source = gradc.compile_source(BROADCAST_FACTORS)
    assert "np.full" not in source, source
    rows = function_text(source, "rows_value_and_grad")
    assert "d_W = np.broadcast_to(out_t1, (n, d))" in rows
    assert "return out, (d_W.copy(), d_v)" in rows  # results own their memory
    assert "d_W += out_t1\n" in function_text(source, "added_value_and_grad")
    cols = function_text(source, "columns_value_and_grad")
    assert "d_W = np.broadcast_to(v, (n, d))" in cols


def test_a_broadcast_factor_values_and_gradients():
    mod = gradc.load_source(BROADCAST_FACTORS)
    W, vn, vd = (RNG.standard_normal(s) for s in ((5, 3), 5, 3))
    grads = {
        "rows": np.broadcast_to(vn[:, None], (5, 3)),
        "added": vn[:, None] + 2.0 * W,
        "columns": np.broadcast_to(vd, (5, 3)),
    }
    for name, args in (("rows", [W, vn]), ("added", [W, vn]), ("columns", [W, vd])):
        d_W = getattr(mod, f"{name}_grad")(*args)[0]
        np.testing.assert_allclose(d_W, grads[name], rtol=1e-14)
        assert d_W.flags.owndata and d_W.flags.writeable
        check_gradients(mod, name, args, [0, 1])
    check_gradients(mod, "norms", [W], [0])
    nan = W.copy()
    nan[1, 2] = np.nan  # 1.0 * a is a: nan and -0.0 pass through unchanged
    d_W = mod.rows_grad(nan, np.array([-0.0, 1.0, np.nan, 2.0, 3.0]))[0]
    assert np.signbit(d_W[0]).all() and np.isnan(d_W[2]).all()


# ---------------------------------------------------------------------------
# d. Guards on one condition added into one where (rewrite/conditions.py)

HUBER = """
@wrt(r)
def huber(r: Vector[n], delta: Scalar) -> Scalar:
    a = abs(r)
    return sum(where(a <= delta, 0.5 * r ** 2, delta * (a - 0.5 * delta)))
"""


def test_huber_gradient_is_one_where():
    vg = function_text(gradc.compile_source(HUBER), "huber_value_and_grad")
    assert vg.count("np.where(") == 2, vg  # the value's and the gradient's
    assert "d_r = np.where(out_t1, r, delta * np.sign(r))" in vg
    assert "+=" not in vg


def test_huber_value_and_gradients():
    mod = gradc.load_source(HUBER)
    r = np.array([-3.0, -0.7, 0.2, 0.9, 2.5, 1.3])
    a = np.abs(r)
    expected = np.sum(np.where(a <= 1.0, 0.5 * r**2, a - 0.5))
    assert mod.huber(r, 1.0) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "huber", [r, 1.0], [0])
    np.testing.assert_array_equal(mod.huber_grad(r, 1.0), np.clip(r, -1.0, 1.0))


BATCHNORM = """
@wrt(x, gamma, beta)
def bn(x: Matrix[N, D], gamma: Vector[D], beta: Vector[D], t: Matrix[N, D]) -> Scalar:
    mu = mean(x, axis=0)
    xc = x - mu
    v = mean(xc ** 2, axis=0)
    xhat = xc / sqrt(v + 1e-5)
    return sum((gamma * xhat + beta) * t)
"""


def test_mean_adjoint_is_subtracted_without_a_broadcast_array():
    vg = function_text(gradc.compile_source(BATCHNORM), "bn_value_and_grad")
    assert "d_x = d_xc - xc_g1 / N" in vg, vg
    assert "np.broadcast_to" not in vg and "np.full" not in vg
    mod = gradc.load_source(BATCHNORM)
    x = 3.0 + 2.0 * RNG.standard_normal((5, 3))
    gamma, beta = 1.0 + 0.1 * RNG.standard_normal(3), RNG.standard_normal(3)
    t = RNG.standard_normal((5, 3))
    xc = x - x.mean(axis=0)
    xhat = xc / np.sqrt((xc**2).mean(axis=0) + 1e-5)
    expected = np.sum((gamma * xhat + beta) * t)
    assert mod.bn(x, gamma, beta, t) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "bn", [x, gamma, beta, t], [0, 1, 2])


def test_mirrored_pair_kept_when_expanding_would_grow_the_body():
    src = "def f(x: Vector[n], t: Vector[n]) -> Scalar:\n"
    src += "    return sum((t + 1) ** 3 * softplus(x) + t * softplus(-x))\n"
    fwd = function_text(gradc.compile_source(src), "f_forward")
    # the pair stays two values (not softplus(x) - x), both from one exp and one log1p
    assert "out_t1**3 * out_t4 + t * out_t3" in fwd, fwd
    assert fwd.count("np.exp(") == 1 and fwd.count("np.log1p(") == 1, fwd
    mod = gradc.load_source(src)
    x, t = RNG.standard_normal(6), RNG.random(6)
    sp = np.logaddexp(0.0, x)
    expected = np.sum((t + 1) ** 3 * sp + t * np.logaddexp(0.0, -x))
    assert mod.f(x, t) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "f", [x, t], [0, 1])


# ---------------------------------------------------------------------------
# x * x and x ** 2 are one value (rewrite/algebra.py, mul_as_square, pow_as_product)

GAUSS = "def f(x: Vector[n]) -> Scalar:\n    return sum(tanh(x) * exp(-x * x) + x)\n"
GAUSS_POW = "def f(x: Vector[n]) -> Scalar:\n    return sum(exp(-x ** 2) * (x * x))\n"


def test_the_gradient_reads_the_forwards_exp_of_x_times_x():
    """SymPy's local gradient reads exp(-x**2); the formula wrote exp(-x * x): one exp."""
    vg = function_text(gradc.compile_source(GAUSS), "f_value_and_grad")
    code = [ln for ln in vg.splitlines() if not ln.lstrip().startswith("#")]
    assert vg.count("np.exp(") == 1 and not any("x**2" in ln for ln in code), vg
    assert "out_t2 = np.exp(-(x * x))" in vg


def test_x_times_x_after_x_squared_is_the_square():
    vg = function_text(gradc.compile_source(GAUSS_POW), "f_value_and_grad")
    code = [ln for ln in vg.splitlines() if not ln.lstrip().startswith("#")]
    assert not any("x * x" in ln for ln in code), vg
    assert sum(ln.count("x**2") for ln in code) == 1, vg


@pytest.mark.parametrize("source", [GAUSS, GAUSS_POW])
def test_shared_squares_value_and_gradients(source):
    mod = gradc.load_source(source)
    x = RNG.standard_normal(11)
    x[0] = 0.0
    expected = (
        np.sum(np.tanh(x) * np.exp(-x * x) + x)
        if source == GAUSS
        else np.sum(np.exp(-(x**2)) * (x * x))
    )
    assert mod.f(x) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "f", [x], [0])


# ---------------------------------------------------------------------------
# The mean of squares and the norm squared (rewrite/algebra.py: mul_scalars_first with
# over_dimension, mul_over_dimension, pow_norm_squared)

MSE = """
@wrt(w, b)
def mse(w: Vector[d], b: Scalar, X: Matrix[n, d], y: Vector[n]) -> Scalar:
    r = X @ w + b - y
    return mean(r ** 2)
"""

RIDGE = """
@wrt(w)
def ridge(w: Vector[d], X: Matrix[n, d], y: Vector[n], lam: Scalar) -> Scalar:
    return 0.5 * norm(X @ w - y) ** 2 + lam * norm(w) ** 2
"""


def test_mean_of_squares_scales_the_residual_once():
    # 1.0 / n * (2.0 * r) was two passes over r; 2.0 / n * r is the same number in one
    source = gradc.compile_source(MSE)
    vg = function_text(source, "mse_value_and_grad")
    assert "d_r = 2.0 / n * r\n" in vg, vg
    # f_backward's seed is a runtime scalar: 2.0 * d_out / n may overflow where
    # 2.0 * r does not, so the order stays the formula's
    backward = function_text(source, "mse_backward")
    assert "d_r = d_out / n * (_two * r)\n" in backward, backward


def test_mean_of_squares_value_gradients_and_a_large_seed():
    mod = gradc.load_source(MSE)
    X = RNG.standard_normal((7, 3))
    w, y = RNG.standard_normal(3), RNG.standard_normal(7)
    assert mod.mse(w, 0.4, X, y) == pytest.approx(
        np.mean((X @ w + 0.4 - y) ** 2), rel=1e-12
    )
    check_gradients(mod, "mse", [w, 0.4, X, y], [0, 1])
    # d_out = 1e308 and a residual of 0.25 at n = 1: 1e308 * 0.5 is finite
    one = np.ones((1, 1))
    _, cache = mod.mse_forward(np.array([0.25]), 0.0, one, np.zeros(1))
    d_w, d_b = mod.mse_backward(1e308, cache)
    assert d_b == 5e307 and d_w[0] == 5e307


def test_norm_squared_is_a_sum_of_squares():
    source = gradc.compile_source(RIDGE)
    assert "_norm(" not in source and "np.where" not in source, source
    vg = function_text(source, "ridge_value_and_grad")
    assert "+ lam * w.dot(w)\n" in vg, vg
    # 2 lam w, one pass over w below the bound (tests/test_scalar_meets_constant.py)
    assert "d_w = 2.0 * lam * w if abs(lam) < 5e299 else _two * (lam * w)\n" in vg, vg


def test_norm_squared_values_gradients_and_extremes():
    mod = gradc.load_source(RIDGE)
    X = RNG.standard_normal((8, 3))
    w, y = RNG.standard_normal(3), RNG.standard_normal(8)
    expected = 0.5 * np.linalg.norm(X @ w - y) ** 2 + 0.7 * np.linalg.norm(w) ** 2
    assert mod.ridge(w, X, y, 0.7) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "ridge", [w, X, y, 0.7], [0])
    # the square overflows where the norm's square does, and is 0 at w = 0
    big, zero = np.full(3, 1e155), np.zeros(3)
    assert np.linalg.norm(big) ** 2 == np.inf
    with np.errstate(over="ignore"):
        assert mod.ridge(big, np.zeros((8, 3)), np.zeros(8), 1.0) == np.inf
    value, grad = mod.ridge_value_and_grad(zero, X, y, 0.7)
    assert value == pytest.approx(0.5 * y @ y, rel=1e-12)
    np.testing.assert_allclose(grad, -(X.T @ y), rtol=1e-12)


@pytest.mark.parametrize("keep", [False, True])
def test_norm_squared_along_an_axis(keep):
    source = (
        "def f(A: Matrix[n, d], B: Matrix[n, d]) -> Scalar:\n"
        f"    return sum(norm(A, axis=1, keepdims={keep}) ** 2 * B[:, 0]"
        f"{'[:, None]' if keep else ''})\n"
    )
    mod = gradc.load_source(source)
    assert "_norm(" not in gradc.compile_source(source)
    A, B = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))
    expected = np.sum(np.linalg.norm(A, axis=1) ** 2 * B[:, 0])
    assert mod.f(A, B) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "f", [A, B], [0, 1])
