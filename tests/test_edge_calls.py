"""Calls at the edges of their arguments: empty axis tuples, empty slices, out-of-range
``arange`` indices, a bound left out, NumPy's keyword names, orders of ``norm``.

Each formula either is refused with a located ``FormulaError`` or compiles to a module
whose value equals NumPy's (or SciPy's) on the same text, evaluated here by Python over
NumPy, and whose gradient runs. Never a compiler traceback or an emitted module that is
not Python: ``sum(x, axis=())`` raised ``IndexError`` in the compiler, ``max(x,
axis=())`` emitted a ``SyntaxError``, and ``M[arange(4), 0]`` of a ``Matrix[3, 4]`` an
``AttributeError``, all found by a sweep like this one.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy_namespace import NAMESPACE

import gradc
from gradc.errors import FormulaError

HEAD = "def f(x: Vector[4], M: Matrix[3, 4], T: Tensor[2, 3, 4]) -> Scalar:\n"

EDGES = [
    # axes
    "sum(x, axis=())",
    "max(x, axis=())",
    "sum(M, axis=(), keepdims=True)",
    "logsumexp(M, axis=())",
    "norm(M, axis=())",
    "std(M, axis=())",
    "sum(softmax(x, axis=()))",
    "sum(x, axis=-0)",
    "sum(M, axis=(-1, 0))",
    "sum(x, axis=True)",
    "sum(concatenate([x, x], axis=()))",
    "sum(stack([M, M], axis=-1))",
    "sum(transpose(M, ()))",
    # empty slices and arrays
    "sum(x[:0])",
    "sum(x[4:]) + sum(x)",
    "mean(x[:0])",
    "max(x[:0])",
    "min(M[:, 4:])",
    "logsumexp(x[:0])",
    "norm(x[:0])",
    "sum(softmax(x[4:]))",
    "sum(log_softmax(M[:0], axis=0))",
    "std(x[:0])",
    "sum(outer(x, x[:0]))",
    "sum(ones_like(x[:0]))",
    # integer index arrays
    "sum(M[arange(3), arange(3)])",
    "sum(M[arange(4), 0])",
    "sum(M[:, arange(5)])",
    "sum(M[arange(4)[:, None], arange(2)])",
    "sum(log_softmax(M, axis=0)[arange(4), arange(4)])",
    "sum(M[arange(3), 1:][:, arange(3)])",
    "sum(T[1, :, arange(2)])",
    # NumPy's argument forms
    "norm(x, 2)",
    "norm(x, 1)",
    "sum(norm(M, None, 1, True))",
    "sum(norm(M, 2, 0))",
    "norm(M, 'fro')",
    "norm(M, 2)",
    "sum(norm(T, 'fro', (0, 2)))",
    "sum(clip(x, 0.0, None))",
    "sum(clip(x, None, 0.5))",
    "sum(clip(x, a_min=-0.5, a_max=0.5))",
    "sum(clip(x, max=0.5))",
    "sum(clip(x))",
    "sum(clip(x, None, None))",
]


def numpy_value(text: str, x, M, T):
    """The formula's value by Python over NumPy/SciPy, or None where NumPy raises."""
    try:
        with np.errstate(all="ignore"):
            return np.sum(eval(text, dict(NAMESPACE), {"x": x, "M": M, "T": T}))  # noqa: S307 (the test's own text)
    except (ValueError, IndexError, TypeError, np.exceptions.AxisError):
        return None


@pytest.mark.parametrize("text", EDGES)
def test_refused_where_located_else_numpys_value(text):
    """A located refusal, or NumPy's value and a gradient of the input's shape."""
    rng = np.random.default_rng(11)
    x, M, T = (
        rng.standard_normal(4),
        rng.standard_normal((3, 4)),
        rng.standard_normal((2, 3, 4)),
    )
    src = HEAD + f"    return {text}\n"
    try:
        module = gradc.load_source(src, filename="edge.grad")
    except FormulaError as err:
        assert re.match(r"edge\.grad:2:\d+: error: ", str(err)), str(err)
        return
    want = numpy_value(text, x, M, T)
    assert want is not None, f"{text}: compiled where NumPy raises"
    with np.errstate(all="ignore"):
        value, grads = module.f_value_and_grad(x, M, T)
    np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-12)
    assert [np.shape(g) for g in grads] == [x.shape, M.shape, T.shape]
