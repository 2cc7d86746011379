"""The numba target's facts about an operation live in its record (``core/prim.Prim``):
``numba_vector``, the vectorisable helper its kernels call, and ``libm_calls``, the libm
calls numba makes per element where NumPy runs SIMD loops (issue 21: adding an op is
one entry)."""

from __future__ import annotations

from gradc.backend.numba_kernels import libm_call
from gradc.backend.numba_loop_body import kernel_spelling
from gradc.backend.numba_vector_math import VECTOR_NEEDS
from gradc.core.prim import PRIMS


def test_the_vectorised_ops_and_their_helpers():
    vector = {n: p.numba_vector for n, p in PRIMS.items() if p.numba_vector}
    assert vector == {
        "exp": "_vexp",
        "log": "_vlog",
        "log1p": "_vlog1p",
        "expm1": "_vexpm1",
        "tanh": "_vtanh",
        "sigmoid": "_vsigmoid",
        "softplus": "_vsoftplus",
    }
    assert set(vector.values()) <= set(VECTOR_NEEDS)  # each helper is in the module


def test_the_libm_calls_per_element():
    calls = {n: p.libm_calls for n, p in PRIMS.items() if p.libm_calls}
    ones = "exp log log1p expm1 sin cos tan tanh sigmoid softplus erf arctan2"
    ones += " arcsin arccos arctan sinh cosh arcsinh arccosh arctanh log2 log10"
    assert calls == {
        **dict.fromkeys(ones.split(), 1),
        "logaddexp": 2,
        "softmax": 1,
        "log_softmax": 2,
    }
    # a (elementwise) kernel calls libm for those without a vectorisable helper only
    assert [op for op in calls if PRIMS[op].elementwise and libm_call(op)] == [
        "sin",
        "cos",
        "tan",
        "erf",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "log2",
        "log10",
        "logaddexp",
        "arctan2",
    ]


def test_kernel_spellings_from_the_records():
    assert kernel_spelling("add") is None
    assert kernel_spelling("pow") is not None
    assert kernel_spelling("tanh") is not None
