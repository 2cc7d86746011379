"""The late rewrites: faster spellings chosen once the graph is differentiated.

They run after differentiation (and again on ``f_grad``'s graph, whose upstream
gradient is 1), over the whole graph, because they hide structure that fusion and the
adjoint rules read (a ``sum(a * b)`` that becomes ``vdot(a, b)`` has no elementwise
product left), and because they need to know who reads a value: a product that the
backward pass also reads is computed anyway, and stays. The rules themselves are
registered in ``rewrite/contraction.py`` in the ``late`` phase (and the ``numpy`` phase:
for the NumPy target only).
"""

from __future__ import annotations

from ..core.ir import Builder, Function, Node, Value, reachable, rebuild
from ..ops.guarded import common_path
from ..ops.reductions import log_softmax_parts, logsumexp_parts
from ..rewrite import RULES, make_rewriter
from .literal_shapes import NotScalar, literal


def late(fn: Function, numpy: bool = True, rare: set[int] = frozenset()) -> Function:
    """``fn`` rebuilt with the ``late`` rules on (and the ``simplify`` rules; the ``numpy``
    ones when ``numpy``: a module for the NumPy target), and each logsumexp whose parts the
    backward reads computed from them (``exposed``); ``fn`` itself when there is nothing
    to rewrite. The nodes ``rare`` are made again as they are, their reads not counted
    (``late_again``)."""
    phases = ("late", "numpy") if numpy else ("late",)
    ops = [op for op, rules in RULES.items() if any(r.phase in phases for r in rules)]
    parts = exposed(fn)
    shared = exp_shared(fn) if numpy else {}
    if not parts and not shared and not any(node.op in ops for node in fn.nodes):
        return fn
    b = Builder(rewrite=make_rewriter(fuse=False, late=True, numpy=numpy))

    def expose(i, node, remap):
        if i in shared:
            return from_shared_exp(b, node, remap[node.args[0]], remap[shared[i]])
        if i not in parts:
            return None
        x = remap[node.args[0]]
        if node.op == "log_softmax":
            m, _, s = log_softmax_parts(b, x, node)
            return ((Value(b, x) - m) - s.op("log")).i
        m, _, s = logsumexp_parts(b, x, node)
        return (s.op("log") + m).i

    return rebuild(fn, b, expose, rare)


def late_again(fn: Function) -> Function:
    """``fn`` (rewritten ``late`` for the NumPy target) once more where a guard's rare
    branch shares a value with the rest, the reads of that branch not counted
    (``rare_reads``); ``fn`` itself otherwise. For ``f_value_and_grad``'s graph: the
    backward pass's reads the cache holds anyway."""
    rare = rare_reads(fn)
    return late(fn, True, rare) if rare else fn


# sum(a ** 2) -> vdot(a, a) where a guard's rare branch alone reads a ** 2 besides
def rare_reads(fn: Function) -> set[int]:
    """The nodes only the rare branches of guards read (``slow``: past a bound, or for
    nan), where one of them reads a value something else reads too: a rule that keeps
    a value because another node reads it (``b.users``) need not keep it for them, as
    the branch computes it where it is taken (``backend/branches.py``). Empty otherwise."""
    roots = [fn.output, *fn.grads.values()]
    common = reachable(fn.nodes, roots, common_path)
    rare = reachable(fn.nodes, roots) - common
    if any(a in common for i in rare for a in fn.nodes[i].args):
        return rare
    return set()


# logsumexp(x) -> log(s) + m, s = sum(exp(x - m)), m = max(x)  (when the backward reads s)
# log_softmax(x) -> (x - m) - log(s)  (likewise, s and m kept as columns)
def exposed(fn: Function) -> set[int]:
    """The logsumexp nodes whose shift the differentiated graph holds (its adjoint built
    ``logsumexp_parts``): their value is computed from those parts, shared with the
    backward, instead of by ``_logsumexp`` (which would compute ``exp`` again)."""
    shifts = {(n.args, n.attrs) for n in fn.nodes if n.op == "max_shift"}
    rows = {
        (n.args, n.attr("axis"))
        for n in fn.nodes
        if n.op == "max_shift" and n.attr("keepdims")
    }
    return {
        i
        for i, n in enumerate(fn.nodes)
        if (n.op == "logsumexp" and (n.args, n.attrs) in shifts)
        or (n.op == "log_softmax" and (n.args, (n.attr("axis"),)) in rows)
    }


# softplus(x) -> max(x, 0) + log1p(e) ; sigmoid(x) -> where(x >= 0, 1, e) / (1 + e)
# with e = exp(-|x|), when the graph holds both (of x, or of x and -x): one exp, not two
def exp_shared(fn: Function) -> dict[int, int]:
    """The live softplus and sigmoid nodes of an argument ``x`` or ``-x`` that the other
    function also takes, each mapped to ``x`` (the softplus of a logistic loss and the
    sigmoid of its gradient: both from ``exp(-|x|)``, computed once). Arrays only: on
    the floats of the scalar build (``small``) the two are helpers that never raise,
    where ``exp`` and ``log1p`` would need the ``try`` of a NumPy fallback."""
    live = reachable(fn.nodes, [fn.output, *fn.grads.values()])
    found: dict[int, dict[str, list[int]]] = {}
    for i in sorted(live):
        node = fn.nodes[i]
        if node.op in ("softplus", "sigmoid") and not small(node.shape):
            x = node.args[0]
            if fn.nodes[x].op == "neg":
                x = fn.nodes[x].args[0]
            found.setdefault(x, {}).setdefault(node.op, []).append(i)
    return {
        i: x
        for x, by_op in found.items()
        if len(by_op) == 2
        for i in by_op["softplus"] + by_op["sigmoid"]
    }


def from_shared_exp(b: Builder, node: Node, a: int, x: int) -> int:
    """``node``, softplus or sigmoid of ``a`` (``x`` or ``-x``, rebuilt), from
    ``e = exp(-|x|)`` (one node for all of them: ``b`` finds it): overflow-free, and to
    full relative precision on both sides of 0."""
    a = Value(b, a)
    e = Value(b, x).op("abs").op("neg").op("exp")
    if node.op == "softplus":
        return (a.op("maximum", 0) + e.op("log1p")).i
    return (a.op("ge", 0).where(1, e) / (1 + e)).i


def small(shape: tuple) -> bool:
    """Whether a value of ``shape`` is a scalar or an array ``scalarise`` may expand."""
    try:
        literal(shape)
    except NotScalar:
        return False
    return True
