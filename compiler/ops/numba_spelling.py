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
    """A reduction of a scalar or of everything; a sum or mean also of one axis, or of
    several without ``keepdims``; a max or min of one axis of a matrix (``_max_rows``)."""
    shape = nodes[node.args[0]].shape
    if not shape or (node.attr("axis") is None and not node.attr("keepdims")):
        return True
    if node.op not in ("sum", "mean") and len(shape) != 2:
        return False
    several = node.op in ("sum", "mean") and not node.attr("keepdims")
    return one_axis(node, len(shape)) is not None or several


def whole_or_rows(nodes, node) -> bool:
    """Of a whole array (no ``keepdims``) or over the rows of a matrix (axis 1)."""
    if node.attr("axis") is None:
        return not node.attr("keepdims") and bool(nodes[node.args[0]].shape)
    return of_rows(nodes, node)


def array_einsum(nodes, node) -> bool:
    """An einsum with an array result (``einsum_loops`` writes its loops; the language
    has no diagonals: each letter names one axis of an operand)."""
    return bool(node.attr("spec").split("->")[1])


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
    axis, axes = one_axis(node, len(shape)), node.attr("axis")
    if axis is None and axes is not None and len(axes) < len(shape):
        total = a[0]  # several axes (no keepdims: ``whole_or_one_axis``), last first
        for k in sorted(axes, reverse=True):
            total = P.method(total, "sum", axis=str(k))
        count = tuple(shape[k] for k in axes)
    elif axis is None:
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
        if node.attr("keepdims") and len(shape) == 1:  # a float in numba: no [None]
            total = P.call("np.full", P.shape((1,), ctx.dims), total)
        elif node.attr("keepdims"):
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


def max_shift_emit(node, a, ctx) -> P.Expr:
    """The shift of ``logsumexp``: ``_max_shift_all(x)`` of a whole array,
    ``_max_shift_rows(x)`` over a matrix's rows (``keepdims`` as a new axis)."""
    if node.attr("axis") is None:
        ctx.use("_max_shift_all")
        return P.call("_max_shift_all", a[0])
    return rows_helper("_max_shift_rows")(node, a, ctx)


def einsum_loops(node, a, ctx) -> P.Expr:
    """A call of a loop kernel written for the einsum's spec (added to ``ctx.kernels``
    as ``_<prefix>_k<n>``): a loop per output letter, outermost first, and within them
    the sum over the other letters (numba has no einsum; its ``@`` takes matrices)."""
    spec = node.attr("spec")
    lines = einsum_kernel(spec)
    for name, text in ctx.kernels.items():
        if name.startswith(f"_{ctx.prefix}_k") and text[2:] == lines:
            return P.call(name, *a)  # the same spec in this body already
    own = [k for k in ctx.kernels if k.startswith(f"_{ctx.prefix}_k")]
    name = f"_{ctx.prefix}_k{len(own) + 1}"
    decorator = '@numba.njit(cache=True, error_model="numpy")'
    ctx.kernels[name] = [decorator, f"def {name}({', '.join(a_names(spec))}):", *lines]
    return P.call(name, *a)


def einsum_work(nodes, node) -> list:
    """The lengths of ``einsum_loops``'s loops: one per letter of the spec."""
    sizes: dict = {}
    for letters, a in zip(node.attr("spec").split("->")[0].split(","), node.args):
        sizes.update(zip(letters, nodes[a].shape))
    return list(sizes.values())


def a_names(spec: str) -> list[str]:
    """The parameter names of an einsum kernel: ``a0, a1, ...``."""
    return [f"a{k}" for k in range(len(spec.split("->")[0].split(",")))]


def einsum_kernel(spec: str) -> list[str]:
    """The body of ``spec``'s loop kernel (``einsum_loops``), after its ``def`` line:
    each letter's size read from the first operand that has it, the output allocated,
    the loops (``i_<letter>``), and a float sum over the summed letters."""
    ins, out = spec.split("->")
    ins = ins.split(",")
    summed = [c for c in dict.fromkeys("".join(ins)) if c not in out]
    lines = [f'    """einsum("{spec}") as loops."""']
    for k, letters in enumerate(ins):
        new = [c for c in letters if c not in "".join(ins[:k])]
        if new:
            names = ", ".join(f"n_{c}" if c in new else "_" for c in letters)
            lines.append(f"    {names}{',' if len(letters) == 1 else ''} = a{k}.shape")
    shape = ", ".join(f"n_{c}" for c in out)
    lines.append(f"    out = np.empty(({shape}{',' if len(out) == 1 else ''}))")
    pad = "    "
    for c in out:
        lines.append(f"{pad}for i_{c} in range(n_{c}):")
        pad += "    "
    lines.append(f"{pad}total = 0.0")
    inner = pad
    for c in summed:
        lines.append(f"{inner}for i_{c} in range(n_{c}):")
        inner += "    "
    terms = [  # a scalar operand (no letters: an adjoint's seed) read as it is
        f"a{k}[{', '.join(f'i_{c}' for c in letters)}]" if letters else f"a{k}"
        for k, letters in enumerate(ins)
    ]
    lines.append(f"{inner}total += {' * '.join(terms)}")
    at = ", ".join(f"i_{c}" for c in out)
    lines.append(f"{pad}out[{at}] = total")
    lines.append("    return out")
    return lines


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
