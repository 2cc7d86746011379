"""``gradc explain``: the backward pass step by step, as the compiled code computes it.

For each node with a gradient: the upstream gradient (the sum of its parts where a
value fans out), and what it sends to each input: the local gradient and the
downstream gradient (downstream = local x upstream). Numbers from ``trace``.
"""

from __future__ import annotations

import sys

from ..core.prim import PRIMS
from .describe import Describer, op_name
from .formatting import Symbols, fmt_array
from .selection import load_trace
from .trace import Trace


def cmd_explain(args) -> int:
    trace, _ = load_trace(args)
    sym = Symbols()
    sys.stdout.write(explain_text(trace, sym))
    return 0


def forward_text(trace: Trace, i: int) -> str:
    """Node ``i`` printed over the display names of its inputs (``x + y``)."""
    node = trace.fn.nodes[i]
    d = Describer(trace.fn.nodes, trace.labels, trace.point.dims)
    args = [d.expr(a) for a in node.args]
    return PRIMS[node.op].emit(node, args, d.ctx).text


def explain_text(trace: Trace, sym: Symbols) -> str:
    """The step-by-step text of ``gradc explain``: the values of the nodes the pipeline
    built, forward and adjoint, read in the order of the backward pass."""
    fn, L, ev = trace.fn, trace.labels, trace.ev
    out = trace.out_label

    def num(v) -> str:
        return fmt_array(v, 6, norm_sign=sym.norm)

    def where(i: int) -> str:
        node = fn.nodes[i]
        return f"line {node.loc.line}" if node.loc else ""

    lines: list[str] = []
    at = ", ".join(f"{p.name} = {num(trace.point.inputs[p.name])}" for p in fn.params)
    lines.append(
        f"Backpropagation through {fn.name} ({fn.filename}:{fn.loc.line}) at {at}"
    )
    for note in trace.point.notes:
        lines.append(f"  ({note})")
    lines.append("")
    lines.append("Forward pass: the value of each node, in order")
    rows = []
    for i in trace.forward:
        node = fn.nodes[i]
        if node.op in ("param", "const", "dim"):
            continue
        rows.append(
            [
                f"{L[i]} = {forward_text(trace, i)}",
                f"= {num(ev.values[i])}",
                f"[{op_name(node)}, {where(i)}]",
            ]
        )
    lines += columns(rows, "  ")
    lines.append("")
    lines.append(
        f"Backward pass: from {out} back to the inputs; at each node "
        f"downstream = local gradient {sym.times} upstream gradient"
    )
    for step in trace.steps:
        i = step.node
        node = fn.nodes[i]
        lines.append(
            f"  {L[i]} = {forward_text(trace, i)}    [{op_name(node)}, {where(i)}]"
        )
        up_name = sym.grad(out, L[i])
        if i == fn.output:
            seed_text = (
                "the seed"
                if fn.nodes[i].shape == ()
                else f"the seed: ones, the gradient of sum({out})"
            )
            lines.append(
                f"    upstream    {up_name} = {num(step.upstream)}  ({seed_text})"
            )
        elif len(step.parts) > 1:
            terms = " + ".join(f"{num(v)} (via {L[c]})" for c, v in step.parts)
            lines.append(
                f"    upstream    {up_name} = {terms} = {num(step.upstream)}"
                "  (fan-out: the gradients of every use add up)"
            )
        else:
            lines.append(f"    upstream    {up_name} = {num(step.upstream)}")
        if step.kind != "scalar" and any(e.rule for e in step.edges):
            lines[-1] += f"  (written {step.upstream_name} in the rules below)"
        for e in step.edges:
            target = L.get(e.arg, f"%{e.arg}")
            if e.reason == "constant":
                continue
            if e.reason:
                lines.append(f"    to {target}: no gradient ({e.reason})")
                continue
            if e.through:
                target_text = f"{target} (through {', '.join(L[k] for k in e.through)})"
            else:
                target_text = target
            down_name = sym.grad(out, target)
            if len(trace.parts.get(e.arg, [])) > 1:
                down_name += f" via {L[i]}"
            local_name = sym.grad(L[i], target)
            if step.kind == "scalar" and e.local is not None:
                local = num(e.local)
                shown = local if e.local_text == local else f"{e.local_text} = {local}"
                lines.append(f"    to {target_text}: local {local_name} = {shown}")
                lines.append(
                    f"        downstream {down_name} = local {sym.times} upstream = "
                    f"{factor(local)} {sym.times} {factor(num(step.upstream))} = "
                    f"{num(e.down)}"
                )
            elif step.kind == "elementwise" and e.local is not None:
                lines.append(
                    f"    to {target_text}: local {local_name} (entry by entry) = "
                    f"{num(e.local)}"
                )
                lines.append(
                    f"        downstream {down_name} = local {sym.odot} upstream = "
                    f"{e.rule} = {num(e.down)}"
                )
            else:
                lines.append(
                    f"    to {target_text}: downstream {down_name} = {e.rule} = "
                    f"{num(e.down)}"
                )
            if e.note:
                lines.append(f"        ({e.note})")
    lines.append("")
    lines.append(f"Gradients of {out} at the inputs")
    for p in fn.params:
        name = sym.grad(out, p.name)
        if not p.wrt:
            kind = "integer input" if fn.nodes[p.node].dtype == "int" else "not in @wrt"
            lines.append(f"  {p.name}: not differentiated ({kind})")
            continue
        parts = trace.parts.get(p.node, [])
        g = trace.grads[p.name]
        if len(parts) > 1:
            terms = " + ".join(f"{num(v)} (via {L[c]})" for c, v in parts)
            lines.append(f"  {name} = {terms} = {num(g)}  (fan-out: the uses add up)")
        else:
            lines.append(f"  {name} = {num(g)}")
    lines.append(
        f"(every number above is a value of the compiled graph: {fn.name}_forward "
        f"and {fn.name}_backward compute the same)"
    )
    return "\n".join(lines) + "\n"


def factor(text: str) -> str:
    """A number as a factor of a product: ``(-4)``."""
    return f"({text})" if text.startswith("-") else text


def columns(rows: list[list[str]], indent: str) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]) - 1)]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1]
        for r in rows
    ]
