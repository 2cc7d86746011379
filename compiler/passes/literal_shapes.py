"""Which functions ``scalarise`` may expand, decided without NumPy.

``scalarise`` keeps each array's elements in NumPy object arrays, so the pipeline imports
it only for a function this module admits (``may_scalarise``): a compile of any other
formula imports no NumPy (bench/README.md, start-up). ``late.py`` reads ``literal`` too.
"""

from __future__ import annotations

import math

from ..core.ir import Function, reachable
from ..ops.guarded import formula_order

#: the largest array (elements) a scalarised function holds; beyond it NumPy's one call
#: per array costs less than a Python statement per element
MAX_ELEMENTS = 16


class NotScalar(Exception):
    """A value or operation the pass does not expand (the function stays as it is)."""


def literal(shape: tuple) -> tuple[int, ...]:
    """``shape`` as ints, or ``NotScalar`` for a symbolic or too large one."""
    try:
        out = tuple(int(d) for d in shape)
    except TypeError:
        raise NotScalar("symbolic shape") from None
    size = math.prod(out)
    if size > MAX_ELEMENTS:
        raise NotScalar("large array")
    if size == 0:  # a sum over nothing, an empty slice: left to NumPy
        raise NotScalar("empty array")
    return out


def used_nodes(g: Function) -> list[int]:
    """The nodes graph ``g``'s results read, in order, each a float of a small literal
    shape (``NotScalar`` for any other)."""
    results = [g.output, *g.grads.values()]
    if g.seed is not None:
        results.append(g.seed)
    used = sorted(reachable(g.nodes, results, formula_order))  # ``guarded``: slow only
    for i in used:
        literal(g.nodes[i].shape)
        if g.nodes[i].dtype == "int":
            raise NotScalar("integer value")
    return used


def may_scalarise(fn: Function) -> bool:
    """Whether ``scalarise`` may expand ``fn``: an array somewhere, a scalar output, and
    every value ``fn``'s graph reads a float of a small literal shape (its other graphs
    and operations are ``scalarise``'s to check)."""
    if all(n.shape == () for n in fn.nodes):  # scalar already: the ``math`` build
        return False
    if fn.nodes[fn.output].shape != ():  # f_backward would take an array seed
        return False
    try:
        used_nodes(fn)
    except NotScalar:
        return False
    return True
