"""Before emitting Array API code: every operation a function runs has an Array API
spelling (``ops/array_api.py``), else a located error at the first formula line that
uses one without (``FILE:LINE:COL: error: ...``), never a half-printed module."""

from __future__ import annotations

from ..core.ir import Function, reachable
from ..core.prim import ops_in
from ..errors import FormulaError
from ..ops.array_api import xp_spellable


def check_spellable(fn: Function) -> None:
    """Raise a FormulaError at the first node of ``fn`` (or of its value-and-gradient
    graph) that runs an operation without an Array API spelling."""
    graphs = [
        g for g in (fn, fn.value_and_grad, fn.jvp, fn.hvp, fn.hessian) if g is not None
    ]
    for g in graphs:
        for i in sorted(reachable(g.nodes, [g.output, *g.grads.values()])):
            for node in with_bodies(g.nodes[i]):
                missing = [op for op in ops_in(node) if not xp_spellable(op)]
                if missing:
                    raise unspelled(fn, node, missing[0])


def with_bodies(node) -> list:
    """``node``, and for a loop the nodes of its body (of a reverse loop: the body and
    its adjoint), nested loops' too."""
    inner = ()
    if node.op == "loop":
        inner = node.attr("body").nodes
    elif node.op == "loop_grad":
        inner = node.attr("grad").nodes
    return [node] + [n for m in inner for n in with_bodies(m)]


def unspelled(fn: Function, node, op: str) -> FormulaError:
    """The error for ``op`` (run by ``node``), at the formula line it comes from."""
    message = (
        f"'{op}' has no Array API spelling yet (--target array-api); "
        "compile this function with --target numpy"
    )
    loc = node.loc
    if loc is None:
        return FormulaError(f"{fn.name}: {message}", filename=fn.filename)
    return FormulaError(
        message,
        filename=fn.filename,
        line=loc.line,
        col=loc.col,
        source_line=loc.text,
    )
