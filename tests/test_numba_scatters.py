"""--target numba: an adjoint made only of parts scattered by step-1 slices (``d_x =
zeros; d_x[:-1] = a; d_x[1:] += b``) is written by the kernel computing the parts
(``backend/numba_scatters``): ``d_x[i0] += v``, ``d_x[i0 + 1] += w`` in its loop, ``d_x``
allocated with ``np.zeros`` by the caller; and a scalar computed from a run's sums
(``100 * total``) is computed after the kernel's call, so the sum does not end the run
(``KernelEmitter.deferrable``). Values and gradients equal the NumPy target's on the
statements' path (the kernel spied on) and central differences'; chains a kernel holds
only part of, steps other than 1 and runs under the libm size test keep the statements."""

from __future__ import annotations

import functools
import os
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad
from numba_cases import ROOT, close, needs_numba
from test_numba_whole_forward import cache_dir, spy

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ROSENBROCK = (ROOT / "bench" / "cases" / "rosenbrock.grad").read_text()

# name -> (source, shapes of the inputs (n: the size), the scatter lines the kernel has)
FORMULAS = {
    "stencil": (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    return sum(exp(x[2:] - 2 * x[1:-1] + x[:-2]) * x[1:-1])\n",
        lambda n: [(n,)],
        ["d_x[i0 + 2] += ", "d_x[i0 + 1] += ", "d_x[i0] += "],
    ),
    "lone": (
        "def f(x: Vector[n]) -> Scalar:\n    return sum(exp(x[1:]) * 2 + x[1:] ** 3)\n",
        lambda n: [(n,)],
        ["d_x[i0 + 1] += "],
    ),
    "corner": (
        "def f(X: Matrix[n, m]) -> Scalar:\n"
        "    return sum(sigmoid(X[-2:, 1:]) * X[:2, :-1])\n",
        lambda n: [(n, n // 2)],
        ["d_X[i0 + d_X.shape[0] - 2, i1 + 1] += ", "d_X[i0, i1] += "],
    ),
    "shifted": (
        "def f(X: Matrix[n, m], w: Scalar) -> Scalar:\n"
        "    return sum(tanh(w * X[1:, :-1] - X[:-1, 1:]) ** 2)\n",
        lambda n: [(n, n // 2), ()],
        ["d_X[i0 + 1, i1] += ", "d_X[i0, i1 + 1] += "],
    ),
    # not fused: a part that is no scatter, a step of 2, a libm call (sin: size test)
    "mixed": (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    return sum(x * x) + sum(exp(x[1:]) * x[:-1])\n",
        lambda n: [(n,)],
        [],
    ),
    "strided": (
        "def f(x: Vector[n]) -> Scalar:\n    return sum(exp(x[::2]) * 3 + x[::2] ** 3)\n",
        lambda n: [(n,)],
        [],
    ),
    "libm": (
        "def f(x: Vector[n]) -> Scalar:\n    return sum(sin(x[1:]) * x[:-1] + x[1:])\n",
        lambda n: [(n,)],
        [],
    ),
}


@functools.cache
def module(source: str, target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(source, target=target)


def inputs(name: str, n: int, seed: int) -> list:
    """Inputs of formula ``name``: vectors of ``n``, matrices of about ``n`` elements."""
    shapes = FORMULAS[name][1]
    if len(shapes(4)[0]) == 2:
        n = max(6, int(np.sqrt(2 * n)))
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s) if s else 0.7 for s in shapes(n)]


def as_tuple(g) -> tuple:
    return g if isinstance(g, tuple) else (g,)


def vg_body(text: str, name: str = "f") -> str:
    return text.split(f"def {name}_value_and_grad(")[1].split("\n\n\n")[0]


def kernel_text(text: str, name: str) -> str:
    return text.split(f"def {name}(")[1].split("\n\n\n")[0]


def test_rosenbrock_is_one_kernel_writing_the_gradient():
    text = compile_source(ROSENBROCK, target="numba")
    body = vg_body(text, "rosenbrock")
    assert "_rosenbrock_value_and_grad_k2" not in text
    # one kernel besides views and zeros: no whole kernel (numba_whole.CHEAP)
    assert "# numba: no whole-function kernel: the body is one kernel already" in body
    assert "_rosenbrock_value_and_grad_kernel" not in text
    # the caller allocates d_x; the kernel adds both parts at their offsets
    lines = [ln.strip() for ln in body.splitlines()]
    call = "out_t3, out_t4 = _rosenbrock_value_and_grad_k1(out_t1, out_t2, d_x)"
    assert lines[lines.index("d_x = np.zeros((n,))") + 1] == call
    assert "out = 100.0 * out_t3 + out_t4" in lines[lines.index(call) + 1 :]
    assert "d_x[:-1]" not in body and "d_x[1:]" not in body
    kernel = kernel_text(text, "_rosenbrock_value_and_grad_k1")
    assert "d_x[i0] += v_8" in kernel and "d_x[i0 + 1] += v_9" in kernel
    assert "np.empty" not in kernel  # no array of its own: two sums and d_x
    # both notes of the fused adds stay over the call
    assert body.count("# fused add: d/d(x[") == 2


@pytest.mark.parametrize("n", [1500, 20000])
def test_rosenbrock_equals_the_numpy_target(n, monkeypatch):
    ref, m = module(ROSENBROCK, "numpy"), module(ROSENBROCK, "numba")
    calls = spy(m, "_rosenbrock_value_and_grad_k1", monkeypatch)
    backward = spy(m, "_rosenbrock_backward_k1", monkeypatch)
    x = np.random.default_rng(n).uniform(-2, 2, n)
    v, g = m.rosenbrock_value_and_grad(x)
    want_v, want_g = ref.rosenbrock_value_and_grad(x)
    assert len(calls) == 1
    close(v, want_v)
    close(g, want_g)
    value, cache = m.rosenbrock_forward(x)
    close(m.rosenbrock_backward(1.0, cache), want_g)
    close(m.rosenbrock_backward(-2.5, cache), -2.5 * want_g)
    assert len(backward) == 2
    if n == 1500:
        assert_fd_close([g], central_diff_grad(m.rosenbrock, [x], [0]), scale=v)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_the_kernel_scatters_or_says_why_not(name):
    source, _, lines = FORMULAS[name]
    text = compile_source(source, target="numba")
    body = vg_body(text)
    kernels = [kernel_text(text, k) for k in ("_f_value_and_grad_k1",) if k in text]
    for line in lines:
        assert any(line in k for k in kernels), line
    if lines:
        target = lines[0].split("[")[0]
        assert f"{target} = np.zeros(" in body
        assert f"{target}[1:]" not in body and f"{target}[:-1]" not in body
    else:
        assert not any("] += v" in k for k in kernels)


@pytest.mark.parametrize("name", sorted(FORMULAS))
@pytest.mark.parametrize("n", [6, 20000])
def test_values_and_gradients_equal_the_numpy_target(name, n, monkeypatch):
    source, _, lines = FORMULAS[name]
    ref, m = module(source, "numpy"), module(source, "numba")
    calls = spy(m, "_f_value_and_grad_k1", monkeypatch) if lines else []
    x = inputs(name, n, seed=n)
    v, g = m.f_value_and_grad(*x)
    want_v, want_g = ref.f_value_and_grad(*x)
    close(v, want_v)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        close(got, want)
    if lines and n == 20000:
        assert calls  # the statements' path: the kernel that scatters ran
    _, cache = m.f_forward(*x)
    back = m.f_backward(0.5, cache)
    for got, want in zip(as_tuple(back), as_tuple(want_g), strict=True):
        close(got, 0.5 * np.asarray(want))


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_gradients_against_finite_differences(name):
    source, shapes, _ = FORMULAS[name]
    m = module(source, "numba")
    x = inputs(name, 2000, seed=5)
    v, g = m.f_value_and_grad(*x)
    wrt = [k for k, s in enumerate(shapes(4)) if s]
    fd = central_diff_grad(m.f, x, wrt)
    assert_fd_close(as_tuple(g)[: len(wrt)], fd, scale=v)
