"""Size conditions of the indices inside loops: an index of loop variables (``x[t + 1]``
in ``for t in range(T)``) must stay inside the axis it reads at every iteration, which
the input checks (``checks.slice_checks``) test once, before the loop runs, where NumPy
would raise an IndexError partway through it."""

from __future__ import annotations

import sympy

from ..core.ir import Function, reachable
from ..core.shapes import canon, provably_nonnegative


def loop_index_needs(fn: Function) -> list[tuple]:
    """``(expression, getitem node of a loop body)`` for each size condition (expression
    ``>= 0``) under which an index of loop variables stays inside the axis it reads at
    every iteration: ``n - T`` for ``x[t]`` in ``for t in range(T)`` of a ``Vector[n]``
    (NumPy's IndexError mid-loop otherwise). Taken where each loop variable has its first
    and its last value, for loops that run at least once whatever the sizes."""
    out: list[tuple] = []
    for i in sorted(reachable(fn.nodes, [fn.output, *fn.grads.values()])):
        if fn.nodes[i].op == "loop":
            body_index_needs(fn.nodes[i].attr("body"), {}, out)
    return out


def body_index_needs(body, ranges: dict, out: list) -> None:
    """Add to ``out`` the conditions of ``loop_index_needs`` in ``body`` (nested loops too);
    ``ranges`` maps the enclosing loops' symbols to (first, last) values."""
    trips = body.trips
    if not (isinstance(trips, int) and trips >= 1) and not (
        not isinstance(trips, int) and provably_nonnegative(trips - 1)
    ):
        return  # may run no iteration: its indices need nothing
    last = canon(sympy.Integer(0) + body.start + body.step * (trips - 1))
    low_high = (body.start, last) if body.step > 0 else (last, body.start)
    ranges = {**ranges, body.symbol: low_high}
    live = reachable(body.nodes, list(body.outs))  # what the emitted loop computes
    for node in (body.nodes[j] for j in sorted(live)):
        if node.op == "loop":
            body_index_needs(node.attr("body"), ranges, out)
        if node.op not in ("getitem", "setitem"):
            continue
        src = body.nodes[node.args[0]].shape
        for e, n in zip(index_ints(node.attr("index")), src):
            for need in index_bounds(e, n, ranges):
                out.append((need, node))


def index_ints(spec) -> list:
    """The integer item of each axis an index reads (None for a slice or an array)."""
    return [e[1] if e[0] == "i" else None for e in spec if e[0] != "n"]


def index_bounds(e, n, ranges: dict) -> list:
    """``n - 1 - e`` at ``e``'s largest value and ``e + n`` at its smallest (NumPy's bounds
    of an index), ``e`` affine in the loop variables, each between its (low, high)
    values in ``ranges``; those not true for every size."""
    if e is None or isinstance(e, int) or not e.free_symbols & set(ranges):
        return []
    slopes = {s: e.diff(s) for s in e.free_symbols & set(ranges)}
    if not all(d.is_Integer for d in slopes.values()):
        return []  # not affine in the loop variables: its extremes may lie inside
    low = e.subs({s: ranges[s][int(d) < 0] for s, d in slopes.items()})
    high = e.subs({s: ranges[s][int(d) > 0] for s, d in slopes.items()})
    out = []
    for need in (n - 1 - high, low + n):
        need = canon(sympy.Integer(0) + need)
        if not isinstance(need, int) and not provably_nonnegative(need):
            out.append(need)
    return out
