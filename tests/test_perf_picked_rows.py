"""The softmax losses' backward without the row sum of the picked entries' adjoint, the
weight gradient as ``g.T.dot(X).T`` (autograd's orientation), and the names of adjoints written in place (issue 16;
measured in bench/README.md, "The softmax losses, attention and the weight gradient").

Each test asserts the emitted spelling and checks values against NumPy written here and
gradients against central finite differences in float64 (``tests/gradcheck.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(1616)


def log_softmax(s):
    m = s.max(axis=1, keepdims=True)
    return s - m - np.log(np.exp(s - m).sum(axis=1, keepdims=True))


SOFTMAX = """
@wrt(W)
def loss(W: Matrix[D, C], X: Matrix[N, D], y: Index[N]) -> Scalar:
    logp = log_softmax(X @ W, axis=1)
    return -mean(logp[arange(N), y])
"""


def test_row_sum_of_the_picked_entries_is_not_computed():
    # sum(scatter(g, arange(N), y), axis=1) -> g: log_softmax's adjoint reads -1/N itself
    source = gradc.compile_source(SOFTMAX)
    vg = function_text(source, "loss_value_and_grad")
    backward = vg.split("out = ")[1]
    assert "keepdims" not in backward and "+= -1.0 / N" in backward, vg
    mod = gradc.load_source(SOFTMAX)
    W, X = RNG.standard_normal((4, 5)), RNG.standard_normal((7, 4))
    y = np.array([0, 4, 4, 2, -1, 1, 0])  # repeats and a negative label
    expect = -log_softmax(X @ W)[np.arange(7), y].mean()
    assert mod.loss(W, X, y) == pytest.approx(expect, rel=1e-13)
    check_gradients(mod, "loss", [W, X, y], [0])
    probs = np.exp(log_softmax(X @ W))
    probs[np.arange(7), y] -= 1.0
    assert mod.loss_grad(W, X, y) == pytest.approx(
        X.T @ probs / 7, rel=1e-12, abs=1e-15
    )


WEIGHTED = """
@wrt(W, wts)
def loss(W: Matrix[D, C], X: Matrix[N, D], y: Index[N], wts: Vector[N]) -> Scalar:
    logp = log_softmax(X @ W, axis=1)
    return -sum(wts * logp[arange(N), y])
"""


def test_row_sum_of_picked_entries_with_a_gradient_per_row():
    # each row's one entry is its own weight: the row sums are -wts, a column
    source = gradc.compile_source(WEIGHTED)
    vg = function_text(source, "loss_value_and_grad")
    assert vg.count("_sum_trailing(") == 1, vg  # the forward's, of exp
    mod = gradc.load_source(WEIGHTED)
    W, X = RNG.standard_normal((3, 4)), RNG.standard_normal((6, 3))
    y, wts = np.array([3, 3, 0, 1, 2, 3]), RNG.uniform(0.5, 2.0, 6)
    check_gradients(mod, "loss", [W, X, y, wts], [0, 3])


OTHER_ROWS = """
@wrt(W)
def loss(W: Matrix[D, C], X: Matrix[N, D], r: Index[N], y: Index[N]) -> Scalar:
    logp = log_softmax(X @ W, axis=1)
    return -mean(logp[r, y])
"""


def test_rows_not_one_each_keep_the_row_sum():
    # x[r, y] with any rows: a row may hold several entries or none, so the sum stays
    source = gradc.compile_source(OTHER_ROWS)
    vg = function_text(source, "loss_value_and_grad")
    assert vg.count("_sum_trailing(") == 2, vg
    mod = gradc.load_source(OTHER_ROWS)
    W, X = RNG.standard_normal((3, 4)), RNG.standard_normal((5, 3))
    r, y = np.array([0, 0, 0, 2, 4]), np.array([1, 1, 3, 0, 2])
    check_gradients(mod, "loss", [W, X, r, y], [0])


def test_weight_gradient_reads_the_data_transposed():
    # X^T g as (g^T X)^T, the orientation HIPS autograd's tensordot takes: on neither
    # kind of machine of bench/README's measurements does a peer on the same NumPy run
    # the product faster
    source = gradc.compile_source(SOFTMAX)
    vg = function_text(source, "loss_value_and_grad")
    assert "d_W = d_logp_t1.T.dot(X).T" in vg, vg
    assert "X.T.dot(" not in source


def test_an_adjoint_written_in_place_is_named_after_its_value():
    # scores_2's adjoint is d_scores_2, scores' is d_scores, though the in-place sum's
    # first part is written before the forward names it reads are known
    text = open("examples/softmax.grad").read()
    vg = function_text(gradc.compile_source(text), "softmax_loss_value_and_grad")
    body = vg.split("# line 9")[2]
    assert (
        body.split("\n")[1]
        .strip()
        .startswith("d_scores_2 = np.multiply(log_probs_t2, ")
    ), vg
    assert "d_scores = d_scores_2 + np.where(" in vg, vg
    assert "d_W += d_scores.T.dot(X).T" in vg, vg


def test_a_python_float_scalar_input_is_a_numpy_float():
    # the fast path of _float64: the same value, NumPy's float64 (inf, not an exception)
    text = "@wrt(x)\ndef f(x: Vector[n], c: Scalar) -> Scalar:\n    return sum(x / c)\n"
    mod = gradc.load_source(text)
    with np.errstate(divide="ignore"):
        value, grad = mod.f_value_and_grad(np.ones(3), 0.0)
    assert value == np.inf and np.all(grad == np.inf)
    assert mod.f_value_and_grad(np.ones(3), 0.5)[0] == 6.0


CAFFE = """
@wrt(scores)
def loss(scores: Matrix[N, C], y: Index[N]) -> Scalar:
    p = softmax(scores, axis=1)
    return -mean(log(p[arange(N), y]))
"""


def test_log_of_picked_probabilities_is_picked_log_softmax():
    # log(softmax(x)[i]) -> log_softmax(x)[i]; the picked log-probabilities from the
    # shifted scores minus the row's log(s), and the gradient e / s from the forward's e
    source = gradc.compile_source(CAFFE)
    vg = function_text(source, "loss_value_and_grad")
    assert "_softmax(" not in vg and "np.exp(" in vg, vg
    # (the picked entries gathered before the exp writes into out_t1: test_inplace_reuse)
    assert "out_t2 = out_t1[np.arange(N), y]" in vg, vg
    assert "(out_t2 - np.log(out_t3)[:, 0])" in vg, vg
    assert "d_scores[np.arange(N), y] += -1.0 / N" in vg, vg
    assert vg.count("np.exp(") == 1, vg  # the backward reads the forward's exp
    mod = gradc.load_source(CAFFE)
    s, y = RNG.standard_normal((6, 4)), np.array([0, 3, 3, 1, -2, 2])
    assert mod.loss(s, y) == pytest.approx(
        -log_softmax(s)[np.arange(6), y].mean(), rel=1e-13
    )
    check_gradients(mod, "loss", [s, y], [0])


def test_log_of_picked_probabilities_stays_finite_where_one_underflows():
    # p = softmax(s) underflows to 0 at s = (0, -800): log(p) would be -inf, 800 here
    mod = gradc.load_source(CAFFE)
    s, y = np.array([[0.0, -800.0], [1.0, 2.0]]), np.array([1, 0])
    value, grad = mod.loss_value_and_grad(s, y)
    assert value == pytest.approx((800.0 + np.log1p(np.exp(-1.0)) + 1.0) / 2, rel=1e-15)
    soft = np.exp(log_softmax(s))
    soft[np.arange(2), y] -= 1.0
    assert grad == pytest.approx(soft / 2, rel=1e-12, abs=1e-300)


LOG_SOFTMAX_ROWS = """
@wrt(x)
def f(x: Matrix[n, k], t: Matrix[n, k]) -> Scalar:
    return sum(log_softmax(x, axis=1) * t)
"""


@pytest.mark.parametrize("scale", [1.0, 1e17, 1e300])
def test_log_softmax_value_from_the_parts_its_backward_reads(scale):
    # log_softmax(x) = (x - m) - log(s) from max_shift, exp and sum: one exp in all,
    # exact where x - logsumexp(x) cancels (x = 1e17 * ones: -log(k), not 0)
    source = gradc.compile_source(LOG_SOFTMAX_ROWS)
    vg = function_text(source, "f_value_and_grad")
    assert vg.count("np.exp(") == 1 and "_log_softmax" not in vg, vg
    mod = gradc.load_source(LOG_SOFTMAX_ROWS)
    x = scale * np.ones((3, 4)) + np.array([0.0, 1.0, 2.0, 3.0]) * (scale == 1.0)
    t = RNG.standard_normal((3, 4))
    value, grad = mod.f_value_and_grad(x, t)
    ls = log_softmax(x)
    assert value == pytest.approx(np.sum(ls * t), rel=1e-12)
    soft = np.exp(ls)
    assert grad == pytest.approx(
        t - soft * t.sum(axis=1, keepdims=True), rel=1e-12, abs=1e-15
    )
    if scale == 1.0:
        check_gradients(mod, "f", [x, t], [0])


LOG_SOFTMAX_FIRST = """
@wrt(x)
def f(x: Matrix[n, k]) -> Scalar:
    return sum(log_softmax(x, axis=1)[:, 0])
"""


def test_log_softmax_of_a_row_with_minus_inf_shifts_by_its_maximum():
    # max_shift ignores -inf entries: the row's other entries are finite, no nan
    mod = gradc.load_source(LOG_SOFTMAX_FIRST)
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 3.0, 4.0]])
    value, grad = mod.f_value_and_grad(x)
    finite = np.array([[0.0, 1.0], [2.0, 4.0]])  # the -inf entry adds exp(-inf) = 0
    first = log_softmax(finite)[0, 0] + log_softmax(x[1:])[0, 0]
    assert value == pytest.approx(first, rel=1e-14)
    assert np.isfinite(grad).all() and grad[0, 1] == 0.0


ATTENTION = """
@wrt(Q, K, V)
def f(Q: Matrix[N, d], K: Matrix[M, d], V: Matrix[M, c], T: Matrix[N, c]) -> Scalar:
    A = softmax(Q @ K.T * 0.125, axis=1)
    return sum((A @ V) * T)
"""


def test_gradient_of_a_transposed_factor_is_written_c_ordered():
    # d_K is the transpose of (g^T Q)^T, the transposes cancel: g^T Q, a product of its
    # own, not a transposed view
    source = gradc.compile_source(ATTENTION)
    vg = function_text(source, "f_value_and_grad")
    assert "d_K = A_g1.T.dot(Q)\n" in vg, vg
    mod = gradc.load_source(ATTENTION)
    args = [RNG.standard_normal(s) for s in [(4, 3), (5, 3), (5, 2), (4, 2)]]
    _, (_, d_K, _) = mod.f_value_and_grad(*args)
    assert d_K.flags.c_contiguous
    check_gradients(mod, "f", args, [0, 1, 2])
