"""``max_pool2d(x, size, stride=size)``, ``avg_pool2d`` and ``conv2d(x, w, stride=1,
pad=0)`` read on the syntax tree (``operand_shapes.call_shape``): their arguments as
``conv_calls.call_pool`` and ``call_conv`` take them, and the shape of their value as
the records' ``ops/conv.py`` ``pool_shape``, ``im2col_shape`` and ``conv2d_shape`` give
it and the frontend writes it, ``(H + 2 pad - size) // stride + 1`` along each of the
last two axes in SymPy's form (``H // 2`` for a window of 2 and a stride of 2, ``H - 1``
for a stride of 1, ``(H - 3) // 2 + 1`` where the offset is no multiple of the stride);
a kernel's sizes are ints here (a named one gives a size of two names).

Like the rest of the check it needs nothing but ``ast``; it raises ``Stop`` where it
does not follow the frontend exactly.
"""

from __future__ import annotations

import ast

from .call_signatures import WINDOW_FORMS, window_arguments, window_misfit
from .shape_reading import Mismatch, Stop, literal_int, written
from .size_forms import floor_written, plus


def given_arguments(node: ast.Call, form: str) -> dict:
    """The arguments of the call ``node`` of a window ``form`` (``pool``, ``conv``) by
    name, given by position or keyword, as ``conv_calls.check_args`` takes them
    (``call_signatures.WINDOW_FORMS``); Stop where it refuses the form (an unknown or
    repeated argument, too many, a required one missing: ``window_misfit``)."""
    if window_misfit(node, *WINDOW_FORMS[form]) is not None:
        raise Stop
    return window_arguments(node, form)


def at_least(node, low: int) -> int:
    """The int literal ``node``, at least ``low`` (``conv_calls.literal``); Stop else."""
    value = literal_int(node)
    if not low <= value < 2**31:
        raise Stop
    return value


def pool_arguments(node: ast.Call) -> tuple:
    """``(x, size, stride)`` of a pooling call: ``x`` the node of the input, ``size`` and
    ``stride`` ints (``stride`` the size where not given); Stop where the frontend refuses
    the call's form or a size or stride that is not a positive int literal."""
    given = given_arguments(node, "pool")
    size = at_least(given["size"], 1)
    stride = at_least(given["stride"], 1) if "stride" in given else size
    return given["x"], size, stride


def conv_arguments(node: ast.Call) -> tuple:
    """``(x, w, stride, pad)`` of a ``conv2d`` call: the nodes of the input and the
    kernel, a stride of at least 1 (1 where not given) and a padding of at least 0 (0);
    Stop where the frontend refuses the call's form or a literal."""
    given = given_arguments(node, "conv")
    stride = at_least(given["stride"], 1) if "stride" in given else 1
    pad = at_least(given["pad"], 0) if "pad" in given else 0
    return given["x"], given["w"], stride, pad


def pooled(node: ast.Call, shape: tuple, size: int, stride: int) -> tuple:
    """The shape of the pooling call ``node`` of an input of ``shape`` (``(N, C, H,
    W)``), each of the last two sizes ``windows(...)``; Mismatch at the call where the
    input has not four axes or a window is larger than a literal size, as the record
    words it."""
    if len(shape) != 4:
        raise Mismatch(
            node, f"pooling expects a Tensor[N, C, H, W], not {written(shape)}"
        )
    return shape[:2] + tuple(windows(h, size, stride, node) for h in shape[2:])


def windows(h, size: int, stride: int, node):
    """The number of windows of ``size`` every ``stride`` along an axis of ``h``, as SymPy
    writes ``(h - size) // stride + 1``: an int for an int ``h`` (Mismatch where the
    window is larger); for a name, ``h - (size - 1)`` for a stride of 1, else as
    ``size_forms.floor_written`` writes it (``h // 2`` for a size and stride of 2); Stop
    for an expression."""
    if isinstance(h, int):
        if h < size:
            message = f"pooling: a window of size {size} is larger than the input's {h}"
            raise Mismatch(node, message)
        return (h - size) // stride + 1
    if not h.isidentifier():
        raise Stop
    if stride == 1:
        return plus(h, 1 - size)
    return floor_written(h, -size, stride, 1)


def convolved(node: ast.Call, shape: tuple, kernel: tuple, stride: int, pad: int):
    """The shape of the ``conv2d`` call ``node`` of an input of ``shape`` and a kernel of
    shape ``kernel``, ``(N, F, OH, OW)``, checked in the frontend's order: the kernel's
    rank (``call_conv``), the input's (``four_d``), each axis's windows
    (``windows_size``), the channels (``conv2d_shape``); Mismatch at the first that
    fails, in the records' words; Stop after them at a kernel size that is not an int."""
    if len(kernel) != 4:
        at = node.args[1] if len(node.args) > 1 else node
        raise Mismatch(at, "conv2d(): the kernel must be a Tensor[F, C, KH, KW]")
    if len(shape) != 4:
        raise Mismatch(
            node, f"conv2d expects a Tensor[N, C, H, W], not {written(shape)}"
        )
    n, c, h, w = shape
    f, channels, kh, kw = kernel
    sizes = tuple(
        kernel_windows(a, k, stride, pad, node) for a, k in ((h, kh), (w, kw))
    )
    if channels != c:
        raise Mismatch(
            node,
            f"conv2d: kernel of shape {written(kernel)} does not fit an input of {c} "
            f"channels (expected (F, {c}, KH, KW))",
        )
    if None in sizes:
        raise Stop  # a size of two names, or of a cut axis
    return (n, f) + sizes


def kernel_windows(h, k, stride: int, pad: int, node):
    """The number of positions of a kernel of size ``k`` along an axis of ``h`` padded
    by ``pad``, every ``stride`` (``out_size``): an int for ints (Mismatch where the
    kernel is larger, ``windows_size``'s words); for a name and an int ``k``, as
    ``windows`` writes it; None (no error, a size the check does not write) for a named
    ``k`` or an axis already cut (``n - 1``)."""
    if not isinstance(k, int):
        return None
    if isinstance(h, int):
        if h + 2 * pad < k:
            padded = f" padded by {pad} on each side" if pad else ""
            message = f"conv2d: a kernel of size {k} is larger than the input's {h}"
            raise Mismatch(node, message + padded)
        return (h + 2 * pad - k) // stride + 1
    if not h.isidentifier():
        return None
    if stride == 1:
        return plus(h, 2 * pad - k + 1)
    return floor_written(h, 2 * pad - k, stride, 1)
