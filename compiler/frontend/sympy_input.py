"""SymPy expression -> graph IR, as a DAG: each distinct subexpression becomes one node.

The walk is iterative (post-order over unique subexpressions), so deep or heavily
shared expressions cost time linear in the number of distinct subexpressions, and
nothing is ever printed as a tree (no expression swell).
"""

from __future__ import annotations

from operator import attrgetter

import sympy
from sympy.functions.elementary.piecewise import ExprCondPair

from ..core import printer as P
from ..core.ir import Builder, Function, Loc, Param
from ..core.names import function_name_problem
from ..core.shapes import canon, dim_symbol
from ..errors import FormulaError
from ..rewrite import make_rewriter
from ..symbolic.convert import (
    FUNCTIONS,
    INPUT_FUNCTIONS,
    PIECEWISE_OTHERWISE,
    RELATIONS,
    build,
    error,
    walk,
)
from ..symbolic.matrices import (
    ELEMENT,
    ElementwiseApplyFunction,
    checked_args,
    is_matrix_node,
    matrix_problem,
    share_transposes,
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
    """``sympy.sstr(expr)`` on one line (an explicit ``Matrix`` prints a row a line), or
    None when printing it would be too long to be of use."""
    if tree_size(expr) > MAX_TREE:
        return None
    return "".join(line.strip() for line in sympy.sstr(expr).splitlines())


def shown(expr) -> str:
    """A short printed form of a subexpression for a message (``Piecewise((x, x > 0), ...``)."""
    text = printed(expr)
    if text is None:
        text = f"{expr.func.__name__}({', '.join(a.func.__name__ + '(...)' for a in expr.args)})"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def located(message: str, sub, expr) -> FormulaError:
    """An error about subexpression ``sub`` of ``expr``: the message quotes ``sub``; the
    whole expression is quoted below it with a caret under ``sub`` when it is short."""
    comma = "," * message.startswith(("symbol", "matrix symbol", "constant"))
    message = f"{message}{comma} in {shown(sub)}"
    whole = printed(expr)
    if whole is None or len(whole) > MAX_PRINTED:
        return error(message)
    col = whole.find(printed(sub) or "\0") + 1
    return FormulaError(
        message, filename="<sympy>", line=1, col=max(col, 1), source_line=whole
    )


def node_problem(e, inputs, known=frozenset()) -> str | None:
    """What ``convert`` cannot turn into nodes at ``e`` itself (not its arguments), in
    SymPy's words, or None. ``known`` are the other symbols with a value (dimensions,
    the variables of ``applyfunc`` bodies)."""
    if isinstance(e, (sympy.Symbol, sympy.MatrixSymbol)):
        if e in known:
            return None
        names = ", ".join(s.name for s in list(inputs)[:6]) + ", ..." * (
            len(inputs) > 6
        )
        kind = "matrix symbol" if isinstance(e, sympy.MatrixSymbol) else "symbol"
        return f"{kind} {e} is not among the inputs ({names or 'there are none'})"
    if is_matrix_node(e):
        return matrix_problem(e)
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
    if type(e) in INPUT_FUNCTIONS:
        return None
    return f"unsupported SymPy operation {e.func.__name__}"


def check_supported(expr, inputs, dims=()) -> None:
    """Raise for the outermost subexpression of ``expr`` that ``convert`` cannot lower (a
    ``Piecewise`` is named, not the comparison inside it), naming it and where it sits: a
    leaf (a symbol, a constant) is shown with the expression it is an argument of.
    ``dims`` are the symbols of the inputs' dimensions (their sizes as values)."""
    inputs = list(inputs)
    known = {*inputs, *dims}
    seen, stack = set(), [(expr, expr)]
    while stack:
        e, parent = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if isinstance(e, ElementwiseApplyFunction) and not matrix_problem(e):
            known.add(e.function.variables[0])  # checked before its body
        problem = node_problem(e, inputs, known)
        if problem:
            leaf = not e.args or isinstance(e, sympy.MatrixSymbol)
            raise located(problem, parent if leaf else e, expr)
        children = checked_args(e) if is_matrix_node(e) else e.args
        stack.extend((a, e) for a in reversed(children))


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
    dims = input_dims(inputs)
    memo: dict = {d: b.emit("dim", expr=v) for d, v in dims.items()}
    params, seen_names = [], {str(v) for v in dims.values()}
    for s in inputs:
        if not isinstance(s, (sympy.Symbol, sympy.MatrixSymbol)):
            raise error(f"input {s!r} is not a SymPy Symbol or MatrixSymbol")
        pname = s.name
        if pname in seen_names and any(str(v) == pname for v in dims.values()):
            owner = next(m for m in inputs if dim_names(m, dims) & {pname})
            raise error(
                f"input {pname} has the name of a dimension of {owner.name}; rename one"
            )
        if not pname.isidentifier() or pname in seen_names:
            raise error(f"input name {pname!r} is not a distinct identifier")
        seen_names.add(pname)
        shape = input_shape(s, dims)
        memo[s] = b.emit("param", name=pname, shape=shape, dtype="float")
        params.append(Param(pname, memo[s], annotation(shape), s in wrt_set))
    for s in wrt_set:
        if s not in inputs:
            raise error(f"wrt symbol {s} is not an input")
    check_supported(expr, inputs, dims)
    lowered = share_transposes(expr, subexpressions(expr))
    out = build(b, lowered, memo, printed=True)  # as its printed text reads
    if b[out].dtype == "bool":  # x > y: a number, 1.0 where it holds (as in a formula)
        out = b.emit("where", out, b.const(1.0), b.const(0.0))
    if b.shape(out) == (1, 1):  # a 1x1 matrix result (x.T*A*x) is its element
        out = b.emit("getitem", out, index=ELEMENT)
    b.name(out, "out")  # as the text frontend names a returned expression
    fn = Function(
        name,
        "",
        params,
        b.nodes,
        out,
        annotation(b.shape(out)),
        loc,
        "<sympy>",
        rewrites=list(b.fired),
        dims={str(v): str(v) for v in dims.values()},
    )
    return fn, canonical_text(expr, params)


def input_dims(inputs) -> dict:
    """The symbols among the ``MatrixSymbol`` inputs' sizes, each a dimension of the
    module (``MatrixSymbol("X", n, 3)``: ``n``, read from ``X.shape[0]``), in order of
    appearance: SymPy symbol -> the dimension symbol of its name."""
    dims: dict = {}
    for s in inputs:
        if isinstance(s, sympy.MatrixSymbol):
            for d in s.shape:
                if isinstance(d, sympy.Symbol):
                    dims.setdefault(d, dim_symbol(d.name))
    return dims


def dim_names(m, dims: dict) -> set:
    """The dimension names in the sizes of input ``m``."""
    if not isinstance(m, sympy.MatrixSymbol):
        return set()
    return {str(dims[s]) for d in m.shape for s in d.free_symbols if s in dims}


def input_shape(s, dims: dict) -> tuple:
    """The shape of input ``s``: ``()`` for a Symbol; a MatrixSymbol's two sizes, each a
    positive integer, a dimension name, or an expression of names that stand alone
    among the inputs' sizes (``MatrixSymbol("Z", 2*n, 3)`` beside one of ``n`` rows)."""
    if isinstance(s, sympy.Symbol):
        return ()
    shape = []
    for d in s.shape:
        if d.is_Integer and d > 0:
            shape.append(int(d))
        elif d.is_number:
            raise error(f"dimension {d} of MatrixSymbol {s.name} is not positive")
        elif d.free_symbols <= set(dims):
            shape.append(canon(d.xreplace(dims)))
        else:
            raise error(
                f"dimension {d} of MatrixSymbol {s.name} is an expression whose names "
                "do not all stand alone as a dimension of an input"
            )
    return tuple(shape)


def annotation(shape: tuple) -> str:
    """The formula type of a shape: ``Scalar``, ``Matrix[3, 4]``, ``Matrix[n, 3]``."""
    if not shape:
        return "Scalar"
    return f"Matrix[{P.shape(shape, {})[1:-1]}]"


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
        elif isinstance(e, sympy.Dummy):  # an applyfunc's variable: no process counter
            lines.append(f"%{k} = Dummy()")
        else:
            lines.append(f"%{k} = {sympy.srepr(e)}")
    return "\n".join(lines)


def subexpressions(expr) -> list:
    """The distinct subexpressions of ``expr`` (all of SymPy's arguments), children before
    parents."""
    return walk(expr, attrgetter("args"))
