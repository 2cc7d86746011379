"""NumPy's reads of a parameter's shape as its dimensions: ``X.shape[0]``, ``len(X)``,
``X.shape``, ``X.ndim`` and ``X.size`` of ``X: Matrix[n, d]`` are ``n``, ``n``, ``(n,
d)``, ``2`` and ``n * d``, so NumPy code that reads sizes off its arrays
(``np.sum(r ** 2) / X.shape[0]``) pastes in.

A rewrite of the syntax tree before anything else reads it (the command line's checks
and the frontend alike), on the dimension nodes of the annotation itself, each placed
where the read was (errors point there). Only a parameter its function never rebinds is
read so; any other value keeps the frontend's error ("sizes are dimension names").
Needs nothing but ``ast``.
"""

from __future__ import annotations

import ast
import copy
from functools import reduce

#: the annotation types whose subscript lists dimensions
ARRAY_TYPES = {"Vector", "Matrix", "Tensor", "Index"}


def read_shapes(tree: ast.Module, src) -> ast.Module:
    """``tree`` with every shape read of an unassigned parameter replaced by its
    dimensions, in every ``def`` (``@fuse`` helpers too); an axis out of range is a
    located error of ``src``. Iterative: a formula may be a very deep tree."""
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            shapes = parameter_shapes(stmt)
            if any(shapes.values()):
                replace_reads(stmt, ShapeReads(shapes, src))
    return tree


def replace_reads(fn: ast.FunctionDef, reads: ShapeReads) -> None:
    """Every node under ``fn``'s body that ``reads.replacement`` answers, replaced in
    its parent; the walk is a stack, not recursion."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        for field, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for k, child in enumerate(items):
                if not isinstance(child, ast.AST):
                    continue
                new = reads.replacement(child)
                if new is None:
                    stack.append(child)
                elif isinstance(value, list):
                    value[k] = new
                else:
                    setattr(node, field, new)


def parameter_shapes(fn: ast.FunctionDef) -> dict[str, list]:
    """The dimension nodes of each parameter of ``fn`` that its body never rebinds (a
    ``Scalar`` or ``Index`` has none). An item assignment (``x[0] = 1.0``) rebinds no
    name: ``len(x)`` of such a parameter is its first dimension, and the assignment
    into it the frontend's error where it stands."""
    assigned = {
        name
        for node in ast.walk(fn)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        for name in rebound(target)
    }
    shapes = {}
    for a in fn.args.args:
        if a.arg not in assigned and a.annotation is not None:
            shapes[a.arg] = annotation_shape(a.annotation)
    return shapes


def rebound(target) -> set[str]:
    """The names an assignment to ``target`` binds: a name, or those of a tuple or list
    of targets; none for an item or an attribute (``x[0]``, ``x.y``)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return rebound(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(rebound(t) for t in target.elts))
    return set()


def annotation_shape(ann) -> list:
    """The dimension nodes of ``Matrix[m, n]`` (``[m, n]``); ``[]`` for a ``Scalar`` or
    an ``Index``; None for anything else (the frontend reports it)."""
    if isinstance(ann, ast.Name) and ann.id in ("Scalar", "Index"):
        return []
    if (
        isinstance(ann, ast.Subscript)
        and isinstance(ann.value, ast.Name)
        and ann.value.id in ARRAY_TYPES
    ):
        return list(ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice])
    return None


class ShapeReads:
    """The replacements of ``p.shape[k]``, ``p.shape``, ``len(p)``, ``p.ndim`` and
    ``p.size`` of the parameters in ``shapes``."""

    def __init__(self, shapes: dict[str, list], src):
        self.shapes, self.src = shapes, src

    def dims_of(self, node) -> list | None:
        """The dimensions of ``node`` when it names a parameter read so, else None."""
        if isinstance(node, ast.Name) and self.shapes.get(node.id) is not None:
            return self.shapes[node.id]
        return None

    def replacement(self, node):
        """What ``node`` reads, placed where it is, or None (not a read)."""
        if isinstance(node, ast.Subscript):
            return self.axis(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "len"
            and len(node.args) == 1
            and not node.keywords
        ):
            dims = self.dims_of(node.args[0])
            return placed(dims[0], node) if dims else None
        return None

    def axis(self, node: ast.Subscript):
        """``p.shape[k]``: dimension ``k`` (negative from the end)."""
        dims = shape_of(node.value, self)
        k = literal_int(node.slice)
        if dims is None or k is None:
            return None
        if not -len(dims) <= k < len(dims):
            name = node.value.value.id
            raise self.src.error(
                node.slice,
                f"'{name}' has {len(dims)} dimensions: {name}.shape[{k}] is out of range",
            )
        return placed(dims[k], node)

    def attribute(self, node: ast.Attribute):
        """``p.shape`` (a tuple of the dimensions), ``p.ndim``, ``p.size``."""
        dims = self.dims_of(node.value)
        if dims is None:
            return None
        if node.attr == "shape":
            return placed(ast.Tuple(dims, ast.Load()), node)
        if node.attr == "ndim":
            return placed(ast.Constant(len(dims)), node)
        if node.attr == "size":
            product = (
                reduce(lambda a, d: ast.BinOp(a, ast.Mult(), d), dims[1:], dims[0])
                if dims
                else ast.Constant(1)
            )
            return placed(product, node)
        return None


def shape_of(node, reads: ShapeReads) -> list | None:
    """The dimensions ``node`` reads when it is ``p.shape`` of a parameter read so."""
    if isinstance(node, ast.Attribute) and node.attr == "shape":
        return reads.dims_of(node.value)
    return None


def literal_int(node) -> int | None:
    """An int literal, optionally negated, else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node, sign = node.operand, -1
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


def placed(new, old):
    """A copy of ``new`` with every node at ``old``'s location."""
    new = copy.deepcopy(new)
    for n in ast.walk(new):
        ast.copy_location(n, old)
    return new
