"""Batch-major layout (NumPy target): an outer broadcast that a stack of matrix products
reads is made in the order the products want, and read through a transposed view.

``xcentered = x[:, None, :] - means[None, :, :]`` is (N, K, D); ADBench's GMM multiplies
each component's (N, D) slab by a (D, D) matrix (``einsum("ijk,mik->mij", Q,
xcentered)``, and twice more in the backward pass). NumPy's ``@`` runs one BLAS product
per batch entry, and on a view whose batch axis is not the outermost in memory each
product reads rows K * D apart: 3-4x slower at (N, K, D) = (10000, 25, 10). The broadcast
is made (K, D, N) in memory instead: the batch axis, the axis the matrices contract, then
the axis they do not hold (the points), innermost, so that each slab is one contiguous
matrix and every elementwise loop over the value runs along N rather than D (2 or 10):
``np.ascontiguousarray(x.T)[None, :, :] - means[:, :, None]`` (x's copy is N x D, so
NumPy lays the broadcast out in C order), transposed back to (N, K, D). The products
that read it are oriented to keep N innermost (``Q_k @ xc_k^T``), and NumPy lays out the
result of an elementwise operation as its operands are (``order="K"``), so what is
computed from it (``Lxcentered``, its adjoint) is laid out so too; the helpers that sum
(``_sum_leading``, ``_sum_trailing``, ``_vdot_last``) read such arrays in memory order.
A literal shape whose contracted axis is the longer keeps that axis innermost.

A stack of matrix products whose output axes are not the product's own order (``"mij"``
from batches ``i``) is ``transpose(product)``: printed ``(x @ y).swapaxes(0, 1)`` as
before, but the product becomes a statement of its own where the line would be too long
(instead of ``np.einsum(..., optimize=True)``, 1.2-1.8x slower there).

Only the memory layout changes: every value, shape and name is the formula's
(bench/README.md, "Batch-major layout").
"""

from __future__ import annotations

import math

from ..core.ir import Builder, Function, reachable, rebuild
from ..ops.linalg import batched_product, einsum_parts
from ..rewrite import make_rewriter
from ..rewrite.shape_ops import new_axes_index

#: the elementwise operations whose outer broadcasts are laid out batch-major
OUTER_OPS = ("add", "sub", "mul", "div")


def batch_major(fn: Function) -> Function:
    """``fn`` with each outer broadcast that a stack of matrix products reads made in the
    order ``batch_axes`` gives, and each stack of products given its own statement where
    its output is a transpose (``product_order``); ``fn`` itself when there is neither."""
    live = reachable(fn.nodes, roots(fn))
    perms = {i: p for i in sorted(live) if (p := batch_axes(fn, i, live))}
    orders = {
        i: order
        for i in sorted(live)
        if (order := product_order(fn.nodes[i], innermost(fn, i, perms)))
    }
    if not perms and not orders:
        return fn
    b = Builder(rewrite=make_rewriter(fuse=False, late=True, numpy=True))

    def relayout(i, node, remap):
        if i in orders:
            spec, out = orders[i]
            product = b.emit("einsum", *(remap[a] for a in node.args), spec=spec)
            return b.emit("transpose", product, axes=out)
        perm = perms.get(i)
        if perm is None:
            return None
        moved = [moved_arg(b, fn, a, remap, perm) for a in node.args]
        inverse = tuple(sorted(range(len(perm)), key=lambda k: perm[k]))
        return b.emit("transpose", b.emit(node.op, *moved), axes=inverse)

    return rebuild(fn, b, relayout)


def roots(fn: Function) -> list[int]:
    """The nodes a function returns: its value and its gradients."""
    return [fn.output, *fn.grads.values()]


def batch_axes(fn: Function, i: int, live: set[int]) -> tuple | None:
    """The order in memory for outer broadcast ``i`` (``outer_broadcast``) that the first
    stack of matrix products (of the ``live`` nodes) reading it wants: its batch axes,
    then the axis it sums, then the rest, so that each batch entry's slab is one matrix
    with the axis the matrices do not hold (GMM's N points) innermost, the long axis of
    every elementwise loop over it. None where that is its own order, where literal sizes
    show the summed axis is the longer, or for any other node."""
    if not outer_broadcast(fn, i):
        return None
    shape = fn.nodes[i].shape
    for k in sorted(live):
        node = fn.nodes[k]
        if node.op != "einsum" or i not in node.args:
            continue
        if batched_product(node.attr("spec")) is None:
            continue
        ins, out = einsum_parts(node.attr("spec"))
        letters = ins[node.args.index(i)]
        batch = [
            t for t, c in enumerate(letters) if c in out and all(c in s for s in ins)
        ]
        summed = [t for t, c in enumerate(letters) if c not in out]
        rest = [t for t in range(len(letters)) if t not in batch + summed]
        if literal_longer(shape, summed, rest):
            summed, rest = [], sorted(summed + rest)
        perm = tuple(batch + summed + rest)
        return None if perm == tuple(range(len(perm))) else perm
    return None


def literal_longer(shape: tuple, summed: list[int], rest: list[int]) -> bool:
    """Whether literal sizes show the summed axes hold more entries than the rest."""
    sizes = [shape[t] for t in summed + rest]
    if not all(isinstance(n, int) for n in sizes):
        return False
    return math.prod(shape[t] for t in summed) > math.prod(shape[t] for t in rest)


def outer_broadcast(fn: Function, i: int) -> bool:
    """Whether node ``i`` is an elementwise operation (``OUTER_OPS``) of rank 3 or more
    whose array operands only insert new axes into smaller arrays (``x[:, None, :]``), so
    that they read as well in any axis order (``moved_arg``)."""
    node = fn.nodes[i]
    if node.op not in OUTER_OPS or node.attrs or len(node.shape) < 3:
        return False
    arrays = [fn.nodes[a] for a in node.args if fn.nodes[a].shape]
    return bool(arrays) and all(new_axes_index(a) is not None for a in arrays)


def moved_arg(b: Builder, fn: Function, a: int, remap: dict, perm: tuple) -> int:
    """Operand ``a`` of an outer broadcast, its axes in the order ``perm``: ``y[index]``
    with the index's entries moved, ``y``'s own axes reordered first where they move
    (``np.ascontiguousarray(x.T)[None, :, :]``: a C-ordered copy, so that NumPy lays out
    the broadcast in C order too; ``y`` is smaller than the broadcast). A scalar as it
    is."""
    node = fn.nodes[a]
    if not node.shape:
        return remap[a]
    index = new_axes_index(node)
    own = [k for k in perm if index[k] != ("n",)]
    y = remap[node.args[0]]
    if own != sorted(own):
        axes = tuple(sorted(own).index(k) for k in own)
        y = b.emit("contiguous", b.emit("transpose", y, axes=axes))
    return b.emit("getitem", y, index=tuple(index[k] for k in perm))


def innermost(fn: Function, i: int, perms: dict) -> str | None:
    """For an einsum ``i`` reading an outer broadcast laid out by ``perms``: the letter of
    that operand's innermost axis in memory, where the output holds it; else None."""
    node = fn.nodes[i]
    if node.op != "einsum":
        return None
    ins, out = einsum_parts(node.attr("spec"))
    for letters, a in zip(ins, node.args):
        if a in perms and letters[perms[a][-1]] in out:
            return letters[perms[a][-1]]
    return None


def product_order(node, last: str | None = None) -> tuple | None:
    """``(spec, axes)`` for a stack of matrix products to compute as ``transpose(einsum(
    spec), axes)``: ``spec`` with the output in the product's own order (batch axes, the
    free axis of one operand, then of the other), so that it prints as ``x @ y``, with
    the output letter ``last`` (an operand's innermost axis) last where given. None for
    any other einsum, or where the output is already in that order."""
    if node.op != "einsum":
        return None
    spec = node.attr("spec")
    plan = batched_product(spec)
    if plan is None:
        return None
    ins, out = einsum_parts(spec)
    order = "".join(out[plan[3].index(k)] for k in range(len(out)))
    if last is not None:
        batch = [c for c in out if all(c in s for s in ins)]
        wanted = "".join(
            batch + [c for c in out if c not in batch and c != last] + [last]
        )
        aligned = batched_product(f"{ins[0]},{ins[1]}->{wanted}")
        if aligned is not None and aligned[3] == tuple(range(len(out))):
            order = wanted
    if order == out:
        return None
    return f"{ins[0]},{ins[1]}->{order}", tuple(order.index(c) for c in out)
