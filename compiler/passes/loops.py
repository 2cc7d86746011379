"""Reverse mode through a loop: the body's adjoint graph (the same backward walk as a
function's, ``autodiff.reverse_walk``, from a seed per carried value), what the reverse
loop reads of the forward, and the ``loop_grad`` node that runs it.

What the reverse loop reads of an iteration's forward values is classified:

- a capture (loop-invariant: the same in every iteration) is read as it is, stored once;
- a value that depends on neither a carried value nor anything costly (a slice
  ``x[:, t, :]``, a transpose, a constant) is recomputed in the reverse loop;
- anything else (a carried value at an iteration's start, a ``tanh``) is recorded by the
  forward into a tape, one row per iteration (``loop_tape``): memory O(trip count x the
  per-iteration values the backward reads).

The gradients of the carried values run through the reverse loop from one iteration to
the one before; the gradients of the captures are summed over the iterations.
"""

from __future__ import annotations

from ..core.ir import Builder, Function, reachable
from ..core.loops import LoopBody, LoopGrad
from ..core.prim import PRIMS
from ..ops.common import zeros_of
from ..rewrite import make_rewriter
from .autodiff import MULTI, live_masks, reverse_walk
from .loop_bodies import (
    as_function,
    body_keys,
    expand_graph,
    remapped,
    weight_gradients,
)

#: operations cheap enough to run again in the reverse loop rather than to record
CHEAP = frozenset(
    {
        "getitem",
        "transpose",
        "reshape",
        "expand_dims",
        "broadcast_to",
        "const",
        "dim",
        "zeros",
        "ones",
        "arange",
        "neg",
    }
)


def body_active(body: LoopBody, given: set[int]) -> set[int]:
    """The body nodes that depend on the active parameters ``given``, carried values
    made active where their value at an iteration's end is (to a fixed point)."""
    given = set(given)
    while True:
        active = set(given)
        for i, node in enumerate(body.nodes):
            if node.dtype in ("float", "loop") and any(a in active for a in node.args):
                active.add(i)
        more = {
            p for p, o in zip(body.carried, body.outs) if o in active and p not in given
        }
        if not more:
            return active
        given |= more


def carried_dependent(body: LoopBody) -> set[int]:
    """The body nodes that depend on a carried value."""
    out = set(body.carried)
    for i, node in enumerate(body.nodes):
        if any(a in out for a in node.args):
            out.add(i)
    return out


def cheap(nodes, i: int, stop: set[int]) -> bool:
    """Whether node ``i`` and what it is computed from (down to ``stop``) are all CHEAP."""
    stack, seen = [i], set()
    while stack:
        j = stack.pop()
        if j in seen or j in stop:
            continue
        seen.add(j)
        if nodes[j].op not in CHEAP:
            return False
        stack.extend(nodes[j].args)
    return True


def closure(nodes, roots: set[int], stop: set[int]) -> set[int]:
    """``roots`` and the nodes they are computed from, down to ``stop``."""
    out, stack = set(), list(roots)
    while stack:
        j = stack.pop()
        if j in out or j in stop:
            continue
        out.add(j)
        stack.extend(nodes[j].args)
    return out


def classify(body: LoopBody, read: set[int], stop: set[int]) -> tuple[set, list]:
    """Which forward values the reverse loop computes again and which it reads from a
    tape: cheap values independent of the carried ones are recomputed (with what they are
    computed from); so are elementwise values computed (through elementwise and cheap
    operations only) from the carried values at the iteration's start, which are taped
    instead (``sin(x[t] * h)`` from ``h_prev_tape[t]``: one tape, not one per value); an
    inner loop is run again (it records its own tapes for its reverse loop), so what it
    reads is classified in turn; anything else is taped."""
    nodes = body.nodes
    dependent = carried_dependent(body)
    carried = set(body.carried)
    free: dict[int, bool] = {}
    recompute: set[int] = set()
    pending = sorted(read)
    tapes: set[int] = set()
    while pending:
        r = pending.pop()
        if r in recompute or r in tapes or r in stop:
            continue
        if nodes[r].op == "loop":
            recompute.add(r)
            pending += nodes[r].args
        elif r not in dependent and cheap(nodes, r, stop):
            recompute |= closure(nodes, {r}, stop)
        elif r not in carried and elementwise_of_carried(nodes, r, stop, carried, free):
            more = closure(nodes, {r}, stop | carried)
            recompute |= more
            tapes |= {a for j in more for a in nodes[j].args if a in carried}
        else:
            tapes.add(r)
    return recompute, sorted(tapes)


def elementwise_of_carried(
    nodes, i: int, stop: set[int], carried: set[int], free
) -> bool:
    """Whether node ``i`` is computed from captures and carried values by elementwise and
    cheap operations only (memoised in ``free``; no recursion)."""
    stack = [i]
    while stack:
        j = stack[-1]
        if j in free:
            stack.pop()
            continue
        node = nodes[j]
        if j in stop or j in carried or (node.op in CHEAP and not node.args):
            free[j] = True
            stack.pop()
            continue
        if node.op not in CHEAP and not PRIMS[node.op].elementwise:
            free[j] = False
            stack.pop()
            continue
        todo = [a for a in node.args if a not in free]
        if todo:
            stack += todo
            continue
        free[j] = all(free[a] for a in node.args)
        stack.pop()
    return free[i]


def slot_per_iteration(body: LoopBody, k: int) -> bool:
    """Whether carried array ``k`` is only written, each iteration into its own slot
    (``hs[:, t, :] = h``): then no other iteration reads the slot whose gradient the
    functional update zeroes, so the reverse loop need not zero it (when the array's
    value before the loop gets no gradient)."""
    p, o = body.carried[k], body.outs[k]
    node = body.nodes[o]
    if node.op != "setitem" or node.attr("add") or node.args[0] != p:
        return False
    if any(p in n.args for j, n in enumerate(body.nodes) if j != o and n.op != "pack"):
        return False
    t = body.symbol
    return any(e[0] == "i" and e[1] == t for e in node.attr("index"))


def loop_adjoint(b: Builder, i: int, node, gs: dict[int, int]) -> list:
    """The contributions of loop node ``i`` to its arguments from the upstream gradients
    ``gs`` of its carried values after the loop (``MULTI`` rule): a ``loop_grad`` node
    running the body's adjoint in reverse, read through ``loop_grad_out``."""
    body: LoopBody = node.attr("body")
    ncap = len(body.captures)
    outer_active = b.active if b.active is not None else set(node.args)
    params = body.captures + body.carried
    given = {p for p, a in zip(params, node.args) if a in outer_active}
    active = body_active(body, given)
    live = [k for k, p in enumerate(body.carried) if p in active]
    if not live:  # no carried value depends on a differentiated input: no gradient
        return [None] * len(node.args)
    bb = Builder(list(body.nodes), rewrite=make_rewriter(fuse=False))
    bb.active = active
    outs = [body.outs[k] for k in live]
    masks = live_masks(bb, Function("body", "", [], bb.nodes, 0, "", None), outs)
    seeds: dict[int, int] = {}
    seed_params = [None] * len(body.carried)
    for k in live:
        out = body.outs[k]
        s = bb.emit(
            "param",
            name="d_" + body.names[k],
            shape=bb.shape(out),
            dtype="float",
            role="seed",
            k=k,
        )
        seed_params[k] = s
        seeds[out] = bb.emit("add", seeds[out], s, acc=True) if out in seeds else s
    adjoint, _, _ = reverse_walk(bb, seeds, active, masks)
    d_carried = [
        (adjoint.get(p) or zeros_of(bb, p)) if k in live else None
        for k, p in enumerate(body.carried)
    ]
    for k in live:
        if slot_per_iteration(body, k) and node.args[ncap + k] not in outer_active:
            d_carried[k] = seed_params[k]
    d_captures = [
        adjoint.get(p) if p in active and node.args[c] in outer_active else None
        for c, p in enumerate(body.captures)
    ]
    # fused nodes expanded (in the body and its adjoint alike), inner loops' bodies too
    keys = body_keys(body)
    keys.update({f"seed{k}": seed_params[k] for k in live})
    keys.update({f"dcar{k}": d for k, d in enumerate(d_carried) if d is not None})
    keys.update({f"dcap{c}": d for c, d in enumerate(d_captures) if d is not None})
    params = [*body.captures, *body.carried]
    source, fn = body, expand_graph(as_function(bb.nodes, params, keys))
    fn = weight_gradients(fn)
    body, nodes, g = remapped(body, fn), fn.nodes, fn.grads
    seed_params = [g.get(f"seed{k}") for k in range(len(body.carried))]
    d_carried = [g.get(f"dcar{k}") for k in range(len(body.carried))]
    d_captures = [g.get(f"dcap{c}") for c in range(len(body.captures))]
    roots = [x for x in d_carried + d_captures if x is not None]
    fwd = reachable(nodes, list(body.outs)) | set(body.captures) | set(body.carried)
    need = reachable(nodes, roots)
    read = {a for j in need if j not in fwd for a in nodes[j].args if a in fwd}
    read |= {r for r in roots if r in fwd}
    read -= set(body.captures)
    stop = set(body.captures)
    recompute, tapes = classify(body, read, stop)
    # a carried value at an iteration's start is the previous row of the tape of its
    # value at the end, when that is taped (the start value before the first one)
    shifted = [
        k
        for k, (p, o) in enumerate(zip(body.carried, body.outs))
        if p in tapes and o in tapes and nodes[o].op != "setitem"
    ]
    tapes = [j for j in tapes if j not in {body.carried[k] for k in shifted}]
    todo = {j for j in need if j not in fwd} | recompute
    used = {a for j in todo for a in nodes[j].args} | set(roots)
    roles, args = [], []
    for k in live:
        g = gs.get(k)
        if g is None:  # zeros of its own for each carried gradient (one array each)
            shape = b.shape(node.args[ncap + k])
            g = b.emit("zeros", shape=shape, carried=k) if shape else b.const(0.0)
        args.append(g)
        roles.append(("seed", k))
    for j in tapes:
        shape = (body.trips, *nodes[j].shape)
        args.append(b.emit("loop_tape", i, j=j, shape=shape))
        roles.append(("tape", j))
    for c, p in enumerate(body.captures):
        if p in used:
            args.append(node.args[c])
            roles.append(("capture", p))
    for k in shifted:
        args.append(node.args[ncap + k])
        roles.append(("start", k))
    grad_outs = [("carried", k) for k in live] + [
        ("capture", c) for c, d in enumerate(d_captures) if d is not None
    ]
    grad = LoopGrad(
        body,
        tuple(nodes),
        tuple(roles),
        tuple(seed_params),
        tuple(d_carried),
        tuple(d_captures),
        tuple(sorted(recompute)),
        tuple(grad_outs),
        source=source,
        forward=frozenset(fwd),
    )
    lg = b.emit("loop_grad", *args, grad=grad)
    contributions: list = [None] * len(node.args)
    for k, (kind, idx) in enumerate(grad_outs):
        out = b.emit("loop_grad_out", lg, k=k)
        contributions[idx if kind == "capture" else ncap + idx] = out
    return contributions


MULTI["loop"] = loop_adjoint
