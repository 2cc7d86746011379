"""SymPy expression -> graph IR, as a DAG: each distinct subexpression becomes one node.

The walk is iterative (post-order over unique subexpressions), so deep or heavily
shared expressions cost time linear in the number of distinct subexpressions, and
nothing is ever printed as a tree (no expression swell).
"""

from __future__ import annotations

import sympy
from sympy.functions.elementary.piecewise import ExprCondPair

from ..core.ir import Builder, Function, Loc, Param
from ..core.names import function_name_problem
from ..errors import FormulaError
from ..rewrite import make_rewriter
from ..symbolic.convert import (
    FUNCTIONS,
    PIECEWISE_OTHERWISE,
    RELATIONS,
    build,
    error,
)

MAX_SHOWN = 60  # characters of a subexpression quoted in a message
MAX_PRINTED = (
    200  # characters of a whole expression quoted under a message, with a caret
)
MAX_TREE = (
    2000  # nodes of an expression printed as a tree (a shared DAG can be far larger)
)


def tree_size(expr) -> int:
    """The number of nodes ``expr`` has printed as a tree, counted over its DAG (linear time)."""
    size: dict = {}
    for e in subexpressions(expr):
        size[e] = 1 + sum(size[a] for a in e.args)
    return size[expr]


def printed(expr) -> str | None:
    """``sympy.sstr(expr)``, or None when printing it would be too long to be of use."""
    return sympy.sstr(expr) if tree_size(expr) <= MAX_TREE else None


def shown(expr) -> str:
    """A short printed form of a subexpression for a message (``Piecewise((x, x > 0), ...``)."""
    text = printed(expr)
    if text is None:
        text = f"{expr.func.__name__}({', '.join(a.func.__name__ + '(...)' for a in expr.args)})"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def located(message: str, sub, expr) -> FormulaError:
    """An error about subexpression ``sub`` of ``expr``: the message quotes ``sub``; the
    whole expression is quoted below it with a caret under ``sub`` when it is short."""
    message = (
        f"{message}{',' * message.startswith(('symbol', 'constant'))} in {shown(sub)}"
    )
    whole = printed(expr)
    if whole is None or len(whole) > MAX_PRINTED:
        return error(message)
    col = whole.find(sympy.sstr(sub)) + 1
    return FormulaError(
        message, filename="<sympy>", line=1, col=max(col, 1), source_line=whole
    )


def node_problem(e, inputs) -> str | None:
    """What ``convert`` cannot turn into nodes at ``e`` itself (not its arguments), in
    SymPy's words, or None."""
    if isinstance(e, sympy.Symbol):
        if e in inputs:
            return None
        names = ", ".join(s.name for s in list(inputs)[:6]) + ", ..." * (
            len(inputs) > 6
        )
        return f"symbol {e} is not among the inputs ({names or 'there are none'})"
    if e.is_Number or e in (sympy.pi, sympy.E) or (e.is_number and not e.args):
        value = complex(e)
        if value.imag or not abs(value.real) < float("inf"):
            return f"constant {e} is not a finite real number"
        if e.is_Number or e in (sympy.pi, sympy.E):
            return None
        return f"unsupported SymPy constant {e}"
    if isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow, sympy.Max, sympy.Min)):
        return None
    if isinstance(e, sympy.Piecewise):
        return None if e.args[-1].cond is sympy.true else PIECEWISE_OTHERWISE
    if type(e) in RELATIONS or isinstance(e, (sympy.Not, ExprCondPair)):
        return None
    if e is sympy.true:
        return None
    if any(isinstance(e, cls) and len(e.args) == 1 for cls in FUNCTIONS):
        return None
    return f"unsupported SymPy operation {e.func.__name__}"


def check_supported(expr, inputs) -> None:
    """Raise for the outermost subexpression of ``expr`` that ``convert`` cannot lower (a
    ``Piecewise`` is named, not the comparison inside it), naming it and where it sits: a
    leaf (a symbol, a constant) is shown with the expression it is an argument of."""
    inputs = set(inputs)
    seen, stack = set(), [(expr, expr)]
    while stack:
        e, parent = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        problem = node_problem(e, inputs)
        if problem:
            raise located(problem, e if e.args else parent, expr)
        stack.extend((a, e) for a in reversed(e.args))


def lower_sympy(expr, inputs, *, wrt=None, name: str = "f", fuse: bool = True):
    """Lower ``expr`` to a ``Function``; returns it with a canonical text of the DAG (for the digest)."""
    if not isinstance(expr, sympy.Basic):
        raise error(f"expected a SymPy expression, got {type(expr).__name__}")
    problem = function_name_problem(name)
    if problem:
        raise error(f"function name {name!r} {problem}")
    b = Builder(rewrite=make_rewriter(fuse=fuse))
    loc = Loc(1, 1, "SymPy expression", "out")
    b.loc = loc
    wrt_set = list(inputs) if wrt is None else list(wrt)
    memo: dict = {}
    params, seen_names = [], set()
    for s in inputs:
        if not isinstance(s, sympy.Symbol):
            raise error(f"input {s!r} is not a SymPy Symbol")
        pname = s.name
        if not pname.isidentifier() or pname in seen_names:
            raise error(f"input name {pname!r} is not a distinct identifier")
        seen_names.add(pname)
        memo[s] = b.emit("param", name=pname, shape=(), dtype="float")
        params.append(Param(pname, memo[s], "Scalar", s in wrt_set))
    for s in wrt_set:
        if s not in inputs:
            raise error(f"wrt symbol {s} is not an input")
    check_supported(expr, inputs)
    out = build(b, expr, memo, printed=True)  # as its printed text reads
    b.name(out, "out")  # as the text frontend names a returned expression
    fn = Function(
        name, "", params, b.nodes, out, "Scalar", loc, "<sympy>", rewrites=list(b.fired)
    )
    return fn, canonical_text(expr, params)


def canonical_text(expr, params: list[Param]) -> str:
    """The expression's DAG as text, one distinct subexpression per line, children first
    (hashed into the module header: equal expressions over equal inputs, equal text)."""
    number: dict = {}
    lines = ["inputs: " + ", ".join(p.name for p in params)]
    for e in subexpressions(expr):
        number[e] = k = len(number)
        if e.args:
            args = ", ".join(f"%{number[a]}" for a in e.args)
            lines.append(f"%{k} = {type(e).__name__}({args})")
        else:
            lines.append(f"%{k} = {sympy.srepr(e)}")
    return "\n".join(lines)


def subexpressions(expr) -> list:
    """The distinct subexpressions of ``expr`` (all of SymPy's arguments), children before
    parents, without recursion."""
    order, seen, stack = [], set(), [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if ready:
            if e not in seen:
                seen.add(e)
                order.append(e)
            continue
        if e in seen:
            continue
        stack.append((e, True))
        stack.extend((a, False) for a in reversed(e.args) if a not in seen)
    return order
