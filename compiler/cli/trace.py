"""A function's forward values and backward pass at one point, read off the adjoint
graph the pipeline built (``gradc explain`` prints it, ``gradc graph`` draws it).

There is one backward walk, ``passes.autodiff.differentiate``, and it records what it
built: ``fn.adjoints`` (each forward node's total gradient) and ``fn.sent`` (the gradient
each node sends back through each input). This module only evaluates those nodes at the
point (``pipeline.walk_source`` gives the graph, with the seed bound), and makes one
kind of node itself: a local gradient, the op's own rule applied to an upstream of 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.ir import Builder, Function, reachable
from ..core.prim import PRIMS
from ..rewrite import make_rewriter
from .describe import Describer, make_labels
from .evaluator import Evaluator, concrete
from .points import Point


@dataclass
class Edge:
    """What node ``Step.node`` sends back towards ``arg`` (through its input ``pos``).

    ``through`` lists the forward nodes between them that the compiled backward pass goes
    past without a gradient of their own (an ``add`` passes its gradient on unchanged).
    """

    pos: int
    arg: int
    reason: str | None = (
        None  # why no gradient flows ('integer input', 'a condition', ...)
    )
    rule: str = ""  # the downstream gradient as code, in terms of the upstream name
    local_text: str | None = None  # the local gradient as code (scalar nodes)
    local: object = None  # its value (scalar nodes, and elementwise ones: entrywise)
    down: object = None  # the downstream gradient
    note: str | None = None  # what a fused node's rule says about this local gradient
    through: list[int] = field(default_factory=list)
    wire: tuple[int, int] | None = (
        None  # the forward wire (src, dst) it flows back along
    )


@dataclass
class Step:
    """One node of the backward pass: its upstream gradient and what it sends back."""

    node: int
    upstream: object
    upstream_name: str
    parts: list[
        tuple[int, object]
    ]  # (consumer, gradient it sent): fan-out terms of upstream
    edges: list[Edge]
    kind: str  # "scalar", "elementwise" or "general" (how the local gradient is shown)


@dataclass
class Trace:
    """One function's forward values and backward pass at one point, read off the
    differentiated ``fn`` the pipeline built (every number is the value of one of its
    nodes, or of a local gradient: a contribution with its upstream gradient set to 1)."""

    fn: Function  # differentiated: its nodes hold the forward and the adjoint graph
    point: Point
    ev: Evaluator  # values of every node, the seed bound to ``seed_value``
    forward: list[int]  # forward nodes the output needs, in order (parameters included)
    labels: dict[int, str]
    seed_value: object
    steps: list[Step]
    upstream: dict[int, object]  # total gradient of every forward node that has one
    parts: dict[int, list[tuple[int, object]]]
    grads: dict[str, object]  # fn.grads evaluated: the compiled backward's gradients

    @property
    def out_label(self) -> str:
        """The display name of the output."""
        return self.labels[self.fn.output]


def seed_dependent(fn: Function) -> list[bool]:
    """For each node: whether its value depends on the seed (args precede their nodes)."""
    depends = [False] * len(fn.nodes)
    for k, node in enumerate(fn.nodes):
        depends[k] = k == fn.seed or any(depends[a] for a in node.args)
    return depends


def trace_at(fn: Function, point: Point, seed_value=None) -> Trace:
    """Forward values and backward pass of ``fn`` (from ``pipeline.walk_source``: its
    walk's record intact) at ``point``: the values of the nodes the walk built, evaluated
    once. ``seed_value`` defaults to ones (1 for a scalar output)."""
    if seed_value is None:
        shape = concrete(fn.nodes[fn.output].shape, point.dims)
        seed_value = 1.0 if shape == () else np.ones(shape)
    return TraceReader(fn, point, seed_value).trace()


class TraceReader:
    """Reads one ``Trace`` off a differentiated function at a point (``trace_at``).

    Local gradients are the only nodes it adds: each op's adjoint rule applied to an
    upstream gradient of ones, made on a Builder over a copy of the function's nodes.
    """

    def __init__(self, fn: Function, point: Point, seed_value):
        self.fn = fn
        self.point = point
        self.seed_value = seed_value
        self.b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
        self.ev = Evaluator(self.b.nodes, point.dims)
        for p in fn.params:
            self.ev.bind(p.node, point.inputs[p.name])
        self.ev.bind(fn.seed, seed_value)
        self.forward = sorted(reachable(fn.nodes, [fn.output]))
        self.labels = make_labels(fn, self.forward)
        depends = seed_dependent(fn)
        forward = set(self.forward)
        self.grad_of = {
            i: g for i, g in fn.adjoints.items() if i in forward and depends[g]
        }
        self.sent = {k: c for k, c in fn.sent.items() if depends[c]}

    def trace(self) -> Trace:
        """Every forward value, every step of the backward pass, the gradients."""
        fn, ev = self.fn, self.ev
        for i in self.forward:
            ev.value(i)
        upstream = {i: ev.value(g) for i, g in self.grad_of.items()}
        parts: dict[int, list[tuple[int, object]]] = {}
        for (i, pos), c in sorted(
            self.sent.items(), key=lambda kv: (-kv[0][0], kv[0][1])
        ):
            a = fn.nodes[i].args[pos]
            parts.setdefault(a, []).append((i, ev.value(c)))
        steps = [
            self.step(i, upstream[i], parts.get(i, []))
            if fn.nodes[i].op != "loop"
            else self.loop_step(i, upstream)
            for i in reversed(self.forward)
            if (i in self.grad_of and PRIMS[fn.nodes[i].op].adjoint is not None)
            or (fn.nodes[i].op == "loop" and any(k[0] == i for k in self.sent))
        ]
        grads = {p.name: ev.value(fn.grads[p.name]) for p in fn.wrt}
        return Trace(
            fn,
            self.point,
            ev,
            self.forward,
            self.labels,
            self.seed_value,
            steps,
            upstream,
            parts,
            grads,
        )

    def loop_step(self, i: int, upstream: dict) -> Step:
        """The backward step of loop ``i``: the gradients of its carried values after
        it (``parts``: loop_out node -> value), what the reverse loop sends each input."""
        fn = self.fn
        outs = [
            (j, upstream[j])
            for j in self.forward
            if fn.nodes[j].op == "loop_out"
            and fn.nodes[j].args[0] == i
            and j in upstream
        ]
        edges = []
        for pos, a in enumerate(fn.nodes[i].args):
            term = self.sent.get((i, pos))
            if term is not None:
                edge = Edge(pos, a, wire=(a, i), rule="the reverse loop")
                edge.down = self.ev.value(term)
                edges.append(edge)
        return Step(i, None, "", outs, edges, "loop")

    def step(self, i: int, upstream, parts) -> Step:
        """The backward step of forward node ``i``: what it sends to each input."""
        node = self.fn.nodes[i]
        label = self.labels[i]
        gname = "d_" + label if label.isidentifier() else "g"
        names = {g: gradient_name(self.labels[j]) for j, g in self.grad_of.items()}
        names[self.grad_of[i]] = gname
        describe = Describer(self.b.nodes, self.labels, self.point.dims, names)
        scalar = node.shape == ()
        elementwise = PRIMS[node.op].elementwise and not scalar
        kind = "scalar" if scalar else "elementwise" if elementwise else "general"
        edges = [
            self.edge(i, pos, a, kind, describe) for pos, a in enumerate(node.args)
        ]
        return Step(
            i, upstream, gname, parts, [e for e in edges if e is not None], kind
        )

    def edge(
        self, i: int, pos: int, a: int, kind: str, describe: Describer
    ) -> Edge | None:
        """What node ``i`` sends back through its input ``pos`` (node ``a``), or why
        nothing flows there (None: a repeated input that gets nothing either)."""
        fn = self.fn
        arg = fn.nodes[a]
        if arg.op in ("const", "dim", "arange"):
            return Edge(pos, a, "constant")
        if arg.dtype != "float":  # a where's mask (bool) or an index (int)
            return Edge(
                pos, a, "a condition" if arg.dtype == "bool" else "integer input"
            )
        term = self.sent.get((i, pos))
        if term is None:
            return (
                None
                if a in fn.nodes[i].args[:pos]
                else Edge(pos, a, "not differentiated")
            )
        edge = Edge(pos, a, wire=(a, i))
        edge.rule = describe(term)
        edge.note = fn.notes.get(term)
        edge.down = self.ev.value(term)
        entrywise = kind == "elementwise" and self.b.shape(term) == arg.shape
        if kind == "scalar" or entrywise:
            local = self.local(i, pos)
            edge.local = self.ev.value(local)
            if kind == "scalar":
                edge.local_text = describe(local)
        return edge

    def local(self, i: int, pos: int) -> int:
        """The local gradient of node ``i`` with respect to its input ``pos``: the op's own
        adjoint rule (its record) applied to an upstream gradient of 1, or of ones of
        ``i``'s shape (entry by entry, for an elementwise ``i``)."""
        node = self.fn.nodes[i]
        if node.shape == ():
            one = self.b.const(1.0)
        else:
            with self.b.at(node.loc):
                one = self.b.emit(
                    "param", name=f"__ones_{i}", shape=node.shape, dtype="float"
                )
            self.ev.bind(one, np.ones(concrete(node.shape, self.point.dims)))
        with self.b.at(node.loc):
            return PRIMS[node.op].adjoint(self.b, i, node, one)[pos]


def gradient_name(label: str) -> str:
    """The name a gradient node is printed with in rules: ``d_q``, or ``d%7``."""
    return "d_" + label if label.isidentifier() else "d" + label
