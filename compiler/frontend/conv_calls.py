"""Lowering of ``conv2d(x, w, stride=1, pad=0)`` and ``max_pool2d``/``avg_pool2d(x, size,
stride=size)``: strides, paddings and window sizes are integer literals."""

from __future__ import annotations

import ast

from .arguments import kwarg
from .dimensions import index_int
from .scope import emit, value
from .source import is_int_literal


def literal(node, scope, name: str, what: str, low: int) -> int:
    """The integer literal ``node`` (``what`` of a call of ``name``), at least ``low``."""
    if not is_int_literal(node):
        raise scope.src.error(
            node,
            f"{name}(): {what} must be an integer literal, not "
            f"'{ast.unparse(node)[:40]}' (it fixes the shapes at compile time)",
        )
    v = index_int(node, scope, False)
    if v < low:
        raise scope.src.error(node, f"{name}(): {what} must be at least {low}, not {v}")
    return v


def check_args(node, scope, name: str, names: tuple[str, ...], required: int) -> None:
    """Arguments ``names`` given by position or keyword, each once, the first
    ``required`` of them always."""
    keys = [k.arg for k in node.keywords]
    for k in node.keywords:
        if k.arg not in names or names.index(k.arg) < len(node.args):
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    given = set(names[: len(node.args)]) | set(keys)
    if len(node.args) > len(names) or not set(names[:required]) <= given:
        raise scope.src.error(
            node,
            f"{name}() takes {', '.join(names[:required])} and optionally "
            f"{' and '.join(names[required:])}",
        )


def call_conv(node, scope, name):
    """``conv2d(x, w, stride=1, pad=0)``: the windows of ``x`` (``im2col``), then one
    matmul with the kernel (``conv2d``), both nodes on the call's line."""
    check_args(node, scope, name, ("x", "w", "stride", "pad"), 2)
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
    check_args(node, scope, name, ("x", "size", "stride"), 2)
    x = value(kwarg(node, "x", 0, None), scope)
    size = literal(kwarg(node, "size", 1, None), scope, name, "size", 1)
    stride_node = kwarg(node, "stride", 2, None)
    stride = (
        size if stride_node is None else literal(stride_node, scope, name, "stride", 1)
    )
    return emit(scope, node, name, x, size=size, stride=stride)
