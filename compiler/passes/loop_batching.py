"""Batching through loops: ``f_hessian`` of one vector input of a function that loops,
its n unit tangents pushed together through ``f_hvp``'s forward loop (values and
tangents) and its reverse loop, one pass each, never n calls.

A body is batched as a function's graph is (``batching.push``), from its batched
parameters: the captures whose outer value is batched, and the carried values whose
value before the loop is, or (to a fixed point, as ``loop_forward.loop_tangent`` finds
tangents) whose value at an iteration's end is; those get new parameters with the batch
axis in front, and an unbatched value before the loop is broadcast (new zeros for
zeros). The reverse loop is batched on the forward's result (its nodes extend the
forward body's, so a tape's row is the batched node it recorded), from the batched
gradients of the carried values after the loop, to a fixed point too. A tape keeps the
trip count first (``(T, n, ...)``: a row read is batch first); only the reverse loop
reads it. The values no tangent reaches stay unbatched (``h``, and ``d_t_h``), rebuilt
on the new loops (``RULES``' second result).
"""

from __future__ import annotations

import dataclasses

from ..core.ir import Builder
from ..core.loops import LoopBody, LoopGrad
from ..ops.common import lifted
from ..rewrite import make_rewriter
from .batching import RULES, push


def batched_loops(b: Builder) -> dict:
    """The loops batched so far, shared by a graph's builder and its bodies': the id of a
    body -> (its batched body, old -> new body node, the batched old nodes, the batch
    axis' length)."""
    return b.__dict__.setdefault("batched_loops", {})


def body_builder(b: Builder, nodes) -> Builder:
    """A builder over a body's ``nodes`` (their indices kept), sharing ``b``'s loops."""
    bb = Builder(list(nodes), rewrite=make_rewriter(fuse=False))
    if len(bb.nodes) != len(nodes):  # pragma: no cover - a body holds no equal nodes
        raise NotImplementedError("a loop body with two equal nodes")
    bb.batched_loops = batched_loops(b)
    return bb


def batch_size(b: Builder, args, bat):
    """The batch axis' length (that of the first batched argument), None if none is."""
    return next((b.shape(a)[0] for a, t in zip(args, bat) if t), None)


def batched_param(bb: Builder, p: int, size) -> int:
    """A new body parameter for ``p`` with the batch axis in front (the same name)."""
    node = bb[p]
    return bb.emit("param", **dict(node.attrs, shape=(size, *node.shape)))


def batched_body(b: Builder, body: LoopBody, caps: set[int], cars: set[int], size):
    """``body`` with its captures ``caps`` (parameters) and carried values ``cars``
    (positions, more to a fixed point) batched: the builder, old -> new node, the
    batched old nodes and the batched carried values."""
    while True:
        bb = body_builder(b, body.nodes)
        params = sorted(caps | {body.carried[k] for k in cars})
        stacks = {p: batched_param(bb, p, size) for p in params}
        new, batched = push(bb, list(body.outs), stacks)
        more = {k for k, o in enumerate(body.outs) if o in batched} - cars
        if not more:
            break
        cars = cars | more
    outs = []
    for k, o in enumerate(body.outs):
        out = new.get(o, o)
        with bb.at(bb[o].loc):
            outs.append(
                lifted(bb, out, size) if k in cars and o not in batched else out
            )
    fresh = dataclasses.replace(
        body,
        nodes=tuple(bb.nodes),
        captures=tuple(new.get(p, p) for p in body.captures),
        carried=tuple(new.get(p, p) for p in body.carried),
        outs=tuple(outs),
    )
    batched_loops(b)[id(body)] = (fresh, new, batched, size)
    return fresh, cars


def loop_batch(b: Builder, node, args, bat):
    """A forward loop on batched captures or values before the loop."""
    body: LoopBody = node.attr("body")
    ncap = len(body.captures)
    size = batch_size(b, args, bat)
    caps = {body.captures[c] for c in range(ncap) if bat[c]}
    cars = {k for k in range(len(body.carried)) if bat[ncap + k]}
    fresh, cars = batched_body(b, body, caps, cars, size)
    inits = [
        lifted(b, a, size) if k in cars and not bat[ncap + k] else a
        for k, a in enumerate(args[ncap:])
    ]
    loop = b.emit("loop", *args[:ncap], *inits, **dict(node.attrs, body=fresh))
    return loop, True


def out_batch(b: Builder, node, args, bat):
    """A carried value after a batched loop: batched if the loop batches it."""
    out = b.emit("loop_out", args[0], **dict(node.attrs))
    return out, len(b.shape(out)) > len(node.shape)


def tape_batch(b: Builder, node, args, bat):
    """A tape of a batched loop: the batched node's, trip count first, when it is."""
    _, new, batched, _ = batched_loops(b)[id(b[node.args[0]].attr("body"))]
    j = node.attr("j")
    loop = b[args[0]].attr("body")
    shape = (node.attr("shape")[0], *loop.nodes[new.get(j, j)].shape)
    tape = b.emit("loop_tape", args[0], j=new.get(j, j), shape=shape)
    return tape, j in batched


def grad_batch(b: Builder, node, args, bat):
    """A reverse loop on batched gradients after the loop, tapes or captures."""
    grad: LoopGrad = node.attr("grad")
    body = grad.loop
    tapes = [t and role == "tape" for (role, _), t in zip(grad.roles, bat)]
    size = batch_size(b, args, [t and not tape for t, tape in zip(bat, tapes)])
    if id(body) not in batched_loops(b):
        # the forward loop is not batched when nothing batched reads it (no tape: the
        # reverse loop reads captures only): its body batched from the captures here
        caps = {x for (role, x), t in zip(grad.roles, bat) if role == "capture" and t}
        batched_body(b, body, caps, set(), size)
    fwd, fnew, fbat, size = batched_loops(b)[id(body)]
    for role, k in grad.roles:
        if role == "start" and body.carried[k] in fbat and body.outs[k] not in fbat:
            raise NotImplementedError(
                "a loop value batched before the loop only, read back from its tape"
            )
    seeds = {k for (role, k), t in zip(grad.roles, bat) if role == "seed" and t}
    roots = [d for d in (*grad.d_carried, *grad.d_captures) if d is not None]
    while True:
        bb = body_builder(b, fwd.nodes)
        stacks, batched = dict(fnew), set(fbat)
        for k in sorted(seeds):
            stacks[grad.seeds[k]] = batched_param(bb, grad.seeds[k], size)
            batched.add(grad.seeds[k])
        new, batched = push(bb, roots, stacks, batched)
        more = {k for k, d in enumerate(grad.d_carried) if d in batched} - seeds
        if not more:
            break
        seeds |= more
    d_carried = []
    for k, d in enumerate(grad.d_carried):
        if d is not None and k in seeds and d not in batched:
            with bb.at(bb[d].loc):
                d_carried.append(lifted(bb, new.get(d, d), size))
        else:
            d_carried.append(new.get(d, d) if d is not None else None)
    nargs, roles = [], []
    for a, t, (role, x) in zip(args, bat, grad.roles):
        if role == "seed" and x in seeds and not t:
            a = lifted(b, a, size)
        elif role == "start" and body.carried[x] in fbat and not t:
            a = lifted(b, a, size)
        nargs.append(a)
        roles.append((role, fnew.get(x, x) if role in ("tape", "capture") else x))
    appended = set(range(len(grad.nodes), len(fwd.nodes)))
    recompute = recomputed(bb, grad, new, appended, roles, roots)
    nodes = tuple(bb.nodes)
    fresh = dataclasses.replace(
        grad,
        loop=dataclasses.replace(fwd, nodes=nodes),
        nodes=nodes,
        roles=tuple(roles),
        seeds=tuple(new.get(s, s) if s is not None else None for s in grad.seeds),
        d_carried=tuple(d_carried),
        d_captures=tuple(
            new.get(d, d) if d is not None else None for d in grad.d_captures
        ),
        recompute=recompute,
        source=fwd,
        forward=grad.forward | appended,
    )
    return b.emit("loop_grad", *nargs, grad=fresh), True


def recomputed(bb: Builder, grad: LoopGrad, new, appended: set, roles, roots) -> tuple:
    """The nodes the batched reverse loop computes again: the old ones' new nodes, and
    the forward's batched nodes it reads (``t_b[:, None]`` where it read ``t_b``, a
    capture), down to the tapes and the parameters."""
    out = {new.get(j, j) for j in grad.recompute}
    bound = {x for role, x in roles if role in ("tape", "capture")}
    stack, seen = [*out, *(new.get(r, r) for r in roots)], set()
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        for a in bb[j].args:
            if a in bound or bb[a].op == "param":
                continue
            if a in appended:
                out.add(a)
            if a in out or a not in grad.forward:
                stack.append(a)
    return tuple(sorted(out))


def grad_out_batch(b: Builder, node, args, bat):
    """A gradient from a batched reverse loop: batched if the loop batches it."""
    out = b.emit("loop_grad_out", args[0], **dict(node.attrs))
    return out, len(b.shape(out)) > len(node.shape)


RULES["loop"] = loop_batch
RULES["loop_out"] = out_batch
RULES["loop_tape"] = tape_batch
RULES["loop_grad"] = grad_batch
RULES["loop_grad_out"] = grad_out_batch
