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
from ..ops.common import zeros_of
from ..rewrite import make_rewriter
from .autodiff import MULTI, live_masks, reverse_walk

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
    computed from); an inner loop is run again (it records its own tapes for its reverse
    loop), so what it reads is classified in turn; anything else is taped."""
    nodes = body.nodes
    dependent = carried_dependent(body)
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
        else:
            tapes.add(r)
    return recompute, sorted(tapes)


def slot_per_iteration(body: LoopBody, k: int) -> bool:
    """Whether carried array ``k`` is only written, each iteration into its own slot
    (``hs[:, t, :] = h``): then no other iteration reads the slot whose gradient the
    functional update zeroes, so the reverse loop need not zero it (when the array's
    value before the loop gets no gradient)."""
    p, o = body.carried[k], body.outs[k]
    node = body.nodes[o]
    if node.op != "setitem" or node.attr("add") or node.args[0] != p:
        return False
    if any(p in n.args for j, n in enumerate(body.nodes) if j != o):
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
    roots = [x for x in d_carried + d_captures if x is not None]
    nf = len(body.nodes)
    need = reachable(bb.nodes, roots)
    read = {a for j in need if j >= nf for a in bb[j].args if a < nf}
    read |= {r for r in roots if r < nf}
    read -= set(body.captures)
    stop = set(body.captures)
    recompute, tapes = classify(body, read, stop)
    todo = {j for j in need if j >= nf} | recompute
    used = {a for j in todo for a in bb[j].args} | set(roots)
    roles, args = [], []
    for k in live:
        g = gs.get(k)
        if g is None:  # zeros of its own for each carried gradient (one array each)
            shape = b.shape(node.args[ncap + k])
            g = b.emit("zeros", shape=shape, carried=k) if shape else b.const(0.0)
        args.append(g)
        roles.append(("seed", k))
    for j in tapes:
        args.append(b.emit("loop_tape", i, j=j))
        roles.append(("tape", j))
    for c, p in enumerate(body.captures):
        if p in used:
            args.append(node.args[c])
            roles.append(("capture", p))
    grad_outs = [("carried", k) for k in live] + [
        ("capture", c) for c, d in enumerate(d_captures) if d is not None
    ]
    grad = LoopGrad(
        body,
        tuple(bb.nodes),
        tuple(roles),
        tuple(seed_params),
        tuple(d_carried),
        tuple(d_captures),
        tuple(sorted(recompute)),
        tuple(grad_outs),
    )
    lg = b.emit("loop_grad", *args, grad=grad)
    contributions: list = [None] * len(node.args)
    for k, (kind, idx) in enumerate(grad_outs):
        out = b.emit("loop_grad_out", lg, k=k)
        contributions[idx if kind == "capture" else ncap + idx] = out
    return contributions


MULTI["loop"] = loop_adjoint
