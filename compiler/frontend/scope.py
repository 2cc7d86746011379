"""What names mean while lowering one function body (``Scope``), and the lowering of an
expression: ``expr`` dispatches on the AST node type through ``EXPRESSIONS``, which
``text`` fills with one handler per node type."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.ir import Builder, Loc
from ..core.prim import PRIMS
from ..errors import ShapeError
from .refusals import refused_at
from .source import MAX_DEPTH, Source, depth

MAX_NODES = 100_000
CONSTANTS = {"pi": math.pi, "e": math.e}


@dataclass
class Signature:
    """A user function available to later ones: its AST and whether it is ``@fuse``."""

    node: ast.FunctionDef
    fuse: bool


@dataclass
class Scope:
    """What names mean while lowering one function body."""

    src: Source
    b: Builder
    constants: dict[str, float]
    funcs: dict[str, Signature]
    env: dict[str, int] = field(default_factory=dict)
    dims: dict[str, object] = field(default_factory=dict)
    inlining: tuple = ()
    fuse: bool = True
    call_loc: Loc | None = None  # inlined code cites the line of the call


#: the lowering of each expression node type, ``(node, scope) -> node index``; filled by
#: ``text`` (the handlers live in the modules that import this one)
EXPRESSIONS: dict[type, Callable[[ast.AST, Scope], int]] = {}


def value_names(scope: Scope) -> set[str]:
    """The names a formula can use as values: variables, parameters, constants, dimensions."""
    return set(scope.env) | set(scope.constants) | set(CONSTANTS) | set(scope.dims)


def lower_expr(node, scope: Scope) -> int:
    """Lower a whole expression (after checking its depth) to a node index."""
    if depth(node) > MAX_DEPTH:
        raise scope.src.error(node, f"expression nested too deeply (limit {MAX_DEPTH})")
    return expr(node, scope)


def emit(scope: Scope, at, op: str, *args: int, **attrs) -> int:
    """Make a node, turning shape errors into a FormulaError at AST node ``at``, worded
    for the operation as written (``as_written``)."""
    try:
        i = scope.b.emit(op, *args, **attrs)
    except ShapeError as exc:
        raise scope.src.error(
            at, str(as_written(scope.b, op, args, attrs) or exc)
        ) from None
    if len(scope.b.nodes) > MAX_NODES:
        raise scope.src.error(at, f"formula too large (more than {MAX_NODES} nodes)")
    return i


def as_written(b: Builder, op: str, args: tuple, attrs: dict) -> ShapeError | None:
    """The shape error of ``op(*args)`` itself, its operands in the formula's order, or
    None: the rewriter may make another node first and fail there (``-a + b`` is made
    as ``b - a``, and ``shapes (b) and (a)`` would name them the other way round)."""
    try:
        PRIMS[op].infer(b, args, attrs)
    except ShapeError as exc:
        return exc
    return None


def expr(node, scope: Scope) -> int:
    """Lower one expression node through ``EXPRESSIONS``; other syntax is a located error."""
    error = refused_at(node, scope.src)
    if error is not None:
        raise error
    return EXPRESSIONS[type(node)](node, scope)


def float_value(i: int, scope: Scope, at) -> int:
    """``i`` if it is a float value (a dimension counts); an Index value or a comparison
    is a located error at ``at``."""
    node = scope.b[i]
    if node.dtype == "int" and node.op != "dim":
        raise scope.src.error(
            at,
            "an Index value can only be used to index an array (or be "
            "indexed: i[:, None])",
        )
    if node.dtype == "bool":
        raise scope.src.error(
            at, "a comparison can only be used as the condition of where()"
        )
    return i


def value(node, scope: Scope) -> int:
    """A float-valued subexpression."""
    return float_value(expr(node, scope), scope, node)
