"""The Array API spellings (``--target array-api``, SPEC §2.2): each op's ``XP`` spelling.

Most are derived from how the op's NumPy spelling was made (``spelling.made``): a NumPy
function with a standard twin (``np.exp`` -> ``xp.exp``, ``np.arctan2`` -> ``xp.atan2``),
a reduction method (``x.sum(axis=1)`` -> ``xp.sum(x, axis=1)``), a module helper with an
Array API body (``_sigmoid(x)`` -> ``_sigmoid(xp, x)``), or text that reads the same on
any array (``a + b``). The rest are written here, by op name, so the op records in the
other modules stay as they are. An op with neither has no Array API spelling: compiling
a formula that uses it for this target is an error at its line (``unspelled``).

The emitted functions bind ``xp`` (the namespace of their array inputs, from
``array_api_compat``), ``dtype`` (the floating dtype the inputs promote to) and ``device``;
arrays are created with ``dtype=dtype, device=device`` so nothing upcasts (float32 in,
float32 out) and nothing leaves the inputs' device. Python floats are weak scalars.
"""

from __future__ import annotations

import re

from ..core import printer as P
from ..core.prim import NUMPY, PRIMS, XP
from .common import CREATE, power_of_numbers, target_float
from .spelling import as_float, index_text, reduction_kwargs

# NumPy functions and their Array API twins (the standard's names where they differ).
XP_NAMES = {
    f"np.{name}": f"xp.{name}"
    for name in (
        "exp log log1p expm1 sqrt square abs sin cos tan tanh sign maximum minimum clip"
        " stack"
    ).split()
} | {"np.arctan2": "xp.atan2", "np.concatenate": "xp.concat"}
XP_NAMES |= {
    f"np.{name}": f"xp.{name}"
    for name in ("sinh", "cosh", "log2", "log10", "logaddexp")
}
XP_NAMES |= {
    f"np.arc{name}": f"xp.a{name}"
    for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh")
}

# Module helpers with an Array API body (``templates/helpers.py.j2``: ``xp_helper_<name>``);
# their calls take the namespace first: ``_sigmoid(xp, x)``.
XP_HELPERS = set(
    "_sigmoid _softplus _logsumexp _max_shift _softmax _log_softmax _norm _erf _conv2d"
    " _conv2d_dcols _conv2d_dw".split()
)

# The reductions with a standard function of the same name (``xp.sum(x, axis=1)``).
XP_REDUCTIONS = {"sum", "max", "min", "any"}


def xp_helper(name: str, **fixed):
    """A call of the module helper ``name`` with the namespace first."""

    def emit(node, a, ctx):
        ctx.use(name)
        kw = {k: v(node) for k, v in fixed.items()}
        return P.call(name, "xp", *a, **kw)

    return emit


def derive(emit):
    """The Array API spelling derived from how the NumPy spelling ``emit`` was made, or
    None where there is no one-to-one twin."""
    how, name = getattr(emit, "made", (None, ""))
    if how == "same":
        return emit
    if how == "call" and name in XP_NAMES:
        return on_numbers(lambda node, a, ctx: P.call(XP_NAMES[name], *a))
    if how == "with_zero" and name in XP_NAMES:
        return on_numbers(lambda node, a, ctx: P.call(XP_NAMES[name], a[0], "0.0"))
    if how == "helper" and name in XP_HELPERS:
        return xp_helper(name)
    if how == "helper_reduction" and name in XP_HELPERS:

        def emit_reduction(node, a, ctx):
            ctx.use(name)
            return P.call(name, "xp", a[0], **reduction_kwargs(node))

        return emit_reduction
    if how == "axis_call" and name in XP_HELPERS:
        return xp_helper(name, axis=lambda node: str(node.attr("axis")))
    if how == "reduction" and name in XP_REDUCTIONS:
        return reduction(f"xp.{name}")
    if how == "list_call" and name in XP_NAMES:
        return lambda n, a, c: P.call(
            XP_NAMES[name],
            "[" + ", ".join(x.text for x in a) + "]",
            axis=str(n.attr("axis")),
        )
    return None


def on_numbers(emit):
    """``emit``, except where every argument is a number (a constant or a dimension:
    ``sqrt(2)``, ``log(n)``), which no namespace function takes: there the first as a
    0-d array of the inputs' dtype, so that the value never changes the dtype and
    follows the standard where Python's ``math`` would raise (``log(0.0)``,
    ``exp(1000.0)``)."""

    def spelled(node, a, ctx):
        if not node.args or any(
            ctx.nodes[k].op not in ("const", "dim") for k in node.args
        ):
            return emit(node, a, ctx)
        first = P.call("xp.asarray", a[0], **CREATE)
        return emit(node, [first, *a[1:]], ctx)

    return spelled


def reduction(name: str):
    """``xp.sum(x, axis=..., keepdims=True)``; a scalar is its own sum, max and min (a
    Scalar input may be a Python float, which no namespace function takes). A sum of a
    mask (how many ties) counts in the float dtype: the standard sums numbers only."""

    def emit(node, a, ctx):
        if not ctx.shape_of(node.args[0]):
            return a[0]
        x = a[0]
        if name == "xp.sum" and ctx.nodes[node.args[0]].dtype == "bool":
            x = P.call("xp.astype", x, "dtype")
        return P.call(name, x, **reduction_kwargs(node))

    return emit


# ----------------------------------------------------------------------------
# Spellings written out (no one-to-one NumPy twin)


def const_emit(node, a, ctx):
    """A float literal; inf and nan as ``math.inf`` and ``math.nan`` (Python floats)."""
    e = P.number(node.attr("value"))
    if "np." in e.text:
        ctx.use("math")
        return P.Expr(e.text.replace("np.", "math."), e.prec, e.simple)
    return e


def pow_emit(node, a, ctx):
    """``x**2``, ``x ** y`` as on NumPy; a power of numbers (``python_number``: ``0.0 **
    0.5``, ``(n - 2) ** 0.5``) or of an int (``int_valued``) of the base as a 0-d array
    of the inputs' dtype (Python's would raise or be complex: ``-2.0 / 0.0**0.5``,
    ``(-1.0) ** 0.5``)."""
    if power_of_numbers(ctx, node):
        return P.power(target_float(ctx, a[0]), a[1])
    return PRIMS["pow"].spellings[NUMPY](node, a, ctx)


def where_emit(node, a, ctx):
    return P.call("xp.where", a[0], as_float(a[1]), as_float(a[2]))


def mean_emit(node, a, ctx):
    """``xp.sum(x, ...) / count``, as the NumPy target computes it (its whole-array sums
    bit for bit; over an axis the NumPy target may sum through BLAS, ``sum_along``)."""
    shape = ctx.shape_of(node.args[0])
    if not shape:
        return a[0]
    axes = node.attr("axis")
    total = P.call("xp.sum", a[0], **reduction_kwargs(node))
    n = 1
    for k in range(len(shape)) if axes is None else axes:
        n = n * shape[k]
    return P.binop("/", P.MUL, total, P.dim_expr(n, ctx.dims))


def moment_emit(name: str):
    """``xp.var(x, axis=..., correction=ddof, keepdims=True)``."""

    def emit(node, a, ctx):
        kw = {}
        if node.attr("axis") is not None:
            kw["axis"] = P.axis(node.attr("axis"))
        if node.attr("ddof"):
            kw["correction"] = str(node.attr("ddof"))
        if node.attr("keepdims"):
            kw["keepdims"] = "True"
        return P.call(f"xp.{name}", a[0], **kw)

    return emit


def matmul_emit(node, a, ctx):
    """``xp.matmul(a, b)`` of vectors and matrices, not ``a @ b``: NumPy's namespace
    (``_with_methods``) computes it with ``dot``, 0.4 us a call less than the ``@``
    operator's matmul ufunc; stacks of matrices (where ``dot`` is no matmul) as ``a @ b``."""
    if max(len(ctx.shape_of(k)) for k in node.args) > 2:
        return P.binop("@", P.MUL, a[0], a[1])
    return P.call("xp.matmul", a[0], a[1])


def vdot_emit(node, a, ctx):
    """``xp.matmul(x, y)`` of vectors; ``xp.sum(x * y)`` of arrays of one shape
    (``xp.tensordot`` over every axis costs 4 us more per call on NumPy)."""
    if len(ctx.shape_of(node.args[0])) == 1:
        return P.call("xp.matmul", a[0], a[1])
    return P.call("xp.sum", P.binop("*", P.MUL, a[0], a[1]))


def einsum_emit(node, a, ctx):
    ctx.use("_einsum")
    return P.call("_einsum", "xp", f'"{node.attr("spec")}"', *a)


def outer_emit(node, a, ctx):
    """``x[:, None] * y``: the products np.outer computes, bit for bit."""
    return P.binop("*", P.MUL, P.Expr(P.subscript(a[0], ":, None").text, P.ATOM), a[1])


def transpose_emit(node, a, ctx):
    axes = node.attr("axes")
    if axes == tuple(range(len(axes))):
        return a[0]
    if len(axes) == 2:
        return P.attr(a[0], "T")
    return P.call("xp.permute_dims", a[0], P.axis(axes))


def filled(shape: str, value: P.Expr) -> P.Expr:
    """A new array of ``shape`` holding the scalar ``value`` in the inputs' dtype: a literal
    through ``xp.full``, a value (a Python float or a 0-d array) added to zeros."""
    if re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", value.text):
        return P.call("xp.full", shape, as_float(value), **CREATE)
    return P.binop("+", P.ADD, P.call("xp.zeros", shape, **CREATE), value)


def reshape_emit(node, a, ctx):
    shape = P.shape(node.attr("shape"), ctx.dims)
    if not ctx.shape_of(node.args[0]):
        return filled(shape, a[0])
    return P.call("xp.reshape", a[0], shape)


def broadcast_to_emit(node, a, ctx):
    target = P.shape(node.attr("shape"), ctx.dims)
    if node.args and ctx.shape_of(node.args[0]) == ():
        return filled(target, a[0])
    return P.call("xp.broadcast_to", a[0], target)


def picks(nodes, node, shape) -> bool:
    """Whether the index of ``node`` (a getitem of, or a scatter into, an array of
    ``shape``) is ``[arange(n), y]`` on a matrix of ``n`` rows, ``y`` an ``Index[n]``:
    from each row, the element in column ``y[i]`` (``scores[arange(N), y]``)."""
    spec = node.attr("index")
    if len(shape) != 2 or [e[0] for e in spec] != ["a", "a"]:
        return False
    rows, cols = (nodes[node.args[e[1]]] for e in spec)
    return (
        rows.op == "arange"
        and rows.attr("n") == shape[0]
        and cols.dtype == "int"
        and cols.shape == (shape[0],)
    )


#: the index entries ``:`` and ``::-1``
WHOLE, REVERSED = ("s", None, None, None), ("s", None, None, -1)


def reversal(spec) -> tuple:
    """The axes an index of only ``:`` and ``::-1`` reverses (``x[:, ::-1]``: (1,)), else
    (): printed ``xp.flip``, as PyTorch's tensors take no negative step."""
    if not all(e in (WHOLE, REVERSED) for e in spec):
        return ()
    return tuple(k for k, e in enumerate(spec) if e == REVERSED)


def getitem_emit(node, a, ctx):
    """``x[...]`` (standard indexing); ``xp.take`` for one integer array along one axis;
    ``_pick(xp, x, y)`` for ``x[arange(n), y]``, which Dask cannot index; a scalar given
    axes: ``xp.full``; ``xp.flip`` for whole axes reversed (``x[::-1]``: PyTorch's
    tensors take no negative step)."""
    if not ctx.shape_of(node.args[0]) and node.dtype == "float":
        return filled(P.shape(node.shape, ctx.dims), a[0])
    flipped = reversal(node.attr("index"))
    if flipped:
        return P.call("xp.flip", a[0], axis=P.axis(flipped))
    if picks(ctx.nodes, node, ctx.shape_of(node.args[0])):
        ctx.use("_pick")
        return P.call("_pick", "xp", a[0], a[node.attr("index")[1][1]])
    spec = node.attr("index")
    arrays = [k for k, e in enumerate(spec) if e[0] == "a"]
    full = all(
        e == ("s", None, None, None) for k, e in enumerate(spec) if k not in arrays
    )
    if (
        len(arrays) == 1
        and full
        and len(ctx.shape_of(node.args[spec[arrays[0]][1]])) == 1
    ):
        # one integer array along one axis: xp.take (the standard's gather)
        return P.call("xp.take", a[0], a[spec[arrays[0]][1]], axis=str(arrays[0]))
    text = index_text(spec, a, ctx)
    return P.subscript(
        a[0], text + trailing(node.attr("index"), ctx.shape_of(node.args[0]))
    )


def trailing(spec, shape) -> str:
    """``, ...`` where the index names fewer axes than the array has: the standard
    leaves such an index unspecified (NumPy reads the rest as ``:``)."""
    return ", ..." if sum(e[0] != "n" for e in spec) < len(shape) else ""


def index_tuple(node, a, ctx, bare: bool = False) -> str:
    """The index of a scatter as a tuple expression (``(slice(1, None),)``); with
    ``bare``, an index of one axis alone (``slice(1, None)``: the same index, without
    building a tuple on every call)."""
    spec = node.attr("index")
    text = index_text(spec, [None] + a[1:], ctx, call=True)
    text = re.sub(r"slice\(([^()]*), None\)", r"slice(\1)", text)
    more = trailing(spec, node.attr("shape"))
    if len(spec) == 1 and not more:
        return text if bare else f"({text},)"
    return f"({text}{more})"


def assign_call(target, head, args, ctx, op: str = "=") -> list[str]:
    """``target = head(args)`` as ruff formats it in a function body (88 columns), at
    the context's indentation (a loop body's is deeper)."""
    width = 84 - ctx.indent
    one = f"{target} {op} {head}({', '.join(args)})"
    if len(one) <= width:
        return [one]
    if len(", ".join(args)) + 4 <= width:
        return [f"{target} {op} {head}(", f"    {', '.join(args)}", ")"]
    return [f"{target} {op} {head}("] + [f"    {x}," for x in args] + [")"]


def zeros_text(node, ctx) -> str:
    return P.call("xp.zeros", P.shape(node.attr("shape"), ctx.dims), **CREATE).text


def scatter_stmts(target, node, a, ctx):
    """A one-hot ``xp.where`` for ``[arange(n), y]`` (no scatter at all: the same cost as
    zeros and an assignment); else zeros and ``_at_set`` (functional on JAX), or
    ``_scatter_add`` where indices can repeat."""
    if picks(ctx.nodes, node, node.attr("shape")):
        return assign_call(target, "_one_hot", one_hot(node, a, ctx), ctx)
    if reversal(node.attr("index")):  # x[::-1]'s adjoint: the gradient reversed, a
        # copy (xp.flip is a view of it, and the gradient may be the caller's d_out)
        return [f"{target} = {copied(flipped(node, a))}"]
    zeros = f"{target} = {zeros_text(node, ctx)}"
    if ctx.unique_index(node):
        ctx.use("_at_set")
        args = [target, index_tuple(node, a, ctx, bare=True), a[0].text]
        return [zeros] + assign_call(target, "_at_set", args, ctx)
    return [zeros] + scatter_into(target, node, a, ctx)


def scatter_into(target, node, a, ctx):
    """Add the scattered gradient into ``target`` (``_at_add``: in place, or functional on
    JAX; ``_scatter_add`` where indices can repeat; ``+=`` a one-hot for ``[arange(n), y]``)."""
    if picks(ctx.nodes, node, node.attr("shape")):
        return assign_call(target, "_one_hot", one_hot(node, a, ctx), ctx, "+=")
    if reversal(node.attr("index")):
        return [f"{target} = {target} + {flipped(node, a).text}"]
    name = "_at_add" if ctx.unique_index(node) else "_scatter_add"
    ctx.use(name)
    first = [] if name == "_at_add" else ["xp"]
    bare = name == "_at_add"
    args = [*first, target, index_tuple(node, a, ctx, bare), a[0].text]
    return assign_call(target, name, args, ctx)


def flipped(node, a) -> P.Expr:
    """``xp.flip(g, axis=...)``: the value a reversal scatters, reversed back."""
    return P.call("xp.flip", a[0], axis=P.axis(reversal(node.attr("index"))))


def one_hot(node, a, ctx) -> list[str]:
    """``_one_hot(xp, y, n, value, dtype, device)``: ``value`` at ``[i, y[i]]``, 0 elsewhere."""
    ctx.use("_one_hot")
    cols = a[node.attr("index")[1][1]]
    n = P.dim(node.attr("shape")[1], ctx.dims)
    return ["xp", cols.text, n, a[0].text, "dtype", "device"]


def xp_helper_attrs(name: str, *keys: str, shape: bool = False):
    """``name(xp, *args, *attrs)``: a convolution or pooling helper called with the
    namespace first, then its arguments, the height and width of the ``shape`` attribute
    (printed with the function's dimension names) and the attributes ``keys``."""

    def emit(node, a, ctx):
        ctx.use(name)
        dims = [P.dim(d, ctx.dims) for d in node.attr("shape")[2:]] if shape else []
        attrs = [P.dim(node.attr(k), ctx.dims) for k in keys]
        return P.call(name, "xp", *a, *dims, *attrs)

    return emit


WRITTEN = {
    "const": const_emit,
    "where": where_emit,
    "not": None,  # ``~x`` as on NumPy (the record's own spelling)
    "pow": pow_emit,
    "expand_dims": lambda node, a, ctx: P.subscript(
        a[0],
        ", ".join(
            "None" if k in node.attr("axis") else ":" for k in range(len(node.shape))
        ),
    ),  # ``x[:, None]``, every axis named (``x[None]`` of a vector: ``x[None, :]``)
    "mean": mean_emit,
    "var": moment_emit("var"),
    "std": moment_emit("std"),
    "matmul": matmul_emit,
    "vdot": vdot_emit,
    "einsum": einsum_emit,
    "outer": outer_emit,
    "transpose": transpose_emit,
    "reshape": reshape_emit,
    "broadcast_to": broadcast_to_emit,
    "getitem": getitem_emit,
    "zeros": lambda n, a, c: P.call("xp.zeros", P.shape(n.shape, c.dims), **CREATE),
    "ones": lambda n, a, c: P.call("xp.ones", P.shape(n.shape, c.dims), **CREATE),
    "eye": lambda n, a, c: P.call("xp.eye", P.dim(n.attr("n"), c.dims), **CREATE),
    "arange": lambda n, a, c: P.call(
        "xp.arange", P.dim(n.attr("n"), c.dims), device="device"
    ),
    # convolution and pooling (ops/conv.py): helpers of templates/helpers_xp.py.j2
    "im2col": xp_helper_attrs("_im2col", "kh", "kw", "stride", "pad"),
    "col2im": xp_helper_attrs("_col2im", "stride", "pad", shape=True),
    "filter_major": lambda n, a, c: P.call("xp.permute_dims", a[0], "(1, 0, 2, 3)"),
    "max_pool2d": xp_helper_attrs("_max_pool2d", "size", "stride"),
    "max_pool2d_grad": xp_helper_attrs("_max_pool2d_grad", "size", "stride"),
    "max_pool2d_tangent": xp_helper_attrs("_max_pool2d_tangent", "size", "stride"),
    "avg_pool2d": xp_helper_attrs("_avg_pool2d", "size", "stride"),
    "avg_pool2d_grad": xp_helper_attrs(
        "_avg_pool2d_grad", "size", "stride", shape=True
    ),
}


def copied(a: P.Expr) -> str:
    """A copy of the array ``a`` (``xp.asarray(a, copy=True)``: arrays have no ``copy``
    method in the standard)."""
    return P.call("xp.asarray", a, copy="True").text


def setitem_stmts(target, node, a, ctx):
    """``a[index] = v`` (``+=``) through ``_at_set`` (``_at_add``): in place, or
    functional on JAX; into ``a`` itself when ``target`` is its name (the caller knows
    ``a`` is not read afterwards), else into a copy (a new array as is)."""
    lines = []
    if target != a[0].text:
        fresh = ctx.nodes[node.args[0]].op in ("zeros", "broadcast_to")
        start = a[0].text if fresh and not a[0].text.isidentifier() else copied(a[0])
        lines.append(f"{target} = {start}")
    name = "_at_add" if node.attr("add") else "_at_set"
    ctx.use(name)
    spec = node.attr("index")
    text = index_text(spec, [None, None], ctx, call=True)
    text = re.sub(r"slice\(([^()]*), None\)", r"slice(\1)", text)
    more = trailing(spec, node.shape)
    index = f"({text},)" if len(spec) == 1 and not more else f"({text}{more})"
    return lines + assign_call(target, name, [target, index, a[1].text], ctx)


# Statement ops: (statements, statements adding into an existing array).
XP_STMTS = {"scatter": (scatter_stmts, scatter_into), "setitem": (setitem_stmts, None)}

# The loop nodes: whole blocks of statements printed by ``backend/loops.py`` for every
# target (their bodies' operations are checked one by one).
LOOP_OPS = {"loop", "loop_out", "loop_tape", "loop_grad", "loop_grad_out", "pack"}


def xp_spelling(op: str):
    """The Array API spelling of ``op``, or None."""
    p = PRIMS[op]
    if op in WRITTEN:
        return WRITTEN[op] or p.spellings.get(NUMPY)
    if XP in p.spellings:
        return p.spellings[XP]
    return derive(p.spellings.get(NUMPY))


def xp_spellable(op: str) -> bool:
    """Whether ``op`` can be printed for the Array API target."""
    return op in XP_STMTS or op in LOOP_OPS or xp_spelling(op) is not None


def install() -> None:
    """Give every registered op with an Array API spelling its ``XP`` entry, in its
    record's spellings (ops registered later, as ``fused``, spell ``XP`` themselves)."""
    for op in list(PRIMS):
        emit = xp_spelling(op)
        if emit is not None and PRIMS[op].spellings.get(XP) is not emit:
            PRIMS[op].spellings[XP] = emit
