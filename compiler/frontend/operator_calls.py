"""NumPy's functions that are the language's operators (``np.multiply(a, b)`` is ``a *
b``, ``np.negative(a)`` is ``-a``: ``call_names.NUMPY_OPERATORS``), as the syntax tree
of the operator at the call's place. The frontend lowers that tree
(``calls.numpy_operator``) and the syntax-tree check reads it
(``operand_shapes.call_shape``), so both see the operator the user meant.

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from .call_names import NUMPY_OPERATORS

#: the syntax of the operators ``call_names.NUMPY_OPERATORS`` names (unary: ``negative``)
OPERATOR_SYNTAX = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "**": ast.Pow,
    "@": ast.MatMult,
}  # fmt: skip


def operator_name(node: ast.Call) -> str | None:
    """``np.multiply`` (or ``numpy.multiply``) as it is written, for a call of one of
    ``NUMPY_OPERATORS``; None for a call of anything else."""
    f = node.func
    if (
        isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id in ("np", "numpy")
        and f.attr in NUMPY_OPERATORS
    ):
        return f"{f.value.id}.{f.attr}"
    return None


def operator_arity(name: str) -> int:
    """The number of arguments the operator function ``name`` (``np.negative``) takes."""
    return 1 if name.endswith(".negative") else 2


def operator_tree(node: ast.Call):
    """The operator the call ``node`` of ``operator_name`` with its number of arguments
    spells, as a syntax tree at the call's place: ``-a`` or ``a * b``."""
    attr = node.func.attr
    if attr == "negative":
        tree = ast.UnaryOp(ast.USub(), node.args[0])
    else:
        op = OPERATOR_SYNTAX[NUMPY_OPERATORS[attr]]()
        tree = ast.BinOp(node.args[0], op, node.args[1])
    return ast.copy_location(tree, node)
