"""Nodes as the tools show them: display names (``q``, ``name%7``, ``%7``), a node's
operation name, and adjoint-graph nodes printed as code over those names."""

from __future__ import annotations

from ..backend.context import Ctx
from ..core import printer as P
from ..core.ir import Function
from ..core.prim import PRIMS
from ..ops.spelling import index_text


def make_labels(fn: Function, forward: list[int]) -> dict[int, str]:
    """Display names: the formula name, ``name%i`` when a name is reused, else ``%i``."""
    counts: dict[str, int] = {}
    for i in forward:
        name = (
            fn.nodes[i].attr("name") if fn.nodes[i].op == "param" else fn.nodes[i].name
        )
        if name:
            counts[name] = counts.get(name, 0) + 1
    labels = {}
    for i in forward:
        node = fn.nodes[i]
        if node.op == "param":
            labels[i] = node.attr("name")
        elif node.op == "const":
            labels[i] = P.number(node.attr("value"), integral=True).text
        elif node.name:
            labels[i] = node.name if counts[node.name] == 1 else f"{node.name}%{i}"
        else:
            labels[i] = f"%{i}"
    if fn.nodes[fn.output].op not in ("param", "const") and labels[
        fn.output
    ].startswith("%"):
        labels[fn.output] = "out"
    return labels


def op_name(node) -> str:
    """The operation name shown for ``node`` (a fused node's own name)."""
    return node.attr("name") if node.op == "fused" else node.op


class Describer:
    """Prints adjoint-rule nodes as code over the display names of the forward nodes."""

    def __init__(
        self,
        nodes: list,
        labels: dict[int, str],
        dims: dict[str, int],
        names: dict[int, str] | None = None,
    ):
        self.nodes = nodes
        self.labels = labels
        self.names: dict[int, str] = dict(names or {})
        self.ctx = Ctx(nodes, {d: d for d in dims})
        self.memo: dict[int, P.Expr] = {}

    def __call__(self, i: int) -> str:
        return self.expr(i).text

    def expr(self, i: int) -> P.Expr:
        """Node ``i`` as a printer expression (memoised)."""
        if i in self.memo:
            return self.memo[i]
        node = self.nodes[i]
        prim = PRIMS[node.op]
        if i in self.names:
            e = P.name(self.names[i])
        elif node.op in ("const", "dim", "arange"):
            e = prim.emit(node, [], self.ctx)
        elif i in self.labels:
            e = P.name(self.labels[i])
        elif node.op == "param":
            e = P.name(node.attr("name"))
        else:
            args = [self.expr(a) for a in node.args]
            if prim.emit is not None:
                e = prim.emit(node, args, self.ctx)
            else:  # statement ops (scatter): zeros of the shape, the gradient added at the index
                index = index_text(node.attr("index"), [None] + args[1:], self.ctx)
                shape = P.shape(node.attr("shape"), self.ctx.dims)
                e = P.call(node.op, args[0], index=f"[{index}]", shape=shape)
        self.memo[i] = e
        return e
