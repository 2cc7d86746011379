"""Lowering of the built-in calls along axes: reductions (``sum``, ``mean``, ``max``, ...),
``norm`` (NumPy's ``np.linalg.norm``), ``softmax``/``log_softmax`` and the moments
``var``/``std``."""

from __future__ import annotations

import ast

from ..core.prim import PRIMS
from ..core.shape_rules import moment_count
from ..core.shapes import size
from ..errors import ShapeError
from .arguments import kwarg, read_axis, read_bool, read_ddof
from .call_signatures import signature_error
from .scope import emit, value


def call_reduction(node, scope, name):
    """``sum(x, axis=None, keepdims=False)`` and the other reductions; all axes
    without keepdims are written as ``axis=None``."""
    signature(node, scope, name, "reduction")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    axis = read_axis(kwarg(node, "axis", 1, None), scope, nd)
    keep = read_bool(kwarg(node, "keepdims", 2, None), scope)
    nonempty(node, scope, name, scope.b.shape(x), axis)
    if axis is not None and len(axis) == nd and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep)


def signature(node, scope, name: str, form: str) -> None:
    """Refuse a call of ``name`` of ``form`` with arguments it does not take, before any
    is lowered (``call_signatures.signature_error``: another number of them, a keyword
    it does not know, Python's ``max(a, b)``)."""
    error = signature_error(node, name, form, scope.src)
    if error is not None:
        raise error


def nonempty(node, scope, name: str, shape: tuple, axis) -> None:
    """Refuse a reduction that needs an element (``Prim.needs_nonempty``: a mean, a max,
    a softmax's shift) over an axis of a known size 0 (``max(x[:0])``). A size that depends
    on the inputs is checked by the emitted code (``backend/checks.py``)."""
    sizes = shape if axis is None else [shape[k] for k in axis]
    if PRIMS[name].needs_nonempty and 0 in [d for d in sizes if isinstance(d, int)]:
        raise scope.src.error(
            node, f"{name}() over an axis of 0 elements: it needs at least one"
        )


def call_norm(node, scope, name):
    """``norm(x, ord=None, axis=None, keepdims=False)``, in ``np.linalg.norm``'s argument
    order: the 2-norm of the reduced entries. ``ord`` may be None, 2 where one axis is
    reduced, or ``'fro'`` where two are (NumPy's other orders are located errors that say
    what to write); all axes without keepdims are written as ``axis=None``."""
    signature(node, scope, name, "norm")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    axis = read_axis(kwarg(node, "axis", 2, None), scope, nd)
    keep = read_bool(kwarg(node, "keepdims", 3, None), scope)
    ord_node = kwarg(node, "ord", 1, None)
    if ord_node is not None:
        check_ord(ord_node, nd if axis is None else len(axis), node, scope)
    nonempty(node, scope, name, scope.b.shape(x), axis)
    if axis is not None and len(axis) == nd and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep)


def check_ord(ord_node, reduced: int, node, scope) -> None:
    """Raise the located error for a ``norm`` order other than the 2-norm gradc computes
    over ``reduced`` axes: None, ``2`` (one axis; NumPy's ``2`` of a matrix is its
    largest singular value) or ``'fro'`` (two axes; NumPy refuses it for a vector). The
    error says what to write for NumPy's other vector orders and a matrix's 1 and inf."""
    text = ast.unparse(ord_node)
    given = (
        ord_node.value
        if isinstance(ord_node, ast.Constant)
        else text.replace("numpy.", "np.")
    )
    if given is None or (reduced == 1 and given in (2, 2.0)):
        return
    if reduced == 2 and given == "fro":
        return
    x = ast.unparse(node.args[0])
    axis = kwarg(node, "axis", 2, None)
    keep = kwarg(node, "keepdims", 3, None)
    along = (f", axis={ast.unparse(axis)}" if axis is not None else "") + (
        f", keepdims={ast.unparse(keep)}" if keep is not None else ""
    )
    if reduced == 1:
        power = type(given) in (int, float) and given != 0  # NumPy's sum(|x|^p)^(1/p)
        instead = ORD_VECTOR.get(given, ORD_POWER if power else "")
    elif reduced == 2 and axis is None:
        instead = ORD_MATRIX.get(given, "")
    else:
        instead = ""
    hint = "; write " + instead.format(x=x, p=text, along=along) if instead else ""
    raise scope.src.error(
        ord_node,
        "norm() computes the 2-norm (ord None or 2 over one axis, None or 'fro' over "
        f"two), not ord={text} over {reduced} ax{'is' if reduced == 1 else 'es'}"
        + hint,
    )


#: what to write for ``norm(x, ord)`` over one axis, by the order
ORD_VECTOR = {
    1: "`sum(abs({x}){along})`",
    "np.inf": "`max(abs({x}){along})`",
    "-np.inf": "`min(abs({x}){along})`",
    "fro": "`norm({x}{along})`",
}
#: ... and for any other nonzero number ``p``
ORD_POWER = "`sum(abs({x}) ** {p}{along}) ** (1 / {p})`"

#: what to write for ``norm(x, ord)`` of a matrix over both its axes, by the order
ORD_MATRIX = {
    1: "`max(sum(abs({x}), axis=0))`",
    "np.inf": "`max(sum(abs({x}), axis=1))`",
}


def array_and_axis(node, scope, name: str, form: str) -> tuple:
    """The lowered array of ``name(x, axis)``, a call of ``form``, and the syntax node
    of its ``axis`` (by position or keyword; None when not given): no other argument."""
    signature(node, scope, name, form)
    return value(node.args[0], scope), kwarg(node, "axis", 1, None)


def call_softmax(node, scope, name):
    """``softmax(x, axis=-1)`` and ``log_softmax``: one axis of an array."""
    x, ax_node = array_and_axis(node, scope, name, "softmax")
    nd = len(scope.b.shape(x))
    if nd == 0:
        raise scope.src.error(node, f"{name}() needs an array, not a scalar")
    axis = (
        read_axis(ax_node, scope, nd, allow_none=False)
        if ax_node is not None
        else (nd - 1,)
    )
    if axis is None or len(axis) != 1:
        raise scope.src.error(node, f"{name}() takes a single axis")
    nonempty(node, scope, name, scope.b.shape(x), axis)
    return emit(scope, node, name, x, axis=axis[0])


def call_scan(node, scope, name):
    """``cumsum(x, axis=None)``, as NumPy's: the running sum along one ``axis``; without
    it, of the flattened entries (a scalar's is a vector of one)."""
    x, ax_node = array_and_axis(node, scope, name, "scan")
    shape = scope.b.shape(x)
    axis = read_axis(ax_node, scope, len(shape))
    if axis is None:
        if len(shape) != 1:
            x = emit(scope, node, "reshape", x, shape=(size(shape),))
        axis = (0,)
    if len(axis) != 1:
        raise scope.src.error(node, f"{name}() takes a single axis")
    return emit(scope, node, name, x, axis=axis[0])


def call_moment(node, scope, name):
    """``var(x, axis=None, ddof=0, keepdims=False)`` and ``std``, as NumPy's: ``ddof`` an
    int literal below the number of elements reduced (when that is known)."""
    signature(node, scope, name, "moment")
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    axis = read_axis(kwarg(node, "axis", 1, None), scope, len(shape))
    keep = read_bool(kwarg(node, "keepdims", len(node.args), None), scope)
    ddof = read_ddof(kwarg(node, "ddof", len(node.args), None), scope)
    n = size(shape if axis is None else tuple(shape[k] for k in axis))
    try:
        if isinstance(n, int):
            moment_count(name, n, ddof)
    except ShapeError as exc:
        raise scope.src.error(node, str(exc)) from None
    if axis is not None and len(axis) == len(shape) and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep, ddof=ddof)
