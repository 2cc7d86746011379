"""Elementwise functions (exp, log, sigmoid, ...): local gradient times upstream."""

from __future__ import annotations

import math

import sympy

from ..core import printer as P
from ..core.prim import prim
from .common import (
    elementwise_shape,
    same_shape,
    unbroadcast,
    where0,
    zero,
)
from .spelling import (
    fn,
    helper,
    math_fn,
    with_zero,
)

# ----------------------------------------------------------------------------
# Elementwise functions: local gradient times upstream


def unary(name, spelling, local, sym=None, scalar=None):
    """An elementwise function whose adjoint is ``g * local(b, x, out)``.

    ``scalar`` is its spelling on Python floats (``math.exp`` or a module helper).
    """

    def adjoint(b, i, n, g):
        return [local(b, g, n.args[0], i)]

    extra = {}
    if isinstance(scalar, str):
        extra["scalar"] = helper(scalar) if scalar.startswith("_") else math_fn(scalar)
    elif scalar is not None:
        extra["scalar"] = scalar

    if spelling.startswith("_"):
        emit = helper(spelling)
    elif spelling.endswith("0"):
        emit = with_zero(spelling[:-1])
    else:
        emit = fn(spelling)
    prim(name, same_shape, emit, adjoint, sym=sym, elementwise=True, **extra)


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


unary("exp", "np.exp", lambda b, g, x, y: b.mul(g, y), sympy.exp, "math.exp")
unary("log", "np.log", lambda b, g, x, y: b.div(g, x), sympy.log, "math.log")
unary(
    "log1p",
    "np.log1p",
    lambda b, g, x, y: b.div(g, b.add(b.const(1), x)),
    lambda x: sympy.log(1 + x),
    "math.log1p",
)
# expm1' = exp(x), not y + 1: that rounds to 0 at x = -40 (exp(-40) = 4.2e-18)
unary(
    "expm1",
    "np.expm1",
    lambda b, g, x, y: b.mul(g, b.emit("exp", x)),
    lambda x: sympy.exp(x) - 1,
    "math.expm1",
)
unary(
    "sqrt",
    "np.sqrt",
    lambda b, g, x, y: b.div(g, b.mul(b.const(2), y)),
    sympy.sqrt,
    "math.sqrt",
)
unary(
    "square",
    "np.square",
    lambda b, g, x, y: b.mul(g, b.mul(b.const(2), x)),
    lambda x: x**2,
    lambda n, a, c: P.power(a[0], P.number(2, integral=True)),
)
# abs'(0) = 0
unary("abs", "np.abs", lambda b, g, x, y: b.mul(g, b.emit("sign", x)), sympy.Abs, "abs")
unary(
    "sin",
    "np.sin",
    lambda b, g, x, y: b.mul(g, b.emit("cos", x)),
    sympy.sin,
    "math.sin",
)
unary(
    "cos",
    "np.cos",
    lambda b, g, x, y: b.neg(b.mul(g, b.emit("sin", x))),
    sympy.cos,
    "math.cos",
)
unary(
    "tan",
    "np.tan",
    lambda b, g, x, y: b.mul(g, b.add(b.const(1), b.mul(y, y))),
    sympy.tan,
    "math.tan",
)
# tanh' = 1 - y**2 and sigmoid' = s * (1 - s), from the node's own output (as JAX and the
# lecture write them: no second exp; where y nears +-1 the cancellation costs relative
# precision of a gradient below 1e-16 in absolute terms, README "Conventions")
unary(
    "tanh",
    "np.tanh",
    lambda b, g, x, y: b.mul(g, b.sub(b.const(1), b.emit("pow", y, b.const(2)))),
    sympy.tanh,
    "math.tanh",
)
unary(
    "sigmoid",
    "_sigmoid",
    lambda b, g, x, y: b.mul(b.mul(g, y), b.sub(b.const(1), y)),
    lambda x: 1 / (1 + sympy.exp(-x)),
    lambda n, a, c: sigmoid_scalar(a[0], c),
)
unary(
    "softplus",
    "_softplus",
    lambda b, g, x, y: b.mul(g, b.emit("sigmoid", x)),
    lambda x: sympy.log(1 + sympy.exp(x)),
    "_softplus_scalar",
)
# relu'(0) = 0: the backward is a mask, read off the output (relu(x) > 0 iff x > 0)
unary(
    "relu",
    "np.maximum0",
    lambda b, g, x, y: where0(b, b.emit("gt", y, zero(b)), g),
    lambda x: sympy.Max(x, 0),
    lambda n, a, c: P.call("max", a[0], "0.0"),
)
# sign(0) = 0; sign' = 0 everywhere (no adjoint: no gradient flows through it)
prim(
    "sign",
    same_shape,
    fn("np.sign"),
    None,
    sym=sympy.sign,
    elementwise=True,
    scalar=helper("_sign_scalar"),
)
# erf' = 2 / sqrt(pi) * exp(-x**2); NumPy has no erf: ``_erf`` maps ``math.erf``
ERF_SCALE = 2.0 / math.sqrt(math.pi)
unary(
    "erf",
    "_erf",
    lambda b, g, x, y: b.mul(
        b.mul(g, b.const(ERF_SCALE)), b.emit("exp", b.neg(b.mul(x, x)))
    ),
    sympy.erf,
    "math.erf",
)


def arctan2_adj(b, i, n, g):
    """d arctan2(y, x) = (x dy - y dx) / (x**2 + y**2), and 0 at (0, 0) (the minimum-norm
    subgradient, README "Conventions"): the radius is taken as 1 there, where x = y = 0."""
    y, x = n.args
    r2 = b.add(b.mul(x, x), b.mul(y, y))
    safe = b.emit("where", b.emit("eq", r2, zero(b)), b.const(1), r2)
    dy = b.div(b.mul(g, x), safe)
    dx = b.neg(b.div(b.mul(g, y), safe))
    return [unbroadcast(b, dy, b.shape(y)), unbroadcast(b, dx, b.shape(x))]


# unfused (no SymPy derivative in regions): its convention at (0, 0) is not SymPy's
prim(
    "arctan2",
    elementwise_shape,
    fn("np.arctan2"),
    arctan2_adj,
    sym=sympy.atan2,
    elementwise=True,
    scalar=math_fn("math.atan2"),
)
