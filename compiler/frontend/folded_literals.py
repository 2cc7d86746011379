"""A constant expression of number literals (``9 ** 9``, ``-1e7``, ``1.0 / 0``) folded
as the frontend folds it (``expressions.binop_expr`` lowers it to constants, which the
rewriter folds with Python's float arithmetic and ``core/folding.py``), so that the
syntax-tree check refuses the exponents past the limit that the frontend refuses
(``operand_shapes.shape_of``: ``0.9 ** 9 ** 9``).

It needs nothing but ``ast`` and ``core/folding.py``.
"""

from __future__ import annotations

import ast
import operator

from ..core.folding import divide_by_zero, fold_pow

#: the operators a formula folds on constants, by Python's float arithmetic
FOLDED = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def folded(node) -> float | None:
    """The value of ``node`` if it is a number literal (not a bool), ``-`` or ``+`` of
    one, or ``+ - * / **`` of two, that the frontend folds to a constant; else None (a
    name, a call, a power that is left to NumPy at run time: ``2.0 ** 0.5``)."""
    if isinstance(node, ast.Constant):
        v = node.value
        return float(v) if type(v) in (int, float) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = folded(node.operand)
        return -v if v is not None and isinstance(node.op, ast.USub) else v
    if not isinstance(node, ast.BinOp):
        return None
    left, right = folded(node.left), folded(node.right)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Pow):
        return fold_pow(left, right)
    if isinstance(node.op, ast.Div):
        return divide_by_zero(left, right) if right == 0.0 else left / right
    f = FOLDED.get(type(node.op))
    return None if f is None else f(left, right)
