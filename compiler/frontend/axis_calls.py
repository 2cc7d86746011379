"""Lowering of the built-in calls along axes: reductions (``sum``, ``mean``, ``max``, ...),
``softmax``/``log_softmax`` and the moments ``var``/``std``."""

from __future__ import annotations

from ..core.shapes import size
from .arguments import kwarg, read_axis, read_bool, read_ddof
from .scope import emit, value


def call_reduction(node, scope, name):
    """``sum(x, axis=None, keepdims=False)`` and the other reductions; all axes
    without keepdims are written as ``axis=None``."""
    if not 1 <= len(node.args) <= 2:
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    for k in node.keywords:
        if k.arg not in ("axis", "keepdims"):
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    axis = read_axis(kwarg(node, "axis", 1, None), scope, nd)
    keep = read_bool(kwarg(node, "keepdims", 2, None), scope)
    if axis is not None and len(axis) == nd and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep)


def call_softmax(node, scope, name):
    """``softmax(x, axis=-1)`` and ``log_softmax``: one axis of an array."""
    if not 1 <= len(node.args) <= 2:
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    for k in node.keywords:
        if k.arg != "axis":
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    if nd == 0:
        raise scope.src.error(node, f"{name}() needs an array, not a scalar")
    ax_node = kwarg(node, "axis", 1, None)
    axis = (
        read_axis(ax_node, scope, nd, allow_none=False)
        if ax_node is not None
        else (nd - 1,)
    )
    if axis is None or len(axis) != 1:
        raise scope.src.error(node, f"{name}() takes a single axis")
    return emit(scope, node, name, x, axis=axis[0])


def call_moment(node, scope, name):
    """``var(x, axis=None, ddof=0, keepdims=False)`` and ``std``, as NumPy's: ``ddof`` an
    int literal below the number of elements reduced (when that is known)."""
    if not 1 <= len(node.args) <= 2:
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    for k in node.keywords:
        if k.arg not in ("axis", "ddof", "keepdims"):
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    axis = read_axis(kwarg(node, "axis", 1, None), scope, len(shape))
    keep = read_bool(kwarg(node, "keepdims", len(node.args), None), scope)
    ddof = read_ddof(kwarg(node, "ddof", len(node.args), None), scope)
    n = size(shape if axis is None else tuple(shape[k] for k in axis))
    if isinstance(n, int) and ddof >= n:
        raise scope.src.error(
            node,
            f"{name}() with ddof={ddof} of {n} element{'s' * (n != 1)} "
            f"divides by {n - ddof}",
        )
    if axis is not None and len(axis) == len(shape) and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep, ddof=ddof)
