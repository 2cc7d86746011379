"""The spellings of the numba target's whole-function kernels (``backend/numba_whole``):
an op's ``NUMBA`` spelling, where numba in nopython mode cannot compile its NumPy one
(``keepdims`` as a new axis, ``x[arange(n), y]`` through the jitted ``_pick``,
``log_softmax`` and the logsumexp shift of rows through jitted helpers), and the
``numba_when`` tests of the nodes an op's ``NUMBA`` spelling covers (attributes, shapes).
"""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMPY, PRIMS
from ..core.shapes import size
from .common import pick_pattern
from .spelling import as_float, integral_exponent


def basic_index(node) -> bool:
    """Whether ``node``'s index holds only ints, slices and None (numba's basic indexing)."""
    return all(e[0] != "a" for e in node.attr("index"))


def one_axis(node, rank: int) -> int | None:
    """The one axis a reduction ``node`` reduces (its ``axis`` attribute), else None."""
    axis = node.attr("axis")
    if isinstance(axis, int):
        return axis % rank
    if axis is not None and len(axis) == 1:
        return axis[0] % rank
    return None


# ``numba_when(nodes, node)`` tests: whether the op's ``NUMBA`` spelling covers ``node``


def matrices(nodes, node) -> bool:
    """``.dot`` of ranks up to 2 (numba's ``np.dot``)."""
    return all(len(nodes[a].shape) <= 2 for a in node.args)


def whole_or_one_axis(nodes, node) -> bool:
    """A reduction of a scalar or of everything; a sum or mean also of one axis, a max
    or min of one axis of a matrix (``_max_rows``, ...)."""
    shape = nodes[node.args[0]].shape
    if not shape or (node.attr("axis") is None and not node.attr("keepdims")):
        return True
    if node.op not in ("sum", "mean") and len(shape) != 2:
        return False
    return one_axis(node, len(shape)) is not None


def of_rows(nodes, node) -> bool:
    """Over the rows of a matrix (axis 1)."""
    return len(nodes[node.args[0]].shape) == 2 and one_axis(node, 2) == 1


def of_scalar(nodes, node) -> bool:
    """Of a scalar argument (``np.full``)."""
    return bool(node.args) and nodes[node.args[0]].shape == ()


def basic_or_pick(nodes, node) -> bool:
    """Basic indexing, or ``x[arange(n), y]`` (``pick_pattern``)."""
    return basic_index(node) or pick_pattern(nodes, node)


# ``NUMBA`` spellings: ``emit(node, a, ctx) -> Expr`` as the op records' others


def reduce_emit(node, a, ctx) -> P.Expr:
    """``x.sum(axis=k)`` (numba has no ``keepdims``: the axis put back with None), over
    the count for a mean; of a matrix, ``_sum_rows(x)``, ``_max_cols(x)``, ...; on a
    scalar, the scalar."""
    shape = ctx.shape_of(node.args[0])
    if not shape:
        return a[0]
    axis = one_axis(node, len(shape))
    if axis is None:
        total = P.method(a[0], node.op if node.op != "mean" else "sum")
        count = shape
    elif len(shape) == 2:  # numba's x.sum(axis=1) is 6x slower than a loop at 64x100
        op = "sum" if node.op == "mean" else node.op  # numba's max has no axis
        name = (f"_{op}_cols", f"_{op}_rows")[axis]
        ctx.use(name)
        total = P.call(name, a[0])
        if node.attr("keepdims"):
            total = P.subscript(total, ", ".join([":"] * axis + ["None"]))
        count = (shape[axis],)
    else:
        total = P.method(a[0], "sum", axis=str(axis))
        if node.attr("keepdims"):
            total = P.subscript(total, ", ".join([":"] * axis + ["None"]))
        count = (shape[axis],)
    if node.op != "mean":
        return total
    return P.binop("/", P.MUL, total, P.dim_expr(size(count), ctx.dims))


def rows_helper(name: str):
    """The jitted helper ``name`` of a 2-D array's rows (``_log_softmax_rows``); a
    reduction's ``keepdims`` as a new axis."""

    def emit(node, a, ctx):
        ctx.use(name)
        out = P.call(name, a[0])
        return P.subscript(out, ":, None") if node.attr("keepdims") else out

    return emit


def vdot_emit(node, a, ctx) -> P.Expr:
    """``np.sum(x * y)``: numba's ``np.vdot`` takes contiguous vectors only."""
    return P.call("np.sum", P.binop("*", P.MUL, a[0], a[1]))


def outer_emit(node, a, ctx) -> P.Expr:
    """``np.outer(x, y)``."""
    return P.call("np.outer", *a)


def getitem_emit(node, a, ctx) -> P.Expr:
    """Basic indexing as NumPy spells it; ``x[arange(n), y]`` as ``_pick(x, y)``."""
    if basic_index(node):
        return PRIMS["getitem"].spellings[NUMPY](node, a, ctx)
    ctx.use("_pick")
    return P.call("_pick", a[0], a[2])


def sigmoid_emit(node, a, ctx) -> P.Expr:
    """``1.0 / (1.0 + np.exp(-x))``, as ``_sigmoid`` computes it (numba warns of nothing)."""
    e = P.call("np.exp", P.neg(a[0]))
    return P.binop("/", P.MUL, P.name("1.0"), P.binop("+", P.ADD, P.name("1.0"), e))


def softplus_emit(node, a, ctx) -> P.Expr:
    """``np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))``, as ``_softplus``."""
    tail = P.call("np.log1p", P.call("np.exp", P.neg(P.call("np.abs", a[0]))))
    return P.binop("+", P.ADD, P.call("np.maximum", a[0], "0.0"), tail)


def pow_emit(node, a, ctx) -> P.Expr:
    """``x ** 2`` for a whole exponent ``>= 0``, else a float one: numba raises
    ZeroDivisionError on ``0.0 ** -1`` (an int power), not on ``0.0 ** -1.0`` (inf)."""
    k = integral_exponent(a[1])
    if k is not None and not k.text.startswith("-"):
        return P.power(a[0], k)
    if k is not None:
        return P.power(a[0], P.Expr(k.text + ".0", a[1].prec, a[1].simple))
    return P.power(a[0], a[1])


def where_emit(node, a, ctx) -> P.Expr:
    """``_select(c, a, b)``, a ``@numba.vectorize`` ufunc (``a if c else b``): numba
    compiles ``np.where`` in 6 s, the ufunc in 1 s (the same values, broadcast alike)."""
    ctx.use("_select")
    return P.call("_select", a[0], as_float(a[1]), as_float(a[2]))
