"""Late rules: a small factor meets a constant before the product reaches a large array,
where that gives the same numbers (one pass over the large array instead of two)."""

from __future__ import annotations

import math

from .engine import RuleSet
from .patterns import bare

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


def power_of_two(b, k: int) -> bool:
    """Whether ``k`` is a scalar constant +-2 ** m: multiplying by it only moves the
    exponent, so a * (k * x) and (a * k) * x are the same number wherever a * k, k * x
    and the product are finite and normal."""
    if not b.is_const(k) or b.shape(k) != ():
        return False
    value = b[k].attr("value")
    return math.isfinite(value) and abs(math.frexp(value)[0]) == 0.5


def smaller(b, a: int, x: int) -> bool:
    """Whether ``a`` broadcasts into ``x``'s shape with fewer elements (a scalar, a row,
    a column: some axis of size 1 where ``x`` has a dimension)."""
    sa, sx = b.shape(a), b.shape(x)
    if len(sa) > len(sx) or sa == sx:
        return False
    pad = (1,) * (len(sx) - len(sa)) + tuple(sa)
    return all(p == 1 or p == q for p, q in zip(pad, sx))


# a * (k * x) -> (a * k) * x  for a constant k = +-2 ** m and a smaller than x (the mean's
# adjoint times 2 x: d_v / D * 2.0 * xc, one pass over xc where d_v / D * (2.0 * xc) is two)
@rule("mul", "late")
def small_factor_first(b, args, attrs):
    if attrs:
        return None
    for a, y in (args, args[::-1]):
        if not bare(b, y, "mul") or b[y].attrs or b[a].dtype != "float":
            continue
        p, q = b[y].args
        for k, x in ((p, q), (q, p)):
            if (
                power_of_two(b, k)
                and b.shape(x) == b.shape(y)
                and b[x].dtype == "float"
                and smaller(b, a, x)
            ):
                return b.mul(b.mul(a, k), x)
    return None
