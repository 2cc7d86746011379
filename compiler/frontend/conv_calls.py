"""Lowering of ``conv2d(x, w, stride=1, pad=0)`` and ``max_pool2d``/``avg_pool2d(x, size,
stride=size)``: strides, paddings and window sizes are integer literals."""

from __future__ import annotations

from .arguments import kwarg
from .call_signatures import literal_error, signature_error
from .dimension_refusals import int_value
from .scope import emit, value


def literal(node, scope, name: str, what: str, low: int) -> int:
    """The integer literal ``node`` (``what`` of a call of ``name``), at least ``low``
    (``call_signatures.literal_error``)."""
    error = literal_error(node, name, what, low, scope.src)
    if error is not None:
        raise error
    return int_value(node)


def check_args(node, scope, name: str, form: str) -> None:
    """Refuse a call of ``name`` of ``form`` (``conv``, ``pool``) whose arguments are
    not its own, given by position or keyword, each once, the required ones always
    (``call_signatures.window_call_error``)."""
    error = signature_error(node, name, form, scope.src)
    if error is not None:
        raise error


def call_conv(node, scope, name):
    """``conv2d(x, w, stride=1, pad=0)``: the windows of ``x`` (``im2col``), then one
    matmul with the kernel (``conv2d``), both nodes on the call's line."""
    check_args(node, scope, name, "conv")
    x = value(kwarg(node, "x", 0, None), scope)
    w = value(kwarg(node, "w", 1, None), scope)
    stride_node = kwarg(node, "stride", 2, None)
    pad_node = kwarg(node, "pad", 3, None)
    stride = (
        1 if stride_node is None else literal(stride_node, scope, name, "stride", 1)
    )
    pad = 0 if pad_node is None else literal(pad_node, scope, name, "pad", 0)
    ws = scope.b.shape(w)
    if len(ws) != 4:
        raise scope.src.error(
            node.args[1] if len(node.args) > 1 else node,
            f"{name}(): the kernel must be a Tensor[F, C, KH, KW]",
        )
    cols = emit(scope, node, "im2col", x, kh=ws[2], kw=ws[3], stride=stride, pad=pad)
    return emit(scope, node, "conv2d", cols, w)


def call_pool(node, scope, name):
    """``max_pool2d(x, size, stride=size)`` and ``avg_pool2d``."""
    check_args(node, scope, name, "pool")
    x = value(kwarg(node, "x", 0, None), scope)
    size = literal(kwarg(node, "size", 1, None), scope, name, "size", 1)
    stride_node = kwarg(node, "stride", 2, None)
    stride = (
        size if stride_node is None else literal(stride_node, scope, name, "stride", 1)
    )
    return emit(scope, node, name, x, size=size, stride=stride)
