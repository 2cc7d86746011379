"""softmax over the rows of a matrix in the numba target's whole kernels
(``_softmax_rows``): the attention case is one compiled call on small inputs, with the
NumPy target's values and gradients, its nan for rows holding inf or nan, and central
finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from gradc import compile_source, load_source
from tests.gradcheck import assert_fd_close, central_diff_grad

pytest.importorskip("numba")

ATTENTION = """
@wrt(Q, K, V)
def f(Q: Matrix[N, d], K: Matrix[M, d], V: Matrix[M, c], T: Matrix[N, c]) -> Scalar:
    A = softmax(Q @ K.T * 0.125, axis=1)
    return sum((A @ V) * T)
"""

ROWS = """
@wrt(x)
def g(x: Matrix[n, k], t: Matrix[n, k]) -> Scalar:
    return sum(softmax(x, axis=1) * t)
"""


def inputs(seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in [(6, 4), (5, 4), (5, 3), (6, 3)]]


def test_attention_is_one_kernel_with_softmax_rows():
    text = compile_source(ATTENTION, target="numba")
    assert "    A = _softmax_rows(Q.dot(K.T) * 0.125)\n" in text
    assert "return _f_value_and_grad_kernel(" in text


def test_attention_equals_the_numpy_target_and_finite_differences():
    ref, m = load_source(ATTENTION), load_source(ATTENTION, target="numba")
    args = inputs(7)
    want_v, want_g = ref.f_value_and_grad(*args)
    v, g = m.f_value_and_grad(*args)
    assert v == pytest.approx(want_v, rel=1e-12)
    for got, want in zip(g, want_g, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14)
    assert_fd_close(list(g), central_diff_grad(m.f, args, [0, 1, 2]))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_rows_with_inf_or_nan_are_as_in_numpy(bad):
    ref, m = load_source(ROWS), load_source(ROWS, target="numba")
    x = np.arange(12.0).reshape(3, 4) / 7
    x[1, 2] = bad
    t = np.ones((3, 4))
    with np.errstate(invalid="ignore"):
        want_v, want_g = ref.g_value_and_grad(x, t)
        v, g = m.g_value_and_grad(x, t)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(want_g))
    np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-15)
    assert (np.isnan(v) and np.isnan(want_v)) or v == pytest.approx(want_v, rel=1e-12)
