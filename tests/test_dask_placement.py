"""Assignments on Dask without Dask's assignment: ``_at_set`` and ``_at_add`` place a
value at an index of integers and slices by padding (``_placed``), because Dask's
``__setitem__`` rebuilds the whole graph each time (lenet's gradient: 33 of them, 54 s to
build its graph at 6x1x28x28 in halves). Each index form against NumPy's own assignment; the
formulas' gradients without one ``__setitem__``; a convolution's graph one block per
chunk of the batch (``_by_batch``)."""

from __future__ import annotations

import numpy as np
import pytest
from xp_cases import CASES, load, point, require, to_library

from gradc import load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SLICES = """
@wrt(x)
def f(x: Vector[n]) -> Scalar:
    a = x[1:5:2] * 2.0 + x[::-2][0:2]
    return sum(a * a) + sum(x[::3] * x[2])
"""

# index forms on a (5, 6, 7) array: integers, slices of every step, ``...``, empty
INDEXES = [
    2,
    -1,
    slice(1, 4),
    slice(None, None, 2),
    slice(None, None, 3),
    slice(None, None, -1),
    slice(4, 0, -2),
    slice(-4, -1),
    slice(3, 1),
    (slice(None), 2),
    (1, slice(0, 6, 4), slice(None, None, -3)),
    (Ellipsis, 3),
    (slice(None, None, 2), Ellipsis, slice(1, 7, 2)),
    (-2, Ellipsis),
]


@pytest.fixture(scope="module")
def helpers():
    require("dask")
    return load_source(SLICES, filename="slices.grad", target="array-api")


@pytest.fixture(autouse=True)
def no_dask_assignment(monkeypatch):
    """Dask's ``__setitem__`` fails the test where it is called."""
    da = pytest.importorskip("dask.array", reason="dask is not installed")

    def refuse(self, key, value):
        raise AssertionError(f"Dask __setitem__ called with {key!r}")

    monkeypatch.setattr(da.Array, "__setitem__", refuse)


def dask_array(a):
    import dask.array as da

    return da.from_array(a, chunks=(2, 3, 4))


@pytest.mark.parametrize("index", INDEXES, ids=repr)
@pytest.mark.parametrize("scalar", [False, True], ids=["array", "scalar"])
def test_at_add_and_at_set_equal_numpy_assignment(helpers, index, scalar):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 6, 7))
    region = a[index].shape
    value = 1.5 if scalar else rng.standard_normal(region)
    want_add, want_set = a.copy(), a.copy()
    want_add[index] += value
    want_set[index] = value
    got_add = helpers._at_add(dask_array(a), index, value)
    got_set = helpers._at_set(dask_array(a), index, value)
    assert got_add.chunks == dask_array(a).chunks
    np.testing.assert_array_equal(got_add.compute(), want_add)
    np.testing.assert_array_equal(got_set.compute(), want_set)


def test_an_index_it_cannot_place_falls_back_to_assignment(helpers, monkeypatch):
    import dask.array as da

    monkeypatch.undo()  # this one assigns: an integer array is not a slice
    a = np.arange(12.0).reshape(3, 4)
    want = a.copy()
    want[np.array([0, 2])] += 1.0
    got = helpers._at_add(da.from_array(a, chunks=2), (np.array([0, 2]),), 1.0)
    np.testing.assert_array_equal(got.compute(), want)


def test_slice_gradients_on_dask_equal_numpy(helpers):
    import dask

    ref = load_source(SLICES, filename="slices.grad")
    x = np.linspace(-1.0, 2.0, 10)
    want_v, want_g = ref.f_value_and_grad(x)
    v, g = dask.compute(helpers.f_value_and_grad(to_library("dask", x)))[0]
    assert abs(float(v) - want_v) <= 1e-12 * abs(want_v)
    np.testing.assert_allclose(np.asarray(g), want_g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["convnet_loss", "lenet_loss"])
def test_a_convolution_gradient_graph_is_blockwise_by_batch(name):
    """Every input in halves along every axis (``to_library``): one block per chunk of
    the batch, not per crossing of a window and a chunk (convnet: 162,603 tasks before
    ``_by_batch`` and ``_placed``; lenet's 119,326 took 54 s to build)."""
    import dask

    require("dask")
    path, _, params = next(c for c in CASES if c[1] == name)
    m, ref = load(path, "array-api"), load(path, "numpy")
    x = point(params)
    value, grads = m.__dict__[f"{name}_value_and_grad"](
        *[to_library("dask", a) for a in x]
    )
    tasks = len(dict(grads[0].__dask_graph__()))
    assert tasks < 20_000, tasks
    want_v, want_g = ref.__dict__[f"{name}_value_and_grad"](*x)
    v, g = dask.compute(value, grads[0])
    assert abs(float(v) - want_v) <= 1e-12 * max(1.0, abs(want_v))
    np.testing.assert_allclose(g, want_g[0], rtol=1e-10, atol=1e-13)
