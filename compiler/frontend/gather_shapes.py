"""An index of integer arrays and whole slices, read on the syntax tree
(``operand_shapes.shape_of``): ``scores[arange(n), y]``, the picked entries of a softmax
loss, ``x[i]`` with an ``Index`` parameter ``i``, and ``W[:, i]``. The shape is the
``getitem`` record's (``ops/shape_ops.py`` ``index_shape``): the arrays' shapes
broadcast together where the first array is (first, where the arrays are not side by
side), the sliced axes and those not indexed in their places.

Like the rest of the check it needs nothing but ``ast``; it reads no other index (ints,
bounded slices or ``None`` beside the arrays are the frontend's).
"""

from __future__ import annotations

import ast

from ..core.shape_rules import too_many_indices
from .call_names import called_name
from .shape_reading import Mismatch, Stop, broadcast_at, literal_int, written

#: the key of the ``Index`` parameters' shapes in a function's scope
INDEXES = "@indexes"


def array_items(index, scope: dict, dims) -> list | None:
    """The items of ``index`` where one or more is an integer array and the others are
    whole slices (``:``): None for a whole slice, the shape of an array, which is
    ``arange(d)`` (``d`` a name of ``dims`` or a positive int literal; ``(d,)``) or an
    ``Index`` parameter the function has not rebound (its annotation's shape); None for
    any other index. Stop at an ``arange`` the frontend refuses."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    out: list = []
    for it in items:
        if isinstance(it, ast.Slice) and (it.lower, it.upper, it.step) == (None,) * 3:
            out.append(None)
        elif isinstance(it, ast.Call) and called_name(it) == "arange":
            out.append((arange_size(it, dims),))
        elif isinstance(it, ast.Name) and scope.get(it.id) is None:
            if it.id not in scope.get(INDEXES, {}):
                return None
            out.append(scope[INDEXES][it.id])
        else:
            return None
    return out if any(e is not None for e in out) else None


def arange_size(node: ast.Call, dims) -> str | int:
    """The length of ``arange(d)`` as ``indexing.arange_expr`` reads it: a dimension name
    or a positive int literal; Stop at anything else (the frontend's error)."""
    if len(node.args) != 1 or node.keywords:
        raise Stop
    a = node.args[0]
    if isinstance(a, ast.Name) and a.id in dims:
        return a.id
    if isinstance(a, ast.Constant) and 0 < literal_int(a) < 2**31:
        return a.value
    raise Stop


def gathered_at(node: ast.Subscript, shape: tuple, items: list) -> tuple:
    """The shape of ``node``, ``x[...]`` of integer arrays and whole slices (``items``,
    ``array_items``) for ``x`` of ``shape``, by the ``getitem`` record's rule: the
    arrays' shapes broadcast together (else Mismatch at ``node``, as the record words
    it) stand where the first array is when the arrays are side by side, else first;
    the sliced axes and those not indexed keep their places. Mismatch at more items than
    axes (``too_many_indices``); Stop at an ``arange`` of a literal length on an axis of
    a literal size (``indexing.arange_in_bounds``' error, which comes first)."""
    for size, axis in zip(items, shape):
        if size is not None and isinstance(size[0], int) and isinstance(axis, int):
            raise Stop  # arange(3) of an axis of 2: indexing.arange_in_bounds
    if len(items) > len(shape):
        raise Mismatch(node, str(too_many_indices(len(items), shape, written)))
    arrays = [e for e in items if e is not None]
    gathered = broadcast_at(node, arrays)
    kept = [axis for e, axis in zip(items, shape) if e is None]
    at = [k for k, e in enumerate(items) if e is not None]
    first = at[0]
    side_by_side = at == list(range(first, first + len(at)))
    place = sum(e is None for e in items[:first]) if side_by_side else 0
    rest = list(shape[len(items) :])
    return tuple(kept[:place]) + gathered + tuple(kept[place:] + rest)
