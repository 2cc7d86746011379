"""Shape rules over dimensions that are ints, names or SymPy expressions, without
importing SymPy: NumPy's broadcasting, ``@``, the square matrices ``np.linalg`` takes,
the arrays ``stack`` and ``concatenate`` join, ``outer``'s vectors, and the axes of a
reduction. The shape algebra (``shapes.broadcast``, the records' shape
rules in ``ops/``, the frontend's ``axis`` arguments) and ``frontend/operand_shapes.py``
(operands that do not fit, found on the syntax tree before SymPy is imported) both apply
them."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ShapeError


def broadcast_with(shapes: tuple, shown: Callable[[tuple], str]) -> tuple:
    """The shape ``shapes`` broadcast to (a dimension of 1 stretches, equal ones stay);
    raises ShapeError naming them, each written by ``shown``, if they do not fit."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(ndim):
        dims = [s[len(s) - ndim + k] for s in shapes if len(s) - ndim + k >= 0]
        real = [d for d in dims if d != 1]
        first = real[0] if real else 1
        if any(d != first for d in real):
            text = " and ".join(shown(s) for s in shapes)
            raise ShapeError(f"shapes {text} do not broadcast")
        out.append(first)
    return tuple(out)


def matmul_with(sa: tuple, sb: tuple, shown: Callable[[tuple], str]) -> tuple:
    """The shape of ``a @ b`` for every rank: a 1-D operand is a vector (its axis dropped
    from the result), more dimensions are a stack of matrices whose batch axes
    broadcast; raises ShapeError, shapes written by ``shown``, where they do not fit."""
    if not sa or not sb:
        raise ShapeError(
            "matmul: operands must have at least one dimension, not scalars"
        )
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        sizes = f"{size_written(ka, shown)} != {size_written(kb, shown)}"
        raise ShapeError(
            f"matmul: shapes {shown(sa)} and {shown(sb)} do not align ({sizes})"
        )
    if len(sa) == 1 and len(sb) == 1:
        return ()
    if len(sa) == 1:
        return sb[:-2] + sb[-1:]
    if len(sb) == 1:
        return sa[:-1]
    return broadcast_with((sa[:-2], sb[:-2]), shown) + (sa[-2], sb[-1])


def size_written(d, shown: Callable[[tuple], str]) -> str:
    """The dimension ``d`` as ``shown`` writes it in a shape (``(n + 1) // 2``, not
    SymPy's ``floor(n/2 + 1/2)``): ``shown((d,))`` is ``(d,)``."""
    return shown((d,))[1:-2]


def square_stack_with(name: str, shape: tuple, shown: Callable[[tuple], str]) -> tuple:
    """``shape`` of a square matrix or a stack of them, ``(..., n, n)`` (what ``inv``,
    ``det``, ``cholesky`` and ``solve`` take); raises ShapeError, the shape written by
    ``shown``, otherwise."""
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(
            f"{name}: expects a square matrix or a stack of them (..., n, n), "
            f"not {shown(shape)}"
        )
    return shape


#: the error for ``axis=()`` (NumPy reduces over no axis: a sum would be the value itself)
NO_AXIS = "axis=() names no axis: give one or more axes, or leave the call out"
#: the error for an ``axis`` that is no int literal or tuple of them
AXIS_NOT_INT = "axis must be an integer or a tuple of integers"


def solved_with(sa: tuple, sb: tuple, shown: Callable[[tuple], str]) -> tuple:
    """NumPy 2's ``solve(a, b)``: ``a`` a square matrix or a stack of them ``(..., n,
    n)`` (``square_stack_with``); ``b`` of ``(n,)`` gives ``(..., n)``, ``b`` of ``(...,
    n, k)`` gives ``(..., n, k)``, the stacks broadcast; raises ShapeError, the shapes
    written by ``shown``, for any other."""
    square_stack_with("solve", sa, shown)
    if len(sb) == 1 and sb[0] == sa[-1]:
        return sa[:-1]
    if len(sb) >= 2 and sb[-2] == sa[-1]:
        return broadcast_with((sa[:-2], sb[:-2]), shown) + sb[-2:]
    raise ShapeError(
        f"solve: the right-hand side {shown(sb)} does not fit the matrices "
        f"{shown(sa)}: it is (n,) or (..., n, k) with n = {size_written(sa[-1], shown)}"
    )


def not_square(name: str, shape: tuple, shown: Callable[[tuple], str]) -> ShapeError:
    """The error for ``diag`` or ``trace`` (``name``) of a value of ``shape`` (written by
    ``shown``) that is no square matrix (a vector's ``diag``, a matrix, is refused)."""
    vector = (
        " (diag of a vector, a matrix, is not supported)" if len(shape) == 1 else ""
    )
    return ShapeError(f"{name}() takes a square matrix, not {shown(shape)}{vector}")


def not_reshaped(shape: str, into: str) -> str:
    """The words for a value of ``shape`` that ``reshape`` cannot make ``into`` (both
    written as a user writes them)."""
    return f"cannot reshape {shape} into {into}"


def too_many_indices(consumed: int, shape: tuple, shown: Callable[[tuple], str]):
    """The error for an index of ``consumed`` items (ints, slices, arrays) of an array of
    ``shape`` (written by ``shown``) that has fewer axes."""
    return ShapeError(
        f"too many indices ({consumed}) for an array of shape {shown(shape)}"
    )


def outer_with(sa: tuple, sb: tuple, shown: Callable[[tuple], str]) -> tuple:
    """The shape of ``outer(a, b)`` of two vectors, ``(len(a), len(b))``; raises
    ShapeError, the shapes written by ``shown``, for any other operands."""
    if len(sa) != 1 or len(sb) != 1:
        raise ShapeError(f"outer: expects two vectors, not {shown(sa)} and {shown(sb)}")
    return (sa[0], sb[0])


def stacked_with(shapes: list, axis: int, shown: Callable[[tuple], str]) -> tuple:
    """The shape ``stack`` makes of arrays of ``shapes`` along a new ``axis`` (in range):
    their one shape with their number inserted; raises ShapeError, the shapes written by
    ``shown``, where they differ."""
    if any(s != shapes[0] for s in shapes):
        text = " and ".join(shown(s) for s in shapes)
        raise ShapeError(f"stack: shapes {text} differ")
    return shapes[0][:axis] + (len(shapes),) + shapes[0][axis:]


def joined_with(shapes: list, axis: int, shown: Callable[[tuple], str]) -> list:
    """The sizes along ``axis`` (in range) that ``concatenate`` of arrays of ``shapes``
    adds up (the caller sums them); raises ShapeError, the shapes written by ``shown``,
    where their numbers of dimensions or their other sizes differ."""
    first = shapes[0]
    for s in shapes[1:]:
        other = [(x, y) for k, (x, y) in enumerate(zip(s, first)) if k != axis]
        if len(s) != len(first) or any(x != y for x, y in other):
            text = " and ".join(shown(s) for s in shapes)
            raise ShapeError(f"concatenate: shapes {text} differ")
    return [s[axis] for s in shapes]


#: the error for a ``keepdims`` that is no bool literal
KEEPDIMS = "keepdims must be True or False"
#: the error for a ``ddof`` of ``var`` or ``std`` that is no int literal ``>= 0``
DDOF = "ddof must be a non-negative integer"


def moment_count(name: str, n: int, ddof: int) -> None:
    """Raise ShapeError where ``var`` or ``std`` (``name``) of ``n`` elements (an int)
    with ``ddof`` would divide by ``n - ddof``, which is not positive."""
    if ddof >= n:
        raise ShapeError(
            f"{name}() with ddof={ddof} of {n} element{'s' * (n != 1)} "
            f"divides by {n - ddof}"
        )


def norm_axis(axis, ndim: int):
    """``axis`` (None, int or tuple) as None or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in items:
        if not -ndim <= a < ndim or (ndim == 0):
            raise ShapeError(
                f"axis {a} is out of range for an array of {ndim} dimensions"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def reduce_shape(shape: tuple, axes, keepdims: bool) -> tuple:
    """The shape after reducing ``axes`` (None: all)."""
    axes = tuple(range(len(shape))) if axes is None else axes
    if keepdims:
        return tuple(1 if k in axes else d for k, d in enumerate(shape))
    return tuple(d for k, d in enumerate(shape) if k not in axes)
