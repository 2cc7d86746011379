"""Products: matmul, vdot, einsum, outer."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMBA, NUMPY, as_numpy, prim
from ..core.shape_rules import matmul_with, outer_with
from ..core.shapes import format_shape
from ..errors import ShapeError
from . import numba_spelling as nb
from .common import (
    OnValues,
    aligned,
    multilinear_tangent,
    spread,
    unbroadcast,
)
from .spelling import transposed


def matmul_shape(b, args, attrs):
    """NumPy's ``@`` for every rank (``core/shape_rules.matmul_with``)."""
    return matmul_with(b.shape(args[0]), b.shape(args[1]), format_shape), "float"


def outer_shape(b, args, attrs):
    """Two vectors' outer product (``core/shape_rules.outer_with``)."""
    return outer_with(b.shape(args[0]), b.shape(args[1]), format_shape), "float"


def vdot_shape(b, args, attrs):
    sa, sb = b.shape(args[0]), b.shape(args[1])
    if sa != sb or not sa:
        raise ShapeError(
            f"vdot: expects two arrays of one shape, not {P.shape(sa, {})} and {P.shape(sb, {})}"
        )
    return (), "float"


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
    if len(sx) == 2 and len(sy) == 2 and b[x].op != "transpose":
        # x^T g as (g^T x)^T, autograd's orientation (bench/README "The weight gradient's
        # orientation, by the worst case of two kinds of machine"); X^T's is X g
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


def matmul_emit(node, a, ctx):
    """``a.dot(b)``: the same product as ``a @ b`` for 1-D and 2-D operands, a third of the
    call overhead on small arrays; ``a @ b`` with more dimensions (``dot`` then differs)."""
    if len(ctx.shape_of(node.args[0])) <= 2 and len(ctx.shape_of(node.args[1])) <= 2:
        return P.method(a[0], "dot", a[1])
    return P.binop("@", P.MUL, a[0], a[1])


def matmul_batch(b, n, args, bat):
    """``x @ y`` with one operand batched (a tangent times a value). A batched stack of
    matrices broadcasts its batch axis as NumPy's ``@`` does, once aligned; a batched
    vector is a matrix whose rows are the batch, and times a stack it is a stack of
    one-row matrices (the row dropped after); a matrix times a batched vector is the
    batch times the matrix transposed, a stack of them takes one-column matrices."""
    x, y = args
    rx, ry = len(b.shape(x)) - bat[0], len(b.shape(y)) - bat[1]
    if bat[0] and bat[1]:
        raise NotImplementedError("a product of two tangents")
    if bat[0]:
        if rx == 1 and ry > 2:  # (B, k) @ (..., k, n): rows (B, 1.., 1, k)
            rows = b.emit("expand_dims", x, axis=tuple(range(1, ry)))
            out = b.emit("matmul", rows, y)
            return drop_axis(b, out, len(b.shape(out)) - 2)
        return b.emit("matmul", aligned(b, x, max(rx, ry)) if rx > 1 else x, y)
    if ry == 1:  # y is a batch of vectors: (B, k)
        if rx <= 2:
            return b.emit("matmul", y, x if rx == 1 else transpose_last(b, x))
        axes = (*range(1, rx - 1), rx)  # (B, 1.., k, 1): columns
        out = b.emit("matmul", x, b.emit("expand_dims", y, axis=axes))
        return drop_axis(b, out, len(b.shape(out)) - 1)
    return b.emit("matmul", x, aligned(b, y, max(rx, ry)))


def drop_axis(b, x: int, axis: int) -> int:
    """``x`` without its unit axis ``axis`` (``x[..., 0, :]``)."""
    spec = (("s", None, None, None),) * axis + (("i", 0),)
    return b.emit("getitem", x, index=spec)


def vdot_batch(b, n, args, bat):
    """sum(x * y) over every axis but the batch axis."""
    x, y = args
    rank = len(b.shape(x if not bat[0] else y))
    prod = b.mul(x, y)
    return b.emit("sum", prod, axis=tuple(range(1, rank + 1)), keepdims=False)


def outer_batch(b, n, args, bat):
    """x[:, None] * y with the batch axis leading."""
    x, y = args
    if bat[0]:
        return b.mul(b.emit("expand_dims", x, axis=(2,)), y)
    return b.mul(
        b.emit("expand_dims", x, axis=(1,)), b.emit("expand_dims", y, axis=(1,))
    )


prim(
    "matmul",
    matmul_shape,
    spellings={NUMPY: matmul_emit, NUMBA: as_numpy},
    numba_when=nb.matrices,
    tangent=multilinear_tangent,
    adjoint=matmul_adj,
    glyph="@",
    batch=matmul_batch,
)
# sum(x * y) for x, y of one shape, made by the late rules of rewrite/contraction.py (not a
# formula function): one BLAS pass and no temporary, 3-5x faster than ``(x * y).sum()``
prim(
    "vdot",
    vdot_shape,
    spellings={NUMPY: vdot_emit, NUMBA: nb.vdot_emit},
    tangent=multilinear_tangent,
    adjoint=OnValues(lambda g, y, x, z: [g * z, g * x]),
    batch=vdot_batch,
)


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


def einsum_batch(b, n, args, bat):
    """A new letter for the batch axis, leading the batched operands and the result."""
    ins, out = einsum_parts(n.attr("spec"))
    letter = next(c for c in "zyxwvutsrqponmlkjihgfedcba" if c not in n.attr("spec"))
    ins = [letter + s if t else s for s, t in zip(ins, bat)]
    return b.emit("einsum", *args, spec=",".join(ins) + "->" + letter + out)


def batched_product(spec: str) -> tuple | None:
    """A two-operand ``spec`` that is a stack of matrix products, as ``(swap, left,
    right, out)``: ``transpose(x, left) @ transpose(y, right)`` transposed by ``out`` is
    ``einsum(spec, a, b)``, with ``(x, y) = (b, a)`` when ``swap``. That is: at least one
    batch letter (in both operands and the output), exactly one letter summed (in both
    operands, not the output) and one free letter of each operand (in the output). The
    product is oriented so that the output's last letter is the product's last axis where
    it can be. None for any other spec (NumPy's einsum then has no BLAS path either way:
    a plain matrix product stays an einsum, as written)."""
    ins, out = einsum_parts(spec)
    if len(ins) != 2:
        return None
    a, b = ins
    batch = [c for c in out if c in a and c in b]
    summed = [c for c in a if c in b and c not in out]
    free_a = [c for c in a if c not in b]
    free_b = [c for c in b if c not in a]
    if not batch or len(summed) != 1 or len(free_a) != 1 or len(free_b) != 1:
        return None
    if free_a[0] not in out or free_b[0] not in out:
        return None
    swap = out[-1] == free_a[0]
    x, y, fx, fy = (b, a, free_b, free_a) if swap else (a, b, free_a, free_b)
    left = tuple(x.index(c) for c in batch + fx + summed)
    right = tuple(y.index(c) for c in batch + summed + fy)
    prod = batch + fx + fy
    return swap, left, right, tuple(prod.index(c) for c in out)


def rows_product(spec: str) -> bool:
    """Whether ``spec`` multiplies two operands of one layout and sums along their last
    axis, ``"abc,abc->ab"`` (``rewrite/contraction.py``'s sums of products along an
    axis): ``_vdot_last(a, b)``, BLAS on rows of at most 8."""
    ins, out = einsum_parts(spec)
    return len(ins) == 2 and ins[0] == ins[1] and len(out) >= 1 and out == ins[0][:-1]


def einsum_emit(node, a, ctx):
    """``np.einsum(spec, ...)`` as written, except a stack of matrix products
    (``"ijk,mik->mij"``, ADBench's ``Q x`` for every point and component, and its two
    adjoints), spelled ``@`` on transposed views: NumPy's einsum runs its own
    sum-of-products loop there, ``@`` one BLAS product per batch entry (4-30x faster at
    N x K x D = 1000 x 5 x 2 to 10000 x 25 x 10, bench/README.md "The GMM objective").
    Where that overflows the line (``ctx.compact``), ``np.einsum(..., optimize=True)``,
    which takes the same BLAS path with a little more overhead per call. Products summed
    along the last axis are ``_vdot_last(a, b)`` (``rows_product``)."""
    spec = node.attr("spec")
    if rows_product(spec):
        ctx.use("_vdot_last")
        return P.call("_vdot_last", *a)
    plan = batched_product(spec)
    if plan is None:
        return P.call("np.einsum", f'"{spec}"', *a)
    if ctx.compact:  # a statement too long for the line: NumPy's own BLAS path, shorter
        return P.call("np.einsum", f'"{spec}"', *a, optimize="True")
    swap, left, right, out = plan
    x, y = (a[1], a[0]) if swap else (a[0], a[1])
    prod = P.binop("@", P.MUL, transposed(x, left), transposed(y, right))
    return transposed(prod, out)


prim(
    "einsum",
    einsum_shape,
    spellings={NUMPY: einsum_emit, NUMBA: nb.einsum_loops},
    numba_when=nb.array_einsum,
    numba_work=nb.einsum_work,
    tangent=multilinear_tangent,
    adjoint=einsum_adj,
    names=("einsum",),
    form="einsum",
    batch=einsum_batch,
)


def outer_emit(node, a, ctx):
    """``_outer(x, y)``: ``x[:, None] * y``, written unbuffered where rows are long
    (NumPy's buffered broadcast takes 4x as long at 1024 x 1024), ``np.einsum`` where
    rows are short and many (bench/README.md, "The outer product unbuffered")."""
    ctx.use("_outer")
    return P.call("_outer", *a)


prim(
    "outer",
    outer_shape,
    spellings={
        NUMPY: outer_emit,
        NUMBA: nb.outer_emit,
    },
    tangent=multilinear_tangent,
    adjoint=OnValues(lambda g, y, x, z: [g.op("matmul", z), x.op("matmul", g)]),
    names=("outer",),
    form="binary",
    batch=outer_batch,
)
