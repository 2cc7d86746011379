"""Simplify rules: arithmetic identities that only remove work (``x + 0``, ``-(-x)``,
``x * 1``, constants first, negations moved to the smaller value)."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

from .engine import RuleSet
from .patterns import bare, keeps_shape, power_of_two

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


# x + 0 -> x ; 0 + x -> x
@rule("add")
def add_zero(b, args, attrs):
    x, y = args
    if b.is_const(y, 0.0) and keeps_shape(b, x, args):
        return x
    if b.is_const(x, 0.0) and keeps_shape(b, y, args):
        return y
    return None


# a + (-c) -> a - c ; (-c) + a -> a - c
@rule("add")
def add_neg(b, args, attrs):
    if attrs.get("acc"):
        return None  # an accumulation stays one: d_z = ...; d_z -= ...
    x, y = args
    if bare(b, y, "neg"):
        return b.sub(x, b[y].args[0])
    if bare(b, x, "neg"):
        return b.sub(y, b[x].args[0])
    return None


# a + (-k) -> a - k ; (-k) + a -> a - k  for a negative constant -k (IEEE: exactly equal)
@rule("add")
def add_negative_constant(b, args, attrs):
    if attrs.get("acc"):
        return None
    x, y = args
    for k, a in ((y, x), (x, y)):
        if b.is_const(k) and b[k].attr("value") < 0 and not b.is_const(a):
            return b.sub(a, b.const(-b[k].attr("value")))
    return None


# x + x -> 2 * x
@rule("add")
def add_self(b, args, attrs):
    x, y = args
    if x == y and b[x].dtype == "float":
        return b.mul(b.const(2), x)
    return None


# x - 0 -> x ; 0 - x -> -x ; a - (-c) -> a + c
@rule("sub")
def sub_simple(b, args, attrs):
    x, y = args
    if b.is_const(y, 0.0) and keeps_shape(b, x, args):
        return x
    if b.is_const(x, 0.0) and keeps_shape(b, y, args):
        return b.neg(y)
    if bare(b, y, "neg"):
        return b.add(x, b[y].args[0])
    return None


# a - b -> -(b - a)  when b - a is already a value (IEEE subtraction is antisymmetric)
@rule("sub")
def sub_flip(b, args, attrs):
    x, y = args
    if attrs or b[x].dtype != "float" or b[y].dtype != "float":
        return None
    flipped = b.find("sub", y, x)
    return None if flipped is None else b.neg(flipped)


# x * 1 -> x ; 1 * x -> x ; -1 * x -> -x
@rule("mul")
def mul_one(b, args, attrs):
    x, y = args
    for c, other in ((x, y), (y, x)):
        if b.is_const(c, 1.0) and keeps_shape(b, other, args):
            return other
        if b.is_const(c, -1.0) and keeps_shape(b, other, args):
            return b.neg(other)
    return None


# x * x -> x ** 2  when the graph holds x ** 2 already (and ``pow_as_product``: the other
# way); a local gradient from SymPy reads exp(-x**2) where the formula wrote exp(-x * x):
# one exp, not two (the same rounded product)
@rule("mul")
def mul_as_square(b, args, attrs):
    x, y = args
    if x != y or attrs or b[x].dtype != "float":
        return None
    return b.find("pow", x, b.const(2))


# (-a) * (-c) -> a * c ; (-a) * c -> -(a * c) ; a * (-c) -> -(a * c)
@rule("mul")
def mul_neg(b, args, attrs):
    x, y = args
    if bare(b, x, "neg") and bare(b, y, "neg"):
        return b.mul(b[x].args[0], b[y].args[0])
    if bare(b, x, "neg") and not b.is_const(y):
        return b.neg(b.mul(b[x].args[0], y))
    if bare(b, y, "neg") and not b.is_const(x):
        return b.neg(b.mul(x, b[y].args[0]))
    return None


def exact_product(b, s: int, t: int) -> bool:
    """Whether ``s`` and ``t`` are constants whose product is exact, finite and normal.

    Then (s * t) * X rounds once where s * (t * X) rounds twice, and overflows, underflows
    or gives NaN only where s * (t * X) does: at s = t = 1e200, x = 0 the product of two
    runtime scalars would be inf and inf * 0 NaN, where s * (t * x) is 0.
    """
    if not (b.is_const(s) and b.is_const(t)):
        return False
    u, v = b[s].attr("value"), b[t].attr("value")
    p = u * v
    return (
        math.isfinite(p)
        and abs(p) >= sys.float_info.min
        and Fraction(u) * Fraction(v) == Fraction(p)
    )


def over_dimension(b, s: int, t: int) -> int | None:
    """``s * t`` as one quotient ``(c * k) / n`` where one of them is a constant over a
    dimension, ``c / n`` (a mean's share of a constant seed), and the other a constant
    ``k = +-2 ** m`` with ``c * k`` exact and normal; else None.

    k only moves the exponent, so (c k / n) * X is k * ((c / n) * X) and (c / n) * (k X)
    to the bit wherever those are finite and normal, and |c k / n| <= |c k| (n >= 1; at
    n = 0 both divide by zero): the product overflows only where theirs does. Not for a
    runtime numerator (``d_out / n``): k * d_out / n may overflow where k * X does not.
    """
    for q, k in ((s, t), (t, s)):
        if not bare(b, q, "div") or not b.is_const(k) or b.shape(k) != ():
            continue
        c, n = b[q].args
        if b[n].op == "dim" and power_of_two(b[k].attr("value")):
            if exact_product(b, c, k):
                return b.div(b.const(b[c].attr("value") * b[k].attr("value")), n)
    return None


# a * (b * X) -> (a * b) * X  for constants a, b whose product is exact (``exact_product``)
# and an array X (one pass over X, not two); k * (c / n * X) -> (c * k) / n * X for a
# dimension n and k = +-2 ** m (``over_dimension``: mean(r ** 2)'s 1.0 / n * (2.0 * r))
@rule("mul")
def mul_scalars_first(b, args, attrs):
    if attrs:
        return None
    for s, other in (args, args[::-1]):
        if b.shape(s) != () or b.shape(other) == () or b[other].op != "mul":
            continue
        if b[other].name or b[other].attrs or b[s].dtype != "float":
            continue  # never through a named value, adjoints included (edit locality)
        p, q = b[other].args
        for s2, arr in ((p, q), (q, p)):
            if b.shape(s2) != () or b.shape(arr) != b.shape(other):
                continue
            if exact_product(b, s, s2):
                return b.mul(b.mul(s, s2), arr)
            scalar = over_dimension(b, s, s2)
            if scalar is not None:
                return b.mul(scalar, arr)
    return None


# k * (c / n) -> (c * k) / n  for a dimension n and k = +-2 ** m with c * k exact: the same
# number (``over_dimension``), one operation (2.0 * (0.5 / N) is 1.0 / N)
@rule("mul")
def mul_over_dimension(b, args, attrs):
    if attrs or any(b.shape(a) != () for a in args):
        return None
    return over_dimension(b, *args)


def product_with_constant(b, y: int, depth: int = 4) -> tuple[int, ...] | None:
    """The path from the product ``y`` down to a constant factor (its last entry), through
    unnamed ``mul`` nodes only, or None."""
    if depth == 0 or b[y].op != "mul" or b[y].name or b[y].attrs:
        return None  # never through a named value, adjoints included (edit locality)
    for a in b[y].args:
        if b.is_const(a):
            return (y, a)
    for a in b[y].args:
        path = product_with_constant(b, a, depth - 1)
        if path is not None:
            return (y, *path)
    return None


def with_factor(b, path: tuple[int, ...], c: int) -> int:
    """The product ``path[0]`` with its constant factor ``path[-1]`` multiplied by ``c``."""
    y, rest = path[0], path[1:]
    other = [a for a in b[y].args if a != rest[0]]
    if len(rest) == 1:  # y = k * other: (c * k) * other
        return b.mul(
            b.const(b[c].attr("value") * b[rest[0]].attr("value")), *other or [rest[0]]
        )
    return b.mul(with_factor(b, rest, c), *other or [rest[0]])


def meets_safely(b, path: tuple[int, ...], c: int) -> bool:
    """Whether ``(c * k) * a * x ...`` (``path`` from the product down to ``k``) overflows
    only where ``c * (k * a * x ...)`` does. Each partial product of the first is ``c``
    times the second's: with one other factor it is the result itself; with two, the
    partial ``(c * k) * a`` is no larger than ``a`` when ``|c k| <= 1``; with any number,
    no partial grows when ``|c| <= 1``. Otherwise ``(4.0 * s) * x`` overflows at
    ``s = 0.3 MAX`` where ``2.0 * ((2.0 * s) * x)`` is finite for ``|x| < 1``."""
    u, v = b[c].attr("value"), b[path[-1]].attr("value")
    factors = len(path) - 1
    return factors == 1 or abs(u) <= 1.0 or (factors == 2 and abs(u * v) <= 1.0)


# c * (k * a * x) -> (c * k) * a * x  for scalar constants c, k whose product is exact,
# where that overflows only where the formula's order does (``meets_safely``):
# ``0.5 * d_out * reg * 2.0`` is ``d_out * reg``; through unnamed products only
@rule("mul")
def mul_constants_meet(b, args, attrs):
    if attrs:
        return None
    for c, y in (args, args[::-1]):
        if not b.is_const(c) or b.shape(c) != () or b.is_const(y):
            continue
        path = product_with_constant(b, y)
        if path is None or not exact_product(b, c, path[-1]):
            continue
        if meets_safely(b, path, c):
            return with_factor(b, path, c)
    return None


# x / 1 -> x ; (-a) / c -> -(a / c)
@rule("div")
def div_simple(b, args, attrs):
    x, y = args
    if b.is_const(y, 1.0) and keeps_shape(b, x, args):
        return x
    if bare(b, x, "neg"):
        return b.neg(b.div(b[x].args[0], y))
    return None


# -(-x) -> x ; -(c / x) -> (-c) / x ; -(c * n) -> (-c) * n  for a dimension n
@rule("neg")
def neg_neg(b, args, attrs):
    (x,) = args
    if bare(b, x, "neg"):
        return b[x].args[0]
    if bare(b, x, "div") and b.is_const(b[x].args[0]):
        return b.div(b.const(-b[b[x].args[0]].attr("value")), b[x].args[1])
    if bare(b, x, "mul") and b.is_const(b[x].args[0]) and b[b[x].args[1]].op == "dim":
        return b.mul(b.const(-b[b[x].args[0]].attr("value")), b[x].args[1])
    return None


def reduce_neg(b, args, attrs, op: str):
    """``op(x)`` of a bare negation ``x = -y`` as ``-op(y)``, else None."""
    (x,) = args
    if bare(b, x, "neg"):
        return b.neg(b.emit(op, b[x].args[0], **attrs))
    return None


# sum(-x) -> -sum(x)  (the negation moves to the smaller value)
@rule("sum")
def sum_neg(b, args, attrs):
    return reduce_neg(b, args, attrs, "sum")


# mean(-x) -> -mean(x)  (the negation moves to the smaller value)
@rule("mean")
def mean_neg(b, args, attrs):
    return reduce_neg(b, args, attrs, "mean")


# (-a) @ c -> -(a @ c) ; a @ (-c) -> -(a @ c)
@rule("matmul")
def matmul_neg(b, args, attrs):
    x, y = args
    if bare(b, x, "neg") and not bare(b, y, "neg"):
        return b.neg(b.emit("matmul", b[x].args[0], y, **attrs))
    if bare(b, y, "neg") and not bare(b, x, "neg"):
        return b.neg(b.emit("matmul", x, b[y].args[0], **attrs))
    return None


# eye(n) @ x -> x ; x @ eye(n) -> x  (f_hessian's unit tangents through a product)
@rule("matmul")
def matmul_eye(b, args, attrs):
    x, y = args
    if b[x].op == "eye":
        return y
    if b[y].op == "eye":
        return x
    return None


# x ** 2 -> x * x  when the graph holds x * x already (see ``mul_as_square``)
@rule("pow")
def pow_as_product(b, args, attrs):
    x, y = args
    if not b.is_const(y, 2.0) or attrs or b[x].dtype != "float":
        return None
    return b.find("mul", x, x)


# norm(x) ** 2 -> sum(x * x)  (the same axis and keepdims): no square root to square
# again, and the gradient 2 x where the norm's is x / ||x|| * 2 ||x||, guarded at 0
# (ridge's lam * norm(w) ** 2); it overflows where the norm's square does (sum x**2 > MAX)
@rule("pow")
def pow_norm_squared(b, args, attrs):
    n, y = args
    if attrs or not b.is_const(y, 2.0) or not bare(b, n, "norm"):
        return None
    (x,) = b[n].args
    return b.emit("sum", b.mul(x, x), **dict(b[n].attrs))


# x ** 1 -> x
@rule("pow")
def pow_one(b, args, attrs):
    x, y = args
    if b.is_const(y, 1.0) and keeps_shape(b, x, args):
        return x
    return None
