"""Simplify rules of shape operations: broadcasts that the operation would make anyway,
scalars moved inside a broadcast, reshapes and transposes that undo themselves, a reshape
of a reshape."""

from __future__ import annotations

from functools import partial

from ..core.prim import PRIMS
from ..core.shape_rules import reduce_shape
from ..core.shapes import broadcast
from ..ops.common import count, pick_pattern
from .engine import RuleSet
from .patterns import bare, op_of

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


# scatter(broadcast_to(c, s), index) -> scatter(c, index)  for a scalar c
@rule("scatter")
def scatter_scalar(b, args, attrs):
    g, *idx = args
    if op_of(b, g, "broadcast_to") and b.shape(b[g].args[0]) == ():
        return b.emit("scatter", b[g].args[0], *idx, **attrs)
    return None


# -broadcast_to(c, s) -> broadcast_to(-c, s)  for a scalar c (negate one number, not an array)
@rule("neg")
def neg_of_broadcast(b, args, attrs):
    (g,) = args
    if bare(b, g, "broadcast_to") and b.shape(b[g].args[0]) == ():
        return b.emit("broadcast_to", b.neg(b[g].args[0]), **dict(b[g].attrs))
    return None


def scalar_broadcast(b, g: int) -> int | None:
    """The scalar ``c`` when ``g`` is ``broadcast_to(c, s)`` (not a value the formula names)."""
    if bare(b, g, "broadcast_to") and b.shape(b[g].args[0]) == ():
        return b[g].args[0]
    return None


# expand_dims(broadcast_to(c, s)) -> broadcast_to(c, s')  for a scalar c
@rule("expand_dims")
def expand_scalar_broadcast(b, args, attrs):
    c = scalar_broadcast(b, args[0])
    if c is None:
        return None
    shape = list(b.shape(args[0]))
    for k in sorted(attrs["axis"]):
        shape.insert(k, 1)
    return b.emit("broadcast_to", c, shape=tuple(shape))


# sum(broadcast_to(c, s), axis) -> broadcast_to(c * count, reduced s)  for a scalar c
# (``np.full((n,), 1.0).sum()`` is ``n``; summing a constant array is a product)
@rule("sum")
def sum_of_scalar_broadcast(b, args, attrs):
    c = scalar_broadcast(b, args[0])
    if c is None:
        return None
    shape, axes = b.shape(args[0]), attrs.get("axis")
    total = b.mul(c, count(b, shape, axes))
    out = reduce_shape(shape, axes, bool(attrs.get("keepdims")))
    return total if out == () else b.emit("broadcast_to", total, shape=out)


# reshape(broadcast_to(c, s), t) -> broadcast_to(c, t)  for a scalar c
@rule("reshape")
def reshape_scalar_broadcast(b, args, attrs):
    c = scalar_broadcast(b, args[0])
    if c is None:
        return None
    shape, _ = PRIMS["reshape"].infer(b, args, attrs)
    return b.emit("broadcast_to", c, shape=tuple(shape))


# broadcast_to(broadcast_to(c, s), t) -> broadcast_to(c, t)  for a scalar c
@rule("broadcast_to")
def broadcast_scalar_broadcast(b, args, attrs):
    c = scalar_broadcast(b, args[0])
    return None if c is None else b.emit("broadcast_to", c, **attrs)


# sum(scatter(g, arange(N), y), axis=1) -> g  (one entry in each row, the rest zeros)
@rule("sum")
def sum_of_picked_rows(b, args, attrs):
    """The row sums of ``x[arange(N), y]``'s adjoint are its entries: row i holds ``g[i]``
    at column ``y[i]`` and zeros (one entry a row, so none added twice); the same numbers
    (a sum of one value and zeros), without the zeros array read. log_softmax's adjoint
    sums its upstream gradient over each row."""
    (s,) = args
    if b[s].op != "scatter" or not pick_pattern(b, b[s]) or b[s].dtype != "float":
        return None
    if attrs.get("axis") not in ((1,), (-1,)):
        return None
    g = b[s].args[0]
    out = reduce_shape(b.shape(s), (1,), bool(attrs.get("keepdims")))
    if b.shape(g) == ():
        return b.emit("broadcast_to", g, shape=out)
    if b.shape(g) != out[:1]:
        return None
    return b.emit("expand_dims", g, axis=(1,)) if len(out) == 2 else g


# (a - c)[arange(N), y] -> a[arange(N), y] - c[:, 0]  for a column c (N, 1)
@rule("getitem", "late")
def pick_before_column_op(b, args, attrs):
    """The picked entries of ``a - c`` (or ``a + c``), ``c`` a column or a number, are the
    picked entries of ``a`` minus ``c``'s rows: N subtractions instead of N * C, the same
    numbers (log_softmax's ``(x - m) - log(s)`` read only at the labels)."""
    x, *index = args
    if attrs.get("index") != (("a", 1), ("a", 2)) or b[x].op not in ("sub", "add"):
        return None
    if b.users is None or b.users.get(x) != 1 or b[x].name:
        return None
    rows, cols = index
    shape = b.shape(x)
    if b[rows].op != "arange" or len(shape) != 2 or b[cols].dtype != "int":
        return None
    if b.shape(rows) != (shape[0],) or b.shape(cols) != (shape[0],):
        return None
    parts = []
    for a in b[x].args:
        if b.shape(a) == shape:
            parts.append(b.emit("getitem", a, rows, cols, **attrs))
        elif b.shape(a) == (shape[0], 1):
            parts.append(
                b.emit("getitem", a, index=(("s", None, None, None), ("i", 0)))
            )
        elif b.shape(a) == ():
            parts.append(a)
        else:
            return None
    return b.emit(b[x].op, *parts)


# broadcast_to(g, s) (*) y -> g (*) y   when broadcasting g against y already gives s
def drop_broadcast(b, args, attrs, op):
    if attrs.get("acc"):
        return None  # the first part of an accumulation is its array: d_x = full(...); d_x += ...
    out = broadcast(*(b.shape(a) for a in args))
    for k, a in enumerate(args):
        if op_of(b, a, "broadcast_to"):
            inner = list(args)
            inner[k] = b[a].args[0]
            if broadcast(*(b.shape(x) for x in inner)) == out:
                return b.emit(op, *inner, **attrs)
    return None


# broadcast_to(s, shape) (*) c -> broadcast_to(s (*) c, shape)  for a scalar s and a c
# smaller than shape: the adjoint of sum(v[:, None] * W) in W is broadcast_to(v[:, None],
# shape), one pass, where np.full(shape, 1.0) * v[:, None] made two
def scalar_into_broadcast(b, args, attrs, op):
    if attrs.get("acc") or len(args) != 2:
        return None
    for k, a in enumerate(args):
        other = args[1 - k]
        if (
            op_of(b, a, "broadcast_to")
            and b.shape(b[a].args[0]) == ()
            and b.shape(other) != b.shape(a)
            and broadcast(b.shape(a), b.shape(other)) == b.shape(a)
        ):
            inner = [b[a].args[0], other] if k == 0 else [other, b[a].args[0]]
            return b.emit("broadcast_to", b.emit(op, *inner), shape=b.shape(a))
    return None


for _op in ("add", "sub", "mul", "div"):
    RULE_SET.add(
        partial(scalar_into_broadcast, op=_op),
        op=_op,
        phase="simplify",
        name="scalar_into_broadcast",
    )
for _op in ("add", "sub", "mul", "div", "where"):
    RULE_SET.add(
        partial(drop_broadcast, op=_op), op=_op, phase="simplify", name="drop_broadcast"
    )


# reshape(x, shape(x)) -> x
@rule("reshape")
def reshape_same(b, args, attrs):
    return args[0] if b.shape(args[0]) == tuple(attrs["shape"]) else None


# reshape(sum(x, axes, keepdims=True), s) -> sum(x, axes)  when s drops exactly those axes
@rule("reshape")
def reshape_of_keepdims_sum(b, args, attrs):
    (x,) = args
    node = b[x]
    if bare(b, x, "sum") and node.attr("keepdims") and node.attr("axis") is not None:
        inner = b[node.args[0]]
        dropped = tuple(
            d for k, d in enumerate(inner.shape) if k not in node.attr("axis")
        )
        if dropped == tuple(attrs["shape"]):
            return b.emit("sum", node.args[0], axis=node.attr("axis"), keepdims=False)
    return None


# reshape(-sum(x, axes, keepdims=True), s) -> -sum(x, axes)  when s drops exactly those axes
@rule("reshape")
def reshape_of_negated_keepdims_sum(b, args, attrs):
    (x,) = args
    if bare(b, x, "neg") and bare(b, b[x].args[0], "sum"):
        inner = reshape_of_keepdims_sum(b, b[x].args, attrs)
        return None if inner is None else b.neg(inner)
    return None


# transpose(transpose(x, p), q) -> x  when q undoes p
@rule("transpose")
def transpose_twice(b, args, attrs):
    (x,) = args
    if op_of(b, x, "transpose"):
        inner = b[x].attr("axes")
        if tuple(inner[k] for k in attrs["axes"]) == tuple(range(len(inner))):
            return b[x].args[0]
    return None


# transpose(x[:, None, :], (1, 0, 2)) -> x[None, :, :]  (only new axes move)
@rule("transpose")
def transpose_of_new_axes(b, args, attrs):
    (x,) = args
    index = new_axes_index(b[x])
    if index is None:
        return None
    moved = [index[k] for k in attrs["axes"]]
    old = [k for k in attrs["axes"] if index[k] != NEW_AXIS]
    if old != sorted(old):
        return None  # x's own axes would change order: a transpose of x, not an index
    return b.emit("getitem", b[x].args[0], index=tuple(moved))


NEW_AXIS = ("n",)
WHOLE_AXIS = ("s", None, None, None)


def new_axes_index(node) -> tuple | None:
    """The index of ``node = y[...]`` when it only inserts new axes into ``y`` (each entry
    ``:`` or ``None``, one per axis of ``node``, and one ``None`` at least; never a value
    the user named), else None."""
    if node.op != "getitem" or (node.name and not node.name.startswith("d_")):
        return None
    index = node.attr("index")
    if len(index) != len(node.shape):
        return None
    if not all(e in (NEW_AXIS, WHOLE_AXIS) for e in index) or NEW_AXIS not in index:
        return None
    return index


# reshape(reshape(x, s), t) -> reshape(x, t)  (C-order reshapes compose)
@rule("reshape")
def reshape_twice(b, args, attrs):
    (x,) = args
    if bare(b, x, "reshape"):
        return b.emit("reshape", b[x].args[0], shape=attrs["shape"])
    return None
