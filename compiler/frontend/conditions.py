"""Comparisons: the condition of ``where(cond, a, b)``, and a comparison used as a number
(a 0/1 mask)."""

from __future__ import annotations

import ast

from .scope import Scope, emit, value

COMPARES = {
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
    ast.Eq: "eq",
    ast.NotEq: "ne",
}


def condition(c: ast.Compare, scope: Scope) -> int:
    """The bool node of one comparison ``a < b`` (``<, <=, >, >=, ==, !=``)."""
    if len(c.ops) != 1:
        raise scope.src.error(
            c,
            "chained comparisons are not supported: compare two values "
            "at a time, as in (0 < x) * (x < 1)",
        )
    if type(c.ops[0]) not in COMPARES:
        word = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in"}.get(
            type(c.ops[0]), "not in"
        )
        raise scope.src.error(
            c, f"comparison '{word}' is not supported: use <, <=, >, >=, == or !="
        )
    return emit(
        scope,
        c,
        COMPARES[type(c.ops[0])],
        value(c.left, scope),
        value(c.comparators[0], scope),
    )


def compare_expr(node: ast.Compare, scope: Scope) -> int:
    """A comparison used as a number (``x * (t - (x >= 0))``): the float mask 1.0 where it
    holds, else 0.0, as NumPy's bools count in arithmetic. Built as ``where(c, 1.0, 0.0)``,
    whose adjoint sends nothing to the condition or the constants: the mask is a constant
    for differentiation (its derivative is 0 away from the boundary)."""
    cond = condition(node, scope)
    return emit(
        scope,
        node,
        "where",
        cond,
        emit(scope, node, "const", value=1.0),
        emit(scope, node, "const", value=0.0),
    )
