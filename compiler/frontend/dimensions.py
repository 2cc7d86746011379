"""Integer literals (indices, slice bounds, axes) and dimension expressions (``n - 1``,
``n // 2``, ``4 * H``) as SymPy integer expressions of the dimension names."""

from __future__ import annotations

import ast
import operator

import sympy

from .dimension_refusals import (
    FLOOR_DIVISOR,
    NOT_AN_EXPRESSION,
    TOO_LARGE,
    not_a_dimension,
)
from .index_refusals import STEP_NOT_INT
from .scope import Scope
from .source import is_int_literal

DIM_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def dim_expression(node, scope: Scope):
    """A SymPy integer expression of dimension names and int literals (``+ - * //``, unary
    minus; a floor division by a positive literal), else a located error."""
    if isinstance(node, ast.Name) and node.id in scope.dims:
        return scope.dims[node.id]
    if is_int_literal(node):
        return sympy.Integer(index_int(node, scope, False))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -dim_expression(node.operand, scope)
    if isinstance(node, ast.BinOp) and type(node.op) in DIM_OPS:
        return DIM_OPS[type(node.op)](
            dim_expression(node.left, scope), dim_expression(node.right, scope)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
        k = index_int(node.right, scope, False) if is_int_literal(node.right) else 0
        if k <= 0:
            raise scope.src.error(node.right, FLOOR_DIVISOR)
        return sympy.floor(dim_expression(node.left, scope) / k)
    if isinstance(node, ast.Name):
        raise not_a_dimension(node, scope.src)
    raise scope.src.error(node, NOT_AN_EXPRESSION)


def index_int(node, scope: Scope, optional: bool):
    """An int literal (``is_int_literal``) as an int below 2**31 in magnitude; None for a
    missing optional one."""
    if node is None and optional:
        return None
    if not is_int_literal(node):
        raise scope.src.error(node, STEP_NOT_INT)
    sign = -1 if isinstance(node, ast.UnaryOp) else 1
    v = node.operand.value if sign < 0 else node.value
    if abs(v) >= 2**31:
        raise scope.src.error(node, TOO_LARGE)
    return sign * v
