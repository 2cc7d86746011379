"""Constant folding of ``/`` by zero and of ``**`` with NumPy's float64 results, exact
(no libm: byte-identical anywhere). The rewriter folds the formula's constants with them
(``rewrite/engine.fold``) and the syntax-tree check folds a power's literal exponent the
same way (``frontend/folded_literals.py``), so both refuse the same exponents.

It needs nothing but ``math``.
"""

from __future__ import annotations

import math


def divide_by_zero(x: float, zero: float) -> float:
    """``x / 0.0`` (or ``-0.0``) in IEEE arithmetic: a signed inf, or nan for 0 / 0 and nan."""
    if x == 0.0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, zero)


def fold_pow(x: float, y: float) -> float | None:
    """``x ** y`` as NumPy's ``np.power`` gives it, where that needs no libm beyond a
    whole ``y``: 1 for ``y == 0`` or ``x == 1`` (a NaN too), NaN for another NaN
    operand and for a finite negative base to a fractional power, ``-inf`` to one as
    ``np.power`` gives it (0 below 0, NaN at 0.5, inf above; ``np.float64``'s ``**`` and
    C's ``pow`` give inf at 0.5), ``x ** int(y)`` for a whole ``y`` up to 1e6; else None
    (left to NumPy at run time)."""
    if y == 0 or x == 1:
        return 1.0
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if math.isinf(y):
        return None
    if y != int(y) and x == -math.inf:  # np.power's (its 0.5 is sqrt's: NaN)
        return 0.0 if y < 0 else math.nan if y == 0.5 else math.inf
    if y != int(y):
        return math.nan if x < 0 else None
    if abs(y) > 1e6:
        return None
    odd = int(y) % 2 == 1
    try:
        return x ** int(y)
    except (ZeroDivisionError, OverflowError):  # 0 to a negative power; an overflow
        return math.copysign(math.inf, x) if odd else math.inf
