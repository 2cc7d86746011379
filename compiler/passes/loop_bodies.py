"""The fusion passes inside loop bodies: elementwise regions of a body become ``fused``
nodes before differentiation (``fuse_loops``, the same ``fuse_regions`` as a function's
graph), and are expanded again after it (``expand_graph``, the same expansion as
``expand_fused``), in the body and in its adjoint graph alike.

A body is a list of nodes with several results; to run a pass made for a ``Function``
over it, the body becomes one (``as_function``): its parameters, and the indices the
caller needs kept as the function's ``grads`` (so every pass remaps them).
"""

from __future__ import annotations

import dataclasses

from ..core.ir import Builder, Function, Param, rebuild, run_body
from ..core.loops import LoopBody
from ..ops.linalg import transpose_last
from ..rewrite import make_rewriter
from .fuse import BodyBuilder, fuse_regions


def as_function(nodes, params: list[int], keep: dict[str, int]) -> Function:
    """A ``Function`` over a body's ``nodes``: ``params`` its parameters (all
    differentiated, for fusion's activity), ``keep`` named indices it must keep (and
    remap); its output is the first of them."""
    return Function(
        "body",
        "",
        [Param(f"p{j}", j, "", True) for j in params],
        list(nodes),
        next(iter(keep.values())),
        "",
        None,
        grads=dict(keep),
    )


def body_keys(body: LoopBody) -> dict[str, int]:
    """The indices of a body's results and parameters, named."""
    keys = {f"out{k}": o for k, o in enumerate(body.outs)}
    keys.update({f"cap{c}": p for c, p in enumerate(body.captures)})
    keys.update({f"car{k}": p for k, p in enumerate(body.carried)})
    return keys


def remapped(body: LoopBody, fn: Function) -> LoopBody:
    """``body`` on the nodes of ``fn`` (made by ``as_function(.., body_keys(body))``)."""
    g = fn.grads
    return dataclasses.replace(
        body,
        nodes=tuple(fn.nodes),
        outs=tuple(g[f"out{k}"] for k in range(len(body.outs))),
        captures=tuple(g[f"cap{c}"] for c in range(len(body.captures))),
        carried=tuple(g[f"car{k}"] for k in range(len(body.carried))),
    )


def fuse_body(body: LoopBody) -> LoopBody:
    """``body`` with its inner loops' bodies fused, then its own elementwise regions."""
    fn = as_function(body.nodes, [*body.captures, *body.carried], body_keys(body))
    fn = fuse_regions_kept(fuse_loops(fn))
    return remapped(body, fn)


def fuse_regions_kept(fn: Function) -> Function:
    """``fuse_regions`` keeping ``fn.grads`` (its indices remapped; none is fused into a
    region, as each is read outside the body)."""
    b = Builder(fn.nodes)
    keep = list(fn.grads.items())
    out = b.emit("pack", *(i for _, i in keep))
    fused = fuse_regions(dataclasses.replace(fn, nodes=b.nodes, output=out, grads={}))
    args = fused.nodes[fused.output].args
    return dataclasses.replace(
        fused, grads={k: a for (k, _), a in zip(keep, args)}, output=args[0]
    )


def fuse_loops(fn: Function) -> Function:
    """``fn`` with the body of each of its loops fused (``fuse_body``)."""
    if not any(node.op == "loop" for node in fn.nodes):
        return fn
    b = Builder()

    def make(i, node, remap):
        if node.op != "loop":
            return None
        attrs = {**dict(node.attrs), "body": fuse_body(node.attr("body"))}
        return b.emit("loop", *(remap[a] for a in node.args), **attrs)

    return rebuild(fn, b, make)


def expand_graph(fn: Function, swaps: dict[int, LoopBody] | None = None) -> Function:
    """``fn`` with its fused nodes expanded and each loop given its expanded body: the
    one its reverse loop was built on (``swaps``: the id of a body -> the expanded body,
    from the ``loop_grad`` nodes of ``fn``), else ``expand_body``'s."""
    swaps = dict(swaps or {})
    for node in fn.nodes:
        if node.op == "loop_grad":
            grad = node.attr("grad")
            swaps[id(grad.source)] = grad.loop
    if not any(node.op in ("fused", "loop") for node in fn.nodes):
        return fn
    b = Builder(rewrite=make_rewriter(fuse=False))

    def make(i, node, remap):
        args = [remap[a] for a in node.args]
        if node.op == "fused":
            return run_body(node.attr("body"), args, BodyBuilder(b))
        if node.op == "loop":
            body = node.attr("body")
            new = swaps.get(id(body)) or expand_body(body)
            return b.emit("loop", *args, **{**dict(node.attrs), "body": new})
        return None

    return rebuild(fn, b, make)


def expand_body(body: LoopBody) -> LoopBody:
    """``body`` with its fused nodes (and its inner loops' bodies) expanded."""
    fn = as_function(body.nodes, [*body.captures, *body.carried], body_keys(body))
    return remapped(body, expand_graph(fn))


def flipped(nodes, i: int) -> tuple[int, int] | None:
    """``(x, g)`` when node ``i`` is ``(g^T x)^T`` of matrices (a weight's gradient as
    the matmul rule writes it for long data matrices), else None."""
    node = nodes[i]
    if node.op != "transpose" or len(node.shape) != 2:
        return None
    inner = nodes[node.args[0]]
    if inner.op != "matmul" or len(inner.shape) != 2:
        return None
    g, x = inner.args
    if nodes[g].op != "transpose" or len(nodes[x].shape) != 2:
        return None
    return x, nodes[g].args[0]


# (g^T x)^T -> x^T g  (in a loop body, where the rows are one step's, not the data's)
def weight_gradients(fn: Function) -> Function:
    """``fn`` (a reverse loop's graph) with each weight gradient written ``x^T g``, as
    a per-step gradient reads (``dWx += x[:, t, :].T @ dtanh``): the orientation the
    matmul rule picks for a long data matrix (``(g^T x)^T``) is the slower one for the
    rows of one step."""
    if not any(flipped(fn.nodes, i) for i in range(len(fn.nodes))):
        return fn
    b = Builder(rewrite=make_rewriter(fuse=False))

    def make(i, node, remap):
        found = flipped(fn.nodes, i)
        if found is None:
            return None
        x, g = found
        return b.emit("matmul", transpose_last(b, remap[x]), remap[g])

    return rebuild(fn, b, make)
