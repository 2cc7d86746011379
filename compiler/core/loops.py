"""Loops in the graph IR: a ``loop`` node carries its body as a sub-graph (as a ``fused``
node carries its elementwise body), and ``loop_grad`` carries the body's adjoint graph.

A body is a list of ordinary nodes. Its parameters stand for the values the body reads
from outside (``captures``, loop-invariant: the loop node's first arguments) and for the
loop-carried values at the start of an iteration (``carried``: the loop node's last
arguments are their values before the loop); ``outs`` are the carried values at the end of
an iteration. The loop variable is a SymPy integer symbol, so ``x[:, t, :]`` is an
ordinary ``getitem`` whose index mentions ``t`` (printed as the Python loop variable).

Results are read through projections: ``loop_out(loop, k)`` is carried value ``k`` after
the last iteration, ``loop_tape(loop, j)`` the values of body node ``j`` over every
iteration (its leading axis is the trip count), which the forward records for the
backward; ``loop_grad_out(grad, k)`` the gradients the reverse loop computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .shapes import canon


@dataclass(frozen=True, eq=False)
class LoopBody:
    """The body of ``for var in range(start, stop, step)`` (compared by identity)."""

    var: str
    start: object
    stop: object
    step: int
    nodes: tuple
    captures: tuple[int, ...]  # body params standing for the loop's captured values
    carried: tuple[int, ...]  # body params: carried values at an iteration's start
    outs: tuple[int, ...]  # body nodes: carried values at an iteration's end
    names: tuple[str, ...]  # the carried values' formula names
    header: str = ""  # the ``for`` line as written (comments and ``gradc ir``)

    @property
    def symbol(self) -> sympy.Symbol:
        return loop_symbol(self.var)

    @property
    def trips(self):
        """The trip count as a dimension expression (``T``, ``T - 1``, ``(n + 1) // 2``)."""
        return trip_count(self.start, self.stop, self.step)

    def position(self):
        """The iteration's position from the loop variable (the tape row): ``t - start``
        for a unit step, ``(t - start) // step`` otherwise (negative steps too)."""
        t = self.symbol
        if self.step == 1:
            return canon(t - self.start)
        if self.step > 0:
            return sympy.floor((t - self.start) / self.step)
        return sympy.floor((self.start - t) / -self.step)

    def __hash__(self):
        return id(self)


@dataclass(frozen=True, eq=False)
class LoopGrad:
    """The reverse loop of ``loop``: ``nodes`` is the body followed by its adjoint graph.

    ``roles`` names each argument of the ``loop_grad`` node: ``("seed", k)`` the upstream
    gradient of carried value ``k`` after the loop, ``("tape", j)`` the recorded values of
    body node ``j``, ``("capture", p)`` the outer value of capture parameter ``p``,
    ``("start", k)`` carried value ``k`` before the loop: its value at an iteration's
    start is then the previous row of the tape of its value at the end.
    ``seeds[k]`` is the body parameter standing for carried value ``k``'s gradient at the
    end of an iteration (None: not differentiated), ``d_carried[k]`` its gradient at the
    start (None: zero), ``d_captures[c]`` capture ``c``'s gradient from one iteration
    (None: none), accumulated over the iterations. ``recompute`` are the body nodes the
    reverse loop computes again rather than reading a tape. ``outs`` lists the gradients
    the node yields, ``("carried", k)`` or ``("capture", c)``, in ``loop_grad_out`` order.
    ``loop`` is the body with its fused nodes expanded (``passes/loop_bodies``), which
    the forward loop takes in place of ``source`` once the graph is expanded.
    """

    loop: LoopBody
    nodes: tuple
    roles: tuple
    seeds: tuple
    d_carried: tuple
    d_captures: tuple
    recompute: tuple
    outs: tuple
    source: LoopBody | None = (
        None  # the body as the loop node had it (before expansion)
    )
    forward: frozenset = frozenset()  # the indices of ``nodes`` that are the body's

    def __hash__(self):
        return id(self)


def loop_symbol(name: str) -> sympy.Symbol:
    """The SymPy symbol of loop variable ``name`` (an integer, unlike a dimension not
    necessarily positive)."""
    return sympy.Symbol(name, integer=True)


def trip_count(start, stop, step: int):
    """How many times ``range(start, stop, step)`` runs, as a dimension expression."""
    if step > 0:
        return canon(sympy.floor((stop - start + step - 1) / sympy.Integer(step)))
    return canon(sympy.floor((start - stop - step - 1) / sympy.Integer(-step)))


def mentions(attrs: tuple, symbol) -> bool:
    """Whether a node's attributes mention the SymPy ``symbol`` (an index ``x[:, t]``)."""
    stack = [v for _, v in attrs]
    while stack:
        v = stack.pop()
        if isinstance(v, tuple):
            stack.extend(v)
        elif isinstance(v, sympy.Basic) and symbol in v.free_symbols:
            return True
    return False
