"""Leaves: parameters, constants, dimension values, zeros, arange, triangles."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMBA, NUMPY, XP, as_numpy, prim
from .common import (
    leaf_shape,
)
from .spelling import both

# ----------------------------------------------------------------------------
# Leaves


def const_emit(node, a, ctx):
    return P.number(node.attr("value"))


def dim_emit(node, a, ctx):
    return P.dim_expr(node.attr("expr"), ctx.dims)


prim(
    "param",
    leaf_shape,
    spellings={**both(lambda n, a, c: P.name(n.attr("name"))), NUMBA: as_numpy},
    raises_on_floats=False,
    leaf=True,
    view=True,  # the caller's own array
)
prim(
    "const",
    lambda b, args, attrs: ((), "float"),
    spellings={**both(const_emit), NUMBA: as_numpy},
    raises_on_floats=False,
    leaf=True,
)
prim(
    "dim",
    lambda b, args, attrs: ((), "int"),
    spellings={**both(dim_emit), NUMBA: as_numpy},
    raises_on_floats=False,
    leaf=True,
)
prim(
    "zeros",
    leaf_shape,
    spellings={
        NUMPY: lambda n, a, c: P.call("np.zeros", P.shape(n.shape, c.dims)),
        NUMBA: as_numpy,
    },
)
# the identity matrix: ``np.eye(n)`` in a formula, f_hessian's stack of unit tangents
# (``passes/batching``)
prim(
    "eye",
    lambda b, args, attrs: ((attrs["n"], attrs["n"]), "float"),
    spellings={
        NUMPY: lambda n, a, c: P.call("np.eye", P.dim(n.attr("n"), c.dims)),
        NUMBA: as_numpy,
    },
    raises_on_floats=False,
)
prim(
    "arange",
    lambda b, args, attrs: ((attrs["n"],), "int"),
    spellings={
        NUMPY: lambda n, a, c: P.call("np.arange", P.dim(n.attr("n"), c.dims)),
        NUMBA: as_numpy,
    },
    leaf=True,
)


def tri_emit(name: str):
    """``np.tri(n, m, k)``: ones where ``j <= i + k`` (``k`` left out at 0)."""

    def emit(node, a, ctx):
        k = node.attr("k")
        sizes = [P.dim(node.attr(d), ctx.dims) for d in ("n", "m")]
        return P.call(name, *sizes, *([str(k)] if k else []))

    return emit


def xp_tri(node, a, ctx):
    """``xp.tril(xp.ones((n, m), ...), k=k)``: the standard has no ``tri``."""
    shape = P.shape((node.attr("n"), node.attr("m")), ctx.dims)
    ones = P.call("xp.ones", shape, dtype="dtype", device="device")
    k = node.attr("k")
    return P.call("xp.tril", ones, **({"k": str(k)} if k else {}))


# the lower triangle of ones, NumPy's ``np.tri(n, m, k)``: 1.0 where j <= i + k; the mask
# of ``np.tril`` and ``np.triu`` (``frontend/numpy_calls``) and of cholesky's rules
prim(
    "tri",
    lambda b, args, attrs: ((attrs["n"], attrs["m"]), "float"),
    spellings={NUMPY: tri_emit("np.tri"), NUMBA: tri_emit("np.tri"), XP: xp_tri},
    raises_on_floats=False,
)
