"""Lowering of names, numbers, arithmetic and attributes (``x.T``, ``np.pi``)."""

from __future__ import annotations

import ast

from .calls import BUILTIN_CALLS, callable_names
from .refusals import (
    EXPONENT_TOO_LARGE,
    MAX_EXPONENT,
    literal_problem,
)
from .scope import CONSTANTS, Scope, emit, expr, value, value_names
from .source import did_you_mean, literal
from .value_names import function_value_error

BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
}


def name_expr(node: ast.Name, scope: Scope) -> int:
    """A name: a variable or parameter, a module or built-in constant, or a dimension
    (its size as a value); a function name or an unknown one is a located error."""
    n = node.id
    if n in scope.env:
        return scope.env[n]
    if n in scope.constants:
        return emit(scope, node, "const", value=scope.constants[n])
    if n in CONSTANTS:
        return emit(scope, node, "const", value=CONSTANTS[n])
    if n in scope.dims:
        return emit(scope, node, "dim", expr=scope.dims[n])
    if n in scope.funcs or n in BUILTIN_CALLS:
        raise function_value_error(node, scope.src)
    hint = did_you_mean(n, value_names(scope)) or did_you_mean(n, callable_names(scope))
    raise scope.src.error(node, f"unknown name '{n}'{hint}")


def constant_expr(node: ast.Constant, scope: Scope) -> int:
    """A number literal as a ``const`` node (``refused_at`` refused any other)."""
    return emit(
        scope,
        node,
        "const",
        value=literal(node, scope.src, literal_problem(node.value)),
    )


def binop_expr(node: ast.BinOp, scope: Scope) -> int:
    """``a <op> b`` for ``+ - * / ** @``, with huge constant exponents refused (a power
    of constants folds where ``core/folding.fold_pow`` folds it, else NumPy computes it
    at run time)."""
    op = BINOPS[type(node.op)]  # refused_at refused another operator or exponent
    left, right = value(node.left, scope), value(node.right, scope)
    if (
        op == "pow"
        and scope.b.is_const(right)
        and abs(scope.b[right].attr("value")) > MAX_EXPONENT
    ):
        raise scope.src.error(node.right, EXPONENT_TOO_LARGE)
    return emit(scope, node, op, left, right)


def unary_expr(node: ast.UnaryOp, scope: Scope) -> int:
    """``-x`` and ``+x`` (``refused_at`` refused another operator)."""
    if isinstance(node.op, ast.USub):
        return emit(scope, node, "neg", value(node.operand, scope))
    return value(node.operand, scope)


def attribute_expr(node: ast.Attribute, scope: Scope) -> int:
    """``np.pi``/``np.e`` and ``x.T`` (reversed axes; a scalar or vector unchanged);
    ``refused_at`` refused any other attribute."""
    if node.attr != "T":
        return emit(scope, node, "const", value=CONSTANTS[node.attr])
    x = expr(node.value, scope)
    nd = len(scope.b.shape(x))
    if nd < 2:
        return x
    return emit(scope, node, "transpose", x, axes=tuple(reversed(range(nd))))
