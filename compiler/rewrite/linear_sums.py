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

A sum of the product of two arrays of its shape, scaled by factors constant along the
axes, is their einsum scaled afterwards: batch norm's ``d_v = sum(-0.5 * d_xhat * xhat /
t, axis=0)`` is ``einsum("ab,ab->b", d_xhat, xhat) * -0.5 / t`` (one read of each array
where the formula's order writes three), under the bound ``count * |a| * |b| * max(1,
|s|)`` for each scale ``s``, which holds every partial result of either order. Sums that
keep their axes (``keepdims``, layer norm's) move too, past factors of length 1 there.
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


def constant_along(shape: tuple, ndim: int, axes: tuple, keep: bool = False) -> bool:
    """Whether a value of ``shape``, broadcast (aligned right) against ``ndim`` axes, holds
    none of ``axes`` (or, for a sum that keeps them, ``keep``, has length 1 along them): a
    factor the sum over them can move past."""
    lead = ndim - len(shape)
    return all(k < lead or (keep and shape[k - lead] == 1) for k in axes)


def temporary(b, x: int) -> bool:
    """Whether ``x`` is a float value only its one reader needs and the formula does not
    name: moving the sum past it saves computing it."""
    node = b[x]
    if node.name and not node.name.startswith("d_"):
        return False  # a value the formula names keeps its line
    return node.dtype == "float" and b.users is not None and b.users.get(x) == 1


def plan(b, x: int, axes: tuple, depth: int = 0, keep: bool = False) -> tuple:
    """How sum(x, axes) (``keep``: keeping them) moves inside ``x``: ``("leaf", x, axes,
    keep)`` (summed as it is), ``("neg", x, p)``, ``("add", x, p, q)``, ``("mul", x, p,
    c)`` or ``("div", x, p, c)`` (``p`` the plan of the operand of x's shape, ``c`` the
    factor constant along ``axes``), ``("einsum", x, k, p, spec)`` (operand ``k`` the only
    one holding the summed letters, ``p`` its plan over their axes, ``spec`` the einsum
    without them) or the product of two operands of x's shape (``dot_plan``)."""
    node = b[x]
    leaf = ("leaf", x, axes, keep)
    if depth > MAX_DEPTH or (depth and not temporary(b, x)):
        return leaf
    if {key for key, _ in node.attrs} - {"acc", "spec"}:
        return leaf
    args = node.args
    if node.op == "neg":
        return ("neg", x, plan(b, args[0], axes, depth + 1, keep))
    if node.op == "add" and len(args) == 2:
        if all(b.shape(a) == node.shape for a in args):
            return ("add", x, *(plan(b, a, axes, depth + 1, keep) for a in args))
    if (scale := scale_of(b, x, axes, keep)) is not None:
        kind, a, c = scale
        return (kind, x, plan(b, a, axes, depth + 1, keep), c)
    if node.op == "mul" and len(args) == 2:
        if all(b.shape(a) == node.shape and b[a].dtype == "float" for a in args):
            return dot_plan(b, x, axes, depth, keep)
    if node.op == "einsum" and len(args) == 2 and "." not in node.attr("spec"):
        return leaf if keep else einsum_plan(b, x, axes, depth) or leaf
    return leaf


def scale_of(b, x: int, axes: tuple, keep: bool) -> tuple | None:
    """``("mul", a, c)`` or ``("div", a, c)`` where node ``x`` is ``a * c`` (either order)
    or ``a / c`` with ``a`` of x's shape and the float ``c`` constant along ``axes``."""
    node = b[x]
    if node.op not in ("mul", "div") or len(node.args) != 2:
        return None
    pairs = [node.args] if node.op == "div" else [node.args, node.args[::-1]]
    for a, c in pairs:
        along = constant_along(b.shape(c), len(node.shape), axes, keep)
        if b.shape(a) == node.shape and b[c].dtype == "float" and along:
            return node.op, a, c
    return None


def dot_plan(b, x: int, axes: tuple, depth: int, keep: bool) -> tuple:
    """The plan of sum(u * v, axes) for operands of x's shape: ``("dot", x, u', v', axes,
    keep)``, the einsum of the two cores left once each operand's scales (``scale_of``,
    ``neg``: temporaries only) are taken off, inside those scales as ``("mul", None, p,
    c)``, ``("div", None, p, c)`` and ``("neg", None, p)``."""
    cores, scales = [], []
    for a in b[x].args:
        depth_a = depth + 1
        while depth_a <= MAX_DEPTH and temporary(b, a):
            if b[a].op == "neg":
                scales.append(("neg", None))
                a = b[a].args[0]
            elif (scale := scale_of(b, a, axes, keep)) is not None:
                scales.append((scale[0], scale[2]))
                a = scale[1]
            else:
                break
            depth_a += 1
        cores.append(a)
    p = ("dot", x, cores[0], cores[1], axes, keep)
    for kind, c in scales:
        p = ("neg", None, p) if kind == "neg" else (kind, None, p, c)
    return p


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
    """Plan ``p`` and the plans inside it, outermost first (not its tuples of axes, which
    may be empty: a batched sum of a scalar sums over none)."""
    return [p] + [q for sub in p[2:] if is_plan(sub) for q in parts(sub)]


def is_plan(sub) -> bool:
    """Whether ``sub``, an entry of a plan, is a plan (a tuple led by its kind)."""
    return isinstance(sub, tuple) and bool(sub) and isinstance(sub[0], str)


def worth_it(b, p: tuple) -> bool:
    """Whether plan ``p`` saves work: at least two full passes (products, sums, einsums
    moved past) for each distinct leaf (summed, and its magnitude taken); its leaves are
    float arrays (an integer one's squares could wrap)."""
    kinds = [q[0] for q in parts(p)]
    leaves = {q[1] for q in parts(p) if q[0] == "leaf"}
    leaves |= {c for q in parts(p) if q[0] == "dot" for c in q[2:4]}
    if any(b[x].dtype != "float" for x in leaves):
        return False
    moved = sum(k in ("add", "mul", "div", "einsum") for k in kinds)
    moved += 2 * kinds.count("dot")  # a dot saves the product's pass and its sum's
    return moved >= 2 * len(leaves)


def fast(b, p: tuple) -> int:
    """The sum along plan ``p``: the leaves summed first."""
    kind, x = p[0], p[1]
    if kind == "leaf":
        return b.emit("sum", x, axis=p[2], keepdims=p[3])
    if kind == "neg":
        return b.neg(fast(b, p[2]))
    if kind == "add":
        return b.add(fast(b, p[2]), fast(b, p[3]))
    if kind == "mul":
        return b.mul(fast(b, p[2]), p[3])
    if kind == "div":
        return b.div(fast(b, p[2]), p[3])
    if kind == "dot":
        return dot_sum(b, *p[2:])
    _, _, k, sub, spec = p
    operands = list(b[x].args)
    operands[k] = fast(b, sub)
    return b.emit("einsum", *operands, spec=spec)


def dot_sum(b, u: int, v: int, axes: tuple, keep: bool) -> int:
    """sum(u * v, axes) of two operands of one shape as their einsum (``keep``: with the
    summed axes back, of length 1)."""
    letters = "abcdefgh"[: len(b.shape(u))]
    out = "".join(c for k, c in enumerate(letters) if k not in axes)
    total = b.emit("einsum", u, v, spec=f"{letters},{letters}->{out}")
    return b.emit("expand_dims", total, axis=tuple(axes)) if keep else total


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
    if kind in ("mul", "div"):
        c = p[3] if kind == "mul" else b.div(b.const(1.0), p[3])
        if "dot" in [q[0] for q in parts(p[2])]:
            # the einsum's sums come before the scale: max(1, |c|) bounds both orders
            return [t + [at_least_one(b, magnitude(b, c))] for t in terms(b, p[2])]
        return [t + [magnitude(b, c)] for t in terms(b, p[2])]
    if kind == "dot":
        return [[magnitude(b, p[2]), magnitude(b, p[3])]]
    _, _, k, sub, _ = p
    node = b[x]
    extra = [magnitude(b, node.args[1 - k])]
    lengths = contracted(b, node)
    if lengths:
        extra.append(count(b, lengths, None))
    return [t + extra for t in terms(b, sub)]


def at_least_one(b, m: int) -> int:
    """max(1, m) of a magnitude ``m`` (folded for a constant)."""
    if b.is_const(m):
        return b.const(max(1.0, b[m].attr("value")))
    return b.emit("maximum", b.const(1.0), m)


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
    axes, x, keep = attrs.get("axis"), args[0], bool(attrs.get("keepdims"))
    if axes is None or not temporary(b, x):
        return None
    axes = tuple(axes)
    p = plan(b, x, axes, keep=keep)
    if not worth_it(b, p):
        return None
    slow = as_written(b, "sum", x, axis=axes, keepdims=keep)
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
