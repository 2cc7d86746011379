"""``var``/``std``, ``stack``/``concatenate`` and ``np.hstack``/``np.vstack``/
``np.column_stack`` read on the syntax tree (``operand_shapes.call_shape``): their
arguments' forms as ``axis_calls.call_moment``, ``shape_calls.call_sequence`` and
``numpy_calls.call_stacks`` take them (``moment_input``, ``sequence_items``,
``stacks_items``: Stop at any other form, the frontend's errors), and the shape of their
value from their inputs' shapes by the records' rules (``core/shape_rules.py``), each
error worded and placed as the frontend does.

Like the rest of the check it needs nothing but ``ast``.
"""

from __future__ import annotations

import ast
import math

from ..core.shape_rules import (
    DDOF,
    joined_with,
    moment_count,
    norm_axis,
    reduce_shape,
    stacked_with,
)
from ..errors import ShapeError
from .shape_reading import (
    Mismatch,
    Stop,
    literal_int,
    reduced_axes,
    ruled_at,
    written,
)
from .size_forms import sum_written
from .source import is_int_literal


def moment_input(node: ast.Call):
    """The input of ``var(x, axis=k, keepdims=b, ddof=d)`` (``std``) with those keywords
    only; Stop at any other."""
    if {k.arg for k in node.keywords} - {"axis", "keepdims", "ddof"}:
        raise Stop
    return node.args[0]


def moment_at(node: ast.Call, name: str, shape: tuple) -> tuple:
    """The shape of the ``var`` or ``std`` call ``node`` of an input of ``shape``, a
    reduction's (``reduced_axes``: the axes, then ``keepdims``), then ``ddof`` (an int
    literal ``>= 0``, else Mismatch at it), which must be below a number of elements
    reduced that is an int (else Mismatch at the call, ``moment_count``'s words)."""
    given = {k.arg: k.value for k in node.keywords}
    keywords = [k for k in node.keywords if k.arg != "ddof"]
    axes, keep = reduced_axes(shape, keywords)
    ddof = 0
    if "ddof" in given:
        ddof = literal_int(given["ddof"]) if is_int_literal(given["ddof"]) else -1
        if abs(ddof) >= 2**31:
            raise Stop  # "index too large": the frontend's
        if ddof < 0:
            raise Mismatch(given["ddof"], DDOF)
    counted = shape if axes is None else [shape[k] for k in axes]
    if all(isinstance(d, int) for d in counted):
        try:
            moment_count(name, math.prod(counted), ddof)
        except ShapeError as exc:
            raise Mismatch(node, str(exc)) from None
    return reduce_shape(shape, axes, keep)


def sequence_items(node: ast.Call) -> list:
    """The arrays of ``stack([a, b], axis=k)`` (``concatenate``): a list or tuple of one
    or more, the axis by keyword or second; Stop at any other form."""
    args = node.args
    if {k.arg for k in node.keywords} - {"axis"} or not 1 <= len(args) <= 2:
        raise Stop  # the frontend's errors
    if not isinstance(args[0], (ast.List, ast.Tuple)) or not args[0].elts:
        raise Stop
    return args[0].elts


def sequence_at(node: ast.Call, name: str, shapes: list) -> tuple:
    """The shape of the ``stack`` or ``concatenate`` call ``node`` of arrays of
    ``shapes``: the axis (an int literal in range, 0 if not given; else Mismatch at it),
    then the shapes (``stacked_with``, ``joined_with``: Mismatch at the call); Stop at
    a concatenation of scalars and after one whose length the check does not write
    (``joined``)."""
    given = {k.arg: k.value for k in node.keywords}
    nd = len(shapes[0]) + (name == "stack")
    axis = given.get("axis", node.args[1] if len(node.args) == 2 else None)
    k = 0 if axis is None else literal_int(axis)
    if abs(k) >= 2**31 or (name == "concatenate" and nd == 0):
        raise Stop
    try:
        (k,) = norm_axis(k, nd)
    except ShapeError as exc:
        raise Mismatch(axis, str(exc)) from None
    if name == "stack":
        return ruled_at(node, stacked_with, shapes, k)
    return joined(shapes[0], k, ruled_at(node, joined_with, shapes, k))


#: NumPy's functions that join arrays along a fixed axis, taken with an ``np.`` prefix
#: only (``numpy_calls.call_stacks``)
STACKS = frozenset({"hstack", "vstack", "column_stack"})


def not_joined(name: str, shown: str, axis: int) -> str:
    """The words for ``hstack`` (``vstack``, ``column_stack``: ``name``) of arrays whose
    shapes, ``shown`` as the user wrote them, do not join along ``axis``."""
    return (
        f"{name}(): shapes {shown} do not join along axis {axis} (the other axes must "
        "be equal)"
    )


def stacks_items(node: ast.Call) -> list:
    """The arrays of ``np.hstack([a, b])`` (``vstack``, ``column_stack``): one list or
    tuple of one or more, no keyword; Stop at any other form (the frontend's error)."""
    if len(node.args) != 1 or node.keywords:
        raise Stop
    seq = node.args[0]
    if not isinstance(seq, (ast.List, ast.Tuple)) or not seq.elts:
        raise Stop
    return seq.elts


def stacks_at(node: ast.Call, name: str, shapes: list) -> tuple:
    """The shape of ``np.hstack``, ``np.vstack`` or ``np.column_stack`` of arrays of
    ``shapes``, as ``numpy_calls.call_stacks`` makes it: ``hstack`` joins along axis 1
    (vectors and scalars, as vectors of one, along axis 0), ``vstack`` along axis 0 with
    each vector a row, ``column_stack`` along axis 1 with each vector a column (a scalar
    a ``(1, 1)`` matrix); Mismatch at the call where they do not join (``not_joined``);
    Stop after a join whose length the check does not write (``joined``)."""
    shown = " and ".join(written(s) for s in shapes)
    if name == "hstack":
        shapes = [s or (1,) for s in shapes]
        axis = 0 if len(shapes[0]) == 1 else 1
    else:
        shapes = [at_least_two(s, name) for s in shapes]
        axis = 0 if name == "vstack" else 1
    try:
        sizes = joined_with(shapes, axis, written)
    except ShapeError:
        raise Mismatch(node, not_joined(name, shown, axis)) from None
    return joined(shapes[0], axis, sizes)


def joined(shape: tuple, axis: int, sizes: list) -> tuple:
    """``shape`` with its ``axis`` the sum of ``sizes`` (``size_forms.sum_written``);
    Stop where the check does not write the sum."""
    total = sum_written(sizes)
    if total is None:
        raise Stop
    return shape[:axis] + (total,) + shape[axis + 1 :]


def at_least_two(shape: tuple, name: str) -> tuple:
    """``shape`` with at least two dimensions, as ``vstack`` (a vector a row) or
    ``column_stack`` (a vector a column) takes it; a scalar is ``(1, 1)``."""
    if not shape:
        return (1, 1)
    if len(shape) == 1:
        return (1,) + shape if name == "vstack" else shape + (1,)
    return shape
