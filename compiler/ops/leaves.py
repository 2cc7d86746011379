"""Leaves: parameters, constants, dimension values, zeros, arange."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import prim
from .common import (
    leaf_shape,
)

# ----------------------------------------------------------------------------
# Leaves


def const_emit(node, a, ctx):
    return P.number(node.attr("value"))


def dim_emit(node, a, ctx):
    return P.dim_expr(node.attr("expr"), ctx.dims)


prim("param", leaf_shape, lambda n, a, c: P.name(n.attr("name")))
prim("const", lambda b, args, attrs: ((), "float"), const_emit)
prim("dim", lambda b, args, attrs: ((), "int"), dim_emit)
prim("zeros", leaf_shape, lambda n, a, c: P.call("np.zeros", P.shape(n.shape, c.dims)))
prim(
    "arange",
    lambda b, args, attrs: ((attrs["n"],), "int"),
    lambda n, a, c: P.call("np.arange", P.dim(n.attr("n"), c.dims)),
)
