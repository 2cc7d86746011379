"""Lowering of names, numbers, arithmetic and attributes (``x.T``, ``np.pi``)."""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .calls import BUILTIN_CALLS, callable_names
from .scope import CONSTANTS, Scope, emit, expr, value, value_names
from .source import did_you_mean, literal
from .unsupported import operator_error

MAX_EXPONENT = 1e6
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
        raise scope.src.error(node, f"'{n}' is a function; call it")
    hint = did_you_mean(n, value_names(scope)) or did_you_mean(n, callable_names(scope))
    raise scope.src.error(node, f"unknown name '{n}'{hint}")


def constant_expr(node: ast.Constant, scope: Scope) -> int:
    """A number literal as a ``const`` node."""
    if node.value is None:
        raise scope.src.error(node, "None is only allowed inside an index")
    return emit(
        scope,
        node,
        "const",
        value=literal(node, scope.src, literal_problem(node.value)),
    )


def literal_problem(v) -> str:
    """The error message for a literal that is not a number (``...``, ``True``, ``1j``)."""
    if v is Ellipsis:
        return "`...` is not supported (write the slices out: `x[:, 0]`)"
    if isinstance(v, bool):
        return f"`{v}` is not a number here; write {float(v)}"
    if isinstance(v, complex):
        return "a complex number is not supported (formulas are real-valued)"
    if isinstance(v, bytes):
        return "a bytes string is not supported in a formula"
    return "this literal is not a number"


def binop_expr(node: ast.BinOp, scope: Scope) -> int:
    """``a <op> b`` for ``+ - * / ** @``, with huge constant exponents refused and an
    integer power of constants that does not fold (overflow) a located error."""
    op = BINOPS.get(type(node.op))
    if op is None:
        raise operator_error(node, node.op, scope.src)
    if (
        op == "pow"
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, (int, float))
        and not isinstance(node.right.value, bool)
    ):
        if abs(node.right.value) > MAX_EXPONENT:
            raise scope.src.error(
                node.right, f"exponent too large (limit {MAX_EXPONENT:g})"
            )
    left, right = value(node.left, scope), value(node.right, scope)
    if (
        op == "pow"
        and scope.b.is_const(right)
        and abs(scope.b[right].attr("value")) > MAX_EXPONENT
    ):
        raise scope.src.error(
            node.right, f"exponent too large (limit {MAX_EXPONENT:g})"
        )
    out = emit(scope, node, op, left, right)
    b = scope.b
    if op == "pow" and b.is_const(left) and b.is_const(right) and not b.is_const(out):
        k = b[right].attr("value")
        if k == int(k):  # integer powers of constants are folded unless they overflow
            raise scope.src.error(node, "constant expression overflows or is undefined")
    return out


def unary_expr(node: ast.UnaryOp, scope: Scope) -> int:
    """``-x`` and ``+x``."""
    if isinstance(node.op, ast.USub):
        return emit(scope, node, "neg", value(node.operand, scope))
    if isinstance(node.op, ast.UAdd):
        return value(node.operand, scope)
    raise operator_error(node, node.op, scope.src)


def attribute_expr(node: ast.Attribute, scope: Scope) -> int:
    """``np.pi``/``np.e`` and ``x.T`` (reversed axes; a scalar or vector unchanged)."""
    if (
        isinstance(node.value, ast.Name)
        and node.value.id in ("np", "numpy")
        and node.attr in CONSTANTS
    ):
        return emit(scope, node, "const", value=CONSTANTS[node.attr])
    if node.attr == "T":
        x = expr(node.value, scope)
        nd = len(scope.b.shape(x))
        if nd < 2:
            return x
        return emit(scope, node, "transpose", x, axes=tuple(reversed(range(nd))))
    raise attribute_error(node, scope)


def attribute_error(node: ast.Attribute, scope: Scope) -> FormulaError:
    """The error for ``x.attr`` other than ``.T`` and ``np.pi``/``np.e``, with what to
    write instead where there is an obvious alternative."""
    if isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy"):
        return scope.src.error(
            node,
            f"'{ast.unparse(node)}' is not a formula constant (the "
            "constants are `pi` and `e`, or `np.pi` and `np.e`)",
        )
    if node.attr in ("shape", "size", "ndim"):
        return scope.src.error(
            node,
            f"attribute access '.{node.attr}' is not supported; sizes "
            "are dimension names: in `x: Vector[n]`, write `n`",
        )
    return scope.src.error(
        node, f"attribute access '.{node.attr}' is not supported (only .T)"
    )
