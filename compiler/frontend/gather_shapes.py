"""An index of integer arrays and whole slices, read on the syntax tree
(``operand_shapes.shape_of``): ``scores[arange(n), y]``, the picked entries of a softmax
loss, ``x[i]`` with an ``Index`` parameter ``i``, ``W[:, i]``, and a word embedding
``W_embed[captions[:, t]]``, an ``Index`` parameter indexed inside the index. The shape
is the ``getitem`` record's (``ops/shape_ops.py`` ``index_shape``): the arrays' shapes
broadcast together where the first array is (first, where the arrays are not side by
side), the sliced axes and those not indexed in their places.

Like the rest of the check it needs nothing but ``ast``; it reads no other index (ints,
bounded slices or ``None`` beside the arrays are the frontend's). An ``arange`` the
frontend refuses by its form is its error (``arange_size``).
"""

from __future__ import annotations

import ast

from ..core.shape_rules import too_many_indices
from .call_names import called_name
from .shape_reading import (
    DIMS,
    LOOPS,
    SIZES,
    SRC,
    Mismatch,
    Refused,
    Stop,
    broadcast_at,
    scoped_index,
    written,
)

#: the key of the ``Index`` parameters' shapes in a function's scope
INDEXES = "@indexes"


def array_items(index, scope: dict) -> list | None:
    """The items of ``index`` where one or more is an integer array and the others are
    whole slices (``:``): None for a whole slice, the shape of an array, which is
    ``arange(d)`` (``d`` a dimension of the parameters or a positive int literal;
    ``(d,)``), an ``Index`` parameter the function has not rebound (its annotation's
    shape) or such a parameter indexed with integers, slices and ``None``
    (``captions[:, t]``: the shape ``shape_reading.indexed`` gives, whose errors it
    raises); None for any other index. Refused at an ``arange`` the frontend refuses by
    its form; Stop at an indexed parameter of no axis left."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    out: list = []
    for it in items:
        if isinstance(it, ast.Slice) and (it.lower, it.upper, it.step) == (None,) * 3:
            out.append(None)
        elif isinstance(it, ast.Call) and called_name(it) == "arange":
            out.append((arange_size(it, scope),))
        elif index_name(it, scope) is not None:
            out.append(scope[INDEXES][it.id])
        elif isinstance(it, ast.Subscript) and index_name(it.value, scope) is not None:
            out.append(scoped_index(scope[INDEXES][it.value.id], it.slice, scope, True))
            if not out[-1]:
                raise Stop  # a 0-d index: not followed
        else:
            return None
    return out if any(e is not None for e in out) else None


def index_name(node, scope: dict) -> str | None:
    """``node``'s name if it is an ``Index`` parameter the function has not rebound."""
    if isinstance(node, ast.Name) and scope.get(node.id) is None:
        return node.id if node.id in scope.get(INDEXES, {}) else None
    return None


def arange_size(node: ast.Call, scope: dict) -> str | int:
    """The length of ``arange(d)`` as ``indexing.arange_expr`` reads it: a dimension of
    the parameters or a positive int literal. Refused where the frontend refuses it by
    its form, with its error: another number of arguments, a keyword, an argument that
    is no name nor int literal, or a name that is no size; Stop at another size (a loop
    variable, a dimension the return alone declares)."""
    src = scope[SRC]
    if len(node.args) != 1 or node.keywords:
        raise Refused(src.error(node, "arange takes one dimension: arange(n)"))
    a = node.args[0]
    if isinstance(a, ast.Name) and a.id in scope.get(DIMS, ()):
        return a.id
    if isinstance(a, ast.Constant) and type(a.value) is int and 0 < a.value < 2**31:
        return a.value
    if isinstance(a, ast.Name) and a.id in {
        *scope.get(SIZES, ()),
        *scope.get(LOOPS, ()),
    }:
        raise Stop
    raise Refused(src.error(a, "arange takes a dimension name or a positive integer"))


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
