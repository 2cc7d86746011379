"""Lowering of the built-in calls that rearrange arrays: ``einsum``, ``transpose``,
``reshape``, ``concatenate`` and ``stack``."""

from __future__ import annotations

import ast
import re

import sympy

from ..core.shape_rules import not_reshaped, not_square
from ..core.shapes import canon, format_shape, size
from .arguments import arity, kwarg, read_axis
from .call_signatures import unexpected
from .dimensions import dim_expression, index_int
from .reshape_shapes import ONE_FREE, RESHAPE_FORM
from .scope import Scope, emit, value
from .source import is_int_literal


def call_einsum(node, scope, name):
    """``einsum("ij,jk->ik", a, b)``: a literal subscript string of letters, one per axis
    of each operand, distinct within an operand; without ``->`` the output is NumPy's
    (the letters that appear once, in alphabetical order)."""
    spec = node.args[0] if node.args else None
    if (
        not (isinstance(spec, ast.Constant) and isinstance(spec.value, str))
        or node.keywords
    ):
        raise scope.src.error(
            node,
            "einsum() takes a literal subscript string and the "
            'operands: einsum("ij,jk->ik", a, b)',
        )
    text = spec.value.replace(" ", "")
    ins = text.split("->")[0].split(",")
    if text.count("->") > 1 or not re.fullmatch(r"[a-zA-Z,]*(->[a-zA-Z]*)?", text):
        raise scope.src.error(
            spec, "einsum subscripts are letters, commas and one '->' (no '...')"
        )
    if len(ins) != len(node.args) - 1:
        raise scope.src.error(
            node, f"einsum: {len(ins)} subscripts for {len(node.args) - 1} operands"
        )
    out = (
        text.split("->")[1]
        if "->" in text
        else "".join(sorted(c for c in set("".join(ins)) if "".join(ins).count(c) == 1))
    )
    for letters in ins + [out]:
        if len(set(letters)) != len(letters):
            raise scope.src.error(
                spec,
                f"einsum: a letter repeated in '{letters}' (a "
                "diagonal) is not supported",
            )
    if set(out) - set("".join(ins)):
        raise scope.src.error(
            spec,
            f"einsum: output letters {''.join(sorted(set(out) - set(''.join(ins))))} "
            "appear in no operand",
        )
    args = [value(a, scope) for a in node.args[1:]]
    return emit(scope, node, "einsum", *args, spec=",".join(ins) + "->" + out)


def call_transpose(node, scope, name):
    """``transpose(x)`` (reversed axes) or ``transpose(x, axes)``."""
    if not 1 <= len(node.args) <= 2 or node.keywords and node.keywords[0].arg != "axes":
        raise scope.src.error(node, "transpose() takes an array and optionally axes")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    ax_node = kwarg(node, "axes", 1, None)
    if ax_node is None:
        axes = tuple(reversed(range(nd)))
    else:
        if not isinstance(ax_node, ast.Tuple):
            raise scope.src.error(ax_node, "axes must be a tuple of integers")
        axes = tuple(transpose_axis(a, scope, nd) for a in ax_node.elts)
    if nd < 2 and ax_node is None:
        return x
    return emit(scope, node, "transpose", x, axes=axes)


def call_flip(node, scope, name):
    """``flip(x, axis=None)`` as NumPy's: ``x`` reversed along ``axis`` (an int or a
    tuple; every axis when None), which is the index ``x[::-1]`` (``x[:, ::-1]`` along
    axis 1 of a matrix): the same node, view and gradient as that slice."""
    given = len(node.args) + len(node.keywords)
    if not 1 <= len(node.args) <= given <= 2 or any(
        k.arg != "axis" for k in node.keywords
    ):
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    axes = read_axis(kwarg(node, "axis", 1, None), scope, nd)
    axes = range(nd) if axes is None else axes
    if not nd:
        return x
    index = tuple(("s", None, None, -1 if k in axes else None) for k in range(nd))
    return emit(scope, node, "getitem", x, index=index)


def axis_arguments(node, scope, name: str, keys: tuple) -> list:
    """The syntax nodes of the arguments ``keys`` after the array, by position or by
    keyword; each once, all given (NumPy's names: ``axis``, ``source``, ...)."""
    given = list(node.args[1:])
    if len(given) > len(keys):
        raise scope.src.error(node, f"{name}() takes an array and {', '.join(keys)}")
    given += [None] * (len(keys) - len(given))
    for k in node.keywords:
        if k.arg not in keys or given[keys.index(k.arg)] is not None:
            raise unexpected(k, name, scope.src)
        given[keys.index(k.arg)] = k.value
    return given


def call_expand_dims(node, scope, name):
    """``expand_dims(x, axis)``: new axes of length 1 at ``axis`` (an int or a tuple,
    counted in the result, as NumPy's), the index ``x[None]`` (``x[:, None]`` at 1)."""
    (axis_node,) = axis_arguments(node, scope, name, ("axis",))
    if axis_node is None:
        raise scope.src.error(node, f"{name}() needs the axis of the new dimension")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    items = axis_node.elts if isinstance(axis_node, ast.Tuple) else [axis_node]
    axes = read_axis(axis_node, scope, nd + len(items))
    index = []
    for pos in range(nd + len(axes)):
        index.append(("n",) if pos in axes else ("s", None, None, None))
    return emit(scope, node, "getitem", x, index=tuple(index))


def call_squeeze(node, scope, name):
    """``squeeze(x, axis)``: ``x`` without the axes ``axis``, each of length 1 (the
    index ``x[:, 0]`` at 1). Without ``axis``, the axes of literal length 1, and only
    where no axis has a named length (NumPy would also drop one that is 1 at run time)."""
    (axis_node,) = axis_arguments(node, scope, name, ("axis",))
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    axes = read_axis(axis_node, scope, len(shape))
    if axes is None:
        if not all(isinstance(d, int) for d in shape):
            raise scope.src.error(
                node,
                f"{name}() of {format_shape(shape)}: give the axis (NumPy also drops "
                "an axis whose length is 1 when the function is called)",
            )
        axes = tuple(k for k, d in enumerate(shape) if d == 1)
    for k in axes:
        if shape[k] != 1:
            raise scope.src.error(
                axis_node or node,
                f"{name}(): axis {k} of {format_shape(shape)} has length "
                f"{format_shape((shape[k],))[1:-2]}, not 1",
            )
    if not axes:
        return x
    index = tuple(
        ("i", 0) if k in axes else ("s", None, None, None) for k in range(len(shape))
    )
    return emit(scope, node, "getitem", x, index=index)


def call_swapaxes(node, scope, name):
    """``swapaxes(x, a, b)``: the transpose that exchanges axes ``a`` and ``b``."""
    a_node, b_node = axis_arguments(node, scope, name, ("axis1", "axis2"))
    if a_node is None or b_node is None:
        raise scope.src.error(node, f"{name}() takes an array and two axes")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    a, b = transpose_axis(a_node, scope, nd), transpose_axis(b_node, scope, nd)
    axes = list(range(nd))
    axes[a], axes[b] = b, a
    return x if a == b else emit(scope, node, "transpose", x, axes=tuple(axes))


def call_moveaxis(node, scope, name):
    """``moveaxis(x, source, destination)``: the transpose that puts the axes
    ``source`` (an int or a tuple) at ``destination``, the others in order."""
    src_node, dst_node = axis_arguments(node, scope, name, ("source", "destination"))
    if src_node is None or dst_node is None:
        raise scope.src.error(
            node, f"{name}() takes an array, a source and a destination"
        )
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    source, destination = (
        [
            transpose_axis(a, scope, nd)
            for a in (n.elts if isinstance(n, ast.Tuple) else [n])
        ]
        for n in (src_node, dst_node)
    )
    if (
        len(source) != len(destination)
        or len(set(source)) != len(source)
        or len(set(destination)) != len(destination)
    ):
        raise scope.src.error(
            node, f"{name}(): source and destination are distinct axes, as many of each"
        )
    rest = [k for k in range(nd) if k not in source]
    axes = [None] * nd
    for s, d in zip(source, destination):
        axes[d] = s
    for k in range(nd):
        if axes[k] is None:
            axes[k] = rest.pop(0)
    if axes == list(range(nd)):
        return x
    return emit(scope, node, "transpose", x, axes=tuple(axes))


def call_diagonal(node, scope, name):
    """``diag(A)`` and ``trace(A)`` of a square matrix: its diagonal
    ``A[arange(n), arange(n)]`` (a gather, whose gradient scatters into the diagonal),
    and that summed. A vector's ``diag`` (NumPy builds a matrix) is refused."""
    arity(node, scope, name, 1)
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    if len(shape) != 2 or canon(sympy.Integer(0) + shape[0] - shape[1]) != 0:
        raise scope.src.error(node, str(not_square(name, shape, format_shape)))
    rows = emit(scope, node, "arange", n=shape[0])
    diagonal = emit(scope, node, "getitem", x, rows, rows, index=(("a", 1), ("a", 2)))
    if name == "diag":
        return diagonal
    return emit(scope, node, "sum", diagonal, axis=None, keepdims=False)


def transpose_axis(node, scope: Scope, nd: int) -> int:
    """One axis of ``transpose(x, axes)``: an int literal in ``-nd <= a < nd``, made
    non-negative; anything else is a located error (NumPy raises AxisError)."""
    a = index_int(node, scope, False)
    if not -nd <= a < nd:
        raise scope.src.error(
            node, f"axis {a} is out of range for an array of {nd} dimensions"
        )
    return a % nd


def call_reshape(node, scope, name):
    """``reshape(x, sizes)``: sizes are positive ints, dimension names, expressions of
    them, or one ``-1`` (solved from the size of ``x``, which must divide)."""
    arity(node, scope, name, 2)
    x = value(node.args[0], scope)
    s = node.args[1]
    items = s.elts if isinstance(s, ast.Tuple) else [s]
    dims, free = [], None
    for k, it in enumerate(items):
        if is_int_literal(it) and index_int(it, scope, False) == -1:
            if free is not None:
                raise scope.src.error(it, ONE_FREE)
            free = k
            dims.append(None)
        elif isinstance(it, ast.Name) and it.id in scope.dims:
            dims.append(scope.dims[it.id])
        elif isinstance(it, ast.Constant) and type(it.value) is int and it.value > 0:
            dims.append(it.value)
        elif isinstance(it, (ast.BinOp, ast.UnaryOp)):
            dims.append(reshape_size(it, scope))
        else:
            raise scope.src.error(it, RESHAPE_FORM)
    if free is not None:
        known = size(tuple(d for d in dims if d is not None))
        dims[free] = canon(sympy.Integer(1) * size(scope.b.shape(x)) / known)
        if not (isinstance(dims[free], int) or dims[free].is_integer):
            shown = format_shape(scope.b.shape(x))
            raise scope.src.error(s, not_reshaped(shown, ast.unparse(s)))
    return emit(scope, node, "reshape", x, shape=tuple(dims))


def reshape_size(node, scope: Scope):
    """One size of ``reshape(x, (N, C * H * W))`` given as an expression of dimension
    names and int literals; a constant one must be positive."""
    d = canon(dim_expression(node, scope))
    if isinstance(d, int) and d <= 0:
        raise scope.src.error(
            node,
            f"reshape size {ast.unparse(node)} is {d}; sizes are "
            "positive (or a single -1)",
        )
    return d


def call_sequence(node, scope, name):
    """``concatenate([a, b], axis=0)`` and ``stack([a, b], axis=0)``."""
    if not 1 <= len(node.args) <= 2 or not isinstance(
        node.args[0], (ast.List, ast.Tuple)
    ):
        raise scope.src.error(
            node, f"{name}() takes a list of arrays: {name}([a, b], axis=0)"
        )
    for k in node.keywords:
        if k.arg != "axis":
            raise unexpected(k, name, scope.src)
    parts = [value(a, scope) for a in node.args[0].elts]
    if not parts:
        raise scope.src.error(node, f"{name}() needs at least one array")
    nd = len(scope.b.shape(parts[0])) + (name == "stack")
    ax_node = kwarg(node, "axis", 1, None)
    if isinstance(ax_node, ast.Tuple):
        raise scope.src.error(ax_node, f"{name}() joins along one axis, an integer")
    axis = (
        read_axis(ax_node, scope, nd, allow_none=False) if ax_node is not None else (0,)
    )
    if name == "concatenate" and nd == 0:
        raise scope.src.error(node, "concatenate() needs arrays, not scalars")
    return emit(scope, node, name, *parts, axis=axis[0])
