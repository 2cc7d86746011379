"""SymPy expression -> graph IR, as a DAG: each distinct subexpression becomes one node.

The walk is iterative (post-order over unique subexpressions), so deep or heavily
shared expressions cost time linear in the number of distinct subexpressions, and
nothing is ever printed as a tree (no expression swell).
"""

from __future__ import annotations

import math

import sympy

from .codegen import function_name_problem
from .errors import FormulaError
from .ir import Builder, Function, Loc, Param
from .passes.simplify import make_rewriter
from .symbolic import OP_OF, OUT, arg_symbols, body_to_sympy, local_gradient

FUNCTIONS = {**OP_OF, sympy.Abs: "abs"}
MAX_SHOWN = 60  # characters of a subexpression quoted in a message
MAX_PRINTED = (
    200  # characters of a whole expression quoted under a message, with a caret
)
MAX_TREE = (
    2000  # nodes of an expression printed as a tree (a shared DAG can be far larger)
)


def error(message: str) -> FormulaError:
    return FormulaError(message, filename="<sympy>", line=1, col=1)


def tree_size(expr) -> int:
    """The number of nodes ``expr`` has printed as a tree, counted over its DAG (linear time)."""
    size: dict = {}
    for e in post_order(expr):
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


def post_order(expr) -> list:
    """The distinct subexpressions of ``expr``, children before parents (no recursion)."""
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
    lines = []
    for e in post_order(expr):
        if e in memo:
            continue
        memo[e] = convert(b, e, memo)
        lines.append(
            f"%{memo[e]} = {type(e).__name__}({', '.join(str(memo[a]) for a in e.args)})"
            if e.args
            else f"%{memo[e]} = {sympy.srepr(e)}"
        )
    out = memo[expr]
    fn = Function(
        name, "", params, b.nodes, out, "Scalar", loc, "<sympy>", rewrites=list(b.fired)
    )
    header = "inputs: " + ", ".join(p.name for p in params)
    return fn, header + "\n" + "\n".join(lines)


def convert(b: Builder, e, memo) -> int:
    """One SymPy node to IR, its children already converted in ``memo``."""
    if isinstance(e, sympy.Symbol):
        raise error(f"symbol {e} is not among the inputs")
    if e.is_Number or e in (sympy.pi, sympy.E):
        value = complex(e)
        if value.imag or not abs(value.real) < float("inf"):
            raise error(f"constant {e} is not a finite real number")
        return b.const(value.real)
    if isinstance(e, sympy.Add):
        return convert_add(b, e, memo)
    if isinstance(e, sympy.Mul):
        return convert_mul(b, e, memo)
    if isinstance(e, sympy.Pow):
        return convert_pow(b, memo[e.args[0]], e.args[1], memo)
    if isinstance(e, (sympy.Max, sympy.Min)):
        op = "maximum" if isinstance(e, sympy.Max) else "minimum"
        acc = memo[e.args[0]]
        for a in e.args[1:]:
            acc = b.emit(op, acc, memo[a])
        return acc
    for cls, op in FUNCTIONS.items():
        if isinstance(e, cls) and len(e.args) == 1:
            return b.emit(op, memo[e.args[0]])
    raise error(f"unsupported SymPy operation {type(e).__name__}")


def convertible(expr, symbols) -> bool:
    """Whether ``convert`` turns every subexpression of ``expr`` into nodes: no symbol
    but ``symbols``, only finite real numbers (no ``zoo``, ``nan``, ``oo``, ``I``), and
    only operations the graph has (no ``sign``, no ``Piecewise``)."""
    for e in post_order(expr):
        if isinstance(e, sympy.Symbol):
            ok = e in symbols
        elif e.is_Number or e in (sympy.pi, sympy.E):
            # finite in float64 too: SymPy's 1e308 * 10 does not overflow
            ok = (
                e.is_extended_real is True
                and e.is_finite is True
                and abs(float(e)) < math.inf
            )
        elif isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow, sympy.Max, sympy.Min)):
            ok = True
        else:
            ok = any(isinstance(e, cls) and len(e.args) == 1 for cls in FUNCTIONS)
        if not ok:
            return False
    return True


def derivable(body: tuple, nargs: int, wanted) -> bool:
    """Whether SymPy's local gradient of a fused ``body`` with respect to each input in
    ``wanted`` is ``convertible`` (``sqrt(x * x)`` is ``Abs(x)``, whose derivative SymPy
    writes ``sign(x)``; ``x / (x - x)`` gives ``zoo``). A region that is not stays unfused
    and is differentiated node by node, as with ``--no-fuse``. The body itself must be
    convertible too: SymPy's derivative of ``zoo * exp(x)`` is 0."""
    symbols = {*arg_symbols(nargs), OUT}
    if not convertible(body_to_sympy(body, arg_symbols(nargs)), symbols):
        return False
    return all(convertible(local_gradient(body, nargs, k)[0], symbols) for k in wanted)


def convert_add(b: Builder, e, memo) -> int:
    """A sum as people write it: positive terms, then the constant, then subtractions."""
    pos = [a for a in e.args if not a.is_Number and not a.could_extract_minus_sign()]
    neg = [a for a in e.args if not a.is_Number and a.could_extract_minus_sign()]
    const = [a for a in e.args if a.is_Number]
    acc = None
    for a in pos + const:
        if acc is not None and a.is_Number and a < 0:
            acc = b.sub(acc, b.const(float(-a)))
        else:
            acc = memo[a] if acc is None else b.add(acc, memo[a])
    for a in neg:
        term = memo[a]
        if acc is None:
            acc = term
        else:
            acc = b.sub(acc, positive(b, term))
    return acc


def positive(b: Builder, i: int) -> int:
    """The node whose negation is node ``i`` (``-x`` -> ``x``, ``-2 x`` -> ``2 x``)."""
    node = b[i]
    if node.op == "neg":
        return node.args[0]
    if node.op in ("mul", "div") and b.is_const(node.args[0]):
        c = -b[node.args[0]].attr("value")
        return b.emit(node.op, b.const(c), node.args[1])
    return b.neg(i)


def convert_pow(b: Builder, base: int, exponent, memo) -> int:
    if exponent == -1:
        return b.div(b.const(1), base)
    if exponent == sympy.Rational(1, 2):
        return b.emit("sqrt", base)
    if exponent == sympy.Rational(-1, 2):
        return b.div(b.const(1), b.emit("sqrt", base))
    return b.emit("pow", base, memo[exponent])


def convert_mul(b: Builder, e, memo) -> int:
    """A product, with factors of negative integer power as a denominator and -1 as a sign."""
    num, den, sign = [], [], 1
    for a in e.args:
        if a == -1:
            sign = -sign
        elif isinstance(a, sympy.Pow) and a.args[1].is_Integer and a.args[1] < 0:
            k = -int(a.args[1])
            base = memo[a.args[0]]
            den.append(base if k == 1 else b.emit("pow", base, b.const(k)))
        else:
            num.append(memo[a])
    acc = num[0] if num else b.const(1)
    for n in num[1:]:
        acc = b.mul(acc, n)
    if den:
        d = den[0]
        for x in den[1:]:
            d = b.mul(d, x)
        acc = b.div(acc, d)
    return b.neg(acc) if sign < 0 else acc
