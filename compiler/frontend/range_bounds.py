"""The errors of a loop's ``range`` bounds, worded once for the frontend
(``loops.bound``, ``loops.read_range``) and for the syntax-tree check that reports them
before SymPy is imported (``statement_shapes.loop``): a bound that is no integer
expression of int literals, dimensions and integral module constants, one that reads an
enclosing loop's variable, and a step that is no nonzero integer.

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .shape_reading import Stop
from .source import Source, is_int_literal

RANGE_BOUND = (
    "a range bound is an integer literal, a dimension, an integral module constant "
    "or + - * // of them (T - 1)"
)
LOOP_BOUND = (
    "a loop's bounds cannot depend on an enclosing loop's variable "
    "(the trip count is fixed when the function is called)"
)
RANGE_STEP = "a range step is a nonzero integer"


def range_bounds_error(
    it: ast.Call, dims: set, loops: set, constants: set, src: Source
) -> FormulaError | None:
    """The frontend's error at the bounds of ``range(...)`` ``it`` (each read in turn,
    then the step), else None; raises Stop where the check cannot tell without the
    values of the file's constants or SymPy's simplification (a constant in a bound, a
    floor division or a step of names)."""
    try:
        values = [bound_value(a, dims, loops, constants, src) for a in it.args]
    except FormulaError as error:
        return error
    if len(values) == 3 and values[2] is None:
        raise Stop  # n - n + 1 is an integer to SymPy
    if len(values) == 3 and values[2] == 0:
        return src.error(it.args[2], RANGE_STEP)
    return None


def bound_value(node, dims: set, loops: set, constants: set, src: Source) -> int | None:
    """The value of the bound ``node`` as ``loops.bound`` reads it: an int, or None for
    an expression of dimensions; raises its error at the first part it refuses, Stop at
    a module constant (its value is not read here) and at a floor division by names."""
    if is_int_literal(node):
        v = node.operand.value if isinstance(node, ast.UnaryOp) else node.value
        return -v if isinstance(node, ast.UnaryOp) else v
    if isinstance(node, ast.Name):
        if node.id in loops:
            raise src.error(node, LOOP_BOUND)
        if node.id in dims:
            return None
        if node.id in constants:
            raise Stop
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = bound_value(node.operand, dims, loops, constants, src)
        return None if v is None else -v
    ops = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ops):
        a = bound_value(node.left, dims, loops, constants, src)
        b = bound_value(node.right, dims, loops, constants, src)
        if isinstance(node.op, ast.FloorDiv):
            if b is None:
                raise Stop  # (n + n) // n: SymPy may make it an integer
            if b > 0:
                return None if a is None else a // b
        elif a is None or b is None:
            return None
        else:
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]
    raise src.error(node, RANGE_BOUND)
