"""``gradc graph``: the computational graph as Graphviz DOT (``templates/graph.dot.j2``),
values in green above each wire and gradients in red below, as in the backpropagation
lecture's figures; ``--adjoint`` adds the compiled backward graph. .svg and .png are
rendered with Graphviz's ``dot``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..backend.context import Ctx
from ..backend.templating import render
from ..core import printer as P
from ..core.ir import format_attr, reachable
from ..core.prim import PRIMS
from ..ops.spelling import index_text
from .errors import InputError
from .files import marker_line, png_with_text, write_atomic
from .formatting import Symbols, Utf8, fmt_array, fmt_number
from .selection import load_trace
from .trace import Trace


def op_symbol(node, dims: dict) -> tuple[str, str]:
    """The symbol in a node's circle and a small second line (axis, index, ...)."""
    if node.op == "fused":
        return node.attr("name").removeprefix("fused "), "fused"
    symbol = PRIMS[node.op].glyph or node.op
    extra = []
    if node.op == "getitem":
        ctx = Ctx([], {d: d for d in dims})
        dots = [None] + [P.name("•")] * (len(node.args) - 1)
        return "[" + index_text(node.attr("index"), dots, ctx) + "]", ""
    for key, value in node.attrs:
        if key in ("axis", "axes", "keepdims", "shape") and node.op not in (
            "const",
            "param",
        ):
            if key == "keepdims" and not value:
                continue
            if key == "axis" and value is None:
                continue
            if key == "keepdims":
                extra.append("keepdims")
            elif key == "axis":
                extra.append(f"axis={P.axis(value)}")
            else:
                extra.append(f"{key}={format_attr(value)}")
    return symbol, " ".join(extra)


#: a forward graph with more operations than this is drawn top to bottom, one box per line
LARGE_GRAPH = 30


def cmd_graph(args) -> int:
    """``gradc graph``: DOT on stdout, or a .dot, .svg or .png file; exit 0 or 2."""
    trace, text = load_trace(args)
    for note in trace.point.notes:
        print(f"gradc: {note}", file=sys.stderr)
    dot = graph_dot(trace, text, adjoint=args.adjoint)
    if not args.output:
        sys.stdout.write(dot)
        return 0
    path = Path(args.output)
    fmt = path.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        data = dot.encode("utf-8")
    elif fmt in ("svg", "png"):
        exe = shutil.which("dot")
        if exe is None:
            print(
                f"gradc: error: writing {path} needs Graphviz's `dot` program, which is not "
                "installed.\nInstall Graphviz (Debian/Ubuntu: `apt-get install graphviz`; "
                "macOS: `brew install graphviz`; conda: `conda install graphviz`), "
                "or write DOT with -o OUT.dot.",
                file=sys.stderr,
            )
            return 2
        options = ["-Gdpi=150"] if fmt == "png" else []
        done = subprocess.run(
            [exe, f"-T{fmt}", *options],
            input=dot.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            print(f"gradc: error: dot failed on {path}: {message}", file=sys.stderr)
            return 2
        data = done.stdout
        if fmt == "png":
            data = png_with_text(data, "Comment", marker_line(text, trace.fn.filename))
    else:
        raise InputError(
            f"{path}: unknown output format {path.suffix!r} (use .dot, .svg or .png)"
        )
    write_atomic(path, data, args.force)
    return 0


def graph_dot(trace: Trace, text: str, *, adjoint: bool = False) -> str:
    """The DOT text of ``gradc graph`` (rendered from ``templates/graph.dot.j2``)."""
    fn = trace.fn
    nodes, edges = forward_graph(trace)
    large = sum(1 for n in nodes if n["kind"] == "op") > LARGE_GRAPH
    clusters = []
    if large:  # top to bottom, a box per formula line
        nodes, clusters = by_line(trace, nodes)
    elif adjoint:
        clusters = [dict(id="forward", title="forward", nodes=nodes)]
        nodes = []
    body_clusters, body_edges = loop_bodies(trace)
    clusters += body_clusters
    edges += body_edges
    if adjoint:
        back_nodes, back_edges = adjoint_graph(trace)
        edges += back_edges
        clusters.append(
            dict(
                id="backward",
                title="backward (the compiled adjoint graph)",
                nodes=back_nodes,
            )
        )
    at = ", ".join(
        f"{p.name} = {wire_value(trace.point.inputs[p.name])}" for p in fn.params
    )
    marker = marker_line(text, fn.filename)
    return render(
        "graph.dot.j2",
        marker=marker,
        graph_name=fn.name,
        title=f"{fn.name} at {at}",
        rankdir="TB" if large else "LR",
        # Graphviz's newer ranking: the old one fails on some line boxes ("trouble in
        # init_rank") once a backward box is added
        newrank=large,
        marker_attr=marker.replace("\\", "\\\\").replace('"', '\\"'),
        nodes=nodes,
        clusters=clusters,
        edges=edges,
    )


def by_line(trace: Trace, nodes: list[dict]) -> tuple[list[dict], list[dict]]:
    """``nodes`` split into one cluster per formula line (``line 7: q = W @ x``, in line
    order; a constant goes with the line that first uses it) and the nodes of no line
    (the inputs, the output), which stay outside."""
    line_of = {f"n{i}": trace.fn.nodes[i].loc for i in trace.forward}
    outside: list[dict] = []
    lines: dict[int, dict] = {}
    for n in nodes:
        loc = line_of.get(n["id"])
        if loc is None or n["kind"] == "output":
            outside.append(n)
            continue
        if loc.line not in lines:
            title = f"line {loc.line}: {loc.text.strip()}"
            lines[loc.line] = dict(id=f"line_{loc.line}", title=title, nodes=[])
        lines[loc.line]["nodes"].append(n)
    return outside, [lines[k] for k in sorted(lines)]


def dot_node(id: str, kind: str, symbol: str, name="", extra="", note="") -> dict:
    """A node of the template: ``kind`` is input, op, adjoint or output."""
    return dict(id=id, kind=kind, symbol=symbol, name=name, extra=extra, note=note)


def dot_edge(src: str, dst: str, value=None, grad=None, style="") -> dict:
    """A wire of the template: its value (green) above its gradient (red)."""
    return dict(src=src, dst=dst, value=value, grad=grad, style=style)


def wire_value(v) -> str:
    """A forward value on a wire: a number, or a tensor's shape and norm."""
    arr = np.asarray(v)
    if arr.ndim == 0:
        return fmt_number(arr, 3) if arr.dtype.kind == "f" else str(arr.item())
    if arr.dtype.kind != "f":
        return fmt_array(arr)
    norm = fmt_number(np.linalg.norm(arr.ravel()), 3)
    return f"{format_attr(tuple(arr.shape))} ‖·‖ = {norm}"


def wire_grad(v) -> str:
    """A gradient on a wire: a number, or a tensor gradient's norm."""
    arr = np.asarray(v)
    if arr.ndim == 0:
        return fmt_number(arr, 3)
    return f"‖∇‖ = {fmt_number(np.linalg.norm(arr.ravel()), 3)}"


def forward_graph(trace: Trace) -> tuple[list[dict], list[dict]]:
    """The forward graph's nodes and wires, each wire with the gradient sent back
    along it (when the compiled backward pass computes one there)."""
    fn, L, ev = trace.fn, trace.labels, trace.ev
    nodes = []
    for i in trace.forward:
        node = fn.nodes[i]
        note = ""
        if len(trace.parts.get(i, [])) > 1:
            note = f"Σ {wire_grad(trace.upstream[i])}"
        if node.op == "param":
            nodes.append(dot_node(f"n{i}", "input", L[i], note=note))
        elif node.op in ("const", "dim"):
            label = L[i] if node.op == "const" else str(node.attr("expr"))
            nodes.append(dot_node(f"n{i}", "input", label))
        else:
            symbol, extra = op_symbol(node, trace.point.dims)
            name = L[i] if not L[i].startswith("%") else ""
            nodes.append(dot_node(f"n{i}", "op", symbol, name, extra, note))
    sent: dict[tuple[int, int], list] = {}
    for step in trace.steps:
        for e in step.edges:
            if e.down is not None:
                sent.setdefault(e.wire, []).append(e.down)
    edges = []
    for i in trace.forward:
        for a in fn.nodes[i].args:
            waiting = sent.get((a, i))
            g = waiting.pop(0) if waiting else None
            grad = None if g is None else wire_grad(g)
            # a loop's wire to one of its results carries that result
            v = ev.values[i] if fn.nodes[a].op == "loop" else ev.values[a]
            edges.append(dot_edge(f"n{a}", f"n{i}", wire_value(v), grad))
    nodes.append(dot_node("out", "output", trace.out_label))
    edges.append(
        dot_edge(
            f"n{fn.output}",
            "out",
            wire_value(ev.values[fn.output]),
            wire_grad(trace.seed_value),
        )
    )
    return nodes, edges


def loop_bodies(trace: Trace) -> tuple[list[dict], list[dict]]:
    """Each loop's body drawn once, in a box titled with its header and trip count; its
    wires carry the values of the last iteration (``h`` in, ``h`` out)."""
    fn, ev = trace.fn, trace.ev
    clusters, edges = [], []
    for i in trace.forward:
        node = fn.nodes[i]
        if node.op != "loop":
            continue
        body = ev.expanded(node.attr("body"))
        runs = ev.runs.get(i, [])
        last = runs[-1] if runs else {}
        live = sorted(reachable(list(body.nodes), list(body.outs)))
        nodes = []
        for j in live:
            sub = body.nodes[j]
            nid = f"b{i}_{j}"
            if sub.op == "param":
                nodes.append(dot_node(nid, "input", sub.attr("name")))
            elif sub.op in ("const", "dim"):
                label = (
                    P.number(sub.attr("value"), integral=True).text
                    if sub.op == "const"
                    else str(sub.attr("expr"))
                )
                nodes.append(dot_node(nid, "input", label))
            else:
                symbol, extra = op_symbol(sub, {**trace.point.dims, body.var: 0})
                nodes.append(dot_node(nid, "op", symbol, sub.name or "", extra))
            for a in sub.args:
                value = wire_value(last[a]) if a in last else None
                edges.append(dot_edge(f"b{i}_{a}", nid, value))
        for k, o in enumerate(body.outs):
            out = f"b{i}_out{k}"
            nodes.append(dot_node(out, "output", f"{body.names[k]} (next iteration)"))
            edges.append(dot_edge(f"b{i}_{o}", out, None, style="dashed"))
        header = body.header.rstrip(":")
        title = f"line {node.loc.line}: {header} ({len(runs)} iterations)"
        clusters.append(dict(id=f"loop_{i}", title=title, nodes=nodes))
    return clusters, edges


def adjoint_graph(trace: Trace) -> tuple[list[dict], list[dict]]:
    """The compiled adjoint graph's nodes and wires (dashed: read from the forward
    graph), ending in one output node per gradient."""
    fn, ev = trace.fn, trace.ev
    fwd = set(trace.forward)
    nodes, edges = [], []
    for k in sorted(reachable(fn.nodes, list(fn.grads.values())) - fwd):
        node = fn.nodes[k]
        if k == fn.seed:
            nodes.append(dot_node(f"n{k}", "input", node.attr("name")))
        elif node.op == "const":
            label = P.number(node.attr("value"), integral=True).text
            nodes.append(dot_node(f"n{k}", "input", label))
        elif node.op == "dim":
            nodes.append(dot_node(f"n{k}", "input", str(node.attr("expr"))))
        else:
            symbol, extra = op_symbol(node, trace.point.dims)
            nodes.append(dot_node(f"n{k}", "adjoint", symbol, node.name or "", extra))
        for a in node.args:
            v = wire_value(ev.value(a))
            if a in fwd:
                edges.append(dot_edge(f"n{a}", f"n{k}", value=v, style="dashed"))
            else:
                edges.append(dot_edge(f"n{a}", f"n{k}", grad=v))
    sym = Symbols(Utf8())
    for p in fn.wrt:
        g = fn.grads[p.name]
        out = f"grad_{p.name}"
        nodes.append(dot_node(out, "output", sym.grad(trace.out_label, p.name)))
        edges.append(dot_edge(f"n{g}", out, grad=wire_value(ev.value(g))))
    return nodes, edges
