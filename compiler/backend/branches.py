"""``guarded(cond, fast, slow)`` (``ops/guarded.py``) as an ``if``/``else``: each branch
holds the statements only its value needs, so the body not taken costs nothing.

    if N * (_magnitude(d_Lxcentered) * ...) < 1e300:
        d_means_t1 = _sum_leading(d_Lxcentered)
        d_means_t2 = d_means_t1 * Qdiags + np.einsum("ij,ijk->ik", d_means_t1, L)
    else:
        d_xcentered = d_Lxcentered * Qdiags
        ...
        d_means_t2 = _sum_leading(d_xcentered)
"""

from __future__ import annotations

from ..core import printer as P
from .emit import BRANCH_NODES, STATEMENT_NODES, Emitter, cite
from .layout import LINE_LIMIT


def only_for(em: Emitter, g: int, root: int) -> list[int]:
    """The nodes of ``em.todo`` that only argument ``root`` of node ``g`` needs: read by
    nothing but each other and (``root`` itself) by ``g`` in that place; neither kept
    (returned, cached) nor bound, nor a loop. In index order."""
    nodes, todo = em.nodes, set(em.todo)
    other_args = [a for a in nodes[g].args if a != root]
    stack, reach = [root], set()
    while stack:
        j = stack.pop()
        if j in reach or j not in todo or j in em.bound:
            continue
        reach.add(j)
        stack.extend(nodes[j].args)
    members: set[int] = set()
    for j in sorted(reach, reverse=True):
        readers = em.readers.get(j, [])
        ok = all(r in members or (r == g and j == root) for r in readers)
        loop = nodes[j].op in STATEMENT_NODES
        if ok and j not in em.keep and j not in other_args and not loop:
            members.add(j)
    return sorted(members)


def branch_members(em: Emitter, g: int) -> set[int]:
    """The nodes ``guarded`` node ``g`` emits inside its branches (``BRANCH_NODES``)."""
    _, fast, slow = em.nodes[g].args
    if fast == slow:
        return set()
    return set(only_for(em, g, fast)) | set(only_for(em, g, slow))


def branch_lines(em: Emitter, g: int, root: int, name: str) -> list[str]:
    """The statements computing ``root`` (those only it needs), then ``name = root``,
    indented one level; blocks from other formula lines keep their comment."""
    saved = em.blocks, em.reuse
    em.blocks, em.reuse = [], False  # no writes into a temporary the other branch reads
    em.ctx.nested += 4
    try:
        for j in only_for(em, g, root):
            if j not in em.scattered and j not in em.named:
                em.node(j, em.firsts)
        value = em.exprs[root]
        if root not in em.named and em.too_long(name, value):
            value = em.split_args(root, name, value)  # split as any statement is
        if root not in em.named and em.too_long(name, value):
            value = em.ref(root, g)
        blocks = em.blocks
    finally:
        em.blocks, em.reuse = saved
        em.ctx.nested -= 4
    own = cite(em.nodes[g])
    lines = []
    for block in blocks:
        if block.comment != own:
            lines.append(f"    # {block.comment}")
        lines += ["    " + ln for ln in block.lines]
    return lines + [f"    {name} = {value.text}"]


def emit_guarded(em: Emitter, i: int) -> None:
    """``if cond: <fast's statements> else: <slow's statements>``, both naming the value;
    ``name = fast if cond else slow`` where each branch is one expression and the line
    fits."""
    cond, fast, slow = em.nodes[i].args
    test = em.ref(cond, i) if cond in em.named else em.exprs[cond]
    if len(test.text) + 4 + em.ctx.indent > LINE_LIMIT:
        test = em.materialise(cond, test)
    name = em.name_of(i)
    fast_lines = branch_lines(em, i, fast, name)
    slow_lines = branch_lines(em, i, slow, name)
    line = conditional(name, test.text, fast_lines, slow_lines)
    if line is not None and len(line) + em.ctx.indent <= LINE_LIMIT:
        lines = [line]
    else:
        lines = [f"if {test.text}:", *fast_lines, "else:", *slow_lines]
    em.statement(i, lines)
    em.named.add(i)
    em.exprs[i] = P.name(name)


def conditional(name: str, test: str, fast: list[str], slow: list[str]) -> str | None:
    """``name = a if test else b`` when each branch is the one line ``name = a`` (and
    neither is itself a conditional expression); else None."""
    head = f"    {name} = "
    if len(fast) != 1 or len(slow) != 1 or not (fast + slow)[0].startswith(head):
        return None
    a, b = fast[0].removeprefix(head), slow[0].removeprefix(head)
    if not slow[0].startswith(head) or " if " in a + b:
        return None
    return f"{name} = {a} if {test} else {b}"


BRANCH_NODES["guarded"] = branch_members
STATEMENT_NODES["guarded"] = emit_guarded
