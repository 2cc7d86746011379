"""Local rewrites, applied by the Builder as each node is made.

Each rule is a named pattern with its algebra in the comment above it, registered
for one op and one phase: ``simplify`` (always on: algebra that only removes work),
``fuse`` (recognising what people write by hand as one stable primitive; off with
``--no-fuse``) or ``late`` (faster spellings that would hide from fusion and
differentiation the structure they read; on only in the rebuild after
differentiation, ``passes.fuse.expand_fused``). A rule takes the builder, the argument indices and the
attributes of the node about to be made, and returns the index of an equivalent
node or ``None``. Rules must keep the shape and the value (up to rounding).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ..core.prim import PRIMS
from ..core.shapes import broadcast
from ..ops.common import count


@dataclass(frozen=True)
class Rule:
    name: str
    op: str
    phase: str
    fn: Callable


RULES: dict[str, list[Rule]] = {}


def rule(op: str, phase: str = "simplify"):
    """Register the decorated function as a rewrite of ``op`` nodes in ``phase``."""

    def register(f):
        RULES.setdefault(op, []).append(Rule(f.__name__, op, phase, f))
        return f

    return register


def make_rewriter(*, fuse: bool, late: bool = False):
    """The rewrite hook for ``Builder``: constant folding, then the rules of the phases on."""
    phases = ("simplify",) + (("fuse",) if fuse else ()) + (("late",) if late else ())

    def rewrite(b, op, args, attrs):
        folded = fold(b, op, args)
        if folded is not None:
            return folded
        for r in RULES.get(op, ()):
            if r.phase in phases:
                found = r.fn(b, args, attrs)
                if found is not None:
                    if r.phase == "fuse":
                        b.note(r.name)
                    return found
        return None

    return rewrite


def fold(b, op, args):
    """Constant folding of arithmetic on constants, with NumPy's float64 results (exact: no
    libm, so byte-identical anywhere): inf for an overflow or a division by zero, nan for
    0 / 0 or a negative base to a fractional power; never a complex number or an exception.
    A fractional power of a base that is not negative is left to NumPy at run time."""
    f = PRIMS[op].fold
    if f is None and op != "pow":
        return None
    if not args or not all(b.is_const(a) for a in args):
        return None
    vals = [b[a].attr("value") for a in args]
    if op == "pow":
        value = fold_pow(*vals)
    elif op == "div" and vals[1] == 0.0:
        value = divide_by_zero(vals[0], vals[1])
    else:
        value = f(*vals)
    return None if value is None else b.const(value)


def divide_by_zero(x: float, zero: float) -> float:
    """``x / 0.0`` (or ``-0.0``) in IEEE arithmetic: a signed inf, or nan for 0 / 0 and nan."""
    if x == 0.0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, zero)


def fold_pow(x: float, y: float) -> float | None:
    """``x ** y`` as NumPy's float64 power when it is exact: a whole ``y`` (repeated
    multiplication), or a negative base to a fractional power (nan); else None."""
    if math.isnan(x) or math.isnan(y) or math.isinf(y):
        return None
    if y != int(y):
        return math.nan if x < 0 else None
    if abs(y) > 1e6:
        return None
    odd = int(y) % 2 == 1
    try:
        return x ** int(y)
    except (ZeroDivisionError, OverflowError):  # 0 to a negative power; an overflow
        return math.copysign(math.inf, x) if odd else math.inf


def op_of(b, i: int, op: str) -> bool:
    return b[i].op == op


def bare(b, i: int, op: str) -> bool:
    """``op_of``, but never through a value the user named (keeps the formula's names)."""
    name = b[i].name
    return b[i].op == op and not (name and not name.startswith("d_"))


def keeps_shape(b, x: int, args) -> bool:
    """Whether ``x`` alone already has the shape the node over ``args`` would have."""
    return (
        b.shape(x) == broadcast(*(b.shape(a) for a in args)) and b[x].dtype == "float"
    )


# ---------------------------------------------------------------- simplify


# x + 0 -> x ; 0 + x -> x
@rule("add")
def add_zero(b, args, attrs):
    x, y = args
    if b.is_const(y, 0.0) and keeps_shape(b, x, args):
        return x
    if b.is_const(x, 0.0) and keeps_shape(b, y, args):
        return y
    return None


# a + (-c) -> a - c ; (-c) + a -> a - c
@rule("add")
def add_neg(b, args, attrs):
    if attrs.get("acc"):
        return None  # an accumulation stays one: d_z = ...; d_z -= ...
    x, y = args
    if bare(b, y, "neg"):
        return b.sub(x, b[y].args[0])
    if bare(b, x, "neg"):
        return b.sub(y, b[x].args[0])
    return None


# x + x -> 2 * x
@rule("add")
def add_self(b, args, attrs):
    x, y = args
    if x == y and b[x].dtype == "float":
        return b.mul(b.const(2), x)
    return None


# x - 0 -> x ; 0 - x -> -x ; a - (-c) -> a + c
@rule("sub")
def sub_simple(b, args, attrs):
    x, y = args
    if b.is_const(y, 0.0) and keeps_shape(b, x, args):
        return x
    if b.is_const(x, 0.0) and keeps_shape(b, y, args):
        return b.neg(y)
    if bare(b, y, "neg"):
        return b.add(x, b[y].args[0])
    return None


# a - b -> -(b - a)  when b - a is already a value (IEEE subtraction is antisymmetric)
@rule("sub")
def sub_flip(b, args, attrs):
    x, y = args
    if attrs or b[x].dtype != "float" or b[y].dtype != "float":
        return None
    flipped = b.find("sub", y, x)
    return None if flipped is None else b.neg(flipped)


# x * 1 -> x ; 1 * x -> x ; -1 * x -> -x
@rule("mul")
def mul_one(b, args, attrs):
    x, y = args
    for c, other in ((x, y), (y, x)):
        if b.is_const(c, 1.0) and keeps_shape(b, other, args):
            return other
        if b.is_const(c, -1.0) and keeps_shape(b, other, args):
            return b.neg(other)
    return None


# (-a) * (-c) -> a * c ; (-a) * c -> -(a * c) ; a * (-c) -> -(a * c)
@rule("mul")
def mul_neg(b, args, attrs):
    x, y = args
    if bare(b, x, "neg") and bare(b, y, "neg"):
        return b.mul(b[x].args[0], b[y].args[0])
    if bare(b, x, "neg") and not b.is_const(y):
        return b.neg(b.mul(b[x].args[0], y))
    if bare(b, y, "neg") and not b.is_const(x):
        return b.neg(b.mul(x, b[y].args[0]))
    return None


def exact_product(b, s: int, t: int) -> bool:
    """Whether ``s`` and ``t`` are constants whose product is exact, finite and normal.

    Then (s * t) * X rounds once where s * (t * X) rounds twice, and overflows, underflows
    or gives NaN only where s * (t * X) does: at s = t = 1e200, x = 0 the product of two
    runtime scalars would be inf and inf * 0 NaN, where s * (t * x) is 0.
    """
    if not (b.is_const(s) and b.is_const(t)):
        return False
    u, v = b[s].attr("value"), b[t].attr("value")
    p = u * v
    return (
        math.isfinite(p)
        and abs(p) >= sys.float_info.min
        and Fraction(u) * Fraction(v) == Fraction(p)
    )


# a * (b * X) -> (a * b) * X  for constants a, b whose product is exact (``exact_product``)
# and an array X (one pass over X, not two)
@rule("mul")
def mul_scalars_first(b, args, attrs):
    if attrs:
        return None
    for s, other in (args, args[::-1]):
        if b.shape(s) != () or b.shape(other) == () or b[other].op != "mul":
            continue
        if b[other].name or b[other].attrs or b[s].dtype != "float":
            continue  # never through a named value, adjoints included (edit locality)
        p, q = b[other].args
        for s2, arr in ((p, q), (q, p)):
            if (
                b.shape(s2) == ()
                and b.shape(arr) == b.shape(other)
                and exact_product(b, s, s2)
            ):
                return b.mul(b.mul(s, s2), arr)
    return None


# x / 1 -> x ; (-a) / c -> -(a / c)
@rule("div")
def div_simple(b, args, attrs):
    x, y = args
    if b.is_const(y, 1.0) and keeps_shape(b, x, args):
        return x
    if bare(b, x, "neg"):
        return b.neg(b.div(b[x].args[0], y))
    return None


# -(-x) -> x ; -(c / x) -> (-c) / x
@rule("neg")
def neg_neg(b, args, attrs):
    (x,) = args
    if bare(b, x, "neg"):
        return b[x].args[0]
    if bare(b, x, "div") and b.is_const(b[x].args[0]):
        return b.div(b.const(-b[b[x].args[0]].attr("value")), b[x].args[1])
    return None


# sum(-x) -> -sum(x) ; mean(-x) -> -mean(x)  (the negation moves to the smaller value)
def reduce_neg(op: str):
    def rewrite(b, args, attrs):
        (x,) = args
        if bare(b, x, "neg"):
            return b.neg(b.emit(op, b[x].args[0], **attrs))
        return None

    rewrite.__name__ = f"{op}_neg"
    return rewrite


rule("sum")(reduce_neg("sum"))
rule("mean")(reduce_neg("mean"))


# (-a) @ c -> -(a @ c) ; a @ (-c) -> -(a @ c)
@rule("matmul")
def matmul_neg(b, args, attrs):
    x, y = args
    if bare(b, x, "neg") and not bare(b, y, "neg"):
        return b.neg(b.emit("matmul", b[x].args[0], y, **attrs))
    if bare(b, y, "neg") and not bare(b, x, "neg"):
        return b.neg(b.emit("matmul", x, b[y].args[0], **attrs))
    return None


# scatter(broadcast_to(c, s), index) -> scatter(c, index)  for a scalar c
@rule("scatter")
def scatter_scalar(b, args, attrs):
    g, *idx = args
    if op_of(b, g, "broadcast_to") and b.shape(b[g].args[0]) == ():
        return b.emit("scatter", b[g].args[0], *idx, **attrs)
    return None


# x ** 1 -> x
@rule("pow")
def pow_one(b, args, attrs):
    x, y = args
    if b.is_const(y, 1.0) and keeps_shape(b, x, args):
        return x
    return None


# broadcast_to(g, s) (*) y -> g (*) y   when broadcasting g against y already gives s
def drop_broadcast(b, args, attrs, op):
    if attrs.get("acc"):
        return None  # the first part of an accumulation is its array: d_x = full(...); d_x += ...
    out = broadcast(*(b.shape(a) for a in args))
    for k, a in enumerate(args):
        if op_of(b, a, "broadcast_to"):
            inner = list(args)
            inner[k] = b[a].args[0]
            if broadcast(*(b.shape(x) for x in inner)) == out:
                return b.emit(op, *inner, **attrs)
    return None


# broadcast_to(s, shape) (*) c -> broadcast_to(s (*) c, shape)  for scalars s and c
def scalar_into_broadcast(b, args, attrs, op):
    if attrs.get("acc") or len(args) != 2:
        return None
    for k, a in enumerate(args):
        other = args[1 - k]
        if (
            op_of(b, a, "broadcast_to")
            and b.shape(b[a].args[0]) == ()
            and b.shape(other) == ()
        ):
            inner = [b[a].args[0], other] if k == 0 else [other, b[a].args[0]]
            return b.emit("broadcast_to", b.emit(op, *inner), shape=b.shape(a))
    return None


for _op in ("add", "sub", "mul", "div"):
    rule(_op)(
        (lambda op: lambda b, args, attrs: scalar_into_broadcast(b, args, attrs, op))(
            _op
        )
    )

for _op in ("add", "sub", "mul", "div", "where"):
    rule(_op)(
        (lambda op: lambda b, args, attrs: drop_broadcast(b, args, attrs, op))(_op)
    )


# reshape(x, shape(x)) -> x
@rule("reshape")
def reshape_same(b, args, attrs):
    return args[0] if b.shape(args[0]) == tuple(attrs["shape"]) else None


# reshape(sum(x, axes, keepdims=True), s) -> sum(x, axes)  when s drops exactly those axes
@rule("reshape")
def reshape_of_keepdims_sum(b, args, attrs):
    (x,) = args
    node = b[x]
    if bare(b, x, "sum") and node.attr("keepdims") and node.attr("axis") is not None:
        inner = b[node.args[0]]
        dropped = tuple(
            d for k, d in enumerate(inner.shape) if k not in node.attr("axis")
        )
        if dropped == tuple(attrs["shape"]):
            return b.emit("sum", node.args[0], axis=node.attr("axis"), keepdims=False)
    return None


# transpose(transpose(x, p), q) -> x  when q undoes p
@rule("transpose")
def transpose_twice(b, args, attrs):
    (x,) = args
    if op_of(b, x, "transpose"):
        inner = b[x].attr("axes")
        if tuple(inner[k] for k in attrs["axes"]) == tuple(range(len(inner))):
            return b[x].args[0]
    return None


#: how deep ``known_condition`` looks into a branch of a ``where``
MAX_KNOWN_DEPTH = 4


def known_condition(b, x: int, facts: dict, depth: int = 0) -> int:
    """``x`` with each ``where(c, a, e)`` inside its arithmetic replaced by ``a`` or ``e`` when
    ``facts`` (condition -> value) knows ``c``: where ``x`` is read only where the facts hold,
    the two are equal there."""
    node = b[x]
    if node.op == "where" and node.args[0] in facts:
        return node.args[1] if facts[node.args[0]] else node.args[2]
    if depth >= MAX_KNOWN_DEPTH or node.op not in ("add", "sub", "mul", "div", "neg"):
        return x
    if node.attrs or (node.name and not node.name.startswith("d_")):
        return x  # never through an accumulation or a value the formula names
    args = tuple(known_condition(b, a, facts, depth + 1) for a in node.args)
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


# ---------------------------------------------------------------- late

#: how deep ``contraction`` looks into a sum's argument
MAX_CONTRACTION_DEPTH = 6


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


# ---------------------------------------------------------------- fuse


# 1 / (1 + exp(-x)) -> sigmoid(x)
@rule("div", "fuse")
def sigmoid_from_exp(b, args, attrs):
    one, den = args
    if not (b.is_const(one, 1.0) and op_of(b, den, "add")):
        return None
    p, q = b[den].args
    if b.is_const(q, 1.0):
        p, q = q, p
    if b.is_const(p, 1.0) and op_of(b, q, "exp") and op_of(b, b[q].args[0], "neg"):
        return b.emit("sigmoid", b[b[q].args[0]].args[0])
    return None


# exp(x) / (1 + exp(x)) -> sigmoid(x)
@rule("div", "fuse")
def sigmoid_from_ratio(b, args, attrs):
    num, den = args
    if op_of(b, num, "exp") and op_of(b, den, "add"):
        p, q = b[den].args
        if (b.is_const(p, 1.0) and q == num) or (b.is_const(q, 1.0) and p == num):
            return b.emit("sigmoid", b[num].args[0])
    return None


# 1 - sigmoid(x) -> sigmoid(-x)
@rule("sub", "fuse")
def one_minus_sigmoid(b, args, attrs):
    one, s = args
    if b.is_const(one, 1.0) and bare(b, s, "sigmoid"):
        return b.emit("sigmoid", b.neg(b[s].args[0]))
    return None


# exp(x) - 1 -> expm1(x)
@rule("sub", "fuse")
def expm1_rule(b, args, attrs):
    e, one = args
    if b.is_const(one, 1.0) and op_of(b, e, "exp"):
        return b.emit("expm1", b[e].args[0])
    return None


def one_plus(b, i):
    """``x`` if node ``i`` is ``1 + x`` or ``x + 1``, else None."""
    if not op_of(b, i, "add"):
        return None
    p, q = b[i].args
    if b.is_const(p, 1.0) and b.shape(q) == b.shape(i):
        return q
    if b.is_const(q, 1.0) and b.shape(p) == b.shape(i):
        return p
    return None


# log(1 + exp(x)) -> softplus(x)
@rule("log", "fuse")
def softplus_rule(b, args, attrs):
    x = one_plus(b, args[0])
    if x is not None and op_of(b, x, "exp"):
        return b.emit("softplus", b[x].args[0])
    return None


# log(sigmoid(x)) -> -softplus(-x)
@rule("log", "fuse")
def log_sigmoid(b, args, attrs):
    (s,) = args
    if op_of(b, s, "sigmoid"):
        return b.neg(b.emit("softplus", b.neg(b[s].args[0])))
    return None


# log(1 - sigmoid(x)) -> -softplus(x)
@rule("log", "fuse")
def log_one_minus_sigmoid(b, args, attrs):
    (d,) = args
    if (
        op_of(b, d, "sub")
        and b.is_const(b[d].args[0], 1.0)
        and op_of(b, b[d].args[1], "sigmoid")
    ):
        return b.neg(b.emit("softplus", b[b[d].args[1]].args[0]))
    return None


# log(1 + x) -> log1p(x)
@rule("log", "fuse")
def log1p_rule(b, args, attrs):
    x = one_plus(b, args[0])
    return b.emit("log1p", x) if x is not None else None


# log(sum(exp(x))) -> logsumexp(x)
@rule("log", "fuse")
def logsumexp_rule(b, args, attrs):
    (s,) = args
    if op_of(b, s, "sum") and op_of(b, b[s].args[0], "exp"):
        x = b[b[s].args[0]].args[0]
        return b.emit(
            "logsumexp", x, axis=b[s].attr("axis"), keepdims=b[s].attr("keepdims")
        )
    return None


# log(softmax(x)) -> log_softmax(x)
@rule("log", "fuse")
def log_softmax_rule(b, args, attrs):
    (s,) = args
    if op_of(b, s, "softmax"):
        return b.emit("log_softmax", b[s].args[0], axis=b[s].attr("axis"))
    return None
