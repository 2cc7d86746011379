"""Scheduling: ``f`` and ``f_forward`` compute what the value needs; ``f_backward``
computes the rest of the adjoint graph from the seed and the cache, which holds exactly
the forward values the backward reads. ``f_value_and_grad`` is the same graph with the
seed set to 1 and simplified again (``Function.value_and_grad``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.ir import Function, reachable
from ..core.prim import PRIMS
from .accumulation import accumulations, use_counts


@dataclass(frozen=True)
class Schedule:
    """The nodes each of ``f_forward`` and ``f_backward`` computes, in index order."""

    forward: list[int]
    backward: list[int]
    grads: list[int]  # the gradient nodes, in ``fn.wrt`` order
    adjoints: set[int]  # the nodes computed from the seed (named ``d_...``)
    cache: list[int]  # the forward values the backward reads


def schedule(fn: Function) -> Schedule:
    """What ``f_forward`` and ``f_backward`` compute and what the cache holds. Constants,
    dimensions and ``arange`` that both need are recomputed rather than cached."""
    nodes = fn.nodes
    fwd_set = reachable(nodes, [fn.output])
    grads = [fn.grads[p.name] for p in fn.wrt]
    need_grads = reachable(nodes, grads)
    # the tapes a reverse loop reads are recorded by the forward loop
    tapes = sorted(i for i in need_grads if nodes[i].op == "loop_tape")
    fwd_set |= reachable(nodes, tapes)
    bwd_set = need_grads - fwd_set - {fn.seed}
    forward = [i for i in range(len(nodes)) if i in fwd_set and nodes[i].op != "param"]
    tests = guard_tests(nodes, bwd_set)
    backward = [
        i
        for i in range(len(nodes))
        if i in bwd_set
        or (
            i in fwd_set
            and i in need_grads
            and (nodes[i].op in ("const", "dim", "arange") or i in tests)
        )
    ]
    cache = sorted(cache_reads(nodes, backward, {fn.seed}, set(grads)))
    return Schedule(forward, backward, grads, dependents(nodes, {fn.seed}), cache)


def guard_tests(nodes, todo: set[int]) -> set[int]:
    """The nodes of the tests of the ``guarded`` nodes in ``todo`` (``|t| < 1e300``: the
    comparison and the ``abs`` under it), which the backward computes again from the
    cached ``t`` where the forward has the same test (``rewrite/scaled_sums.py``)."""
    out: set[int] = set()
    stack = [nodes[i].args[0] for i in todo if nodes[i].op == "guarded"]
    while stack:
        j = stack.pop()
        if j not in out and nodes[j].op in ("lt", "abs"):
            out.add(j)
            stack.extend(nodes[j].args)
    return out


def cache_reads(nodes, todo: list[int], bound: set[int], keep: set[int]) -> set[int]:
    """The values the statements of ``todo`` read that neither ``bound`` nor ``todo`` holds:
    the arguments of its nodes, except that a sum reads the arguments of a part it
    scatters into its array, and of a single-use ``-c`` part it subtracts (``Emitter``)."""
    uses = use_counts(nodes, todo, keep)
    _, scattered, _ = accumulations(nodes, todo, uses, bound)
    computed = set(todo) | set(bound)
    reads: set[int] = set()
    for i in todo:
        if i in scattered:
            continue
        node = nodes[i]
        acc = node.op == "add" and node.attr("acc")
        for k, a in enumerate(node.args):
            if a in scattered:
                reads.update(nodes[a].args)
            elif (
                acc
                and k == 1
                and a not in computed
                and nodes[a].op == "neg"
                and uses.get(a, 0) == 1
            ):
                reads.add(nodes[a].args[0])
            else:
                reads.add(a)
    return reads - computed


def dependents(nodes, roots: set[int]) -> set[int]:
    """Nodes computed from any of ``roots`` (the adjoint values, for the seed)."""
    out = set(roots)
    for i, node in enumerate(nodes):
        if any(a in out for a in node.args):
            out.add(i)
    return out


def backward_part(vg: Function) -> set[int]:
    """With the seed folded to 1: the nodes that only the gradients need (named ``d_...``)."""
    value = reachable(vg.nodes, [vg.output])
    grads = reachable(vg.nodes, list(vg.grads.values()))
    seedless = {i for i in grads - value if not PRIMS[vg.nodes[i].op].leaf}
    # Values not computed from any adjoint stay forward-named even when only gradients read them.
    # An adjoint is a node the reverse walk made the gradient of a value (``adjoint_of``).
    adjoint_roots = {
        i
        for i in seedless
        if i in vg.adjoint_of
        or (vg.nodes[i].name and vg.nodes[i].name.startswith("d_"))
    }
    return dependents(vg.nodes, adjoint_roots) | adjoint_roots
