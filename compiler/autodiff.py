"""Reverse mode, as in the lecture: walk the graph backwards, multiply the upstream
gradient by each node's local gradient (the adjoint rule in the primitive table),
and sum the gradients where a value fans out. The adjoint lives in the same IR.
"""

from __future__ import annotations

import dataclasses

from .ir import Builder, Function
from .passes.simplify import make_rewriter
from .primitives import PRIMS


def active_nodes(fn: Function) -> set[int]:
    """Nodes that depend on a differentiated input (activity analysis)."""
    active = {p.node for p in fn.params if p.wrt}
    for i, node in enumerate(fn.nodes):
        if node.dtype == "float" and any(a in active for a in node.args):
            active.add(i)
    return active


def differentiate(fn: Function, *, fuse: bool = True) -> Function:
    """Append the adjoint graph to ``fn``: a seed ``d_<out>`` and one gradient per wrt input."""
    # Recognition rewrites are for what people write; adjoint rules are already stable.
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    out = fn.nodes[fn.output]
    active = active_nodes(fn)
    with b.at(out.loc):
        seed = b.emit("param", name="d_" + (out.name or "out"), shape=out.shape, dtype="float")
    adjoint: dict[int, int] = {fn.output: seed}
    for i in range(fn.output, -1, -1):
        g = adjoint.get(i)
        node = b[i]
        rule = PRIMS[node.op].adjoint
        if g is None or rule is None:
            continue
        if node.name:
            b.name(g, "d_" + node.name)
        with b.at(node.loc):
            contributions = rule(b, i, node, g)
            for a, c in zip(node.args, contributions):
                if c is None or a not in active:
                    continue
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
                               rewrites=fn.rewrites + b.fired)
