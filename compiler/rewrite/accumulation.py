"""Late rules on adjoint sums (``add`` with ``acc``): the order their parts are written in."""

from __future__ import annotations

from ..core.prim import PRIMS
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


# total + broadcast_to(c, s) -> total + c  for a scalar c, when total has shape s
@rule("add", "late")
def add_scalar_into(b, args, attrs):
    """An adjoint sum adding a constant array to an array of its shape adds the number:
    ``d_x += g`` rather than ``d_x += np.full(shape, g)`` (no array made and read)."""
    if not attrs.get("acc"):
        return None
    total, part = args
    if not (b[part].op == "broadcast_to" and b.shape(b[part].args[0]) == ()):
        return None
    if b.shape(total) != b.shape(part) or b[total].dtype != "float":
        return None
    return b.emit("add", total, b[part].args[0], **attrs)
