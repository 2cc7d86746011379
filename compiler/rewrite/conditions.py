"""Simplify rules of ``where`` and ``guarded``: inside a branch its condition is known."""

from __future__ import annotations

from ..core.shapes import broadcast
from .engine import RuleSet

#: how deep ``known_condition`` looks into a branch of a ``where``
MAX_KNOWN_DEPTH = 4

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


def known_condition(b, x: int, facts: dict, depth: int = 0) -> int:
    """``x`` with each ``where(c, a, e)`` inside its arithmetic replaced by ``a`` or ``e`` when
    ``facts`` (condition -> value) knows ``c``: where ``x`` is read only where the facts hold,
    the two are equal there. Not in a denominator, where the other lanes could divide by
    zero (a warning the formula never gives)."""
    node = b[x]
    if node.op == "where" and node.args[0] in facts:
        return node.args[1] if facts[node.args[0]] else node.args[2]
    if depth >= MAX_KNOWN_DEPTH or node.op not in ("add", "sub", "mul", "div", "neg"):
        return x
    if node.attrs or (node.name and not node.name.startswith("d_")):
        return x  # never through an accumulation or a value the formula names
    # a denominator keeps its where: the branch not taken may be 0 there (log(clip(p, eps,
    # None))'s gradient g / where(p < eps, eps, p) would divide by 0, and warn, as g / p)
    keep = node.args[1:] if node.op == "div" else ()
    args = tuple(
        a if k and a in keep else known_condition(b, a, facts, depth + 1)
        for k, a in enumerate(node.args)
    )
    return x if args == node.args else b.emit(node.op, *args)


def branch_facts(b, cond: int, taken: bool) -> dict:
    """What is known inside the branch ``taken`` of ``where(cond, ...)``: ``cond`` itself,
    and both sides of ``p & q`` (taken) or of ``p | q`` (not taken)."""
    facts = {cond: taken}
    if b[cond].op == ("and" if taken else "or"):
        facts.update(dict.fromkeys(b[cond].args, taken))
    return facts


# where(c, E[where(c, a, e)], d) -> where(c, E[a], d) ; likewise in the second branch
#   (inside a branch its condition is known: the same mask applied twice, once)
@rule("where")
def where_known_condition(b, args, attrs):
    c, x, y = args
    if b[c].dtype != "bool":
        return None
    new_x = known_condition(b, x, branch_facts(b, c, True))
    new_y = known_condition(b, y, branch_facts(b, c, False))
    if (new_x, new_y) == (x, y):
        return None
    shapes = [b.shape(a) for a in (c, new_x, new_y)]
    if broadcast(*shapes) != broadcast(*(b.shape(a) for a in args)):
        return None
    return b.emit("where", c, new_x, new_y)


# where(c, a, 0) + where(c, 0, e) -> where(c, a, e)  (likewise with the zeros anywhere else:
#   each branch adds at most one nonzero part, so the sum is one where, one pass)
@rule("add")
def add_same_condition(b, args, attrs):
    x, y = args
    if b[x].op != "where" or b[y].op != "where" or b[x].args[0] != b[y].args[0]:
        return None
    c, x1, x2 = b[x].args
    _, y1, y2 = b[y].args
    zero = b.const(0.0)
    if not all(zero in pair for pair in ((x1, y1), (x2, y2))):
        return None
    branches = [p if q == zero else q for p, q in ((x1, y1), (x2, y2))]
    shapes = [b.shape(a) for a in (c, *branches)]
    if broadcast(*shapes) != broadcast(b.shape(x), b.shape(y)):
        return None
    return b.emit("where", c, *branches)


# guarded(c, a, guarded(c, a, e)) -> guarded(c, a, e) ; guarded(c, a, a) -> a
@rule("guarded")
def guarded_known_condition(b, args, attrs):
    cond, fast, slow = args
    if fast == slow:
        return fast
    inner = b[slow]
    if inner.op == "guarded" and inner.args[:2] == (cond, fast):
        return slow  # a rebuild made the guard again from its own ``slow`` sum
    return None
