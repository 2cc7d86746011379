"""Which of a loop body's carried values are written under their variable (``h = ...``
inside the loop, no copy at the iteration's end), and what must then be printed before
the write: item assignments into the carried array itself (``in_place``), a value whose
old one nothing reads after the write (``name_carried``), the readers of the old value
that a later statement would otherwise print after it (``printed_before``)."""

from __future__ import annotations

from ..core.prim import PRIMS
from .naming import Namer


def in_place(nodes, todo: list[int], param: int, out: int):
    """The item assignments that make ``out`` from ``param`` (``hs[:, t] = h``), when
    they can write into the carried array itself. Returns (assignments, readers to keep,
    whether the assignments move to the iteration's end) or None.

    When nothing in the body reads what they write, the assignments move to the end of
    the iteration, after every read of the old value (``dh_t = d_hs[:, t]``, a view, is
    used before ``d_hs[:, t] = 0``). Otherwise every other reader of a value before an
    assignment must come earlier and not be a view (it gets a statement of its own)."""
    chain, j = [], out
    while nodes[j].op == "setitem":
        chain.append(j)
        j = nodes[j].args[0]
    if j != param or not chain:
        return None
    chain.reverse()
    members = set(chain)
    readers = {r for r in todo for a in nodes[r].args if a in members}
    values = [nodes[s].args[1] for s in chain]
    if readers <= members and not any(nodes[v].op == "param" for v in values):
        # the values assigned get statements of their own (read before the end)
        return chain, {v for v in values if not PRIMS[nodes[v].op].leaf}, True
    keep = set()
    for a, s in zip([param] + chain[:-1], chain):
        for r in todo:
            if r != s and a in nodes[r].args:
                if r > s or PRIMS[nodes[r].op].view:
                    return None
                keep.add(r)
    return chain, keep, False


def name_carried(
    nodes, names: Namer, todo, params, outs, cvars, keep, late_reads=frozenset()
) -> None:
    """Write each carried value's end value under its variable where that is safe: in
    place for item assignments, else when nothing reads the old value after it (nor do
    the ``late_reads``, read after the body). Returns the body's statements and the item
    assignments that go after everything else (``in_place``)."""
    todo_set = set(todo)
    moved: list[int] = []
    for p, o, v in zip(params, outs, cvars):
        found = in_place(nodes, todo, p, o)
        if found is not None:
            chain, readers, move = found
            keep |= readers
            for s in chain:
                names.names[s] = v
            moved += chain if move else []
            continue
        # a sum is written under its variable from its first part on (d_x = c; d_x += ..)
        chain = accumulation_chain(nodes, o)
        first = min((j for j in chain if nodes[j].op != "param"), default=o)
        readers = {r for r in todo if p in nodes[r].args and r not in chain}
        late = p in late_reads or any(r > first for r in readers)
        # an item assignment writes into the array itself: a view of the old value
        # (g = d_h[0:1], read after d_h[0:1] = 0.0) would see it, so the sum gets its own
        # array (d_h_2 = d_h.copy())
        mutated = any(nodes[j].op == "setitem" for j in chain)
        late = late or (mutated and any(PRIMS[nodes[r].op].view for r in readers))
        leaf = PRIMS[nodes[o].op].leaf
        if not late and o in todo_set and not leaf and o not in names.names:
            names.names[o] = v
            # a reader of the old value printed inside a later statement would read the
            # new one: each gets a statement where it stands, unless it is printed
            # inside the write's own statement (h = tanh(x @ Wx + h @ Wh)) or before it
            keep |= readers - printed_before(
                nodes, todo, first, keep | set(names.names)
            )
        keep.add(o)
    return [j for j in todo if j not in moved], moved


def printed_before(nodes, todo: list[int], write: int, stated: set[int]) -> set[int]:
    """``write`` and the nodes of ``todo`` before it that are printed inside ``write``'s
    statement or in statements before it, never after: those with a statement of their
    own (``stated``, or a name the formula gives), and those all of whose readers in
    ``todo`` are such nodes (node order puts every reader after what it reads)."""
    users: dict[int, list[int]] = {}
    for r in todo:
        for a in set(nodes[r].args):
            users.setdefault(a, []).append(r)
    inside = {write}
    for j in sorted((j for j in todo if j < write), reverse=True):
        own = j in stated or nodes[j].name
        if own or (users.get(j) and all(r in inside for r in users[j])):
            inside.add(j)
    return inside


def accumulation_chain(nodes, o: int) -> set[int]:
    """Node ``o`` and the parts of the gradient sum it ends (``acc`` additions), down to
    the first: the statements that write the sum's variable."""
    chain = {o}
    while nodes[o].op == "add" and nodes[o].attr("acc"):
        o = nodes[o].args[0]
        chain.add(o)
    return chain
