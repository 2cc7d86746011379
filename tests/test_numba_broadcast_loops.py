"""--target numba: inside a whole-function kernel, each run of elementwise statements that
broadcasts a row ((D,), (1, D)) or a column ((N, 1)) against an (N, D) matrix, or sums
over an axis, is one loop kernel (``backend/numba_loops.py``), not numba's array
expressions; batch and layer normalisation run so up to 1024 x 512 elements. The values
and gradients equal the NumPy target's (1e-12) and central finite differences, NaN and
inf included."""

from __future__ import annotations

import functools
import os
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad
from numba_cases import ROOT, as_tuple, cache_dir, close, needs_numba

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ROWCOL = """\
@wrt(x, b, u)
def rowcol(x: Matrix[N, D], b: Vector[D], u: Vector[N]) -> Scalar:
    c = sum(x, axis=1, keepdims=True)
    h = (x - c) * b + u[:, None] / b
    return sum(h * h * x)
"""


def case_text(name: str) -> str:
    return (ROOT / "bench" / "cases" / f"{name}.grad").read_text()


@functools.cache
def load(source: str, target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(source, target=target)


def kernel_lines(text: str, name: str) -> list[str]:
    """The lines of the function ``name`` in the module ``text``."""
    lines = text.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith(f"def {name}(")))
    end = next(k for k in range(start + 1, len(lines)) if lines[k].startswith("def "))
    return [ln.strip() for ln in lines[start:end] if ln.strip()]


def test_batchnorm_rows_as_loops_in_the_whole_kernel():
    text = compile_source(case_text("batchnorm"), target="numba")
    k1 = kernel_lines(text, "_batchnorm_value_and_grad_kernel_k1")
    assert k1[:4] == [
        "def _batchnorm_value_and_grad_kernel_k1(x, mu):",
        "n0, n1 = x.shape",
        "out = np.empty((n0, n1))",
        "total = np.zeros((n1,))",
    ]
    for line in (
        "mu_ = mu[i1]",  # the row (D,) read at the column index
        "# line 9: xc = x - mu",
        "total[i1] += v_2",  # mean(xc ** 2, axis=0) accumulated in the loop
        "total /= n0",
    ):
        assert line in k1
    whole = kernel_lines(text, "_batchnorm_value_and_grad_kernel")
    assert "xc, v = _batchnorm_value_and_grad_kernel_k1(x, mu)" in whole
    assert "v_g1_ = v_g1[0, i1]" in kernel_lines(
        text, "_batchnorm_value_and_grad_kernel_k3"
    )  # a (1, D) row
    assert "    if N * D <= 524288:" in text.splitlines()


def test_layernorm_columns_as_loops_with_row_sums_in_a_local():
    text = compile_source(case_text("layernorm"), target="numba")
    k2 = kernel_lines(text, "_layernorm_value_and_grad_kernel_k2")
    for line in (
        "xhat_t2_ = xhat_t2[i0, 0]",  # the column (N, 1)
        "gamma_ = gamma[i1]",
        "total_2[i1] += v_4",  # d_gamma: a column sum
        "row = 0.0",  # d_v: a row sum (keepdims), along the inner loop
        "row += v_8",
        "total_4[i0, 0] += row",
    ):
        assert line in k2
    assert "    if N * D <= 524288:" in text.splitlines()


def inputs(n: int, d: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    return [x, 1.0 + rng.random(d), rng.standard_normal(d), t]


@pytest.mark.parametrize("name", ["batchnorm", "layernorm"])
@pytest.mark.parametrize("shape", [(64, 100), (3, 5), (1, 4)])
def test_normalisations_equal_the_numpy_target(name, shape):
    ref, m = load(case_text(name), "numpy"), load(case_text(name), "numba")
    x = inputs(*shape, seed=shape[0])
    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    v, g = getattr(m, f"{name}_value_and_grad")(*x)
    close(v, want_v)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        close(got, want)


@pytest.mark.parametrize("name", ["batchnorm", "layernorm"])
def test_normalisations_against_finite_differences(name):
    m = load(case_text(name), "numba")
    x = inputs(6, 5, seed=3)
    f = getattr(m, name)
    _, g = getattr(m, f"{name}_value_and_grad")(*x)
    assert_fd_close(as_tuple(g), central_diff_grad(f, x, [0, 1, 2]))


def rowcol_inputs(n: int, d: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, d)), 1.0 + rng.random(d), rng.standard_normal(n)]


def test_rows_columns_and_vectors_in_one_loop():
    text = compile_source(ROWCOL, target="numba")
    k1 = kernel_lines(text, "_rowcol_value_and_grad_kernel_k1")
    for line in (
        "c_ = c[i0, 0]",  # a keepdims column sum
        "b_ = b[i1]",  # a 1-D vector against the rows
        "h_t1_ = h_t1[i0, 0]",  # u[:, None]
        "total = _radd(total, v_5 * x_)",  # the full sum (reassociable: vectorised)
        "total_2[i0, 0] += row",  # d_c: a row sum
    ):
        assert line in k1


@pytest.mark.parametrize("shape", [(7, 5), (1, 3), (4, 1)])
def test_rowcol_equals_the_numpy_target_and_finite_differences(shape):
    ref, m = load(ROWCOL, "numpy"), load(ROWCOL, "numba")
    x = rowcol_inputs(*shape, seed=sum(shape))
    want_v, want_g = ref.rowcol_value_and_grad(*x)
    v, g = m.rowcol_value_and_grad(*x)
    close(v, want_v)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        close(got, want)
    assert_fd_close(as_tuple(g), central_diff_grad(m.rowcol, x, [0, 1, 2]))


def test_nan_and_inf_behave_as_in_numpy():
    """A NaN in x, an inf in u and a zero in b (u / b: inf, 0 / 0: NaN) give the NumPy
    target's values and gradients, NaN for NaN and inf for inf."""
    ref, m = load(ROWCOL, "numpy"), load(ROWCOL, "numba")
    x, b, u = rowcol_inputs(4, 3, seed=5)
    x[1, 2], u[2], b[0] = np.nan, np.inf, 0.0
    u[3] = 0.0
    with np.errstate(all="ignore"):
        want_v, want_g = ref.rowcol_value_and_grad(x, b, u)
    v, g = m.rowcol_value_and_grad(x, b, u)
    np.testing.assert_array_equal(v, want_v)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        close(np.where(finite, got, 0.0), np.where(finite, want, 0.0))


def test_loops_with_sums_reassociate_the_others_are_inlined():
    """``fastmath={"reassoc"}`` (only) where a loop sums, so that LLVM vectorises the
    sums; ``inline="always"`` where it does not (no call inside the whole kernel)."""
    lines = compile_source(case_text("batchnorm"), target="numba").splitlines()

    def decorator(name: str) -> str:
        return lines[lines.index(next(ln for ln in lines if ln.startswith(name))) - 1]

    sums = '@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})'
    inline = '@numba.njit(cache=True, error_model="numpy", inline="always")'
    for k in (1, 2, 3):
        assert decorator(f"def _batchnorm_value_and_grad_kernel_k{k}(") == sums
    assert decorator("def _batchnorm_value_and_grad_kernel_k4(") == inline
    whole = decorator("def _batchnorm_value_and_grad_kernel(")
    assert whole == '@numba.njit(cache=True, error_model="numpy")'
