"""The adjoint sums of an emitted body: which values are read how often, and which sums
are written in place (``d_W = ...; d_W += ...``, ``d_x[1:] += g``)."""

from __future__ import annotations

from ..core.prim import PRIMS
from .memory import fresh_array


def use_counts(nodes, todo: list[int], keep: set[int]) -> dict[int, int]:
    """How often each value is read by the nodes ``todo``, ``keep`` counting as one read."""
    uses: dict[int, int] = {}
    for i in todo:
        for a in nodes[i].args:
            uses[a] = uses.get(a, 0) + 1
    for i in keep:
        uses[i] = uses.get(i, 0) + 1
    return uses


def accumulate(node, uses, named, bound, nodes) -> bool:
    """Whether ``a + c`` may be written ``a += c``: ``a`` is a fresh local used only here."""
    a = node.args[0]
    return (
        a in named
        and a not in bound
        and uses.get(a, 0) == 1
        and nodes[a].shape == node.shape
        and fresh_array(nodes, a)
    )


def negated_part(node, nodes, named, uses) -> bool:
    """Whether the second part of the accumulation ``node`` is ``-c`` used nowhere else."""
    second = node.args[1]
    return (
        nodes[second].op == "neg" and second not in named and uses.get(second, 0) == 1
    )


def accumulations(nodes, todo: list[int], uses, bound) -> tuple[set, dict, list]:
    """The adjoint sums of ``todo``, looked at from the last: the first parts of sums (each
    gets a statement of its own: ``d_W = ...; d_W += ...``), the scattered parts a sum
    writes into its array (``d_x[1:] += g`` rather than a zeros array and a sum: part ->
    sum), and the sums written in place (``+=``), in that order."""
    firsts: set[int] = set()
    scattered: dict[int, int] = {}
    in_place: list[int] = []
    for i in reversed(todo):
        node = nodes[i]
        first = node.args[0] if node.args else None
        if node.op != "add" or not node.attr("acc") or PRIMS[nodes[first].op].leaf:
            continue
        firsts.add(first)
        if accumulate(node, uses, {first}, bound, nodes):
            in_place.append(i)
            second = node.args[1]
            # (into the sum's own array: not a part broadcast along f_hessian's batch)
            into = PRIMS[nodes[second].op].stmts_into and uses.get(second, 0) == 1
            if into and nodes[second].shape == node.shape:
                scattered[second] = i
    return firsts, scattered, in_place
