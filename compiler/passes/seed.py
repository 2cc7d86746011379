"""The graph ``f_value_and_grad`` prints: the adjoint graph with its upstream gradient
set to 1, simplified again (the late rewrites too: a ``sum(d_out * a * b)`` may now be
``vdot(a, b)``)."""

from __future__ import annotations

import dataclasses

from ..core.ir import Builder, Function, rebuild
from ..rewrite import make_rewriter
from .late import late


def seed_one(fn: Function, numpy: bool = True) -> Function:
    """The differentiated ``fn`` with its seed ``d_<out>`` replaced by the constant 1
    (``numpy``: for the NumPy target, ``late``)."""
    b = Builder(rewrite=make_rewriter(fuse=False))  # recognition is for formulas only

    def one(i, node, remap):
        return b.const(1.0) if i == fn.seed else None

    return late(dataclasses.replace(rebuild(fn, b, one), seed=None), numpy)


def with_value_and_grad(fn: Function, numpy: bool = True) -> Function:
    """``fn`` carrying its seed-one graph when its output is a scalar (SPEC: only scalar
    functions have ``f_grad`` and ``f_value_and_grad``)."""
    if fn.nodes[fn.output].shape != ():
        return fn
    return dataclasses.replace(fn, value_and_grad=seed_one(fn, numpy))
