"""What the operation families share: broadcasting shape rules and the helpers adjoint rules
are built from (other primitives, never Jacobians)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.ir import Value
from ..core.shapes import (
    broadcast,
    size,
)

# ----------------------------------------------------------------------------
# Shape rules


def elementwise_shape(b, args, attrs):
    """Broadcast of the argument shapes; float result."""
    return broadcast(*(b.shape(a) for a in args)), "float"


def bool_shape(b, args, attrs):
    return broadcast(*(b.shape(a) for a in args)), "bool"


def leaf_shape(b, args, attrs):
    return tuple(attrs.get("shape", ())), attrs.get("dtype", "float")


def same_shape(b, args, attrs):
    return b.shape(args[0]), "float"


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
# Rules written on values (``g * y * (1 - y)``)


def indices(results) -> list:
    """Rule results as node indices (a ``Value``'s own; ``None`` and ints stay)."""
    return [r.i if isinstance(r, Value) else r for r in results]


@dataclass(frozen=True)
class OnValues:
    """An adjoint rule written on ``Value``s: ``rule(g, y, *xs)`` gets the upstream gradient
    ``g``, the node's own output ``y`` (``y.node`` is the node, for its attributes) and its
    inputs ``xs``, and returns a Value (or None) per input. Called as the driver calls
    every rule, ``adjoint(b, i, node, g)``, it returns node indices."""

    rule: Callable

    def __call__(self, b, i, n, g):
        xs = [Value(b, a) for a in n.args]
        return indices(self.rule(Value(b, g), Value(b, i), *xs))
