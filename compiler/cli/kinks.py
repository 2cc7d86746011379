"""Where a drawn point is bad for finite differences: out of an operation's domain
(``log`` of a value <= 0, ...), near a kink (``relu``, ``abs``, ``maximum``, ...) or a
pole, or not finite. ``draw_point`` draws again until none of these holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.ir import Function, reachable
from ..core.prim import PRIMS
from ..passes.autodiff import active_nodes
from ..passes.fuse import expand_fused
from .evaluator import Evaluator
from .formatting import fmt_number

if TYPE_CHECKING:
    from .points import Point


#: how close (absolute) a drawn point may come to a kink, a pole or a domain boundary
KINK_MARGIN = 1e-3


def operations(fn: Function, ev: Evaluator, live: list[int], active: set[int]):
    """Every operation the value needs at the point (``fn`` has no fused nodes: the
    pipeline expands them after differentiation, and ``inspect_point`` expands them
    with the same pass when given an undifferentiated function).

    Returns ``(ops, values, consts, roots, act)``: ``ops`` lists ``(key, node)`` where
    ``node.args`` are keys of ``values`` (node indices); ``consts`` holds constant keys'
    values, ``roots[key]`` the nodes a key is computed from and ``act[key]`` whether it
    depends on a differentiated input.
    """
    values: dict = {}
    consts: dict = {}
    roots: dict = {}
    act: dict = {}
    ops: list = []
    for i in live:
        node = fn.nodes[i]
        values[i] = ev.value(i)
        roots[i] = {i}
        act[i] = i in active
        if node.op == "const":
            consts[i] = node.attr("value")
        if node.op != "param":
            ops.append((i, node))
    return ops, values, consts, roots, act


def inspect_point(fn: Function, point: Point) -> tuple[set[str], list[str]]:
    """Which inputs must be positive, and what is wrong with the point (empty when fine)."""
    if any(node.op == "fused" for node in fn.nodes):
        fn = expand_fused(fn)
    ev = Evaluator(fn.nodes, point.dims)
    for p in fn.params:
        ev.bind(p.node, point.inputs[p.name])
    live = sorted(reachable(fn.nodes, [fn.output]))
    with np.errstate(all="ignore"):
        ops, values, consts, roots, act = operations(fn, ev, live, active_nodes(fn))
    need_positive: set[str] = set()
    problems: list[str] = []
    v = Floats(values)
    for key, node in ops:
        domain = input_domain(node, consts)
        if domain is not None:
            if not np.all(v(domain[0]) > domain[1] + KINK_MARGIN):
                need_positive |= float_ancestors(fn, roots[domain[0]])
                problems.append(f"{node.op} of a value <= {fmt_number(domain[1])}")
            continue
        if not act[key]:
            continue
        margin = kink_margin(node, key, v, consts)
        if margin is not None and not margin > KINK_MARGIN:
            problems.append(f"a kink of {node.op}")
    out = np.asarray(ev.value(fn.output))
    if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        problems.append("a value that is not finite")
    return need_positive, problems


class Floats:
    """``v(key)``: the value of ``key`` in ``values`` as a float64 array."""

    def __init__(self, values: dict):
        self.values = values

    def __call__(self, key) -> np.ndarray:
        return np.asarray(self.values[key], dtype=np.float64)


def float_ancestors(fn: Function, roots: set[int]) -> set[str]:
    """The float parameters the nodes ``roots`` are computed from."""
    keep = reachable(fn.nodes, sorted(roots))
    return {
        p.name
        for p in fn.params
        if p.node in keep and fn.nodes[p.node].dtype == "float"
    }


def input_domain(node, consts) -> tuple[object, float] | None:
    """``(argument, lower bound)`` when ``node`` needs its argument above a bound
    (``log``, ``sqrt``, ``log1p``, a fractional power: its record's ``domain``), else None."""
    domain = PRIMS[node.op].domain
    return None if domain is None else domain(node, consts)


def kink_margin(node, key, v, consts) -> float | None:
    """How far the point is from where ``node`` is not differentiable (its record's
    ``kinks``; None: nowhere)."""
    kinks = PRIMS[node.op].kinks
    return None if kinks is None else kinks(node, key, v, consts)
