"""--target numba's whole-function kernels through ``einsum`` (issue 21): an einsum is a
loop kernel written for its spec (``ops/numba_spelling.einsum_loops``: numba has no
einsum and its ``@`` takes matrices), under a size test on its multiply-adds
(``WORK_LIMIT``, from the record's ``numba_work``); with the sums over several axes,
``_max_shift_all`` (logsumexp of a whole array) and ``np.broadcast_to`` of arrays, the
GMM objective's functions are one kernel each on small inputs. Values and gradients equal the NumPy target's and central
differences'; special values as the NumPy target's."""

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

GMM = (ROOT / "bench" / "cases" / "gmm.grad").read_text()

SPECS = """\
def f(A: Matrix[n, m], B: Matrix[m, k], T: Tensor[b, n, m], U: Tensor[b, m, k],
      v: Vector[m], w: Vector[k]) -> Scalar:
    p = einsum("ij,jk->ik", A, B)
    q = einsum("bij,bjk->bik", T, U)
    r = einsum("ij,j->i", A, v)
    s = einsum("i,j->ij", v, w)
    t = einsum("bij->jb", T)
    u = einsum("ij,jk,k->i", A, B, w)
    return sum(p * p) + sum(q * sin(q)) + sum(r ** 2) + sum(s * s) + sum(t) + sum(u ** 3)
"""


@functools.cache
def module(source: str, target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(source, target=target, jvp=True, hvp=True)


def spec_inputs(seed: int) -> list:
    rng = np.random.default_rng(seed)
    n, m, k, b = 3, 4, 5, 2
    shapes = [(n, m), (m, k), (b, n, m), (b, m, k), (m,), (k,)]
    return [rng.standard_normal(s) for s in shapes]


def gmm_inputs(seed: int, N: int = 40, K: int = 3, D: int = 2) -> list:
    rng = np.random.default_rng(seed)
    L = np.tril(0.3 * rng.standard_normal((K, D, D)), k=-1)
    return [
        rng.standard_normal(K),
        rng.standard_normal((K, D)),
        0.1 * rng.standard_normal((K, D)),
        L,
        rng.standard_normal((N, D)),
        1.0,
        0.5,
    ]


def test_the_einsum_loops_as_emitted():
    out = compile_source(GMM, target="numba")
    kernel = '''\
    """einsum("ijk,mik->mij") as loops."""
    n_i, n_j, n_k = a0.shape
    n_m, _, _ = a1.shape
    out = np.empty((n_m, n_i, n_j))
    for i_m in range(n_m):
        for i_i in range(n_i):
            for i_j in range(n_j):
                total = 0.0
                for i_k in range(n_k):
                    total += a0[i_i, i_j, i_k] * a1[i_m, i_i, i_k]
                out[i_m, i_i, i_j] = total
    return out
'''
    assert kernel in out
    body = out.split("def _gmm_value_and_grad_kernel(")[1].split("\n\n\n")[0]
    for line in [
        "    Lxcentered_t1 = _gmm_value_and_grad_kernel_k2(L, xcentered)\n",
        "    frobenius = _sum_rows(Qdiags**2) + (L**2).sum(axis=2).sum(axis=1)\n",
        "    out_t1 = _max_shift_all(alphas)\n",
        "    sum_qs_g1 = np.broadcast_to(d_sum_qs[:, None], (K, D))\n",
    ]:
        assert line in body, line
    # the size test: the einsums' multiply-adds, and the statements above it
    guard = """\
    if (
        K * D * D <= 4096
        and K * D <= 16384
        and K <= 1536
        and N * K <= 16384
        and N <= 1536
        and K * D * D * N <= 65536
    ):
"""
    assert guard in out.split("def gmm_value_and_grad(")[1]


@pytest.mark.parametrize("seed", [0, 1])
def test_gmm_kernels_equal_the_numpy_target(seed, monkeypatch):
    ref, m = module(GMM, "numpy"), module(GMM, "numba")
    calls = {
        k: spy(m, f"_gmm_{k}_kernel", monkeypatch)
        for k in ["value_and_grad", "forward", "backward", "jvp", "hvp"]
    }
    x = gmm_inputs(seed)
    t = [np.random.default_rng(seed + 7).standard_normal(np.shape(a)) for a in x[:4]]
    v, g = m.gmm_value_and_grad(*x)
    want_v, want_g = ref.gmm_value_and_grad(*x)
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)
    value, cache = m.gmm_forward(*x)
    close(value, want_v)
    for got, want in zip(m.gmm_backward(1.0, cache), want_g, strict=True):
        close(got, want)
    for got, want in zip(m.gmm_jvp(*x, *t), ref.gmm_jvp(*x, *t), strict=True):
        close(got, want)
    for got, want in zip(m.gmm_hvp(*x, *t), ref.gmm_hvp(*x, *t), strict=True):
        close(got, want)
    assert all(len(c) == 1 for c in calls.values()), {
        k: len(c) for k, c in calls.items()
    }


def test_gmm_above_the_einsum_limit_runs_the_statements(monkeypatch):
    # N x K x D x D = 2000 x 3 x 4 x 4 = 96,000 multiply-adds per einsum: the statements
    ref, m = module(GMM, "numpy"), module(GMM, "numba")
    calls = spy(m, "_gmm_value_and_grad_kernel", monkeypatch)
    x = gmm_inputs(2, N=2000, K=3, D=4)
    v, g = m.gmm_value_and_grad(*x)
    want_v, want_g = ref.gmm_value_and_grad(*x)
    assert not calls
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)


def test_gmm_gradients_against_finite_differences():
    m = module(GMM, "numba")
    x = gmm_inputs(3, N=12)
    v, g = m.gmm_value_and_grad(*x)
    assert_fd_close(g, central_diff_grad(m.gmm, x, [0, 1, 2, 3]), scale=v)


@pytest.mark.parametrize("seed", [0, 1])
def test_einsum_specs_equal_the_numpy_target(seed, monkeypatch):
    ref, m = module(SPECS, "numpy"), module(SPECS, "numba")
    calls = spy(m, "_f_value_and_grad_kernel", monkeypatch)
    x = spec_inputs(seed)
    v, g = m.f_value_and_grad(*x)
    want_v, want_g = ref.f_value_and_grad(*x)
    assert len(calls) == 1
    close(v, want_v)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)
    assert_fd_close(g, central_diff_grad(m.f, x, list(range(6))), scale=v)


SCALAR = (
    "def f(u: Vector[n], v: Vector[n]) -> Scalar:\n    return einsum('i,i->', u, v)\n"
)


def test_a_scalar_einsum_stays_numpy_and_says_why():
    out = compile_source(SCALAR, target="numba")
    assert "# numba: no whole-function kernel: 'einsum' has no numba spelling" in out
    m = load_source(SCALAR, target="numba")
    u, v = np.arange(3.0), np.array([2.0, -1.0, 0.5])
    assert m.f(u, v) == pytest.approx(float(u @ v), rel=1e-14)


def test_logsumexp_of_a_whole_array_shifts_as_numpy():
    source = "def f(x: Vector[n]) -> Scalar:\n    return logsumexp(x) + sum(x)\n"
    ref, m = module(source, "numpy"), module(source, "numba")
    assert "_max_shift_all(x)" in compile_source(source, target="numba")
    inf, nan = np.inf, np.nan
    for x in [
        np.array([1.0, 2.0, 3.0]),
        np.array([1e300, -1e300, 5.0]),
        np.array([inf, 1.0, 2.0]),
        np.array([-inf, -inf, -inf]),
        np.array([nan, 1.0, 2.0]),
    ]:
        with np.errstate(all="ignore"):
            got, want = m.f_value_and_grad(x), ref.f_value_and_grad(x)
        np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(want[0]))
        if np.isfinite(want[0]):
            close(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12, equal_nan=True)
    with pytest.raises(ValueError):
        m.f_value_and_grad(np.zeros(0))
