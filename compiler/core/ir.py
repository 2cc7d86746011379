"""The graph IR shared by every pass: small immutable nodes in a topological list.

A ``Function`` holds its nodes in creation order, which is a topological order:
a node's arguments are always earlier nodes. Nodes refer to their arguments by
index. Shapes are tuples of dimensions; a dimension is an ``int`` or a SymPy
integer expression over the dimension names of the parameters (``n``, ``n - 1``).
The ``Builder`` is the only way nodes are made: it infers shapes from the table
of primitives, runs the registered local rewrites, and shares structurally equal
nodes (hash-consing), so common subexpressions are one node by construction.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from .prim import PRIMS
from .shapes import format_shape

Shape = tuple


@dataclass(frozen=True)
class Loc:
    """Where a node comes from: formula line, column, the line's text and statement label."""

    line: int
    col: int
    text: str
    stmt: str


@dataclass(frozen=True)
class Node:
    """One operation: ``op`` applied to earlier nodes ``args`` with static ``attrs``.

    ``attrs`` is a tuple of ``(key, value)`` pairs sorted by key, so nodes hash and
    compare structurally. ``name`` is the formula's name for the value (or ``d_x``
    for an adjoint), ``loc`` the formula line it comes from; neither takes part in
    equality of meaning (see ``Builder.key``).
    """

    op: str
    args: tuple[int, ...] = ()
    shape: Shape = ()
    dtype: str = "float"
    attrs: tuple = ()
    name: str | None = None
    loc: Loc | None = None

    def attr(self, key: str, default=None):
        """The value of attribute ``key``, or ``default``."""
        for k, v in self.attrs:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Param:
    """A function input: its name, node, annotation text and whether it is differentiated."""

    name: str
    node: int
    annotation: str
    wrt: bool


@dataclass
class Function:
    """One formula function as a graph, before or after differentiation.

    After ``autodiff.differentiate``: ``seed`` is the node of the upstream gradient
    ``d_<output>`` and ``grads`` maps each differentiated parameter to its adjoint node;
    ``value_and_grad`` is the same graph with the seed set to 1 (``passes/seed.py``).
    ``jvp``, ``hvp`` and ``hessian`` are the graphs of ``f_jvp``, ``f_hvp`` and
    ``f_hessian`` (``passes/forward.py``, ``passes/batching.py``), when asked for: their
    parameters are ``fn``'s and then the tangents, their results are in ``grads``.
    The backward walk's own record, on the graph ``differentiate`` returns (passes that
    rebuild the graph drop it): ``adjoints`` maps each forward node to the node of its
    total gradient, ``sent`` maps ``(node, input position)`` to the gradient that node
    sends back through that input (``gradc explain`` and ``gradc graph`` read both).
    """

    name: str
    doc: str
    params: list[Param]
    nodes: list[Node]
    output: int
    out_annotation: str
    loc: Loc
    filename: str = "<string>"
    seed: int | None = None
    grads: dict[str, int] = field(default_factory=dict)
    rewrites: list[tuple[str, int]] = field(default_factory=list)
    dims: dict[str, str] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)
    adjoint_of: dict[int, int] = field(default_factory=dict)
    source: list[str] = field(default_factory=list)
    value_and_grad: Function | None = None
    jvp: Function | None = None
    hvp: Function | None = None
    hessian: Function | None = None
    adjoints: dict[int, int] = field(default_factory=dict)
    sent: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def wrt(self) -> list[Param]:
        """The differentiated parameters, in parameter order."""
        return [p for p in self.params if p.wrt]


def freeze_attrs(attrs: dict) -> tuple:
    """Turn keyword attributes into the sorted, hashable tuple stored on a node."""
    return tuple(sorted(attrs.items()))


class Builder:
    """Appends nodes to a list, inferring shapes, rewriting locally and sharing equal nodes.

    ``loc`` and ``name`` set with ``at()`` are attached to every node made inside it.
    ``rewrite`` is a callable ``(builder, op, args, attrs) -> index | None`` (the
    simplifier); ``None`` disables rewriting.
    """

    def __init__(self, nodes: list[Node] | None = None, rewrite=None):
        self.nodes: list[Node] = []
        self.memo: dict[tuple, int] = {}
        self.rewrite = rewrite
        self.loc: Loc | None = None
        self.fired: list[tuple[str, int]] = []
        self.active: set[int] | None = None
        self.notes: dict[int, str] = {}
        #: readers per node, when a rebuild knows them (``rebuild``); rules that must not
        #: remove a value another node still reads consult it
        self.users: dict[int, int] | None = None
        for node in nodes or []:
            self._append(node)

    @staticmethod
    def key(node: Node) -> tuple:
        """The structural identity of a node (what hash-consing compares).

        ``a + b`` and ``b + a`` (likewise ``*``) are one value: IEEE addition and
        multiplication commute exactly, so the arguments are compared as a sorted pair.
        A float attribute is compared by its bits (``float.hex``): ``-0.0`` is not
        ``0.0`` (``1 / -0.0`` is ``-inf``), and NaNs are one value.
        """
        args = node.args
        if node.op in ("add", "mul") and not node.attrs:
            args = tuple(sorted(args))
        attrs = tuple(
            (k, v.hex()) if type(v) is float else (k, v) for k, v in node.attrs
        )
        return (node.op, args, attrs, node.dtype)

    def _append(self, node: Node) -> int:
        k = self.key(node)
        if k in self.memo:
            return self.memo[k]
        self.nodes.append(node)
        self.memo[k] = len(self.nodes) - 1
        return len(self.nodes) - 1

    @contextlib.contextmanager
    def at(self, loc: Loc | None):
        """Attach ``loc`` to the nodes made inside the ``with`` block."""
        saved = self.loc
        self.loc = loc
        try:
            yield
        finally:
            self.loc = saved

    def __getitem__(self, i: int) -> Node:
        return self.nodes[i]

    def shape(self, i: int) -> Shape:
        return self.nodes[i].shape

    def emit(self, op: str, *args: int, **attrs) -> int:
        """Make (or find) the node ``op(*args)``; shape and dtype come from the primitive table."""
        prim = PRIMS[op]
        if self.rewrite is not None:
            found = self.rewrite(self, op, args, attrs)
            if found is not None:
                return found
        shape, dtype = prim.infer(self, args, attrs)
        node = Node(
            op, tuple(args), tuple(shape), dtype, freeze_attrs(attrs), None, self.loc
        )
        return self._append(node)

    def find(self, op: str, *args: int, dtype: str = "float", **attrs) -> int | None:
        """The existing node ``op(*args)`` (no rewriting, nothing made), or ``None``."""
        node = Node(op, tuple(args), (), dtype, freeze_attrs(attrs), None, None)
        return self.memo.get(self.key(node))

    def name(self, i: int, name: str) -> None:
        """Give node ``i`` the formula name ``name`` unless it is named already."""
        node = self.nodes[i]
        if node.name is None and node.op not in ("const", "param", "dim"):
            self.nodes[i] = dataclasses.replace(node, name=name)

    def wanted(self, i: int) -> bool:
        """Whether a gradient for node ``i`` is needed (autodiff sets ``active``)."""
        return self.active is None or i in self.active

    def note(self, rule: str) -> None:
        """Record that the rewrite ``rule`` fired at the current formula line."""
        self.fired.append((rule, self.loc.line if self.loc else 0))

    # Convenience constructors used by the frontend and by adjoint rules.
    def const(self, value: float) -> int:
        return self.emit("const", value=float(value))

    def add(self, a: int, b: int) -> int:
        return self.emit("add", a, b)

    def sub(self, a: int, b: int) -> int:
        return self.emit("sub", a, b)

    def mul(self, a: int, b: int) -> int:
        return self.emit("mul", a, b)

    def div(self, a: int, b: int) -> int:
        return self.emit("div", a, b)

    def neg(self, a: int) -> int:
        return self.emit("neg", a)

    def is_const(self, i: int, value: float | None = None) -> bool:
        """Whether node ``i`` is a constant (equal to ``value`` if given)."""
        node = self.nodes[i]
        return node.op == "const" and (value is None or node.attr("value") == value)


class Value:
    """Node ``i`` of builder ``b`` with arithmetic operators, so rules read as math:
    ``g * y * (1 - y)`` (as tinygrad's ``ctx / (ret * 2)``).

    Each operator makes its node with ``b.emit`` when Python evaluates it, operands in
    the order written (``1 - y`` is ``sub(const 1, y)``); a Python number is a constant
    node made as the operator runs. Other operations: ``x.op("exp")``,
    ``c.where(a, b)``. Comparisons are not overloaded (``x.op("gt", 0)``).
    """

    __slots__ = ("b", "i")

    def __init__(self, b: Builder, i: int):
        self.b = b
        self.i = i

    def node_of(self, other) -> int:
        """The node index of ``other``: a Value's own, or a new constant for a number."""
        return other.i if isinstance(other, Value) else self.b.const(other)

    def op(self, name: str, *others, **attrs) -> Value:
        """``name(self, *others)`` with static ``attrs`` (numbers become constants)."""
        args = [self.node_of(o) for o in others]
        return Value(self.b, self.b.emit(name, self.i, *args, **attrs))

    def where(self, then, other) -> Value:
        """``then`` where this (boolean) value holds, else ``other``."""
        return self.op("where", then, other)

    @property
    def shape(self) -> Shape:
        return self.b.shape(self.i)

    @property
    def node(self) -> Node:
        return self.b[self.i]

    def __add__(self, other) -> Value:
        return self.op("add", other)

    def __radd__(self, other) -> Value:
        return Value(self.b, self.b.add(self.node_of(other), self.i))

    def __sub__(self, other) -> Value:
        return self.op("sub", other)

    def __rsub__(self, other) -> Value:
        return Value(self.b, self.b.sub(self.node_of(other), self.i))

    def __mul__(self, other) -> Value:
        return self.op("mul", other)

    def __rmul__(self, other) -> Value:
        return Value(self.b, self.b.mul(self.node_of(other), self.i))

    def __truediv__(self, other) -> Value:
        return self.op("div", other)

    def __rtruediv__(self, other) -> Value:
        return Value(self.b, self.b.div(self.node_of(other), self.i))

    def __pow__(self, other) -> Value:
        return self.op("pow", other)

    def __neg__(self) -> Value:
        return Value(self.b, self.b.neg(self.i))


def format_attr(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return (
            "("
            + ", ".join(format_attr(v) for v in value)
            + ("," if len(value) == 1 else "")
            + ")"
        )
    return str(value)


def format_function(fn: Function, *, adjoint: bool = False) -> str:
    """The deterministic text of ``gradc ir``: one node per line with shape and source line.

    Without ``adjoint``, only the nodes the value needs are listed.
    """
    keep = reachable(
        fn.nodes, [fn.output] + (list(fn.grads.values()) if adjoint else [])
    )
    lines = [f"function {fn.name}  # {fn.filename}:{fn.loc.line}"]
    for p in fn.params:
        mark = "  wrt" if p.wrt else ""
        lines.append(f"  param %{p.node} {p.name}: {p.annotation}{mark}")
    for i, node in enumerate(fn.nodes):
        if i not in keep or node.op == "param":
            continue
        lines += format_node(i, node, "  ")
    lines.append(f"  return %{fn.output}")
    if adjoint:
        if fn.seed is not None:
            lines.append(f"  seed %{fn.seed}")
        for pname, g in fn.grads.items():
            lines.append(f"  grad {pname} = %{g}")
    for rule, line in fn.rewrites:
        lines.append(f"  rewrite {rule}  # line {line}")
    return "\n".join(lines) + "\n"


def format_node(i: int, node: Node, indent: str) -> list[str]:
    """One node's line of ``gradc ir``; a loop's body follows, indented (``%t.3`` are
    the nodes of the body of the loop on line t)."""
    args = ", ".join(f"%{a}" for a in node.args)
    attrs = ", ".join(
        f"{k}={format_attr(v)}" for k, v in node.attrs if k not in ("body", "grad")
    )
    body = f"{node.op}({', '.join(s for s in (args, attrs) if s)})"
    name = f"  ; {node.name}" if node.name else ""
    where = f"  # line {node.loc.line}" if node.loc else ""
    out = [
        f"{indent}%{i} = {body} : {node.dtype}{format_shape(node.shape)}{name}{where}"
    ]
    loop = node.attr("body") or (node.attr("grad") and node.attr("grad").loop)
    if loop is None:
        return out
    grad = node.attr("grad")
    nodes = grad.nodes if grad else loop.nodes
    roots = list(loop.outs) if grad is None else [*grad.d_carried, *grad.d_captures]
    keep = reachable(list(nodes), [r for r in roots if r is not None])
    kind = "reversed" if grad else "forward"
    out.append(f"{indent}  {kind} {loop.header}  # carried: {', '.join(loop.names)}")
    for j, sub in enumerate(nodes):
        if j in keep:
            out += format_node(j, sub, indent + "    ")
    if grad is None:
        out.append(f"{indent}    carry {', '.join(f'%{o}' for o in loop.outs)}")
    return out


def rebuild(
    fn: Function, b: Builder, make=None, rare: set[int] = frozenset()
) -> Function:
    """``fn`` with every node made again, in order, by ``b`` (so its rewrites apply).

    ``make(i, node, remap)`` may return the new index for old node ``i`` itself (a fused
    node's body, a seed replaced by a constant), or ``None`` to re-emit the node as it
    is. Names, params, gradients, notes and ``adjoint_of`` follow the nodes. While it
    runs, ``b.users`` counts the readers each value has in ``fn`` (live nodes only), but
    for the nodes ``rare`` (the rarely taken branch of a guard), which are made again
    as they are, no rewrite applied.
    """
    roots = [fn.output, *fn.grads.values()]
    live = reachable(fn.nodes, roots)
    old_users: dict[int, int] = {}
    for i in sorted(live - rare):
        for a in fn.nodes[i].args:
            old_users[a] = old_users.get(a, 0) + 1
    b.users = {}
    remap: dict[int, int] = {}
    rewrite = b.rewrite
    for i, node in enumerate(fn.nodes):
        b.loc = node.loc
        new = make(i, node, remap) if make is not None else None
        if new is None:
            b.rewrite = None if i in rare else rewrite
            new = b.emit(node.op, *(remap[a] for a in node.args), **dict(node.attrs))
            b.rewrite = rewrite
        if node.name:
            b.name(new, node.name)
        remap[i] = new
        b.users[new] = b.users.get(new, 0) + old_users.get(i, 0)
    b.users = None
    notes: dict[int, str] = {}
    for k, v in fn.notes.items():
        notes.setdefault(remap[k], v)
    adjoint_of: dict[int, int] = {}
    for k, v in fn.adjoint_of.items():
        adjoint_of.setdefault(remap[k], remap[v])
    return dataclasses.replace(
        fn,
        nodes=b.nodes,
        params=[dataclasses.replace(p, node=remap[p.node]) for p in fn.params],
        output=remap[fn.output],
        seed=remap[fn.seed] if fn.seed is not None else None,
        grads={k: remap[v] for k, v in fn.grads.items()},
        notes=notes,
        adjoint_of=adjoint_of,
        adjoints={},
        sent={},
        rewrites=fn.rewrites + b.fired,
    )


def reachable(
    nodes: list[Node], roots: list[int], reads: Callable | None = None
) -> set[int]:
    """Indices of the nodes that ``roots`` depend on (iterative, no recursion); with
    ``reads(node)``, through the arguments it names only (default: all of them)."""
    seen: set[int] = set()
    stack = [r for r in roots if r is not None]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(nodes[i].args if reads is None else reads(nodes[i]))
    return seen


def index_root(nodes, i: int) -> int:
    """The node an integer index array is cut from (``i`` of ``i[:, None]``), else ``i``."""
    while nodes[i].op == "getitem" and nodes[i].dtype == "int":
        i = nodes[i].args[0]
    return i


def run_body(body: tuple, inputs: list, apply: Callable):
    """The one walk over a fused node's body (entries ``(op, args, attrs)`` in order, an
    ``input`` entry standing for ``inputs[k]``): ``apply(op, values, attrs)`` gives each
    entry's value from its arguments' values; returns the last entry's value."""
    vals: list = []
    for op, args, attrs in body:
        if op == "input":
            vals.append(inputs[dict(attrs)["k"]])
        else:
            vals.append(apply(op, [vals[a] for a in args], attrs))
    return vals[-1]
