"""Scheduling for memory (NumPy target, ``f_value_and_grad``): a scalar computed from an
array is computed as soon as its inputs are, when that ends the array's life before an
elementwise operation of its shape, which can then be written into the array's memory.

A Gaussian's negative log-likelihood, ``0.5 * sum(((x - mu) / sigma) ** 2) + n *
log_sigma``: ``d_mu`` is ``-sum(x - mu) / sigma ** 2``, under its guard (the slow
branch reads ``x - mu`` too). In the graph's order every gradient comes after the value,
so ``x - mu`` lives to the end beside ``((x - mu) / sigma) ** 2``: two arrays of the
data's size, where hand-written NumPy holds one (``r = (x - mu) / s``). Computing
``d_mu`` first makes the value's ``(r / sigma) ** 2`` the last reader of ``r``, and the
emitter then writes it in ``r``'s memory (``backend/emit.py``, ``reusable`` and
``reuse_inlined``). Beyond the pass it saves, the memory matters more: glibc returns the
top of its heap to the system once two such arrays are freed there, and every call then
faults the pages in again (4-9x the hand-written time at 1e5-1e6 values; bench/README.md,
"One array, as the hand-written code holds"). Composed in ``pipeline.in_memory``.

Only the order of the nodes changes: every node, value and name is the graph's. A scalar
moves together with the nodes only it reads (the branch a guard keeps for overflow), and
only where that ends an array's life earlier; a graph with loops keeps its order.
"""

from __future__ import annotations

import dataclasses
import heapq

from ..core.ir import Function, reachable
from ..core.prim import PRIMS

#: the most nodes a scalar moves with (``gauss_nll``'s ``d_mu`` and its branch: 10)
MAX_GROUP = 64


def early_reads(fn: Function) -> Function:
    """``fn`` with each scalar that ends an array's life (``moves``) computed as soon as
    its inputs are; ``fn`` itself where none does, or where the graph has loops."""
    nodes = fn.nodes
    if any(node.op == "loop" for node in nodes):
        return fn
    if all(node.shape == () for node in nodes):
        return fn  # no array to end
    roots = {fn.output, *fn.grads.values()}
    live = reachable(nodes, list(roots))
    readers: dict[int, list[int]] = {}
    for i in sorted(live):
        for a in set(nodes[i].args):
            readers.setdefault(a, []).append(i)
    order = list(range(len(nodes)))
    pos = {i: i for i in order}  # each node's place in ``order``
    moved = False
    for h in sorted(live, reverse=True):  # the latest first: a scalar with its branches
        node = nodes[h]
        if node.shape != () or PRIMS[node.op].leaf or node.op == "param":
            continue
        group = exclusive(nodes, h, readers, roots)
        spot = None if group is None else moves(nodes, pos, group, readers, roots)
        if spot is not None:
            order = moved_after(nodes, order, pos, group, spot)
            pos = {i: k for k, i in enumerate(order)}
            moved = True
    return permuted(fn, order) if moved else fn


def exclusive(nodes, h: int, readers: dict, roots: set[int]) -> set[int] | None:
    """Node ``h`` and the nodes only it needs: read by nothing but each other (and by
    ``h``), neither a result nor a parameter, a constant or a dimension (which a
    statement reads where it is). Grown from ``h`` down, the latest node first (its
    readers come after it, so they are decided before it): the work is the group's and
    its border's, not every ancestor's; None past ``MAX_GROUP`` nodes (a long chain that
    only ``h`` reads stays where it is: a chain of 2,000 scalars is one of those)."""
    group, seen = {h}, {h}
    heap = [-a for a in set(nodes[h].args)]
    heapq.heapify(heap)
    while heap:
        j = -heapq.heappop(heap)
        if j in seen:
            continue
        seen.add(j)
        node = nodes[j]
        if PRIMS[node.op].leaf or node.op == "param" or j in roots:
            continue
        if all(r in group for r in readers.get(j, [])):
            group.add(j)
            if len(group) > MAX_GROUP:
                return None
            for a in set(node.args):
                if a not in seen:
                    heapq.heappush(heap, -a)
    return group


def moves(nodes, pos: dict, group: set[int], readers, roots) -> int | None:
    """Where ``group`` (a scalar and the nodes only it reads) moves: after the last node
    it reads (``pos``: each node's place in the order so far), when that ends the life
    of an array it reads earlier (its other readers then all come before, the last an
    elementwise operation of its shape, which may be computed in its memory); None
    where it stays."""
    outside = {a for j in group for a in nodes[j].args if a not in group}
    arrays = [
        a
        for a in sorted(outside)
        if nodes[a].shape != ()
        and nodes[a].dtype == "float"
        and temporary(nodes[a], a, roots)
    ]
    if not arrays:
        return None
    computed = [a for a in outside if not PRIMS[nodes[a].op].leaf]
    ready = max((pos[a] for a in computed), default=-1)
    first = min(pos[j] for j in group)
    for a in arrays:
        arr = nodes[a]
        others = [r for r in readers.get(a, []) if r not in group]
        end = max((pos[r] for r in others), default=-1)
        if not others or end > first or end <= ready:
            continue
        last = nodes[max(others, key=pos.get)]
        if PRIMS[last.op].elementwise and (last.shape, last.dtype) == (
            arr.shape,
            arr.dtype,
        ):
            return max(computed, key=pos.get) if computed else None
    return None


def moved_after(nodes, order: list[int], pos: dict, group: set[int], spot: int) -> list:
    """``order`` with ``group`` (in index order) right after node ``spot``, the constants
    and dimensions it reads that came later moved with it (``pos``: places in
    ``order``)."""
    leaves = {
        a
        for j in group
        for a in nodes[j].args
        if PRIMS[nodes[a].op].leaf and pos[a] > pos[spot]
    }
    rest = [i for i in order if i not in group and i not in leaves]
    at = rest.index(spot) + 1
    return rest[:at] + sorted(leaves) + sorted(group) + rest[at:]


def temporary(node, i: int, roots: set[int]) -> bool:
    """Whether node ``i`` is an array of a statement's own that nothing keeps: not a
    parameter, a result or a value the formula names."""
    return node.op != "param" and i not in roots and node.name is None


def permuted(fn: Function, order: list[int]) -> Function:
    """``fn`` with its nodes in ``order`` (a topological order of all of them): arguments,
    parameters, results, notes and ``adjoint_of`` follow."""
    new = {old: k for k, old in enumerate(order)}
    nodes = [
        dataclasses.replace(fn.nodes[i], args=tuple(new[a] for a in fn.nodes[i].args))
        for i in order
    ]
    return dataclasses.replace(
        fn,
        nodes=nodes,
        params=[dataclasses.replace(p, node=new[p.node]) for p in fn.params],
        output=new[fn.output],
        seed=new[fn.seed] if fn.seed is not None else None,
        grads={k: new[v] for k, v in fn.grads.items()},
        notes={new[k]: v for k, v in fn.notes.items()},
        adjoint_of={new[k]: new[v] for k, v in fn.adjoint_of.items()},
        adjoints={},
        sent={},
    )
