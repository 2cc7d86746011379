"""Reading the arguments of a built-in call: arity, keywords, axes, ``keepdims``, ``ddof``."""

from __future__ import annotations

import ast

from ..core.shape_rules import AXIS_NOT_INT, DDOF, KEEPDIMS, NO_AXIS, norm_axis
from ..errors import ShapeError
from .call_signatures import arity_error
from .dimensions import index_int
from .scope import Scope
from .source import is_int_literal


def arity(node: ast.Call, scope: Scope, name: str, n: int, keywords=()) -> None:
    """Refuse a call of ``name`` without exactly ``n`` positional arguments, or with a
    keyword other than ``keywords`` (``call_signatures.arity_error``)."""
    error = arity_error(node, name, n, keywords, scope.src)
    if error is not None:
        raise error


def kwarg(node: ast.Call, key: str, pos: int, default):
    """The argument ``key`` of a call, given by keyword or at position ``pos``, else
    ``default``."""
    for k in node.keywords:
        if k.arg == key:
            return k.value
    if len(node.args) > pos:
        return node.args[pos]
    return default


def read_axis(node, scope: Scope, ndim: int, allow_none=True):
    """An ``axis`` argument as a normalised tuple of axes of an ``ndim``-array, or None for
    all axes (``axis=None`` only when ``allow_none``)."""
    if node is None or (
        isinstance(node, ast.Constant) and node.value is None and allow_none
    ):
        return None
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    if not items:  # NumPy's axis=() reduces over no axis: a sum is x itself
        raise scope.src.error(node, NO_AXIS)
    vals = []
    for it in items:
        if not is_int_literal(it):
            raise scope.src.error(it, AXIS_NOT_INT)
        vals.append(index_int(it, scope, False))
    try:
        return norm_axis(tuple(vals) if isinstance(node, ast.Tuple) else vals[0], ndim)
    except ShapeError as exc:
        raise scope.src.error(node, str(exc)) from None


def read_bool(node, scope: Scope) -> bool:
    """A ``keepdims`` argument: a ``True``/``False`` literal (False when not given)."""
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    raise scope.src.error(node, KEEPDIMS)


def read_ddof(node, scope: Scope) -> int:
    """``ddof=``: a non-negative int literal (0 when not given)."""
    if node is None:
        return 0
    if not is_int_literal(node) or index_int(node, scope, False) < 0:
        raise scope.src.error(node, DDOF)
    return index_int(node, scope, False)
