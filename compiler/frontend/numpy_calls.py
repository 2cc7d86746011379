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
import math

from ..core.shapes import canon, format_shape, size
from ..errors import ShapeError
from ..ops.inverse import triangle
from .arguments import arity, read_axis
from .axis_call_shapes import not_joined
from .call_forms import NUMPY_ALIASES
from .calls import BUILTIN_CALLS, NUMPY_CALLS
from .dimensions import index_int
from .loops import creation_shape
from .scope import emit, value
from .shape_calls import axis_arguments
from .source import is_int_literal

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
    shown = " and ".join(format_shape(scope.b.shape(x)) for x in items)
    if name == "hstack":
        items = [at_least(x, 1, (), node, scope) for x in items]
        axis = 0 if len(scope.b.shape(items[0])) == 1 else 1
    else:
        row = (("n",), WHOLE) if name == "vstack" else (WHOLE, ("n",))
        items = [at_least(x, 2, row, node, scope) for x in items]
        axis = 0 if name == "vstack" else 1
    try:
        return scope.b.emit("concatenate", *items, axis=axis)
    except ShapeError:
        raise scope.src.error(node, not_joined(name, shown, axis)) from None


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


def call_triangle(node, scope, name):
    """``tril(x, k=0)`` and ``triu(x, k=0)`` of a matrix or a stack: the entries on and
    below (``tril``) or on and above (``triu``) the ``k``-th diagonal, the others 0, as
    NumPy's. A selection, ``where(tri(n, m, k) == 1.0, x, 0.0)``, so an inf or a nan
    outside the triangle gives 0 as in NumPy, and the gradient is the upstream's on the
    triangle and 0 off it."""
    (k_node,) = axis_arguments(node, scope, name, ("k",))
    if k_node is not None and not is_int_literal(k_node):
        raise scope.src.error(k_node, f"{name}() takes an integer k (a literal)")
    k = 0 if k_node is None else index_int(k_node, scope, False)
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    if len(shape) < 2:
        raise scope.src.error(
            node,
            f"{name}() of an array of {len(shape)} dimensions: it takes a matrix or a "
            "stack of them",
        )
    mask = triangle(scope.b, *shape[-2:], k, upper=name == "triu")
    return emit(scope, node, "where", mask, x, scope.b.const(0.0))


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


def call_scaled(node, scope, name):
    """``deg2rad(x)``, ``radians(x)``, ``rad2deg(x)``, ``degrees(x)`` and ``exp2(x)``: ``x``
    times NumPy's factor (``pi / 180``, ``180 / pi``), ``2.0 ** x``."""
    arity(node, scope, name, 1)
    x = value(node.args[0], scope)
    if name == "exp2":
        return emit(scope, node, "pow", scope.b.const(2.0), x)
    factor = math.pi / 180.0 if name in ("deg2rad", "radians") else 180.0 / math.pi
    return emit(scope, node, "mul", x, scope.b.const(factor))


def padded(x: int, nd: int, node, scope) -> int:
    """``x`` with leading axes of length 1 up to ``nd`` dimensions, as NumPy's ``tile``
    and ``kron`` pad the shorter shape."""
    shape = scope.b.shape(x)
    if len(shape) >= nd:
        return x
    return emit(scope, node, "reshape", x, shape=(1,) * (nd - len(shape)) + shape)


def spread(x: int, shape: tuple, reps: tuple, whole: bool, node, scope) -> int:
    """``x`` (of ``shape``, or of it without leading 1s) with each axis ``k`` taken
    ``reps[k]`` times: the whole axis again and again (``whole``, ``tile``: a new axis
    before it) or each entry in turn (``repeat``: after it). The new axes broadcast to
    the counts and a reshape merges them; an axis of length 1 is broadcast alone, so
    ``np.tile(b, (n, 1))`` is ``np.broadcast_to(b, (n, k))``."""
    index, wide, merged = [], [], []
    for d, r in zip(shape, reps):
        if r == 1 or d == 1:
            pair = [(WHOLE, canon(d * r))]
        else:
            pair = [(("n",), r), (WHOLE, d)][:: 1 if whole else -1]
        index += [item for item, _ in pair]
        wide += [n for _, n in pair]
        merged.append(canon(d * r))
    if len(wide) == len(shape):
        if tuple(wide) == scope.b.shape(x):
            return x
        return emit(scope, node, "broadcast_to", x, shape=tuple(wide))
    x = padded(x, len(shape), node, scope)
    x = emit(scope, node, "getitem", x, index=tuple(index))
    x = emit(scope, node, "broadcast_to", x, shape=tuple(wide))
    return emit(scope, node, "reshape", x, shape=tuple(merged))


def call_tile(node, scope, name):
    """``tile(x, reps)``: ``x`` repeated ``reps[k]`` times along each axis ``k`` (``reps``
    a size or a tuple of sizes: positive ints, dimension names; the shorter of ``reps``
    and ``x``'s shape padded with leading 1s, as NumPy's): ``np.tile(b, (N, 1))``."""
    arity(node, scope, name, 2)
    x = value(node.args[0], scope)
    reps = creation_shape(node.args[1], scope)
    shape = scope.b.shape(x)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    return spread(x, shape, (1,) * (nd - len(reps)) + reps, True, node, scope)


def call_repeat(node, scope, name):
    """``repeat(x, k, axis=None)``: each entry ``k`` times in turn along ``axis`` (``k`` a
    size: a positive int, a dimension name; not an array of counts), of the flattened
    entries without ``axis``."""
    reps_node, axis_node = axis_arguments(node, scope, name, ("repeats", "axis"))
    if reps_node is None or isinstance(reps_node, (ast.Tuple, ast.List)):
        raise scope.src.error(
            node, f"{name}() takes an array and one count: {name}(x, 3, axis=0)"
        )
    (k,) = creation_shape(reps_node, scope)
    x = value(node.args[0], scope)
    if axis_node is None or (
        isinstance(axis_node, ast.Constant) and axis_node.value is None
    ):
        x = flattened(x, node, scope) if scope.b.shape(x) else padded(x, 1, node, scope)
        axis = 0
    else:
        nd = len(scope.b.shape(x))
        (axis,) = read_axis(axis_node, scope, nd, allow_none=False)
    shape = scope.b.shape(x)
    reps = tuple(k if j == axis else 1 for j in range(len(shape)))
    return spread(x, shape, reps, False, node, scope)


def call_kron(node, scope, name):
    """``kron(a, b)``: the blocks ``a[i, j] * b``, the product of ``a[:, None, :, None]``
    and ``b[None, :, None, :]`` reshaped (the shorter shape padded with leading 1s, as
    NumPy's); a product with a scalar."""
    arity(node, scope, name, 2)
    a, b = value(node.args[0], scope), value(node.args[1], scope)
    if not scope.b.shape(a) or not scope.b.shape(b):
        return emit(scope, node, "mul", a, b)
    nd = max(len(scope.b.shape(a)), len(scope.b.shape(b)))
    a, b = padded(a, nd, node, scope), padded(b, nd, node, scope)
    sa, sb = scope.b.shape(a), scope.b.shape(b)
    ia = emit(scope, node, "getitem", a, index=(WHOLE, ("n",)) * nd)
    ib = emit(scope, node, "getitem", b, index=(("n",), WHOLE) * nd)
    blocks = emit(scope, node, "mul", ia, ib)
    shape = tuple(canon(p * q) for p, q in zip(sa, sb))
    return emit(scope, node, "reshape", blocks, shape=shape)


def call_tensordot(node, scope, name):
    """``tensordot(a, b, axes=2)``: the sum over the last ``axes`` axes of ``a`` and the
    first of ``b``, or over the axes of the pair ``axes=([1, 0], [0, 1])``; the free axes
    of ``a`` then of ``b``, an ``einsum``."""
    b_node, axes_node = axis_arguments(node, scope, name, ("b", "axes"))
    if b_node is None:
        raise scope.src.error(node, f"{name}() takes two arrays and optionally axes")
    a, b = value(node.args[0], scope), value(b_node, scope)
    na, nb = len(scope.b.shape(a)), len(scope.b.shape(b))
    if axes_node is None or is_int_literal(axes_node):
        n = 2 if axes_node is None else index_int(axes_node, scope, False)
        if not 0 <= n <= min(na, nb):
            raise scope.src.error(
                axes_node or node,
                f"{name}(): axes={n} for arrays of {na} and {nb} dimensions",
            )
        pairs = list(zip(range(na - n, na), range(n)))
    else:
        pairs = axis_pairs(axes_node, scope, name, (na, nb))
    sa, sb = scope.b.shape(a), scope.b.shape(b)
    for i, j in pairs:
        if sa[i] != sb[j]:
            raise scope.src.error(
                node,
                f"{name}(): shapes {format_shape(sa)} and {format_shape(sb)} do not "
                f"align: axis {i} of the first has length {sa[i]}, axis {j} of the "
                f"second {sb[j]}",
            )
    la = LETTERS[:na]
    lb = [LETTERS[na + k] for k in range(nb)]
    for i, j in pairs:
        lb[j] = la[i]
    out = "".join(c for k, c in enumerate(la) if k not in dict(pairs))
    out += "".join(c for k, c in enumerate(lb) if k not in {j for _, j in pairs})
    return emit(scope, node, "einsum", a, b, spec=f"{la},{''.join(lb)}->{out}")


#: the subscripts ``tensordot``'s einsum gives the axes
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def axis_pairs(axes_node, scope, name: str, ndims: tuple) -> list:
    """The contracted axes ``[(axis of a, axis of b), ...]`` of ``axes=([1, 0], [0, 1])``
    or ``axes=(1, 0)``: int literals, each axis once, as many on each side."""
    seqs = (ast.Tuple, ast.List)
    if not isinstance(axes_node, seqs) or len(axes_node.elts) != 2:
        raise scope.src.error(
            axes_node, f"{name}(): axes is an int or a pair of lists: axes=([1], [0])"
        )
    sides = []
    for side, nd in zip(axes_node.elts, ndims):
        items = side.elts if isinstance(side, seqs) else [side]
        axes = []
        for item in items:
            k = index_int(item, scope, False)
            if not -nd <= k < nd or k % nd in axes:
                raise scope.src.error(
                    item, f"{name}(): axis {k} is repeated or out of range for {nd}"
                )
            axes.append(k % nd)
        sides.append(axes)
    if len(sides[0]) != len(sides[1]):
        raise scope.src.error(
            axes_node, f"{name}(): the lists of axes differ in length"
        )
    return list(zip(*sides))


def call_alias(node, scope, name):
    """``amax(x, axis=0)`` as ``max(x, axis=0)``: the call lowered as the function of
    the other name (``average`` without ``weights``: a weighted mean is written out,
    ``call_signatures.weighted_error``, which the call's signature check raises)."""
    return BUILTIN_CALLS[NUMPY_ALIASES[name]](node, scope, NUMPY_ALIASES[name])


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
        **dict.fromkeys(
            ("deg2rad", "radians", "rad2deg", "degrees", "exp2"), call_scaled
        ),
        "tile": call_tile,
        "repeat": call_repeat,
        "kron": call_kron,
        "tensordot": call_tensordot,
        "tril": call_triangle,
        "triu": call_triangle,
        **dict.fromkeys(NUMPY_ALIASES, call_alias),
    }
)
