"""A function's forward values and backward pass at one point, read off the adjoint
graph the pipeline built (``gradc explain`` prints it, ``gradc graph`` draws it).

There is one backward walk, ``passes.autodiff.differentiate``; this module only
evaluates the nodes it built (with the seed bound) and reads which forward node each
gradient node belongs to (``fn.adjoint_of``, ``fn.grads``), the parts of an accumulated
gradient (one per use of a value) and which consumer's gradient each part reads.
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
    reason: str | None = None  # why no gradient flows ('integer input', ...)
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


def gradient_nodes(fn: Function, forward: set[int]) -> dict[int, int]:
    """Forward node -> the node of its total gradient in the adjoint graph, for the
    forward nodes the pipeline built one for (the seed for the output, ``fn.grads`` for
    the parameters, ``fn.adjoint_of`` for the rest). Nodes that do not depend on the
    seed (a gradient folded to zero), or that no gradient of an input reads (the
    simplifier went past them), are left out."""
    depends = seed_dependent(fn)
    live = reachable(fn.nodes, list(fn.grads.values()))
    grad_of = {fn.output: fn.seed}
    for k, i in sorted(fn.adjoint_of.items()):
        if i in forward and depends[k] and k in live:
            grad_of.setdefault(i, k)
    for p in fn.wrt:
        g = fn.grads[p.name]
        if depends[g]:
            grad_of[p.node] = g
    return grad_of


def seed_dependent(fn: Function) -> list[bool]:
    """For each node: whether its value depends on the seed (args precede their nodes)."""
    depends = [False] * len(fn.nodes)
    for k, node in enumerate(fn.nodes):
        depends[k] = k == fn.seed or any(depends[a] for a in node.args)
    return depends


class Flow:
    """Where each gradient of the adjoint graph comes from: the parts of an accumulated
    gradient (``add(..., acc=True)``, one part per use of a value) and the gradient
    nodes each part reads (the upstream gradients of the consumers that sent it)."""

    def __init__(self, fn: Function, grad_of: dict[int, int]):
        self.nodes = fn.nodes
        self.grad_of = grad_of
        self.forward_of: dict[int, int] = {}
        for i, g in sorted(grad_of.items()):  # shared: the latest node's (it made it)
            self.forward_of[g] = i
        self.depends = seed_dependent(fn)
        self.memo: dict[int, frozenset] = {}

    def parts(self, g: int) -> list[int]:
        """The terms accumulated into gradient node ``g``, in the order they were added."""
        out: list[int] = []
        while True:
            node = self.nodes[g]
            if node.op != "add" or not node.attr("acc"):
                break
            out.append(node.args[1])
            g = node.args[0]
            if g in self.forward_of:  # the first term is another node's gradient
                break
        out.append(g)
        return out[::-1]

    def reads(self, part: int, a: int) -> list[int]:
        """The gradient nodes ``part`` (a term of forward node ``a``'s gradient) is
        computed from, latest forward node first."""
        if self.forward_of.get(part, a) != a:
            found = {part}
        else:
            found = set().union(
                *(self._reads(a) for a in self.nodes[part].args if self.depends[a])
            )
        return sorted(found, key=lambda g: -self.forward_of[g])

    def _reads(self, k: int) -> frozenset:
        """The gradient nodes node ``k`` reads (memoised; stops at gradient nodes)."""
        if k not in self.memo:
            if k in self.forward_of:
                self.memo[k] = frozenset({k})
            else:
                self.memo[k] = frozenset().union(
                    *(self._reads(a) for a in self.nodes[k].args if self.depends[a])
                )
        return self.memo[k]


def substitute(b: Builder, root: int, old: int, new: int) -> int:
    """Node ``root`` made again with node ``old`` replaced by ``new`` (the nodes between
    are re-emitted, so the simplifier folds ``1.0 * x`` to ``x``)."""
    nodes = b.nodes
    between = sorted(
        k for k in reachable(nodes, [root]) if old in reachable(nodes, [k])
    )
    remap = {old: new}
    for k in between:
        if k == old:
            continue
        node = nodes[k]
        with b.at(node.loc):
            remap[k] = b.emit(
                node.op, *(remap.get(a, a) for a in node.args), **dict(node.attrs)
            )
    return remap[root]


def trace_at(fn: Function, point: Point, seed_value=None) -> Trace:
    """Forward values and backward pass of the differentiated ``fn`` at ``point``: the
    values of the nodes the pipeline built, evaluated once (no second backward walk).
    ``seed_value`` defaults to ones (1 for a scalar output)."""
    if seed_value is None:
        shape = concrete(fn.nodes[fn.output].shape, point.dims)
        seed_value = 1.0 if shape == () else np.ones(shape)
    return TraceReader(fn, point, seed_value).trace()


class TraceReader:
    """Reads one ``Trace`` off a differentiated function at a point (``trace_at``).

    Local gradients are the only nodes it adds: a contribution with its upstream
    gradient replaced by ones, made on a Builder over a copy of the function's nodes.
    """

    def __init__(self, fn: Function, point: Point, seed_value):
        self.fn = fn
        self.point = point
        self.seed_value = seed_value
        self.b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
        if len(self.b.nodes) != len(fn.nodes):  # pragma: no cover - hash-consed already
            raise RuntimeError(f"gradc: the IR of {fn.name} has duplicate nodes")
        self.ev = Evaluator(self.b.nodes, point.dims)
        for p in fn.params:
            self.ev.bind(p.node, point.inputs[p.name])
        self.ev.bind(fn.seed, seed_value)
        self.forward = sorted(reachable(fn.nodes, [fn.output]))
        self.labels = make_labels(fn, self.forward)
        self.grad_of = gradient_nodes(fn, set(self.forward))
        self.flow = Flow(fn, self.grad_of)
        self.sent = incoming(fn, self.flow)
        self.below = {i: reachable(fn.nodes, [i]) for i in self.forward}

    def trace(self) -> Trace:
        """Every forward value, every step of the backward pass, the gradients."""
        fn, ev = self.fn, self.ev
        for i in self.forward:
            ev.value(i)
        upstream = {i: ev.value(g) for i, g in self.grad_of.items()}
        parts = {a: self.parts(a, g) for a, g in self.grad_of.items()}
        steps = [
            self.step(i, upstream[i], parts[i])
            for i in reversed(self.forward)
            if i in self.grad_of and PRIMS[fn.nodes[i].op].adjoint is not None
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

    def parts(self, a: int, g: int) -> list[tuple[int, object]]:
        """``(consumer, value)`` for each part of forward node ``a``'s gradient ``g``."""
        out = []
        for term in self.flow.parts(g):
            r = self.flow.reads(term, a)
            if r:
                out.append((self.flow.forward_of[r[0]], self.ev.value(term)))
        return out

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
        edges = self.edges(i, kind, describe)
        return Step(i, upstream, gname, parts, edges, kind)

    def edges(self, i: int, kind: str, describe: Describer) -> list[Edge]:
        """One edge per gradient term node ``i`` sends (grouped by the input it flows
        through, in input order), and one per input that gets none, saying why."""
        node = self.fn.nodes[i]
        terms = self.sent.get(i, [])
        used: set[int] = set()
        edges = []
        for pos, a in enumerate(node.args):
            arg = self.fn.nodes[a]
            if arg.op in ("const", "dim", "arange"):
                edges.append(Edge(pos, a, "constant"))
                continue
            if arg.dtype != "float":
                edges.append(Edge(pos, a, "integer input"))
                continue
            mine = [
                n
                for n, (t, _) in enumerate(terms)
                if n not in used and (t == a or t in self.below[a])
            ]
            used.update(mine)
            for t, term in sorted((terms[n] for n in mine), key=lambda x: x[0]):
                edges.append(self.edge(i, pos, t, term, kind, describe))
            reached = any(t == a or t in self.below[a] for t, _ in terms)
            if not reached and a not in node.args[:pos]:
                edges.append(Edge(pos, a, "not differentiated"))
        return edges

    def edge(
        self, i: int, pos: int, t: int, term: int, kind: str, describe: Describer
    ) -> Edge:
        """The edge of gradient ``term`` sent by node ``i`` to forward node ``t``."""
        fn = self.fn
        through = passed(self.grad_of, self.below, i, t)
        edge = Edge(pos, t, through=through)
        edge.rule = describe(term)
        edge.note = fn.notes.get(term)
        edge.down = self.ev.value(term)
        edge.wire = (t, through[-1] if through else i)
        entrywise = (
            kind == "elementwise"
            and all(PRIMS[fn.nodes[k].op].elementwise for k in through)
            and self.b.shape(term) == fn.nodes[t].shape
        )
        if kind == "scalar" or entrywise:
            local = self.local(i, term)
            edge.local = self.ev.value(local)
            if kind == "scalar":
                edge.local_text = describe(local)
        return edge

    def local(self, i: int, term: int) -> int:
        """The local gradient in ``term``: its upstream gradient (node ``i``'s) set to 1,
        or to ones of ``i``'s shape (entry by entry, for an elementwise ``i``)."""
        node = self.fn.nodes[i]
        if node.shape == ():
            one = self.b.const(1.0)
        else:
            with self.b.at(node.loc):
                one = self.b.emit(
                    "param", name=f"__ones_{i}", shape=node.shape, dtype="float"
                )
            self.ev.bind(one, np.ones(concrete(node.shape, self.point.dims)))
        return substitute(self.b, term, self.grad_of[i], one)


def gradient_name(label: str) -> str:
    """The name a gradient node is printed with in rules: ``d_q``, or ``d%7``."""
    return "d_" + label if label.isidentifier() else "d" + label


def incoming(fn: Function, flow: Flow) -> dict[int, list]:
    """For each forward node with a gradient: ``(target, term)`` for each term of a
    gradient it sends back (to an input, or past inputs without a gradient of their own)."""
    out: dict[int, list] = {}
    for a, g in sorted(flow.grad_of.items()):
        if a == fn.output:
            continue
        for term in flow.parts(g):
            r = flow.reads(term, a)
            if r:
                out.setdefault(flow.forward_of[r[0]], []).append((a, term))
    return out


def passed(grad_of: dict, below: dict, i: int, t: int) -> list[int]:
    """The forward nodes between ``t`` and its reader ``i`` that have no gradient node
    of their own (the compiled backward goes past them), latest first."""
    return [
        k
        for k in sorted(below[i], reverse=True)
        if t < k < i and k not in grad_of and t in below[k]
    ]
