"""Reductions (sum, mean, max, min, logsumexp, norm, var, std, any) and softmax."""

from __future__ import annotations

from ..core import printer as P
from ..core.ir import Value
from ..core.prim import NUMBA, NUMPY, prim
from ..core.shape_rules import reduce_shape
from ..core.shapes import (
    canon,
    size,
)
from . import numba_spelling as nb
from .common import (
    axes_batch,
    axis_batch,
    count,
    expand_reduced,
    linear_tangent,
    same_shape,
    spread,
)
from .points import at_zero_output, extreme_tie
from .spelling import (
    axis_call,
    helper_reduction,
    made,
    reduction_kwargs,
    reduction_method,
)


def reduce_rule(b, args, attrs):
    x = b[args[0]]
    dtype = "float" if x.dtype == "float" else "int"
    return reduce_shape(x.shape, attrs["axis"], attrs["keepdims"]), dtype


def sum_along(node, a, ctx):
    """``x.sum(axis=...)``; a float array summed over its leading or its trailing axes
    (not all of them) is ``_sum_leading(x)`` or ``_sum_trailing(x)``: the product of x, seen
    as a matrix, with ones, which BLAS runs 1.2-7x faster than NumPy's reduction and 4-7x
    on short rows (bench/README.md, "Sums along an axis as products with ones"). The same
    additions in another order; the helpers fall back to ``x.sum`` on small or strided
    arrays."""
    x = ctx.nodes[node.args[0]]
    axes, rank = node.attr("axis"), len(x.shape)
    k = 0 if axes is None else len(axes)
    if x.dtype != "float" or not 0 < k < rank:
        return P.method(a[0], "sum", **reduction_kwargs(node))
    if axes == tuple(range(k)):
        name = "_sum_leading"
    elif axes == tuple(range(rank - k, rank)):
        name = "_sum_trailing"
    else:
        return P.method(a[0], "sum", **reduction_kwargs(node))
    ctx.use(name)
    lead = name == "_sum_leading"
    args = [a[0]] + ([P.axis(axes if lead else tuple(range(-k, 0)))] if k > 1 else [])
    return P.call(
        name, *args, **({"keepdims": "True"} if node.attr("keepdims") else {})
    )


@made("reduction", "sum")
def sum_emit(node, a, ctx):
    """``sum``: ``np.sum(x)`` on a scalar, else ``sum_along``."""
    if not ctx.shape_of(node.args[0]):
        return P.call("np.sum", a[0], **reduction_kwargs(node))
    return sum_along(node, a, ctx)


def mean_emit(node, a, ctx):
    """``x.sum(...) / count``: what ``np.mean`` computes for float64 (add.reduce, then one
    division by the count) without its dispatch overhead; over leading or trailing axes
    the sum is ``sum_along``'s."""
    shape = ctx.shape_of(node.args[0])
    if not shape:
        return P.call("np.mean", a[0], **reduction_kwargs(node))
    axes = node.attr("axis")
    total = sum_along(node, a, ctx)
    n = size(shape if axes is None else tuple(shape[k] for k in axes))
    return P.binop("/", P.MUL, total, P.dim_expr(n, ctx.dims))


def any_shape(b, args, attrs):
    return reduce_shape(b.shape(args[0]), attrs["axis"], attrs["keepdims"]), "bool"


# whether any element along ``axis`` is True (masks of broadcast values, autodiff.live_masks)
prim(
    "any",
    any_shape,
    spellings={NUMPY: reduction_method("any")},
    batch=axes_batch,
)


# ----------------------------------------------------------------------------
# Reductions


def restored(b, k: int, n) -> Value:
    """Node ``k`` (the reduction's output or its gradient) with the axes the reduction ``n``
    removed put back, so it broadcasts against the input."""
    return Value(b, expand_reduced(b, k, n))


def sum_adj(b, i, n, g):
    x = n.args[0]
    return [spread(b, expand_reduced(b, g, n), b.shape(x))]


def mean_adj(b, i, n, g):
    x = n.args[0]
    share = b.div(g, count(b, b.shape(x), n.attr("axis")))
    return [spread(b, expand_reduced(b, share, n), b.shape(x))]


def maxred_adj(b, i, n, g):
    """Ties share equally: the mask of the maxima divided by how many there are."""
    x, axes = Value(b, n.args[0]), n.attr("axis")
    mask = x.op("eq", restored(b, i, n))
    ties = mask.op("sum", axis=axes, keepdims=axes is not None)
    return [mask.where(restored(b, g, n) / ties, 0).i]


def logsumexp_parts(b, x: int, n) -> tuple[Value, Value, Value]:
    """The shift ``m``, the terms ``e = exp(x - m)`` and their sum ``s`` that logsumexp
    (node ``n`` of ``x``) is made of: logsumexp(x) = log(s) + m, its gradient e / s. The
    adjoint builds them, and ``passes.late.expose_logsumexp`` computes the value from the
    same nodes, so the backward reads the forward's ``e`` and ``s`` instead of computing
    ``exp`` again."""
    axes, keepdims = n.attr("axis"), n.attr("keepdims")
    m = Value(b, b.emit("max_shift", x, axis=axes, keepdims=keepdims))
    e = (Value(b, x) - restored(b, m.i, n)).op("exp")
    return m, e, e.op("sum", axis=axes, keepdims=keepdims)


def logsumexp_adj(b, i, n, g):
    """d logsumexp(x) = softmax(x) = e / s with e = exp(x - m), s = sum(e), m the maximum.

    e / s sums to 1 at any magnitude (at x = 1e17 * ones(4), x - logsumexp(x) rounds to 0
    and exp(x - out) alone would be 1 everywhere); e stays within [1 / n**2, 1] at the
    maximum, so s neither overflows nor vanishes. The upstream is divided by s on the
    reduced shape, then one product over x: e * (g / s).
    """
    _, e, s = logsumexp_parts(b, n.args[0], n)
    return [(e * restored(b, (Value(b, g) / s).i, n)).i]


def norm_adj(b, i, n, g):
    """d ||x|| = x / ||x||, and 0 at x = 0. x / ||x|| is at most 1 in magnitude (no overflow
    where g / ||x|| would at a subnormal norm); ``_norm`` scales the value itself."""
    x, out = Value(b, n.args[0]), restored(b, i, n)
    safe = out.op("eq", 0).where(1, out)
    return [(x / safe * restored(b, g, n)).i]


def reduced_like(v: Value, n) -> Value:
    """``sum(v)`` over the axes of reduction ``n``, kept as ``n`` keeps them."""
    return v.op("sum", axis=n.attr("axis"), keepdims=n.attr("keepdims"))


def maxred_tangent(b, i, n, ts):
    """The mean of the tangents at the maxima (ties share, as the adjoint does)."""
    x, t = Value(b, n.args[0]), Value(b, ts[0])
    mask = x.op("eq", restored(b, i, n))
    ties = reduced_like(mask, n)
    return (reduced_like(mask.where(t, 0), n) / ties).i


def logsumexp_tangent(b, i, n, ts):
    """sum(softmax(x) * t) = sum(e * t) / s, from the parts the adjoint reads too."""
    _, e, s = logsumexp_parts(b, n.args[0], n)
    return (reduced_like(e * Value(b, ts[0]), n) / s).i


def norm_tangent(b, i, n, ts):
    """sum(x * t) / ||x||, and 0 at x = 0."""
    x, out = Value(b, n.args[0]), Value(b, i)
    safe = out.op("eq", 0).where(1, out)
    return (reduced_like(x * Value(b, ts[0]), n) / safe).i


def reduction(name: str, emit, adjoint, numba=None, **kw) -> None:
    """Register the reduction ``name`` (a formula's ``name(x, axis=..., keepdims=...)``;
    ``names=()`` for one that only rules build); ``numba``: its ``NUMBA`` spelling."""
    kw.setdefault("names", (name,))
    kw.setdefault("form", "reduction")
    prim(
        name,
        reduce_rule,
        spellings={NUMPY: emit} if numba is None else {NUMPY: emit, NUMBA: numba},
        adjoint=adjoint,
        batch=axes_batch,
        **kw,
    )


# Reductions that need a non-empty reduced axis (``needs_nonempty``): ``mean`` divides by
# its size (0 / 0, a ZeroDivisionError on floats), ``max`` and ``min`` have no identity
# (NumPy raises); ``var`` and ``std`` divide by ``N - ddof``; ``logsumexp``, ``softmax``,
# ``log_softmax`` and ``norm`` subtract or divide by a max.
reduction(
    "sum",
    sum_emit,
    sum_adj,
    tangent=linear_tangent,
    numba=nb.reduce_emit,
    numba_when=nb.whole_or_one_axis,
)
reduction(
    "mean",
    mean_emit,
    mean_adj,
    needs_nonempty=True,
    tangent=linear_tangent,
    numba=nb.reduce_emit,
    numba_when=nb.whole_or_one_axis,
)
reduction(
    "max",
    reduction_method("max"),
    maxred_adj,
    tangent=maxred_tangent,
    needs_nonempty=True,
    kinks=extreme_tie,
    numba=nb.reduce_emit,
    numba_when=nb.whole_or_one_axis,
)
reduction(
    "min",
    reduction_method("min"),
    maxred_adj,
    tangent=maxred_tangent,
    needs_nonempty=True,
    kinks=extreme_tie,
    numba=nb.reduce_emit,
    numba_when=nb.whole_or_one_axis,
)
reduction(
    "logsumexp",
    helper_reduction("_logsumexp"),
    logsumexp_adj,
    tangent=logsumexp_tangent,
    needs_nonempty=True,  # its shift is a max
)
# the shift logsumexp subtracts (``logsumexp_parts``); it cancels, so no gradient flows
# and its tangent is zero. Internal: not a formula function (its gradient is not max's)
reduction(
    "max_shift",
    helper_reduction("_max_shift"),
    lambda b, i, n, g: [None],
    tangent=lambda b, i, n, ts: None,
    names=(),
    numba=nb.max_shift_emit,
    numba_when=nb.whole_or_rows,
    needs_nonempty=True,
)
# ``_norm``: np.linalg.norm's value, scaled by max |x| where the squares over- or underflow
reduction(
    "norm",
    helper_reduction("_norm"),
    norm_adj,
    tangent=norm_tangent,
    kinks=at_zero_output,
    form="norm",  # np.linalg.norm(x, ord, axis, keepdims)
    needs_nonempty=True,  # scaled by max |x|
)


def moment_emit(name: str):
    """``x.var(axis=..., ddof=1, keepdims=True)`` (NumPy's own ``var``/``std``: the mean,
    then the summed squares of ``x - mean`` divided by ``N - ddof``); ``np.var(x)`` on a
    scalar."""

    def emit(node, a, ctx):
        kw = {}
        if node.attr("axis") is not None:
            kw["axis"] = P.axis(node.attr("axis"))
        if node.attr("ddof"):
            kw["ddof"] = str(node.attr("ddof"))
        if node.attr("keepdims"):
            kw["keepdims"] = "True"
        if not ctx.shape_of(node.args[0]):
            return P.call("np." + name, a[0], **kw)
        return P.method(a[0], name, **kw)

    return emit


def dof(x: Value, n) -> Value:
    """``N - ddof`` of the var/std node ``n`` over its input ``x``, as a constant or a
    dimension node (``n - 1``)."""
    axes = n.attr("axis")
    shape = x.shape
    left = size(shape if axes is None else tuple(shape[k] for k in axes)) - n.attr(
        "ddof"
    )
    if isinstance(left, int):
        return Value(x.b, x.b.const(left))
    return Value(x.b, x.b.emit("dim", expr=canon(left)))


def centred(x: Value, n) -> Value:
    """``x - mean(x)`` over the axes of the var/std node ``n`` (kept: same shape as ``x``)."""
    return x - x.op("mean", axis=n.attr("axis"), keepdims=True)


def var_adj(b, i, n, g):
    """d var(x) = 2 (x - mean) / (N - ddof), as a person writes it (the path through the
    mean contributes sum(x - mean) = 0)."""
    x = Value(b, n.args[0])
    up = restored(b, g, n) * 2
    return [(up * centred(x, n) / dof(x, n)).i]


def std_adj(b, i, n, g):
    """d std(x) = (x - mean) / ((N - ddof) std), and 0 where the input is constant along the
    axes (max == min: std is 0 there, or a rounding residue of the mean, as 1.4e-17 for
    three 0.1s), the minimum-norm subgradient as for ``norm`` at 0 (README "Conventions")."""
    x, axes = Value(b, n.args[0]), n.attr("axis")
    flat = x.op("max", axis=axes, keepdims=True).op(
        "eq", x.op("min", axis=axes, keepdims=True)
    )
    out = restored(b, i, n)
    out = out.op("eq", 0).where(1, out)
    share = restored(b, g, n) * centred(x, n) / (dof(x, n) * out)
    return [flat.where(0, share).i]


def var_tangent(b, i, n, ts):
    """2 sum((x - mean) * t) / (N - ddof) (the mean's own tangent sums to 0 against it)."""
    x = Value(b, n.args[0])
    return (reduced_like(centred(x, n) * Value(b, ts[0]), n) * 2 / dof(x, n)).i


def std_tangent(b, i, n, ts):
    """sum((x - mean) * t) / ((N - ddof) std), and 0 where the input is constant along the
    axes (the adjoint's convention)."""
    x, axes, keep = Value(b, n.args[0]), n.attr("axis"), n.attr("keepdims")
    flat = x.op("max", axis=axes, keepdims=keep).op(
        "eq", x.op("min", axis=axes, keepdims=keep)
    )
    out = Value(b, i)
    out = out.op("eq", 0).where(1, out)
    share = reduced_like(centred(x, n) * Value(b, ts[0]), n) / (dof(x, n) * out)
    return flat.where(0, share).i


prim(
    "var",
    reduce_rule,
    spellings={NUMPY: moment_emit("var")},
    adjoint=var_adj,
    tangent=var_tangent,
    names=("var",),
    form="moment",
    needs_nonempty=True,
    batch=axes_batch,
)
prim(
    "std",
    reduce_rule,
    spellings={NUMPY: moment_emit("std")},
    adjoint=std_adj,
    tangent=std_tangent,
    names=("std",),
    form="moment",
    needs_nonempty=True,
    batch=axes_batch,
)


def softmax_adj(b, i, n, g):
    """s * (g - sum(g * s)) along the axis, s the node's own output."""
    g, s = Value(b, g), Value(b, i)
    axis = (n.attr("axis"),)
    return [(s * (g - (g * s).op("sum", axis=axis, keepdims=True))).i]


def log_softmax_parts(b, x: int, n) -> tuple[Value, Value, Value]:
    """The shift ``m``, the terms ``e = exp(x - m)`` and their sum ``s`` along the axis of
    log_softmax (node ``n`` of ``x``), kept as columns: log_softmax(x) = (x - m) - log(s),
    softmax(x) = e / s. The adjoint builds them and ``passes.late`` computes the value
    from the same nodes (``exposed``): the backward reads the forward's ``e`` and ``s``."""
    axes = (n.attr("axis"),)
    m = Value(b, b.emit("max_shift", x, axis=axes, keepdims=True))
    e = (Value(b, x) - m).op("exp")
    return m, e, e.op("sum", axis=axes, keepdims=True)


def log_softmax_adj(b, i, n, g):
    """g - softmax * sum(g) along the axis, softmax = e / s from ``log_softmax_parts``
    (the exp the forward computed): g - e * (sum(g) / s), one product over x."""
    _, e, s = log_softmax_parts(b, n.args[0], n)
    g = Value(b, g)
    return [(g - e * (g.op("sum", axis=(n.attr("axis"),), keepdims=True) / s)).i]


def softmax_tangent(b, i, n, ts):
    """s * (t - sum(s * t)) along the axis."""
    t, s = Value(b, ts[0]), Value(b, i)
    return (s * (t - (s * t).op("sum", axis=(n.attr("axis"),), keepdims=True))).i


def log_softmax_tangent(b, i, n, ts):
    """t - sum(softmax * t) along the axis: t - sum(e * t) / s, from the parts the
    adjoint reads too (``log_softmax_parts``)."""
    _, e, s = log_softmax_parts(b, n.args[0], n)
    t = Value(b, ts[0])
    return (t - (e * t).op("sum", axis=(n.attr("axis"),), keepdims=True) / s).i


prim(
    "softmax",
    same_shape,
    spellings={NUMPY: axis_call("_softmax"), NUMBA: nb.rows_helper("_softmax_rows")},
    numba_when=nb.of_rows,
    adjoint=softmax_adj,
    tangent=softmax_tangent,
    names=("softmax",),
    form="softmax",
    batch=axis_batch,
    needs_nonempty=True,  # shifted by the max
    libm_calls=1,
)
prim(
    "log_softmax",
    same_shape,
    spellings={
        NUMPY: axis_call("_log_softmax"),
        NUMBA: nb.rows_helper("_log_softmax_rows"),
    },
    numba_when=nb.of_rows,
    adjoint=log_softmax_adj,
    tangent=log_softmax_tangent,
    names=("log_softmax",),
    form="softmax",
    batch=axis_batch,
    needs_nonempty=True,  # shifted by the max
    libm_calls=2,
)
