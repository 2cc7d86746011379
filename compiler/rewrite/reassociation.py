"""Late rules: a product with a small factor made before a constant multiplies the large
array, where that gives the same numbers and overflows only where the original does (for
a runtime scalar, under a bound tested at run time: NumPy target); a matrix times an
outer product as the outer product of a matrix-vector product."""

from __future__ import annotations

import math

from .engine import RuleSet, as_written
from .linear_sums import LIMIT
from .patterns import bare, power_of_two

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


def widening_power_of_two(b, k: int) -> bool:
    """Whether ``k`` is a scalar constant +-2 ** m with |k| >= 1: multiplying by it only
    moves the exponent, so a * (k * x) and (a * x) * k are the same number wherever the
    products are finite and normal, and (a * x) * k overflows only where a * (k * x)
    does (|a * x| > MAX gives |a * k * x| > MAX)."""
    if not b.is_const(k) or b.shape(k) != ():
        return False
    value = b[k].attr("value")
    return (
        math.isfinite(value) and abs(value) >= 1.0 and abs(math.frexp(value)[0]) == 0.5
    )


def smaller(b, a: int, x: int) -> bool:
    """Whether the array ``a`` broadcasts into ``x``'s shape with fewer elements (a row,
    a column: some axis of size 1 where ``x`` has a dimension). Not a scalar: s * (2 x)
    makes no more full-size arrays than (s * x) * 2."""
    sa, sx = b.shape(a), b.shape(x)
    if not sa or len(sa) > len(sx) or sa == sx:
        return False
    pad = (1,) * (len(sx) - len(sa)) + tuple(sa)
    return all(p == 1 or p == q for p, q in zip(pad, sx))


# a * (k * x) -> (a * x) * k  for a constant k = +-2 ** m, |k| >= 1, and an array a smaller
# than x: the mean's adjoint times 2 xc is d_v / D * xc * 2.0, where d_v / D * (2.0 * xc)
# keeps a second full-size temporary alive (7-15x slower at 1024x512, bench/README.md).
# Not when something else reads k * x: it is computed anyway, and a * (k * x) is one pass
# over it where (a * x) * k is two (GMM's Qdiags * d_Lx, bench/README.md)
@rule("mul", "late")
def small_factor_first(b, args, attrs):
    if attrs:
        return None
    for a, y in (args, args[::-1]):
        if not bare(b, y, "mul") or b[y].attrs or b[a].dtype != "float":
            continue
        if b.users is not None and b.users.get(y, 0) > 1:
            continue
        p, q = b[y].args
        for k, x in ((p, q), (q, p)):
            if (
                widening_power_of_two(b, k)
                and b.shape(x) == b.shape(y)
                and b[x].dtype == "float"
                and smaller(b, a, x)
            ):
                folded = scaled_constant(b, a, b[k].attr("value"))
                if folded is not None:
                    return b.mul(folded, x)
                return b.mul(b.mul(a, x), k)
    return None


# (c * t) * x * k -> ((c * k) * t) * x  for c, k = +-2 ** m with |c * k| <= 1 (within
# small_factor_first, also through the small factor's new axes): GMM's
# (-0.5 * d)[:, :, None] * Lx * 2.0 is (-d)[:, :, None] * Lx, one pass over the large
# array where there were two. c * k is exact; (c k) t neither overflows (|c k| <= 1) nor
# rounds; the product with x rounds once, as before
def scaled_constant(b, a: int, k: float) -> int | None:
    """``a`` times ``k`` made by folding ``k`` into a constant factor of ``a`` (``c * t``,
    maybe under ``expand_dims``) when c is +-2 ** m and |c * k| <= 1; else None."""
    if bare(b, a, "expand_dims"):
        inner = scaled_constant(b, b[a].args[0], k)
        if inner is None:
            return None
        return b.emit("expand_dims", inner, **dict(b[a].attrs))
    if not bare(b, a, "mul") or b[a].attrs or len(b[a].args) != 2:
        return None
    for c, t in (b[a].args, b[a].args[::-1]):
        if b.is_const(c) and b.shape(c) == () and b.shape(t) == b.shape(a):
            value = b[c].attr("value") * k
            if power_of_two(b[c].attr("value")) and abs(value) <= 1.0:
                return b.mul(b.const(value), t)
    return None


# k * (s * x) -> (k * s) * x  for k = +-2 ** m, |k| >= 1, a runtime scalar s and an array x,
# where |s| < LIMIT / |k|; as written otherwise (and for nan). Under the bound k * s is
# exact and finite, so both forms round once and overflow where |k s x| > MAX: ridge's
# 2.0 * (lam * w) is 2.0 * lam * w, one pass over w where there were two (bench/README.md)
@rule("mul", "numpy")
def scalar_meets_constant(b, args, attrs):
    if attrs:
        return None
    for k, y in (args, args[::-1]):
        if not widening_power_of_two(b, k) or not bare(b, y, "mul") or b[y].attrs:
            continue
        if b.shape(y) == () or (b.users is not None and b.users.get(y, 0) > 1):
            continue  # a scalar, or y computed anyway for another reader
        p, q = b[y].args
        for s, x in ((p, q), (q, p)):
            if runtime_float(b, s) and b.shape(x) == b.shape(y):
                limit = b.const(LIMIT / abs(b[k].attr("value")))
                cond = b.emit("lt", b.emit("abs", s), limit)
                slow = as_written(b, "mul", *args)
                return b.emit("guarded", cond, b.mul(b.mul(k, s), x), slow)
    return None


def runtime_float(b, s: int) -> bool:
    """Whether ``s`` is a float scalar known only at run time (not a constant)."""
    return b.shape(s) == () and b[s].dtype == "float" and not b.is_const(s)


# X @ outer(u, v) -> outer(X @ u, v) and outer(u, v) @ Y -> outer(u, v @ Y) for matrices X
# and Y: m n + m k work where the product was m n k. inv's adjoint Y^T G Y^T of
# sum(w * (inv(A) @ b)) takes G = outer(w, b): two O(n^3) products become four O(n^2)
@rule("matmul", "late")
def product_with_outer(b, args, attrs):
    x, y = args
    if len(b.shape(x)) == 2 and bare(b, y, "outer"):
        u, v = b[y].args
        return b.emit("outer", b.emit("matmul", x, u), v)
    if len(b.shape(y)) == 2 and bare(b, x, "outer"):
        u, v = b[x].args
        return b.emit("outer", u, b.emit("matmul", v, y))
    return None
