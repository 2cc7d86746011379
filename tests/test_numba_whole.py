"""--target numba's whole-function kernels (issue 21): where every node has a numba
spelling, ``f_value_and_grad`` runs its whole body as one ``@numba.njit`` function
``_f_value_and_grad_kernel`` after the input checks, on small inputs; it gives the NumPy
target's value and gradients (1e-12), its results own their memory, wrong inputs still
raise naming the parameter, and where a node has no numba spelling the module says so
and keeps the statements."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from numba_cases import ROOT, as_tuple, cache_dir, close, functions, needs_numba, point

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

FILES = sorted((ROOT / "bench" / "cases").glob("*.grad")) + sorted(
    (ROOT / "examples").glob("*.grad")
)


@functools.cache
def text(path: Path, target: str = "numba") -> str:
    return compile_source(
        path.read_text(), filename=path.relative_to(ROOT).as_posix(), target=target
    )


@functools.cache
def load(path: Path, target: str):
    """The module of ``path`` on ``target``, once per test session (numba compiles)."""
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        name = path.relative_to(ROOT).as_posix()
        return load_source(path.read_text(), filename=name, target=target)


@functools.cache
def load_text(source: str, target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(source, target=target)


def kernel(name: str) -> str:
    return f"_{name}_value_and_grad_kernel"


WHOLE = [
    (path, name, params)
    for path in FILES
    for name, params in functions(path)
    if f"def {kernel(name)}(" in text(path)
]
WHOLE_IDS = [f"{path.stem}.{name}" for path, name, _ in WHOLE]


def test_the_cases_with_a_whole_kernel():
    """Every bench case and example without loops or convolutions, but those whose body
    is one kernel at every size (the elementwise chain and swish: their exp, tanh, log1p
    and sigmoid are vectorisable, backend/numba_vector_math; Rosenbrock: one kernel
    scattering into d_x, backend/numba_scatters, besides two views and the zeros)."""
    assert WHOLE_IDS == [
        "attention.attention",
        "batchnorm.batchnorm",
        "gmm.gmm",
        "layernorm.layernorm",
        "logreg.logreg",
        "logreg_softplus.logreg_softplus",
        "logreg_user.logreg_user",
        "mse.mse",
        "norm_sq.norm_sq",
        "ridge.ridge",
        "softmax_hand.softmax_hand",
        "softmax_loss.softmax_loss",
        "softmax_lse.softmax_lse",
        "softmax_probs.softmax_probs",
        "two_layer.two_layer",
        "lecture.sq_norm",
        "logistic.logistic_loss",
        "logistic.logistic_newton",
        "softmax.softmax_loss",
        "svm.svm_loss",
        "twolayer.twolayer_loss",
    ]


def counted(module, name: str, monkeypatch) -> list:
    """Calls of ``module``'s whole kernel of ``name``, recorded from now on."""
    calls = []
    inner = getattr(module, kernel(name))

    def spy(*args):
        calls.append(args)
        return inner(*args)

    monkeypatch.setattr(module, kernel(name), spy)
    return calls


@pytest.mark.parametrize(("path", "name", "params"), WHOLE, ids=WHOLE_IDS)
def test_whole_kernel_equals_the_numpy_target(path, name, params, monkeypatch):
    ref, m = load(path, "numpy"), load(path, "numba")
    calls = counted(m, name, monkeypatch)
    for seed in (0, 1):
        x = point(params, seed)
        want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
        v, g = getattr(m, f"{name}_value_and_grad")(*x)
        close(v, want_v)
        for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
            close(got, want)
            assert isinstance(got, float) or got.dtype == np.float64
            for a in x:
                assert not np.shares_memory(got, a)  # results own their memory
        for got, want in zip(as_tuple(getattr(m, f"{name}_grad")(*x)), as_tuple(g)):
            close(got, want)
    assert len(calls) == 4  # value_and_grad and grad, two points each


def test_the_kernel_and_its_call_as_emitted():
    """two_layer: the call after the checks, below the sizes, and the kernel's body in
    numba spellings (rows through jitted helpers, the labels' scatter as a loop, the
    bias additions, which broadcast a row, as loops: test_numba_broadcast_loops)."""
    out = text(ROOT / "bench" / "cases" / "two_layer.grad")
    check = """\
    if _outside(y, C):
        raise _index_error("two_layer", "y", y, C)
"""
    assert check in out  # the Index check: one compiled pass, not y.min(), y.max()
    assert "y.min()" not in out
    call = """\
    # small inputs: the whole body as one numba function; else the code below
    if (
        D * H + H * C + N * D <= 4096
        and N <= 1536
        and N * C <= 16384
        and X.flags.c_contiguous
        and W1.flags.c_contiguous
        and W2.flags.c_contiguous
    ):
        return _two_layer_value_and_grad_kernel(W1, b1, W2, b2, X, y, reg, N)
    # line 14: h = relu(X @ W1 + b1)
"""
    assert call in out
    body = """\
@numba.njit(cache=True, error_model="numpy")
def _two_layer_value_and_grad_kernel(W1, b1, W2, b2, X, y, reg, N):
    # line 14: h = relu(X @ W1 + b1)
    h_t1 = X.dot(W1)
    h = _two_layer_value_and_grad_kernel_k1(h_t1, b1)
    # line 15: scores = h @ W2 + b2
    scores_t1 = h.dot(W2)
    scores = _two_layer_value_and_grad_kernel_k2(scores_t1, b2)
    # line 16: logp = log_softmax(scores, axis=1)
    logp_t1 = _max_shift_rows(scores)[:, None]
    logp_t2, logp_t3, logp_t4 = _two_layer_value_and_grad_kernel_k3(scores, logp_t1)
    logp_t5 = np.log(logp_t4)
    logp = _two_layer_value_and_grad_kernel_k4(logp_t2, logp_t5)
    # line 17: loss = -mean(logp[arange(N), y])
    loss = -(_pick(logp, y).sum() / N)
    # line 18: return loss + reg * (sum(W1 * W1) + sum(W2 * W2))
    out = loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    d_W2 = 2.0 * (reg * W2)
    d_W1 = 2.0 * (reg * W1)
    # line 16: logp = log_softmax(scores, axis=1)
    d_scores = logp_t3 * (1.0 / N / logp_t4)
    for k in range(N):
        d_scores[k, y[k]] += -1.0 / N
    # line 15: scores = h @ W2 + b2
    d_b2 = _sum_cols(d_scores)
    d_h = d_scores.dot(W2.T)
    d_W2 += d_scores.T.dot(h).T
    # line 14: h = relu(X @ W1 + b1)
    h_g1 = _select(h > 0.0, d_h, 0.0)
    d_b1 = _sum_cols(h_g1)
    d_W1 += h_g1.T.dot(X).T
    return out, (d_W1, d_b1, d_W2, d_b2)
"""
    assert body in out
    assert '\n@numba.njit(cache=True, error_model="numpy")\ndef _pick(x, y):' in out


def test_no_whole_kernel_where_the_body_is_one_kernel_already():
    out = text(ROOT / "bench" / "cases" / "huber.grad")
    assert "def _huber_value_and_grad_kernel(" not in out
    note = "    # numba: no whole-function kernel: the body is one kernel already\n"
    assert note + "    # line 7:" in out


@pytest.mark.parametrize(
    ("stem", "name", "op"),
    [
        ("convnet", "convnet_loss", "im2col"),
        ("captioning", "captioning_loss", "loop"),
    ],
)
def test_no_whole_kernel_where_an_operation_has_no_numba_spelling(stem, name, op):
    out = text(ROOT / "examples" / f"{stem}.grad")
    assert f"def {kernel(name)}(" not in out
    note = f"    # numba: no whole-function kernel: '{op}' has no numba spelling\n"
    assert note in out.split(f"def {name}_value_and_grad(")[1]


def case(stem: str):
    path = ROOT / "bench" / "cases" / f"{stem}.grad"
    return path, load(path, "numpy"), load(path, "numba")


def test_wrong_inputs_still_raise_naming_the_parameter():
    _, _, m = case("two_layer")
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(4, 5), (5,), (5, 3), (3,)])
    X, y = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="parameter 'X' has shape"):
        m.two_layer_value_and_grad(W1, b1, W2, b2, X[:, :3], y, 0.1)
    with pytest.raises(ValueError, match="parameter 'b2' has shape"):
        m.two_layer_value_and_grad(W1, b1, W2, b1, X, y, 0.1)
    with pytest.raises(ValueError, match="parameter 'y' holds index 3"):
        m.two_layer_value_and_grad(W1, b1, W2, b2, X, y + 1, 0.1)
    with pytest.raises(ValueError, match="parameter 'y' holds index -4"):
        m.two_layer_value_and_grad(W1, b1, W2, b2, X, y - 4, 0.1)
    with pytest.raises(TypeError, match="parameter 'reg' must be numeric"):
        m.two_layer_value_and_grad(W1, b1, W2, b2, X, y, "0.1")


def test_negative_labels_pick_from_the_end(monkeypatch):
    """y = -1 is the last class, as NumPy's indexing (the kernel's loops wrap too)."""
    _, ref, m = case("softmax_loss")
    calls = counted(m, "softmax_loss", monkeypatch)
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((4, 3)), rng.standard_normal((6, 4))
    y = np.array([-1, 0, -3, 2, -2, 1])
    want_v, want_g = ref.softmax_loss_value_and_grad(W, X, y, 0.5)
    v, g = m.softmax_loss_value_and_grad(W, X, y, 0.5)
    close(v, want_v)
    close(g, want_g)
    assert len(calls) == 1


def test_a_gradient_that_is_an_input_is_a_copy():
    source = "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n    return sum(x * y)\n"
    assert "def _f_value_and_grad_kernel(" in compile_source(source, target="numba")
    m = load_text(source, "numba")
    x, y = np.arange(3.0), np.ones(3)
    v, (dx, dy) = m.f_value_and_grad(x, y)
    assert v == 3.0
    assert np.array_equal(dx, y) and np.array_equal(dy, x)
    assert not np.shares_memory(dx, y) and not np.shares_memory(dy, x)


# vectors only, slices scattered into d_d with a part that is no scatter (a whole kernel)
SLICES = (
    "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n"
    "    d = x - y\n"
    "    return sum(d[1:] * d[:-1]) + max(d)\n"
)


def test_above_the_size_limit_the_statements_run(monkeypatch):
    """n = 5000 > 1024 (vectors only): today's code (the small kernels), the same
    results."""
    ref, m = load_text(SLICES, "numpy"), load_text(SLICES, "numba")
    calls = counted(m, "f", monkeypatch)
    x, y = np.random.default_rng(2).standard_normal((2, 5000))
    want_v, want_g = ref.f_value_and_grad(x, y)
    v, g = m.f_value_and_grad(x, y)
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)
    assert calls == []
    v, g = m.f_value_and_grad(x[:100], y[:100])
    assert len(calls) == 1
    want_v, want_g = ref.f_value_and_grad(x[:100], y[:100])
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)


def test_non_contiguous_matrices_run_the_statements(monkeypatch):
    """numba's np.dot warns and copies on strided arrays: those take the statements."""
    _, ref, m = case("norm_sq")
    calls = counted(m, "norm_sq", monkeypatch)
    rng = np.random.default_rng(3)
    W, x = rng.standard_normal((6, 12))[:, ::2], rng.standard_normal(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v, g = m.norm_sq_value_and_grad(W, x)
    want_v, want_g = ref.norm_sq_value_and_grad(W, x)
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)
    assert calls == []


def test_infinite_scores_give_the_numpy_targets_nans():
    """log_softmax's shift: rows holding inf are shifted by 0 (nan where NumPy's is)."""
    _, ref, m = case("softmax_loss")
    rng = np.random.default_rng(4)
    W, X = rng.standard_normal((4, 3)), rng.standard_normal((6, 4))
    X[2, 1] = np.inf
    y = np.array([0, 1, 2, 0, 1, 2])
    with np.errstate(all="ignore"):
        want_v, want_g = ref.softmax_loss_value_and_grad(W, X, y, 0.5)
    v, g = m.softmax_loss_value_and_grad(W, X, y, 0.5)
    np.testing.assert_allclose(v, want_v, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(g, want_g, rtol=1e-12, equal_nan=True)


def test_slices_are_added_into_with_np_add():
    """A scatter through a slice: zeros, then np.add into the slice (numba compiles
    ``d_x[1:] += g`` as a setitem, 3 s on a cold cache; the ufunc in 0.3 s)."""
    out = compile_source(SLICES, target="numba")
    assert """\
    d_d = _select(out_t4, 1.0 / out_t4.sum(), 0.0)
    np.add(d_d[:-1], out_t1, d_d[:-1])
    np.add(d_d[1:], out_t2, d_d[1:])
""" in out.split("def _f_value_and_grad_kernel(")[1]
