"""Sums along an axis as products with ones (``_sum_leading``, ``_sum_trailing``) and the
column-at-a-time row maxima of ``_max_shift`` (issue 16; bench/README.md, "Sums along an
axis as products with ones").

The spelling is asserted on the emitted text; the helpers are checked against NumPy's
reductions (to rounding, and exactly where they fall back to them), special values
included; gradients through them against central finite differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(2116)

SUMS = """
def f(X: Matrix[n, c], T: Tensor[a, b, c]) -> Scalar:
    col = sum(X, axis=0)
    row = sum(X, axis=1, keepdims=True)
    lead2 = sum(T, axis=(0, 1))
    trail2 = sum(T, axis=(1, 2))
    middle = sum(T, axis=1)
    per_row = mean(X, axis=1)
    return sum(col) + sum(row) + sum(lead2) + sum(trail2) + sum(middle) + sum(per_row)
"""


@pytest.fixture(scope="module")
def helpers():
    """A module holding the three helpers."""
    return gradc.load_source(SUMS + "\n\ndef g(X: Matrix[n, c]) -> Scalar:\n"
                             "    return sum(logsumexp(X, axis=1))\n")  # fmt: skip


def test_leading_and_trailing_axes_are_spelled_as_helpers():
    fwd = function_text(gradc.compile_source(SUMS), "f_forward")
    for line in [
        "col = _sum_leading(X)",
        "row = _sum_trailing(X, keepdims=True)",
        "lead2 = _sum_leading(T, (0, 1))",
        "trail2 = _sum_trailing(T, (-2, -1))",
        # a middle axis is neither: NumPy's own
        "middle = T.sum(axis=1)",
        "per_row = _sum_trailing(X) / c",
    ]:
        assert line in fwd, (line, fwd)


def test_whole_array_sums_and_integer_sums_keep_numpys_spelling():
    src = gradc.compile_source(
        "def f(x: Matrix[n, c], i: Index[n]) -> Scalar:\n"
        "    return sum(x) + sum(x[arange(n), i])\n"
    )
    assert "_sum_leading" not in src and "_sum_trailing" not in src


SHAPES = [
    (3, 4),
    (40, 25),
    (1000, 5),
    (2048, 10),
    (64, 100),
    (5, 3000),
    (300, 4, 3),
    (4, 6000),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_helpers_sum_as_numpy_does_to_rounding(helpers, shape, keepdims):
    x = RNG.standard_normal(shape)
    scale = np.abs(x).sum()
    for axis, got in [
        (0, helpers._sum_leading(x, keepdims=keepdims)),
        (x.ndim - 1, helpers._sum_trailing(x, keepdims=keepdims)),
    ]:
        want = x.sum(axis=axis, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14 * scale)
        if x.size < 1024 or (shape[-1] > 32 and x.size < 16384):  # NumPy's itself
            np.testing.assert_array_equal(got, want)
    if x.ndim == 3:
        np.testing.assert_allclose(
            helpers._sum_leading(x, (0, 1), keepdims=keepdims),
            x.sum(axis=(0, 1), keepdims=keepdims),
            rtol=0,
            atol=1e-14 * scale,
        )
        np.testing.assert_allclose(
            helpers._sum_trailing(x, (-2, -1), keepdims=keepdims),
            x.sum(axis=(1, 2), keepdims=keepdims),
            rtol=0,
            atol=1e-14 * scale,
        )


def test_strided_and_empty_arrays_fall_back_to_numpy(helpers):
    x = RNG.standard_normal((2000, 6))
    # a transpose is read in memory order (_sum_strided): the same sums, BLAS's order
    np.testing.assert_allclose(helpers._sum_leading(x.T), x.T.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(helpers._sum_trailing(x.T), x.T.sum(axis=-1), rtol=1e-12)
    # every second row, a broadcast: no contiguous layout to read, NumPy's own sum
    for view in (x[::2], np.broadcast_to(x[:1], (4000, 6))):
        np.testing.assert_array_equal(helpers._sum_leading(view), view.sum(axis=0))
        np.testing.assert_array_equal(helpers._sum_trailing(view), view.sum(axis=-1))
    for shape in [(0, 5), (5000, 0)]:
        empty = np.zeros(shape)
        np.testing.assert_array_equal(helpers._sum_leading(empty), empty.sum(axis=0))
        np.testing.assert_array_equal(helpers._sum_trailing(empty), empty.sum(axis=-1))


def test_helpers_give_inf_and_nan_where_numpy_does(helpers):
    x = RNG.standard_normal((1500, 4))
    x[3, 1], x[7, 2], x[7, 0], x[9, 3] = np.inf, np.inf, -np.inf, np.nan
    x[11, 0] = x[11, 1] = 1e308  # overflows in either order
    with np.errstate(invalid="ignore", over="ignore"):
        rows, cols = helpers._sum_trailing(x), helpers._sum_leading(x)
        want_rows, want_cols = x.sum(axis=1), x.sum(axis=0)
    for got, want in [(rows, want_rows), (cols, want_cols)]:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        np.testing.assert_array_equal(np.sign(got[~finite]), np.sign(want[~finite]))
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12)


@pytest.mark.parametrize("shape", [(600, 1), (600, 5), (600, 16), (600, 17), (100, 5)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_shift_on_short_rows_is_the_row_maximum(helpers, shape, keepdims):
    x = RNG.standard_normal(shape)
    x[1, 0], x[2, -1], x[3, 0] = np.inf, -np.inf, np.nan  # shifted by 0, nan: nan
    x[4, :] = -np.inf
    got = helpers._max_shift(x, axis=1, keepdims=keepdims)
    m = x.max(axis=1, keepdims=keepdims)
    want = np.where(np.isfinite(m), m, 0.0)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_max_shift_of_empty_rows_raises_as_numpy(helpers):
    with pytest.raises(ValueError, match="zero-size"):
        helpers._max_shift(np.zeros((600, 0)), axis=1)


def test_gradients_through_the_blas_sums():
    # 40 x 30 = 1,200 elements: above the helpers' threshold
    src = """
@wrt(X, w)
def f(X: Matrix[n, c], w: Vector[c]) -> Scalar:
    col = sum(X * w, axis=0)
    return sum(logsumexp(X, axis=1)) + sum(col * col) + sum(mean(X ** 2, axis=1))
"""
    assert "_sum_leading(" in function_text(
        gradc.compile_source(src), "f_value_and_grad"
    )
    mod = gradc.load_source(src)
    X, w = RNG.standard_normal((40, 30)), RNG.standard_normal(30)
    check_gradients(mod, "f", [X, w], [0, 1])
    # and to rounding the NumPy sums' value
    lse = np.log(np.exp(X).sum(axis=1))
    col = (X * w).sum(axis=0)
    want = lse.sum() + (col * col).sum() + (X**2).mean(axis=1).sum()
    assert mod.f(X, w) == pytest.approx(want, rel=1e-12)


def test_short_rows_logsumexp_gradient():
    src = """
@wrt(S)
def f(S: Matrix[n, k]) -> Scalar:
    return sum(logsumexp(S, axis=1))
"""
    mod = gradc.load_source(src)
    S = RNG.standard_normal((600, 3))
    value, grad = mod.f_value_and_grad(S)
    e = np.exp(S - S.max(axis=1, keepdims=True))
    np.testing.assert_allclose(grad, e / e.sum(axis=1, keepdims=True), rtol=1e-13)
    check_gradients(mod, "f", [S], [0])
