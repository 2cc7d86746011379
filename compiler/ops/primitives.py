"""The one table of primitives: each op's shape rule, NumPy spelling and adjoint rule.

Adding an operation is one ``Prim`` entry here. The parts of an entry:

- ``infer(b, args, attrs) -> (shape, dtype)``: the shape rule; raises ShapeError.
- ``emit(node, a, ctx) -> Expr``: the NumPy spelling, from the printed arguments ``a``
  (``ctx.dims`` names dimension variables; ``ctx.use(helper)`` asks for a module helper).
  Statement ops instead give ``stmts(target, node, a, ctx) -> list[str]``.
- ``adjoint(b, i, node, g) -> [contribution or None per input]``: builds, with the
  builder ``b``, the gradient each input receives from upstream gradient ``g`` of
  node ``i``. Rules may read the node's own output ``i`` (``s * (1 - s)``). A contribution
  may keep the node's own (broadcast) shape: the driver (``autodiff.differentiate``) sums
  it down to its input's shape with ``unbroadcast``, after masking it where needed.
- ``fold``: exact constant folding for arithmetic; ``sym``: the SymPy function used
  by fusion and oracles; ``elementwise``: whether the op maps elementwise.

Conventions at kinks are the minimum-norm subgradient (README.md, "Conventions").
"""

from __future__ import annotations

import math
import operator
import re

import sympy

from ..core import printer as P
from ..core.prim import prim
from ..core.shapes import (
    broadcast,
    canon,
    reduce_shape,
    size,
    slice_length,
    slice_requirements,
)
from ..errors import ShapeError

# ----------------------------------------------------------------------------
# Shape rules


def elementwise_shape(b, args, attrs):
    """Broadcast of the argument shapes; float result."""
    return broadcast(*(b.shape(a) for a in args)), "float"


def bool_shape(b, args, attrs):
    return broadcast(*(b.shape(a) for a in args)), "bool"


def leaf_shape(b, args, attrs):
    return tuple(attrs.get("shape", ())), attrs.get("dtype", "float")


def reduce_rule(b, args, attrs):
    x = b[args[0]]
    dtype = "float" if x.dtype == "float" else "int"
    return reduce_shape(x.shape, attrs["axis"], attrs["keepdims"]), dtype


def same_shape(b, args, attrs):
    return b.shape(args[0]), "float"


def matmul_shape(b, args, attrs):
    """NumPy's ``@`` for every rank: a 1-D operand is a vector (its axis dropped from the
    result), more dimensions are a stack of matrices whose batch axes broadcast."""
    sa, sb = b.shape(args[0]), b.shape(args[1])
    if not sa or not sb:
        raise ShapeError(
            "matmul: operands must have at least one dimension, not scalars"
        )
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ShapeError(
            f"matmul: shapes {P.shape(sa, {})} and {P.shape(sb, {})} do not align ({ka} != {kb})"
        )
    if len(sa) == 1 and len(sb) == 1:
        return (), "float"
    if len(sa) == 1:
        return sb[:-2] + sb[-1:], "float"
    if len(sb) == 1:
        return sa[:-1], "float"
    batch = broadcast(sa[:-2], sb[:-2])
    return batch + (sa[-2], sb[-1]), "float"


def transpose_shape(b, args, attrs):
    s = b.shape(args[0])
    axes = attrs["axes"]
    if sorted(axes) != list(range(len(s))):
        raise ShapeError(
            f"transpose: axes {axes} do not fit an array of {len(s)} dimensions"
        )
    return tuple(s[k] for k in axes), b[args[0]].dtype


def reshape_shape(b, args, attrs):
    s = b.shape(args[0])
    new = attrs["shape"]
    if sympy.expand(size(s) - size(new)) != 0:
        raise ShapeError(
            f"reshape: cannot reshape {P.shape(s, {})} into {P.shape(new, {})}"
        )
    return tuple(new), b[args[0]].dtype


def expand_shape(b, args, attrs):
    s = list(b.shape(args[0]))
    for k in attrs["axis"]:
        s.insert(k, 1)
    return tuple(s), b[args[0]].dtype


def broadcast_to_shape(b, args, attrs):
    target = tuple(attrs["shape"])
    if broadcast(b.shape(args[0]), target) != target:
        raise ShapeError(
            f"cannot broadcast {P.shape(b.shape(args[0]), {})} to {target}"
        )
    return target, b[args[0]].dtype


def index_shape(b, args, attrs):
    """NumPy indexing: ints drop a dim, slices cut it, None adds one, Index arrays gather.

    The gathered axes (the broadcast shape of the arrays) replace the advanced indices,
    which with arrays include the ints; where a slice or None separates them, the gathered
    axes come first (``T[0, :, y]`` is ``(k, m)``), as in NumPy."""
    src = b.shape(args[0])
    spec = attrs["index"]
    consumed = sum(1 for e in spec if e[0] in ("i", "s", "a"))
    if consumed > len(src):
        raise ShapeError(
            f"too many indices ({consumed}) for an array of shape {P.shape(src, {})}"
        )
    arrays = [b.shape(args[e[1]]) for e in spec if e[0] == "a"]
    adv = broadcast(*arrays) if arrays else ()
    out, k, adv_at, positions = [], 0, None, []
    for pos, e in enumerate(spec):
        if e[0] == "i":
            n = src[k]
            if isinstance(n, int) and not -n <= e[1] < n:
                raise ShapeError(
                    f"index {e[1]} is out of bounds for a dimension of size {n}"
                )
            if (
                arrays
            ):  # with Index arrays, NumPy counts an int as one more advanced index
                positions.append(pos)
                if adv_at is None:
                    adv_at = len(out)
            k += 1
        elif e[0] == "s":
            out.append(slice_length(src[k], e[1], e[2], e[3]))
            k += 1
        elif e[0] == "n":
            out.append(1)
        else:
            positions.append(pos)
            if adv_at is None:
                adv_at = len(out)
            k += 1
    out += list(src[k:])
    if positions:
        contiguous = positions == list(
            range(positions[0], positions[0] + len(positions))
        )
        at = adv_at if contiguous else 0
        out[at:at] = list(adv)
    return tuple(canon(d) for d in out), b[args[0]].dtype


def index_requirements(src: tuple, spec) -> list:
    """What the sizes in ``src`` must satisfy for the slice lengths of ``index_shape`` to be
    NumPy's (SymPy expressions that must be ``>= 0``, see ``slice_requirements``)."""
    out, k = [], 0
    for e in spec:
        if e[0] == "s":
            out += slice_requirements(src[k], e[1], e[2], e[3])
        if e[0] in ("i", "s", "a"):
            k += 1
    return out


def scatter_shape(b, args, attrs):
    return tuple(attrs["shape"]), "float"


def concat_shape(b, args, attrs):
    shapes = [b.shape(a) for a in args]
    ax = attrs["axis"]
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(
            x != y for k, (x, y) in enumerate(zip(s, first)) if k != ax
        ):
            raise ShapeError(
                "concatenate: shapes "
                + " and ".join(P.shape(s, {}) for s in shapes)
                + " differ"
            )
    total = canon(sum((s[ax] for s in shapes), 0))
    return first[:ax] + (total,) + first[ax + 1 :], "float"


def stack_shape(b, args, attrs):
    shapes = [b.shape(a) for a in args]
    if any(s != shapes[0] for s in shapes):
        raise ShapeError(
            "stack: shapes " + " and ".join(P.shape(s, {}) for s in shapes) + " differ"
        )
    ax = attrs["axis"]
    return shapes[0][:ax] + (len(args),) + shapes[0][ax:], "float"


def outer_shape(b, args, attrs):
    sa, sb = b.shape(args[0]), b.shape(args[1])
    if len(sa) != 1 or len(sb) != 1:
        raise ShapeError(
            f"outer: expects two vectors, not {P.shape(sa, {})} and {P.shape(sb, {})}"
        )
    return (sa[0], sb[0]), "float"


def vdot_shape(b, args, attrs):
    sa, sb = b.shape(args[0]), b.shape(args[1])
    if sa != sb or not sa:
        raise ShapeError(
            f"vdot: expects two arrays of one shape, not {P.shape(sa, {})} and {P.shape(sb, {})}"
        )
    return (), "float"


# ----------------------------------------------------------------------------
# Helpers for adjoint rules (built from other primitives, never from Jacobians)


def unbroadcast(b, g: int, shape: tuple) -> int:
    """Sum ``g`` over the axes that broadcasting added, giving it ``shape``."""
    gs = b.shape(g)
    if gs == tuple(shape):
        return g
    if shape == ():
        return b.emit("sum", g, axis=None, keepdims=False)
    lead = len(gs) - len(shape)
    if lead:
        g = b.emit("sum", g, axis=tuple(range(lead)), keepdims=False)
    ones = tuple(k for k, d in enumerate(shape) if d == 1 and b.shape(g)[k] != 1)
    if ones:
        g = b.emit("sum", g, axis=ones, keepdims=True)
    return g


def expand_reduced(b, g: int, node) -> int:
    """Put back the axes a reduction removed, so ``g`` broadcasts against its input."""
    axes = node.attr("axis")
    if node.attr("keepdims") or axes is None:
        return g
    return b.emit("expand_dims", g, axis=axes)


def spread(b, g: int, shape: tuple) -> int:
    """``g`` broadcast to ``shape`` (a no-op when it already has it)."""
    if b.shape(g) == tuple(shape):
        return g
    return b.emit("broadcast_to", g, shape=tuple(shape))


def count(b, shape: tuple, axes) -> int:
    """The number of elements reduced over ``axes``, as a constant or dimension node."""
    dims = shape if axes is None else tuple(shape[k] for k in axes)
    n = size(dims)
    if isinstance(n, int):
        return b.const(n)
    return b.emit("dim", expr=n)


def zero(b) -> int:
    return b.const(0.0)


def where0(b, cond: int, g: int) -> int:
    """``g`` where ``cond`` holds, else 0 (a mask, never a Jacobian)."""
    return b.emit("where", cond, g, zero(b))


# ----------------------------------------------------------------------------
# Printing helpers


def fn(name: str):
    """Emit ``name(args...)``."""
    return lambda node, a, ctx: P.call(name, *a)


def with_zero(name: str):
    """Emit ``name(x, 0.0)`` (relu as ``np.maximum(x, 0.0)``)."""
    return lambda node, a, ctx: P.call(name, a[0], "0.0")


def helper(name: str):
    """Emit a call of the module helper ``name`` (defined in the emitted module)."""

    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, *a)

    return emit


def reduction_call(name: str):
    """``name(x, axis=..., keepdims=True)``."""
    return lambda node, a, ctx: P.call(name, a[0], **reduction_kwargs(node))


def reduction_method(name: str):
    """``x.name(axis=..., keepdims=True)`` on an array (the method skips ``np.name``'s
    Python-level dispatch, which dominates on small arrays); ``np.name(x)`` on a scalar."""

    def emit(node, a, ctx):
        if not ctx.shape_of(node.args[0]):
            return P.call("np." + name, a[0], **reduction_kwargs(node))
        return P.method(a[0], name, **reduction_kwargs(node))

    return emit


def reduction_kwargs(node) -> dict:
    kw = {}
    if node.attr("axis") is not None:
        kw["axis"] = P.axis(node.attr("axis"))
    if node.attr("keepdims"):
        kw["keepdims"] = "True"
    return kw


def mean_emit(node, a, ctx):
    """``x.sum(...) / count``: what ``np.mean`` computes for float64 (add.reduce, then one
    division by the count), bit for bit, without its dispatch overhead."""
    shape = ctx.shape_of(node.args[0])
    if not shape:
        return P.call("np.mean", a[0], **reduction_kwargs(node))
    axes = node.attr("axis")
    total = P.method(a[0], "sum", **reduction_kwargs(node))
    n = size(shape if axes is None else tuple(shape[k] for k in axes))
    return P.binop("/", P.MUL, total, P.dim_expr(n, ctx.dims))


# Reductions that need a non-empty reduced axis: ``mean`` divides by its size (0 / 0,
# a ZeroDivisionError on floats), ``max`` and ``min`` have no identity (NumPy raises).
NEEDS_NONEMPTY = ("mean", "max", "min", "var", "std")


def index_text(spec, a, ctx, *, call: bool = False) -> str:
    """The text inside ``x[...]``; with ``call``, slices as ``slice(a, b)`` (for np.add.at)."""
    parts = []
    for e in spec:
        if e[0] == "i":
            parts.append(str(e[1]))
        elif e[0] == "n":
            parts.append("None")
        elif e[0] == "a":
            parts.append(a[e[1]].text)
        else:
            start, stop, step = (
                ("None" if call else "") if v is None else P.dim(v, ctx.dims)
                for v in (e[1], e[2], e[3])
            )
            if call:
                parts.append(f"slice({start}, {stop}, {step})")
            else:
                parts.append(slice_text(start, stop, step))
    return ", ".join(parts) if parts else "()"


def slice_text(start: str, stop: str, step: str) -> str:
    """``start:stop:step`` as ``ruff format`` writes it: colons spaced like a binary operator
    (``1 : n - 1``, ``n - 1 :``) once a bound is more than a name or a number."""
    pieces = [start, stop] + ([step] if step else [])
    if all(re.fullmatch(r"-?\w*", v) for v in pieces):
        return ":".join(pieces)
    text = pieces[0]
    for left, right in zip(pieces, pieces[1:]):
        text += (" :" if left else ":") + (" " + right if right else "")
    return text


# ----------------------------------------------------------------------------
# Adjoint rules of arithmetic


def add_adj(b, i, n, g):
    return [g, g]


def sub_adj(b, i, n, g):
    return [g, b.neg(g)]


def mul_adj(b, i, n, g):
    # mul swaps in the other input
    x, y = n.args
    return [b.mul(g, y), b.mul(g, x)]


def div_adj(b, i, n, g):
    # d(x/y) = dx / y - out * dy / y
    x, y = n.args
    return [b.div(g, y), b.neg(b.div(b.mul(g, i), y))]


def pow_adj(b, i, n, g):
    """JAX's convention at 0 (README.md, "Conventions"): ``d/dx x**0 = 0`` everywhere, and
    ``d/dp x**p = x**p * log(x)`` takes ``log(x)`` as 0 where ``x == 0``."""
    x, y = n.args
    if b.is_const(y):
        c = b[y].attr("value")
        if c == 0:
            return [None, None]
        local = b.mul(y, b.emit("pow", x, b.const(c - 1))) if c != 2 else b.mul(y, x)
        return [b.mul(g, local), None]
    local = b.mul(y, b.emit("pow", x, b.sub(y, b.const(1))))
    dx = b.mul(g, b.emit("where", b.emit("eq", y, zero(b)), zero(b), local))
    if b.is_const(x, 0.0):
        return [dx, None]
    if b.is_const(x):
        return [dx, b.mul(g, b.mul(i, b.emit("log", x)))]
    nonzero = b.emit("where", b.emit("eq", x, zero(b)), b.const(1), x)
    return [dx, b.mul(g, b.mul(i, b.emit("log", nonzero)))]


def matmul_adj(b, i, n, g):
    """Vectorised matmul adjoints for every NumPy form (``2 q x^T`` and ``2 W^T q``); batch
    axes that broadcast are summed back (``unbroadcast``)."""
    x, y = n.args
    sx, sy = b.shape(x), b.shape(y)
    if len(sx) == 1 and len(sy) == 1:
        return [b.mul(g, y), b.mul(g, x)]
    if len(sx) == 1 and len(sy) == 2:
        return [b.emit("matmul", y, g), b.emit("outer", x, g)]
    if len(sy) == 1 and len(sx) == 2:
        return [b.emit("outer", g, y), b.emit("matmul", g, x)]
    if len(sx) == 1:
        return vector_stack_adj(b, g, x, y)
    if len(sy) == 1:
        return stack_vector_adj(b, g, x, y)
    yt = transpose_last(b, y)
    if len(sx) == 2 and len(sy) == 2:
        # x^T g as (g^T x)^T: the same product, and OpenBLAS runs the weight gradient of
        # a data matrix (x: N x D, g: N x C, long N) 1.1-4x faster in this orientation
        wgrad = transpose_last(b, b.emit("matmul", transpose_last(b, g), x))
        return [b.emit("matmul", g, yt), wgrad]
    xt = transpose_last(b, x)
    return [
        unbroadcast(b, b.emit("matmul", g, yt), sx),
        unbroadcast(b, b.emit("matmul", xt, g), sy),
    ]


def vector_stack_adj(b, g, x, y):
    """``x @ y`` for a vector ``x`` (k,) and a stack ``y`` (..., k, n), ``g`` (..., n):
    ``d_x = sum over the stack of y @ g``, ``d_y = x[:, None] * g[..., None, :]``."""
    nd = len(b.shape(g))
    col = b.emit("expand_dims", g, axis=(nd,))
    dx = b.emit("matmul", y, col)
    dx = b.emit("sum", dx, axis=tuple(range(nd - 1)) + (nd,), keepdims=False)
    row = b.emit("expand_dims", g, axis=(nd - 1,))
    dy = b.mul(b.emit("expand_dims", x, axis=(1,)), row)
    return [dx, dy]


def stack_vector_adj(b, g, x, y):
    """``x @ y`` for a stack ``x`` (..., m, k) and a vector ``y`` (k,), ``g`` (..., m):
    ``d_x = g[..., None] * y``, ``d_y = sum over the stack of g[..., None, :] @ x``."""
    nd = len(b.shape(g))
    dx = b.mul(b.emit("expand_dims", g, axis=(nd,)), y)
    row = b.emit("expand_dims", g, axis=(nd - 1,))
    dy = b.emit("matmul", row, x)
    dy = b.emit("sum", dy, axis=tuple(range(nd)), keepdims=False)
    return [dx, dy]


def vdot_adj(b, i, n, g):
    # sum(x * y) sends g * y to x and g * x to y
    x, y = n.args
    return [b.mul(g, y), b.mul(g, x)]


def vdot_emit(node, a, ctx):
    """``x.dot(y)`` for vectors; the helper ``_vdot`` (``np.vdot`` in the arrays' own
    memory order) for more dimensions."""
    if len(ctx.shape_of(node.args[0])) == 1:
        return P.method(a[0], "dot", a[1])
    ctx.use("_vdot")
    return P.call("_vdot", *a)


def transpose_last(b, x: int) -> int:
    nd = len(b.shape(x))
    axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return b.emit("transpose", x, axes=axes)


def outer_adj(b, i, n, g):
    x, y = n.args
    return [b.emit("matmul", g, y), b.emit("matmul", x, g)]


prim(
    "add",
    elementwise_shape,
    lambda n, a, c: P.binop("+", P.ADD, *a),
    add_adj,
    fold=operator.add,
    sym=operator.add,
    elementwise=True,
)
prim(
    "sub",
    elementwise_shape,
    lambda n, a, c: P.binop("-", P.ADD, *a),
    sub_adj,
    fold=operator.sub,
    sym=operator.sub,
    elementwise=True,
)
prim(
    "mul",
    elementwise_shape,
    lambda n, a, c: P.binop("*", P.MUL, *a),
    mul_adj,
    fold=operator.mul,
    sym=operator.mul,
    elementwise=True,
)
prim(
    "div",
    elementwise_shape,
    lambda n, a, c: P.binop("/", P.MUL, *a),
    div_adj,
    fold=operator.truediv,
    sym=operator.truediv,
    elementwise=True,
)
prim(
    "neg",
    same_shape,
    lambda n, a, c: P.neg(a[0]),
    lambda b, i, n, g: [b.neg(g)],
    fold=operator.neg,
    sym=operator.neg,
    elementwise=True,
)


def integral_exponent(e: P.Expr) -> P.Expr | None:
    """A whole-number float literal exponent (``2.0``) as an int literal (``2``), or ``None``."""
    m = re.fullmatch(r"(-?[0-9]+)\.0", e.text)
    return P.Expr(m.group(1), e.prec, e.simple) if m else None


def pow_emit(node, a, ctx):
    """``x**k`` with an int literal ``k`` where the exponent is whole (NumPy squares)."""
    return P.power(a[0], integral_exponent(a[1]) or a[1])


def scalar_pow(node, a, ctx):
    """``x ** k`` for a whole ``k``; ``math.pow`` otherwise (never a complex result; where
    it raises, the scalar build falls back to NumPy's value)."""
    k = integral_exponent(a[1])
    if k is not None:
        return P.power(a[0], k)
    ctx.use("math")
    return P.call("math.pow", *a)


prim(
    "pow",
    elementwise_shape,
    pow_emit,
    pow_adj,
    sym=operator.pow,
    elementwise=True,
    scalar=scalar_pow,
)


def matmul_emit(node, a, ctx):
    """``a.dot(b)``: the same product as ``a @ b`` for 1-D and 2-D operands, a third of the
    call overhead on small arrays; ``a @ b`` with more dimensions (``dot`` then differs)."""
    if len(ctx.shape_of(node.args[0])) <= 2 and len(ctx.shape_of(node.args[1])) <= 2:
        return P.method(a[0], "dot", a[1])
    return P.binop("@", P.MUL, a[0], a[1])


prim("matmul", matmul_shape, matmul_emit, matmul_adj)
# ``np.einsum("i,j->ij", a, b)``: the same products as ``np.outer``, bit for bit, in one
# pass; NumPy 2's ``np.outer`` broadcasts through its buffered iterator and writes the
# result three times (1.7x slower at 1024 x 1024)
# sum(x * y) for x, y of one shape, made by the late rules of passes/simplify.py (not a
# formula function): one BLAS pass and no temporary, 3-5x faster than ``(x * y).sum()``
prim("vdot", vdot_shape, vdot_emit, vdot_adj)


def einsum_parts(spec: str) -> tuple[list[str], str]:
    """``"ij,jk->ik"`` as (``["ij", "jk"]``, ``"ik"``): an explicit spec (the frontend
    writes NumPy's implicit output out)."""
    ins, out = spec.split("->")
    return ins.split(","), out


def einsum_shape(b, args, attrs):
    """The size of each output letter; a letter has one size wherever it appears."""
    ins, out = einsum_parts(attrs["spec"])
    sizes: dict = {}
    for letters, a in zip(ins, args):
        shape = b.shape(a)
        if len(letters) != len(shape):
            raise ShapeError(
                f"einsum: '{letters}' names {len(letters)} axes of an array "
                f"of shape {P.shape(shape, {})}"
            )
        for c, d in zip(letters, shape):
            if sizes.setdefault(c, d) != d:
                raise ShapeError(
                    f"einsum: index '{c}' has sizes {P.dim(sizes[c], {})} "
                    f"and {P.dim(d, {})}"
                )
    return tuple(sizes[c] for c in out), "float"


def einsum_adj(b, i, n, g):
    """Operand k gets ``einsum("<out>,<other operands>-><its letters>", g, *others)``:
    the product of g with everything else, summed over what operand k does not index.
    Letters only operand k has (summed away in the forward, ``"ij->i"``) are broadcast
    back along their axes."""
    ins, out = einsum_parts(n.attr("spec"))
    grads = []
    for k, x in enumerate(n.args):
        others = [j for j in range(len(ins)) if j != k]
        seen = set(out).union(*(ins[j] for j in others))
        target = "".join(c for c in ins[k] if c in seen)
        if not others and sorted(target) == sorted(out):
            d = (
                g
                if target == out
                else b.emit("transpose", g, axes=tuple(out.index(c) for c in target))
            )
        else:
            spec = ",".join([out] + [ins[j] for j in others]) + "->" + target
            d = b.emit("einsum", g, *(n.args[j] for j in others), spec=spec)
        lost = tuple(p for p, c in enumerate(ins[k]) if c not in seen)
        if lost and target:
            d = b.emit("expand_dims", d, axis=lost)
        if lost:
            d = spread(b, d, b.shape(x))
        grads.append(d)
    return grads


prim(
    "einsum",
    einsum_shape,
    lambda n, a, c: P.call("np.einsum", f'"{n.attr("spec")}"', *a),
    einsum_adj,
)
prim(
    "outer",
    outer_shape,
    lambda n, a, c: P.call("np.einsum", '"i,j->ij"', *a),
    outer_adj,
)


# ----------------------------------------------------------------------------
# Elementwise functions: local gradient times upstream


def unary(name, spelling, local, sym=None, scalar=None):
    """An elementwise function whose adjoint is ``g * local(b, x, out)``.

    ``scalar`` is its spelling on Python floats (``math.exp`` or a module helper).
    """

    def adjoint(b, i, n, g):
        return [local(b, g, n.args[0], i)]

    extra = {}
    if isinstance(scalar, str):
        extra["scalar"] = helper(scalar) if scalar.startswith("_") else math_fn(scalar)
    elif scalar is not None:
        extra["scalar"] = scalar

    if spelling.startswith("_"):
        emit = helper(spelling)
    elif spelling.endswith("0"):
        emit = with_zero(spelling[:-1])
    else:
        emit = fn(spelling)
    prim(name, same_shape, emit, adjoint, sym=sym, elementwise=True, **extra)


def sigmoid_scalar(x: P.Expr, ctx) -> P.Expr:
    """sigmoid of a Python float. On a name, the helper's body inline (the call costs as
    much as the arithmetic): ``1.0 / (1.0 + math.exp(-x)) if x > -700.0 else math.exp(x)``;
    on anything else, or where the line would be too long (``ctx.compact``), a call of
    ``_sigmoid_scalar``."""
    if ctx.compact or not (x.simple and x.prec == P.ATOM):
        return helper("_sigmoid_scalar")(None, [x], ctx)
    ctx.use("math")
    exp_neg = P.call("math.exp", P.neg(x))
    stable = P.binop("/", P.MUL, P.number(1), P.binop("+", P.ADD, P.number(1), exp_neg))
    return P.conditional(
        stable, P.compare(">", x, P.number(-700)), P.call("math.exp", x)
    )


def math_fn(name: str):
    """Emit ``name(args...)`` on Python floats; ``math.`` functions ask for ``import math``."""

    def emit(node, a, ctx):
        if name.startswith("math."):
            ctx.use("math")
        return P.call(name, *a)

    return emit


unary("exp", "np.exp", lambda b, g, x, y: b.mul(g, y), sympy.exp, "math.exp")
unary("log", "np.log", lambda b, g, x, y: b.div(g, x), sympy.log, "math.log")
unary(
    "log1p",
    "np.log1p",
    lambda b, g, x, y: b.div(g, b.add(b.const(1), x)),
    lambda x: sympy.log(1 + x),
    "math.log1p",
)
# expm1' = exp(x), not y + 1: that rounds to 0 at x = -40 (exp(-40) = 4.2e-18)
unary(
    "expm1",
    "np.expm1",
    lambda b, g, x, y: b.mul(g, b.emit("exp", x)),
    lambda x: sympy.exp(x) - 1,
    "math.expm1",
)
unary(
    "sqrt",
    "np.sqrt",
    lambda b, g, x, y: b.div(g, b.mul(b.const(2), y)),
    sympy.sqrt,
    "math.sqrt",
)
unary(
    "square",
    "np.square",
    lambda b, g, x, y: b.mul(g, b.mul(b.const(2), x)),
    lambda x: x**2,
    lambda n, a, c: P.power(a[0], P.number(2, integral=True)),
)
# abs'(0) = 0
unary("abs", "np.abs", lambda b, g, x, y: b.mul(g, b.emit("sign", x)), sympy.Abs, "abs")
unary(
    "sin",
    "np.sin",
    lambda b, g, x, y: b.mul(g, b.emit("cos", x)),
    sympy.sin,
    "math.sin",
)
unary(
    "cos",
    "np.cos",
    lambda b, g, x, y: b.neg(b.mul(g, b.emit("sin", x))),
    sympy.cos,
    "math.cos",
)
unary(
    "tan",
    "np.tan",
    lambda b, g, x, y: b.mul(g, b.add(b.const(1), b.mul(y, y))),
    sympy.tan,
    "math.tan",
)
# tanh' = 1 - y**2 and sigmoid' = s * (1 - s), from the node's own output (as JAX and the
# lecture write them: no second exp; where y nears +-1 the cancellation costs relative
# precision of a gradient below 1e-16 in absolute terms, README "Conventions")
unary(
    "tanh",
    "np.tanh",
    lambda b, g, x, y: b.mul(g, b.sub(b.const(1), b.emit("pow", y, b.const(2)))),
    sympy.tanh,
    "math.tanh",
)
unary(
    "sigmoid",
    "_sigmoid",
    lambda b, g, x, y: b.mul(b.mul(g, y), b.sub(b.const(1), y)),
    lambda x: 1 / (1 + sympy.exp(-x)),
    lambda n, a, c: sigmoid_scalar(a[0], c),
)
unary(
    "softplus",
    "_softplus",
    lambda b, g, x, y: b.mul(g, b.emit("sigmoid", x)),
    lambda x: sympy.log(1 + sympy.exp(x)),
    "_softplus_scalar",
)
# relu'(0) = 0: the backward is a mask, read off the output (relu(x) > 0 iff x > 0)
unary(
    "relu",
    "np.maximum0",
    lambda b, g, x, y: where0(b, b.emit("gt", y, zero(b)), g),
    lambda x: sympy.Max(x, 0),
    lambda n, a, c: P.call("max", a[0], "0.0"),
)
# sign(0) = 0; sign' = 0 everywhere (no adjoint: no gradient flows through it)
prim(
    "sign",
    same_shape,
    fn("np.sign"),
    None,
    sym=sympy.sign,
    elementwise=True,
    scalar=helper("_sign_scalar"),
)
# erf' = 2 / sqrt(pi) * exp(-x**2); NumPy has no erf: ``_erf`` maps ``math.erf``
ERF_SCALE = 2.0 / math.sqrt(math.pi)
unary(
    "erf",
    "_erf",
    lambda b, g, x, y: b.mul(
        b.mul(g, b.const(ERF_SCALE)), b.emit("exp", b.neg(b.mul(x, x)))
    ),
    sympy.erf,
    "math.erf",
)


def arctan2_adj(b, i, n, g):
    """d arctan2(y, x) = (x dy - y dx) / (x**2 + y**2), and 0 at (0, 0) (the minimum-norm
    subgradient, README "Conventions"): the radius is taken as 1 there, where x = y = 0."""
    y, x = n.args
    r2 = b.add(b.mul(x, x), b.mul(y, y))
    safe = b.emit("where", b.emit("eq", r2, zero(b)), b.const(1), r2)
    dy = b.div(b.mul(g, x), safe)
    dx = b.neg(b.div(b.mul(g, y), safe))
    return [unbroadcast(b, dy, b.shape(y)), unbroadcast(b, dx, b.shape(x))]


# unfused (no SymPy derivative in regions): its convention at (0, 0) is not SymPy's
prim(
    "arctan2",
    elementwise_shape,
    fn("np.arctan2"),
    arctan2_adj,
    sym=sympy.atan2,
    elementwise=True,
    scalar=math_fn("math.atan2"),
)


def maxmin_adj(strict: str):
    """Ties share the gradient equally (``maximum(x, x)`` sends half to each side)."""

    def adjoint(b, i, n, g):
        x, y = n.args
        half = b.mul(b.const(0.5), g)
        tie = b.emit("eq", x, y)
        dx = b.emit(
            "where", b.emit(strict, x, y), g, b.emit("where", tie, half, zero(b))
        )
        dy = b.emit(
            "where", b.emit(strict, y, x), g, b.emit("where", tie, half, zero(b))
        )
        return [unbroadcast(b, dx, b.shape(x)), unbroadcast(b, dy, b.shape(y))]

    return adjoint


# on floats through helpers: Python's max() and min() drop a nan that NumPy propagates
prim(
    "maximum",
    elementwise_shape,
    fn("np.maximum"),
    maxmin_adj("gt"),
    sym=sympy.Max,
    elementwise=True,
    scalar=helper("_maximum_scalar"),
)
prim(
    "minimum",
    elementwise_shape,
    fn("np.minimum"),
    maxmin_adj("lt"),
    sym=sympy.Min,
    elementwise=True,
    scalar=helper("_minimum_scalar"),
)


def clip_adj(b, i, n, g):
    """The gradient goes to the value np.clip returns, minimum(maximum(x, lo), hi), and
    passes through to x at the bounds: x where min(lo, hi) <= x <= hi (with lo > hi only
    x == hi), lo where x < lo <= hi, hi everywhere else (x > hi, and every x != hi when
    lo > hi)."""
    x, lo, hi = n.args
    to_x = b.emit(
        "and", b.emit("ge", x, b.emit("minimum", lo, hi)), b.emit("le", x, hi)
    )
    to_lo = b.emit("and", b.emit("lt", x, lo), b.emit("le", lo, hi))
    to_hi = b.emit("where", to_x, zero(b), b.emit("where", to_lo, zero(b), g))
    return [
        unbroadcast(b, where0(b, to_x, g), b.shape(x)),
        unbroadcast(b, where0(b, to_lo, g), b.shape(lo)),
        unbroadcast(b, to_hi, b.shape(hi)),
    ]


prim("clip", elementwise_shape, fn("np.clip"), clip_adj, elementwise=True)


def where_adj(b, i, n, g):
    c = n.args[0]
    return [None, b.emit("where", c, g, zero(b)), b.emit("where", c, zero(b), g)]


def as_float(e: P.Expr) -> P.Expr:
    """An integer literal as a float literal (``0`` -> ``0.0``), so results stay float64."""
    digits = e.text.lstrip("-")
    if digits.isdigit():
        return P.Expr(e.text + ".0", e.prec, e.simple)
    return e


prim(
    "where",
    elementwise_shape,
    lambda n, a, c: P.call("np.where", a[0], as_float(a[1]), as_float(a[2])),
    where_adj,
    elementwise=True,
    scalar=lambda n, a, c: P.conditional(as_float(a[1]), a[0], as_float(a[2])),
)

for _op, _text in (
    ("lt", "<"),
    ("le", "<="),
    ("gt", ">"),
    ("ge", ">="),
    ("eq", "=="),
    ("ne", "!="),
):
    prim(
        _op,
        bool_shape,
        (lambda t: lambda n, a, c: P.compare(t, *a))(_text),
        None,
        elementwise=True,
    )
prim(
    "and",
    bool_shape,
    lambda n, a, c: P.binop("&", P.BITAND, *a),
    None,
    elementwise=True,
)
# ``|`` binds between comparisons and ``&``; on Python bools (scalar mode) ``or`` and ``not``
# bind more weakly than comparisons, ``not`` more strongly than ``or``
BITOR, OR, NOT = 15, 6, 8
prim(
    "or",
    bool_shape,
    lambda n, a, c: P.binop("|", BITOR, *a),
    None,
    elementwise=True,
    scalar=lambda n, a, c: P.binop("or", OR, *a),
)
prim(
    "not",
    bool_shape,
    lambda n, a, c: P.Expr("~" + P.wrap(a[0], P.UNARY), P.UNARY),
    None,
    elementwise=True,
    scalar=lambda n, a, c: P.Expr("not " + P.wrap(a[0], P.CMP, strict=True), NOT),
)


def any_shape(b, args, attrs):
    return reduce_shape(b.shape(args[0]), attrs["axis"], attrs["keepdims"]), "bool"


# whether any element along ``axis`` is True (masks of broadcast values, autodiff.live_masks)
prim("any", any_shape, reduction_method("any"))


# ----------------------------------------------------------------------------
# Reductions


def sum_adj(b, i, n, g):
    x = n.args[0]
    return [spread(b, expand_reduced(b, g, n), b.shape(x))]


def mean_adj(b, i, n, g):
    x = n.args[0]
    share = b.div(g, count(b, b.shape(x), n.attr("axis")))
    return [spread(b, expand_reduced(b, share, n), b.shape(x))]


def maxred_adj(b, i, n, g):
    """Ties share equally: the mask of the maxima divided by how many there are."""
    x = n.args[0]
    axes = n.attr("axis")
    mask = b.emit("eq", x, expand_reduced(b, i, n))
    ties = b.emit("sum", mask, axis=axes, keepdims=axes is not None)
    share = b.div(expand_reduced(b, g, n), ties)
    return [where0(b, mask, share)]


def logsumexp_adj(b, i, n, g):
    """d logsumexp(x) = softmax(x) = e / sum(e) with e = exp(x - out).

    exp(x - out) alone sums to 1 only while out is exact: at x = 1e17 * ones(4), out rounds
    to 1e17 and every exp(x - out) is 1. The rounding of out shifts every x - out (an exact
    subtraction) by the same amount, which the normalisation divides out; e stays within
    [1 / n**2, 1] at the maximum, so the sum neither overflows nor vanishes.
    """
    x = n.args[0]
    axes = n.attr("axis")
    e = b.emit("exp", b.sub(x, expand_reduced(b, i, n)))
    total = b.emit("sum", e, axis=axes, keepdims=axes is not None)
    return [b.mul(expand_reduced(b, g, n), b.div(e, total))]


def norm_adj(b, i, n, g):
    """d ||x|| = x / ||x||, and 0 at x = 0. x / ||x|| is at most 1 in magnitude (no overflow
    where g / ||x|| would at a subnormal norm); ``_norm`` scales the value itself."""
    x = n.args[0]
    out = expand_reduced(b, i, n)
    safe = b.emit("where", b.emit("eq", out, zero(b)), b.const(1), out)
    return [b.mul(b.div(x, safe), expand_reduced(b, g, n))]


prim("sum", reduce_rule, reduction_method("sum"), sum_adj)
prim("mean", reduce_rule, mean_emit, mean_adj)
prim("max", reduce_rule, reduction_method("max"), maxred_adj)
prim("min", reduce_rule, reduction_method("min"), maxred_adj)
prim(
    "logsumexp",
    reduce_rule,
    lambda n, a, c: (c.use("_logsumexp"), reduction_call("_logsumexp")(n, a, c))[1],
    logsumexp_adj,
)
# ``_norm``: np.linalg.norm's value, scaled by max |x| where the squares over- or underflow
prim(
    "norm",
    reduce_rule,
    lambda n, a, c: (c.use("_norm"), reduction_call("_norm")(n, a, c))[1],
    norm_adj,
)


def moment_emit(name: str):
    """``x.var(axis=..., ddof=1, keepdims=True)`` (NumPy's own ``var``/``std``: the mean,
    then the summed squares of ``x - mean`` divided by ``N - ddof``); ``np.var(x)`` on a
    scalar."""

    def emit(node, a, ctx):
        kw = {}
        if node.attr("axis") is not None:
            kw["axis"] = P.axis(node.attr("axis"))
        if node.attr("ddof"):
            kw["ddof"] = str(node.attr("ddof"))
        if node.attr("keepdims"):
            kw["keepdims"] = "True"
        if not ctx.shape_of(node.args[0]):
            return P.call("np." + name, a[0], **kw)
        return P.method(a[0], name, **kw)

    return emit


def dof(b, shape: tuple, n) -> int:
    """``N - ddof`` of the var/std node ``n`` over an input of ``shape``, as a constant or a
    dimension node (``n - 1``)."""
    axes = n.attr("axis")
    left = size(shape if axes is None else tuple(shape[k] for k in axes)) - n.attr(
        "ddof"
    )
    if isinstance(left, int):
        return b.const(left)
    return b.emit("dim", expr=canon(left))


def centred(b, x: int, n) -> int:
    """``x - mean(x)`` over the axes of the var/std node ``n`` (kept: same shape as ``x``)."""
    return b.sub(x, b.emit("mean", x, axis=n.attr("axis"), keepdims=True))


def var_adj(b, i, n, g):
    """d var(x) = 2 (x - mean) / (N - ddof), as a person writes it (the path through the
    mean contributes sum(x - mean) = 0)."""
    x = n.args[0]
    up = b.mul(expand_reduced(b, g, n), b.const(2))
    return [b.div(b.mul(up, centred(b, x, n)), dof(b, b.shape(x), n))]


def std_adj(b, i, n, g):
    """d std(x) = (x - mean) / ((N - ddof) std), and 0 where the input is constant along the
    axes (max == min: std is 0 there, or a rounding residue of the mean, as 1.4e-17 for
    three 0.1s), the minimum-norm subgradient as for ``norm`` at 0 (README "Conventions")."""
    x = n.args[0]
    axes = n.attr("axis")
    flat = b.emit(
        "eq",
        b.emit("max", x, axis=axes, keepdims=True),
        b.emit("min", x, axis=axes, keepdims=True),
    )
    out = expand_reduced(b, i, n)
    out = b.emit("where", b.emit("eq", out, zero(b)), b.const(1), out)
    share = b.div(
        b.mul(expand_reduced(b, g, n), centred(b, x, n)),
        b.mul(dof(b, b.shape(x), n), out),
    )
    return [b.emit("where", flat, zero(b), share)]


prim("var", reduce_rule, moment_emit("var"), var_adj)
prim("std", reduce_rule, moment_emit("std"), std_adj)


def softmax_adj(b, i, n, g):
    # s * (g - sum(g * s))
    ax = n.attr("axis")
    dot = b.emit("sum", b.mul(g, i), axis=(ax,), keepdims=True)
    return [b.mul(i, b.sub(g, dot))]


def log_softmax_adj(b, i, n, g):
    # g - softmax * sum(g)
    ax = n.attr("axis")
    total = b.emit("sum", g, axis=(ax,), keepdims=True)
    return [b.sub(g, b.mul(b.emit("exp", i), total))]


def axis_call(name: str):
    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, a[0], axis=str(node.attr("axis")))

    return emit


prim("softmax", same_shape, axis_call("_softmax"), softmax_adj)
prim("log_softmax", same_shape, axis_call("_log_softmax"), log_softmax_adj)


# ----------------------------------------------------------------------------
# Shape operations


def transpose_emit(node, a, ctx):
    axes = node.attr("axes")
    if axes == tuple(reversed(range(len(axes)))):
        return P.attr(a[0], "T")
    return P.call("np.transpose", a[0], P.axis(axes))


def transpose_adj(b, i, n, g):
    axes = n.attr("axes")
    inverse = tuple(sorted(range(len(axes)), key=lambda k: axes[k]))
    return [b.emit("transpose", g, axes=inverse)]


def reshape_emit(node, a, ctx):
    return P.call("np.reshape", a[0], P.shape(node.attr("shape"), ctx.dims))


def expand_emit(node, a, ctx):
    nd = len(node.shape)
    parts = ["None" if k in node.attr("axis") else ":" for k in range(nd)]
    while parts and parts[-1] == ":":
        parts.pop()
    return P.subscript(a[0], ", ".join(parts))


def broadcast_to_emit(node, a, ctx):
    target = P.shape(node.attr("shape"), ctx.dims)
    if node.args and ctx.shape_of(node.args[0]) == ():
        return P.call("np.full", target, as_float(a[0]))
    return P.call("np.broadcast_to", a[0], target)


prim("transpose", transpose_shape, transpose_emit, transpose_adj)
prim(
    "reshape",
    reshape_shape,
    reshape_emit,
    lambda b, i, n, g: [b.emit("reshape", g, shape=b.shape(n.args[0]))],
)
prim(
    "expand_dims",
    expand_shape,
    expand_emit,
    lambda b, i, n, g: [b.emit("sum", g, axis=n.attr("axis"), keepdims=False)],
)
prim(
    "broadcast_to",
    broadcast_to_shape,
    broadcast_to_emit,
    lambda b, i, n, g: [unbroadcast(b, g, b.shape(n.args[0]))],
)


def getitem_adj(b, i, n, g):
    """Indexing sends the gradient back with a scatter-add into zeros.

    ``x[:, None]`` only adds axes: its adjoint is a reshape back.
    """
    x, *idx = n.args
    if all(e == ("s", None, None, None) or e == ("n",) for e in n.attr("index")):
        return [b.emit("reshape", g, shape=b.shape(x))]
    out = b.emit("scatter", g, *idx, index=n.attr("index"), shape=b.shape(x))
    return [out] + [None] * len(idx)


def scatter_stmts(target, node, a, ctx):
    """``zeros`` then assignment; ``np.add.at`` only where indices can repeat."""
    spec = node.attr("index")
    zeros = f"{target} = np.zeros({P.shape(node.attr('shape'), ctx.dims)})"
    if ctx.unique_index(node):
        return [
            zeros,
            f"{target}[{index_text(spec, [None] + a[1:], ctx)}] = {a[0].text}",
        ]
    return [zeros] + scatter_into(target, node, a, ctx)


def scatter_into(target, node, a, ctx):
    """Add the scattered gradient into the array ``target`` in place (``d_x[1:] += g``)."""
    spec = node.attr("index")
    if ctx.unique_index(node):
        return [f"{target}[{index_text(spec, [None] + a[1:], ctx)}] += {a[0].text}"]
    index = index_text(spec, [None] + a[1:], ctx, call=True)
    if len(spec) > 1:
        index = f"({index})"
    return [f"np.add.at({target}, {index}, {a[0].text})"]


def getitem_emit(node, a, ctx):
    """``x[...]``; a scalar given new axes (``s[None]``) is ``np.full((1,), s)``, since a
    Scalar input is a Python float, which cannot be indexed."""
    if not ctx.shape_of(node.args[0]) and node.dtype == "float":
        return P.call("np.full", P.shape(node.shape, ctx.dims), as_float(a[0]))
    return P.subscript(a[0], index_text(node.attr("index"), a, ctx))


prim("getitem", index_shape, getitem_emit, getitem_adj)
prim("scatter", scatter_shape, None, None, stmts=scatter_stmts, stmts_into=scatter_into)


def concat_adj(b, i, n, g):
    ax = n.attr("axis")
    out, offset = [], 0
    for x in n.args:
        length = b.shape(x)[ax]
        spec = (("s", None, None, None),) * ax + (
            ("s", offset, canon(offset + length), None),
        )
        out.append(b.emit("getitem", g, index=spec))
        offset = canon(offset + length)
    return out


def stack_adj(b, i, n, g):
    ax = n.attr("axis")
    return [
        b.emit("getitem", g, index=(("s", None, None, None),) * ax + (("i", k),))
        for k in range(len(n.args))
    ]


def list_call(name):
    return lambda n, a, c: P.call(
        name, "[" + ", ".join(x.text for x in a) + "]", axis=str(n.attr("axis"))
    )


prim("concatenate", concat_shape, list_call("np.concatenate"), concat_adj)
prim("stack", stack_shape, list_call("np.stack"), stack_adj)


# ----------------------------------------------------------------------------
# Leaves


def const_emit(node, a, ctx):
    return P.number(node.attr("value"))


def dim_emit(node, a, ctx):
    return P.dim_expr(node.attr("expr"), ctx.dims)


prim("param", leaf_shape, lambda n, a, c: P.name(n.attr("name")))
prim("const", lambda b, args, attrs: ((), "float"), const_emit)
prim("dim", lambda b, args, attrs: ((), "int"), dim_emit)
prim("zeros", leaf_shape, lambda n, a, c: P.call("np.zeros", P.shape(n.shape, c.dims)))
prim(
    "arange",
    lambda b, args, attrs: ((attrs["n"],), "int"),
    lambda n, a, c: P.call("np.arange", P.dim(n.attr("n"), c.dims)),
)
