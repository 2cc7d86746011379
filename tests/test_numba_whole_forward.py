"""--target numba's whole-function kernels for forward mode and second derivatives
(issue 21): ``f_jvp`` and ``f_hvp`` run their whole bodies as one ``@numba.njit``
function (``_f_jvp_kernel``, ``_f_hvp_kernel``) after the input checks, on small inputs,
where ``f_value_and_grad`` does; they give the NumPy target's results (1e-12) and
central differences' (of ``f`` and of ``f_grad``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_jvp
from numba_cases import ROOT, as_tuple, cache_dir, close, functions, needs_numba, point

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

FILES = sorted((ROOT / "bench" / "cases").glob("*.grad")) + sorted(
    (ROOT / "examples").glob("*.grad")
)


@functools.cache
def text(path: Path, target: str = "numba") -> str:
    return compile_source(
        path.read_text(),
        filename=path.relative_to(ROOT).as_posix(),
        target=target,
        jvp=True,
        hvp=True,
    )


@functools.cache
def load(path: Path, target: str):
    """The module of ``path`` on ``target`` with ``--jvp --hvp``, once a session."""
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        name = path.relative_to(ROOT).as_posix()
        return load_source(
            path.read_text(), filename=name, target=target, jvp=True, hvp=True
        )


def kernel(name: str, kind: str) -> str:
    return f"_{name}_{kind}_kernel"


WHOLE = [
    (path, name, params)
    for path in FILES
    for name, params in functions(path)
    if f"def {kernel(name, 'value_and_grad')}(" in text(path)
]
IDS = [f"{path.stem}.{name}" for path, name, _ in WHOLE]


#: (case, kind) whose body is one kernel already, so it gets no whole kernel: ridge's
#: f_hvp is X.dot(v_w).dot(X), two BLAS calls, and one elementwise kernel
ONE_KERNEL = {("ridge", "hvp")}
ONE_KERNEL_NOTE = "# numba: no whole-function kernel: the body is one kernel already"


def test_jvp_and_hvp_kernels_where_value_and_grad_has_one():
    for path, name, _ in WHOLE:
        out = text(path)
        for kind in ("jvp", "hvp"):
            has = f"def {kernel(name, kind)}(" in out
            assert has == ((name, kind) not in ONE_KERNEL), (name, kind)
            if not has:
                body = out.split(f"\ndef {name}_{kind}(")[1].split("\ndef ")[0]
                assert ONE_KERNEL_NOTE in body, body
    assert len(WHOLE) == 21


def tangents(params, seed: int) -> list:
    """One tangent per differentiated input, of its shape (floats for Scalars)."""
    x = point([p for p in params if p[2]], seed + 10)
    return [float(t) if isinstance(t, float) else t for t in x]


def spy(module, name: str, monkeypatch) -> list:
    calls = []
    inner = getattr(module, name)

    def counted(*args):
        calls.append(args)
        return inner(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize(("path", "name", "params"), WHOLE, ids=IDS)
def test_jvp_and_hvp_kernels_equal_the_numpy_target(path, name, params, monkeypatch):
    ref, m = load(path, "numpy"), load(path, "numba")
    jvps = spy(m, kernel(name, "jvp"), monkeypatch)
    hvps = (
        [] if (name, "hvp") in ONE_KERNEL else spy(m, kernel(name, "hvp"), monkeypatch)
    )
    for seed in (0, 1):
        x, t = point(params, seed), tangents(params, seed)
        want_v, want_t = getattr(ref, f"{name}_jvp")(*x, *t)
        v, dv = getattr(m, f"{name}_jvp")(*x, *t)
        close(v, want_v)
        close(dv, want_t)
        want = as_tuple(getattr(ref, f"{name}_hvp")(*x, *t))
        got = as_tuple(getattr(m, f"{name}_hvp")(*x, *t))
        for a, b in zip(got, want, strict=True):
            close(a, b)
            assert isinstance(a, float) or a.dtype == np.float64
            for arg in x + t:
                assert not np.shares_memory(a, arg)  # results own their memory
    assert len(jvps) == 2
    assert len(hvps) == (0 if (name, "hvp") in ONE_KERNEL else 2)


@pytest.mark.parametrize(("path", "name", "params"), WHOLE, ids=IDS)
def test_jvp_and_hvp_kernels_against_finite_differences(path, name, params):
    m = load(path, "numba")
    wrt = [k for k, p in enumerate(params) if p[2]]
    x, t = point(params, 2), tangents(params, 2)
    f = getattr(m, name)
    v, dv = getattr(m, f"{name}_jvp")(*x, *t)
    assert_fd_close([dv], [central_diff_jvp(f, x, wrt, t)], scale=v)

    def grad(*a):
        return np.concatenate(
            [np.ravel(g) for g in as_tuple(getattr(m, f"{name}_grad")(*a))]
        )

    hv = np.concatenate(
        [np.ravel(g) for g in as_tuple(getattr(m, f"{name}_hvp")(*x, *t))]
    )
    assert_fd_close([hv], [central_diff_jvp(grad, x, wrt, t)], scale=v)


def test_the_jvp_kernel_and_its_call_as_emitted():
    """logistic_loss: the tangents are the kernel's arguments too, and the product with
    a tangent asks for its layout."""
    out = text(ROOT / "examples" / "logistic.grad")
    call = """\
    # small inputs: the whole body as one numba function; else the code below
    if (
        n * d <= 4096
        and n <= 512
        and X.flags.c_contiguous
        and w.flags.c_contiguous
        and t_w.flags.c_contiguous
    ):
        return _logistic_loss_jvp_kernel(w, b, X, y, lam, t_w, t_b, n)
    # line 14: p = sigmoid(X @ w + b)
"""
    assert call in out
    body = """\
@numba.njit(cache=True, error_model="numpy")
def _logistic_loss_jvp_kernel(w, b, X, y, lam, t_w, t_b, n):
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
    # line 14: p = sigmoid(X @ w + b)
    t_p = p * data_t3 * (X.dot(t_w) + t_b)
    # line 15: data = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS))
    data_t5 = np.sum(t_p * (y / data_t1 - data_t2 / (1.000000000001 - p))) / n
    t_data = -data_t5
    # line 16: return data + lam * sum(w ** 2)
    t_out = t_data + np.sum(t_w * (2.0 * w)) * lam
    return out, t_out
"""
    assert body in out


def test_a_strided_tangent_takes_the_statements():
    """A tangent that is a view with strides fails the layout test: the NumPy
    statements run (the same results), not numba's copying ``np.dot``."""
    path = ROOT / "examples" / "logistic.grad"
    ref, m = load(path, "numpy"), load(path, "numba")
    rng = np.random.default_rng(3)
    w, X, y = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.random(5)
    t_w = rng.standard_normal(6)[::2]
    want = ref.logistic_loss_jvp(w, 0.1, X, y, 0.2, t_w, 0.3)
    got = m.logistic_loss_jvp(w, 0.1, X, y, 0.2, t_w, 0.3)
    close(got[0], want[0])
    close(got[1], want[1])
