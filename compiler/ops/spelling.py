"""How a spelling is made: printers of calls, helpers, reductions and index text.

Each returns an ``emit(node, a, ctx) -> Expr`` from the printed arguments ``a``
(``ctx.dims`` names dimension variables; ``ctx.use(helper)`` asks for a module helper).
Each also records how it was made (``emit.made``: ``("call", "np.exp")``, ...), from which
``ops/array_api.py`` derives the Array API spelling (``xp.exp``) without a second entry
in the op's record."""

from __future__ import annotations

import re

from ..core import printer as P
from ..core.names import ARRAY_CONSTANTS
from ..core.prim import MATH, NUMPY, PRIMS, XP

# ----------------------------------------------------------------------------
# Printing helpers


def both(emit) -> dict:
    """The spellings of an op written the same on NumPy arrays, on Python floats and on
    Array API arrays."""
    return {NUMPY: emit, MATH: emit, XP: emit}


def array_constants(op: str, a: list, array: bool, ctx) -> list:
    """The printed arguments ``a`` of ``op``, each constant of ``ARRAY_CONSTANTS`` given as
    its module-level name (``array_constant``) where the result is an array (``array``)
    and the op's record allows it (``Prim.constant_operands``); else ``a`` itself."""
    if not (array and PRIMS[op].constant_operands):
        return a
    return [array_constant(e, ctx) for e in a]


def array_constant(e, ctx):
    """The printed constant ``e`` as its module-level 0-d array (``_one``, asked for with
    ``ctx.use``) where it is one of ``ARRAY_CONSTANTS`` and the target writes them so
    (``ctx.array_constants``); else ``e`` itself."""
    if not ctx.array_constants or e.text not in ARRAY_CONSTANTS:
        return e
    ctx.use(ARRAY_CONSTANTS[e.text])
    return P.name(ARRAY_CONSTANTS[e.text])


def transposed(e, axes: tuple):
    """``e.transpose(axes)``: ``e`` itself for the identity, ``e.swapaxes(i, j)`` when
    ``axes`` swaps two axes (shorter)."""
    moved = [k for k, a in enumerate(axes) if a != k]
    if not moved:
        return e
    if len(moved) == 2:
        return P.method(e, "swapaxes", *(str(k) for k in moved))
    return P.method(e, "transpose", *(str(k) for k in axes))


def made(how: str, name: str = ""):
    """Record on an emitter how it was made (``emit.made``), for derived spellings."""

    def tag(emit):
        emit.made = (how, name)
        return emit

    return tag


def infix(op: str, prec: int):
    """Emit ``a <op> b`` at precedence ``prec`` (``+``: ``P.ADD``)."""
    return made("same")(lambda node, a, ctx: P.binop(op, prec, *a))


def comparison(op: str):
    """Emit the comparison ``a <op> b`` (``<``, ``==``, ...)."""
    return made("same")(lambda node, a, ctx: P.compare(op, *a))


def fn(name: str):
    """Emit ``name(args...)``."""
    return made("call", name)(lambda node, a, ctx: P.call(name, *a))


def builtin_on_scalars(name: str, builtin: str):
    """Emit ``name(args...)`` on an array and ``builtin(args...)`` on a scalar (a NumPy
    scalar or a float: ``abs(x)`` takes 30 ns where ``np.abs(x)`` takes 140)."""
    return made("call", name)(
        lambda node, a, ctx: P.call(name if node.shape else builtin, *a)
    )


def with_zero(name: str):
    """Emit ``name(x, 0.0)`` (relu as ``np.maximum(x, 0.0)``), the zero the module's 0-d
    ``_zero`` where the result is an array (``array_constant``)."""

    @made("with_zero", name)
    def emit(node, a, ctx):
        zero = P.name("0.0")
        return P.call(name, a[0], array_constant(zero, ctx) if node.shape else zero)

    return emit


def helper(name: str):
    """Emit a call of the module helper ``name`` (defined in the emitted module)."""

    @made("helper", name)
    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, *a)

    return emit


def float_extremum(name: str, op: str):
    """``maximum`` (``op`` ``>``) or ``minimum`` (``<``) of two floats, nan if either is
    nan as np.maximum gives it: ``x if x > y or x != x else y`` inline when both operands
    are names or numbers (``x != x`` is ``isnan(x)``; a nan ``y`` fails ``x > y`` and is
    returned), which saves the helper's Python call (~40 ns); else the helper ``name``,
    which reads each operand once."""
    call = helper(name)

    @made("helper", name)
    def emit(node, a, ctx):
        x, y = a
        if not all(e.simple and e.prec == P.ATOM for e in a):
            return call(node, a, ctx)
        test = f"{x.text} {op} {y.text}"
        if not x.text[:1].isdigit():  # a number (an atom: not negative) is not nan
            test += f" or {x.text} != {x.text}"
        return P.Expr(f"{x.text} if {test} else {y.text}", P.COND)

    return emit


def helper_reduction(name: str):
    """``name(x, axis=..., keepdims=True)`` of the module helper ``name`` (``_logsumexp``)."""

    @made("helper_reduction", name)
    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, a[0], **reduction_kwargs(node))

    return emit


def reduction_method(name: str):
    """``x.name(axis=..., keepdims=True)`` on an array (the method skips ``np.name``'s
    Python-level dispatch, which dominates on small arrays); ``np.name(x)`` on a scalar."""

    @made("reduction", name)
    def emit(node, a, ctx):
        if not ctx.shape_of(node.args[0]):
            return P.call("np." + name, a[0], **reduction_kwargs(node))
        return P.method(a[0], name, **reduction_kwargs(node))

    return emit


def reduction_kwargs(node) -> dict:
    kw = {}
    if node.attr("axis") is not None:
        kw["axis"] = P.axis(node.attr("axis"))
    if node.attr("keepdims"):
        kw["keepdims"] = "True"
    return kw


def index_text(spec, a, ctx, *, call: bool = False) -> str:
    """The text inside ``x[...]``; with ``call``, slices as ``slice(a, b)`` (for np.add.at)."""
    parts = []
    for e in spec:
        if e[0] == "i":  # an int, or an expression of a loop variable (``t - 1``)
            parts.append(str(e[1]) if isinstance(e[1], int) else P.dim(e[1], ctx.dims))
        elif e[0] == "n":
            parts.append("None")
        elif e[0] == "a":
            parts.append(a[e[1]].text)
        else:
            start, stop, step = (
                ("None" if call else "") if v is None else P.dim(v, ctx.dims)
                for v in (e[1], e[2], e[3])
            )
            if call:
                parts.append(f"slice({start}, {stop}, {step})")
            else:
                parts.append(slice_text(start, stop, step))
    return ", ".join(parts) if parts else "()"


def slice_text(start: str, stop: str, step: str) -> str:
    """``start:stop:step`` as ``ruff format`` writes it: colons spaced like a binary operator
    (``1 : n - 1``, ``n - 1 :``) once a bound is more than a name or a number."""
    pieces = [start, stop] + ([step] if step else [])
    if all(re.fullmatch(r"-?\w*", v) for v in pieces):
        return ":".join(pieces)
    text = pieces[0]
    for left, right in zip(pieces, pieces[1:]):
        text += (" :" if left else ":") + (" " + right if right else "")
    return text


def integral_exponent(e: P.Expr) -> P.Expr | None:
    """A whole-number float literal exponent (``2.0``) as an int literal (``2``), or ``None``."""
    m = re.fullmatch(r"(-?[0-9]+)\.0", e.text)
    return P.Expr(m.group(1), e.prec, e.simple) if m else None


def math_fn(name: str):
    """Emit ``name(args...)`` on Python floats; ``math.`` functions ask for ``import math``."""

    @made("math", name)
    def emit(node, a, ctx):
        if name.startswith("math."):
            ctx.use("math")
        return P.call(name, *a)

    return emit


def as_float(e: P.Expr) -> P.Expr:
    """An integer literal as a float literal (``0`` -> ``0.0``), so results stay float64."""
    digits = e.text.lstrip("-")
    if digits.isdigit():
        return P.Expr(e.text + ".0", e.prec, e.simple)
    return e


def axis_call(name: str):
    @made("axis_call", name)
    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, a[0], axis=str(node.attr("axis")))

    return emit


def list_call(name):
    return made("list_call", name)(
        lambda n, a, c: P.call(
            name, "[" + ", ".join(x.text for x in a) + "]", axis=str(n.attr("axis"))
        )
    )
