"""``max_pool2d(x, size, stride=size)`` and ``avg_pool2d`` read on the syntax tree
(``operand_shapes.call_shape``): their arguments as ``conv_calls.call_pool`` takes them,
and the shape of their value as the records' ``ops/conv.py`` ``pool_shape`` gives it
and the frontend writes it, ``(H - size) // stride + 1`` along each of the last two axes
in SymPy's form (``H // 2`` for a window of 2 and a stride of 2, ``H - 1`` for a stride
of 1, ``(H - 3) // 2 + 1`` where the offset is no multiple of the stride).

Like the rest of the check it needs nothing but ``ast``; it raises ``Stop`` where it
does not follow the frontend exactly.
"""

from __future__ import annotations

import ast

from .shape_reading import Mismatch, Stop, literal_int, written
from .size_forms import floor_written, plus

#: the arguments of a pooling call, in order (``conv_calls.call_pool``)
POOL_ARGUMENTS = ("x", "size", "stride")


def pool_arguments(node: ast.Call) -> tuple:
    """``(x, size, stride)`` of a pooling call: ``x`` the node of the input, ``size`` and
    ``stride`` ints (``stride`` the size where not given); Stop where the frontend refuses
    the call's form (an unknown or repeated argument, no size) or a size or stride that
    is not a positive int literal."""
    given = dict(zip(POOL_ARGUMENTS, node.args))
    if len(node.args) > len(POOL_ARGUMENTS):
        raise Stop
    for k in node.keywords:
        if k.arg not in POOL_ARGUMENTS or k.arg in given:
            raise Stop
        given[k.arg] = k.value
    if "x" not in given or "size" not in given:
        raise Stop
    size = literal_int(given["size"])
    stride = literal_int(given["stride"]) if "stride" in given else size
    if not 1 <= size < 2**31 or not 1 <= stride < 2**31:
        raise Stop
    return given["x"], size, stride


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
