"""Collecting the terms of a fused body after the stable rewrites.

Recognition turns ``log(p)`` and ``log(1 - p)`` of a hand-written sigmoid into
``-softplus(-z)`` and ``-softplus(z)``: two softplus passes (and, in the backward, two
sigmoid passes) where the textbook form needs one. When a body holds a stable function
at both ``x`` and ``-x``, the mirrored call is written through the other
(``softplus(-x) = softplus(x) - x``, ``sigmoid(-x) = 1 - sigmoid(x)``) and the sum is
expanded, so like terms collect: ``y softplus(-z) + (1 - y) softplus(z)`` becomes
``softplus(z) - y z``. The rewritten body is kept only when it calls fewer functions
and has no more operations.
Each term then carries an absolute error of a rounding of ``x`` (as the textbook form
does), where the mirrored call had a relative one.
"""

from __future__ import annotations

import sympy

from ..core.ir import Builder
from ..ops.sympy_functions import sigmoid, softplus
from .body import arg_symbols, body_to_sympy, freeze_body, is_printable
from .convert import build

#: f(-x) through f(x), for the stable functions whose mirror is that cheap
MIRRORS = {
    softplus: lambda x: softplus(x) - x,  # softplus(-x) = softplus(x) - x
    sigmoid: lambda x: 1 - sigmoid(x),  # sigmoid(-x) = 1 - sigmoid(x)
}

#: the body ops of ``MIRRORS``
MIRRORED_OPS = ("softplus", "sigmoid")


def calls(expr) -> set:
    """The function calls in ``expr``."""
    return {e for e in sympy.preorder_traversal(expr) if isinstance(e, sympy.Function)}


def mirrored(expr) -> set:
    """The calls ``f(-x)`` of a ``MIRRORS`` function whose ``f(x)`` ``expr`` also calls."""
    found = calls(expr)
    return {
        e
        for e in found
        if type(e) in MIRRORS
        and e.args[0].could_extract_minus_sign()
        and type(e)(-e.args[0]) in found
    }


def collected_body(body: tuple, nargs: int) -> tuple | None:
    """``body`` with mirrored calls written through their mirror and like terms collected,
    or None when that saves no call."""
    ops = [op for op, _, _ in body if op in MIRRORED_OPS]
    if all(ops.count(op) < 2 for op in ops):
        return None  # no function called twice: no pair (and no SymPy work)
    a = arg_symbols(nargs)
    f = body_to_sympy(body, a)
    pairs = mirrored(f)
    if not pairs:
        return None
    g = sympy.expand(f.xreplace({e: MIRRORS[type(e)](-e.args[0]) for e in pairs}))
    if len(calls(g)) >= len(calls(f)) or not is_printable(g):
        return None
    if sympy.count_ops(g) > sympy.count_ops(f):
        return None  # expanding a product of sums may grow the body: keep it as written
    b = Builder()
    memo = {s: b.emit("input_ref", k=k) for k, s in enumerate(a)}
    return freeze_body(b.nodes, build(b, g, memo, printed=True))
