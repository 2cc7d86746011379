"""A NumPy-target rule: a whole sum (or mean) of an array scaled by a scalar is the sum
scaled once, ``sum(a / c) -> sum(a) / c``, where the sum itself shows that this order
overflows, underflows or gives nan only where the formula's does.

A Scalar parameter's gradient is such a sum: ``d/ds sum(x / s) = -sum(g * x / s ** 2)``,
and ``d log_sigma`` of a Gaussian's negative log-likelihood is ``sum(r ** 2 / sigma) *
sigma``, whose ``sum(r ** 2)`` the value has computed already (bench/README.md, "A sum
scaled once"). Summing first saves the scaled array's pass and its temporary, and a sum
of products inside (``sum(g * x)``) becomes a ``vdot``.

Why the sum is the test: once a partial sum is inf it stays inf or becomes nan, so a
finite ``t = sum(a)`` means no partial sum of ``a`` overflowed; then ``t * c`` is inf or
nan only where the formula's order is (with ``|c| <= 1`` its partial sums are ``c`` times
those of ``a``; with ``|c| > 1``, ``t * c`` overflows only where the formula's final sum
does). So ``guarded(|t| < LIMIT, t * c, sum(a * c))``: the formula's order where the
sum is not below the limit, or is nan. The test does not look at the elements: where the
formula's own products overflow and their sum cancels (``[1e308, -1e308] * 10``), the
result is the finite sum, as with ``contraction.py``'s dot products (the bound of
``linear_sums.py`` would cost a pass over ``a``). A scale computed from constants alone
(``2.0 ** 0.5``) keeps the formula's order: NumPy's value, bit for bit.
"""

from __future__ import annotations

from .engine import RuleSet, as_written
from .linear_sums import below_limit, scale_of, temporary

RULE_SET = RuleSet()
rule = RULE_SET.rule


def of_constants(b, c: int, depth: int = 0) -> bool:
    """Whether the scale ``c`` is computed from constants alone (``2.0 ** 0.5``,
    ``log(0)``): a sum scaled by one keeps NumPy's value of the formula bit for bit."""
    node = b[c]
    if node.op == "const":
        return True
    if not node.args or depth > 8:
        return False
    return all(of_constants(b, a, depth + 1) for a in node.args)


def scaled_once(b, x: int, whole: str, attrs: dict) -> int | None:
    """``whole(x)`` (``sum`` or ``mean`` over every axis) of a scaled temporary ``x`` as
    ``whole(a)`` scaled once, guarded by ``|whole(a)| < LIMIT``; None where ``x`` is not
    one (or the reduction, ``attrs``, keeps its axes or leaves one out)."""
    rank = len(b.shape(x))
    axes = attrs.get("axis")
    every = axes is None or sorted(axes) == list(range(rank))
    if attrs.get("keepdims") or not every:
        return None
    if not rank or not temporary(b, x):
        return None
    # a * c (either order) or a / c, c a float scalar (constant along every axis)
    found = None if b[x].attrs else scale_of(b, x, tuple(range(rank)), False)
    if found is None:
        return None
    op, a, c = found
    if b[a].dtype != "float" or of_constants(b, c):
        return None
    t = b.emit(whole, a, **attrs)
    fast = b.mul(t, c) if op == "mul" else b.div(t, c)
    total = b.emit("abs", t)
    return below_limit(b, total, fast, as_written(b, whole, x, **attrs))


# sum(a / c) -> sum(a) / c ; sum(a * c) -> sum(a) * c   for a scalar c, where |sum(a)| <
# 1e300 (the formula's order otherwise)
@rule("sum", "numpy")
def sum_scaled_once(b, args, attrs):
    return scaled_once(b, args[0], "sum", attrs)


# mean(a / c) -> mean(a) / c ; mean(a * c) -> mean(a) * c   as sum_scaled_once
@rule("mean", "numpy")
def mean_scaled_once(b, args, attrs):
    return scaled_once(b, args[0], "mean", attrs)
