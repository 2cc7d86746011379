"""Reverse mode, as in the lecture: walk the graph backwards, multiply the upstream
gradient by each node's local gradient (the adjoint rule in the primitive table),
and sum the gradients where a value fans out. The adjoint lives in the same IR.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from ..core.ir import Builder, Function, reachable
from ..core.prim import PRIMS
from ..core.shapes import broadcast
from ..ops.common import unbroadcast
from ..rewrite import make_rewriter


def active_nodes(fn: Function) -> set[int]:
    """Nodes that depend on a differentiated input (activity analysis)."""
    active = {p.node for p in fn.params if p.wrt}
    for i, node in enumerate(fn.nodes):
        if node.dtype in ("float", "loop") and any(a in active for a in node.args):
            active.add(i)
    return active


Mask = tuple[
    int, bool
]  # (bool node, polarity): an element is live where the node is that


def live_masks(
    b: Builder, fn: Function, roots: list[int] | None = None
) -> dict[int, Mask]:
    """For each elementwise float node not all of whose elements reach the output: a mask.

    A ``where`` gives each branch its condition (negated for the second branch), ANDed
    with its own mask; an elementwise node passes its mask on to its inputs; a mask given
    to an input of smaller shape is reduced with ``any`` over the axes broadcast over. A
    node's mask is the OR of the masks its readers give it (no mask if any reader gives
    none). A dead element has zero derivative, so masking there is exact, and it keeps
    the branch ``where`` does not take from leaking NaN or inf into a gradient (the
    effect of JAX's double-``where`` trick, applied automatically). Mask nodes are made
    with ``b``; the ones no contribution uses stay dead code.
    """
    roots = [fn.output] if roots is None else roots
    live = reachable(fn.nodes, roots)
    readers: dict[int, list[tuple[int, int]]] = {}
    for u in sorted(live):
        for pos, a in enumerate(fn.nodes[u].args):
            readers.setdefault(a, []).append((u, pos))
    masks: dict[int, Mask] = {}
    for i in sorted(live, reverse=True):
        node = fn.nodes[i]
        if i in roots or node.dtype != "float" or not PRIMS[node.op].elementwise:
            continue
        # comparisons read a value without sending it a gradient
        with b.at(node.loc):
            given = [
                given_mask(b, masks, u, pos, i)
                for u, pos in readers.get(i, ())
                if fn.nodes[u].dtype == "float"
            ]
        m = given[0] if given else None
        for other in given[1:]:
            m = None if m is None or other is None else combine(b, "or", m, other)
        if m is not None:
            masks[i] = m
    return masks


def given_mask(
    b: Builder, masks: dict[int, Mask], u: int, pos: int, i: int
) -> Mask | None:
    """The mask reader ``u`` gives its input ``i`` (at position ``pos``), or None (all live)."""
    reader = b[u]
    if not PRIMS[reader.op].elementwise:
        return None
    m = masks.get(u)
    if reader.op == "where":
        branch = (reader.args[0], pos == 1)
        m = branch if m is None else combine(b, "and", branch, m)
    return None if m is None else reduced(b, m, b.shape(i))


def as_bool(b: Builder, m: Mask) -> int:
    """The bool node that is True at the live elements of mask ``m``."""
    node, taken = m
    return node if taken else b.emit("not", node)


def combine(b: Builder, op: str, m1: Mask, m2: Mask) -> Mask | None:
    """``m1 and m2`` or ``m1 or m2`` (``op``); None when it is all of the elements."""
    if m1 == m2:
        return m1
    if m1[0] == m2[0]:  # c and not c, or c or not c
        return None if op == "or" else (b.emit("and", m1[0], as_bool(b, m2)), True)
    return b.emit(op, as_bool(b, m1), as_bool(b, m2)), True


def reduced(b: Builder, m: Mask, shape: tuple) -> Mask:
    """Mask ``m`` reduced with ``any`` to broadcast against ``shape`` (unchanged if it does)."""
    ms = b.shape(m[0])
    if broadcast(ms, shape) == tuple(shape):
        return m
    node = as_bool(b, m)
    lead = len(ms) - len(shape)
    if lead > 0:
        node = b.emit("any", node, axis=tuple(range(lead)), keepdims=False)
        ms = b.shape(node)
    offset = len(shape) - len(ms)
    ones = tuple(k for k, d in enumerate(ms) if d != 1 and shape[k + offset] == 1)
    if ones:
        node = b.emit("any", node, axis=ones, keepdims=True)
    return node, True


def vanishes(b: Builder, c: int, g: int, depth: int = 0) -> bool:
    """Whether contribution ``c`` is zero wherever the upstream ``g`` is (``g``, ``-g``,
    ``2 * g``, a ``where`` of such, a sum of them): it needs no mask, as ``g`` is zero
    at a node's dead elements already."""
    node = b[c]
    if c == g:
        return True
    if node.op == "const":
        return math.isfinite(node.attr("value"))
    if depth > 6:
        return False
    if node.op in ("neg", "sum", "expand_dims", "broadcast_to", "reshape"):
        return vanishes(b, node.args[0], g, depth + 1)
    if node.op == "mul":
        x, y = node.args
        return any(
            b.is_const(k) and vanishes(b, k, g) and vanishes(b, v, g, depth + 1)
            for k, v in ((x, y), (y, x))
        )
    if node.op == "where":
        return all(vanishes(b, a, g, depth + 1) for a in node.args[1:])
    return False


def masked(b: Builder, c: int, m: Mask) -> int:
    """``c`` at the live elements of mask ``m``, else 0."""
    node, taken = m
    zero = b.const(0.0)
    return b.emit("where", node, c, zero) if taken else b.emit("where", node, zero, c)


def contributions(b: Builder, i: int, node, g: int, masks: dict[int, Mask]) -> list:
    """What node ``i`` sends each input from upstream gradient ``g``: its adjoint rule's
    contributions, masked at the node's own shape to its live elements (``live_masks``)
    unless they vanish there anyway, then summed down to each input's shape."""
    m = masks.get(i)
    out = []
    for a, c in zip(node.args, PRIMS[node.op].adjoint(b, i, node, g)):
        if c is not None and m is not None and not vanishes(b, c, g):
            c = masked(b, c, m)
        out.append(None if c is None else unbroadcast(b, c, b.shape(a)))
    return out


#: the adjoint rules of nodes with several results (a ``loop``), read through projections
#: (``loop_out``, whose ``k`` attribute says which): ``rule(b, i, node, gs) -> [contribution
#: or None per input]`` from ``gs``, result ``k`` -> its upstream gradient; filled by
#: ``passes/loops.py``
MULTI: dict[str, Callable] = {}
PROJECTIONS = {"loop_out": "loop"}


def reverse_walk(
    b: Builder, seeds: dict[int, int], active: set[int], masks: dict[int, Mask]
) -> tuple[dict[int, int], dict[int, int], dict[tuple[int, int], int]]:
    """The backward walk from ``seeds`` (node -> its upstream gradient) down to the
    parameters: upstream times local (each op's adjoint rule), summed where values fan
    out. Returns the total gradient of each node reached (``adjoint``), the node each
    gradient is of (``adjoint_of``) and what each node sent through each input
    (``sent``). The one walk for a function's graph and for a loop body's."""
    adjoint: dict[int, int] = dict(seeds)
    adjoint_of: dict[int, int] = {}
    sent: dict[tuple[int, int], int] = {}
    parts: dict[int, dict[int, int]] = {}
    for i in range(max(seeds), -1, -1):
        node = b[i]
        g = adjoint.get(i)
        if node.op in MULTI and i in parts:
            with b.at(node.loc):
                terms = MULTI[node.op](b, i, node, parts[i])
        elif g is None or PRIMS[node.op].adjoint is None:
            if g is not None and node.op in PROJECTIONS:
                parts.setdefault(node.args[0], {})[node.attr("k")] = g
                if node.name:
                    b.name(g, "d_" + node.name)
                adjoint_of.setdefault(g, i)
            continue
        else:
            if node.name:
                b.name(g, "d_" + node.name)
            adjoint_of.setdefault(g, i)
            with b.at(node.loc):
                terms = contributions(b, i, node, g, masks)
        with b.at(node.loc):
            for pos, (a, c) in enumerate(zip(node.args, terms)):
                if c is None or a not in active:
                    continue
                c = unbroadcast(b, c, b.shape(a))
                sent[(i, pos)] = c
                adjoint[a] = (
                    b.emit("add", adjoint[a], c, acc=True) if a in adjoint else c
                )
    return adjoint, adjoint_of, sent


def differentiate(fn: Function, *, fuse: bool = True) -> Function:
    """Append the adjoint graph to ``fn``: a seed ``d_<out>`` and one gradient per wrt input."""
    # Recognition rewrites are for what people write; adjoint rules are already stable.
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    out = fn.nodes[fn.output]
    active = active_nodes(fn)
    b.active = active
    masks = live_masks(b, fn)
    with b.at(out.loc):
        seed = b.emit(
            "param",
            name="d_" + (out.name or "out"),
            shape=out.shape,
            dtype="float",
            seed=True,
        )
    adjoint, adjoint_of, sent = reverse_walk(b, {fn.output: seed}, active, masks)
    for p in fn.params:
        if p.node in adjoint:
            b.name(adjoint[p.node], "d_" + p.name)
    grads = {}
    for p in fn.wrt:
        g = adjoint.get(p.node)
        if g is None:
            g = (
                b.emit("zeros", shape=b.shape(p.node))
                if b.shape(p.node)
                else b.const(0.0)
            )
        grads[p.name] = g
    return dataclasses.replace(
        fn,
        nodes=b.nodes,
        seed=seed,
        grads=grads,
        rewrites=fn.rewrites + b.fired,
        notes=dict(b.notes),
        adjoint_of=adjoint_of,
        adjoints=dict(adjoint),
        sent=sent,
    )
