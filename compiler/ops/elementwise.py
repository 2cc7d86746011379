"""Elementwise functions (exp, log, sigmoid, ...): local gradient times upstream."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy
from sympy.codegen.cfunctions import expm1, log1p

from ..core import printer as P
from ..core.ir import Value
from ..core.prim import MATH, NUMBA, NUMPY, as_numpy, prim
from . import numba_spelling as nb
from .common import (
    elementwise_shape,
    same_shape,
)
from .points import Above, arctan2_kinks, at_zero, inside_unit
from .spelling import (
    builtin_on_scalars,
    fn,
    helper,
    math_fn,
    with_zero,
)
from .sympy_functions import erf, logaddexp, sigmoid, softplus, square

# ----------------------------------------------------------------------------
# Elementwise functions: local gradient times upstream


@dataclass(frozen=True)
class LocalRule:
    """The adjoint ``[local(g, x, y)]`` of a one-input function: the upstream gradient
    ``g`` times the local gradient, from the input ``x`` or the node's own output ``y``
    (``Value``s: ``g * y * (1 - y)``)."""

    local: Callable

    def __call__(self, b, i, n, g):
        return [self.local(Value(b, g), Value(b, n.args[0]), Value(b, i)).i]


def unary(
    name: str, *, numpy, math=None, numba=None, local=None, sym=None, **kw
) -> None:
    """Register the elementwise one-input function ``name`` (a formula's ``name(x)``).

    ``numpy`` and ``math`` are its spellings on arrays and on Python floats (no ``math``:
    a function using it is a NumPy build), ``numba`` its ``NUMBA`` spelling (``as_numpy``
    or its own; none: no whole-function numba kernel); ``local(g, x, y)`` is ``g`` times
    the local gradient (none: no gradient flows, as for ``sign``); ``sym`` its SymPy
    function, read back from SymPy too when it is a class and the op is ``fusible``. Other
    keywords are ``Prim`` fields.
    """
    spellings = {NUMPY: numpy} if math is None else {NUMPY: numpy, MATH: math}
    if numba is not None:
        spellings[NUMBA] = numba
    if kw.get("fusible") and isinstance(sym, type):
        kw.setdefault("sym_read", (sym,))
    prim(
        name,
        same_shape,
        spellings=spellings,
        adjoint=LocalRule(local) if local is not None else None,
        sym=sym,
        elementwise=True,
        names=(name,),
        form="unary",
        **kw,
    )


def sigmoid_scalar(x: P.Expr, ctx) -> P.Expr:
    """sigmoid of a Python float. On a name, the helper's body inline (the call costs as
    much as the arithmetic): ``1.0 / (1.0 + math.exp(-x)) if x > -700.0 else math.exp(x)``;
    on anything else, or where the line would be too long (``ctx.compact``), a call of
    ``_sigmoid_scalar``."""
    if ctx.compact or not (x.simple and x.prec == P.ATOM):
        return helper("_sigmoid_scalar")(None, [x], ctx)
    ctx.use("math")
    exp_neg = P.call("math.exp", P.neg(x))
    stable = P.binop("/", P.MUL, P.number(1), P.binop("+", P.ADD, P.number(1), exp_neg))
    return P.conditional(
        stable, P.compare(">", x, P.number(-700)), P.call("math.exp", x)
    )


unary(
    "exp",
    python_scalars=True,
    numpy=fn("np.exp"),
    numba=as_numpy,
    math=math_fn("math.exp"),
    local=lambda g, x, y: g * y,
    sym=sympy.exp,
    fusible=True,
    numba_vector="_vexp",
    libm_calls=1,
)
unary(
    "log",
    python_scalars=True,
    numpy=fn("np.log"),
    numba=as_numpy,
    math=math_fn("math.log"),
    local=lambda g, x, y: g / x,
    sym=sympy.log,
    fusible=True,
    domain=Above(0.0),
    numba_vector="_vlog",
    libm_calls=1,
)
unary(
    "log1p",
    python_scalars=True,
    numpy=fn("np.log1p"),
    numba=as_numpy,
    math=math_fn("math.log1p"),
    local=lambda g, x, y: g / (1 + x),
    sym=log1p,
    fusible=True,
    domain=Above(-1.0),
    numba_vector="_vlog1p",
    libm_calls=1,
)
# expm1' = exp(x), not y + 1: that rounds to 0 at x = -40 (exp(-40) = 4.2e-18)
unary(
    "expm1",
    python_scalars=True,
    numpy=fn("np.expm1"),
    numba=as_numpy,
    math=math_fn("math.expm1"),
    local=lambda g, x, y: g * x.op("exp"),
    sym=expm1,
    fusible=True,
    numba_vector="_vexpm1",
    libm_calls=1,
)
unary(
    "sqrt",
    python_scalars=True,
    numpy=fn("np.sqrt"),
    numba=as_numpy,
    math=math_fn("math.sqrt"),
    local=lambda g, x, y: g / (2 * y),
    sym=sympy.sqrt,
    fusible=True,
    domain=Above(0.0),
)
unary(
    "square",
    python_scalars=True,
    keeps_ints=True,
    numpy=fn("np.square"),
    numba=as_numpy,
    math=lambda n, a, c: P.power(a[0], P.number(2, integral=True)),
    local=lambda g, x, y: g * (2 * x),
    sym=square,
    fusible=True,
)
# abs'(0) = 0
unary(
    "abs",
    python_scalars=True,
    keeps_ints=True,
    numpy=builtin_on_scalars("np.abs", "abs"),
    numba=as_numpy,
    math=math_fn("abs"),
    local=lambda g, x, y: g * x.op("sign"),
    sym=sympy.Abs,
    sym_read=(sympy.Abs,),
    raises_on_floats=False,
    kinks=at_zero,
    fold=abs,  # exact: a constant's |c| (else Python's abs, a float, met later)
)
unary(
    "sin",
    python_scalars=True,
    numpy=fn("np.sin"),
    numba=as_numpy,
    math=math_fn("math.sin"),
    local=lambda g, x, y: g * x.op("cos"),
    sym=sympy.sin,
    fusible=True,
    libm_calls=1,
)
unary(
    "cos",
    python_scalars=True,
    numpy=fn("np.cos"),
    numba=as_numpy,
    math=math_fn("math.cos"),
    local=lambda g, x, y: -(g * x.op("sin")),
    sym=sympy.cos,
    fusible=True,
    libm_calls=1,
)
unary(
    "tan",
    python_scalars=True,
    numpy=fn("np.tan"),
    numba=as_numpy,
    math=math_fn("math.tan"),
    local=lambda g, x, y: g * (1 + y * y),
    sym=sympy.tan,
    fusible=True,
    libm_calls=1,
)
# tanh' = 1 - y**2 and sigmoid' = s * (1 - s), from the node's own output (as JAX and the
# lecture write them: no second exp; where y nears +-1 the cancellation costs relative
# precision of a gradient below 1e-16 in absolute terms, README "Conventions")
unary(
    "tanh",
    python_scalars=True,
    numpy=fn("np.tanh"),
    numba=as_numpy,
    math=math_fn("math.tanh"),
    local=lambda g, x, y: g * (1 - y**2),
    sym=sympy.tanh,
    fusible=True,
    raises_on_floats=False,
    numba_vector="_vtanh",
    libm_calls=1,
)
# the scalar sigmoid guards its exp: it never raises
unary(
    "sigmoid",
    numpy=helper("_sigmoid"),
    numba=nb.sigmoid_emit,
    math=lambda n, a, c: sigmoid_scalar(a[0], c),
    local=lambda g, x, y: g * y * (1 - y),
    sym=sigmoid,
    fusible=True,
    raises_on_floats=False,
    glyph="σ",
    numba_vector="_vsigmoid",
    libm_calls=1,
)
unary(
    "softplus",
    numpy=helper("_softplus"),
    numba=nb.softplus_emit,
    math=helper("_softplus_scalar"),
    local=lambda g, x, y: g * x.op("sigmoid"),
    sym=softplus,
    fusible=True,
    raises_on_floats=False,
    numba_vector="_vsoftplus",
    libm_calls=1,
)
# relu'(0) = 0: the backward is a mask, read off the output (relu(x) > 0 iff x > 0)
unary(
    "relu",
    python_scalars=True,
    numpy=with_zero("np.maximum"),
    numba=as_numpy,
    math=lambda n, a, c: P.call("max", a[0], "0.0"),
    local=lambda g, x, y: y.op("gt", 0).where(g, 0),
    sym=lambda x: sympy.Max(x, 0),
    raises_on_floats=False,
    kinks=at_zero,
)
# erf' = 2 / sqrt(pi) * exp(-x**2); NumPy has no erf: ``_erf`` maps ``math.erf``
ERF_SCALE = 2.0 / math.sqrt(math.pi)
LN2, LN10 = math.log(2.0), math.log(10.0)
unary(
    "erf",
    numpy=helper("_erf"),
    math=math_fn("math.erf"),
    local=lambda g, x, y: g * ERF_SCALE * (-(x * x)).op("exp"),
    sym=erf,
    sym_read=(erf, sympy.erf),
    fusible=True,
    raises_on_floats=False,
    libm_calls=1,
)
# NumPy's inverse and hyperbolic functions and logarithms in base 2 and 10. arcsin' and
# arccos' use (1 - x) (1 + x), exact near |x| = 1 where 1 - x * x cancels
unary(
    "arcsin",
    python_scalars=True,
    numpy=fn("np.arcsin"),
    numba=as_numpy,
    math=math_fn("math.asin"),
    local=lambda g, x, y: g / ((1 - x) * (1 + x)).op("sqrt"),
    sym=sympy.asin,
    fusible=True,
    kinks=inside_unit,
    libm_calls=1,
)
unary(
    "arccos",
    python_scalars=True,
    numpy=fn("np.arccos"),
    numba=as_numpy,
    math=math_fn("math.acos"),
    local=lambda g, x, y: -(g / ((1 - x) * (1 + x)).op("sqrt")),
    sym=sympy.acos,
    fusible=True,
    kinks=inside_unit,
    libm_calls=1,
)
unary(
    "arctan",
    python_scalars=True,
    numpy=fn("np.arctan"),
    numba=as_numpy,
    math=math_fn("math.atan"),
    local=lambda g, x, y: g / (1 + x * x),
    sym=sympy.atan,
    fusible=True,
    raises_on_floats=False,
    libm_calls=1,
)
unary(
    "sinh",
    python_scalars=True,
    numpy=fn("np.sinh"),
    numba=as_numpy,
    math=math_fn("math.sinh"),
    local=lambda g, x, y: g * x.op("cosh"),
    sym=sympy.sinh,
    fusible=True,
    libm_calls=1,
)
unary(
    "cosh",
    python_scalars=True,
    numpy=fn("np.cosh"),
    numba=as_numpy,
    math=math_fn("math.cosh"),
    local=lambda g, x, y: g * x.op("sinh"),
    sym=sympy.cosh,
    fusible=True,
    libm_calls=1,
)
# arcsinh' = 1 / sqrt(x**2 + 1): 0 where x**2 overflows (|x| > 1e154, the exact value
# is below 1e-154)
unary(
    "arcsinh",
    python_scalars=True,
    numpy=fn("np.arcsinh"),
    numba=as_numpy,
    math=math_fn("math.asinh"),
    local=lambda g, x, y: g / (x * x + 1).op("sqrt"),
    sym=sympy.asinh,
    fusible=True,
    raises_on_floats=False,
    libm_calls=1,
)
# arccosh' = 1 / sqrt((x - 1) (x + 1)), exact near x = 1 where x * x - 1 cancels: its
# slope is infinite at 1, and it is nan below
unary(
    "arccosh",
    python_scalars=True,
    numpy=fn("np.arccosh"),
    numba=as_numpy,
    math=math_fn("math.acosh"),
    local=lambda g, x, y: g / ((x - 1) * (x + 1)).op("sqrt"),
    sym=sympy.acosh,
    fusible=True,
    domain=Above(1.0),
    libm_calls=1,
)
# arctanh' = 1 / ((1 - x) (1 + x)): poles at +-1, nan beyond
unary(
    "arctanh",
    python_scalars=True,
    numpy=fn("np.arctanh"),
    numba=as_numpy,
    math=math_fn("math.atanh"),
    local=lambda g, x, y: g / ((1 - x) * (1 + x)),
    sym=sympy.atanh,
    fusible=True,
    kinks=inside_unit,
    libm_calls=1,
)
# log2(x) = log(x) / log(2): the SymPy form, read back as that quotient
unary(
    "log2",
    python_scalars=True,
    numpy=fn("np.log2"),
    numba=as_numpy,
    math=math_fn("math.log2"),
    local=lambda g, x, y: g / (x * LN2),
    sym=lambda x: sympy.log(x) / sympy.log(2),
    domain=Above(0.0),
    libm_calls=1,
)
unary(
    "log10",
    python_scalars=True,
    numpy=fn("np.log10"),
    numba=as_numpy,
    math=math_fn("math.log10"),
    local=lambda g, x, y: g / (x * LN10),
    sym=lambda x: sympy.log(x) / sympy.log(10),
    domain=Above(0.0),
    libm_calls=1,
)
# sign(0) = 0; sign' = 0 everywhere (no adjoint: no gradient flows through it)
unary(
    "sign",
    python_scalars=True,
    keeps_ints=True,
    numpy=fn("np.sign"),
    numba=as_numpy,
    math=helper("_sign_scalar"),
    sym=sympy.sign,
    raises_on_floats=False,
    kinks=at_zero,
)


def arctan2_adj(b, i, n, g):
    """d arctan2(y, x) = (x dy - y dx) / (x**2 + y**2), and 0 at (0, 0) (the minimum-norm
    subgradient, README "Conventions"): the radius is taken as 1 there, where x = y = 0."""
    g, y, x = Value(b, g), Value(b, n.args[0]), Value(b, n.args[1])
    r2 = x * x + y * y
    safe = r2.op("eq", 0).where(1, r2)
    dy = g * x / safe
    dx = -(g * y / safe)
    return [dy.i, dx.i]


def logaddexp_adj(b, i, n, g):
    """d logaddexp(a, b) = sigmoid(a - b) da + sigmoid(b - a) db: each argument's share of
    exp(a) + exp(b); a half each at a tie, also of infinities (where a - b is nan: two
    masked entries, -inf and -inf, of a sum in log space keep a finite gradient)."""
    g, x, y = Value(b, g), Value(b, n.args[0]), Value(b, n.args[1])
    tie = x.op("eq", y)
    return [
        (g * tie.where(0.5, (x - y).op("sigmoid"))).i,
        (g * tie.where(0.5, (y - x).op("sigmoid"))).i,
    ]


# np.logaddexp: log(exp(a) + exp(b)) without overflow; the scalar build's helper is
# max(a, b) + log1p(exp(-|a - b|)), with NumPy's values at ties of infinities and nan.
# Unfused (no SymPy derivative in regions): its convention at ties of infinities
prim(
    "logaddexp",
    elementwise_shape,
    spellings={
        NUMPY: fn("np.logaddexp"),
        MATH: helper("_logaddexp_scalar"),
        NUMBA: as_numpy,
    },
    adjoint=logaddexp_adj,
    sym=logaddexp,
    elementwise=True,
    names=("logaddexp",),
    form="binary",
    raises_on_floats=False,
    libm_calls=2,
)


# unfused (no SymPy derivative in regions): its convention at (0, 0) is not SymPy's
prim(
    "arctan2",
    elementwise_shape,
    spellings={NUMPY: fn("np.arctan2"), MATH: math_fn("math.atan2"), NUMBA: as_numpy},
    adjoint=arctan2_adj,
    sym=sympy.atan2,
    elementwise=True,
    names=("arctan2",),
    form="binary",
    raises_on_floats=False,
    kinks=arctan2_kinks,
    libm_calls=1,
)
