"""SymPy -> graph IR, one SymPy node at a time, in the IR's own spelling (a sum as people
write it, a negative power as a denominator). Used by the SymPy frontend and by fusion,
which builds SymPy's local gradients back as nodes."""

from __future__ import annotations

import math

import sympy

from ..core.ir import Builder
from ..errors import FormulaError
from .body import OP_OF, OUT, arg_symbols, body_to_sympy, local_gradient

FUNCTIONS = OP_OF  # abs reads back from sympy.Abs (its record's sym_read)


def error(message: str) -> FormulaError:
    return FormulaError(message, filename="<sympy>", line=1, col=1)


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
