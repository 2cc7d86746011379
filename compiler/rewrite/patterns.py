"""What rules match on: a node's op, a bare (unnamed) node, a node that keeps the shape."""

from __future__ import annotations

import math

from ..core.shapes import broadcast


def op_of(b, i: int, op: str) -> bool:
    """Whether node ``i`` is an ``op`` node."""
    return b[i].op == op


def bare(b, i: int, op: str) -> bool:
    """``op_of``, but never through a value the user named (keeps the formula's names)."""
    name = b[i].name
    return b[i].op == op and not (name and not name.startswith("d_"))


def keeps_shape(b, x: int, args) -> bool:
    """Whether ``x`` alone already has the shape the node over ``args`` would have."""
    return (
        b.shape(x) == broadcast(*(b.shape(a) for a in args)) and b[x].dtype == "float"
    )


def power_of_two(value: float) -> bool:
    """Whether ``value`` is +-2 ** m (multiplying by it only moves the exponent)."""
    return math.isfinite(value) and value != 0 and abs(math.frexp(value)[0]) == 0.5
