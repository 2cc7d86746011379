"""The Array API target's shims (templates/helpers_xp.py.j2), each on every library:
einsum (the namespace's own, else tensordot or a broadcast product), outer as a
broadcast product, scatter-add where indices repeat (add.at, index_put_, .at[].add, a
one-hot matmul on Dask and array-api-strict), and the exact text they are called with."""

from __future__ import annotations

import types

import numpy as np
import pytest
from xp_cases import LIBRARIES, as_tuple, require, run, to_library

from gradc import compile_source, load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHIMS = """
def ein(A: Matrix[m, k], B: Matrix[k, n]) -> Scalar:
    return sum(einsum("ij,jk->ik", A, B) ** 2)


def bat(A: Tensor[b, m, k], B: Tensor[b, k, n]) -> Scalar:
    return sum(einsum("bij,bjk->bik", A, B) ** 2)


def out(x: Vector[m], y: Vector[n]) -> Scalar:
    return sum(outer(x, y) ** 2)


def gather(x: Vector[n], idx: Index[k]) -> Scalar:
    return sum(x[idx] ** 3)


def rows(X: Matrix[n, m], idx: Index[k]) -> Scalar:
    return sum(X[idx] ** 3)
"""

rng = np.random.default_rng(3)
INPUTS = {
    "ein": [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))],
    "bat": [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2))],
    "out": [rng.standard_normal(3), rng.standard_normal(4)],
    # repeated indices: each repeat adds its share of the gradient
    "gather": [rng.standard_normal(5), np.array([0, 3, 3, 1, 0, 3])],
    "rows": [rng.standard_normal((4, 3)), np.array([2, 2, 0, 2])],
}


@pytest.fixture(scope="module")
def modules() -> tuple[types.ModuleType, types.ModuleType]:
    return load_source(SHIMS), load_source(SHIMS, target="array-api")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", list(INPUTS))
def test_shims_give_the_numpy_targets_values_and_gradients(modules, library, name):
    require(library)
    ref, m = modules
    x = INPUTS[name]
    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    args = [to_library(library, a) for a in x]
    v, g = run(library, getattr(m, f"{name}_value_and_grad"), args)
    np.testing.assert_allclose(v, want_v, rtol=1e-12)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_einsum_fallback_without_a_namespace_einsum(modules):
    """array-api-strict has no einsum: the fallback (tensordot for two operands without
    shared output letters, else a broadcast product) gives np.einsum's values."""
    require("array_api_strict")
    import array_api_strict as xp

    assert not hasattr(xp, "einsum")
    _, m = modules
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    for spec, ops in [
        ("ij,jk->ik", (a[0], b[0])),
        ("ij,jk->ki", (a[0], b[0])),
        ("bij,bjk->bik", (a, b)),
        ("bij->jb", (a,)),
        ("i,j->ij", (a[0, 0], b[0, 0])),
    ]:
        got = m._einsum(xp, spec, *(xp.asarray(o) for o in ops))
        np.testing.assert_allclose(np.asarray(got._array), np.einsum(spec, *ops))


def test_the_shims_are_called_as_written():
    text = compile_source(SHIMS, target="array-api")
    for line in [
        'out_t1 = _einsum(xp, "ij,jk->ik", A, B)',
        'd_A = _einsum(xp, "ik,jk->ij", d_out_t1, B)',
        "out_t1 = x[:, None] * y",
        "d_x = xp.zeros((n,), dtype=dtype, device=device)",
        "out_t1 = xp.take(x, idx, axis=0)",
        "d_x = _scatter_add(xp, d_x, (idx,), 3.0 * out_t1**2)",
        "d_X = _scatter_add(xp, d_X, (idx, ...), 3.0 * out_t1**2)",
    ]:
        assert f"    {line}\n" in text
