"""Shape operations: transpose, reshape, expand_dims, broadcast_to, indexing, scatter,
concatenate, stack."""

from __future__ import annotations

import sympy

from ..core import printer as P
from ..core.prim import NUMBA, NUMPY, as_numpy, prim
from ..core.shape_rules import (
    joined_with,
    not_reshaped,
    stacked_with,
    too_many_indices,
)
from ..core.shapes import (
    broadcast,
    canon,
    format_shape,
    size,
    slice_length,
    slice_requirements,
)
from ..errors import ShapeError
from . import numba_spelling as nb
from .common import (
    aligned,
    axis_batch,
    linear_tangent,
    shape_batch,
    shifted,
    unbroadcast,
)
from .spelling import (
    as_float,
    index_text,
    list_call,
    transposed,
)


def transpose_shape(b, args, attrs):
    s = b.shape(args[0])
    axes = attrs["axes"]
    if sorted(axes) != list(range(len(s))):
        raise ShapeError(
            f"transpose: axes {axes} do not fit an array of {len(s)} dimensions"
        )
    return tuple(s[k] for k in axes), b[args[0]].dtype


def reshape_shape(b, args, attrs):
    s = b.shape(args[0])
    new = attrs["shape"]
    if sympy.expand(size(s) - size(new)) != 0:
        raise ShapeError("reshape: " + not_reshaped(format_shape(s), format_shape(new)))
    return tuple(new), b[args[0]].dtype


def expand_shape(b, args, attrs):
    s = list(b.shape(args[0]))
    for k in attrs["axis"]:
        s.insert(k, 1)
    return tuple(s), b[args[0]].dtype


def broadcast_to_shape(b, args, attrs):
    target = tuple(attrs["shape"])
    if broadcast(b.shape(args[0]), target) != target:
        raise ShapeError(
            f"cannot broadcast {P.shape(b.shape(args[0]), {})} to {target}"
        )
    return target, b[args[0]].dtype


def index_shape(b, args, attrs):
    """NumPy indexing: ints drop a dim, slices cut it, None adds one, Index arrays gather.

    The gathered axes (the broadcast shape of the arrays) replace the advanced indices,
    which with arrays include the ints; where a slice or None separates them, the gathered
    axes come first (``T[0, :, y]`` is ``(k, m)``), as in NumPy."""
    src = b.shape(args[0])
    spec = attrs["index"]
    consumed = sum(1 for e in spec if e[0] in ("i", "s", "a"))
    if consumed > len(src):
        raise too_many_indices(consumed, src, format_shape)
    arrays = [b.shape(args[e[1]]) for e in spec if e[0] == "a"]
    adv = broadcast(*arrays) if arrays else ()
    out, k, adv_at, positions = [], 0, None, []
    for pos, e in enumerate(spec):
        if e[0] == "i":
            n = src[k]
            if isinstance(n, int) and isinstance(e[1], int) and not -n <= e[1] < n:
                raise ShapeError(
                    f"index {e[1]} is out of bounds for a dimension of size {n}"
                )
            if (
                arrays
            ):  # with Index arrays, NumPy counts an int as one more advanced index
                positions.append(pos)
                if adv_at is None:
                    adv_at = len(out)
            k += 1
        elif e[0] == "s":
            out.append(slice_length(src[k], e[1], e[2], e[3]))
            k += 1
        elif e[0] == "n":
            out.append(1)
        else:
            positions.append(pos)
            if adv_at is None:
                adv_at = len(out)
            k += 1
    out += list(src[k:])
    if positions:
        contiguous = positions == list(
            range(positions[0], positions[0] + len(positions))
        )
        at = adv_at if contiguous else 0
        out[at:at] = list(adv)
    return tuple(canon(d) for d in out), b[args[0]].dtype


def index_requirements(src: tuple, spec) -> list:
    """What the sizes in ``src`` must satisfy for the slice lengths of ``index_shape`` to be
    NumPy's (SymPy expressions that must be ``>= 0``, see ``slice_requirements``)."""
    out, k = [], 0
    for e in spec:
        if e[0] == "s":
            out += slice_requirements(src[k], e[1], e[2], e[3])
        if e[0] in ("i", "s", "a"):
            k += 1
    return out


def scatter_shape(b, args, attrs):
    return tuple(attrs["shape"]), "float"


def concat_shape(b, args, attrs):
    """The arrays joined along ``axis`` (``core/shape_rules.joined_with``)."""
    shapes = [b.shape(a) for a in args]
    ax = attrs["axis"]
    total = canon(sum(joined_with(shapes, ax, format_shape), 0))
    return shapes[0][:ax] + (total,) + shapes[0][ax + 1 :], "float"


def stack_shape(b, args, attrs):
    """The arrays stacked along a new ``axis`` (``core/shape_rules.stacked_with``)."""
    shapes = [b.shape(a) for a in args]
    return stacked_with(shapes, attrs["axis"], format_shape), "float"


# ----------------------------------------------------------------------------
# Shape operations


def transpose_emit(node, a, ctx):
    """``x.T`` for a matrix, ``x.swapaxes(i, j)`` or ``x.transpose(...)`` otherwise (a
    reader sees which axes move)."""
    axes = node.attr("axes")
    if axes == (1, 0):
        return P.attr(a[0], "T")
    return transposed(a[0], axes)


def transpose_call(node, a, ctx):
    """``np.transpose(x, axes)`` (the numba target's spelling: numba compiles it)."""
    axes = node.attr("axes")
    if axes == tuple(reversed(range(len(axes)))):
        return P.attr(a[0], "T")
    return P.call("np.transpose", a[0], P.axis(axes))


def transpose_adj(b, i, n, g):
    axes = n.attr("axes")
    inverse = tuple(sorted(range(len(axes)), key=lambda k: axes[k]))
    return [b.emit("transpose", g, axes=inverse)]


def reshape_emit(node, a, ctx):
    return P.call("np.reshape", a[0], P.shape(node.attr("shape"), ctx.dims))


def expand_emit(node, a, ctx):
    nd = len(node.shape)
    parts = ["None" if k in node.attr("axis") else ":" for k in range(nd)]
    while parts and parts[-1] == ":":
        parts.pop()
    return P.subscript(a[0], ", ".join(parts))


def broadcast_to_emit(node, a, ctx):
    target = P.shape(node.attr("shape"), ctx.dims)
    if node.args and ctx.shape_of(node.args[0]) == ():
        return P.call("np.full", target, as_float(a[0]))
    return P.call("np.broadcast_to", a[0], target)


def transpose_batch(b, n, args, bat):
    """The batch axis stays first."""
    return b.emit("transpose", args[0], axes=(0, *shifted(n.attr("axes"))))


def expand_batch(b, n, args, bat):
    return b.emit("expand_dims", args[0], axis=shifted(n.attr("axis")))


prim(
    "transpose",
    transpose_shape,
    spellings={NUMPY: transpose_emit, NUMBA: transpose_call},
    tangent=linear_tangent,
    adjoint=transpose_adj,
    names=("transpose",),
    form="transpose",
    glyph=".T",
    view=True,
    zero_d=True,
    batch=transpose_batch,
)
# a C-ordered copy of an array: an operand the batch-major layout reads with its own axes
# reordered (``passes/layout.py``), so that NumPy lays out what is computed from it in C
# order; its value is its input's
prim(
    "contiguous",
    lambda b, args, attrs: (b.shape(args[0]), b[args[0]].dtype),
    spellings={NUMPY: lambda n, a, c: P.call("np.ascontiguousarray", a[0])},
    tangent=linear_tangent,
    adjoint=lambda b, i, n, g: [g],
    batch=lambda b, n, args, bat: b.emit("contiguous", args[0]),
)
prim(
    "reshape",
    reshape_shape,
    spellings={NUMPY: reshape_emit},
    tangent=linear_tangent,
    adjoint=lambda b, i, n, g: [b.emit("reshape", g, shape=b.shape(n.args[0]))],
    names=("reshape",),
    form="reshape",
    view=True,
    zero_d=True,
    batch=shape_batch,
)
prim(
    "expand_dims",
    expand_shape,
    spellings={NUMPY: expand_emit, NUMBA: as_numpy},
    tangent=linear_tangent,
    adjoint=lambda b, i, n, g: [b.emit("sum", g, axis=n.attr("axis"), keepdims=False)],
    view=True,
    zero_d=True,
    batch=expand_batch,
)
prim(
    "broadcast_to",
    broadcast_to_shape,
    python_scalars=True,
    spellings={NUMPY: broadcast_to_emit, NUMBA: as_numpy},  # numba's np.broadcast_to
    tangent=linear_tangent,
    adjoint=lambda b, i, n, g: [unbroadcast(b, g, b.shape(n.args[0]))],
    view=True,
    zero_d=True,
    batch=shape_batch,
)


def getitem_adj(b, i, n, g):
    """Indexing sends the gradient back with a scatter-add into zeros.

    ``x[:, None]`` only adds axes: its adjoint is a reshape back.
    """
    x, *idx = n.args
    if all(e == ("s", None, None, None) or e == ("n",) for e in n.attr("index")):
        return [b.emit("reshape", g, shape=b.shape(x))]
    out = b.emit("scatter", g, *idx, index=n.attr("index"), shape=b.shape(x))
    return [out] + [None] * len(idx)


def scatter_stmts(target, node, a, ctx):
    """``zeros`` then assignment; ``np.add.at`` only where indices can repeat."""
    spec = node.attr("index")
    zeros = f"{target} = np.zeros({P.shape(node.attr('shape'), ctx.dims)})"
    if ctx.unique_index(node):
        return [
            zeros,
            f"{target}[{index_text(spec, [None] + a[1:], ctx)}] = {a[0].text}",
        ]
    return [zeros] + scatter_into(target, node, a, ctx)


def scatter_into(target, node, a, ctx):
    """Add the scattered gradient into the array ``target`` in place (``d_x[1:] += g``)."""
    spec = node.attr("index")
    if ctx.unique_index(node):
        return [f"{target}[{index_text(spec, [None] + a[1:], ctx)}] += {a[0].text}"]
    index = index_text(spec, [None] + a[1:], ctx, call=True)
    if len(spec) > 1:
        index = f"({index})"
    return [f"np.add.at({target}, {index}, {a[0].text})"]


def getitem_emit(node, a, ctx):
    """``x[...]``; a scalar given new axes (``s[None]``) is ``np.full((1,), s)``, since a
    Scalar input is a Python float, which cannot be indexed."""
    if not ctx.shape_of(node.args[0]) and node.dtype == "float":
        return P.call("np.full", P.shape(node.shape, ctx.dims), as_float(a[0]))
    return P.subscript(a[0], index_text(node.attr("index"), a, ctx))


def scalar_operand(nodes, node) -> bool:
    """Whether ``node`` indexes a scalar (``np.full``, a 0-d array for a scalar result);
    an array indexed down to one element gives a NumPy scalar (``x[0]``, ``X[i, y]``)."""
    return nodes[node.args[0]].shape == ()


def gathered_first(spec) -> int | None:
    """How many axes the Index arrays gather where NumPy puts them first (advanced indices
    that a slice or None separates), else None."""
    arrays = any(e[0] == "a" for e in spec)
    positions = [
        k for k, e in enumerate(spec) if e[0] == "a" or (arrays and e[0] == "i")
    ]
    if not positions or positions == list(range(positions[0], positions[-1] + 1)):
        return None
    return positions


def region_rank(b, spec, shape, args) -> int:
    """The rank of ``x[spec]`` for an ``x`` of ``shape`` (``args[k]``: the Index array of
    an entry ``("a", k)``): the region a scatter writes its values into."""
    consumed = sum(1 for e in spec if e[0] in ("i", "s", "a"))
    arrays = [b.shape(args[e[1]]) for e in spec if e[0] == "a"]
    kept = sum(1 for e in spec if e[0] in ("s", "n"))
    return len(shape) - consumed + kept + (len(broadcast(*arrays)) if arrays else 0)


def index_batch(b, n, args, bat):
    """Indexing (or its scatter) with a whole slice for the batch axis in front. Where
    NumPy puts the gathered axes first, before the batch axis, a transpose moves the batch
    axis back to the front (a scatter's values to where NumPy wants it). A scatter's values
    of lower rank than the region (``d_x[1:] += g`` of a scalar ``g``: NumPy broadcasts
    them) get unit axes after the batch axis first."""
    spec = (("s", None, None, None), *n.attr("index"))
    first = gathered_first(n.attr("index"))
    if first is not None:
        adv = len(broadcast(*(b.shape(args[e[1]]) for e in spec if e[0] == "a")))
    attrs = dict(n.attrs, index=spec)
    if n.op == "scatter":
        rank = region_rank(b, n.attr("index"), n.attr("shape"), args)
        g = aligned(b, args[0], rank)
        if first is not None:
            rank = len(b.shape(g))
            axes = (*range(1, adv + 1), 0, *range(adv + 1, rank))
            g = b.emit("transpose", g, axes=axes)
        return b.emit(
            "scatter",
            g,
            *args[1:],
            **dict(attrs, shape=(b.shape(args[0])[0], *n.attr("shape"))),
        )
    out = b.emit("getitem", *args, **attrs)
    if first is None:
        return out
    rank = len(b.shape(out))
    return b.emit("transpose", out, axes=(adv, *range(adv), *range(adv + 1, rank)))


prim(
    "getitem",
    index_shape,
    spellings={NUMPY: getitem_emit, NUMBA: nb.getitem_emit},
    numba_when=nb.basic_or_pick,
    tangent=linear_tangent,
    adjoint=getitem_adj,
    glyph="[ ]",
    view=True,
    zero_d=scalar_operand,
    batch=index_batch,
)
prim(
    "scatter",
    scatter_shape,
    stmts=scatter_stmts,
    stmts_into=scatter_into,
    spellings={NUMBA: as_numpy},  # statements: ``backend/numba_whole.WholeEmitter``'s
    numba_when=nb.basic_or_pick,
    tangent=linear_tangent,
    batch=index_batch,
)


def concat_adj(b, i, n, g):
    ax = n.attr("axis")
    out, offset = [], 0
    for x in n.args:
        length = b.shape(x)[ax]
        spec = (("s", None, None, None),) * ax + (
            ("s", offset, canon(offset + length), None),
        )
        out.append(b.emit("getitem", g, index=spec))
        offset = canon(offset + length)
    return out


def stack_adj(b, i, n, g):
    ax = n.attr("axis")
    return [
        b.emit("getitem", g, index=(("s", None, None, None),) * ax + (("i", k),))
        for k in range(len(n.args))
    ]


prim(
    "concatenate",
    concat_shape,
    spellings={NUMPY: list_call("np.concatenate")},
    tangent=linear_tangent,
    adjoint=concat_adj,
    names=("concatenate",),
    form="sequence",
    batch=axis_batch,
)
prim(
    "stack",
    stack_shape,
    spellings={NUMPY: list_call("np.stack")},
    tangent=linear_tangent,
    adjoint=stack_adj,
    names=("stack",),
    form="sequence",
    batch=axis_batch,
)
