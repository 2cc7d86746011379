"""``gradc explain``: the backward pass step by step, as the compiled code computes it.

For each node with a gradient: the upstream gradient (the sum of its parts where a
value fans out), and what it sends to each input: the local gradient and the
downstream gradient (downstream = local x upstream). Numbers from ``trace``.
"""

from __future__ import annotations

import sys

from ..core.prim import PRIMS
from .describe import Describer, op_name
from .formatting import Symbols
from .selection import load_trace
from .trace import Edge, Step, Trace


def cmd_explain(args) -> int:
    """``gradc explain FILE --function F``: print the backward pass step by step."""
    trace, _ = load_trace(args)
    sym = Symbols()
    sys.stdout.write(explain_text(trace, sym))
    return 0


def forward_text(trace: Trace, i: int) -> str:
    """Node ``i`` printed over the display names of its inputs (``x + y``); a loop as
    its header, a carried value as its value after the loop."""
    node = trace.fn.nodes[i]
    if node.op == "loop":
        return node.attr("body").header.rstrip(":")
    if node.op == "loop_out":
        name = node.attr("k")
        return f"{trace.fn.nodes[node.args[0]].attr('body').names[name]} after the loop"
    d = Describer(trace.fn.nodes, trace.labels, trace.point.dims)
    args = [d.expr(a) for a in node.args]
    return PRIMS[node.op].emit(node, args, d.ctx).text


def explain_text(trace: Trace, sym: Symbols) -> str:
    """The step-by-step text of ``gradc explain``: the values of the nodes the pipeline
    built, forward and adjoint, read in the order of the backward pass."""
    fn = trace.fn
    at = ", ".join(
        f"{p.name} = {sym.number(trace.point.inputs[p.name])}" for p in fn.params
    )
    lines = [f"Backpropagation through {fn.name} ({fn.filename}:{fn.loc.line}) at {at}"]
    lines += [f"  ({note})" for note in trace.point.notes]
    lines += ["", "Forward pass: the value of each node, in order"]
    lines += forward_lines(trace, sym)
    lines += [
        "",
        f"Backward pass: from {trace.out_label} back to the inputs; at each node "
        f"downstream = local gradient {sym.times} upstream gradient",
    ]
    for step in trace.steps:
        lines += step_lines(trace, step, sym)
    lines += ["", f"Gradients of {trace.out_label} at the inputs"]
    lines += gradient_lines(trace, sym)
    lines.append(
        "(every number above is the value of a node of the graph the compiler's backward "
        f"walk built; {fn.name}_forward and {fn.name}_backward compute the same)"
    )
    return "\n".join(lines) + "\n"


def where(node) -> str:
    """``line 7``: the formula line of ``node`` ('' when it has none)."""
    return f"line {node.loc.line}" if node.loc else ""


def forward_lines(trace: Trace, sym: Symbols) -> list[str]:
    """``q = x + y   = 3   [add, line 5]`` for each operation, aligned in columns."""
    rows, lines = [], []
    for i in trace.forward:
        node = trace.fn.nodes[i]
        if node.op in ("param", "const", "dim"):
            continue
        if node.op == "loop":
            lines += columns(rows, "  ")
            rows = []
            lines.append(f"  {forward_text(trace, i)}:    [loop, {where(node)}]")
            lines += iteration_lines(trace, i, sym)
            continue
        rows.append(
            [
                f"{trace.labels[i]} = {forward_text(trace, i)}",
                f"= {sym.number(trace.ev.values[i])}",
                f"[{op_name(node)}, {where(node)}]",
            ]
        )
    return lines + columns(rows, "  ")


#: iterations of a loop shown in full at each end (the others are abbreviated)
SHOWN = 2


def iteration_lines(trace: Trace, i: int, sym: Symbols) -> list[str]:
    """The named values of each iteration of loop ``i`` (the first and last ``SHOWN``)."""
    node = trace.fn.nodes[i]
    body = trace.ev.expanded(node.attr("body"))
    runs = trace.ev.runs.get(i, [])
    named = (
        [j for j, n in enumerate(body.nodes) if n.name and j in runs[0]] if runs else []
    )
    steps = list(trace.ev.iterations(body))
    lines = []
    for n, (t, values) in enumerate(zip(steps, runs)):
        if SHOWN <= n < len(runs) - SHOWN:
            if n == SHOWN:
                lines.append(f"    {more(len(runs) - 2 * SHOWN)}")
            continue
        cells = ", ".join(
            f"{body.nodes[j].name} = {sym.number(values[j])}" for j in named
        )
        lines.append(f"    {body.var} = {t}: {cells}")
    return lines


def step_lines(trace: Trace, step: Step, sym: Symbols) -> list[str]:
    """One backward step: the node, its upstream gradient, what it sends each input."""
    fn, L, out = trace.fn, trace.labels, trace.out_label
    i = step.node
    node = fn.nodes[i]
    if step.kind == "loop":
        return loop_lines(trace, step, sym)
    lines = [f"  {L[i]} = {forward_text(trace, i)}    [{op_name(node)}, {where(node)}]"]
    up_name = sym.grad(out, L[i])
    upstream = sym.number(step.upstream)
    if i == fn.output:
        seed_text = (
            "the seed"
            if node.shape == ()
            else f"the seed: ones, the gradient of sum({out})"
        )
        lines.append(f"    upstream    {up_name} = {upstream}  ({seed_text})")
    elif len(step.parts) > 1:
        terms = " + ".join(f"{sym.number(v)} (via {L[c]})" for c, v in step.parts)
        lines.append(
            f"    upstream    {up_name} = {terms} = {upstream}"
            "  (fan-out: the gradients of every use add up)"
        )
    else:
        lines.append(f"    upstream    {up_name} = {upstream}")
    if step.kind != "scalar" and any(e.rule for e in step.edges):
        lines[-1] += f"  (written {step.upstream_name} in the rules below)"
    for e in step.edges:
        lines += edge_lines(trace, step, e, sym)
    return lines


def loop_lines(trace: Trace, step: Step, sym: Symbols) -> list[str]:
    """A loop's backward step: the upstream gradients of its carried values, the reverse
    loop iteration by iteration (the carried values' gradients at each iteration's
    start, the first and last ``SHOWN``), the gradients it sends each input."""
    fn, L, out = trace.fn, trace.labels, trace.out_label
    node = fn.nodes[step.node]
    body = trace.ev.expanded(node.attr("body"))
    lines = [f"  {forward_text(trace, step.node)}:    [loop, {where(node)}]"]
    for j, v in step.parts:
        lines.append(f"    upstream    {sym.grad(out, L[j])} = {sym.number(v)}")
    runs = trace.ev.reverse_runs.get(
        next((k for k, n in enumerate(trace.ev.nodes) if n.op == "loop_grad"
              and n.attr("grad").source is node.attr("body")), -1),
        [],
    )  # fmt: skip
    lines.append(
        f"    the reverse loop ({body.header.rstrip(':')}, last iteration first): "
        "the carried values' gradients at each iteration's start"
    )
    for n, (t, grads) in enumerate(runs):
        if SHOWN <= n < len(runs) - SHOWN:
            if n == SHOWN:
                lines.append(f"      {more(len(runs) - 2 * SHOWN)}")
            continue
        cells = ", ".join(
            f"{sym.grad(out, body.names[k])} = {sym.number(v)}"
            for k, v in grads.items()
        )
        lines.append(f"      {body.var} = {t}: {cells}")
    ncap = len(body.captures)
    for e in step.edges:
        target = L.get(e.arg, f"%{e.arg}")
        how = "summed over the iterations" if e.pos < ncap else "before the first one"
        lines.append(
            f"    to {target}: downstream {sym.grad(out, target)} = {sym.number(e.down)}"
            f"  ({how})"
        )
    return lines


def more(n: int) -> str:
    """``... 3 more iterations ...``."""
    return f"... {n} more iteration{'s' if n != 1 else ''} ..."


def edge_lines(trace: Trace, step: Step, e: Edge, sym: Symbols) -> list[str]:
    """What ``step`` sends along edge ``e``: local and downstream gradient, or why none."""
    L, out = trace.labels, trace.out_label
    target = L.get(e.arg, f"%{e.arg}")
    if e.reason == "constant":
        return []
    if e.reason:
        return [f"    to {target}: no gradient ({e.reason})"]
    to = (
        f"{target} (through {', '.join(L[k] for k in e.through)})"
        if e.through
        else target
    )
    down_name = sym.grad(out, target)
    if len(trace.parts.get(e.arg, [])) > 1:
        down_name += f" via {L[step.node]}"
    local_name = sym.grad(L[step.node], target)
    down = sym.number(e.down)
    if step.kind == "scalar" and e.local is not None:
        local = sym.number(e.local)
        shown = local if names_a_number(e.local_text) else f"{e.local_text} = {local}"
        lines = [
            f"    to {to}: local {local_name} = {shown}",
            f"        downstream {down_name} = local {sym.times} upstream = "
            f"{factor(local)} {sym.times} {factor(sym.number(step.upstream))} = {down}",
        ]
    elif step.kind == "elementwise" and e.local is not None:
        lines = [
            f"    to {to}: local {local_name} (entry by entry) = {sym.number(e.local)}",
            f"        downstream {down_name} = local {sym.odot} upstream = "
            f"{e.rule} = {down}",
        ]
    else:
        lines = [f"    to {to}: downstream {down_name} = {e.rule} = {down}"]
    if e.note:
        lines.append(f"        ({e.note})")
    return lines


def gradient_lines(trace: Trace, sym: Symbols) -> list[str]:
    """The gradient of the output at each input (the sum of its parts on fan-out)."""
    fn, L = trace.fn, trace.labels
    lines = []
    for p in fn.params:
        name = sym.grad(trace.out_label, p.name)
        if not p.wrt:
            kind = "integer input" if fn.nodes[p.node].dtype == "int" else "not in @wrt"
            lines.append(f"  {p.name}: not differentiated ({kind})")
            continue
        parts = trace.parts.get(p.node, [])
        g = sym.number(trace.grads[p.name])
        if len(parts) > 1:
            terms = " + ".join(f"{sym.number(v)} (via {L[c]})" for c, v in parts)
            lines.append(f"  {name} = {terms} = {g}  (fan-out: the uses add up)")
        else:
            lines.append(f"  {name} = {g}")
    return lines


def factor(text: str) -> str:
    """A number as a factor of a product: ``(-4)``."""
    return f"({text})" if text.startswith("-") else text


def columns(rows: list[list[str]], indent: str) -> list[str]:
    """``rows`` of cells as lines, every column but the last padded to one width."""
    if not rows:
        return []
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]) - 1)]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1]
        for r in rows
    ]


def names_a_number(text: str) -> bool:
    """Whether a local gradient's text is a bare number (``1.0``): then its value alone
    is shown, not ``1.0 = 1``."""
    try:
        float(text)
    except ValueError:
        return False
    return True
