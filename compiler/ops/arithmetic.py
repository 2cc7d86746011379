"""Arithmetic, comparisons and logic: + - * / ** neg, maximum/minimum, clip, where,
< <= > >= == !=, & | ~, any-free masks."""

from __future__ import annotations

import operator
from dataclasses import dataclass

import sympy

from ..core import printer as P
from ..core.ir import Value
from ..core.prim import MATH, NUMBA, NUMPY, as_numpy, prim
from . import numba_spelling as nb
from .common import (
    OnValues,
    bool_shape,
    elementwise_shape,
    int_valued,
    nonzero,
    power_of_numbers,
    python_number,
    same_shape,
    target_float,
    zero_d_array,
)
from .points import at_tie, clip_kinks, pole, pow_domain, pow_kinks
from .spelling import (
    as_float,
    both,
    comparison,
    float_extremum,
    fn,
    infix,
    integral_exponent,
)

# ----------------------------------------------------------------------------
# Arithmetic: each entry with its adjoint rule


def add_tangent(b, i, n, ts):
    """t_x + t_y; an adjoint sum's (``acc``) is one too, accumulated in place."""
    tx, ty = ts
    if tx is None or ty is None:
        return tx if ty is None else ty
    return b.emit("add", tx, ty, **dict(n.attrs))


prim(
    "add",
    elementwise_shape,
    python_scalars=True,
    keeps_ints=True,
    constant_operands=True,
    spellings={**both(infix("+", P.ADD)), NUMBA: as_numpy},
    adjoint=OnValues(lambda g, y, x, z: [g, g]),
    tangent=add_tangent,
    fold=operator.add,
    sym=operator.add,
    fusible=True,
    elementwise=True,
    raises_on_floats=False,
    glyph="+",
)
prim(
    "sub",
    elementwise_shape,
    python_scalars=True,
    keeps_ints=True,
    constant_operands=True,
    spellings={**both(infix("-", P.ADD)), NUMBA: as_numpy},
    adjoint=OnValues(lambda g, y, x, z: [g, -g]),
    fold=operator.sub,
    sym=operator.sub,
    fusible=True,
    elementwise=True,
    raises_on_floats=False,
    glyph="-",
)
prim(
    "mul",
    elementwise_shape,
    python_scalars=True,
    keeps_ints=True,
    constant_operands=True,
    spellings={**both(infix("*", P.MUL)), NUMBA: as_numpy},
    adjoint=OnValues(lambda g, y, x, z: [g * z, g * x]),  # swaps in the other input
    fold=operator.mul,
    sym=operator.mul,
    fusible=True,
    elementwise=True,
    raises_on_floats=False,
    glyph="*",
)


def div_emit(node, a, ctx):
    """``x / z``; where both are numbers (``python_number``) and ``z`` may be 0 (not
    ``nonzero``: ``d_out / (n - 1)``), ``z`` as the target's float (``target_float``):
    inf or NaN at 0, as on arrays, where Python's division raises."""
    if not node.args:  # a fused body's entry: fusion keeps a division by numbers out
        return P.binop("/", P.MUL, *a)
    x, z = node.args
    if python_number(ctx, x) and python_number(ctx, z) and divides_as_numpy(ctx, node):
        return P.binop("/", P.MUL, a[0], target_float(ctx, a[1]))
    return P.binop("/", P.MUL, *a)


def divides_as_numpy(ctx, node) -> bool:
    """Whether ``div_emit`` divides numbers by a NumPy float: the divisor may be 0."""
    return not nonzero(ctx, node.args[1])


prim(
    "div",
    elementwise_shape,
    constant_operands=True,
    numpy_of_numbers=divides_as_numpy,
    spellings={
        **both(div_emit),
        MATH: infix("/", P.MUL),  # the scalar build: NumPy's value where it raises
        NUMBA: as_numpy,
    },
    # d(x/z) = dx / z - y * dz / z
    adjoint=OnValues(lambda g, y, x, z: [g / z, -(g * y / z)]),
    fold=operator.truediv,
    sym=operator.truediv,
    fusible=True,
    elementwise=True,
    kinks=pole,
    glyph="/",
)
prim(
    "neg",
    same_shape,
    python_scalars=True,
    keeps_ints=True,
    spellings={**both(lambda n, a, c: P.neg(a[0])), NUMBA: as_numpy},
    adjoint=OnValues(lambda g, y, x: [-g]),
    fold=operator.neg,
    sym=operator.neg,
    fusible=True,
    elementwise=True,
    raises_on_floats=False,
    glyph="-x",
)


def pow_adj(b, i, n, g):
    """JAX's convention at 0 (README.md, "Conventions"): ``d/dx x**0 = 0`` everywhere, and
    ``d/dp x**p = x**p * log(x)`` takes ``log(x)`` as 0 where ``x == 0``."""
    g, y, x, p = Value(b, g), Value(b, i), Value(b, n.args[0]), Value(b, n.args[1])
    if b.is_const(p.i):
        c = p.node.attr("value")
        if c == 0:
            return [None, None]
        local = p * x ** (c - 1) if c != 2 else p * x
        return [(g * local).i, None]
    local = p * x ** (p - 1)
    dx = g * p.op("eq", 0).where(0, local)
    if b.is_const(x.i, 0.0):
        return [dx.i, None]
    if b.is_const(x.i):
        return [dx.i, (g * (y * x.op("log"))).i]
    nonzero = x.op("eq", 0).where(1, x)
    return [dx.i, (g * (y * nonzero.op("log"))).i]


def pow_emit(node, a, ctx):
    """``x**k`` with an int literal ``k`` where the exponent is whole (NumPy squares);
    ``np.power`` of numbers (``python_number``: ``0.0 ** 0.5``, ``(n - 2) ** 0.5``), or
    of an int base (``int_valued``: ``square(n) ** -1``): NumPy's float64, which a
    division by it or an overflow keeps (Python's float would raise there, or be
    complex; an int's power is an int's, which a negative exponent makes an error)."""
    if power_of_numbers(ctx, node):
        int_base = int_valued(ctx.nodes, node.args[0])
        return P.call("np.power", P.call("float", a[0]) if int_base else a[0], a[1])
    return P.power(a[0], integral_exponent(a[1]) or a[1])


def scalar_pow(node, a, ctx):
    """``x ** k`` for a whole ``k``; ``math.pow`` otherwise (never a complex result; where
    it raises, the scalar build falls back to NumPy's value)."""
    k = integral_exponent(a[1])
    if k is not None:
        return P.power(a[0], k)
    ctx.use("math")
    return P.call("math.pow", *a)


prim(
    "pow",
    elementwise_shape,
    numpy_of_numbers=True,
    spellings={NUMPY: pow_emit, MATH: scalar_pow, NUMBA: nb.pow_emit},
    adjoint=pow_adj,
    sym=operator.pow,
    fusible=True,
    elementwise=True,
    domain=pow_domain,
    kinks=pow_kinks,
    glyph="**",
)


@dataclass(frozen=True)
class MaxMinRule:
    """Ties share the gradient equally (``maximum(x, x)`` sends half to each side);
    ``strict`` is ``gt`` for maximum, ``lt`` for minimum."""

    strict: str

    def __call__(self, b, i, n, g):
        g, x, z = Value(b, g), Value(b, n.args[0]), Value(b, n.args[1])
        half = 0.5 * g
        tie = x.op("eq", z)
        dx = x.op(self.strict, z).where(g, tie.where(half, 0))
        dz = z.op(self.strict, x).where(g, tie.where(half, 0))
        return [dx.i, dz.i]


# on floats inline or through helpers: Python's max() and min() drop a nan NumPy keeps
prim(
    "maximum",
    elementwise_shape,
    python_scalars=True,
    keeps_ints=True,
    constant_operands=True,
    spellings={
        NUMPY: fn("np.maximum"),
        MATH: float_extremum("_maximum_scalar", ">"),
        NUMBA: as_numpy,
    },
    adjoint=MaxMinRule("gt"),
    sym=sympy.Max,
    elementwise=True,
    names=("maximum",),
    form="binary",
    raises_on_floats=False,
    kinks=at_tie,
)
prim(
    "minimum",
    elementwise_shape,
    python_scalars=True,
    keeps_ints=True,
    constant_operands=True,
    spellings={
        NUMPY: fn("np.minimum"),
        MATH: float_extremum("_minimum_scalar", "<"),
        NUMBA: as_numpy,
    },
    adjoint=MaxMinRule("lt"),
    sym=sympy.Min,
    elementwise=True,
    names=("minimum",),
    form="binary",
    raises_on_floats=False,
    kinks=at_tie,
)


def clip_adj(b, i, n, g):
    """The gradient goes to the value np.clip returns, minimum(maximum(x, lo), hi), and
    passes through to x at the bounds: x where min(lo, hi) <= x <= hi (with lo > hi only
    x == hi), lo where x < lo <= hi, hi everywhere else (x > hi, and every x != hi when
    lo > hi)."""
    g, x, lo, hi = Value(b, g), *(Value(b, a) for a in n.args)
    to_x = x.op("ge", lo.op("minimum", hi)).op("and", x.op("le", hi))
    to_lo = x.op("lt", lo).op("and", lo.op("le", hi))
    to_hi = to_x.where(0, to_lo.where(0, g))
    return [to_x.where(g, 0).i, to_lo.where(g, 0).i, to_hi.i]


prim(
    "clip",
    elementwise_shape,
    spellings={NUMPY: fn("np.clip")},
    adjoint=clip_adj,
    elementwise=True,
    names=("clip",),
    form="clip",
    kinks=clip_kinks,
)


def where_tangent(b, i, n, ts):
    """where(c, x, z) selects tangents as it selects values: where(c, t_x, t_z)."""
    _, tx, tz = ts
    zero = b.const(0.0)
    return b.emit(
        "where", n.args[0], zero if tx is None else tx, zero if tz is None else tz
    )


def where_numpy(node, a, ctx):
    """``np.where(c, x, z)``; ``x if c else z`` for a scalar of the graph whose branches
    are no 0-d arrays (20 ns against 1.3 us: a norm's guard at 0, a Scalar input's kink).
    A branch that may be a 0-d array keeps ``np.where``, whose result is a new one: ``d_b
    = x if c else z; d_b += g`` would write into ``x``. (A fused body's entries have no
    arguments and stand for arrays too: ``np.where``.)"""
    if node.args and node.shape == ():
        if not any(zero_d_array(ctx.nodes, k, ctx.zero_d) for k in node.args[1:]):
            return P.conditional(as_float(a[1]), a[0], as_float(a[2]))
    return P.call("np.where", a[0], as_float(a[1]), as_float(a[2]))


prim(
    "where",
    elementwise_shape,
    python_scalars=True,
    constant_operands=True,
    spellings={
        NUMPY: where_numpy,
        MATH: lambda n, a, c: P.conditional(as_float(a[1]), a[0], as_float(a[2])),
        NUMBA: nb.where_emit,
    },
    adjoint=OnValues(lambda g, y, c, x, z: [None, c.where(g, 0), c.where(0, g)]),
    tangent=where_tangent,
    elementwise=True,
    names=("where",),
    form="where",
    raises_on_floats=False,
)

for _op, _text in (
    ("lt", "<"),
    ("le", "<="),
    ("gt", ">"),
    ("ge", ">="),
    ("eq", "=="),
    ("ne", "!="),
):
    prim(
        _op,
        bool_shape,
        spellings={**both(comparison(_text)), NUMBA: as_numpy},
        elementwise=True,
        raises_on_floats=False,
        python_scalars=True,
        constant_operands=True,
        kinks=at_tie,
        glyph=None if _op == "ne" else _text,
    )
prim(
    "and",
    bool_shape,
    python_scalars=True,
    spellings={**both(infix("&", P.BITAND)), NUMBA: as_numpy},
    elementwise=True,
    raises_on_floats=False,
    glyph="&",
)
# ``|`` binds between comparisons and ``&``; on Python bools (scalar mode) ``or`` and ``not``
# bind more weakly than comparisons, ``not`` more strongly than ``or``
BITOR, OR, NOT = 15, 6, 8
prim(
    "or",
    bool_shape,
    python_scalars=True,
    spellings={NUMPY: infix("|", BITOR), MATH: infix("or", OR), NUMBA: as_numpy},
    elementwise=True,
    raises_on_floats=False,
)
prim(
    "not",
    bool_shape,
    spellings={
        NUMPY: lambda n, a, c: P.Expr("~" + P.wrap(a[0], P.UNARY), P.UNARY),
        MATH: lambda n, a, c: P.Expr("not " + P.wrap(a[0], P.CMP, strict=True), NOT),
        NUMBA: as_numpy,
    },
    elementwise=True,
    raises_on_floats=False,
)
