"""The late rewrites: faster spellings chosen once the graph is differentiated.

They run after differentiation (and again on ``f_grad``'s graph, whose upstream
gradient is 1), over the whole graph, because they hide structure that fusion and the
adjoint rules read (a ``sum(a * b)`` that becomes ``vdot(a, b)`` has no elementwise
product left), and because they need to know who reads a value: a product that the
backward pass also reads is computed anyway, and stays. The rules themselves are
registered in ``rewrite/contraction.py`` in the ``late`` phase.
"""

from __future__ import annotations

from ..core.ir import Builder, Function, rebuild
from ..rewrite import RULES, make_rewriter


def late(fn: Function) -> Function:
    """``fn`` rebuilt with the ``late`` rules on (and the ``simplify`` rules); ``fn``
    itself when it has no node a late rule rewrites."""
    ops = [op for op, rules in RULES.items() if any(r.phase == "late" for r in rules)]
    if not any(node.op in ops for node in fn.nodes):
        return fn
    return rebuild(fn, Builder(rewrite=make_rewriter(fuse=False, late=True)))
