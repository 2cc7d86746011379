"""Loops as a person writes them: the forward ``for t in range(T):`` with the tapes it
records (``h_tape[t] = h``), and the reverse loop ``for t in reversed(range(T)):`` that
carries the carried values' gradients back one iteration at a time and accumulates the
gradients of the loop-invariant values with ``+=`` (as CS231n's ``rnn_backward``).

Each body is emitted by an ``Emitter`` of its own over the body's nodes, sharing the
function's names (so nothing in a body shadows a value outside) and its helpers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import printer as P
from ..core.ir import Function, reachable
from ..core.loops import LoopBody, LoopGrad
from ..core.prim import PRIMS
from ..ops.array_api import copied
from .context import Ctx
from .emit import STATEMENT_NODES, Emitter, statements
from .layout import LINE_LIMIT
from .loop_naming import name_carried
from .memory import fresh_array
from .naming import Namer

PROJECTIONS = ("loop_out", "loop_tape", "loop_grad_out")


@dataclass
class BodyCtx(Ctx):
    """The printing context of a loop body: four more spaces of indentation per level."""

    extra: int = 0

    @property
    def indent(self) -> int:
        return self.target.indent + self.extra


def sub_namer(namer: Namer) -> Namer:
    """A namer for a body's nodes (their own indices) that shares ``namer``'s names."""
    sub = Namer(set())
    sub.reserved, sub.taken = namer.reserved, namer.taken
    sub.counters, sub.last = namer.counters, namer.last
    sub.loop_vars = namer.__dict__.setdefault("loop_vars", set())
    return sub


def range_text(body: LoopBody, dims: dict[str, str], reverse: bool) -> str:
    """``range(T)``, ``range(1, T)``, ``range(T - 1, -1, -1)``; ``reversed(...)``."""
    start, stop, step = (P.dim(v, dims) for v in (body.start, body.stop, body.step))
    if body.step != 1:
        text = f"range({start}, {stop}, {step})"
    elif body.start == 0:
        text = f"range({stop})"
    else:
        text = f"range({start}, {stop})"
    return f"reversed({text})" if reverse else text


def body_emitter(
    em: Emitter, nodes, todo, bound, keep, names, var: str, tvar: str, adjoints=()
):
    """An ``Emitter`` for a body's nodes inside ``em``'s function (loop variable ``var``
    printed ``tvar``), naming with ``names`` (``sub_namer``)."""
    fn = Function("body", "", [], list(nodes), 0, "", None)
    dims = dict(em.ctx.dims)
    dims[var] = tvar
    extra = em.ctx.indent - em.ctx.target.indent + 4
    ctx = BodyCtx(list(nodes), dims, em.ctx.helpers, em.ctx.target, extra=extra)
    ctx.kernels, ctx.prefix = em.ctx.kernels, em.ctx.prefix
    emitter = getattr(em, "body_emitter", Emitter)  # numba_loop_kernels: its own
    return emitter(fn, todo, bound, keep, names, ctx, set(adjoints), reuse=False)


def outer(em: Emitter, a: int, user: int) -> P.Expr:
    """The expression of the loop argument ``a``: a name (a statement of its own unless it
    is a leaf), so a body reads it without computing it again."""
    e = em.ref(a, user)
    if a not in em.named and not PRIMS[em.nodes[a].op].leaf:
        e = em.materialise(a, em.exprs[a])
    return e


def projections(em: Emitter, i: int, op: str) -> dict[int, int]:
    """The projections ``op`` of node ``i`` that ``em`` computes: index attribute -> node."""
    key = "j" if op == "loop_tape" else "k"
    return {
        em.nodes[j].attr(key): j
        for j in em.todo
        if em.nodes[j].op == op and em.nodes[j].args[0] == i
    }


def bind(em: Emitter, j: int, name: str) -> None:
    """Projection ``j`` is the variable ``name``."""
    em.namer.names[j] = name
    em.named.add(j)
    em.exprs[j] = P.name(name)


def zeros(em: Emitter, shape: str) -> str:
    """A new array of zeros: the Array API target's in the inputs' dtype and device."""
    if em.ctx.xp:
        return f"xp.zeros({shape}, dtype=dtype, device=device)"
    return f"np.zeros({shape})"


def row(em: Emitter, tape: str, pos: str, ndim: int) -> str:
    """Row ``pos`` of a tape of ``ndim`` axes (``h_tape[t]``; ``h_tape[t, ...]`` on the
    Array API target, whose standard leaves an index of fewer axes unspecified)."""
    more = ", ..." if em.ctx.xp and ndim > 1 else ""
    return f"{tape}[{pos}{more}]"


def write_row(em: Emitter, tape: str, pos: str, ndim: int, value: str) -> str:
    """``h_tape[t] = h``; ``h_tape = _at_set(h_tape, (t, ...), h)`` on the Array API
    target (functional on JAX)."""
    if not em.ctx.xp:
        return f"{row(em, tape, pos, ndim)} = {value}"
    em.ctx.use("_at_set")
    index = f"({pos}, ...)" if ndim > 1 else f"({pos},)"
    return f"{tape} = _at_set({tape}, {index}, {value})"


def start_value(em: Emitter, a: int, user: int, name: str, mutated: bool) -> list[str]:
    """``name = <a>`` before a loop, copied when the loop writes into it and ``a`` is not
    a new array only the loop reads."""
    e = em.ref(a, user)
    own = fresh_array(em.nodes, a) and em.uses.get(a, 0) == 1
    own = own and em.nodes[a].op != "param"
    if mutated and not own and em.ctx.xp:
        return [f"{name} = {copied(e)}"]
    if mutated and not own:
        return [f"{name} = {P.wrap(e, P.ATOM)}.copy()"]
    return [] if e.text == name else [f"{name} = {e.text}"]


def own_name(em: Emitter, a: int, mutated: bool) -> str | None:
    """The variable of the start value ``a`` when the loop may take it over: a local
    only the loop reads (a new array, if the loop writes into it)."""
    if a not in em.named or em.uses.get(a, 0) != 1 or em.nodes[a].op == "param":
        return None
    if mutated and not fresh_array(em.nodes, a):
        return None
    return em.exprs[a].text


def carried_names(em: Emitter, outs: dict[int, int], body, starts, mutated) -> list:
    """The variable of each carried value: that of its value before the loop when only
    the loop reads it (``hs = np.zeros(...)``), else its name after the loop."""
    out = []
    for k, name in enumerate(body.names):
        taken = own_name(em, starts[k], mutated[k])
        if taken is not None:
            out.append(taken)
        elif k in outs:
            out.append(em.name_of(outs[k]))
        else:
            out.append(em.namer.fresh(name))
    return out


def loop_var(em: Emitter, name: str) -> str:
    """The loop variable's name: the formula's, unless a value outside loops has it."""
    used = em.namer.__dict__.setdefault("loop_vars", set())
    if name in used:
        return name
    var = em.namer.fresh(name)
    used.add(var)
    return var


def update_lines(sub: Emitter, assigns: list[tuple[str, int]]) -> list[str]:
    """The carried variables given their values at an iteration's end (one tuple
    assignment when several change, so none reads another's new value)."""
    pending = [(v, sub.exprs[o].text) for v, o in assigns if sub.exprs[o].text != v]
    if not pending:
        return []
    if len(pending) == 1:
        return [f"{pending[0][0]} = {pending[0][1]}"]
    return [f"{', '.join(v for v, _ in pending)} = {', '.join(e for _, e in pending)}"]


def indent(lines: list[str], blocks) -> list[str]:
    """The body blocks as indented lines, each headed by its comment."""
    out = []
    for block in blocks:
        out.append(f"    # {block.comment}")
        out += ["    " + ln for ln in block.lines]
    return out + ["    " + ln for ln in lines]


def tape_shape(shape: tuple, em: Emitter) -> str:
    """A tape's shape as code; a trip count that may be negative (``range(n - 5)``
    with n < 5 runs no iteration) as ``max(0, ...)``."""
    text = P.shape(shape, em.ctx.dims)
    trips = shape[0]
    if isinstance(trips, int) or trips.is_nonnegative:
        return text
    rest = P.shape(shape[1:], em.ctx.dims)[1:-1].rstrip(",")
    first = f"max(0, {P.dim(trips, em.ctx.dims)})"
    return f"({first}, {rest})" if rest else f"({first},)"


def place(blocks, name: str, line: str) -> bool:
    """Put ``line`` (a tape's write) right after the statement that assigns ``name``."""
    for block in reversed(blocks):
        at = [k for k, ln in enumerate(block.lines) if ln.startswith(name + " = ")]
        if at:
            block.lines.insert(at[-1] + 1, line)
            return True
    return False


def emit_loop(em: Emitter, i: int) -> None:
    """The forward loop of node ``i``: carried values, tapes, the body, the updates."""
    node, nodes = em.nodes[i], em.nodes
    body: LoopBody = node.attr("body")
    ncap = len(body.captures)
    outs = projections(em, i, "loop_out")
    tapes = projections(em, i, "loop_tape")
    starts = node.args[ncap:]
    bnodes = body.nodes
    mutated = [bnodes[o].op == "setitem" for o in body.outs]
    var = loop_var(em, body.var)
    lines: list[str] = []
    cvars = carried_names(em, outs, body, starts, mutated)
    for k, a in enumerate(starts):
        lines += start_value(em, a, i, cvars[k], mutated[k])
    tnames = {}
    for k, j in outs.items():
        if em.namer.names.get(j, cvars[k]) == cvars[k]:
            em.namer.names[j] = cvars[k]
    for j, tj in tapes.items():
        loc = bnodes[j].loc
        unnamed = f"{loc.stmt}_{bnodes[j].op}" if loc else bnodes[j].op
        base = bnodes[j].name or bnodes[j].attr("name") or unnamed
        if bnodes[j].op == "param":
            base += "_prev"
        tnames[j] = em.namer.fresh(base + "_tape")
        lines.append(f"{tnames[j]} = {zeros(em, tape_shape(nodes[tj].shape, em))}")
        bind(em, tj, tnames[j])
    roots = list(body.outs) + list(tapes)
    stop = set(body.captures) | set(body.carried)
    todo = sorted(
        j
        for j in reachable(list(bnodes), roots)
        if j not in stop and bnodes[j].op != "param"
    )
    bound = {p: outer(em, a, i) for p, a in zip(body.captures, node.args)}
    bound.update({p: P.name(v) for p, v in zip(body.carried, cvars)})
    keep = set(tapes)
    names = sub_namer(em.namer)
    todo, moved = name_carried(
        bnodes, names, todo, body.carried, body.outs, cvars, keep
    )
    sub = body_emitter(em, bnodes, todo, bound, keep, names, body.var, var)
    _, exprs = sub.run()
    pos = P.dim(body.position(), {**em.ctx.dims, body.var: var})
    ndims = {j: len(nodes[tj].shape) for j, tj in tapes.items()}
    first = [
        write_row(em, tnames[j], pos, ndims[j], cvars[body.carried.index(j)])
        for j in tapes
        if j in body.carried
    ]
    for j in tapes:
        if j not in body.carried:
            write = write_row(em, tnames[j], pos, ndims[j], exprs[j].text)
            if not place(sub.blocks, exprs[j].text, write):
                sub.statement(j, [write])
    for j in moved:
        sub.node(j, set())
    last = update_lines(sub, list(zip(cvars, body.outs)))
    loop_lines = [f"for {var} in {range_text(body, em.ctx.dims, False)}:"]
    loop_lines += ["    " + ln for ln in first] + indent(last, sub.blocks)
    em.statement(i, lines + loop_lines)
    for k, j in outs.items():
        bind(em, j, cvars[k])
        if em.namer.names[j] != cvars[k]:  # pragma: no cover - a name given before
            em.statement(i, [f"{em.namer.names[j]} = {cvars[k]}"])
    em.named.add(i)
    em.exprs[i] = P.name(var)


STATEMENT_NODES["loop"] = emit_loop


def emit_grad(em: Emitter, i: int) -> None:
    """The reverse loop of node ``i``: the carried values' gradients from after the loop
    back to before it, the captures' gradients summed with ``+=``."""
    node = em.nodes[i]
    grad: LoopGrad = node.attr("grad")
    body, nodes = grad.loop, grad.nodes
    fwd = grad.forward
    outs = projections(em, i, "loop_grad_out")
    var = loop_var(em, body.var)
    pos = P.dim(body.position(), {**em.ctx.dims, body.var: var})
    lines: list[str] = []
    bound: dict[int, P.Expr] = {}
    dvars: dict[int, str] = {}
    tapes: dict[int, str] = {}
    starts: dict[int, str] = {}
    for a, (role, x) in zip(node.args, grad.roles):
        if role == "seed":
            mutated = nodes[grad.d_carried[x]].op == "setitem"
            name = own_name(em, a, mutated) or em.namer.fresh("d_" + body.names[x])
            lines += start_value(em, a, i, name, mutated)
            dvars[x] = name
            bound[grad.seeds[x]] = P.name(name)
        elif role == "tape":
            tapes[x] = outer(em, a, i).text
            more = ", ..." if em.ctx.xp and len(em.nodes[a].shape) > 1 else ""
            bound[x] = P.subscript(P.name(tapes[x]), pos + more)
        elif role == "start":
            starts[x] = outer(em, a, i).text
        else:
            bound[x] = outer(em, a, i)
    first = []  # h_prev = h_tape[t - 1] if t > 0 else h0
    for k, start in starts.items():
        p, o = body.carried[k], body.outs[k]
        prev = P.dim(body.position() - 1, {**em.ctx.dims, body.var: var})
        name = em.namer.fresh(body.names[k] + "_prev")
        ndim = len(nodes[o].shape) + 1
        first.append(
            f"{name} = {row(em, tapes[o], prev, ndim)} if {pos} > 0 else {start}"
        )
        bound[p] = P.name(name)
    accs: dict[int, str] = {}
    for c, d in enumerate(grad.d_captures):
        if d is None:
            continue
        n = grad.outs.index(("capture", c))
        p = body.captures[c]
        accs[c] = result_name(em, outs, n, "d_" + body.nodes[p].attr("name"))
        shape = nodes[d].shape  # the gradient's (a batched one leads with the batch)
        zero = zeros(em, P.shape(shape, em.ctx.dims)) if shape else "0.0"
        lines.append(f"{accs[c]} = {zero}")
    captured = [grad.d_captures[c] for c in accs]
    live = sorted(dvars)
    roots = [grad.d_carried[k] for k in live] + captured
    todo = sorted(
        j
        for j in reachable(list(nodes), roots)
        if (j not in fwd or j in grad.recompute) and j not in bound
    )
    keep: set[int] = set()
    names = sub_namer(em.namer)
    late = reachable_in(nodes, captured, set(todo))
    params = [grad.seeds[k] for k in live]
    couts = [grad.d_carried[k] for k in live]
    todo, moved = name_carried(
        nodes, names, todo, params, couts, [dvars[k] for k in live], keep, late
    )
    # a scattered gradient adds into its sum in place: np.add.at(d_W, idx, g)
    readers = {a for j in todo for a in nodes[j].args}
    into = {
        r
        for r in captured
        if statements(nodes[r].op, em.ctx)[1] and r not in readers and r not in fwd
    }
    todo = [j for j in todo if j not in into]
    adjoints = [j for j in todo if j not in fwd]
    sub = body_emitter(em, nodes, todo, bound, keep, names, body.var, var, adjoints)
    sub.run()
    for c, acc in accs.items():
        r = grad.d_captures[c]
        sub.statement(r, accumulate(sub, r, acc, into))
    for j in moved:
        sub.node(j, set())
    tail = update_lines(sub, [(dvars[k], grad.d_carried[k]) for k in live])
    loop_lines = [f"for {var} in {range_text(body, em.ctx.dims, True)}:"]
    loop_lines += ["    " + ln for ln in first] + indent(tail, sub.blocks)
    em.statement(i, lines + loop_lines)
    after = []
    for n, j in outs.items():
        kind, x = grad.outs[n]
        if kind == "carried" and em.nodes[j].name is None:
            bind(em, j, dvars[x])
        elif kind == "carried":
            after.append(f"{em.name_of(j)} = {dvars[x]}")
            bind(em, j, em.name_of(j))
        else:
            bind(em, j, accs[x])
    if after:
        em.statement(i, after)
    em.named.add(i)
    em.exprs[i] = P.name(var)


def accumulate(sub: Emitter, r: int, acc: str, into: set[int]) -> list[str]:
    """``acc += <r>`` (``-=`` for a negation, an indexed add for a scatter)."""
    node = sub.nodes[r]
    if r in into:
        args = [sub.ref(a) for a in node.args]
        return statements(node.op, sub.ctx)[1](acc, node, args, sub.ctx)
    op, e = "+=", sub.exprs[r]
    if node.op == "neg" and r not in sub.named:
        op, e = "-=", sub.ref(node.args[0])
    if len(f"{acc} {op} {e.text}") + sub.ctx.indent + 8 > LINE_LIMIT:
        e = sub.materialise(r, e) if op == "+=" else sub.materialise(node.args[0], e)
    return [f"{acc} {op} {e.text}"]


def result_name(em: Emitter, outs: dict[int, int], n: int, base: str) -> str:
    """The variable of the reverse loop's result ``n``: its projection's, else fresh."""
    named = n in outs and em.nodes[outs[n]].name is not None
    return em.name_of(outs[n]) if named else em.namer.fresh(base)


def reachable_in(nodes, roots: list[int], within: set[int]) -> set[int]:
    """What ``roots`` read through the nodes ``within`` (the parameters they reach)."""
    seen: set[int] = set()
    stack = [r for r in roots if r in within]
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        for a in nodes[j].args:
            if a in within:
                stack.append(a)
            else:
                seen.add(a)
    return seen


STATEMENT_NODES["loop_grad"] = emit_grad
