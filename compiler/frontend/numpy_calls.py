"""NumPy's other spellings of the language's operations, each lowered to the node it is:
``full`` and ``full_like`` (a scalar broadcast), ``eye`` and ``identity``, ``hstack``,
``vstack`` and ``column_stack`` (a concatenation), ``ravel`` (a reshape), ``diff`` (a
difference of two slices), ``roll`` (two slices joined), ``inner`` and ``vdot``
(products), ``reciprocal`` (a division), and the other names ``amax``, ``amin``,
``fabs`` and ``average`` of ``max``, ``min``, ``abs`` and ``mean``. So each has that
node's value, gradient, code on every target and tests (README, "Choices"). They are
taken with the ``np.`` prefix only, so a formula may still define its own ``diff``.
Importing the module registers them in ``calls.NUMPY_CALLS``."""

from __future__ import annotations

import ast

from ..core.shapes import format_shape, size
from .arguments import arity, read_axis
from .calls import BUILTIN_CALLS, NUMPY_CALLS
from .dimensions import index_int, is_int_literal
from .loops import creation_shape
from .scope import emit, value
from .shape_calls import axis_arguments

#: the index that keeps one axis whole (``:``)
WHOLE = ("s", None, None, None)


def along(axis: int, nd: int, start, stop) -> tuple:
    """The index of the slice ``start:stop`` along ``axis`` of an ``nd``-array, every
    other axis whole (``x[:, 1:]``)."""
    return tuple(("s", start, stop, None) if k == axis else WHOLE for k in range(nd))


def flattened(x: int, node, scope) -> int:
    """``x`` as a vector of its entries in C order: ``reshape(x, (size,))`` (a vector as
    it is)."""
    shape = scope.b.shape(x)
    if len(shape) == 1:
        return x
    return emit(scope, node, "reshape", x, shape=(size(shape),))


def call_full(node, scope, name):
    """``full(shape, fill)`` and ``full_like(x, fill)``: the scalar ``fill`` (any scalar
    value: its gradient is the sum of the array's) at every entry, ``np.full``."""
    arity(node, scope, name, 2)
    if name == "full":
        shape = creation_shape(node.args[0], scope)
    else:
        shape = scope.b.shape(value(node.args[0], scope))
    fill = value(node.args[1], scope)
    if scope.b.shape(fill):
        raise scope.src.error(
            node.args[1],
            f"{name}() fills with a scalar, not an array of shape "
            f"{format_shape(scope.b.shape(fill))}",
        )
    if not shape:
        return fill
    return emit(scope, node, "broadcast_to", fill, shape=shape)


def call_eye(node, scope, name):
    """``eye(n)`` and ``identity(n)``: the ``n`` x ``n`` identity matrix, ``n`` a size
    (a dimension name, an expression of them, a positive int)."""
    arity(node, scope, name, 1)
    if isinstance(node.args[0], ast.Tuple):
        raise scope.src.error(node.args[0], f"{name}() takes one size: {name}(n)")
    (n,) = creation_shape(node.args[0], scope)
    return emit(scope, node, "eye", n=n)


def sequence_items(node, scope, name: str) -> list:
    """The lowered values of the one list or tuple argument of ``hstack([a, b])``."""
    arity(node, scope, name, 1)
    seq = node.args[0]
    if not isinstance(seq, (ast.List, ast.Tuple)) or not seq.elts:
        raise scope.src.error(node, f"{name}() takes a list of arrays: {name}([a, b])")
    return [value(a, scope) for a in seq.elts]


def call_stacks(node, scope, name):
    """``hstack``, ``vstack`` and ``column_stack`` as NumPy's: the arrays joined along
    axis 1 (``hstack`` of vectors: along axis 0; a scalar is a vector of one), or along
    axis 0 with each vector a row ``x[None]`` (``vstack``), or along axis 1 with each
    vector a column ``x[:, None]`` (``column_stack``; a scalar is a ``(1, 1)`` matrix)."""
    items = sequence_items(node, scope, name)
    if name == "hstack":
        items = [at_least(x, 1, (), node, scope) for x in items]
        axis = 0 if len(scope.b.shape(items[0])) == 1 else 1
    else:
        row = (("n",), WHOLE) if name == "vstack" else (WHOLE, ("n",))
        items = [at_least(x, 2, row, node, scope) for x in items]
        axis = 0 if name == "vstack" else 1
    return emit(scope, node, "concatenate", *items, axis=axis)


def at_least(x: int, nd: int, row: tuple, node, scope) -> int:
    """``x`` with at least ``nd`` dimensions: a scalar reshaped to ``(1,)`` or ``(1, 1)``,
    a vector indexed with ``row`` (``x[None]`` or ``x[:, None]``) where ``nd`` is 2."""
    shape = scope.b.shape(x)
    if not shape:
        return emit(scope, node, "reshape", x, shape=(1,) * nd)
    if len(shape) < nd:
        return emit(scope, node, "getitem", x, index=row)
    return x


def call_ravel(node, scope, name):
    """``ravel(x)``: the entries of ``x`` in C order, ``reshape(x, (size,))``."""
    arity(node, scope, name, 1)
    return flattened(value(node.args[0], scope), node, scope)


def call_diff(node, scope, name):
    """``diff(x, n=1, axis=-1)``: ``x[1:] - x[:-1]`` along ``axis``, ``n`` times (a
    literal ``n >= 0``); the slices' lengths are checked as a slice's are."""
    n_node, axis_node = axis_arguments(node, scope, name, ("n", "axis"))
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    if not nd:
        raise scope.src.error(node, f"{name}() of a scalar: it needs an array")
    if n_node is not None and not (
        is_int_literal(n_node) and index_int(n_node, scope, False) >= 0
    ):
        raise scope.src.error(n_node, f"{name}(): n is a non-negative integer")
    times = 1 if n_node is None else index_int(n_node, scope, False)
    (axis,) = read_axis(axis_node, scope, nd, allow_none=False) if axis_node else (-1,)
    axis %= nd
    for _ in range(times):
        later, earlier = (
            emit(scope, node, "getitem", x, index=along(axis, nd, *ends))
            for ends in ((1, None), (None, -1))
        )
        x = emit(scope, node, "sub", later, earlier)
    return x


def call_roll(node, scope, name):
    """``roll(x, shift, axis=None)``: the last ``shift`` entries along ``axis`` moved to
    the front, ``concatenate([x[-shift:], x[:-shift]])`` (``shift`` an int literal, taken
    modulo a literal length; a named length must be at least ``|shift|``, checked as a
    slice's is); without ``axis``, of the flattened entries, reshaped back."""
    shift_node, axis_node = axis_arguments(node, scope, name, ("shift", "axis"))
    if shift_node is None or not is_int_literal(shift_node):
        raise scope.src.error(node, f"{name}() takes an array and an integer shift")
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    if not shape:
        return x
    flat = axis_node is None or (
        isinstance(axis_node, ast.Constant) and axis_node.value is None
    )
    if flat:
        x = flattened(x, node, scope)
    nd = len(scope.b.shape(x))
    (axis,) = (0,) if flat else read_axis(axis_node, scope, nd, allow_none=False)
    k = index_int(shift_node, scope, False)
    length = scope.b.shape(x)[axis]
    if isinstance(length, int):
        k = k % length if length else 0
    if k:
        pieces = [
            emit(scope, node, "getitem", x, index=along(axis, nd, *ends))
            for ends in ((-k, None), (None, -k))
        ]
        x = emit(scope, node, "concatenate", *pieces, axis=axis)
    if flat and len(shape) > 1:
        x = emit(scope, node, "reshape", x, shape=shape)
    return x


def call_inner(node, scope, name):
    """``inner(a, b)`` of arrays of at most 2 dimensions: the sum over both last axes,
    ``a @ b.T`` (``a @ b`` when ``b`` is a vector), a product with a scalar."""
    arity(node, scope, name, 2)
    a, b = value(node.args[0], scope), value(node.args[1], scope)
    sa, sb = scope.b.shape(a), scope.b.shape(b)
    if not sa or not sb:
        return emit(scope, node, "mul", a, b)
    if len(sa) > 2 or len(sb) > 2:
        raise scope.src.error(
            node, f"{name}() of arrays with more than 2 dimensions: use einsum"
        )
    if len(sb) == 2:
        b = emit(scope, node, "transpose", b, axes=(1, 0))
    return emit(scope, node, "matmul", a, b)


def call_vdot(node, scope, name):
    """``vdot(a, b)``: the sum of the products of the entries of two arrays of one size,
    ``ravel(a) @ ravel(b)``."""
    arity(node, scope, name, 2)
    a, b = (value(v, scope) for v in node.args)
    if not scope.b.shape(a) and not scope.b.shape(b):
        return emit(scope, node, "mul", a, b)
    flat = [flattened(x, node, scope) for x in (a, b)]
    return emit(scope, node, "matmul", *flat)


def call_reciprocal(node, scope, name):
    """``reciprocal(x)``: ``1.0 / x``."""
    arity(node, scope, name, 1)
    return emit(scope, node, "div", scope.b.const(1.0), value(node.args[0], scope))


#: NumPy's other names of the language's functions (``np.amax`` is ``np.max``)
ALIASES = {"amax": "max", "amin": "min", "fabs": "abs", "average": "mean"}


def call_alias(node, scope, name):
    """``amax(x, axis=0)`` as ``max(x, axis=0)``: the call lowered as the function of
    the other name (``average`` without ``weights``: a weighted mean is written out)."""
    for k in node.keywords:
        if name == "average" and k.arg in ("weights", "returned"):
            raise scope.src.error(
                k,
                f"average() with {k.arg}: write the weighted mean, "
                "`sum(w * x, axis) / sum(w, axis)`",
            )
    return BUILTIN_CALLS[ALIASES[name]](node, scope, ALIASES[name])


NUMPY_CALLS.update(
    {
        "full": call_full,
        "full_like": call_full,
        "eye": call_eye,
        "identity": call_eye,
        "hstack": call_stacks,
        "vstack": call_stacks,
        "column_stack": call_stacks,
        "ravel": call_ravel,
        "diff": call_diff,
        "roll": call_roll,
        "inner": call_inner,
        "vdot": call_vdot,
        "reciprocal": call_reciprocal,
        **dict.fromkeys(ALIASES, call_alias),
    }
)
