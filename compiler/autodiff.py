"""Reverse mode, as in the lecture: walk the graph backwards, multiply the upstream
gradient by each node's local gradient (the adjoint rule in the primitive table),
and sum the gradients where a value fans out. The adjoint lives in the same IR.
"""

from __future__ import annotations

import dataclasses

from .errors import ShapeError
from .ir import Builder, Function, reachable
from .passes.simplify import make_rewriter
from .primitives import PRIMS, unbroadcast
from .shapes import broadcast


def active_nodes(fn: Function) -> set[int]:
    """Nodes that depend on a differentiated input (activity analysis)."""
    active = {p.node for p in fn.params if p.wrt}
    for i, node in enumerate(fn.nodes):
        if node.dtype == "float" and any(a in active for a in node.args):
            active.add(i)
    return active


def mask(b: Builder, c, cond: int, taken: bool):
    """``c`` where the branch ``taken`` of ``cond`` holds, else 0 (when shapes allow)."""
    if c is None or b.is_const(c):
        return c
    try:
        if broadcast(b.shape(cond), b.shape(c)) != b.shape(c):
            return c
    except ShapeError:
        return c
    zero = b.const(0.0)
    return b.emit("where", cond, c, zero) if taken else b.emit("where", cond, zero, c)


def where_guards(fn: Function) -> dict[int, list[tuple[int, bool]]]:
    """For each node used only inside one branch of a ``where``: that ``(condition, branch)``.

    The adjoint rules of such nodes have their contributions masked to the branch,
    so the branch ``where`` does not take never leaks NaN or inf into a gradient
    (the effect of JAX's double-``where`` trick, applied automatically).
    """
    uses: dict[int, list[tuple[int, int]]] = {}
    for i, node in enumerate(fn.nodes):
        for pos, a in enumerate(node.args):
            uses.setdefault(a, []).append((i, pos))
    guards: dict[int, list[tuple[int, bool]]] = {}
    for w, node in enumerate(fn.nodes):
        if node.op != "where":
            continue
        cond = node.args[0]
        for pos, taken in ((1, True), (2, False)):
            branch = node.args[pos]
            inside: set[int] = set()
            for k in sorted(reachable(fn.nodes, [branch]), reverse=True):
                n = fn.nodes[k]
                if n.dtype != "float" or not PRIMS[n.op].elementwise:
                    continue  # a mask only lines up with an elementwise node's inputs
                allowed = {(w, pos)} if k == branch else set()
                if all(u in inside or (u, p) in allowed for u, p in uses.get(k, [])):
                    inside.add(k)
                    guards.setdefault(k, []).append((cond, taken))
    return guards


def differentiate(fn: Function, *, fuse: bool = True) -> Function:
    """Append the adjoint graph to ``fn``: a seed ``d_<out>`` and one gradient per wrt input."""
    # Recognition rewrites are for what people write; adjoint rules are already stable.
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    out = fn.nodes[fn.output]
    active = active_nodes(fn)
    b.active = active
    guards = where_guards(fn)
    with b.at(out.loc):
        seed = b.emit("param", name="d_" + (out.name or "out"), shape=out.shape, dtype="float",
                      seed=True)
    adjoint: dict[int, int] = {fn.output: seed}
    adjoint_of: dict[int, int] = {}
    for i in range(fn.output, -1, -1):
        g = adjoint.get(i)
        node = b[i]
        rule = PRIMS[node.op].adjoint
        if g is None or rule is None:
            continue
        if node.name:
            b.name(g, "d_" + node.name)
        adjoint_of.setdefault(g, i)
        with b.at(node.loc):
            contributions = rule(b, i, node, g)
            for cond, taken in guards.get(i, ()):
                contributions = [mask(b, c, cond, taken) for c in contributions]
            for a, c in zip(node.args, contributions):
                if c is None or a not in active:
                    continue
                c = unbroadcast(b, c, b.shape(a))
                adjoint[a] = b.emit("add", adjoint[a], c, acc=True) if a in adjoint else c
    for p in fn.params:
        if p.node in adjoint:
            b.name(adjoint[p.node], "d_" + p.name)
    grads = {}
    for p in fn.wrt:
        g = adjoint.get(p.node)
        if g is None:
            g = b.emit("zeros", shape=b.shape(p.node)) if b.shape(p.node) else b.const(0.0)
        grads[p.name] = g
    return dataclasses.replace(fn, nodes=b.nodes, seed=seed, grads=grads,
                               rewrites=fn.rewrites + b.fired, notes=dict(b.notes),
                               adjoint_of=adjoint_of)
