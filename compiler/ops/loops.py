"""Loops and item assignment: the ``loop`` node and its projections (``core/loops.py``),
the reverse loop ``loop_grad``, and ``setitem`` (``a[index] = v``, ``a[index] += v``) with
the gradient of a functional update. The loop nodes print as statements in the backend
(``backend/loops.py``); the loop's adjoint is built by ``passes/loops.py``."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMPY, prim
from ..core.shapes import broadcast, format_shape
from ..errors import ShapeError
from .common import aligned, lifted, linear_tangent
from .shape_ops import gathered_first, index_shape
from .spelling import index_text


def loop_shape(b, args, attrs):
    return (), "loop"


def out_shape(b, args, attrs):
    """A carried value after the loop: the shape of the body's value at an iteration's end."""
    body = b[args[0]].attr("body")
    node = body.nodes[body.outs[attrs["k"]]]
    return node.shape, node.dtype


def tape_shape(b, args, attrs):
    """The values of body node ``j`` over all iterations: the trip count, then its shape
    (given: ``j`` indexes the expanded body the loop takes when the graph is expanded)."""
    return tuple(attrs["shape"]), "float"


def grad_out_shape(b, args, attrs):
    """A gradient the reverse loop yields: its carried value's or capture's gradient's
    shape (a batched one's leads with the batch axis, whether its value does or not)."""
    grad = b[args[0]].attr("grad")
    kind, k = grad.outs[attrs["k"]]
    d = grad.d_carried[k] if kind == "carried" else grad.d_captures[k]
    return grad.nodes[d].shape, "float"


prim("loop", loop_shape, raises_on_floats=False, glyph="for")
prim("loop_out", out_shape, raises_on_floats=False)
prim("loop_tape", tape_shape, raises_on_floats=False)
prim("loop_grad", loop_shape, raises_on_floats=False, glyph="for")
prim("loop_grad_out", grad_out_shape, raises_on_floats=False)
# the results of a loop body, read together by a pass made for one output
prim("pack", loop_shape, raises_on_floats=False)


def setitem_shape(b, args, attrs):
    """``a[index] = v``: ``a``'s shape; ``v`` broadcasts to the indexed part."""
    a, v = args
    part, _ = index_shape(b, [a], attrs)
    if broadcast(b.shape(v), part) != tuple(part):
        raise ShapeError(
            f"cannot assign a value of shape {format_shape(b.shape(v))} "
            f"into a part of shape {format_shape(part)}"
        )
    return b.shape(a), "float"


def setitem_adj(b, i, n, g):
    """Functional update: the assigned part's gradient goes to ``v``; ``a`` gets the rest
    (with ``+=``, all of it: ``a`` stays in the sum)."""
    index = n.attr("index")
    d_v = b.emit("getitem", g, index=index)  # made first: it reads g before the update
    if n.attr("add"):
        return [g, d_v]
    return [b.emit("setitem", g, b.const(0.0), index=index, add=False), d_v]


def setitem_stmts(target, node, a, ctx):
    """``target[index] = v`` (``+=``) into ``a`` itself when ``target`` is its name (the
    caller knows ``a`` is not read afterwards), else into a copy (a new array as is)."""
    index = index_text(node.attr("index"), [None], ctx)
    op = "+=" if node.attr("add") else "="
    lines = []
    if target != a[0].text:
        fresh = ctx.nodes[node.args[0]].op in ("zeros", "broadcast_to")
        copy = "" if fresh and not a[0].text.isidentifier() else ".copy()"
        lines.append(
            f"{target} = {P.wrap(a[0], P.ATOM)}{copy}"
            if copy
            else f"{target} = {a[0].text}"
        )
    return lines + [f"{target}[{index}] {op} {a[1].text}"]


def setitem_batch(b, n, args, bat):
    """``a[:, index] = v`` with the batch axis in front: ``a`` given it if it has it not,
    a batched ``v`` aligned to the assigned part's rank."""
    if gathered_first(n.attr("index")) is not None:
        raise NotImplementedError("an item assignment with separated index arrays")
    a, v = args
    size = b.shape(a if bat[0] else v)[0]
    if not bat[0]:
        a = lifted(b, a, size)
    if bat[1]:
        part, _ = index_shape(b, [n.args[0]], dict(n.attrs))
        v = aligned(b, v, len(part))
    index = (("s", None, None, None), *n.attr("index"))
    return b.emit("setitem", a, v, **dict(n.attrs, index=index))


prim(
    "setitem",
    setitem_shape,
    adjoint=setitem_adj,
    tangent=linear_tangent,
    stmts=setitem_stmts,
    glyph="[ ]=",
    batch=setitem_batch,
)


def creation_shape(b, args, attrs):
    return tuple(attrs["shape"]), "float"


prim(
    "ones",
    creation_shape,
    spellings={NUMPY: lambda n, a, c: P.call("np.ones", P.shape(n.shape, c.dims))},
    raises_on_floats=False,
)
