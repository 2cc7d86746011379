"""A softmax written out by hand is recognised (issue 16: formulas as people write them;
``rewrite/recognition.py``: ``softmax_from_exp``, ``softmax_of_shifted``).

``exp(x) / sum(exp(x), axis=k, keepdims=True)`` becomes ``softmax(x, axis=k)``, and a
softmax of ``x - max(x, axis=k, keepdims=True)`` the softmax of ``x``; the ``log`` of
either (picked or not) is then ``log_softmax``'s. Values are checked against SciPy's
``softmax`` and ``log_softmax`` and NumPy written here, gradients against central finite
differences in float64 (``tests/gradcheck.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import softmax as scipy_softmax

import gradc
from tests.gradcheck import as_grad_list, assert_fd_close, central_diff_grad
from tests.test_performance_rewrites import function_text

RNG = np.random.default_rng(231)

CS231N = """
@wrt(W)
def loss(W: Matrix[D, C], X: Matrix[N, D], y: Index[N], reg: Scalar) -> Scalar:
    scores = X @ W
    shifted = scores - max(scores, axis=1, keepdims=True)
    exp_scores = exp(shifted)
    probs = exp_scores / sum(exp_scores, axis=1, keepdims=True)
    return -mean(log(probs[arange(N), y])) + 0.5 * reg * sum(W * W)
"""


def cs231n_args(n=6, d=5, c=4, scale=1.0):
    W = scale * RNG.standard_normal((d, c))
    X = RNG.standard_normal((n, d))
    return [W, X, RNG.integers(0, c, n), 0.1]


def cs231n_numpy(W, X, y, reg):
    """The loss as CS231n's notes compute it, with SciPy's log_softmax for the log."""
    logp = scipy_log_softmax(X @ W, axis=1)
    return -logp[np.arange(len(y)), y].mean() + 0.5 * reg * np.sum(W * W)


def fired(fn) -> set[str]:
    """The names of the rewrites that fired lowering ``fn``."""
    return {name for name, _ in fn.rewrites}


def check(mod, name, args, wrt):
    f = getattr(mod, name)
    value, grads = getattr(mod, f"{name}_value_and_grad")(*args)
    numeric = central_diff_grad(f, args, wrt)
    assert_fd_close(as_grad_list(grads, len(wrt)), numeric, scale=abs(value))
    return value


def test_cs231n_softmax_is_the_log_softmax_of_the_scores():
    # no division by the picked probabilities, no zeros array, no max adjoint
    fn = gradc.lower_source(CS231N)[0]
    assert {"softmax_from_exp", "softmax_of_shifted", "log_softmax_picked"} <= fired(fn)
    vg = function_text(gradc.compile_source(CS231N), "loss_value_and_grad")
    assert "np.zeros(" not in vg and "scores ==" not in vg, vg
    assert vg.count("np.exp(") == 1 and vg.count("_max_shift(scores") == 1, vg
    assert "d_scores[np.arange(N), y] += -1.0 / N" in vg, vg


def test_cs231n_softmax_values_and_gradients():
    mod = gradc.load_source(CS231N)
    for scale in (1.0, 30.0):
        args = cs231n_args(scale=scale)
        value = check(mod, "loss", args, [0])
        assert value == pytest.approx(cs231n_numpy(*args), rel=1e-12)


def test_cs231n_softmax_at_scores_far_apart():
    # an entry 1000 below its row's largest: exp underflows to 0 and the formula as
    # written takes log(0); log_softmax is finite, as SciPy's
    mod = gradc.load_source(CS231N)
    W, X, y, reg = cs231n_args()
    X[0] = 0.0
    X[0, 0] = 1.0
    W[0] = [0.0, 1000.0, -1000.0, 2.0]
    y[0] = 2
    value, grad = mod.loss_value_and_grad(W, X, y, reg)
    assert value == pytest.approx(cs231n_numpy(W, X, y, reg), rel=1e-12)
    assert np.all(np.isfinite(grad))


UNSHIFTED = """
def f(S: Matrix[n, c], Y: Matrix[n, c]) -> Scalar:
    P = exp(S) / sum(exp(S), axis=1, keepdims=True)
    return -sum(Y * log(P)) / n
"""


def test_unshifted_softmax_is_finite_where_exp_overflows():
    mod = gradc.load_source(UNSHIFTED)
    S = RNG.standard_normal((3, 4))
    Y = RNG.random((3, 4))
    for shift in (0.0, 1000.0, -1000.0):
        value, (dS, dY) = mod.f_value_and_grad(S + shift, Y)
        want = -np.sum(Y * scipy_log_softmax(S, axis=1)) / 3
        assert value == pytest.approx(want, rel=1e-11)
        soft = scipy_softmax(S, axis=1)
        want_dS = (soft * Y.sum(axis=1, keepdims=True) - Y) / 3
        np.testing.assert_allclose(dS, want_dS, rtol=1e-10, atol=1e-15)
    check(mod, "f", [S, Y], [0, 1])


@pytest.mark.parametrize(
    "text, axis",
    [
        ("exp(x) / sum(exp(x), axis=1, keepdims=True)", 1),
        ("exp(x) / sum(exp(x), axis=-1, keepdims=True)", 1),
        ("exp(x) / sum(exp(x), axis=0, keepdims=True)", 0),
        ("exp(x) / sum(exp(x), axis=0)", 0),  # the leading axis's sum broadcasts back
        ("exp(x - max(x, axis=0, keepdims=True)) / sum(exp(x - max(x, axis=0, "
         "keepdims=True)), axis=0, keepdims=True)", 0),
    ],
)  # fmt: skip
def test_every_axis_form_is_the_softmax_along_it(text, axis):
    source = f"def f(x: Matrix[m, k], t: Matrix[m, k]) -> Scalar:\n    return sum({text} * t)\n"
    fn = gradc.lower_source(source)[0]
    assert "softmax_from_exp" in fired(fn)
    mod = gradc.load_source(source)
    x, t = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    assert mod.f(x, t) == pytest.approx(
        np.sum(scipy_softmax(x, axis=axis) * t), rel=1e-12
    )
    check(mod, "f", [x, t], [0, 1])
    # at large values, finite (the formula as written is inf / inf unshifted)
    assert np.isfinite(mod.f(x + 800.0, t))


def test_shifted_softmax_is_the_softmax_bit_for_bit():
    hand = gradc.load_source(
        "def f(x: Matrix[m, k]) -> Matrix[m, k]:\n"
        "    ex = exp(x - max(x, axis=1, keepdims=True))\n"
        "    return ex / sum(ex, axis=1, keepdims=True)\n"
    )
    plain = gradc.load_source(
        "def f(x: Matrix[m, k]) -> Matrix[m, k]:\n    return softmax(x, axis=1)\n"
    )
    x = RNG.standard_normal((5, 7)) * 50
    assert np.array_equal(hand.f(x), plain.f(x))


@pytest.mark.parametrize(
    "text",
    [
        # a square matrix over its row sums without keepdims: column j over row j's sum
        "exp(x) / sum(exp(x), axis=1)",
        # the sum over every entry: one normalisation, not one per row
        "exp(x) / sum(exp(x))",
        # a different array's exp on top
        "exp(x) / sum(exp(t), axis=1, keepdims=True)",
    ],
)
def test_not_a_softmax_along_one_axis_stays_as_written(text):
    source = f"def f(x: Matrix[m, m], t: Matrix[m, m]) -> Scalar:\n    return sum({text} * t)\n"
    fn = gradc.lower_source(source)[0]
    assert "softmax_from_exp" not in fired(fn)
    mod = gradc.load_source(source)
    x, t = RNG.standard_normal((4, 4)), RNG.standard_normal((4, 4))
    e = np.exp(x)
    want = {
        "exp(x) / sum(exp(x), axis=1)": e / e.sum(axis=1),
        "exp(x) / sum(exp(x))": e / e.sum(),
        "exp(x) / sum(exp(t), axis=1, keepdims=True)": e
        / np.exp(t).sum(axis=1, keepdims=True),
    }[text]
    assert mod.f(x, t) == pytest.approx(np.sum(want * t), rel=1e-12)
    check(mod, "f", [x, t], [0, 1])


def test_a_vector_softmax_summed_over_everything():
    source = "def f(x: Vector[n], t: Vector[n]) -> Scalar:\n    return sum(log(exp(x) / sum(exp(x))) * t)\n"
    fn = gradc.lower_source(source)[0]
    assert {"softmax_from_exp", "log_softmax_rule"} <= fired(fn)
    mod = gradc.load_source(source)
    x, t = RNG.standard_normal(5), RNG.standard_normal(5)
    for shift in (0.0, 2000.0):
        assert mod.f(x + shift, t) == pytest.approx(
            np.sum(scipy_log_softmax(x) * t), rel=1e-12
        )
    check(mod, "f", [x, t], [0, 1])
