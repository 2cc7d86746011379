"""The operation record (``Prim``) and the registry that operations register into.

The registry lives here, in the core layer, so the IR can read shape rules without
importing the operations: ``ops/`` fills ``PRIMS`` when it is imported (as JAX's
interpreters own their rule tables and ``lax.py`` fills them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Prim:
    name: str
    infer: Callable
    emit: Callable | None = None
    adjoint: Callable | None = None
    stmts: Callable | None = None
    fold: Callable | None = None
    sym: Callable | None = None
    elementwise: bool = False
    scalar: Callable | None = (
        None  # spelling with Python floats and ``math`` (None: as emit)
    )
    stmts_into: Callable | None = (
        None  # statements adding the value into an existing array
    )
    has_scalar: bool = False  # whether the op can be emitted in scalar (``math``) mode


PRIMS: dict[str, Prim] = {}


def prim(name: str, infer, emit=None, adjoint=None, **kw) -> None:
    """Register the primitive ``name``; ``scalar=`` gives its spelling on Python floats."""
    if "scalar" in kw or name in SAME_ON_FLOATS:
        kw["has_scalar"] = True
    PRIMS[name] = Prim(name, infer, emit, adjoint, **kw)


class NoScalarSpelling(Exception):
    """An op with no spelling on Python floats: the function is emitted with NumPy."""


def spell(node, a, ctx):
    """The printed expression of ``node`` with arguments ``a``, NumPy or scalar (``ctx.math``)."""
    prim_ = PRIMS[node.op]
    if not getattr(ctx, "math", False):
        return prim_.emit(node, a, ctx)
    if not prim_.has_scalar:
        raise NoScalarSpelling(node.op)
    return (prim_.scalar or prim_.emit)(node, a, ctx)


# Ops whose NumPy spelling is also right on Python floats.
SAME_ON_FLOATS = {
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
    "and",
    "const",
    "param",
    "dim",
    "fused",
    "input_ref",
}

# Ops whose spelling on Python floats never raises (inf and nan come out as NumPy's do;
# the scalar sigmoid guards its exp): the scalar build needs no NumPy fallback for them.
# Every other op (division, powers, exp, log, sqrt, sin of inf, ...) may raise.
RAISE_FREE_ON_FLOATS = {
    "add",
    "sub",
    "mul",
    "neg",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
    "and",
    "or",
    "not",
    "const",
    "param",
    "dim",
    "input_ref",
    "where",
    "abs",
    "relu",
    "maximum",
    "minimum",
    "sign",
    "sigmoid",
    "softplus",
    "tanh",
    "erf",
    "arctan2",
}


def may_raise_on_floats(node) -> bool:
    """Whether ``node``'s spelling on Python floats can raise (a fused node: its body)."""
    if node.op == "fused":
        return any(
            op not in RAISE_FREE_ON_FLOATS
            for op, _, _ in node.attr("body")
            if op != "input"
        )
    return node.op not in RAISE_FREE_ON_FLOATS
