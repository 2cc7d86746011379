"""Shape algebra over symbolic dimensions (ints, or SymPy expressions of dimension names)."""

from __future__ import annotations

import sympy

from . import printer
from .shape_rules import broadcast_with


def dim_symbol(name: str) -> sympy.Symbol:
    """The SymPy symbol of a named dimension (a positive integer)."""
    return sympy.Symbol(name, integer=True, positive=True)


def canon(d):
    """A dimension in canonical form: a Python int when it is a constant; integer divisions
    as ``floor((a + c) / k)`` with ``a``'s leading sign positive (``-(-n // 3)``, the
    ceiling of ``n / 3``, is ``(n + 2) // 3``), so equal sizes compare equal."""
    if isinstance(d, int):
        return d
    d = sympy.expand(d)
    if d.has(sympy.floor, sympy.ceiling):
        d = sympy.expand(
            d.replace(lambda e: isinstance(e, (sympy.floor, sympy.ceiling)), floor_form)
        )
        d = merge_floors(d)
    return int(d) if d.is_Integer else d


def merge_floors(d):
    """``d`` with every complete set ``a // k + (a + 1) // k + ... + (a + k - 1) // k`` in
    it replaced by ``a`` (Hermite's identity): the halves ``v[::2]`` and ``v[1::2]`` of a
    ``Vector[n]`` concatenate to length ``n``."""
    groups: dict = {}
    for term in sympy.Add.make_args(d):
        if isinstance(term, sympy.floor):
            num, den = sympy.fraction(sympy.together(term.args[0]))
            r, a = sympy.expand(num).as_coeff_Add()
            if den.is_Integer and r.is_Integer and 0 <= r < den:
                groups.setdefault((a, int(den)), {})[int(r)] = term
    for (a, k), terms in groups.items():
        if len(terms) == k:
            d = sympy.expand(d - sum(terms.values()) + a)
    return d


def floor_form(e):
    """``floor(num / den)`` or ``ceiling(num / den)`` of an integer ``num`` as
    ``+-floor(a / den)`` with ``a``'s leading coefficient positive."""
    num, den = sympy.fraction(sympy.together(e.args[0]))
    if not den.is_Integer:
        return e
    sign = 1
    if isinstance(e, sympy.ceiling):  # ceiling(x) = -floor(-x)
        num, sign = -num, -1
    if num.could_extract_minus_sign():  # floor(-a / k) = -floor((a + k - 1) / k)
        num, sign = -num + den - 1, -sign
    return sign * sympy.floor(sympy.expand(num) / den)


def broadcast(*shapes: tuple) -> tuple:
    """NumPy's broadcasting of ``shapes``; raises ShapeError naming them if they do not fit."""
    return broadcast_with(shapes, format_shape)


def size(shape: tuple):
    """The number of elements, as an int or a SymPy expression."""
    total = 1
    for d in shape:
        total = total * d
    return canon(total)


def slice_length(n, start, stop, step):
    """The length of ``range(n)[start:stop:step]`` for an int or symbolic ``n``.

    Exact (NumPy's clamping) when ``n`` and the bounds are ints. Otherwise the length NumPy
    gives whenever ``slice_requirements`` hold (the emitted input checks see to that),
    as integer arithmetic: ``floor((n + 1) / 2)`` for ``[::2]``, printed ``(n + 1) // 2``;
    0 where the bounds cross for every ``n`` (``x[3:1]``, ``x[-1:-3]``: ``crossed``).
    """
    if isinstance(n, int) and all(
        isinstance(v, (int, type(None))) for v in (start, stop)
    ):
        return len(range(n)[slice(start, stop, step)])
    if crossed(n, start, stop, step):
        return 0
    first, end, k = slice_ends(n, start, stop, step)
    span = end - first if k > 0 else first - end
    return canon(
        span
        if abs(k) == 1
        else sympy.floor((span + abs(k) - 1) / sympy.Integer(abs(k)))
    )


def crossed(n, start, stop, step) -> bool:
    """Whether the slice's int bounds have its stop at or before its start (in the step's
    direction) by a constant, so that NumPy's clamping keeps both in that order and the
    slice is empty for every ``n`` (``x[3:1]``, ``x[-1:-3]``, ``x[1:3:-1]``; not a bound
    computed from sizes, which NumPy would count from the end where it is negative)."""
    if not all(isinstance(v, (int, type(None))) for v in (start, stop)):
        return False
    first, end, k = slice_ends(n, start, stop, step)
    span = canon(sympy.Integer(0) + (end - first if k > 0 else first - end))
    return isinstance(span, int) and span <= 0


def slice_ends(n, start, stop, step) -> tuple:
    """``(first, end, step)`` of a slice of ``range(n)`` before NumPy's clamping: a negative
    int bound counts from the end, an omitted one is the end the step runs from or to."""
    k = 1 if step is None else step

    def at(v, default):
        if v is None:
            return default
        return n + v if isinstance(v, int) and v < 0 else v

    if k > 0:
        return at(start, 0), at(stop, n), k
    return at(start, n - 1), at(stop, -1), k


def slice_requirements(n, start, stop, step) -> list:
    """The conditions, as SymPy expressions that must be ``>= 0``, under which
    ``slice_length`` is NumPy's length: the bounds need no clamping and do not cross
    (``x[:3]`` on ``Vector[n]`` needs ``n - 3 >= 0``). Conditions that hold for every
    size are left out, so an int ``n`` with int bounds needs none."""
    if isinstance(n, int) and all(
        isinstance(v, (int, type(None))) for v in (start, stop)
    ):
        return []
    if crossed(n, start, stop, step):
        return []  # empty whatever NumPy clamps
    first, end, k = slice_ends(n, start, stop, step)
    if k > 0:
        needs = [first, end - first, n - end]
    else:
        needs = [end + 1, first - end, n - 1 - first]
    # a bound computed from sizes must not come out negative (NumPy would count it from the end)
    needs += [v for v in (start, stop) if v is not None and not isinstance(v, int)]
    out = []
    for e in needs:
        e = canon(sympy.Integer(0) + e)
        if not (isinstance(e, int) and e >= 0) and not provably_nonnegative(
            maybe_empty(e)
        ):
            out.append(e)
    return out


def maybe_empty(e):
    """``e`` with each dimension name free to be 0, as an input's may be at run time
    (``dim_symbol`` takes names as positive): ``x[:1]`` of a ``Vector[n]`` needs ``n - 1
    >= 0``, which fails at ``n = 0``, where NumPy clamps the slice to no element."""
    return e.subs(
        {
            s: sympy.Symbol(s.name, integer=True, nonnegative=True)
            for s in e.free_symbols
        }
    )


def provably_nonnegative(e) -> bool:
    """Whether SymPy proves ``e >= 0`` for all positive sizes, each ``floor(a / b)`` term
    first replaced by its bound on the side that matters (``(a - b + 1) / b <= floor <=
    a / b``; ``a / b <= ceiling <= (a + b - 1) / b``): ``n - n // 2`` is proved."""
    terms = []
    for term in sympy.Add.make_args(sympy.expand(e)):
        coeff, rest = term.as_coeff_Mul()
        if isinstance(rest, (sympy.floor, sympy.ceiling)):
            num, den = sympy.fraction(sympy.together(rest.args[0]))
            low = isinstance(rest, sympy.floor) == (coeff > 0)
            slack = (
                (1 - den if isinstance(rest, sympy.floor) else den - 1) if low else 0
            )
            rest = (num + slack) / den
        terms.append(coeff * rest)
    return bool(sympy.Add(*terms).is_nonnegative)


def as_inequality(e) -> tuple:
    """``e >= 0`` as ``(lhs, rhs)`` with ``lhs >= rhs`` read naturally: the positive terms
    on the left, the negated negative ones on the right (``n - m`` -> ``n >= m``)."""
    terms = sympy.Add.make_args(sympy.Integer(0) + e)
    lhs = [t for t in terms if not t.could_extract_minus_sign()]
    rhs = [-t for t in terms if t.could_extract_minus_sign()]
    return canon(sympy.Add(*lhs)), canon(sympy.Add(*rhs))


def format_shape(shape: tuple) -> str:
    """Shapes as a user writes them: ``()``, ``(n,)``, ``(n, d - 1)``, ``(n // 2, 4 * h)``
    (sizes in Python integer arithmetic, as the emitted code writes them)."""
    return printer.shape(shape, {})
