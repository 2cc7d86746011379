"""Scalarisation: a function whose arrays all have small literal shapes becomes scalar code.

A neuron over ``w: Vector[3], x: Vector[2]`` spends its time in NumPy calls on 2- and
3-element arrays (``w[0]``, ``np.zeros((3,))``, ``d_w[2] = ...``), about 10x the lecture's
code on Python floats. When every value of the differentiated graphs (``f``,
``f_value_and_grad`` and, when asked for, ``f_jvp``, ``f_hvp``, ``f_hessian``) has a
literal shape of at most ``MAX_ELEMENTS`` elements (``literal_shapes.py``), its output
is a scalar, and every operation is one this pass expands element by element
(``EXPANDERS``: elementwise ops with broadcasting, ``sum`` and ``mean`` over any axes,
``matmul``, ``vdot``, ``outer``, ``einsum``, indexing with literal integers, slices and
``None``, ``scatter`` into zeros, ``zeros``, ``ones``, ``eye``, ``broadcast_to``,
``expand_dims``, ``reshape``, ``transpose``, ``concatenate``, ``stack``), and every
operation has a spelling on floats, each graph is rebuilt on scalars: an array
parameter is read once as lists (``w_list = w.tolist()``), its elements picked (``w_0 =
w_list[0]``), the body is scalar operations, and an array result is made again from its
elements (``np.array([d_z * x_0, d_z * x_1, d_z])``, fresh float64). The backend then
prints the graphs with the ``math`` target (``backend/module.math_build``). Anything else
(a symbolic dimension, a larger or empty array, an array output, ``max``, ``softmax``, an
``Index`` array ...) leaves every graph of the function as it was.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.ir import Function, Node, freeze_attrs
from ..core.prim import MATH, PRIMS, spellable
from ..ops.linalg import einsum_parts
from .literal_shapes import NotScalar, literal, may_scalarise, used_nodes

NO_ATTRS = ()


class Scalariser:
    """Rebuilds one graph on scalars: ``elems[i]`` is an object array, of node ``i``'s
    shape, of the new (scalar) nodes of its elements."""

    def __init__(self, g: Function):
        self.g = g
        self.nodes: list[Node] = []
        self.memo: dict[tuple, int] = {}
        self.elems: dict[int, np.ndarray] = {}
        self.remap: dict[int, int] = {}  # old scalar node -> new node
        self.zero = self.one = None

    def add(self, node: Node) -> int:
        args = node.args
        if node.op in ("add", "mul") and not node.attrs:
            args = tuple(sorted(args))
        key = (node.op, args, node.attrs, node.dtype)
        if key not in self.memo:
            self.nodes.append(node)
            self.memo[key] = len(self.nodes) - 1
        return self.memo[key]

    def scalar(self, op, args, like: Node, attrs=NO_ATTRS, name=None, dtype=None):
        """A new scalar node ``op(*args)`` at ``like``'s line; ``x + 0`` and ``1 x`` are
        ``x`` (exactly, in IEEE arithmetic; a ``0 * x`` stays: nan where ``x`` is inf)."""
        zero = self.zero
        if op == "mul" and self.one is not None and self.one in args:  # 1 x = x exactly
            return args[1] if args[0] == self.one else args[0]
        if op == "add" and zero is not None and zero in args:
            return args[1] if args[0] == zero else args[0]
        if op == "sub" and zero is not None and args[1] == zero:
            return args[0]
        if op == "neg" and zero is not None and args[0] == zero:
            return zero
        dtype = dtype or like.dtype
        return self.add(Node(op, tuple(args), (), dtype, attrs, name, like.loc))

    def const(self, value: float, like: Node) -> int:
        i = self.add(Node("const", (), (), "float", freeze_attrs({"value": value})))
        self.note_const(i, value)
        return i

    def note_const(self, i: int, value: float) -> None:
        """Remember the nodes of 0 and 1 (``x + 0`` and ``1 x`` are ``x``)."""
        if value == 0.0 and self.zero is None:
            self.zero = i
        if value == 1.0 and self.one is None:
            self.one = i

    def run(self) -> Function:
        g = self.g
        for i in used_nodes(g):
            node = g.nodes[i]
            self.elems[i] = self.expand(i, node, literal(node.shape))
        params = []
        for p in g.params:
            if p.node in self.remap:
                params.append(dataclasses.replace(p, node=self.remap[p.node]))
            else:  # unread: still a parameter
                params.append(dataclasses.replace(p, node=self.add(g.nodes[p.node])))
        grads = {p: self.result(i) for p, i in g.grads.items()}
        seed = None if g.seed is None else self.remap[g.seed]
        keep = {i for i in self.remap if g.nodes[i].shape == ()}
        return dataclasses.replace(
            g,
            params=params,
            nodes=self.nodes,
            output=self.result(g.output),
            seed=seed,
            grads=grads,
            notes={self.remap[i]: t for i, t in g.notes.items() if i in keep},
            adjoint_of={
                self.remap[i]: self.remap[j]
                for i, j in g.adjoint_of.items()
                if i in keep and j in keep
            },
            adjoints={},
            sent={},
        )

    def result(self, i: int) -> int:
        """The new node of result ``i``: itself (a scalar) or its elements made an array."""
        node = self.g.nodes[i]
        if node.shape == ():
            return self.elems[i][()]
        items = tuple(int(k) for k in self.elems[i].reshape(-1))
        attrs = freeze_attrs({"shape": tuple(int(d) for d in node.shape)})
        return self.add(
            Node("array_of", items, node.shape, "float", attrs, node.name, node.loc)
        )

    def expand(self, i: int, node: Node, shape: tuple) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        if node.op == "param":
            new = self.add(node)
            self.remap[i] = new
            if not shape:
                out[()] = new
                return out
            name, loc = node.attr("name"), self.g.loc  # unpacked under the def line
            listed = self.add(
                Node("tolist", (new,), node.shape, "float", (), f"{name}_list", loc)
            )
            for at in np.ndindex(shape):
                label = f"{name}_{'_'.join(map(str, at))}"
                attrs = freeze_attrs({"at": at})
                pick = Node("element", (listed,), (), "float", attrs, label, loc)
                out[at] = self.add(pick)
            return out
        if node.op == "const" and not shape:
            out[()] = self.add(node)
            self.note_const(out[()], node.attr("value"))
            return out
        if node.op == "guarded":  # on scalars, the formula's order (``formula_order``)
            out[...] = self.elems[node.args[2]]
            return out
        expander = EXPANDERS.get(node.op)
        if expander is None and PRIMS[node.op].elementwise:
            expander = elementwise
        if expander is None:
            raise NotScalar(node.op)
        if shape and (i in self.g.adjoint_of or i in self.g.grads.values()):
            node = dataclasses.replace(
                node, name=None
            )  # d_x = np.array([d_z * w_0, ...])
        expander(self, node, [self.elems[a] for a in node.args], out)
        if not shape:
            self.remap[i] = out[()]
        return out


def label(node: Node, at: tuple) -> str | None:
    """The name of element ``at`` of a named array (``z_1``), None for a scalar's own."""
    if node.name is None:
        return None
    return node.name if not at else f"{node.name}_{'_'.join(map(str, at))}"


def elementwise(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    shape = out.shape
    spread = [np.broadcast_to(a, shape) for a in args]
    for at in np.ndindex(shape):
        parts = [int(a[at]) for a in spread]
        out[at] = s.scalar(node.op, parts, node, node.attrs, label(node, at))


def axes_of(node: Node, ndim: int) -> tuple[int, ...]:
    axis = node.attr("axis")
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(int(a) % ndim for a in axis))


def total(s: Scalariser, items: list[int], node: Node, name=None) -> int:
    """``items[0] + items[1] + ...``, left to right (NumPy's order on a few elements)."""
    acc = items[0]
    for k, item in enumerate(items[1:]):
        last = k == len(items) - 2
        acc = s.scalar("add", (acc, item), node, name=name if last else None)
    return acc


def reduction(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    x = args[0]
    axes = axes_of(node, x.ndim)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    kept = moved.shape[: x.ndim - len(axes)]
    flat = moved.reshape(kept + (-1,))
    count = flat.shape[-1]
    for at in np.ndindex(kept):
        items = [int(k) for k in flat[at]]
        name = label(node, at)
        value = total(s, items, node, None if node.op == "mean" else name)
        if node.op == "mean":
            value = s.scalar(
                "div", (value, s.const(float(count), node)), node, name=name
            )
        out.reshape(kept)[at] = value


def products(s: Scalariser, node: Node, a: np.ndarray, b: np.ndarray) -> int:
    """``sum(a * b)`` of two equally long element lists."""
    terms = [s.scalar("mul", (int(x), int(y)), node) for x, y in zip(a, b)]
    return total(s, terms, node)


def matmul(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    """``a @ b`` as NumPy's matmul: a vector is a row (first) or a column (second), the
    axes before the last two broadcast."""
    a, b = args
    a2 = a if a.ndim >= 2 else a[None, :]
    b2 = b if b.ndim >= 2 else b[:, None]
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    full = np.empty(batch + (a2.shape[-2], b2.shape[-1]), dtype=object)
    for at in np.ndindex(full.shape):
        *lead, r, c = at
        lead = tuple(lead)
        full[at] = products(s, node, a2[lead + (r,)], b2[lead + (slice(None), c)])
    out[...] = full.reshape(out.shape)


def vdot(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    out[()] = products(s, node, args[0].reshape(-1), args[1].reshape(-1))


def outer(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    a, b = args[0].reshape(-1), args[1].reshape(-1)
    for r in range(a.size):
        for c in range(b.size):
            out[r, c] = s.scalar("mul", (int(a[r]), int(b[c])), node)


def einsum(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    """``einsum(spec, ...)``: each output element the sum, over the letters not in the
    output, of the product of the operands' elements, left to right."""
    ins, result = einsum_parts(node.attr("spec"))
    sizes = {c: n for letters, a in zip(ins, args) for c, n in zip(letters, a.shape)}
    summed = [c for c in dict.fromkeys("".join(ins)) if c not in result]
    for at in np.ndindex(out.shape):
        terms = []
        for inner in np.ndindex(tuple(sizes[c] for c in summed)):
            where = dict(zip(result, at)) | dict(zip(summed, inner))
            factors = [
                int(a[tuple(where[c] for c in letters)])
                for letters, a in zip(ins, args)
            ]
            terms.append(total_product(s, factors, node))
        name = label(node, at)
        out[at] = total(s, terms, node, name) if terms else s.const(0.0, node)


def total_product(s: Scalariser, factors: list[int], node: Node) -> int:
    """``factors[0] * factors[1] * ...``, left to right."""
    acc = factors[0]
    for f in factors[1:]:
        acc = s.scalar("mul", (acc, f), node)
    return acc


def index_of(spec) -> tuple:
    """A getitem/scatter index spec as a Python index (ints, slices, None only)."""
    out = []
    for e in spec:
        if e[0] == "i":
            out.append(int(e[1]))
        elif e[0] == "s":
            out.append(slice(*(None if v is None else int(v) for v in e[1:])))
        elif e[0] == "n":
            out.append(None)
        else:
            raise NotScalar("array index")
    return tuple(out)


def getitem(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    if len(args) != 1:
        raise NotScalar("array index")
    out[...] = args[0][index_of(node.attr("index"))]


def zeros(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    zero = s.const(0.0, node)
    for at in np.ndindex(out.shape):
        out[at] = zero


def ones(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    one = s.const(1.0, node)
    for at in np.ndindex(out.shape):
        out[at] = one


def eye(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    zeros(s, node, args, out)
    for k in range(out.shape[0]):
        out[k, k] = s.const(1.0, node)


def tri(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    zeros(s, node, args, out)
    for i, j in np.ndindex(out.shape):
        if j <= i + node.attr("k"):
            out[i, j] = s.const(1.0, node)


def scatter(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    if len(args) != 1 or node.attr("add"):
        raise NotScalar("array scatter")
    zeros(s, node, args, out)
    out[index_of(node.attr("index"))] = args[0]


def cumsum(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    """Running sums along the node's axis: each entry one ``add`` of the one before."""
    x = np.moveaxis(args[0], node.attr("axis"), -1)
    sums = np.moveaxis(out, node.attr("axis"), -1)  # a view: writes into ``out``
    for at in np.ndindex(x.shape[:-1]):
        run = int(x[at][0])
        sums[at][0] = run
        for k in range(1, x.shape[-1]):
            run = s.scalar("add", (run, int(x[at][k])), node)
            sums[at][k] = run


def broadcast_to(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    out[...] = np.broadcast_to(args[0], out.shape)


def reshape(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    out[...] = args[0].reshape(out.shape)


def transpose(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    out[...] = np.transpose(args[0], node.attr("axes"))


def concatenate(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    out[...] = np.concatenate(args, axis=node.attr("axis"))


def stack(s: Scalariser, node: Node, args: list, out: np.ndarray) -> None:
    out[...] = np.stack(args, axis=node.attr("axis"))


EXPANDERS = {
    "sum": reduction,
    "mean": reduction,
    "matmul": matmul,
    "vdot": vdot,
    "outer": outer,
    "einsum": einsum,
    "getitem": getitem,
    "zeros": zeros,
    "ones": ones,
    "eye": eye,
    "tri": tri,
    "scatter": scatter,
    "broadcast_to": broadcast_to,
    "expand_dims": reshape,
    "contiguous": reshape,  # a C-ordered copy (passes/layout.py): the same elements
    "reshape": reshape,
    "transpose": transpose,
    "concatenate": concatenate,
    "stack": stack,
    "cumsum": cumsum,
}


def scalarised(g: Function) -> Function:
    """Graph ``g`` rebuilt on scalars (``NotScalar`` where it cannot be)."""
    return Scalariser(g).run()


def scalarise(fn: Function) -> Function:
    """``fn`` with every one of its graphs rebuilt on scalars, or ``fn`` itself unless all
    of them can be (a function is printed by one target: all ``math`` or none)."""
    if not may_scalarise(fn):
        return fn
    try:
        out = scalarised(fn)
        extra = {
            kind: scalarised(getattr(fn, kind))
            for kind in ("value_and_grad", "jvp", "hvp", "hessian")
            if getattr(fn, kind) is not None
        }
    except NotScalar:
        return fn
    # an op without a spelling on floats would print NumPy on scalars: slower, so no
    if not all(spellable(g.nodes, MATH) for g in [out, *extra.values()]):
        return fn
    return dataclasses.replace(out, **extra)
