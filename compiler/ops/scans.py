"""Scans: ``cumsum``, the running sum along one axis."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMBA, NUMPY, XP, prim
from .common import axis_batch, linear_tangent


def reversed_along(b, x: int, axis: int) -> int:
    """``x`` reversed along ``axis``: the slice ``x[::-1]`` (``x[:, ::-1]`` at 1)."""
    whole = ("s", None, None, None)
    index = tuple(
        ("s", None, None, -1) if k == axis else whole for k in range(len(b.shape(x)))
    )
    return b.emit("getitem", x, index=index)


# cumsum(x)[k] = x[0] + ... + x[k], so x[j] reaches every entry from j on: the adjoint is
# the running sum of g from the end, reversed(cumsum(reversed(g)))
def cumsum_adj(b, i, n, g):
    axis = n.attr("axis")
    scanned = b.emit("cumsum", reversed_along(b, g, axis), axis=axis)
    return [reversed_along(b, scanned, axis)]


def cumsum_emit(name: str):
    """``name(x)`` of a vector, ``name(x, axis=k)`` otherwise."""

    def emit(node, a, ctx):
        if len(node.shape) == 1:
            return P.call(name, a[0])
        return P.call(name, a[0], axis=str(node.attr("axis")))

    return emit


prim(
    "cumsum",
    lambda b, args, attrs: (b.shape(args[0]), "float"),
    spellings={
        NUMPY: cumsum_emit("np.cumsum"),
        XP: cumsum_emit("xp.cumulative_sum"),
        NUMBA: cumsum_emit("np.cumsum"),
    },
    # numba's np.cumsum takes no axis: a vector's only
    numba_when=lambda nodes, node: len(node.shape) == 1,
    adjoint=cumsum_adj,
    tangent=linear_tangent,
    batch=axis_batch,
    names=("cumsum",),
    form="scan",
)
