"""--target numba's whole-function kernels of ``f_forward`` and ``f_backward`` (issue
21): where ``f_value_and_grad`` has one, ``f_forward`` runs as ``_f_forward_kernel``
(the value and the cache, the tuple its statements pack) and ``f_backward`` as
``_f_backward_kernel`` on small inputs; they give the NumPy target's value and
gradients (1e-12) and central differences'."""

from __future__ import annotations

import functools
import os
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad
from numba_cases import ROOT, as_tuple, close, needs_numba, point
from test_numba_whole_forward import IDS, WHOLE, cache_dir, kernel, load, spy, text

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@functools.cache
def load_text(source: str, target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(source, target=target)


def test_forward_and_backward_kernels_where_value_and_grad_has_one():
    for path, name, _ in WHOLE:
        out = text(path)
        assert f"def {kernel(name, 'forward')}(" in out, name
        assert f"def {kernel(name, 'backward')}(" in out, name


# What the NumPy target's f_forward caches beyond the numba target's, from rewrites of
# the NumPy phase only: GMM's folded diagonal (rewrite/diagonal.py), two magnitudes its
# guard reads; a softplus and a sigmoid sharing exp(-|z|) (passes/late.py), that exp.
NUMPY_ONLY_CACHE = {
    "gmm": 2,
    "logreg_softplus": 1,
    "logreg_user": 1,
    "logistic_newton": 1,
}


@pytest.mark.parametrize(("path", "name", "params"), WHOLE, ids=IDS)
def test_forward_and_backward_kernels_equal_the_numpy_target(
    path, name, params, monkeypatch
):
    ref, m = load(path, "numpy"), load(path, "numba")
    forwards = spy(m, kernel(name, "forward"), monkeypatch)
    backwards = spy(m, kernel(name, "backward"), monkeypatch)
    for seed in (0, 1):
        x = point(params, seed)
        want_v, want_cache = getattr(ref, f"{name}_forward")(*x)
        v, cache = getattr(m, f"{name}_forward")(*x)
        close(v, want_v)
        if name in NUMPY_ONLY_CACHE:
            assert len(cache) + NUMPY_ONLY_CACHE[name] == len(want_cache)
        else:
            assert len(cache) == len(want_cache)
            for got, want in zip(cache, want_cache, strict=True):
                close(got, want)
        want_g = getattr(ref, f"{name}_backward")(0.7, want_cache)
        g = getattr(m, f"{name}_backward")(0.7, cache)
        for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
            close(got, want)
            assert isinstance(got, float) or got.dtype == np.float64
            for a in [*x, *cache]:
                assert not np.shares_memory(got, a)  # results own their memory
    assert len(forwards) == len(backwards) == 2


@pytest.mark.parametrize(("path", "name", "params"), WHOLE, ids=IDS)
def test_backward_kernel_against_finite_differences(path, name, params):
    m = load(path, "numba")
    wrt = [k for k, p in enumerate(params) if p[2]]
    x = point(params, 2)
    v, cache = getattr(m, f"{name}_forward")(*x)
    g = as_tuple(getattr(m, f"{name}_backward")(1.0, cache))
    assert_fd_close(g, central_diff_grad(getattr(m, name), x, wrt), scale=v)


def test_the_forward_and_backward_kernels_as_emitted():
    """logistic_loss: the forward kernel returns the cache its statements pack; the
    backward reads ``d``, which the cache does not hold, off the cached ``w``."""
    out = text(ROOT / "examples" / "logistic.grad")
    forward = """\
@numba.njit(cache=True, error_model="numpy")
def _logistic_loss_forward_kernel(w, b, X, y, lam, n):
    # line 14: p = sigmoid(X @ w + b)
    p = 1.0 / (1.0 + np.exp(-(X.dot(w) + b)))
    # line 15: data = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS))
    data_t1 = p + 1e-12
    data_t2 = 1.0 - y
    data_t3 = 1.0 - p
    data_t4 = (y * np.log(data_t1) + data_t2 * np.log(data_t3 + 1e-12)).sum() / n
    data = -data_t4
    # line 16: return data + lam * sum(w ** 2)
    out = data + lam * np.sum(w * w)
    return out, (w, X, y, lam, p, data_t1, data_t2, data_t3, n)
"""
    assert forward in out
    call = """\
        raise _empty_error("logistic_loss", "X", X.shape, "n")
    # small inputs: the whole body as one numba function; else the code below
    if n * d <= 4096 and n <= 512 and X.flags.c_contiguous and w.flags.c_contiguous:
        return _logistic_loss_forward_kernel(w, b, X, y, lam, n)
    # line 14: p = sigmoid(X @ w + b)
    p_t1 = X.dot(w)
"""
    assert call in out
    backward = """\
@numba.njit(cache=True, error_model="numpy")
def _logistic_loss_backward_kernel(
    d_out, w, X, y, lam, p, data_t1, data_t2, data_t3, n
):
    # line 16: return data + lam * sum(w ** 2)
    d_w = d_out * lam * (2.0 * w)
    # line 15: data = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS))
    data_g1 = d_out / n * (y / data_t1 - data_t2 / (1.000000000001 - p))
    # line 14: p = sigmoid(X @ w + b)
    # fused sigmoid: local gradients share p*(1 - p)
    p_g1 = data_g1 * p * data_t3
    d_b = -p_g1.sum()
    d_w -= p_g1.dot(X)
    return d_w, d_b
"""
    assert backward in out
    call = """\
    w, X, y, lam, p, data_t1, data_t2, data_t3, n = cache
    if not isinstance(d_out, float):
        d_out = _scalar(d_out, "logistic_loss_backward", "d_out")
    d = w.shape[0]
    # small inputs: the whole body as one numba function; else the code below
    if n * d <= 4096 and X.flags.c_contiguous:
        return _logistic_loss_backward_kernel(
            d_out, w, X, y, lam, p, data_t1, data_t2, data_t3, n
        )
    # line 16: return data + lam * sum(w ** 2)
"""
    assert call in out


def test_no_whole_kernel_where_every_input_is_a_scalar():
    """A backward of scalars alone (its forward keeps ``clip``, which has no numba
    spelling): no size to test, no kernel (the language oracle's seed 57)."""
    source = """\
def f(x1: Scalar, x2: Scalar) -> Scalar:
    t = where(x2 > 0, x1, clip(x2, -0.5, 0.75))
    return sin(t) * t
"""
    out = compile_source(source, target="numba")
    note = "    # numba: no whole-function kernel: every input is a scalar\n"
    assert note in out.split("def f_backward(")[1]
    assert "_kernel(" not in out


RENAMED = """\
def f(W: Matrix[n, m], math: Vector[m]) -> Scalar:
    h = W @ math
    return sum(tanh(h) * h) + sum(math * math)
"""


def test_a_parameter_named_like_a_module_is_passed_once_renamed():
    """``math`` is the parameter's own name in the signature (``math_`` inside): the
    kernels' calls pass it as ``math``, not as the module's alias ``_math`` (the
    language oracle's seed 129), and the results are the NumPy target's."""
    out = compile_source(RENAMED, target="numba")
    assert "return _f_forward_kernel(W, math)\n" in out
    assert "return _f_value_and_grad_kernel(W, math)\n" in out
    ref = load_text(RENAMED, "numpy")
    m = load_text(RENAMED, "numba")
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    want_v, want_g = ref.f_value_and_grad(*x)
    v, g = m.f_value_and_grad(*x)
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)
    value, cache = m.f_forward(*x)
    close(value, want_v)
    for got, want in zip(m.f_backward(1.0, cache), want_g, strict=True):
        close(got, want)
