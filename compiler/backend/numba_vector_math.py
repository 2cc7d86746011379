"""Vectorisable elementwise functions for the numba target's kernels.

numba compiles ``math.exp``, ``math.tanh``, ``math.log1p``, ... in a kernel's loop as one
libm call per element (this llvmlite has no SVML), which keeps the loop scalar: NumPy's
SIMD loops ran 2.5x faster on a million elements, so such kernels were limited to
``numba_kernels.SIZE_BUDGET // k`` elements. The helpers (``templates/helpers.py.j2``;
each op's ``numba_vector`` names its own) compute exp, expm1, log, log1p, tanh, sigmoid
and softplus of a float64 as branch-free arithmetic (range reduction, a polynomial,
selects for the special cases, the exponent read and written through
``np.float64(x).view(np.int64)``):
numba inlines them and LLVM vectorises the kernel's loop, and a kernel calling only
these runs at every size. Their error is at most 1 ulp against the exact value and 2
against ``math``'s functions, measured in ``tests/test_numba_vector_math.py``.

A full sum accumulated in the loop keeps it scalar too (a sequential float sum is not
reassociable): kernels add through ``_radd``, a float add carrying LLVM's ``reassoc``
flag, so the sum becomes one partial sum per SIMD lane.
"""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import PRIMS

# the decorator of the vectorisable helpers: numba inlines them into the kernel's IR
# (LLVM's inliner left the larger ones, _vtanh, as calls, which keep the loop scalar)
VECTOR_DECORATOR = '@numba.njit(cache=True, error_model="numpy", inline="always")'
# the decorator of a kernel calling them: ``contract`` lets LLVM fuse products and sums
# into FMAs (one rounding for two: 1.4x faster on the chain's kernel; the helpers' error
# bounds hold either way); no other fast-math flag, so the exact steps (Cody-Waite
# reduction, Fast2Sum, the selects on nan and inf) stay exact.
FMA_DECORATOR = '@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})'
# the reassociating add of a kernel's sums: a numba intrinsic
SUM_ADD = "_radd"
INTRINSIC_HELPERS = (SUM_ADD,)

# what each helper needs besides itself (``backend.module.HELPER_NEEDS``)
VECTOR_NEEDS = {
    "_vexp_reduce": ("_expm1_poly",),
    "_vexp_hilo": ("_vexp_reduce", "_vscale"),
    "_vexp": ("_vexp_hilo",),
    "_vexpm1": ("_vexp_reduce", "_vscale"),
    "_vlog": ("math", "_vlog_reduce", "_vlog_poly"),
    "_vlog1p": ("math", "_vlog_reduce", "_vlog_poly"),
    "_vtanh": ("math", "_vexp"),
    "_vsigmoid": ("_vexp_hilo",),
    "_vsoftplus": ("_vexp", "_vlog1p"),
}


def vector_call(name: str):
    """The kernel spelling of an op as a call of its vectorisable helper ``name``."""

    def emit(node, a, ctx) -> P.Expr:
        ctx.use(name)
        return P.call(name, *a)

    return emit


def vector_spelling(op: str):
    """The kernel spelling of ``op`` as a call of its vectorisable helper (its record's
    ``numba_vector``), or None."""
    name = PRIMS[op].numba_vector
    return vector_call(name) if name else None


def with_contract(decorator: str) -> str:
    """``decorator`` with FMA contraction on (``FMA_DECORATOR`` from the plain one; a
    summing loop's ``reassoc`` kept beside it)."""
    if 'fastmath={"reassoc"}' in decorator:
        return decorator.replace('{"reassoc"}', '{"contract", "reassoc"}')
    return decorator[:-1] + ', fastmath={"contract"})'


def calls_helpers(ops) -> bool:
    """Whether a kernel computing ``ops`` calls a vectorisable helper (its decorator is
    then ``FMA_DECORATOR``)."""
    return any(PRIMS[op].numba_vector for op in ops)


def sum_line(target: str, term: str, ctx) -> str:
    """The loop's line adding ``term`` to the sum ``target`` (through ``_radd``)."""
    ctx.use(SUM_ADD)
    return f"{target} = {SUM_ADD}({target}, {term})"
