"""Results own their memory (SPEC §2): which values may be views of inputs or of each
other, which scalars NumPy gives as 0-d arrays, and the return texts that copy or convert."""

from __future__ import annotations

from ..core import printer as P
from ..core.ir import reachable
from ..core.prim import PRIMS, ops_in


def fresh_array(nodes, a: int) -> bool:
    """Whether node ``a``'s value is a new array (safe to update in place) or a scalar."""
    node = nodes[a]
    if node.shape != () and einsum_view(node):
        return False
    if node.shape == () or not PRIMS[node.op].view:
        return True
    # np.full(shape, g) of a scalar g is a new array, unlike np.broadcast_to.
    return node.op == "broadcast_to" and nodes[node.args[0]].shape == ()


def einsum_view(node) -> bool:
    """Whether ``node`` is an ``np.einsum`` of one operand, which NumPy may return as a
    view of it (``einsum("ij->ji", x)`` is ``x.T``)."""
    return node.op == "einsum" and len(node.args) == 1


def view_of(nodes, i: int) -> int | None:
    """The node whose memory the value of node ``i`` may share (a view's base), or None
    when ``i`` computes a new array or scalar (advanced indexing, ``np.full``, ...)."""
    node = nodes[i]
    if einsum_view(node) and node.shape != ():
        return node.args[0]
    if not PRIMS[node.op].view or node.op == "param" or fresh_array(nodes, i):
        return None
    if node.op == "getitem" and any(e[0] == "a" for e in node.attr("index")):
        return None  # advanced indexing copies
    if nodes[node.args[0]].shape == ():
        return None  # a float has no memory to view: reshaping it makes a new array
    return node.args[0]


def view_root(nodes, i: int) -> tuple[int, bool]:
    """The node whose memory node ``i``'s value is (following views), and whether the
    value is read-only (an ``np.broadcast_to`` of an array on the way)."""
    readonly = False
    while (base := view_of(nodes, i)) is not None:
        readonly = readonly or nodes[i].op == "broadcast_to"
        i = base
    return i, readonly


def owned(
    nodes,
    results: list[int],
    exprs: list[P.Expr],
    inputs: set[int],
    floats: bool = False,
    xp: bool = False,
) -> list[str]:
    """The return texts of ``results``, each a ``.copy()`` where the value could be an
    input (a ``param``, the seed, or one of ``inputs``) or a view of one, a read-only
    broadcast, or share memory with an earlier result (SPEC §2: results own their
    memory). Scalars are immutable floats (``float(...)`` where NumPy would give a 0-d
    array: ``zero_d_array``); a fresh array is returned as it is. With ``xp`` (the Array
    API target) a copy is ``xp.asarray(e, copy=True)`` and a 0-d array stays one (float()
    would compute a Dask value and fails on a JAX tracer)."""
    claimed: set[int] = set()
    out = []
    for i, e in zip(results, exprs):
        if not floats and not xp and zero_d_array(nodes, i):
            e = P.call("float", e)
        root, readonly = view_root(nodes, i)
        shared = nodes[root].op == "param" or root in inputs or root in claimed
        if nodes[i].shape != () and (readonly or shared):
            e = P.call("xp.asarray", e, copy="True") if xp else P.method(e, "copy")
        else:
            claimed.add(root)
        out.append(e.text)
    return out


def zero_d_array(nodes, i: int) -> bool:
    """Whether the NumPy spelling of scalar node ``i`` may give a 0-d array rather than a
    float: ``np.where`` or ``np.reshape`` of scalars (ops whose record says ``zero_d``, a fused body with a
    ``where``), or arithmetic on such a value (``d_b += ...`` keeps the array)."""
    seen: dict[int, bool] = {}
    for k in sorted(reachable(nodes, [i])):
        node = nodes[k]
        if node.shape != ():
            seen[k] = False  # reductions of arrays give NumPy floats
        elif node.op == "fused" and "where" in ops_in(node):
            seen[k] = True
        else:
            seen[k] = PRIMS[node.op].zero_d or any(seen[a] for a in node.args)
    return seen[i]
