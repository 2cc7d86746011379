"""--target numba's whole-function kernels with a max or min over an axis of a matrix
(issue 21): ``_max_rows``, ``_max_cols``, ``_min_rows``, ``_min_cols`` (jitted helpers;
numba's ``max`` takes no axis), so such functions (the softmax example's stability
shift) are one kernel on small inputs; their values and gradients (ties shared, as the
NumPy target's) equal the NumPy target's and central differences'."""

from __future__ import annotations

import functools
import os
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad
from numba_cases import ROOT, close, needs_numba
from test_numba_whole_forward import cache_dir, spy, text

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SOURCE = """\
def f(X: Matrix[n, m], w: Vector[n], v: Vector[m]) -> Scalar:
    a = sum(max(X, axis=1) * w) + sum(min(X, axis=0) * v)
    b = sum(max(X * X, axis=0, keepdims=True) * X)
    return a + b + sum(min(X, axis=1, keepdims=True) * X)
"""


@functools.cache
def module(target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(SOURCE, target=target, jvp=True, hvp=True)


def test_the_reductions_as_emitted():
    out = compile_source(SOURCE, target="numba")
    kernel = out.split("def _f_value_and_grad_kernel(")[1]
    for line in [
        "    a_t1 = _max_rows(X)\n",
        "    a_t2 = _min_cols(X)\n",
        "    b_t2 = _max_cols(b_t1)[None]\n",
        "    out_t1 = _min_rows(X)[:, None]\n",
        # the sum's adjoint times the min's column: a broadcast in numba too
        "    out_t3 = np.broadcast_to(out_t1, (n, m))\n",
    ]:
        assert line in kernel, line
    helper = '''\
@numba.njit(cache=True, error_model="numpy")
def _max_rows(x):
    """x.max(axis=1) of a matrix (nan where a row holds nan, as NumPy's)."""
'''
    assert helper in out


def test_the_softmax_example_is_one_kernel():
    out = text(ROOT / "examples" / "softmax.grad")
    kernel = out.split("def _softmax_loss_value_and_grad_kernel(")[1]
    assert "    scores_t1 = _max_rows(scores)[:, None]\n" in kernel
    assert "def _softmax_loss_forward_kernel(" in out
    assert "def _softmax_loss_jvp_kernel(" in out


def points(seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 4))
    if ties:  # a tie in a row and in a column
        X[1, 2] = X[1, 0] = X[1].max() + 1.0
        X[3, 3] = X[0, 3] = X[:, 3].min() - 1.0
    return [X, rng.standard_normal(5), rng.standard_normal(4)]


@pytest.mark.parametrize("ties", [False, True])
def test_values_and_gradients_equal_the_numpy_target(ties, monkeypatch):
    ref, m = module("numpy"), module("numba")
    calls = {
        k: spy(m, f"_f_{k}_kernel", monkeypatch)
        for k in ["value_and_grad", "jvp", "hvp", "forward", "backward"]
    }
    for seed in (0, 1):
        x = points(seed, ties)
        t = points(seed + 5, False)
        v, g = m.f_value_and_grad(*x)
        want_v, want_g = ref.f_value_and_grad(*x)
        close(v, want_v)
        for got, want in zip(g, want_g, strict=True):
            close(got, want)
        for got, want in zip(m.f_jvp(*x, *t), ref.f_jvp(*x, *t), strict=True):
            close(got, want)
        for got, want in zip(m.f_hvp(*x, *t), ref.f_hvp(*x, *t), strict=True):
            close(got, want)
        value, cache = m.f_forward(*x)
        close(value, want_v)
        for got, want in zip(m.f_backward(1.0, cache), want_g, strict=True):
            close(got, want)
    assert all(len(c) == 2 for c in calls.values())


def test_gradients_against_finite_differences():
    m = module("numba")
    x = points(3, False)
    v, g = m.f_value_and_grad(*x)
    assert_fd_close(g, central_diff_grad(m.f, x, [0, 1, 2]), scale=v)


def test_nan_propagates_as_in_numpy():
    m = module("numba")
    x = points(4, False)
    x[0][2, 1] = np.nan
    assert np.isnan(m.f(*x))
    helpers = [m._max_rows, m._max_cols, m._min_rows, m._min_cols]
    methods = [(np.max, 1), (np.max, 0), (np.min, 1), (np.min, 0)]
    for helper, (reduce, axis) in zip(helpers, methods, strict=True):
        for X in [x[0], points(5, True)[0]]:
            np.testing.assert_array_equal(helper(X), reduce(X, axis=axis))
