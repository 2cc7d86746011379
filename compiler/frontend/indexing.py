"""Lowering of subscripts: integers, slices (with dimension expressions as bounds),
``None`` and integer index arrays (``Index`` parameters, ``arange(n)``)."""

from __future__ import annotations

import ast

from ..core.ir import index_root
from ..core.shapes import canon
from .calls import call_name
from .dimensions import dim_expression, index_int
from .index_refusals import OF_INDEX, ZERO_STEP, mask_error
from .scope import Scope, emit, expr, float_value
from .shape_reading import new_axis
from .source import is_int_literal


def subscript_expr(node: ast.Subscript, scope: Scope) -> int:
    """``x[...]``: integers, slices, ``None`` and integer index arrays, as one
    ``getitem`` node whose ``index`` spec lists them (``a`` items point at the arrays)."""
    x = indexed_value(node.value, scope)
    spec, arrays = index_items(node.slice, scope, scope.b[x].dtype == "int")
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    arange_in_bounds(scope.b.shape(x), spec, arrays, items, scope)
    loop_indices_in_bounds(scope.b.shape(x), spec, items, scope)
    return emit(scope, node, "getitem", x, *arrays, index=spec)


def loop_indices_in_bounds(src: tuple, spec: tuple, items: list, scope) -> None:
    """Refuse an index of loop variables (``x[t + 1]``) that leaves an axis of known size
    at some iteration of loops whose ranges are known (NumPy's IndexError, raised
    mid-loop, which names no parameter). The index is checked where each loop variable
    takes its first and its last value (exact for the sums and multiples of ``+ - *``)."""
    ranges = getattr(scope, "ranges", {})
    axis = 0
    for e, it in zip(spec, items):
        n = src[axis] if axis < len(src) else None
        if e[0] == "i" and isinstance(n, int) and not isinstance(e[1], int):
            for at, k in index_extremes(e[1], ranges):
                if not -n <= k < n:
                    where = ", ".join(f"{v} = {t}" for v, t in at)
                    raise scope.src.error(
                        it,
                        f"index {ast.unparse(it)} is {k} at {where}: out of bounds "
                        f"for a dimension of size {n}",
                    )
        axis += e[0] != "n"


def index_extremes(index, ranges: dict) -> list[tuple]:
    """``(assignment, value)`` of ``index`` (a SymPy expression of loop variables) at each
    corner of the loop variables' first and last values, when every range is of known
    ints and runs at least once; else none."""
    corners: list[tuple] = [()]
    for sym in sorted(index.free_symbols, key=str):
        r = ranges.get(str(sym))
        if r is None or not all(isinstance(v, int) for v in r):
            return []
        values = range(*r)
        if not values:
            return []
        corners = [c + ((sym, t),) for c in corners for t in (values[0], values[-1])]
    out = []
    for c in corners:
        k = index.subs(dict(c))
        if not k.is_Integer:
            return []
        out.append((tuple((str(s), t) for s, t in c), int(k)))
    return out


def arange_in_bounds(src: tuple, spec: tuple, arrays: list, items: list, scope) -> None:
    """Refuse an ``arange(k)`` index (or one cut from it: ``arange(k)[:, None]``) longer
    than the axis it indexes when both sizes are known (NumPy's IndexError). A size that
    depends on the inputs is checked by the emitted code (``backend/checks.py``)."""
    axis = 0
    for e, it in zip(spec, items):
        if e[0] == "a" and axis < len(src):
            root = scope.b[index_root(scope.b, arrays[e[1] - 1])]
            k = root.attr("n") if root.op == "arange" else None
            if isinstance(k, int) and isinstance(src[axis], int) and k > src[axis]:
                raise scope.src.error(
                    it,
                    f"arange({k}) is out of bounds for an axis of size {src[axis]}",
                )
        axis += e[0] != "n"


def index_items(index, scope: Scope, of_int: bool = False) -> tuple[tuple, list[int]]:
    """The ``index`` spec of a subscript and the integer arrays its ``a`` items point at;
    an expression of loop variables and dimensions (``t - 1``) is an integer item."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    spec, arrays = [], []
    for it in items:
        if isinstance(it, ast.Slice):
            bounds = (slice_bound(it.lower, scope), slice_bound(it.upper, scope))
            spec.append(("s",) + bounds + (index_int(it.step, scope, True),))
            if spec[-1][3] == 0:
                raise scope.src.error(it, ZERO_STEP)
        elif new_axis(it):
            spec.append(("n",))
        elif is_int_literal(it):
            spec.append(("i", index_int(it, scope, False)))
        elif dimension_index(it, scope):
            spec.append(("i", canon(dim_expression(it, scope))))
        else:
            if of_int:
                raise scope.src.error(it, OF_INDEX)
            arr = index_array(it, scope)
            arrays.append(arr)
            spec.append(("a", len(arrays)))
    return tuple(spec), arrays


def dimension_index(node, scope: Scope) -> bool:
    """Whether ``node`` is an integer expression of loop variables and dimensions (names
    in ``scope.dims``, int literals, ``+ - * //``) naming a loop variable, or arithmetic
    of literals alone (``3 + 1``)."""
    names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
    allowed = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator)
    allowed += (ast.unaryop, ast.Load)
    return (
        all(isinstance(n, allowed) for n in ast.walk(node))
        and all(
            type(n.value) is int for n in ast.walk(node) if isinstance(n, ast.Constant)
        )
        and all(n.id in scope.dims for n in names)
        and (not names or any(scope.dims[n.id].is_positive is None for n in names))
        and not is_int_literal(node)
    )


def indexed_value(node, scope: Scope) -> int:
    """The value a subscript indexes: a float value, or an integer array (an ``Index``
    parameter, ``arange(n)``, or one of them indexed) for basic indexing that makes a
    broadcasting index (``i[:, None]``); the result is again usable only as an index."""
    if isinstance(node, ast.Call) and call_name(node, scope) == "arange":
        return arange_expr(node, scope)
    i = expr(node, scope)
    if scope.b[i].dtype == "int" and scope.b[i].op != "dim":
        return i
    return float_value(i, scope, node)


def slice_bound(node, scope: Scope):
    """A slice's start or stop: None, an int literal, or a dimension expression (``n - 1``,
    ``n // 2``: dimension names and int literals with ``+ - * //``) as a SymPy expression."""
    if node is None or is_int_literal(node):
        return index_int(node, scope, True)
    return canon(dim_expression(node, scope))


def index_array(node, scope: Scope) -> int:
    """An advanced index: an integer array (an ``Index`` value or ``arange(n)``)."""
    if isinstance(node, ast.Call) and call_name(node, scope) == "arange":
        return arange_expr(node, scope)
    if isinstance(node, ast.Compare):
        raise mask_error(node, scope.src)  # x[x > 0]: a length the values decide
    i = expr(node, scope)
    if scope.b[i].dtype != "int" or scope.b[i].op == "dim":
        raise scope.src.error(
            node,
            "an index must be an integer literal, a slice, None, an Index "
            "array or arange(n)",
        )
    return i


def arange_expr(node: ast.Call, scope: Scope) -> int:
    """``arange(n)`` of a dimension name or a positive int literal (an index, or indexed)."""
    if len(node.args) != 1 or node.keywords:
        raise scope.src.error(node, "arange takes one dimension: arange(n)")
    a = node.args[0]
    if isinstance(a, ast.Name) and a.id in scope.dims:
        n = scope.dims[a.id]
    elif isinstance(a, ast.Constant) and type(a.value) is int and 0 < a.value < 2**31:
        n = a.value
    else:
        raise scope.src.error(a, "arange takes a dimension name or a positive integer")
    return emit(scope, node, "arange", n=n)
