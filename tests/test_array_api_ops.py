"""Every operation of the formula language on the Array API target, on every library:
values and gradients equal to the NumPy target's (float64), and float32 kept. One
function per family, each at a point away from kinks."""

from __future__ import annotations

import numpy as np
import pytest
from xp_cases import LIBRARIES, as_tuple, require, run, to_library

from gradc import load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OPS = """
def unary(x: Vector[n]) -> Scalar:
    a = exp(x) + log(abs(x) + 1) + log1p(x * x) + expm1(x) + sqrt(x * x + 1)
    b = square(x) + sin(x) * cos(x) + tan(x / 4) + tanh(x) + sigmoid(x) + softplus(x)
    c = arcsin(0.5 * tanh(x)) + arccos(0.5 * tanh(x)) * arctan(x) + arcsinh(x)
    d = sinh(x / 4) * cosh(x / 4) + log2(x * x + 1) + log10(x * x + 2)
    d = d + logaddexp(x, 0.5 * x) * logaddexp(0, x)
    d = d + arccosh(x * x + 1.5) * arctanh(0.5 * tanh(x)) + cumsum(x) * x
    return sum(a * b + relu(x) * sign(x) + arctan2(x, x * x + 1) + c * d)


def binary(x: Vector[n], y: Vector[n], s: Scalar) -> Scalar:
    z = maximum(x, y) * minimum(x, s) + clip(x, -0.5, 0.7) + where(x > y, x * y, s)
    return sum(z * z + x ** 3 + abs(y) ** s + s ** 2)


def reductions(X: Matrix[m, n]) -> Scalar:
    a = sum(X, axis=0) * mean(X, axis=0) + max(X, axis=0) - min(X, axis=0)
    b = logsumexp(X, axis=1) + norm(X, axis=1) + var(X, axis=1) + std(X, axis=1, ddof=1)
    return sum(a ** 2) + sum(b * b) + max(X) * norm(X) + logsumexp(X) + mean(X)


def softmaxes(X: Matrix[m, n]) -> Scalar:
    return sum(softmax(X, axis=1) * X) + sum(log_softmax(X, axis=0) ** 2)


def shapes(X: Matrix[m, n], T: Tensor[a, m, n], v: Vector[n]) -> Scalar:
    Y = concatenate([X, 2 * X], axis=0)
    Z = stack([X, X * X], axis=1)
    W = transpose(T, (2, 0, 1))
    r = reshape(X, (m * n,))
    return (
        sum(Y ** 2) + sum(Z * Z) + sum(W[0] * W[1]) + sum(r * r)
        + sum(X[1:, :-1] ** 2) + sum(X[0] * v) + sum(v[:, None] * v[None, :])
        + dot(v, v) + sum(outer(v, v) ** 2) + sum((X @ v) ** 2)
        + sum(flip(X) * X) + sum(X[:, ::-1] ** 2) + sum(flip(v)[1:] * v[1:])
    )


def regroup(X: Matrix[m, n]) -> Scalar:
    return sum(reshape(X, (n, m)).T * X)


def linalg(A: Matrix[n, n], b: Vector[n], B: Matrix[n, k]) -> Scalar:
    c = sum(cholesky(A) * A) + sum(np.tril(A, -1) ** 2) + sum(np.triu(B) * B)
    return sum(inv(A) * A.T) + b @ solve(A, b) + sum(solve(A.T, B) ** 2) + c


def linalg_stacks(S: Tensor[a, n, n], b: Vector[n]) -> Scalar:
    return sum(det(S) ** 2) + sum(inv(S) ** 2) + sum(solve(S, b) * b)
"""

rng = np.random.default_rng(5)
INPUTS = {
    "unary": [rng.uniform(-1.5, 1.5, 6)],
    "binary": [rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5), 0.8],
    "reductions": [rng.standard_normal((4, 3))],
    "softmaxes": [rng.standard_normal((4, 3))],
    "shapes": [
        rng.standard_normal((2, 3)),
        rng.standard_normal((4, 2, 3)),
        rng.standard_normal(3),
    ],
    # Dask reshapes only by merging or splitting axes: (2, 3) -> (3, 2) is refused
    "regroup": [rng.standard_normal((2, 3))],
    "linalg": [
        rng.uniform(-0.3, 0.3, (3, 3)) + 1.5 * np.eye(3),
        rng.standard_normal(3),
        rng.standard_normal((3, 2)),
    ],
    # Dask's linalg takes one matrix, and has no det
    "linalg_stacks": [
        rng.uniform(-0.3, 0.3, (2, 3, 3)) + 1.5 * np.eye(3),
        rng.standard_normal(3),
    ],
}


@pytest.fixture(scope="module")
def modules():
    return load_source(OPS), load_source(OPS, target="array-api")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", list(INPUTS))
def test_every_operation_matches_the_numpy_target(modules, library, name):
    require(library)
    ref, m = modules
    x = INPUTS[name]
    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    args = [to_library(library, a) for a in x]
    if library == "dask" and name == "regroup":
        with pytest.raises(NotImplementedError, match="Dask's reshape only supports"):
            run(library, getattr(m, f"{name}_value_and_grad"), args)
        return
    if library == "dask" and name == "linalg_stacks":
        with pytest.raises(AttributeError, match="has no attribute 'det'"):
            run(library, getattr(m, f"{name}_value_and_grad"), args)
        return
    v, g = run(library, getattr(m, f"{name}_value_and_grad"), args)
    np.testing.assert_allclose(v, want_v, rtol=1e-12)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    x32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in x]
    v, g = run(
        library,
        getattr(m, f"{name}_value_and_grad"),
        [to_library(library, a) for a in x32],
    )
    assert v.dtype == np.float32 and all(a.dtype == np.float32 for a in as_tuple(g))
    np.testing.assert_allclose(v, want_v, rtol=2e-5)


VECTOR = """
def f(x: Vector[n], s: Scalar) -> Vector[n]:
    return exp(x) * s
"""


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_vector_valued_function_forward_and_backward(library):
    """f_backward takes the seed as an array of the value's shape (checked, named) and
    returns the gradients in the dtype of the computation."""
    require(library)
    ref, m = load_source(VECTOR), load_source(VECTOR, target="array-api")
    x, seed = rng.standard_normal(4), rng.standard_normal(4)
    want = ref.f_backward(seed, ref.f_forward(x, 0.5)[1])

    def both(x, seed):
        value, cache = m.f_forward(x, 0.5)
        return value, m.f_backward(seed, cache)

    value, (d_x, d_s) = run(library, both, [to_library(library, a) for a in (x, seed)])
    np.testing.assert_allclose(value, np.exp(x) * 0.5, rtol=1e-12)
    np.testing.assert_allclose(d_x, want[0], rtol=1e-12)
    np.testing.assert_allclose(d_s, want[1], rtol=1e-12)
    if library == "numpy":
        with pytest.raises(
            ValueError, match=r"f_backward: parameter 'd_out' has shape"
        ):
            m.f_backward(seed[:3], m.f_forward(x, 0.5)[1])
