"""Late rules: sums of products as ``vdot`` contractions, where that overflows, underflows
or gives NaN only where the original does."""

from __future__ import annotations

from ..ops.common import count
from .engine import RuleSet

#: how deep ``contraction`` looks into a sum's argument
MAX_CONTRACTION_DEPTH = 6

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


def widening(b, s: int) -> bool:
    """Whether ``s`` is a constant with |s| >= 1: then s * sum(x) overflows only where
    sum(s * x) does (with |s| < 1, sum(x) may overflow where sum(s * x) does not)."""
    return b.is_const(s) and abs(b[s].attr("value")) >= 1.0


def narrowing(b, s: int) -> bool:
    """Whether ``s`` is a constant with 0 < |s| <= 1: sum(x) / s as ``widening``."""
    return b.is_const(s) and 0.0 < abs(b[s].attr("value")) <= 1.0


def nonnegative(b, x: int) -> bool:
    """Whether ``x`` is a sum of squares (``a ** 2``, ``a * a``), each maybe times a constant
    of at least 1: then sum(u + v) and sum(u) + sum(v) overflow alike and never give
    inf - inf."""
    node = b[x]
    if node.op == "pow":
        return b.is_const(node.args[1], 2.0)
    if node.op == "mul" and len(node.args) == 2:
        p, q = node.args
        if p == q:
            return True
        return any(
            b.is_const(c) and b[c].attr("value") >= 1.0 and nonnegative(b, t)
            for c, t in ((p, q), (q, p))
        )
    if node.op == "add":
        return all(nonnegative(b, a) for a in node.args)
    return False


def contraction_terms(b, x: int, depth: int = 0) -> bool:
    """Whether sum(x) can be written with ``vdot`` nodes only (see ``contraction``).

    Only rewrites that overflow, underflow or give NaN where the original does: distributing
    over + only between sums of squares (``nonnegative``), never over - (vdot(a, a) -
    vdot(a, a) is inf - inf where sum(a * a - a * a) is 0), and moving out only scalar
    factors that are constants of at least 1 (divisors of at most 1)."""
    node = b[x]
    if depth > MAX_CONTRACTION_DEPTH or node.dtype != "float" or not node.shape:
        return False
    if node.name and not node.name.startswith("d_"):
        return False  # never through a value the formula names (its line stays)
    if b.users is None or b.users.get(x) != 1:
        return False  # a value something else reads is computed anyway: keep its sum
    args = node.args
    shapes = [b.shape(a) for a in args]
    if node.op == "mul" and len(args) == 2 and not node.attrs:
        if shapes[0] == shapes[1] == node.shape:
            return all(b[a].dtype == "float" for a in args)
        return any(
            s == () and widening(b, f) and contraction_terms(b, a, depth + 1)
            for s, f, a in zip(shapes[::-1], args[::-1], args)
        )
    if node.op == "div" and shapes[1] == ():
        return narrowing(b, args[1]) and contraction_terms(b, args[0], depth + 1)
    if node.op == "pow":
        return b.is_const(args[1], 2.0)
    if node.op == "add" and not node.attrs and shapes[0] == shapes[1] == node.shape:
        return nonnegative(b, x) and all(
            contraction_terms(b, a, depth + 1) for a in args
        )
    if node.op == "neg":
        return contraction_terms(b, args[0], depth + 1)
    return False


def contraction(b, x: int) -> int:
    """sum(x) as a scalar made of ``vdot`` nodes; ``contraction_terms(b, x)`` must hold.

    The sum distributes over ``+`` and moves through negation, constant factors move out,
    and each product of two arrays of one shape becomes one ``vdot`` (``a ** 2`` is
    ``a * a``).
    """
    node = b[x]
    args = node.args
    if node.op == "mul" and b.shape(args[0]) == b.shape(args[1]):
        return b.emit("vdot", *args)
    if node.op == "mul":
        s, arr = args if b.shape(args[0]) == () else args[::-1]
        return b.mul(s, contraction(b, arr))
    if node.op == "div":
        return b.div(contraction(b, args[0]), args[1])
    if node.op == "pow":
        return b.emit("vdot", args[0], args[0])
    if node.op == "add":
        return b.add(contraction(b, args[0]), contraction(b, args[1]))
    return b.neg(contraction(b, args[0]))


# sum(a * b) -> vdot(a, b) ; sum(2 * a ** 2 + b ** 2) -> 2 * vdot(a, a) + vdot(b, b)
@rule("sum", "late")
def sum_of_products(b, args, attrs):
    if attrs.get("axis") is not None or attrs.get("keepdims"):
        return None
    return contraction(b, args[0]) if contraction_terms(b, args[0]) else None


# mean(a * b) -> vdot(a, b) / size(a)
@rule("mean", "late")
def mean_of_products(b, args, attrs):
    if attrs.get("axis") is not None or attrs.get("keepdims"):
        return None
    if not contraction_terms(b, args[0]):
        return None
    return b.div(contraction(b, args[0]), count(b, b.shape(args[0]), None))


def product_factors(b, x: int) -> tuple[int, int] | None:
    """``(p, q)`` when ``x`` is ``p * q`` of two float arrays of ``x``'s shape, or ``p ** 2``
    (``(p, p)``), that nothing but its sum reads and the formula does not name."""
    node = b[x]
    if node.name and not node.name.startswith("d_"):
        return None
    if b.users is None or b.users.get(x) != 1 or node.dtype != "float":
        return None
    if node.op == "pow" and b.is_const(node.args[1], 2.0):
        p = node.args[0]
        return (p, p) if b.shape(p) == node.shape else None
    if node.op == "mul" and len(node.args) == 2 and not node.attrs:
        p, q = node.args
        if (
            b.shape(p) == b.shape(q) == node.shape
            and b[p].dtype == b[q].dtype == "float"
        ):
            return p, q
    return None


# sum(a * b, axis=k) -> einsum("ij,ij->i", a, b) ; sum(a ** 2, axis=k) -> einsum(.., a, a)
# (one axis of an array of two or more): the products summed as they are made, no
# temporary; 1.3-4x faster than (a * b).sum(axis=k) from 64x100 to 10000x25x10
# (bench/README.md, "The GMM objective"); the same products and additions in another
# order, as vdot. The NumPy target only: the numba target's kernels read the sum, and
# the Array API has no einsum of its own
@rule("sum", "numpy")
def sum_of_products_along(b, args, attrs):
    axes, x = attrs.get("axis"), args[0]
    if axes is None or len(axes) != 1 or attrs.get("keepdims") or len(b.shape(x)) < 2:
        return None
    pair = product_factors(b, x)
    if pair is None:
        return None
    letters = "abcdefghijklmnopqrstuvwxyz"[: len(b.shape(x))]
    out = "".join(c for k, c in enumerate(letters) if k not in axes)
    return b.emit("einsum", *pair, spec=f"{letters},{letters}->{out}")
