"""Convolution and pooling over the last two axes of NCHW arrays (CS231n, Caffe, PyTorch).

``conv2d(x, w, stride, pad)`` is cross-correlation. A formula's call becomes two nodes:
``im2col`` (the windows of the padded input, copied once into a ``(C, KH, KW, N, OH, OW)``
array, kept in the cache) and ``conv2d`` (one matmul of the kernel with them). The
backward reads the same windows: the kernel gradient is one matmul of the upstream
gradient with them, the input gradient one matmul into window-shaped gradients, added
back by one strided slice-add per kernel tap (``col2im``). Pooling reads strided windows
(``sliding_window_view``): a max with ties sharing the gradient equally (as ``max``), or
a mean; their gradients are one slice-add per window tap. The spellings are module
helpers (``templates/helpers.py.j2``), measured in ``bench/README.md`` ("Convolution and
pooling").
"""

from __future__ import annotations

import sympy

from ..core import printer as P
from ..core.prim import NUMPY, prim
from ..core.shapes import canon, format_shape, provably_nonnegative
from ..errors import ShapeError
from ..lazy import numpy
from .common import linear_tangent, multilinear_tangent
from .conv_batching import (
    avg_grad_batch,
    col2im_batch,
    conv2d_batch,
    dcols_batch,
    dw_batch,
    filter_major_batch,
    im2col_batch,
    pool_batch,
    pool_grad_batch,
)
from .spelling import helper


def out_size(n, k, stride: int, pad: int):
    """The output length ``(n + 2 pad - k) // stride + 1`` along one axis (int or SymPy)."""
    return canon((n + 2 * pad - k) // stride + 1)


def windows_size(n, k, stride: int, pad: int, what: str):
    """``out_size``, or a ShapeError when the kernel (window) is larger than the padded
    input and both sizes are known."""
    span = canon(n + 2 * pad - k)
    if isinstance(span, int) and span < 0:
        padded = f" padded by {pad} on each side" if pad else ""
        raise ShapeError(
            f"{what} of size {P.dim(k, {})} is larger than the input's "
            f"{P.dim(n, {})}{padded}"
        )
    return out_size(n, k, stride, pad)


#: the operations that read windows of their input, as an input check names them
WINDOWED = {
    "im2col": "a conv2d kernel",
    "max_pool2d": "a max_pool2d window",
    "avg_pool2d": "an avg_pool2d window",
}


def window_requirements(src: tuple, node) -> list:
    """The size conditions (SymPy expressions ``>= 0``) under which the windows of the
    ``WINDOWED`` node fit its input of shape ``src``: ``H + 2 * pad - KH`` and ``W + 2 *
    pad - KW``, ``H - size`` and ``W - size``; those that hold for every size left out."""
    if node.op == "im2col":
        pad, ks = node.attr("pad"), (node.attr("kh"), node.attr("kw"))
    else:
        pad, ks = 0, (node.attr("size"), node.attr("size"))
    out = []
    for n, k in zip(src[2:], ks):
        e = canon(sympy.Integer(0) + n + 2 * pad - k)
        if not (isinstance(e, int) and e >= 0) and not provably_nonnegative(e):
            out.append(e)
    return out


def four_d(b, arg, what: str) -> tuple:
    shape = b.shape(arg)
    if len(shape) != 4:
        raise ShapeError(
            f"{what} expects a Tensor[N, C, H, W], not {format_shape(shape)}"
        )
    return shape


# ----------------------------------------------------------------------------
# Convolution: im2col, conv2d and the nodes of their gradients


def im2col_shape(b, args, attrs):
    n, c, h, w = four_d(b, args[0], "conv2d")
    kh, kw, s, p = attrs["kh"], attrs["kw"], attrs["stride"], attrs["pad"]
    oh = windows_size(h, kh, s, p, "conv2d: a kernel")
    ow = windows_size(w, kw, s, p, "conv2d: a kernel")
    return (c, kh, kw, n, oh, ow), "float"


def conv2d_shape(b, args, attrs):
    c, kh, kw, n, oh, ow = b.shape(args[0])
    wshape = b.shape(args[1])
    if len(wshape) != 4 or tuple(wshape[1:]) != (c, kh, kw):
        raise ShapeError(
            f"conv2d: kernel of shape {format_shape(wshape)} does not fit an input of "
            f"{P.dim(c, {})} channels (expected (F, {P.dim(c, {})}, KH, KW))"
        )
    return (n, wshape[0], oh, ow), "float"


def conv2d_adj(b, i, n, g):
    """y = w (F x CKK) @ cols (CKK x N OH OW): d_w = g @ cols^T, d_cols = w^T @ g, both
    from the upstream gradient in filter-major order (one copy, shared)."""
    cols, w = n.args
    gf = b.emit("filter_major", g)
    d_cols = b.emit("conv2d_dcols", gf, w) if b.wanted(cols) else None
    d_w = b.emit("conv2d_dw", gf, cols) if b.wanted(w) else None
    return [d_cols, d_w]


def im2col_adj(b, i, n, g):
    x = n.args[0]
    return [
        b.emit(
            "col2im", g, shape=b.shape(x), stride=n.attr("stride"), pad=n.attr("pad")
        )
    ]


def col2im_adj(b, i, n, g):
    _, kh, kw, *_ = b.shape(n.args[0])
    return [
        b.emit("im2col", g, kh=kh, kw=kw, stride=n.attr("stride"), pad=n.attr("pad"))
    ]


def dims_call(name: str, keys: tuple[str, ...]):
    """A call of the helper ``name`` on the arguments and the attributes ``keys`` (sizes
    printed with the function's dimension names)."""

    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, *a, *(P.dim(node.attr(k), ctx.dims) for k in keys))

    return emit


def col2im_emit(node, a, ctx):
    ctx.use("_col2im")
    _, _, h, w = node.attr("shape")
    extra = (P.dim(h, ctx.dims), P.dim(w, ctx.dims))
    return P.call(
        "_col2im", a[0], *extra, str(node.attr("stride")), str(node.attr("pad"))
    )


def filter_major_shape(b, args, attrs):
    n, f, oh, ow = b.shape(args[0])
    return (f, n, oh, ow), "float"


def dcols_shape(b, args, attrs):
    f, n, oh, ow = b.shape(args[0])
    _, c, kh, kw = b.shape(args[1])
    return (c, kh, kw, n, oh, ow), "float"


def dw_shape(b, args, attrs):
    f = b.shape(args[0])[0]
    c, kh, kw = b.shape(args[1])[:3]
    return (f, c, kh, kw), "float"


prim(
    "im2col",
    im2col_shape,
    spellings={NUMPY: dims_call("_im2col", ("kh", "kw", "stride", "pad"))},
    adjoint=im2col_adj,
    glyph="im2col",
    tangent=linear_tangent,
    batch=im2col_batch,
)
prim(
    "conv2d",
    conv2d_shape,
    spellings={NUMPY: helper("_conv2d")},
    adjoint=conv2d_adj,
    names=("conv2d",),
    form="conv",
    glyph="conv",
    tangent=multilinear_tangent,
    batch=conv2d_batch,
)
prim(
    "col2im",
    lambda b, args, attrs: (tuple(attrs["shape"]), "float"),
    spellings={NUMPY: col2im_emit},
    adjoint=col2im_adj,
    tangent=linear_tangent,
    batch=col2im_batch,
)
# the upstream gradient (N, F, OH, OW) as a C-ordered (F, N, OH, OW): both gradient
# matmuls read it as a (F, N OH OW) matrix; a view when it is in that order already
prim(
    "filter_major",
    filter_major_shape,
    spellings={
        NUMPY: lambda n, a, c: P.call(
            "np.ascontiguousarray", P.method(a[0], "transpose", "1", "0", "2", "3")
        )
    },
    adjoint=lambda b, i, n, g: [b.emit("transpose", g, axes=(1, 0, 2, 3))],
    tangent=linear_tangent,
    batch=filter_major_batch,
)
prim(
    "conv2d_dcols",
    dcols_shape,
    spellings={NUMPY: helper("_conv2d_dcols")},
    tangent=multilinear_tangent,
    batch=dcols_batch,
)
prim(
    "conv2d_dw",
    dw_shape,
    spellings={NUMPY: helper("_conv2d_dw")},
    tangent=multilinear_tangent,
    batch=dw_batch,
)


# ----------------------------------------------------------------------------
# Pooling


def pool_shape(b, args, attrs):
    n, c, h, w = four_d(b, args[0], "pooling")
    k, s = attrs["size"], attrs["stride"]
    return (
        n,
        c,
        windows_size(h, k, s, 0, "pooling: a window"),
        windows_size(w, k, s, 0, "pooling: a window"),
    ), "float"


def max_pool_adj(b, i, n, g):
    """Each window's upstream gradient goes to its maxima, shared equally among ties."""
    x = n.args[0]
    return [
        b.emit("max_pool2d_grad", g, x, i, size=n.attr("size"), stride=n.attr("stride"))
    ]


def avg_pool_adj(b, i, n, g):
    """Each window's upstream gradient, divided by its size, to every entry of it."""
    x = n.args[0]
    return [
        b.emit(
            "avg_pool2d_grad",
            g,
            shape=b.shape(x),
            size=n.attr("size"),
            stride=n.attr("stride"),
        )
    ]


def pool_tie(node, key, v, consts):
    """``max_pool2d``: a kink where the two largest entries of a window tie."""
    np = numpy()  # gradc check only (ops/points.py)
    k, s = node.attr("size"), node.attr("stride")
    if k < 2:
        return None
    x = np.asarray(v(node.args[0]), dtype=float)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    flat = np.sort(win[:, :, ::s, ::s].reshape(win.shape[:2] + (-1, k * k)), axis=-1)
    gap = flat[..., -1] - flat[..., -2]
    return float(np.min(gap, initial=np.inf))


def pool_emit(name: str):
    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, a[0], str(node.attr("size")), str(node.attr("stride")))

    return emit


def max_grad_emit(node, a, ctx):
    ctx.use("_max_pool2d_grad")
    return P.call(
        "_max_pool2d_grad", *a, str(node.attr("size")), str(node.attr("stride"))
    )


def avg_grad_emit(node, a, ctx):
    ctx.use("_avg_pool2d_grad")
    _, _, h, w = node.attr("shape")
    return P.call(
        "_avg_pool2d_grad",
        a[0],
        P.dim(h, ctx.dims),
        P.dim(w, ctx.dims),
        str(node.attr("size")),
        str(node.attr("stride")),
    )


def max_pool_tangent(b, i, n, ts):
    """Each window's mean of the tangent over its maxima (ties share, as for ``max``)."""
    attrs = {"size": n.attr("size"), "stride": n.attr("stride")}
    return b.emit("max_pool2d_tangent", ts[0], n.args[0], i, **attrs)


def max_pool_grad_tangent(b, i, n, ts):
    """Linear in the upstream gradient; the mask of the maxima is constant away from ties
    (its own derivative is 0, the convention of ``max``)."""
    if ts[0] is None:
        return None
    return b.emit("max_pool2d_grad", ts[0], *n.args[1:], **dict(n.attrs))


def max_tangent_emit(node, a, ctx):
    ctx.use("_max_pool2d_tangent")
    return P.call(
        "_max_pool2d_tangent", *a, str(node.attr("size")), str(node.attr("stride"))
    )


prim(
    "max_pool2d",
    pool_shape,
    spellings={NUMPY: pool_emit("_max_pool2d")},
    adjoint=max_pool_adj,
    names=("max_pool2d",),
    form="pool",
    kinks=pool_tie,
    glyph="maxpool",
    tangent=max_pool_tangent,
    batch=pool_batch,
)
prim(
    "avg_pool2d",
    pool_shape,
    spellings={NUMPY: pool_emit("_avg_pool2d")},
    adjoint=avg_pool_adj,
    names=("avg_pool2d",),
    form="pool",
    glyph="avgpool",
    tangent=linear_tangent,
    batch=pool_batch,
)
prim(
    "max_pool2d_grad",
    lambda b, args, attrs: (b.shape(args[1]), "float"),
    spellings={NUMPY: max_grad_emit},
    tangent=max_pool_grad_tangent,
    batch=pool_grad_batch,
)
prim(
    "avg_pool2d_grad",
    lambda b, args, attrs: (tuple(attrs["shape"]), "float"),
    spellings={NUMPY: avg_grad_emit},
    tangent=linear_tangent,
    batch=avg_grad_batch,
)
prim(
    "max_pool2d_tangent",
    lambda b, args, attrs: (b.shape(args[2]), "float"),
    spellings={NUMPY: max_tangent_emit},
    tangent=lambda b, i, n, ts: (
        None
        if ts[0] is None
        else b.emit("max_pool2d_tangent", ts[0], *n.args[1:], **dict(n.attrs))
    ),
    batch=pool_grad_batch,
)
