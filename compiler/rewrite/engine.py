"""The rule engine: named local rewrites, applied by the Builder as each node is made.

Each rule is a named pattern with its algebra in the comment above it, registered
for one op and one phase: ``simplify`` (always on: algebra that only removes work),
``fuse`` (recognising what people write by hand as one stable primitive; off with
``--no-fuse``) or ``late`` (faster spellings that would hide from fusion and
differentiation the structure they read; on only in the rebuild after
differentiation, ``passes.fuse.expand_fused``), and ``numpy`` (late rules for the NumPy
target only: spellings only NumPy makes fast, which the numba target's kernels would not
recognise). A rule takes the builder, the argument indices and the
attributes of the node about to be made, and returns the index of an equivalent
node or ``None``. Rules must keep the shape and the value (up to rounding). Each rule
set is a ``RuleSet``; ``gradc.rewrite`` installs them into ``RULES`` in a fixed order.
Constant folding (``fold``) comes before any rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..core.folding import divide_by_zero, fold_pow
from ..core.prim import PRIMS


@dataclass(frozen=True)
class Rule:
    """A named rewrite of ``op`` nodes in ``phase``: ``fn(builder, args, attrs)`` returns
    the index of an equivalent node, or None."""

    name: str
    op: str
    phase: str
    fn: Callable


#: op -> its rules, in registration order (the first one that applies wins)
RULES: dict[str, list[Rule]] = {}


class RuleSet:
    """Rules in the order they are defined; ``install`` adds them to ``RULES``."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def rule(self, op: str, phase: str = "simplify") -> Callable:
        """A decorator adding the decorated function as a rewrite of ``op`` nodes in
        ``phase``."""
        return partial(self.add, op=op, phase=phase)

    def add(self, fn: Callable, *, op: str, phase: str, name: str | None = None):
        """Add ``fn`` as the rewrite ``name`` (by default its own name) of ``op`` nodes in
        ``phase``; returns ``fn``."""
        self.rules.append(Rule(name or fn.__name__, op, phase, fn))
        return fn


def install(*rule_sets: RuleSet) -> None:
    """Register the rules of ``rule_sets`` in ``RULES``, in that order (for one op, the
    first rule that applies wins)."""
    for rule_set in rule_sets:
        for r in rule_set.rules:
            RULES.setdefault(r.op, []).append(r)


@dataclass(frozen=True)
class Rewriter:
    """The rewrite hook for ``Builder``: constant folding, then the first rule of ``op``
    whose phase is in ``phases`` that applies (a ``fuse`` rule that fires is noted)."""

    phases: tuple[str, ...]

    def __call__(self, b, op: str, args, attrs):
        folded = fold(b, op, args)
        if folded is not None:
            return folded
        for r in RULES.get(op, ()):
            if r.phase in self.phases:
                found = r.fn(b, args, attrs)
                if found is not None:
                    if r.phase == "fuse":
                        b.note(r.name)
                    return found
        return None


def as_written(b, op: str, *args: int, **attrs) -> int:
    """The node ``op(*args)`` made by ``b`` with no rule applied: the formula's order (the
    ``slow`` value of a guarded rewrite)."""
    saved, b.rewrite = b.rewrite, None
    try:
        return b.emit(op, *args, **attrs)
    finally:
        b.rewrite = saved


def make_rewriter(*, fuse: bool, late: bool = False, numpy: bool = False) -> Rewriter:
    """The rewrite hook for ``Builder``: constant folding, then the rules of the phases on
    (``numpy``: the late rules of the NumPy target, with ``late``)."""
    phases = ("simplify",) + (("fuse",) if fuse else ()) + (("late",) if late else ())
    return Rewriter(phases + (("numpy",) if late and numpy else ()))


def fold(b, op, args):
    """Constant folding of arithmetic on constants, with NumPy's float64 results (exact: no
    libm, so byte-identical anywhere): inf for an overflow or a division by zero, nan for
    0 / 0 or a negative base to a fractional power; never a complex number or an exception.
    A fractional power of a base that is not negative is left to NumPy at run time."""
    f = PRIMS[op].fold
    if f is None and op != "pow":
        return None
    if not args or not all(b.is_const(a) for a in args):
        return None
    vals = [b[a].attr("value") for a in args]
    if op == "pow":
        value = fold_pow(*vals)
    elif op == "div" and vals[1] == 0.0:
        value = divide_by_zero(vals[0], vals[1])
    else:
        value = f(*vals)
    return None if value is None else b.const(value)
