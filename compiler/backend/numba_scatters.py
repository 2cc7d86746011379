"""Scatters into a kernel's loop (the numba target): an adjoint made only of parts
scattered by step-1 slices, ``d_x = zeros; d_x[:-1] = a; d_x[1:] += b`` (the gradient
of ``x[:-1]`` and ``x[1:]``), is written by the kernel computing ``a`` and ``b``: the
caller allocates ``d_x`` with ``np.zeros`` and the loop adds each part at its offset
(``d_x[i0] += a_``, ``d_x[i0 + 1] += b_``), so neither part is stored as an array of its
own and read again.
"""

from __future__ import annotations


def slice_scatter(node) -> bool:
    """Whether ``node`` scatters its value into zeros through slices of step 1 with
    whole-number starts (``d[1:]``, ``d[:-1, 2:]``): its value is one block of the
    result, at a fixed offset on each axis."""
    if node.op != "scatter" or len(node.args) != 1 or node.dtype != "float":
        return False
    for entry in node.attr("index"):
        if entry[0] != "s" or entry[3] not in (None, 1):
            return False
        if entry[1] is not None and type(entry[1]) is not int:
            return False
    return True


def acc_add(node) -> bool:
    """Whether ``node`` adds a part into an adjoint sum (``add`` with ``acc``)."""
    return node.op == "add" and bool(node.attr("acc"))


def scatter_chains(nodes, todo: list[int], uses: dict) -> dict[int, int]:
    """Each node of an adjoint made only of ``slice_scatter`` parts, each read once, of
    one shape (the parts and the ``add`` nodes summing them; a lone scatter that no sum
    reads is a chain of its own) -> the chain's last node, which holds the adjoint."""
    chain: dict[int, int] = {}
    in_sums: set[int] = set()
    for i in reversed(todo):
        if not acc_add(nodes[i]) or i in in_sums:
            continue
        adds, parts, j = [i], [], i
        while True:
            first, part = nodes[j].args
            parts.append(part)
            if acc_add(nodes[first]) and uses.get(first, 0) == 1:
                adds.append(first)
                j = first
                continue
            parts.append(first)
            break
        in_sums.update(adds[1:], parts)
        one = all(slice_scatter(nodes[p]) and uses.get(p, 0) == 1 for p in parts)
        if one and len({nodes[p].shape for p in parts}) == 1:
            chain.update((n, i) for n in adds + parts)
    for i in todo:
        if slice_scatter(nodes[i]) and i not in in_sums:
            chain[i] = i
    return chain


def scatter_line(node, acc: str, value: str, idx: list[str]) -> str:
    """The loop's line adding ``value`` (the part's value at the loop's index ``idx``)
    into ``acc`` at the part's offset: ``d_x[i0 + 1] += v``; a negative start counts from
    the end of ``acc``'s axis (``d_x[i0 + d_x.shape[0] - 3]``)."""
    index = node.attr("index")
    at = []
    for k, i in enumerate(idx):
        start = index[k][1] if k < len(index) else None
        if not start:
            at.append(i)
        elif start > 0:
            at.append(f"{i} + {start}")
        else:
            at.append(f"{i} + {acc}.shape[{k}] - {-start}")
    return f"{acc}[{', '.join(at)}] += {value}"
