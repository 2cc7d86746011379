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

from ..backend.codegen import Ctx
from ..backend.templating import render
from ..core import printer as P
from ..core.ir import format_attr, reachable
from ..ops.primitives import index_text
from .errors import InputError
from .files import marker_line, png_with_text, write_atomic
from .formatting import Symbols, Utf8, fmt_array, fmt_number
from .selection import load_trace
from .trace import Trace

OP_SYMBOLS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "neg": "-x",
    "pow": "**",
    "matmul": "@",
    "sigmoid": "σ",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "eq": "==",
    "and": "&",
    "transpose": ".T",
    "getitem": "[ ]",
}


def op_symbol(node, dims: dict) -> tuple[str, str]:
    """The symbol in a node's circle and a small second line (axis, index, ...)."""
    if node.op == "fused":
        return node.attr("name").removeprefix("fused "), "fused"
    symbol = OP_SYMBOLS.get(node.op, node.op)
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


def cmd_graph(args) -> int:
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
    fn, L, ev = trace.fn, trace.labels, trace.ev
    dims = trace.point.dims
    sym = Symbols(Utf8())

    def val(v) -> str:
        arr = np.asarray(v)
        if arr.ndim == 0:
            return fmt_number(arr, 3) if arr.dtype.kind == "f" else str(arr.item())
        if arr.dtype.kind != "f":
            return fmt_array(arr)
        return f"{format_attr(tuple(arr.shape))} ‖·‖ = {fmt_number(np.linalg.norm(arr.ravel()), 3)}"

    def grad(v) -> str:
        arr = np.asarray(v)
        if arr.ndim == 0:
            return fmt_number(arr, 3)
        return f"‖∇‖ = {fmt_number(np.linalg.norm(arr.ravel()), 3)}"

    out = trace.out_label
    forward_nodes, edges = [], []
    for i in trace.forward:
        node = fn.nodes[i]
        note = ""
        if len(trace.parts.get(i, [])) > 1:
            note = f"Σ {grad(trace.upstream[i])}"
        if node.op == "param":
            forward_nodes.append(
                dict(
                    id=f"n{i}", kind="input", symbol=L[i], name="", extra="", note=note
                )
            )
        elif node.op in ("const", "dim"):
            label = L[i] if node.op == "const" else str(node.attr("expr"))
            forward_nodes.append(
                dict(id=f"n{i}", kind="input", symbol=label, name="", extra="", note="")
            )
        else:
            symbol, extra = op_symbol(node, dims)
            name = L[i] if not L[i].startswith("%") else ""
            forward_nodes.append(
                dict(
                    id=f"n{i}",
                    kind="op",
                    symbol=symbol,
                    name=name,
                    extra=extra,
                    note=note,
                )
            )
    sent: dict[tuple[int, int], list] = {}
    for step in trace.steps:
        for e in step.edges:
            if e.down is not None:
                sent.setdefault(e.wire, []).append(e.down)
    for i in trace.forward:
        node = fn.nodes[i]
        for a in node.args:
            waiting = sent.get((a, i))
            g = waiting.pop(0) if waiting else None
            edges.append(
                dict(
                    src=f"n{a}",
                    dst=f"n{i}",
                    value=val(ev.values[a]),
                    grad=None if g is None else grad(g),
                    style="",
                )
            )
    forward_nodes.append(
        dict(id="out", kind="output", symbol=out, name="", extra="", note="")
    )
    edges.append(
        dict(
            src=f"n{fn.output}",
            dst="out",
            value=val(ev.values[fn.output]),
            grad=grad(trace.seed_value),
            style="",
        )
    )

    clusters = []
    if adjoint:
        fwd = set(trace.forward)
        grad_nodes = list(fn.grads.values())
        back = sorted(reachable(fn.nodes, grad_nodes) - fwd)
        bnodes = []
        for k in back:
            node = fn.nodes[k]
            if k == fn.seed:
                bnodes.append(
                    dict(
                        id=f"n{k}",
                        kind="input",
                        symbol=node.attr("name"),
                        name="",
                        extra="",
                        note="",
                    )
                )
            elif node.op in ("const", "dim"):
                label = (
                    P.number(node.attr("value"), integral=True).text
                    if node.op == "const"
                    else str(node.attr("expr"))
                )
                bnodes.append(
                    dict(
                        id=f"n{k}",
                        kind="input",
                        symbol=label,
                        name="",
                        extra="",
                        note="",
                    )
                )
            else:
                symbol, extra = op_symbol(node, dims)
                bnodes.append(
                    dict(
                        id=f"n{k}",
                        kind="adjoint",
                        symbol=symbol,
                        name=node.name or "",
                        extra=extra,
                        note="",
                    )
                )
            for a in node.args:
                style = "dashed" if a in fwd else ""
                v = ev.value(a)
                edges.append(
                    dict(
                        src=f"n{a}",
                        dst=f"n{k}",
                        value=val(v) if a in fwd else None,
                        grad=None if a in fwd else val(v),
                        style=style,
                    )
                )
        for p in fn.wrt:
            g = fn.grads[p.name]
            bnodes.append(
                dict(
                    id=f"grad_{p.name}",
                    kind="output",
                    symbol=sym.grad(out, p.name),
                    name="",
                    extra="",
                    note="",
                )
            )
            edges.append(
                dict(
                    src=f"n{g}",
                    dst=f"grad_{p.name}",
                    value=None,
                    grad=val(ev.value(g)),
                    style="",
                )
            )
        clusters = [
            dict(id="forward", title="forward", nodes=forward_nodes),
            dict(
                id="backward",
                title="backward (the compiled adjoint graph)",
                nodes=bnodes,
            ),
        ]
        forward_nodes = []

    at = ", ".join(f"{p.name} = {val(trace.point.inputs[p.name])}" for p in fn.params)
    return render(
        "graph.dot.j2",
        marker=marker_line(text, fn.filename),
        graph_name=fn.name,
        title=f"{fn.name} at {at}",
        marker_attr=marker_line(text, fn.filename)
        .replace("\\", "\\\\")
        .replace('"', '\\"'),
        nodes=forward_nodes,
        clusters=clusters,
        edges=edges,
    )
