"""Forward mode through a loop (``f_jvp``): the tangents go through the body with the
same walk as a function's (``forward.push``), so the loop becomes one loop carrying each
value and its tangent (``h`` and ``t_h``); the tangents of the values read from outside
are read from outside too.

Which carried values get a tangent is found to a fixed point: one whose value at an
iteration's end has a tangent needs one at the start (zeros before the loop when its
value before the loop has none).
"""

from __future__ import annotations

import dataclasses
import heapq

from ..core.ir import Builder, Function, rebuild
from ..core.loops import LoopBody
from ..ops.common import zeros_of
from ..rewrite import make_rewriter
from .autodiff import differentiate
from .forward import TANGENTS, derived, push, tangent_params


def tangent_body(body: LoopBody, caps: list[int], cars: set[int]):
    """``body`` extended with tangent parameters for the captures ``caps`` and the
    carried values ``cars`` (positions) and their tangents; returns the builder, the
    new parameters and the tangents of the body's nodes."""
    bb = Builder(list(body.nodes), rewrite=make_rewriter(fuse=False))
    seeds, tcaps, tcars = {}, [], {}
    for c in caps:
        p = body.captures[c]
        node = bb[p]
        t = bb.emit(
            "param",
            name="t_" + node.attr("name"),
            shape=node.shape,
            dtype="float",
            role="capture",
            tangent=True,
        )
        seeds[p], tcaps = t, tcaps + [t]
    for k in sorted(cars):
        p = body.carried[k]
        node = bb[p]
        t = bb.emit(
            "param",
            name="t_" + body.names[k],
            shape=node.shape,
            dtype="float",
            role="carried",
            tangent=True,
        )
        seeds[p], tcars[k] = t, t
    return bb, tcaps, tcars, push(bb, list(body.outs), seeds)


def loop_tangent(b: Builder, i: int, node, ts: list) -> int | None:
    """The tangent of loop node ``i``: a loop carrying the values and their tangents
    (``loop_out`` ``k`` of it is carried value ``k``; after the values, the tangents of
    those that have one, in order: ``TANGENT_OUTS``)."""
    body: LoopBody = node.attr("body")
    ncap = len(body.captures)
    caps = [c for c in range(ncap) if ts[c] is not None]
    cars = {k for k in range(len(body.carried)) if ts[ncap + k] is not None}
    while True:
        bb, tcaps, tcars, tangent = tangent_body(body, caps, cars)
        more = {k for k, o in enumerate(body.outs) if o in tangent} - cars
        if not more:
            break
        cars |= more
    if not cars:
        return None
    order = sorted(cars)
    touts = [tangent.get(body.outs[k]) for k in order]
    touts = [
        t if t is not None else zeros_of(bb, body.outs[k]) for t, k in zip(touts, order)
    ]
    new = dataclasses.replace(
        body,
        nodes=tuple(bb.nodes),
        captures=body.captures + tuple(tcaps),
        carried=body.carried + tuple(tcars[k] for k in order),
        outs=body.outs + tuple(touts),
        names=body.names + tuple("t_" + body.names[k] for k in order),
    )
    inits = []
    for k in order:
        t = ts[ncap + k]
        inits.append(t if t is not None else zeros_of(b, node.args[ncap + k]))
    args = [*node.args[:ncap], *(ts[c] for c in caps), *node.args[ncap:], *inits]
    loop = b.emit("loop", *args, body=new, tangent_of=len(body.carried))
    return loop


def out_tangent(b: Builder, i: int, node, ts: list) -> int | None:
    """The tangent of carried value ``k`` after a loop: read off the tangent loop."""
    t = ts[0]
    if t is None:
        return None
    k = node.attr("k")
    tbody = b[t].attr("body")
    n = b[t].attr("tangent_of")
    name = "t_" + tbody.names[k]
    if name not in tbody.names[n:]:
        return None
    return b.emit("loop_out", t, k=n + tbody.names[n:].index(name))


TANGENTS["loop"] = loop_tangent
TANGENTS["loop_out"] = out_tangent


def hvp_over_jvp(fn: Function, *, fuse: bool = True) -> Function:
    """``f_hvp``'s graph of a (fused, not yet differentiated) scalar ``fn`` that loops:
    reverse over forward, ``H v = grad_x <grad f(x), v>``, the gradient of ``f_jvp``'s
    tangent along the vectors ``v_<name>`` (parameters, held constant). Both walks go
    through loops already (``loop_tangent`` here, the loop's adjoint in ``loops.py``),
    so the loop becomes one forward loop carrying each value and its tangent and one
    reverse loop; the same Hessian-vector product as forward over reverse, at a small
    constant times ``f_value_and_grad`` too."""
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    params, seeds = tangent_params(b, fn, "v_")
    tangent = push(b, [fn.output], seeds)
    out = tangent.get(fn.output)
    if out is None:  # f is linear in the differentiated inputs: a zero Hessian
        results = {p.name: zeros_of(b, p.node) for p in fn.wrt}
        return derived(fn, b, params, results)
    inner = values_from_tangent_loops(b, fn, params, out, tangent)
    walked = differentiate(inner, fuse=fuse)
    ob = Builder(rewrite=make_rewriter(fuse=False))
    one = rebuild(
        walked, ob, lambda i, node, remap: ob.const(1.0) if i == walked.seed else None
    )
    return derived(one, ob, one.params, dict(one.grads))


def values_from_tangent_loops(
    b: Builder, fn: Function, params: list, out: int, tangent: dict
) -> Function:
    """``fn`` with output ``out`` (the tangent) and ``params``, every value after a loop
    read off its tangent loop, which carries the values too (``loop_out`` k of either):
    one forward loop rather than two, and so one reverse loop. The nodes are copied in a
    topological order that keeps the original one where it can (a min-heap on index)."""
    sub = {}
    for i, node in enumerate(list(b.nodes)):
        t = tangent.get(node.args[0]) if node.op == "loop_out" else None
        if t is not None and b[t].op == "loop" and b[t].attr("tangent_of") is not None:
            with b.at(node.loc):
                sub[i] = b.emit("loop_out", t, k=node.attr("k"))
    if not sub:
        return dataclasses.replace(fn, nodes=b.nodes, params=params, output=out)
    nodes = b.nodes
    args = {i: [sub.get(a, a) for a in nodes[i].args] for i in range(len(nodes))}
    live = reachable_args(args, [out, *(p.node for p in params)])
    readers: dict[int, list[int]] = {}
    waiting = {}
    for i in live:
        deps = set(args[i])
        waiting[i] = len(deps)
        for a in deps:
            readers.setdefault(a, []).append(i)
    ready = [i for i in live if waiting[i] == 0]
    heapq.heapify(ready)
    nb = Builder(rewrite=make_rewriter(fuse=False))
    remap: dict[int, int] = {}
    while ready:
        i = heapq.heappop(ready)
        node = nodes[i]
        nb.loc = node.loc
        remap[i] = nb.emit(node.op, *(remap[a] for a in args[i]), **dict(node.attrs))
        if node.name:
            nb.name(remap[i], node.name)
        for r in readers.get(i, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(ready, r)
    return dataclasses.replace(
        fn,
        nodes=nb.nodes,
        params=[dataclasses.replace(p, node=remap[p.node]) for p in params],
        output=remap[out],
        notes={remap[k]: v for k, v in {**fn.notes, **b.notes}.items() if k in remap},
        rewrites=fn.rewrites + b.fired,
    )


def reachable_args(args: dict, roots: list[int]) -> set[int]:
    """The nodes ``roots`` are computed from, by the (substituted) ``args``."""
    out, stack = set(), list(roots)
    while stack:
        j = stack.pop()
        if j not in out:
            out.add(j)
            stack.extend(args[j])
    return out
