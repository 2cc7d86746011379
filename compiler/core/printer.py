"""Precedence-aware printing of expressions, numbers and shapes.

An ``Expr`` is printed text with its precedence; combinators add exactly the
parentheses Python needs and follow ``ruff format``'s spacing (``x**2`` between
simple operands). Every piece of emitted expression text comes from here, via
the ``emit`` entries of the primitive table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

# Python's binding strengths, weakest first.
COND, CMP, BITAND, ADD, MUL, UNARY, POW, ATOM = 5, 10, 20, 30, 40, 50, 60, 70


@dataclass(frozen=True)
class Expr:
    """Printed expression text, its precedence, whether ruff calls it simple (for ``**``),
    and whether its value is known to be an array of rank 1 or more (a fused body's
    entries, ``symbolic.fused.BodySpeller``: its constants may then be 0-d arrays)."""

    text: str
    prec: int = ATOM
    simple: bool = False
    array: bool = False


def name(text: str) -> Expr:
    """A variable or attribute chain."""
    return Expr(text, ATOM, True)


def wrap(e: Expr, need: int, *, strict: bool = False) -> str:
    """``e`` as an operand of something binding with strength ``need``."""
    if e.prec < need or (strict and e.prec == need):
        return f"({e.text})"
    return e.text


def binop(op: str, prec: int, a: Expr, b: Expr) -> Expr:
    """A left-associative infix operator."""
    return Expr(f"{wrap(a, prec)} {op} {wrap(b, prec, strict=True)}", prec)


def power(a: Expr, b: Expr) -> Expr:
    """``a ** b``, hugged (``x**2``) when both operands are simple, as ruff formats it."""
    left = wrap(a, POW, strict=True)
    right = wrap(b, UNARY)
    simple = a.simple and b.simple and left == a.text and right == b.text
    return Expr(f"{left}**{right}" if simple else f"{left} ** {right}", POW)


def compare(op: str, a: Expr, b: Expr) -> Expr:
    return Expr(f"{wrap(a, CMP, strict=True)} {op} {wrap(b, CMP, strict=True)}", CMP)


def conditional(then: Expr, cond: Expr, other: Expr) -> Expr:
    """``then if cond else other``."""
    return Expr(
        f"{wrap(then, COND, strict=True)} if {wrap(cond, COND, strict=True)} else "
        f"{wrap(other, COND)}",
        COND,
    )


def neg(a: Expr) -> Expr:
    """``-a``; a power operand is parenthesised (``-(x**2)``), as ruff formats it."""
    return Expr(f"-{wrap(a, POW, strict=True)}", UNARY, a.simple and a.prec == ATOM)


def call(fn: str, *args: Expr | str, **kwargs: Expr | str) -> Expr:
    """``fn(a, b, k=v)``; arguments are printed without extra parentheses."""
    parts = [a.text if isinstance(a, Expr) else a for a in args]
    parts += [f"{k}={v.text if isinstance(v, Expr) else v}" for k, v in kwargs.items()]
    return Expr(f"{fn}({', '.join(parts)})", ATOM)


def method(a: Expr, fn: str, *args: Expr | str, **kwargs: Expr | str) -> Expr:
    """``a.fn(args)``: the receiver parenthesised unless it is an atom (``(x**2).sum()``);
    a number is always parenthesised (``2.sum()`` would not parse)."""
    recv = wrap(a, ATOM)
    if recv[:1].isdigit():
        recv = f"({recv})"
    return Expr(f"{recv}.{call(fn, *args, **kwargs).text}", ATOM)


def attr(a: Expr, field: str) -> Expr:
    return Expr(f"{wrap(a, ATOM)}.{field}", ATOM, a.simple and a.prec == ATOM)


def subscript(a: Expr, index: str) -> Expr:
    return Expr(f"{wrap(a, ATOM)}[{index}]", ATOM)


def number(value: float, *, integral: bool = False) -> Expr:
    """A float constant as Python reads it back exactly (``repr``: ``2.0``, ``1e-12``,
    ``1e300`` without repr's ``+``, as ``ruff format`` writes it).

    Float literals, not ``2``: NumPy and CPython both take a slower mixed-type path for
    an ``int`` operand (``2 * x`` costs ~0.2 us more than ``2.0 * x`` on a small array).
    ``integral`` prints a whole number without ``.0``: exponents (``x**2`` squares,
    ``x**2.0`` calls ``pow``) and display labels.
    """
    if math.isnan(value):
        return name("np.nan")
    if math.isinf(value):
        return name("np.inf") if value > 0 else neg(name("np.inf"))
    if integral and value == int(value) and abs(value) < 1e16:
        text = str(int(value))
    else:
        text = repr(float(value)).replace("e+", "e")  # 1e300, as ruff format writes it
    if value < 0 or text.startswith("-"):
        return Expr(text, UNARY, True)
    return Expr(text, ATOM, True)


class DimPrinter(StrPrinter):
    """SymPy's ``sstr``, with ``floor`` and ``ceiling`` as Python integer arithmetic:
    ``(n + 1) // 2`` and ``-(-n // 2)`` (parenthesised; ``dim`` drops the outer pair), and
    products and powers spaced as ``ruff format`` writes them (``m * n``, ``n**2``,
    ``(n // 2) ** 2``)."""

    def _print_Mul(self, e) -> str:
        """A product; a negated one as ``-(...)`` when its text holds a ``//`` (unary minus
        binds tighter: ``-(n + 1) // 2`` is ``floor(-(n + 1) / 2)``, not ``-floor(...)``)."""
        if e.could_extract_minus_sign():
            inner = self._print(-e)
            if "//" in inner or isinstance(-e, sympy.Add):
                inner = f"({inner})"
            return "-" + inner
        return re.sub(r"(?<!\*)\*(?!\*)", " * ", super()._print_Mul(e))

    def _print_Pow(self, e) -> str:
        text = super()._print_Pow(e)
        simple = e.base.is_Symbol and e.exp.is_Integer and e.exp > 0
        return text if simple else text.replace("**", " ** ")

    def parenthesize(self, item, level, strict=False) -> str:
        """A ``floor`` (printed ``a // b``) as a factor or a base: ``2 * (n // 2)``."""
        if isinstance(item, sympy.floor) and level > PRECEDENCE["Add"]:
            return f"({self._print(item)})"
        return super().parenthesize(item, level, strict)

    def _print_floor(self, e) -> str:
        return self._floor_div(e.args[0])

    def _print_ceiling(self, e) -> str:
        return f"(-({self._floor_div(-e.args[0])}))"

    def _floor_div(self, q) -> str:
        """``floor(q)`` as ``num // den`` (``-n // 2``: unary minus binds tighter)."""
        num, den = sympy.fraction(sympy.together(q))
        if num.could_extract_minus_sign() and not isinstance(-num, sympy.Add):
            left = "-" + self.parenthesize(-num, PRECEDENCE["Mul"])
        else:
            left = self.parenthesize(num, PRECEDENCE["Mul"])
        return f"{left} // {self.parenthesize(den, PRECEDENCE['Mul'], strict=True)}"


def dim(d, names: dict[str, str]) -> str:
    """One dimension as code: an int literal or an expression over dimension variables,
    in Python integer arithmetic (``n - 1``, ``(n + 1) // 2``)."""
    if isinstance(d, int):
        return str(d)
    if d.is_Integer:
        return str(int(d))
    renamed = {s: sympy.Symbol(names.get(s.name, s.name)) for s in d.free_symbols}
    text = DimPrinter().doprint(d.xreplace(renamed))
    if isinstance(d, sympy.ceiling):
        text = text[1:-1]
    return text


def dim_expr(d, names: dict[str, str]) -> Expr:
    """One dimension as an expression with its precedence (``n``, ``n * d``, ``n - 1``)."""
    text = dim(d, names)
    if text.isidentifier() or text.isdigit():
        return Expr(text, ATOM, True)
    if isinstance(d, sympy.Add):
        return Expr(text, ADD)
    if isinstance(d, sympy.floor):  # ``-n // 2`` is a floor division, not a negation
        return Expr(text, MUL)
    return Expr(text, UNARY if text.startswith("-") else MUL)


def shape(s: tuple, names: dict[str, str]) -> str:
    """A shape tuple as code: ``()``, ``(n,)``, ``(n, d)``."""
    parts = [dim(d, names) for d in s]
    if len(parts) == 1:
        return f"({parts[0]},)"
    return "(" + ", ".join(parts) + ")"


def axis(value) -> str:
    """An ``axis=`` argument: an int or a tuple of ints."""
    if isinstance(value, tuple) and len(value) == 1:
        return str(value[0])
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)
