"""The ``fused`` operation: an elementwise region kept as a small body graph, printed
inline, whose local gradients SymPy derives (``symbolic/body.py``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy

from ..core import printer as P
from ..core.ir import Node, run_body
from ..core.prim import PRIMS, prim, spell
from ..ops.common import elementwise_shape
from ..ops.spelling import array_constants, both
from .body import (
    OUT,
    UPSTREAM,
    arg_symbols,
    common_factor,
    local_gradient,
    without_common,
)
from .convert import build

# ----------------------------------------------------------------------------
# Fused elementwise nodes: a small body graph; SymPy derives the local gradients


def body_emit(node, a, ctx):
    """Print a fused node's body inline, with the same spellings as unfused nodes."""
    return run_body(node.attr("body"), marked(a, node.args, ctx), BodySpeller(ctx))


def marked(a: list, args, ctx) -> list:
    """The printed arguments ``a`` of the graph's nodes ``args``, each marked as an array
    (``Expr.array``) where that node's value is one of rank 1 or more."""
    return [replace(e, array=bool(ctx.shape_of(k))) for e, k in zip(a, args)]


@dataclass(frozen=True)
class BodySpeller:
    """``apply`` for ``run_body``: an entry printed as the unfused node would be, marked
    as an array where an argument is one (the body is elementwise), its constants then
    as the target writes those meeting arrays (``array_constants``)."""

    ctx: object

    def __call__(self, op: str, args: list, attrs: tuple):
        array = any(e.array for e in args)
        args = array_constants(op, args, array, self.ctx)
        e = spell(Node(op, (), (), "float", attrs), args, self.ctx)
        return replace(e, array=True) if array else e


def expand(b, expr, nodes: dict) -> int:
    """Build SymPy ``expr`` as plain nodes, its symbols standing for ``nodes`` (shared once)."""
    return build(b, expr, dict(nodes))


INFIX = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "matmul": "@",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "eq": "==",
    "ne": "!=",
}


def is_mask(b, node) -> bool:
    """Whether ``node`` is a comparison used as a number: ``where(c, 1.0, 0.0)``."""
    return (
        node.op == "where"
        and b.is_const(node.args[1], 1.0)
        and b.is_const(node.args[2], 0.0)
    )


def index_text(index) -> str:
    """An index as the formula writes it (``1:``, ``:-1``, ``0``, ``None``), else ``...``."""
    parts = []
    for e in index:
        if e[0] == "s" and all(v is None or isinstance(v, int) for v in e[1:]):
            start, stop, step = ("" if v is None else str(v) for v in e[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif e[0] == "i" and isinstance(e[1], int):
            parts.append(str(e[1]))
        elif e[0] == "n":
            parts.append("None")
        else:
            return "..."
    return ", ".join(parts)


def hint(b, i: int, depth: int = 2) -> str:
    """A readable name for node ``i`` in a comment, as the formula writes it: its name,
    else a short expression (``(X @ w)``, ``sum(W * W)``, ``x[...]``), ``...`` below
    ``depth`` levels; never an IR word."""
    node = b[i]
    name = node.name or node.attr("name")
    if name and not (node.op == "fused" and node.name is None):
        return name
    if node.op == "const":
        return P.number(node.attr("value")).text
    if is_mask(b, node):  # the comparison a formula wrote as a number: (x >= 0)
        return hint(b, node.args[0], depth)
    if depth == 0 or not node.args:
        return "..."
    args = [hint(b, a, depth - 1) for a in node.args]
    if node.op in INFIX and len(args) == 2:
        return f"({args[0]} {INFIX[node.op]} {args[1]})"
    if node.op == "neg":
        return f"(-{args[0]})"
    if node.op == "getitem":
        return f"{args[0]}[{index_text(node.attr('index') or ())}]"
    names = PRIMS[node.op].names if node.op in PRIMS else ()
    if names:
        inner = [a[1:-1] if a.startswith("(") and a.endswith(")") else a for a in args]
        axis = node.attr("axis") if node.op in ("sum", "mean") else None
        if axis is not None:  # as written: axis=1, axis=(0, 1)
            inner.append(f"axis={axis[0] if len(axis) == 1 else axis}")
        return f"{names[0]}({', '.join(inner)})"
    return args[0] if len(args) == 1 else "..."  # broadcasts, reshapes: their value


def fused_adjoint(b, i, n, g):
    """Each input gets g times SymPy's simplified derivative of the body.

    The factor the local gradients share (``out * (1 - out)`` for a neuron) is
    computed once, as the lecture's backward does with ``d_z``.
    """
    body, m = n.attr("body"), len(n.args)
    wanted = [k for k, x in enumerate(n.args) if b.wanted(x)]
    locals_ = {k: local_gradient(body, m, k)[0] for k in wanted}
    locals_ = {k: d for k, d in locals_.items() if d != 0}
    nodes = dict(zip(arg_symbols(m), n.args))
    nodes[OUT] = i
    nodes[UPSTREAM] = g
    names = {s: sympy.Symbol(hint(b, a)) for s, a in zip(arg_symbols(m), n.args)}
    names[OUT] = sympy.Symbol(hint(b, i) if b[i].name else "out")
    label = n.attr("name")
    common = (
        common_factor(list(locals_.values())) if len(locals_) > 1 else sympy.Integer(1)
    )
    upstream = UPSTREAM
    if not common.is_Number:
        shared = expand(b, UPSTREAM * common, nodes)
        note = f"{label}: local gradients share {sympy.sstr(common.xreplace(names))}"
        b.notes.setdefault(shared, note)
        if (
            b[shared].op == "neg"
        ):  # the sign may move on (sum(-x) -> -sum(x)): keep the note
            b.notes.setdefault(b[shared].args[0], note)
        upstream = sympy.Symbol("_shared")
        nodes[upstream] = shared
    out = [None] * m
    for k, local in locals_.items():
        rest = local if common.is_Number else without_common(local, common)
        c = expand(b, upstream * rest, nodes)
        if not (rest.is_Symbol or rest.is_Number):
            text = sympy.sstr(rest.xreplace(names))
            extra = "" if upstream == UPSTREAM else " (times the shared factor)"
            h = hint(b, n.args[k])
            wrt = h if h.isidentifier() or h.startswith("(") else f"({h})"
            b.notes.setdefault(c, f"{label}: d/d{wrt} = {text}{extra}")
        out[k] = c
    return out


def fused_tangent(b, i, n, ts):
    """The inputs' tangents times SymPy's simplified derivatives of the body, summed,
    the factor they share taken out once: ``t * y * (1 - y)`` for a neuron."""
    body, m = n.attr("body"), len(n.args)
    live = [k for k, t in enumerate(ts) if t is not None]
    locals_ = {k: local_gradient(body, m, k)[0] for k in live}
    locals_ = {k: d for k, d in locals_.items() if d != 0}
    if not locals_:
        return None
    tsyms = {k: sympy.Symbol(f"_t{k}", real=True) for k in locals_}
    nodes = dict(zip(arg_symbols(m), n.args))
    nodes[OUT] = i
    nodes.update({tsyms[k]: ts[k] for k in locals_})
    common = (
        common_factor(list(locals_.values())) if len(locals_) > 1 else sympy.Integer(1)
    )
    terms = sum(tsyms[k] * without_common(d, common) for k, d in locals_.items())
    return expand(b, common * terms, nodes)


prim(
    "fused",
    elementwise_shape,
    spellings=both(body_emit),
    adjoint=fused_adjoint,
    tangent=fused_tangent,
    elementwise=True,
)
# a body's input while a region is built (never printed)
prim("input_ref", lambda b, args, attrs: ((), "float"), raises_on_floats=False)
