"""Inverses: ``inv``, ``solve``, ``det`` and ``cholesky`` of square matrices (NumPy's
``np.linalg``).

Each takes a matrix or a stack of them, ``(..., n, n)``, as NumPy does. ``solve(A, b)``
takes NumPy 2's right-hand sides: ``b`` of shape ``(n,)`` is one vector (for every matrix
of a stack), anything else is a stack of ``(n, k)`` matrices whose stack axes broadcast
against ``A``'s. The rules never build an inverse where a solve will do, and read as the
textbook's: ``X = A^-1 B`` gives ``dB = A^-T G`` and ``dA = -dB X^T``.
"""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMPY, XP, prim
from ..core.shape_rules import solved_with, square_stack_with
from ..core.shapes import format_shape
from .common import aligned, unbroadcast
from .linalg import drop_axis, transpose_last
from .spelling import fn


def square_stack(name: str, shape: tuple) -> tuple:
    """``shape`` of a matrix or a stack of square matrices; raises ShapeError otherwise
    (``core/shape_rules.square_stack_with``)."""
    return square_stack_with(name, shape, format_shape)


def inv_shape(b, args, attrs):
    return square_stack("inv", b.shape(args[0])), "float"


def cholesky_shape(b, args, attrs):
    return square_stack("cholesky", b.shape(args[0])), "float"


def det_shape(b, args, attrs):
    return square_stack("det", b.shape(args[0]))[:-2], "float"


def solve_shape(b, args, attrs):
    """NumPy 2's ``solve`` (``core/shape_rules.solved_with``)."""
    return solved_with(b.shape(args[0]), b.shape(args[1]), format_shape), "float"


def xp_linalg(name: str):
    """The Array API spelling: ``xp.linalg.<name>(...)`` in the inputs' dtype (Dask's
    ``inv`` and ``solve`` return float64 of float32 matrices; elsewhere a no-op)."""

    def emit(node, a, ctx):
        return P.call(
            "xp.astype", P.call(f"xp.linalg.{name}", *a), "dtype", copy="False"
        )

    return emit


def xp_cholesky(node, a, ctx):
    """``_cholesky(xp, a)`` (``templates/helpers_xp.py.j2``): NumPy's factor of the lower
    triangle on every library, in the inputs' dtype."""
    ctx.use("_cholesky")
    return P.call("xp.astype", P.call("_cholesky", "xp", a[0]), "dtype", copy="False")


def matmul(b, x: int, y: int) -> int:
    return b.emit("matmul", x, y)


# d inv(A) = -Y dA Y with Y = inv(A), so the adjoint is dA = -Y^T G Y^T
def inv_adj(b, i, n, g):
    yt = transpose_last(b, i)
    return [b.neg(matmul(b, matmul(b, yt, g), yt))]


def inv_tangent(b, i, n, ts):
    return b.neg(matmul(b, matmul(b, i, ts[0]), i))


def det_cofactor(b, i, n, g) -> int:
    """``g det(A) A^-T``, the adjoint of ``det``: ``d det(A) = det(A) tr(A^-1 dA)``."""
    x = n.args[0]
    scale = b.mul(g, i)
    stack = len(b.shape(i))
    if stack:
        scale = b.emit("expand_dims", scale, axis=(stack, stack + 1))
    return b.mul(scale, transpose_last(b, b.emit("inv", x)))


def det_adj(b, i, n, g):
    return [det_cofactor(b, i, n, g)]


# d det(A) = det(A) sum(A^-T * dA) over the last two axes
def det_tangent(b, i, n, ts):
    x = n.args[0]
    stack = len(b.shape(i))
    prod = b.mul(transpose_last(b, b.emit("inv", x)), ts[0])
    total = b.emit("sum", prod, axis=(stack, stack + 1), keepdims=False)
    return b.mul(i, total)


def one_vector(b, n) -> bool:
    """Whether ``solve`` node ``n`` takes one vector ``b`` of shape ``(n,)``."""
    return len(b.shape(n.args[1])) == 1


def stacked_vector(b, n) -> bool:
    """Whether ``solve`` node ``n`` solves a stack of matrices for one vector: its rules
    then work on columns ``(..., n, 1)``, which ``solve`` broadcasts."""
    return one_vector(b, n) and len(b.shape(n.args[0])) > 2


def columns(b, n, v: int) -> int:
    """``v``, a value shaped like ``solve`` node ``n``'s output, as the right-hand side
    ``solve`` takes for it: ``v[..., None]`` for a stack solved for one vector."""
    if not stacked_vector(b, n):
        return v
    return b.emit("expand_dims", v, axis=(len(b.shape(v)),))


def uncolumns(b, n, v: int) -> int:
    """The inverse of ``columns``: ``v[..., 0]`` for a stack solved for one vector."""
    if not stacked_vector(b, n):
        return v
    return drop_axis(b, v, len(b.shape(v)) - 1)


# X = A^-1 B: dB = A^-T G (a solve with A^T), dA = -dB X^T
def solve_adj(b, i, n, g):
    a, rhs = n.args
    db = b.emit("solve", transpose_last(b, a), columns(b, n, g))
    if one_vector(b, n) and not stacked_vector(b, n):
        da = b.neg(b.emit("outer", db, i))
    else:
        x_rows = transpose_last(b, columns(b, n, i))
        da = unbroadcast(b, b.neg(matmul(b, db, x_rows)), b.shape(a))
    return [da, unbroadcast(b, uncolumns(b, n, db), b.shape(rhs))]


# dX = A^-1 (dB - dA X)
def solve_tangent(b, i, n, ts):
    a, _ = n.args
    ta, tb = ts
    parts = []
    if tb is not None:
        parts.append(columns(b, n, tb))
    if ta is not None:
        parts.append(b.neg(matmul(b, ta, columns(b, n, i))))
    rhs = parts[0] if len(parts) == 1 else b.add(parts[0], parts[1])
    return uncolumns(b, n, b.emit("solve", a, rhs))


def triangle(b, n, m, k: int = 0, upper: bool = False) -> int:
    """The mask of ``np.tril(x, k)`` (``j <= i + k``) or of ``np.triu(x, k)`` (``j >= i +
    k``) of ``n`` x ``m`` matrices: ``tri(n, m, k) == 1.0``, ``tri(n, m, k - 1) == 0.0``."""
    if upper:
        return b.emit("eq", b.emit("tri", n=n, m=m, k=k - 1), b.const(0.0))
    return b.emit("eq", b.emit("tri", n=n, m=m, k=k), b.const(1.0))


def phi(b, x: int) -> int:
    """``Phi(X)``: the lower triangle of each matrix of ``x`` with its diagonal halved,
    ``where(tril, X * (1 - I / 2), 0)``."""
    n = b.shape(x)[-1]
    half = b.sub(b.const(1.0), b.mul(b.const(0.5), b.emit("eye", n=n)))
    return b.emit("where", triangle(b, n, n), b.mul(x, half), b.const(0.0))


# NumPy's cholesky reads the lower triangle of A: it factors S = tril(A) + tril(A, -1)^T.
# S = L L^T gives L^-1 dS L^-T = X + X^T with X = L^-1 dL lower triangular, so
# dL = L Phi(L^-1 dS L^-T), with dS = Phi(dA) + Phi(dA)^T
def cholesky_tangent(b, i, n, ts):
    f = phi(b, ts[0])
    ds = b.add(f, transpose_last(b, f))
    y = b.emit("solve", i, ds)
    return matmul(
        b, i, phi(b, transpose_last(b, b.emit("solve", i, transpose_last(b, y))))
    )


# the adjoint of the tangent: S_bar = L^-T Phi(L^T L_bar) L^-1, A_bar = Phi(S_bar + S_bar^T)
def cholesky_adj(b, i, n, g):
    lt = transpose_last(b, i)
    x = b.emit("solve", lt, phi(b, matmul(b, lt, g)))
    s_bar = transpose_last(b, b.emit("solve", lt, transpose_last(b, x)))
    return [phi(b, b.add(s_bar, transpose_last(b, s_bar)))]


def inv_batch(b, n, args, bat):
    """inv of a batch of stacks is the stack with one more axis."""
    return b.emit(n.op, args[0])


def solve_batch(b, n, args, bat):
    """A batch of right-hand sides for one ``A`` (the tangent rule's ``A`` is a value):
    one vector becomes columns ``(B, 1.., n, 1)``, aligned to ``A``'s stack; matrices are
    aligned to ``A``'s rank, the batch axis leading."""
    a, rhs = args
    if bat[0]:
        raise NotImplementedError("solve with a batch of matrices")
    rank_a = len(b.shape(a))
    if one_vector(b, n):
        axes = tuple(range(1, rank_a - 1)) + (rank_a,)
        out = b.emit("solve", a, b.emit("expand_dims", rhs, axis=axes))
        return drop_axis(b, out, len(b.shape(out)) - 1)
    rank = max(rank_a, len(b.shape(n.args[1])))
    return b.emit("solve", a, aligned(b, rhs, rank))


def matrix_op(name: str, infer, *, xp=None, binary: bool = False, **rules) -> None:
    """Register ``np.linalg.<name>`` (a formula's ``name(A)`` or ``name(A, b)``): its
    shape rule, spellings (``xp.linalg.<name>`` unless ``xp`` is given) and ``rules``
    (adjoint, tangent, batch); its matrix ``invertible`` for ``gradc check``'s draws."""
    prim(
        name,
        infer,
        spellings={NUMPY: fn(f"np.linalg.{name}"), XP: xp or xp_linalg(name)},
        names=(name,),
        invertible=True,
        form="binary" if binary else "unary",
        **rules,
    )


matrix_op("inv", inv_shape, adjoint=inv_adj, tangent=inv_tangent, batch=inv_batch)
matrix_op(
    "cholesky",
    cholesky_shape,
    xp=xp_cholesky,
    adjoint=cholesky_adj,
    tangent=cholesky_tangent,
    batch=inv_batch,
)
matrix_op("det", det_shape, adjoint=det_adj, tangent=det_tangent, batch=inv_batch)
matrix_op(
    "solve",
    solve_shape,
    binary=True,
    adjoint=solve_adj,
    tangent=solve_tangent,
    batch=solve_batch,
)
