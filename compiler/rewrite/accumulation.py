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
    """An adjoint sum whose first part is a scatter read only here and whose second is a
    new array of the sum's shape read only here: the dense part first, so the sum is that
    array with the scatter added into it in place, not a zeros array scattered into and
    then a second array added (one pass over the array instead of three)."""
    if not attrs.get("acc") or b.users is None:
        return None
    scatter, dense = args
    if not (PRIMS[b[scatter].op].stmts_into and b[dense].op in NEW_ARRAY):
        return None
    if b.users.get(scatter) != 1 or b.users.get(dense) != 1:
        return None
    if b.shape(dense) != b.shape(scatter) or b[dense].dtype != "float":
        return None
    return b.emit("add", dense, scatter, **attrs)


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
