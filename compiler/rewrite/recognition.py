"""Fuse rules: what people write by hand recognised as one stable primitive (``sigmoid``,
``softplus``, ``expm1``, ``log1p``, ``logsumexp``, ``softmax``, ``log_softmax``), and
``logaddexp`` with 0 as ``softplus``."""

from __future__ import annotations

from .engine import RuleSet
from .patterns import bare, op_of

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


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


# logaddexp(0, x) -> softplus(x), and logaddexp(x, 0): the logistic loss as NumPy code
# writes it (np.logaddexp(0, -y * z)), in softplus's four passes over the array
@rule("logaddexp", "fuse")
def logaddexp_of_zero(b, args, attrs):
    for zero, x in (args, args[::-1]):
        if b.is_const(zero, 0.0) and b.shape(zero) == ():
            return b.emit("softplus", x)
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


def one_axis(b, s: int) -> int | None:
    """The axis a division by ``sum`` node ``s`` normalises along, when it is one: a
    single axis with ``keepdims``, or the leading one (its sum broadcasts back), or the
    whole of a vector; else None."""
    axis, nd = b[s].attr("axis"), len(b.shape(b[s].args[0]))
    axis = tuple(range(nd)) if axis is None else axis
    if len(axis) != 1 or not (b[s].attr("keepdims") or axis == (0,)):
        return None
    return axis[0]


# exp(x) / sum(exp(x), axis=k, keepdims=True) -> softmax(x, axis=k)
@rule("div", "fuse")
def softmax_from_exp(b, args, attrs):
    """A softmax written out (CS231n's ``exp_scores / np.sum(exp_scores, axis=1,
    keepdims=True)``): finite where ``exp`` overflows, and its adjoint ``s * (g - sum(g
    s))`` divides by nothing (the quotient's divides by the sum twice)."""
    num, den = args
    if not (op_of(b, num, "exp") and op_of(b, den, "sum") and b[den].args[0] == num):
        return None
    axis = one_axis(b, den)
    return None if axis is None else b.emit("softmax", b[num].args[0], axis=axis)


# softmax(x - max(x, axis=k, keepdims=True), axis=k) -> softmax(x, axis=k)
@rule("softmax", "fuse")
def softmax_of_shifted(b, args, attrs):
    """The shift people write before a softmax: ``softmax`` shifts by the same maximum
    (the same numbers, bit for bit), and the maximum's adjoint, zero but for rounding,
    goes."""
    (d,) = args
    if not op_of(b, d, "sub") or not op_of(b, b[d].args[1], "max"):
        return None
    x, m = b[d].args[0], b[b[d].args[1]]
    k = attrs.get("axis")
    if m.args[0] != x or m.attr("axis") != (k,) or not m.attr("keepdims"):
        return None
    return b.emit("softmax", x, axis=k)


# log(softmax(x)) -> log_softmax(x)
@rule("log", "fuse")
def log_softmax_rule(b, args, attrs):
    (s,) = args
    if op_of(b, s, "softmax"):
        return b.emit("log_softmax", b[s].args[0], axis=b[s].attr("axis"))
    return None


# log(softmax(x)[i]) -> log_softmax(x)[i]  (indexing commutes with log)
@rule("log", "fuse")
def log_softmax_picked(b, args, attrs):
    """The log of picked probabilities (a Caffe-style loss, ``log(p[arange(N), y])``) is
    the picked entries of ``log_softmax``: finite where a probability underflows to 0,
    and its adjoint is ``log_softmax``'s, with no division by the picked entries."""
    (s,) = args
    if not op_of(b, s, "getitem") or not op_of(b, b[s].args[0], "softmax"):
        return None
    soft = b[b[s].args[0]]
    logp = b.emit("log_softmax", soft.args[0], axis=soft.attr("axis"))
    return b.emit("getitem", logp, *b[s].args[1:], **dict(b[s].attrs))
