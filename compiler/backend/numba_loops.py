"""Broadcasting in the numba target's kernels (``numba_kernels``): a run of elementwise
statements over an ``(N, D)`` array may read a row (``(D,)``, ``(1, D)``), a column
(``(N, 1)``) or any other argument NumPy broadcasts to the run's shape, indexed in the
loop (``mu[i1]``, ``v[i0, 0]``), and accumulate sums over some of its axes
(``x.sum(axis=0)``, ``x.sum(axis=1, keepdims=True)``) in the same loop
(``total[i1] += ...``).

numba compiles an array expression that broadcasts a row or a column 1.5-2x slower per
element than NumPy's loops (bench/README.md, "Broadcasting loops"), so inside the
whole-function kernels (``numba_whole``) each run that broadcasts or sums over an axis
becomes such a loop, where the other runs stay array expressions (numba fuses those of
one shape into one loop already).
"""

from __future__ import annotations

# The decorators of the loops. With sums: ``reassoc`` lets LLVM vectorise them (several
# partial sums, as NumPy's pairwise ``sum`` keeps; 2.6x on layer normalisation at
# 64x100), and no other fast-math flag: NaN, inf and signed zeros stay IEEE. Without:
# inlined into the whole kernel (a call costs 0.05 us: two_layer 8x16x16x4 ran 2% slower
# with its two bias loops called; bench/README.md, "Broadcasting loops").
SUM_DECORATOR = '@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})'
INLINE_DECORATOR = '@numba.njit(cache=True, error_model="numpy", inline="always")'


def broadcasts(shape: tuple, run: tuple) -> bool:
    """Whether an argument of ``shape`` (an array) broadcasts to the run's shape ``run``
    without being of it: no more axes, each of the run's length or 1."""
    if not shape or shape == run or len(shape) > len(run):
        return False
    tail = run[len(run) - len(shape) :]
    return all(d == r or d == 1 for d, r in zip(shape, tail))


def index_of(shape: tuple, run: tuple, idx: list[str]) -> str:
    """The index reading an argument of ``shape`` at the run's position ``idx``
    (``i0, i1`` for the run's shape, ``i1`` for a row ``(D,)``, ``i0, 0`` for a column
    ``(N, 1)``)."""
    skip = len(run) - len(shape)
    out = []
    for k, d in enumerate(shape):
        out.append(idx[skip + k] if d == run[skip + k] else "0")
    return ", ".join(out)


def axes_summed(node, rank: int) -> tuple | None:
    """The axes a ``sum`` or ``mean`` node adds up over its argument of ``rank`` axes
    (all of them for ``axis=None``); None for any other node."""
    if node.op not in ("sum", "mean"):
        return None
    axis = node.attr("axis")
    if axis is None:
        return tuple(range(rank))
    return tuple(a % rank for a in (axis if isinstance(axis, tuple) else (axis,)))


def axis_sum(node, rank: int) -> bool:
    """A ``sum`` (``mean``) over some but not all axes, or with ``keepdims``: its result
    an array."""
    axes = axes_summed(node, rank)
    return axes is not None and (len(axes) < rank or bool(node.attr("keepdims")))


def inner_sum(node, rank: int) -> bool:
    """An axis sum along the inner loop (the last axis): it adds up in a local."""
    return axis_sum(node, rank) and rank - 1 in axes_summed(node, rank)


def sum_target(node, idx: list[str], sizes: list[str]) -> tuple[str, str, str]:
    """``(shape, index, count)`` of the array accumulating the axis sum ``node`` in a
    loop over the axes ``idx`` (of lengths ``sizes``): ``("(n1,)", "i1", "")`` for
    ``sum(axis=0)``, ``("(n0, 1)", "i0, 0", "n1")`` for ``mean(axis=1,
    keepdims=True)`` (a mean: the sum divided by ``count`` after the loop)."""
    rank = len(idx)
    axes, keep = axes_summed(node, rank), node.attr("keepdims")
    shape, index = [], []
    for k in range(rank):
        if k not in axes:
            shape.append(sizes[k])
            index.append(idx[k])
        elif keep:
            shape.append("1")
            index.append("0")
    text = ", ".join(shape) + ("," if len(shape) == 1 else "")
    count = " * ".join(sizes[k] for k in axes) if node.op == "mean" else ""
    return f"({text})", ", ".join(index), count
