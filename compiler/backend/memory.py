"""Results own their memory (SPEC §2): which values may be views of inputs or of each
other, which scalars NumPy gives as 0-d arrays, and the return texts that copy or convert."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import PRIMS
from ..ops.common import zero_d_array
from ..ops.spelling import array_constants, integral_exponent


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


def view_of(nodes, i: int, xp: bool = False) -> int | None:
    """The node whose memory the value of node ``i`` may share (a view's base), or None
    when ``i`` computes a new array or scalar (advanced indexing, ``np.full``, ...). With
    ``xp`` (the Array API target) a scalar ``Index`` may be a Python int, kept as it is:
    ``X[i, :]`` is then basic indexing, a view."""
    node = nodes[i]
    if einsum_view(node) and node.shape != ():
        return node.args[0]
    if not PRIMS[node.op].view or node.op == "param" or fresh_array(nodes, i):
        return None
    if node.op == "getitem" and any(
        e[0] == "a" and not (xp and nodes[node.args[e[1]]].shape == ())
        for e in node.attr("index")
    ):
        return None  # advanced indexing copies
    if nodes[node.args[0]].shape == ():
        return None  # a float has no memory to view: reshaping it makes a new array
    return node.args[0]


def view_root(nodes, i: int, xp: bool = False) -> tuple[int, bool]:
    """The node whose memory node ``i``'s value is (following views, ``view_of``), and
    whether the value is read-only (an ``np.broadcast_to`` of an array on the way)."""
    readonly = False
    while (base := view_of(nodes, i, xp)) is not None:
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
        root, readonly = view_root(nodes, i, xp)
        shared = nodes[root].op == "param" or root in inputs or root in claimed
        if nodes[i].shape != () and (readonly or shared):
            e = P.call("xp.asarray", e, copy="True") if xp else P.method(e, "copy")
        else:
            claimed.add(root)
        out.append(e.text)
    return out


# ----------------------------------------------------------------------------
# Writing a dead temporary in place (``t *= r``, ``np.exp(t, out=t)``), as hand-written
# NumPy does: ``Emitter.reuse`` decides when, these spell the statements.

#: the elementwise operations with an in-place NumPy spelling: op -> its ufunc
UFUNCS = {
    "add": "np.add",
    "sub": "np.subtract",
    "mul": "np.multiply",
    "div": "np.divide",
    "pow": "np.power",
    "maximum": "np.maximum",
    "minimum": "np.minimum",
    "neg": "np.negative",
    "relu": "np.maximum",
    **{f: "np." + f for f in ("exp", "log", "log1p", "expm1", "sqrt", "square")},
    **{f: "np." + f for f in ("abs", "sin", "cos", "tan", "tanh", "sign")},
}
#: ``t op= b`` where ``t`` is the left operand (or either, for the commutative ones)
AUGMENTED = {"add": "+=", "sub": "-=", "mul": "*=", "div": "/=", "pow": "**="}
COMMUTATIVE = ("add", "mul", "maximum", "minimum")


def node_body(node) -> tuple:
    """``node`` as a fused body (entries ``(op, args, attrs)``, ``input`` entries first)."""
    if node.op == "fused":
        return node.attr("body")
    inputs = tuple(("input", (), (("k", k),)) for k in range(len(node.args)))
    return (*inputs, (node.op, tuple(range(len(node.args))), node.attrs))


def in_place_path(body: tuple, k: int) -> list[int] | None:
    """The entries of ``body`` from its input ``k`` to its result, when each is read once,
    by the next, and the next has an in-place spelling: then the result can be computed
    in the memory of input ``k``, one ufunc per entry (the other operands are computed
    first, as the inline text would). None otherwise."""
    reads: dict[int, list[int]] = {}
    for j, (_, args, _) in enumerate(body):
        for a in args:
            reads.setdefault(a, []).append(j)
    starts = [
        j
        for j, (op, _, attrs) in enumerate(body)
        if op == "input" and dict(attrs)["k"] == k
    ]
    if len(starts) != 1:
        return None
    path = starts
    while path[-1] != len(body) - 1:
        users = reads.get(path[-1], [])
        if len(users) != 1 or body[users[0]][0] not in UFUNCS:
            return None
        path.append(users[0])
    return path if len(path) > 1 else None


def in_place_step(op: str, operands: list[P.Expr], pos: int, t: str, into: str) -> str:
    """The statement computing ``op(*operands)`` into ``t``, the operand at ``pos``, as
    ``t op= b`` or a ufunc with ``out=t``; bound to ``into`` when that is another name
    (``d_x = np.subtract(t, b, out=t)``)."""
    ufunc = UFUNCS[op]
    other = operands[1 - pos].text if len(operands) == 2 else None
    if op == "pow" and pos == 0 and (k := integral_exponent(operands[1])) is not None:
        other = k.text  # ``t **= 2`` squares; ``t **= 2.0`` runs pow (2.4x slower)
    if into == t and op in AUGMENTED and (pos == 0 or op in COMMUTATIVE):
        return f"{t} {AUGMENTED[op]} {other}"
    if op == "relu":
        call = f"{ufunc}({t}, 0.0, out={t})"
    elif other is None:
        call = f"{ufunc}({t}, out={t})"
    else:
        first, second = (t, other) if pos == 0 else (other, t)
        call = f"{ufunc}({first}, {second}, out={t})"
    return call if into == t else f"{into} = {call}"


def in_place_lines(body, path, inputs, t: str, name: str, speller) -> list[str]:
    """The statements computing ``body`` on ``inputs`` into ``t`` along ``path`` (see
    ``in_place_path``), the result named ``name`` from the first statement on;
    ``speller(op, args, attrs)`` prints the entries off the path."""
    before = dict(zip(path[1:], path))  # entry -> the entry of the path it reads
    lines, vals = [], []
    for j, (op, args, attrs) in enumerate(body):
        if op == "input":
            own = P.Expr(t, simple=True, array=True)  # the array written into
            vals.append(own if j == path[0] else inputs[dict(attrs)["k"]])
        elif j in before:
            operands = array_constants(op, [vals[a] for a in args], True, speller.ctx)
            var = vals[before[j]].text
            lines.append(in_place_step(op, operands, args.index(before[j]), var, name))
            vals.append(P.name(name))
        else:
            vals.append(speller(op, [vals[a] for a in args], attrs))
    return lines
