"""A NumPy-target rule: a sum over axes moved inside the linear maps that are constant
along them, where a bound computed at run time shows that neither order can overflow.

GMM's backward sums ``d_xc = g * Qdiags + einsum("mij,ijk->mik", g, L)`` over its N
points; summing ``g`` first, ``sum(g) * Qdiags + einsum("ij,ijk->ik", sum(g), L)``, is
the same sum in another order at a fraction of the work (bench/README, "The GMM
objective"). Another order may overflow where the formula's does not (issue 13 item 10:
a rewrite may change rounding, never overflow behaviour), so the result is
``guarded(bound < LIMIT, fast, slow)`` (``ops/guarded.py``): the bound ``count *
M(x)``, with ``M`` multiplied through the maps from each leaf's ``magnitude`` (>= every
|entry|), bounds every partial sum and product of both orders; past it, or for nan, the
formula's order runs.
"""

from __future__ import annotations

from ..ops.common import count
from ..ops.linalg import einsum_parts
from .engine import RuleSet, as_written

#: below this bound neither order can overflow: about 2 ** 27 under the largest float,
#: so the bound's own rounding (a few products and sums) cannot matter
LIMIT = 1e300

#: how deep a plan looks into the summed value
MAX_DEPTH = 6

RULE_SET = RuleSet()
rule = RULE_SET.rule


def constant_along(shape: tuple, ndim: int, axes: tuple) -> bool:
    """Whether a value of ``shape``, broadcast (aligned right) against ``ndim`` axes, holds
    none of ``axes``: a factor the sum over them can move past."""
    return all(k < ndim - len(shape) for k in axes)


def temporary(b, x: int) -> bool:
    """Whether ``x`` is a float value only its one reader needs and the formula does not
    name: moving the sum past it saves computing it."""
    node = b[x]
    if node.name and not node.name.startswith("d_"):
        return False  # a value the formula names keeps its line
    return node.dtype == "float" and b.users is not None and b.users.get(x) == 1


def plan(b, x: int, axes: tuple, depth: int = 0) -> tuple:
    """How sum(x, axes) moves inside ``x``: ``("leaf", x, axes)`` (summed as it is),
    ``("neg", x, p)``, ``("add", x, p, q)``, ``("mul", x, p, c)`` (``p`` the plan of the
    factor of x's shape, ``c`` the factor constant along ``axes``) or ``("einsum", x, k,
    p, spec)`` (operand ``k`` the only one holding the summed letters, ``p`` its plan over
    their axes, ``spec`` the einsum without them)."""
    node = b[x]
    leaf = ("leaf", x, axes)
    if depth > MAX_DEPTH or (depth and not temporary(b, x)):
        return leaf
    if {key for key, _ in node.attrs} - {"acc", "spec"}:
        return leaf
    args, ndim = node.args, len(node.shape)
    if node.op == "neg":
        return ("neg", x, plan(b, args[0], axes, depth + 1))
    if node.op == "add" and len(args) == 2:
        if all(b.shape(a) == node.shape for a in args):
            return ("add", x, *(plan(b, a, axes, depth + 1) for a in args))
    if node.op == "mul" and len(args) == 2:
        for a, c in (args, args[::-1]):
            along = constant_along(b.shape(c), ndim, axes)
            if b.shape(a) == node.shape and b[c].dtype == "float" and along:
                return ("mul", x, plan(b, a, axes, depth + 1), c)
    if node.op == "einsum" and len(args) == 2 and "." not in node.attr("spec"):
        return einsum_plan(b, x, axes, depth) or leaf
    return leaf


def einsum_plan(b, x: int, axes: tuple, depth: int) -> tuple | None:
    """The plan of an einsum of two operands whose summed output letters all come from one
    operand, once each (see ``plan``); None otherwise."""
    node = b[x]
    ins, out = einsum_parts(node.attr("spec"))
    letters = [out[k] for k in axes]
    for k, sub in enumerate(ins):
        other = ins[1 - k]
        if all(sub.count(c) == 1 and c not in other for c in letters):
            inner = tuple(sub.index(c) for c in letters)
            kept = "".join(c for c in sub if c not in letters)
            rest = "".join(c for c in out if c not in letters)
            spec = ",".join([kept, other] if k == 0 else [other, kept]) + "->" + rest
            return ("einsum", x, k, plan(b, node.args[k], inner, depth + 1), spec)
    return None


def parts(p: tuple) -> list[tuple]:
    """Plan ``p`` and the plans inside it, outermost first."""
    return [p] + [q for sub in p[2:] if isinstance(sub, tuple) for q in parts(sub)]


def worth_it(b, p: tuple) -> bool:
    """Whether plan ``p`` saves work: at least two full passes (products, sums, einsums
    moved past) for each distinct leaf (summed, and its magnitude taken); its leaves are
    float arrays (an integer one's squares could wrap)."""
    kinds = [q[0] for q in parts(p)]
    leaves = {q[1] for q in parts(p) if q[0] == "leaf"}
    if any(b[x].dtype != "float" for x in leaves):
        return False
    moved = sum(k in ("add", "mul", "einsum") for k in kinds)
    return moved >= 2 * len(leaves)


def fast(b, p: tuple) -> int:
    """The sum along plan ``p``: the leaves summed first."""
    kind, x = p[0], p[1]
    if kind == "leaf":
        return b.emit("sum", x, axis=p[2], keepdims=False)
    if kind == "neg":
        return b.neg(fast(b, p[2]))
    if kind == "add":
        return b.add(fast(b, p[2]), fast(b, p[3]))
    if kind == "mul":
        return b.mul(fast(b, p[2]), p[3])
    _, _, k, sub, spec = p
    operands = list(b[x].args)
    operands[k] = fast(b, sub)
    return b.emit("einsum", *operands, spec=spec)


def terms(b, p: tuple) -> list[list[int]]:
    """M(x) along plan ``p`` as a sum of products of factor nodes: at least every |entry|
    of ``x`` and of every partial result either order makes before the sum over the axes
    (a leaf's ``magnitude``; a product's factor's, an einsum's other operand's and the
    lengths it contracts multiplied in; a sum's terms added)."""
    kind, x = p[0], p[1]
    if kind == "leaf":
        return [[magnitude(b, x)]]
    if kind == "neg":
        return terms(b, p[2])
    if kind == "add":
        return terms(b, p[2]) + terms(b, p[3])
    if kind == "mul":
        return [t + [magnitude(b, p[3])] for t in terms(b, p[2])]
    _, _, k, sub, _ = p
    node = b[x]
    extra = [magnitude(b, node.args[1 - k])]
    lengths = contracted(b, node)
    if lengths:
        extra.append(count(b, lengths, None))
    return [t + extra for t in terms(b, sub)]


def contracted(b, node) -> tuple:
    """The lengths of the letters an einsum ``node`` sums over (those not in its output),
    each once, from an operand that holds it: every one multiplies the bound, whichever
    operands hold it."""
    ins, out = einsum_parts(node.attr("spec"))
    lengths = {}
    for sub, a in zip(ins, node.args):
        for c, n in zip(sub, b.shape(a)):
            if c not in out:
                lengths.setdefault(c, n)
    return tuple(lengths[c] for c in sorted(lengths))


def bound(b, p: tuple) -> int:
    """M(x) along plan ``p`` (``terms``), the factors every term shares taken out:
    ``|g| * (|c| + |L| * n)``."""
    ts = terms(b, p)
    common = [f for f in ts[0] if all(f in t for t in ts[1:])]
    total = None
    for t in ts:
        rest = list(t)
        for f in common:
            rest.remove(f)
        term = product(b, rest)
        total = term if total is None else b.add(total, term)
    return product(b, common + [total])


def product(b, factors: list[int]) -> int:
    """The product of ``factors`` (1 for none), left to right."""
    out = factors[0] if factors else b.const(1.0)
    for f in factors[1:]:
        out = b.mul(out, f)
    return out


def magnitude(b, x: int) -> int:
    """A bound of every |entry| of ``x`` (``|c|`` for a constant: ``magnitude``'s fold)."""
    return b.emit("magnitude", x)


# sum(g * c + einsum(g, L), axis) -> sum(g, axis) * c + einsum(sum(g, axis), L), where
# count * |g| * (|c| + n |L|) shows that neither order overflows; as written otherwise
@rule("sum", "numpy")
def sum_inside_linear(b, args, attrs):
    axes, x = attrs.get("axis"), args[0]
    if axes is None or attrs.get("keepdims") or not temporary(b, x):
        return None
    axes = tuple(axes)
    p = plan(b, x, axes)
    if not worth_it(b, p):
        return None
    slow = as_written(b, "sum", x, axis=axes, keepdims=False)
    total = b.mul(count(b, b.shape(x), axes), bound(b, p))
    return below_limit(b, total, fast(b, p), slow)


def below_limit(b, total: int, fast: int, slow: int) -> int:
    """``guarded(total < LIMIT, fast, slow)``: ``fast`` where the bound ``total`` shows
    that neither order overflows, the formula's order ``slow`` otherwise (and for nan)."""
    return b.emit("guarded", b.emit("lt", total, b.const(LIMIT)), fast, slow)


# -guarded(c, a, e) -> guarded(c, -a, -e): each branch names the negated value
@rule("neg", "numpy")
def neg_into_guarded(b, args, attrs):
    g = b[args[0]]
    if g.op != "guarded" or b.users is None or b.users.get(args[0]) != 1:
        return None
    cond, fast, slow = g.args
    return b.emit("guarded", cond, b.neg(fast), b.neg(slow))
