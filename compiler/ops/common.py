"""What the operation families share: broadcasting shape rules and the helpers adjoint rules
are built from (other primitives, never Jacobians)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..core import printer as P
from ..core.ir import Value
from ..core.prim import NUMPY, PRIMS, ops_in
from ..core.shapes import (
    broadcast,
    size,
)

#: how the Array API target creates an array: of the inputs' dtype, on their device
CREATE = {"dtype": "dtype", "device": "device"}

# ----------------------------------------------------------------------------
# Shape rules


def elementwise_shape(b, args, attrs):
    """Broadcast of the argument shapes; float result."""
    return broadcast(*(b.shape(a) for a in args)), "float"


def bool_shape(b, args, attrs):
    return broadcast(*(b.shape(a) for a in args)), "bool"


def leaf_shape(b, args, attrs):
    return tuple(attrs.get("shape", ())), attrs.get("dtype", "float")


def same_shape(b, args, attrs):
    return b.shape(args[0]), "float"


# ----------------------------------------------------------------------------
# Helpers for adjoint rules (built from other primitives, never from Jacobians)


def unbroadcast(b, g: int, shape: tuple) -> int:
    """Sum ``g`` over the axes that broadcasting added, giving it ``shape``."""
    gs = b.shape(g)
    if gs == tuple(shape):
        return g
    if shape == ():
        return b.emit("sum", g, axis=None, keepdims=False)
    lead = len(gs) - len(shape)
    if lead:
        g = b.emit("sum", g, axis=tuple(range(lead)), keepdims=False)
    ones = tuple(k for k, d in enumerate(shape) if d == 1 and b.shape(g)[k] != 1)
    if ones:
        g = b.emit("sum", g, axis=ones, keepdims=True)
    return g


def expand_reduced(b, g: int, node) -> int:
    """Put back the axes a reduction removed, so ``g`` broadcasts against its input."""
    axes = node.attr("axis")
    if node.attr("keepdims") or axes is None:
        return g
    return b.emit("expand_dims", g, axis=axes)


def spread(b, g: int, shape: tuple) -> int:
    """``g`` broadcast to ``shape`` (a no-op when it already has it)."""
    if b.shape(g) == tuple(shape):
        return g
    return b.emit("broadcast_to", g, shape=tuple(shape))


def count(b, shape: tuple, axes) -> int:
    """The number of elements reduced over ``axes``, as a constant or dimension node."""
    dims = shape if axes is None else tuple(shape[k] for k in axes)
    n = size(dims)
    if isinstance(n, int):
        return b.const(n)
    return b.emit("dim", expr=n)


def zero(b) -> int:
    return b.const(0.0)


def where0(b, cond: int, g: int) -> int:
    """``g`` where ``cond`` holds, else 0 (a mask, never a Jacobian)."""
    return b.emit("where", cond, g, zero(b))


# ----------------------------------------------------------------------------
# Rules written on values (``g * y * (1 - y)``)


def indices(results) -> list:
    """Rule results as node indices (a ``Value``'s own; ``None`` and ints stay)."""
    return [r.i if isinstance(r, Value) else r for r in results]


@dataclass(frozen=True)
class OnValues:
    """An adjoint rule written on ``Value``s: ``rule(g, y, *xs)`` gets the upstream gradient
    ``g``, the node's own output ``y`` (``y.node`` is the node, for its attributes) and its
    inputs ``xs``, and returns a Value (or None) per input. Called as the driver calls
    every rule, ``adjoint(b, i, node, g)``, it returns node indices."""

    rule: Callable

    def __call__(self, b, i, n, g):
        xs = [Value(b, a) for a in n.args]
        return indices(self.rule(Value(b, g), Value(b, i), *xs))


# ----------------------------------------------------------------------------
# Tangent rules shared by families of operations (forward mode, ``passes/forward``)


def zeros_of(b, a: int) -> int:
    """Zeros of node ``a``'s shape (a constant 0 for a scalar)."""
    return b.emit("zeros", shape=b.shape(a)) if b.shape(a) else zero(b)


def linear_tangent(b, i, n, ts):
    """A linear operation's tangent is the operation of its inputs' tangents (sum, reshape,
    indexing, concatenate, scatter): float inputs without one count as zeros, index inputs
    stay as they are."""
    args = [
        t if t is not None else zeros_of(b, a) if b[a].dtype == "float" else a
        for a, t in zip(n.args, ts)
    ]
    return b.emit(n.op, *args, **dict(n.attrs))


def multilinear_tangent(b, i, n, ts):
    """A product's tangent, one input's tangent at a time: ``d(x @ y) = dx @ y + x @ dy``
    (matmul, vdot, outer, einsum)."""
    terms = [
        b.emit(n.op, *n.args[:k], t, *n.args[k + 1 :], **dict(n.attrs))
        for k, t in enumerate(ts)
        if t is not None
    ]
    total = terms[0]
    for t in terms[1:]:
        total = b.add(total, t)
    return total


# ----------------------------------------------------------------------------
# Batching rules (``passes/batching``): ``batch(b, node, args, bat) -> node`` gives the
# node on its new arguments ``args``, those with ``bat[k]`` carrying an extra leading
# (batch) axis, with that axis leading its own result too.


def aligned(b, a: int, rank: int) -> int:
    """Batched ``a`` with unit axes after the batch axis, so it has ``rank`` axes besides
    it and broadcasts, batch axis first, against unbatched values of up to that rank."""
    missing = rank - (len(b.shape(a)) - 1)
    if missing <= 0:
        return a
    return b.emit("expand_dims", a, axis=tuple(range(1, 1 + missing)))


def elementwise_batch(b, n, args, bat) -> int:
    """An elementwise op on batched arguments, each aligned to the node's rank."""
    rank = len(n.shape)
    args = [aligned(b, a, rank) if t else a for a, t in zip(args, bat)]
    return b.emit(n.op, *args, **dict(n.attrs))


def shifted(axes) -> tuple:
    """Axes of an unbatched value as axes of its batched one."""
    return tuple(k + 1 for k in axes)


def axes_batch(b, n, args, bat) -> int:
    """A reduction (``axis`` a tuple, or None for all) on its batched input: the same
    axes, after the batch axis."""
    axes = n.attr("axis")
    if axes is None:
        axes = tuple(range(len(b.shape(args[0])) - 1))
    attrs = dict(n.attrs, axis=shifted(axes))
    return b.emit(n.op, *args, **attrs)


def axis_batch(b, n, args, bat) -> int:
    """An op along one ``axis`` (softmax, concatenate, stack): the axis after the batch
    axis; unbatched arguments broadcast along the batch axis first."""
    size = next(b.shape(a)[0] for a, t in zip(args, bat) if t)
    args = [
        a if t else b.emit("broadcast_to", a, shape=(size, *b.shape(a)))
        for a, t in zip(args, bat)
    ]
    return b.emit(n.op, *args, **dict(n.attrs, axis=n.attr("axis") + 1))


def shape_batch(b, n, args, bat) -> int:
    """An op with a target ``shape`` (reshape, broadcast_to, scatter): the batch axis
    leading it; a broadcast's input aligned to its rank first."""
    x, *rest = args
    size = b.shape(x)[0]
    if n.op == "broadcast_to":
        x = aligned(b, x, len(n.attr("shape")))
    return b.emit(n.op, x, *rest, **dict(n.attrs, shape=(size, *n.attr("shape"))))


def lifted(b, a: int, size) -> int:
    """Unbatched ``a`` given the batch axis (``size`` equal rows): new zeros for zeros
    (a carried value that a loop writes into), else a broadcast."""
    node = b[a]
    if node.op == "zeros":
        return b.emit("zeros", **dict(node.attrs, shape=(size, *node.shape)))
    return b.emit("broadcast_to", a, shape=(size, *b.shape(a)))


def pick_pattern(nodes, node) -> bool:
    """Whether ``node`` (a getitem or scatter) is ``x[arange(n), y]`` on a 2-D ``x``:
    one row each, the column an Index vector."""
    if node.attr("index") != (("a", 1), ("a", 2)) or len(node.args) != 3:
        return False
    rows, cols = nodes[node.args[1]], nodes[node.args[2]]
    matrix = node.shape if node.op == "scatter" else nodes[node.args[0]].shape
    return (
        rows.op == "arange"
        and len(matrix) == 2
        and rows.shape == cols.shape == (matrix[0],)
        and cols.dtype == "int"
    )


def bottom_up(nodes, i: int, memo: dict, own: Callable, joined: Callable) -> bool:
    """The answer for node ``i`` of a question asked of a graph's nodes: ``own(node)``
    where that decides it (True or False), else ``joined(node, answers)`` of its
    operands' answers; ``memo`` (node -> answer) is read and filled, walked without
    recursion (a 2,000-statement chain)."""
    stack = [i]
    while stack:
        k = stack[-1]
        if k in memo:
            stack.pop()
            continue
        node = nodes[k]
        answer = own(node)
        if answer is None:
            if missing := [a for a in node.args if a not in memo]:
                stack.extend(missing)
                continue
            answer = joined(node, [memo[a] for a in node.args])
        memo[k] = answer
        stack.pop()
    return memo[i]


def zero_d_array(nodes, i: int, memo: dict | None = None) -> bool:
    """Whether the NumPy spelling of scalar node ``i`` may give a 0-d array rather than a
    float: ``np.reshape`` of a scalar (ops whose record says ``zero_d``), a fused body with
    a ``where`` (``np.where`` there), a ``where`` or arithmetic on such a value (``where``
    is ``np.where`` then, and ``d_b += ...`` keeps the array). ``memo`` (node -> answer)
    is read and filled: the printer asks of every scalar ``where`` of a graph, and a
    fresh walk each time made a 2,000-statement chain compile in 50 s, not 5."""
    memo = {} if memo is None else memo
    return bottom_up(nodes, i, memo, partial(zero_d_own, nodes), lambda n, a: any(a))


def zero_d_own(nodes, node) -> bool | None:
    """``zero_d_array``'s answer for ``node`` alone: not for an array (reductions of
    arrays give NumPy floats), yes for ``np.reshape`` of a scalar or a fused ``where``,
    else its operands'."""
    own = PRIMS[node.op].zero_d
    own = own(nodes, node) if callable(own) else own
    if node.shape != ():
        return False
    if own or (node.op == "fused" and "where" in ops_in(node)):
        return True
    return None


def python_number(ctx, i: int) -> bool:
    """Whether node ``i`` may be a Python int or float where the NumPy or Array API target
    computes it: a scalar constant or dimension, the seed, a float parameter kept as a
    Python float (``ctx.python_floats``), or a scalar op of such values alone (``n - 1``,
    ``d_out / n``). Python's arithmetic raises on ``/ 0`` and ``0.0 ** -1``, raises where
    ``**`` overflows and makes ``(-1.0) ** 0.5`` a complex number, where NumPy's gives
    inf or NaN. ``ctx.python`` (node -> answer) is read and filled."""
    return bottom_up(
        ctx.nodes,
        i,
        ctx.python,
        partial(python_number_own, ctx),
        partial(python_number_joined, ctx),
    )


def python_number_own(ctx, node) -> bool | None:
    """``python_number``'s answer for a leaf or an array; None for a scalar op."""
    if node.shape != ():
        return False
    if node.op in ("const", "dim"):
        return True
    if node.op == "param":  # in a loop's body: a carried, captured or seed value
        python = node.attr("seed") or node.attr("role")
        return bool(python) or node.attr("name") in ctx.python_floats
    return False if PRIMS[node.op].leaf else None


def python_number_joined(ctx, node, answers: list) -> bool:
    """A scalar op is a Python number where its operands all are, unless its spelling
    makes a NumPy value of them (``numpy_valued``)."""
    return all(answers) and not numpy_valued(ctx, node)


def numpy_valued(ctx, node) -> bool:
    """Whether the spelling of ``node`` makes a NumPy value of numbers: its record says
    so (``Prim.numpy_of_numbers``: ``np.power``, a division by what may be 0), or it is
    a call of a NumPy function (``np.exp(n)``)."""
    prim = PRIMS[node.op]
    own = prim.numpy_of_numbers
    if own:
        return own(ctx, node) if callable(own) else True
    how, name = getattr(prim.spellings.get(NUMPY), "made", ("", ""))
    return how == "call" and name.startswith("np.")


def int_valued(nodes, i: int) -> bool:
    """Whether node ``i`` is an int where the code runs: a dimension (or a loop's
    variable), or ops that keep ints ints (``Prim.keeps_ints``) of those alone
    (constants are printed as floats)."""
    todo = [i]
    while todo:
        node = nodes[todo.pop()]
        if node.op == "dim":
            continue
        if not PRIMS[node.op].keeps_ints or node.shape:
            return False
        todo.extend(node.args)
    return True


def power_of_numbers(ctx, node) -> bool:
    """Whether the ``pow`` node's base and exponent are numbers (``python_number``) or
    its base an int (``int_valued``): a power the printers write as NumPy's of a float
    (Python's would raise, be complex, or an int's). Not for a fused body's entry, which
    has no operands in the graph (fusion keeps such numbers out of its regions)."""
    if not node.args:
        return False
    if int_valued(ctx.nodes, node.args[0]):
        return True
    return all(python_number(ctx, i) for i in node.args)


def nonzero(ctx, i: int) -> bool:
    """Whether node ``i`` is a constant other than 0, or a dimension the input checks hold
    at least 1 (``ctx.nonzero_dims``; a product of such, times a positive int)."""
    node = ctx.nodes[i]
    if node.op == "const":
        return node.attr("value") != 0
    if node.op != "dim":
        return False
    expr = node.attr("expr")
    if expr in ctx.nonzero_dims:
        return True
    factors = expr.as_ordered_factors()
    return all(f in ctx.nonzero_dims or (f.is_Integer and f > 0) for f in factors)


def target_float(ctx, text):
    """The printed number ``text`` as the target's float: ``np.float64(text)``, or on the
    Array API target a 0-d array of the inputs' dtype (``CREATE``)."""
    if ctx.xp:
        return P.call("xp.asarray", text, **CREATE)
    return P.call("np.float64", text)
