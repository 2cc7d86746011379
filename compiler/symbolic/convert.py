"""SymPy -> graph IR, one SymPy node at a time, in the IR's own spelling (a sum as people
write it, a negative power as a denominator). Used by the SymPy frontend and by fusion,
which builds SymPy's local gradients back as nodes."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import sympy

from ..core.ir import Builder
from ..core.prim import PRIMS
from ..errors import FormulaError
from .body import OP_OF, OUT, arg_symbols, local_gradient, uncancelled
from .matrices import (
    ElementwiseApplyFunction,
    convert_matrix,
    is_matrix_node,
    matrix_operands,
)

FUNCTIONS = OP_OF  # abs reads back from sympy.Abs (its record's sym_read)
#: the other ops whose record names a SymPy function: read in a SymPy input (``sign``,
#: ``atan2``), never in a derivative SymPy takes during fusion, which ``convertible``
#: refuses (SymPy's ``sign`` there is the derivative of ``Abs``, at 0 not gradc's)
INPUT_FUNCTIONS = {
    p.sym: name
    for name, p in PRIMS.items()
    if isinstance(p.sym, type)
    and issubclass(p.sym, sympy.Function)
    and p.sym not in OP_OF
}
# Conditions of a Piecewise, as the comparison and logic ops of the graph.
RELATIONS = {
    sympy.StrictLessThan: "lt",
    sympy.LessThan: "le",
    sympy.StrictGreaterThan: "gt",
    sympy.GreaterThan: "ge",
    sympy.Equality: "eq",
    sympy.Unequality: "ne",
    sympy.And: "and",
    sympy.Or: "or",
}


def error(message: str) -> FormulaError:
    return FormulaError(message, filename="<sympy>", line=1, col=1)


def walk(expr, children: Callable) -> list:
    """The distinct subexpressions of ``expr`` reached through ``children(e)``, children
    before parents, without recursion (deep or shared DAGs cost linear time)."""
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
        stack.extend((a, False) for a in reversed(children(e)) if a not in seen)
    return order


def post_order(expr, printed: bool = False) -> list:
    """The subexpressions ``convert`` reads to build ``expr`` (``operands``), children
    before parents."""
    return walk(expr, partial(operands, printed=printed))


def convert(b: Builder, e, memo, printed: bool = False) -> int:
    """One SymPy node to IR, its children already converted in ``memo``."""
    if isinstance(e, (sympy.Symbol, sympy.MatrixSymbol)):
        raise error(f"symbol {e} is not among the inputs")
    if isinstance(e, (sympy.Pow, sympy.HadamardPower)):
        return convert_pow(b, memo[e.args[0]], e.args[1], memo)
    if isinstance(e, ElementwiseApplyFunction):
        return convert_applyfunc(b, e, memo, printed)
    if is_matrix_node(e):
        return convert_matrix(b, e, memo)
    if e.is_Number or e in (sympy.pi, sympy.E):
        value = complex(e)
        if value.imag or not abs(value.real) < float("inf"):
            raise error(f"constant {e} is not a finite real number")
        return b.const(value.real)
    if isinstance(e, sympy.Add):
        return (convert_add_printed if printed else convert_add)(b, e, memo)
    if isinstance(e, sympy.Mul):
        return (convert_mul_printed if printed else convert_mul)(b, e, memo)
    if isinstance(e, (sympy.Max, sympy.Min)):
        op = "maximum" if isinstance(e, sympy.Max) else "minimum"
        acc = memo[e.args[0]]
        for a in e.args[1:]:
            acc = b.emit(op, acc, memo[a])
        return acc
    if isinstance(e, sympy.Piecewise):
        return convert_piecewise(b, e, memo)
    if type(e) in RELATIONS:
        acc = memo[e.args[0]]
        for a in e.args[1:]:
            acc = b.emit(RELATIONS[type(e)], acc, memo[a])
        return acc
    if isinstance(e, sympy.Not):
        return b.emit("not", memo[e.args[0]])
    for cls, op in FUNCTIONS.items():
        if isinstance(e, cls) and len(e.args) == 1:
            return b.emit(op, memo[e.args[0]])
    if type(e) in INPUT_FUNCTIONS:
        return b.emit(INPUT_FUNCTIONS[type(e)], *(memo[a] for a in e.args))
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
    convertible too: SymPy's derivative of ``zoo * exp(x)`` is 0. Nor is a region whose
    gradient SymPy writes with an integer longer than Python prints (``ValueError`` past
    ``sys.get_int_max_str_digits()``: ``log1p(1e308)``'s simplified forms). Nor is one
    where SymPy cancels operands (``uncancelled``: ``x / x``, ``x * y / x``, ``x - x``,
    ``exp(log(x))``)."""
    symbols = {*arg_symbols(nargs), OUT}
    value = uncancelled(body, nargs)  # None for x / x: SymPy's 1, NumPy's NaN at 0
    if value is None or not convertible(value, symbols):
        return False
    try:
        gradients = [local_gradient(body, nargs, k)[0] for k in wanted]
    except ValueError:
        return False
    return all(convertible(g, symbols) for g in gradients)


def operands(e, printed: bool = False) -> tuple:
    """The subexpressions ``convert`` reads to build ``e``, in the order SymPy prints them
    (``x*y + z``, ``-x/y``): the formula written as that text lowers to the same nodes in
    the same order. A subtracted term is read positive (``x - 2*y`` reads ``2*y``), a
    denominator factor by its base (``x/y**2`` reads ``y``). Not ``printed`` (SymPy's own
    results, built back by fusion): SymPy's arguments, sums and products read compactly by
    ``convert_add`` and ``convert_mul``. Matrix nodes: ``matrix_operands``."""
    if is_matrix_node(e):  # before Add and Mul: MatAdd and MatMul are subclasses
        return matrix_operands(e)
    if isinstance(e, sympy.Add) and printed:
        terms = e.as_ordered_terms()
        return (terms[0],) + tuple(
            -a if a.could_extract_minus_sign() else a for a in terms[1:]
        )
    if isinstance(e, sympy.Mul) and printed:
        return tuple(
            a.args[0] if denominator(a) else a
            for a in e.as_ordered_factors()
            if a != -1 and not (a.is_Rational and not a.is_Integer)
        )
    if isinstance(e, (sympy.Pow, sympy.HadamardPower)) and e.args[1] in SPECIAL_POWERS:
        return (e.args[0],)
    if isinstance(e, sympy.Piecewise):
        return tuple(
            part
            for pair in e.args
            for part in (pair.expr, pair.cond)
            if part is not sympy.true
        )
    return e.args


SPECIAL_POWERS = (-1, sympy.Rational(1, 2), sympy.Rational(-1, 2))


def denominator(a) -> bool:
    """Whether the factor ``a`` is a power to a negative integer (printed after ``/``)."""
    return isinstance(a, sympy.Pow) and a.args[1].is_Integer and a.args[1] < 0


def build(b: Builder, expr, memo: dict, printed: bool = False) -> int:
    """The node of SymPy ``expr``, converting the subexpressions not yet in ``memo``."""
    for e in post_order(expr, printed):
        if e not in memo:
            memo[e] = convert(b, e, memo, printed)
    return memo[expr]


def convert_add_printed(b: Builder, e, memo) -> int:
    """A sum in SymPy's printed order, read as Python reads that text: a term printed with a
    leading minus after the first (``x - 2*y``) is subtracted."""
    terms = e.as_ordered_terms()
    acc = memo[terms[0]]
    for a in terms[1:]:
        if a.could_extract_minus_sign():
            acc = b.sub(acc, memo[-a])
        else:
            acc = b.add(acc, memo[a])
    return acc


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


def convert_mul_printed(b: Builder, e, memo) -> int:
    """A product as SymPy prints it and Python reads that text: ``-x*y`` is ``(-x) * y``,
    ``3*x/2`` is ``(3 * x) / 2``, factors of negative integer power form the denominator."""
    num, den, sign = [], [], 1
    for a in e.as_ordered_factors():
        if a == -1:
            sign = -sign
        elif a.is_Rational and not a.is_Integer:
            if abs(a.p) != 1:
                num.append(b.const(float(abs(a.p))))
            sign *= 1 if a.p > 0 else -1
            den.append(b.const(float(a.q)))
        elif denominator(a):
            k = -int(a.args[1])
            base = memo[a.args[0]]
            den.append(base if k == 1 else b.emit("pow", base, b.const(k)))
        else:
            num.append(memo[a])
    if sign < 0:
        num[:1] = [b.neg(num[0])] if num else [b.const(-1)]
    return product(b, num, den)


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
    acc = product(b, num, den)
    return b.neg(acc) if sign < 0 else acc


def product(b: Builder, num: list[int], den: list[int]) -> int:
    """``num[0] * num[1] * ... / (den[0] * den[1] * ...)`` (1 for no numerator)."""
    acc = num[0] if num else b.const(1)
    for n in num[1:]:
        acc = b.mul(acc, n)
    if den:
        d = den[0]
        for x in den[1:]:
            d = b.mul(d, x)
        acc = b.div(acc, d)
    return acc


def convert_applyfunc(b: Builder, e, memo, printed: bool) -> int:
    """``M.applyfunc(f)``: the body of ``f`` lowered with its variable bound to ``M``'s node
    (every operation broadcasts elementwise), in a memo of its own, since one ``Lambda``
    may be applied to several matrices."""
    local = dict(memo)
    local[e.function.variables[0]] = memo[e.expr]
    return build(b, e.function.expr, local, printed)


def convert_piecewise(b: Builder, e, memo) -> int:
    """``Piecewise((a, c1), (b, c2), (c, True))`` as ``where(c1, a, where(c2, b, c))``: the
    first condition that holds picks the branch, as SymPy reads it."""
    *pairs, last = e.args
    if last.cond is not sympy.true:
        raise error(PIECEWISE_OTHERWISE)
    acc = memo[last.expr]
    for pair in reversed(pairs):
        acc = b.emit("where", memo[pair.cond], memo[pair.expr], acc)
    return acc


PIECEWISE_OTHERWISE = (
    "Piecewise has no otherwise branch (a last condition True): its value is undefined "
    "where no condition holds"
)
