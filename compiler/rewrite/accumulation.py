"""Late rules on adjoint sums (``add`` with ``acc``): the order their parts are written in."""

from __future__ import annotations

from ..core.prim import PRIMS
from ..core.shapes import broadcast
from .engine import RuleSet

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule

#: ops whose value is a new array of their own (safe to scatter into in place)
NEW_ARRAY = ("add", "sub", "mul", "div", "exp", "where")


# scatter(g, i) + dense -> dense + scatter(g, i)  (dense first: d_x = dense; d_x[i] += g)
@rule("add", "late")
def scatter_last(b, args, attrs):
    """A sum (an adjoint's, or a rule's such as log_softmax's ``g - e * (sum(g) / s)``)
    whose first part is a scatter read only here and whose second is a new array of the
    sum's shape read only here: the dense part first, so the sum is that
    array with the scatter added into it in place, not a zeros array scattered into and
    then a second array added (one pass over the array instead of three)."""
    if b.users is None or (not attrs.get("acc") and b[args[1]].op == "scatter"):
        return None
    scatter, dense = args
    if not (PRIMS[b[scatter].op].stmts_into and b[dense].op in NEW_ARRAY):
        return None
    if b.users.get(scatter) != 1 or b.users.get(dense) != 1:
        return None
    if b.shape(dense) != b.shape(scatter) or b[dense].dtype != "float":
        return None
    if from_seed(b, b[scatter].args[0]):
        return None  # a gradient part of another line: its block would split this one's
    return b.emit("add", dense, scatter, **{**attrs, "acc": True})


def from_seed(b, i: int) -> bool:
    """Whether node ``i`` is computed from a backward's seed ``d_out`` (a gradient part of
    the line it comes from, written in that line's block; with the seed folded to 1, as
    in ``f_value_and_grad``, a scatter of labels carries a constant such as ``-1.0 / N``)."""
    stack, seen = [i], set()
    while stack:
        k = stack.pop()
        if k in seen:
            continue
        seen.add(k)
        if b[k].op == "param" and b[k].attr("seed"):
            return True
        stack.extend(b[k].args)
    return False


def leading_axes(node) -> bool:
    """Whether ``node`` only puts axes in front (``g[None]``), which broadcasting adds anyway."""
    axes = tuple(sorted(node.attr("axis")))
    return axes == tuple(range(len(axes)))


# total + broadcast_to(g, s) -> total + g ; total + g[None] -> total + g
#   when g broadcasts against total to total's shape
@rule("add", "late")
def add_broadcast_into(b, args, attrs):
    """An adjoint sum adding a broadcast value adds the value itself and lets NumPy
    broadcast: ``d_x += g`` rather than ``d_x += np.full(shape, g)`` for a number, and
    ``d_x - g`` rather than ``d_x + np.broadcast_to(-g[None], shape)`` (no array made
    and read)."""
    if not attrs.get("acc"):
        return None
    total, part = args
    if b[total].dtype != "float" or b.shape(total) != b.shape(part):
        return None
    inner = part
    while b[inner].op == "broadcast_to" or (
        b[inner].op == "expand_dims" and leading_axes(b[inner])
    ):
        inner = b[inner].args[0]
    if inner == part or broadcast(b.shape(total), b.shape(inner)) != b.shape(total):
        return None
    return b.emit("add", total, inner, **attrs)
