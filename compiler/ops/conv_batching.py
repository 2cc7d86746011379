"""Batching rules of the convolution and pooling nodes (``ops/conv.py``;
``passes/batching``: ``f_hessian`` pushes its n unit tangents through them at once).

Every node there is per image or a product with a kernel, so the batch axis (length k,
leading) is folded into one of the node's own axes and taken out of its result after:
a per-image node (im2col, col2im, the poolings and their gradients) runs on k * N
images, ``x.reshape(k * N, C, H, W)``, its unbatched arguments (the primal image, a
pooling's maxima) broadcast to the batch first; a product with one batched factor folds
the batch into an axis of that factor that the product keeps (the images N of the
windows or of the upstream gradient, the filters F or channels C of a kernel), so it
stays one matmul; both factors batched is an ``einsum`` with the batch letter.
"""

from __future__ import annotations

from ..core.shapes import canon


def fold(b, a: int, axis: int) -> int:
    """Batched ``a`` (k, ...) with its batch axis merged into its axis ``axis`` (of the
    unbatched value), batch major: (k, N, ...) -> (k * N, ...) for ``axis`` 0."""
    k, *shape = b.shape(a)
    if axis:
        perm = (*range(1, axis + 1), 0, *range(axis + 1, len(shape) + 1))
        a = b.emit("transpose", a, axes=perm)
    shape[axis] = canon(k * shape[axis])
    return b.emit("reshape", a, shape=tuple(shape))


def unfold(b, a: int, axis: int, k, n) -> int:
    """``fold`` undone on a result of node ``n``: its axis ``axis`` of length k * N
    split into (k, N), the batch axis then moved to the front."""
    shape = list(b.shape(a))
    shape[axis : axis + 1] = [k, n.shape[axis]]
    a = b.emit("reshape", a, shape=tuple(shape))
    if not axis:
        return a
    perm = (axis, *range(axis), *range(axis + 1, len(shape)))
    return b.emit("transpose", a, axes=perm)


def images_batch(axes: tuple[int, ...], out: int, sized: bool = False):
    """The rule of a per-image node whose argument j has its images along ``axes[j]``
    and its result along ``out``: all on k * N images (an unbatched argument broadcast
    to the batch first), ``sized``: its ``shape`` attribute's N made k * N too."""

    def rule(b, n, args, bat):
        k = next(b.shape(a)[0] for a, t in zip(args, bat) if t)
        folded = []
        for a, t, axis in zip(args, bat, axes):
            if not t:
                a = b.emit("broadcast_to", a, shape=(k, *b.shape(a)))
            folded.append(fold(b, a, axis))
        attrs = dict(n.attrs)
        if sized:
            shape = list(attrs["shape"])
            shape[out] = canon(k * shape[out])
            attrs["shape"] = tuple(shape)
        return unfold(b, b.emit(n.op, *folded, **attrs), out, k, n)

    return rule


def product_batch(kept: tuple[tuple[int, int], ...], spec: str):
    """The rule of a product of two factors: factor j batched alone folds the batch into
    its axis ``kept[j][0]``, which is the result's axis ``kept[j][1]``; both batched, the
    ``einsum`` ``spec`` (the batch letter ``z`` leading each)."""

    def rule(b, n, args, bat):
        if all(bat):
            return b.emit("einsum", *args, spec=spec)
        j = bat.index(True)
        k = b.shape(args[j])[0]
        axis, out = kept[j]
        args = [fold(b, a, axis) if t else a for a, t in zip(args, bat)]
        return unfold(b, b.emit(n.op, *args, **dict(n.attrs)), out, k, n)

    return rule


# conv2d(cols (C, KH, KW, N, OH, OW), w (F, C, KH, KW)) -> (N, F, OH, OW): the images
# of the windows, or the filters of the kernel
conv2d_batch = product_batch(((3, 0), (0, 1)), "zcijnpq,zfcij->znfpq")
# conv2d_dcols(g (F, N, OH, OW), w (F, C, KH, KW)) -> (C, KH, KW, N, OH, OW): the
# images of the gradient, or the channels of the kernel
dcols_batch = product_batch(((1, 3), (1, 0)), "zfnpq,zfcij->zcijnpq")
# conv2d_dw(g (F, N, OH, OW), cols (C, KH, KW, N, OH, OW)) -> (F, C, KH, KW): the
# filters of the gradient, or the channels of the windows
dw_batch = product_batch(((0, 0), (0, 1)), "zfnpq,zcijnpq->zfcij")

im2col_batch = images_batch((0,), 3)
col2im_batch = images_batch((3,), 0, sized=True)
filter_major_batch = images_batch((0,), 1)
pool_batch = images_batch((0,), 0)
pool_grad_batch = images_batch((0, 0, 0), 0)
avg_grad_batch = images_batch((0,), 0, sized=True)
