"""The shape rules ``operand_shapes`` reads a formula's syntax tree with, on shapes of
dimension names and ints: broadcasting and ``@`` where a mismatch is reported at an
operation (``broadcast_at``, ``product_at``, the shape algebra's own rules from
``core/shape_rules.py``), basic indexing, reductions along literal axes and permutations
of axes. Each raises ``Stop`` at anything it does not read exactly as the frontend does.
"""

from __future__ import annotations

import ast
import re

from ..core.shape_rules import (
    AXIS_NOT_INT,
    KEEPDIMS,
    NO_AXIS,
    broadcast_with,
    matmul_with,
    norm_axis,
    not_square,
    outer_with,
    solved_with,
    square_stack_with,
)
from ..errors import ShapeError
from .dimension_refusals import TOO_LARGE
from .index_refusals import OF_INDEX, mask_error, slice_error
from .refusals import refused_at
from .size_forms import cut_size, floor_written, multiple_cut, plus
from .source import is_int_literal


class Stop(Exception):
    """Something the check does not read: the frontend decides."""


#: the key of the file's text in a function's scope (``refusals.refused_at`` words its
#: errors)
SRC = "@src"
#: the key of the loop variables in scope (``h[t - 1]`` indexes with them)
LOOPS = "@loops"
#: the key of the dimension names the parameters' annotations give (``zeros((n, d))``)
DIMS = "@dims"
#: the key of every name the frontend reads as a dimension in a function's body: the
#: parameters' and the return's (``x[:m]`` of ``-> Vector[m]``), where it is set
SIZES = "@sizes"


class Refused(Stop):
    """A node the frontend refuses by its form (``refusals.py``), with its ``error``: a
    stop wherever the check cannot vouch for what comes before it."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class Mismatch(Exception):
    """Operands that do not broadcast, at ``node``."""

    def __init__(self, node, message: str):
        super().__init__(message)
        self.node = node


def einsum_spec(args: list) -> tuple[list[str], str]:
    """The operands' letters and the output's of ``einsum(spec, *operands)`` as the
    frontend reads a literal spec (NumPy's implicit output written out); Stop at a spec
    it refuses: not a literal, ``...``, a count unlike the operands', a repeated letter,
    an output letter no operand has."""
    spec = args[0] if args else None
    if not (isinstance(spec, ast.Constant) and isinstance(spec.value, str)):
        raise Stop
    text = spec.value.replace(" ", "")
    if text.count("->") > 1 or not re.fullmatch(r"[a-zA-Z,]*(->[a-zA-Z]*)?", text):
        raise Stop
    ins = text.split("->")[0].split(",")
    joined = "".join(ins)
    if "->" in text:
        out = text.split("->")[1]
    else:
        out = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    if len(ins) != len(args) - 1 or set(out) - set(joined):
        raise Stop
    if any(len(set(letters)) != len(letters) for letters in ins + [out]):
        raise Stop
    return ins, out


def einsum_at(node, spec: tuple[list[str], str], shapes: list) -> tuple:
    """The shape of ``einsum`` of operands of ``shapes`` (the ``einsum`` record's rule: a
    letter has one size wherever it appears), or Mismatch at ``node`` as it words it."""
    ins, out = spec
    sizes: dict = {}
    for letters, shape in zip(ins, shapes):
        if len(letters) != len(shape):
            raise Mismatch(
                node,
                f"einsum: '{letters}' names {len(letters)} axes of an array of shape "
                f"{written(shape)}",
            )
        for c, d in zip(letters, shape):
            if sizes.setdefault(c, d) != d:
                raise Mismatch(
                    node, f"einsum: index '{c}' has sizes {sizes[c]} and {d}"
                )
    return tuple(sizes[c] for c in out)


def literal_axes(node) -> list[int]:
    """The int literals of an ``axis`` argument (``1``, ``(0, -1)``); Stop otherwise."""
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    if not items:
        raise Stop
    return [literal_int(it) for it in items]


def expanded(shape: tuple, axes: list[int]) -> tuple:
    """``expand_dims``: new axes of 1 at ``axes``, counted in the result as NumPy counts
    them; Stop where they are out of range or repeated."""
    nd = len(shape) + len(axes)
    if not all(-nd <= a < nd for a in axes):
        raise Stop
    at = {a % nd for a in axes}
    if len(at) != len(axes):
        raise Stop
    rest = iter(shape)
    return tuple(1 if k in at else next(rest) for k in range(nd))


def squeezed(shape: tuple, axes: list[int] | None) -> tuple:
    """``squeeze``: ``shape`` without ``axes``, each a literal 1 (without ``axes``, every
    literal 1, where no size is a name); Stop where the frontend refuses it."""
    if axes is None:
        if not all(isinstance(d, int) for d in shape):
            raise Stop
        return tuple(d for d in shape if d != 1)
    if not all(-len(shape) <= a < len(shape) for a in axes):
        raise Stop
    at = {a % len(shape) for a in axes}
    if len(at) != len(axes) or any(shape[k] != 1 for k in at):
        raise Stop
    return tuple(d for k, d in enumerate(shape) if k not in at)


def permutation(shape: tuple, axes: list[int], swap: bool) -> tuple:
    """``shape`` with its axes in the order ``axes`` (``transpose``), or with the two axes
    ``axes`` swapped (``swapaxes``); Stop where they are out of range or, for
    ``transpose``, not a permutation."""
    if not all(-len(shape) <= a < len(shape) for a in axes):
        raise Stop
    axes = [a % len(shape) for a in axes]
    if swap:
        order = list(range(len(shape)))
        order[axes[0]], order[axes[1]] = axes[1], axes[0]
        axes = order
    if sorted(axes) != list(range(len(shape))):
        raise Stop
    return tuple(shape[a] for a in axes)


def ruled_at(node, rule, *args):
    """``rule(*args, written)``, a shape rule of ``core/shape_rules.py`` given the way
    the frontend writes shapes; Mismatch at ``node`` in the rule's words where it raises
    ShapeError."""
    try:
        return rule(*args, written)
    except ShapeError as exc:
        raise Mismatch(node, str(exc)) from None


def product_at(node, left: tuple, right: tuple) -> tuple:
    """The shape of the matrix product of ``left`` and ``right``, or Mismatch at ``node``."""
    return ruled_at(node, matmul_with, left, right)


def diagonal_at(node, name: str, shape: tuple) -> tuple:
    """The shape of ``diag`` (the diagonal, ``(n,)``) or ``trace`` (``()``) of a square
    matrix of ``shape``, or Mismatch at ``node`` (``not_square``'s words)."""
    if len(shape) != 2 or shape[0] != shape[1]:
        raise Mismatch(node, str(not_square(name, shape, written)))
    return shape[:1] if name == "diag" else ()


def outer_at(node, left: tuple, right: tuple) -> tuple:
    """The shape of ``outer`` of two vectors, or Mismatch at ``node``."""
    return ruled_at(node, outer_with, left, right)


def solve_at(node, a: tuple, b: tuple) -> tuple:
    """The shape of ``solve(a, b)``, or Mismatch at ``node``."""
    return ruled_at(node, solved_with, a, b)


def square_at(node, name: str, shape: tuple) -> tuple:
    """``shape``, that of a square matrix or a stack of them, or Mismatch at ``node``
    (the call of ``name``: ``inv``, ``det``, ``cholesky``)."""
    return ruled_at(node, square_stack_with, name, shape)


def indexed(
    shape: tuple, index, loops=frozenset(), src=None, dims=(), of_index=False
) -> tuple:
    """The shape of ``x[index]`` for ``x`` of ``shape`` (``index_shape``'s rules), where
    each item is a slice (``sliced``), an int literal or a loop variable's index
    (``loop_index``; each drops its axis) or ``None`` or ``np.newaxis`` (a new axis of
    1); Refused at a literal that is no number (``...``, ``True``) and a comparison,
    which the frontend refuses as it reads the items in order (``indexing.index_items``,
    where each is an index array: ``refused_at``, ``index_refusals.mask_error``; with
    ``src``, the file's) and a slice whose bounds or step it refuses
    (``index_refusals.slice_error``, bounds of the dimensions ``dims``, the return's
    among them, and the loop variables); Stop at any other item, at more items than axes, at a literal
    index outside a literal size and a loop variable's on a literal size (errors of the
    frontend's own, ``indexing.loop_indices_in_bounds``), and at an index of a Scalar.
    With ``of_index``, ``x`` is an integer array inside an index (``W[y[:, t]]``), whose
    literal other than an int or None and comparison the frontend refuses alike
    (``index_refusals.OF_INDEX``)."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    out, k = [], 0
    for it in items:
        if src is not None and of_index and not new_axis(it) and not is_int_literal(it):
            if isinstance(it, (ast.Constant, ast.Compare)):
                raise Refused(src.error(it, OF_INDEX))
        if src is not None and isinstance(it, ast.Constant) and not new_axis(it):
            error = None if is_int_literal(it) else refused_at(it, src)
            if error is not None:
                raise Refused(error)
        if src is not None and isinstance(it, ast.Compare):
            raise Refused(mask_error(it, src))
        if not shape:
            raise Stop  # an index of a Scalar: the frontend's error after the items
        if new_axis(it):
            out.append(1)
            continue
        if k == len(shape):
            raise Stop
        if isinstance(it, ast.Slice):
            error = None if src is None else slice_error(it, {*dims, *loops}, src)
            if error is not None:
                raise Refused(error)
            out.append(sliced(shape[k], it))
        elif loop_index(it, loops):
            if isinstance(shape[k], int):
                raise Stop
        elif isinstance(shape[k], int) and not -shape[k] <= literal_int(it) < shape[k]:
            raise Stop
        else:
            literal_int(it)
        k += 1
    if not items or not shape:
        raise Stop
    return tuple(out) + tuple(shape[k:])


def scoped_index(shape: tuple, index, scope: dict, of_index=False) -> tuple:
    """``indexed`` for ``x[index]``, ``x`` of ``shape``, in a function's ``scope``: with
    its loop variables, its file and the names it reads as sizes."""
    sizes = scope.get(SIZES, scope.get(DIMS, ()))
    loops = scope.get(LOOPS, frozenset())
    return indexed(shape, index, loops, scope[SRC], sizes, of_index)


def loop_index(node, loops) -> bool:
    """Whether an index item is one of the loop variables ``loops`` plus or minus int
    literals (``t``, ``t - 1``, ``1 + t``), an item the frontend reads as an integer
    (``indexing.dimension_index``)."""
    if isinstance(node, ast.Name):
        return node.id in loops
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, (ast.Add, ast.Sub)):
        return False
    if isinstance(node.right, ast.Constant) and type(node.right.value) is int:
        return loop_index(node.left, loops)
    left = isinstance(node.left, ast.Constant) and type(node.left.value) is int
    return isinstance(node.op, ast.Add) and left and loop_index(node.right, loops)


def new_axis(node) -> bool:
    """Whether an index item is ``None``, ``np.newaxis`` or ``numpy.newaxis``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr == "newaxis" and node.value.id in ("np", "numpy")
    return isinstance(node, ast.Constant) and node.value is None


def sliced(size, item: ast.Slice):
    """The length of an axis of ``size`` cut by the slice ``item``: the axis itself for
    ``:``, ``::1`` and ``::-1``; NumPy's length for bounds and step of int literals on a
    literal size (0 for a slice of no element: ``x[5:]`` of 4); ``bounded`` for int
    bounds on a named size; ``size_forms.multiple_cut`` for bounds that are multiples of
    the name of a size ``k * n`` (``a[:, H : 2 * H]``). Stop at any other slice, and at a literal past 2**31 (the
    frontend's errors, or a size it words)."""
    parts = [item.lower, item.upper, item.step]
    if item.step is None and not isinstance(size, int):
        length = multiple_cut(size, item.lower, item.upper)  # a[:, H : 2 * H]
        if length is not None:
            return length
    values = [None if v is None else literal_int(v) for v in parts]
    if any(v is not None and abs(v) >= 2**31 for v in values) or values[2] == 0:
        raise Stop
    if values[:2] == [None, None] and values[2] in (None, 1, -1):
        return size
    if not isinstance(size, int) and values[2] not in (None, 1):
        return stepped(size, values[0], values[1], values[2])
    if not isinstance(size, int):
        return bounded(size, values[0], values[1], values[2])
    return len(range(size)[slice(*values)])


def stepped(size, start, stop, step: int):
    """The length of ``x[start:stop:step]`` along an axis of the named ``size``, as
    ``slice_length`` gives and the frontend writes it: where both bounds count from one
    end (``x[-3::2]``, ``x[1:7:2]``), an int, whatever the size; with a start of none or
    an int from the start and no stop or one counted from the end (``-e``), a step ``k``
    and a size ``s + c`` (``size_forms.cut_size``: a name, a sum of names, a floor, each
    cut by a slice or not), ``(s + c + k - 1 - start - e) // k`` as SymPy keeps it
    (``size_forms.floor_written``: ``n // 2`` for ``x[1::2]``, ``(n - 1) // 2`` for
    ``x[1:-1:2]`` and for ``x[:-1][1::2]``, ``n // 2 - 1`` for ``x[:-3:2]``, ``(k + n +
    1) // 2`` for a sum, ``((n + 1) // 2) // 2`` for ``x[::2][1::2]``); ``x[::-k]`` as
    ``x[::k]``. Stop at any other slice, and at a sum that counts a name twice (``2 * m
    + n``)."""
    k, first, cut = abs(step), start or 0, cut_size(size)
    if step < 0 and (start, stop) != (None,) * 2:
        return backward(cut, start, stop, k)
    if from_one_end(first, stop):
        return len(range(first, stop or 0, k))
    if cut is None or " * " in cut[0] or first < 0:
        raise Stop  # a name counted twice (``2 * m + n``): SymPy's own forms
    return floor_written(cut[0], k - 1 - first + (stop or 0) + cut[1], k, 0)


def backward(cut, start, stop, k: int):
    """The length of ``x[start:stop:-k]`` (a bound given) along an axis of size ``s + c``
    (``cut``, from ``size_forms.cut_size``; None for another size), as Python counts it
    and the frontend writes it: each bound a position from the start (an int from 0, or
    a stop of none: before the first) or from the end (a negative int, or a start of
    none: the last); from one end both, an int whatever the size (``x[5:1:-2]``: 2,
    ``x[:-3:-1]``: 2); from the end down to the start, ``s + c + start - stop`` taken
    ``k`` at a time (``x[:0:-1]``: ``n - 1``; ``x[-2::-2]``: ``n // 2``). Stop from the
    start up to the end (empty on a long axis) and at another size."""
    first = (start is None or start < 0, -1 if start is None else start)
    last = (stop is not None and stop < 0, -1 if stop is None else stop)
    if first[0] == last[0]:
        return len(range(first[1], last[1], -k))
    if not first[0] or cut is None or (k > 1 and " * " in cut[0]):
        raise Stop
    if k == 1:
        return plus(cut[0], cut[1] + first[1] - last[1])
    return floor_written(cut[0], cut[1] + first[1] - last[1] + k - 1, k, 0)


def from_one_end(first: int, stop) -> bool:
    """Whether a slice's bounds both count from the start (``2:5``) or both from the end
    (``-3:``, ``-3:-1``): its length is that of ``range(first, stop or 0)``, at any size
    that holds them (the frontend's reading of a named size)."""
    if stop is None:
        return first < 0
    return (first < 0) == (stop < 0)


def bounded(size, start, stop, step):
    """The length of ``x[start:stop]`` (int bounds, step 1) along an axis of the named
    ``size``, as ``slice_length`` gives and the frontend writes it: an int where both
    bounds count from one end (``x[:3]``, ``x[-3:]``), 0 where they cross (``x[:0]``,
    ``x[3:1]``, ``x[-1:-3]``: ``shapes.crossed``), whatever the size; ``s + c - k`` for
    a size ``s + c`` (``size_forms.cut_size``: a name, a sum of names, a floor) where the
    slice keeps all but k (``x[1:]``: ``n - 1``; ``x[1:][1:]``: ``n - 2``; ``x[::2][1:]``:
    ``(n + 1) // 2 - 1``). Stop at a step, at bounds from both ends and at any other
    size (``2 * n``)."""
    first = start or 0
    if step not in (None, 1) or (first < 0 and stop is not None and stop >= 0):
        raise Stop
    if from_one_end(first, stop):
        return len(range(first, stop or 0))
    cut = cut_size(size)
    if cut is None:
        raise Stop
    return plus(cut[0], cut[1] - first + (stop or 0))


def reduced_axes(shape: tuple, keywords: list) -> tuple:
    """``(axes, keepdims)`` of a reduction (``sum``, ``mean``, ...) of a value of
    ``shape`` with ``keywords`` (``axes`` None for all), read as ``arguments.read_axis``
    and ``read_bool`` read them, the axes first (``axis_int``; then ``norm_axis``: out
    of range, repeated, none), then ``keepdims``: Mismatch at a value they refuse, in
    their words. Stop at any other keyword."""
    given = {k.arg: k.value for k in keywords}
    if None in given or set(given) - {"axis", "keepdims"}:
        raise Stop
    axis = given.get("axis", ast.Constant(None))
    axes = None
    if not (isinstance(axis, ast.Constant) and axis.value is None):
        axes = read_axes(axis, len(shape))
    keep = given.get("keepdims", ast.Constant(False))
    if not isinstance(keep, ast.Constant) or type(keep.value) is not bool:
        raise Mismatch(keep, KEEPDIMS)
    return axes, keep.value


def read_axes(axis, ndim: int) -> tuple:
    """An ``axis`` argument, an int literal or a tuple of them, as the normalised axes of
    an ``ndim``-array (``arguments.read_axis``): Mismatch at an item that is no int
    literal (``axis_int``), at an empty tuple and where ``norm_axis`` refuses them (out
    of range, repeated), in their words."""
    items = axis.elts if isinstance(axis, ast.Tuple) else [axis]
    values = tuple(axis_int(a) for a in items)
    if not values:
        raise Mismatch(axis, NO_AXIS)
    try:
        return norm_axis(values if isinstance(axis, ast.Tuple) else values[0], ndim)
    except ShapeError as exc:
        raise Mismatch(axis, str(exc)) from None


def positional_keywords(node: ast.Call, names: tuple) -> list:
    """The arguments of ``node`` after the first as keywords of ``names`` in their
    order (``sum(x, 1)``: ``axis``), then its keywords. (The frontend refuses a keyword
    given twice, ``refusals.repeated_keyword``, or naming one given by position,
    ``call_signatures.axis_call_error``, before it reads any.)"""
    given = [ast.keyword(arg=a, value=v) for a, v in zip(names, node.args[1:])]
    return given + list(node.keywords)


def axis_int(node) -> int:
    """An item of an ``axis`` argument, an int literal below 2**31 in magnitude, as
    ``arguments.read_axis`` reads it; Mismatch at any other, in its words
    (``AXIS_NOT_INT``, ``TOO_LARGE``)."""
    if not is_int_literal(node):
        raise Mismatch(node, AXIS_NOT_INT)
    if abs(literal_int(node)) >= 2**31:
        raise Mismatch(node, TOO_LARGE)
    return literal_int(node)


def norm_keywords(node: ast.Call) -> list:
    """The keywords of ``norm(x, ord, axis, keepdims)`` with those given by position
    (``np.linalg.norm``'s order) among them, and an ``ord`` of None left out (the 2-norm,
    as without it; ``reduced`` stops at another); Stop at one given twice or more than
    four arguments (the frontend's error)."""
    if len(node.args) > 4:
        raise Stop
    names = ("ord", "axis", "keepdims")
    given = [ast.keyword(arg=a, value=v) for a, v in zip(names, node.args[1:])]
    given += node.keywords
    if len({k.arg for k in given}) != len(given):
        raise Stop
    return [
        k
        for k in given
        if k.arg != "ord"
        or not (isinstance(k.value, ast.Constant) and k.value.value is None)
    ]


def literal_int(node) -> int:
    """The value of an int literal (``2``, ``-1``); Stop at anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node, sign = node.operand, -1
    if not isinstance(node, ast.Constant) or type(node.value) is not int:
        raise Stop
    return sign * node.value


def broadcast_at(node, shapes: list) -> tuple:
    """``shapes`` broadcast together, or Mismatch at ``node``."""
    return ruled_at(node, broadcast_with, tuple(shapes))


def written(shape: tuple) -> str:
    """A shape of names and ints as the frontend's messages write it: ``()``, ``(n,)``,
    ``(n, 3)``."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"
