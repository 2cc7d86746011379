"""The roles of a call's arguments where the frontend reads them by rules of their own:
the shape of ``zeros``, ``ones``, ``full`` and ``reshape`` (sizes: expressions of
dimension names and int literals; ``loops.creation_shape``,
``shape_calls.call_reshape``) and the list of arrays ``stack`` and ``concatenate`` join
(each item a value). ``refusals.refused_before`` reads them, so the unknown-name and
unknown-function checks go on past a statement like ``hs = zeros((N, T, H))``, as the
frontend does. Needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from .dimension_refusals import int_value
from .source import is_int_literal
from .type_names import annotation_dims

#: the calls whose argument at a position is a shape, read as sizes (``zeros((n, d))``,
#: ``reshape(x, (n, 2))``: ``loops.creation_shape``, ``shape_calls.call_reshape``), and
#: how many positional arguments each takes (and no keyword: ``arguments.arity``)
SIZE_ARGUMENT = {"zeros": (0, 1), "ones": (0, 1), "full": (0, 2), "reshape": (1, 2)}
#: the calls whose first argument is a list of the values they join
SEQUENCE_CALLS = frozenset({"stack", "concatenate", "hstack", "vstack", "column_stack"})


def dimension_names(fn: ast.FunctionDef) -> frozenset:
    """The names in the annotations of ``fn``'s parameters (its dimensions, where the
    frontend reads its signature without an error)."""
    return frozenset(
        n.id
        for a in fn.args.args
        for d in annotation_dims(a.annotation)
        for n in ast.walk(d)
        if isinstance(n, ast.Name)
    )


def size_argument(node: ast.Call):
    """The argument of ``node`` that the frontend reads as a shape (``SIZE_ARGUMENT``;
    ``np.full`` too), or ``node`` itself where it has not the arguments the frontend
    takes (its error, at the call, before the sizes), or None for another call."""
    if call_name(node) not in SIZE_ARGUMENT:
        return None
    k, n = SIZE_ARGUMENT[call_name(node)]
    return node.args[k] if len(node.args) == n and not node.keywords else node


def plain_sizes(call: ast.Call, arg, dims) -> bool:
    """Whether the shape ``arg`` of ``call`` (``size_argument``: a tuple or one size)
    holds only ``positive_size`` items (and one ``-1`` in ``reshape``'s), which the
    frontend reads as sizes without an error of its own."""
    if arg is call:
        return False
    items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
    free = 1 if call_name(call) == "reshape" else 0  # how many -1 may stand
    for i in items:
        if is_int_literal(i) and int_value(i) == -1:
            free -= 1
        elif not positive_size(i, dims):
            return False
    return bool(items) and free >= 0


def positive_size(node, dims) -> bool:
    """Whether ``node`` is a size no value of the dimensions ``dims`` makes below 1: a
    name of ``dims``, an int literal from 1 to 2**31 - 1, a sum or product of them, a
    floor division of one holding a name by such a literal (``F * (H // 2)``)."""
    if isinstance(node, ast.Name):
        return node.id in dims
    if is_int_literal(node):
        return 0 < int_value(node) < 2**31
    if not isinstance(node, ast.BinOp):
        return False
    if isinstance(node.op, ast.FloorDiv):
        return (
            positive_size(node.left, dims)
            and any(isinstance(n, ast.Name) for n in ast.walk(node.left))
            and positive_size(node.right, set())
        )
    return isinstance(node.op, (ast.Add, ast.Mult)) and (
        positive_size(node.left, dims) and positive_size(node.right, dims)
    )


def call_name(node: ast.Call) -> str | None:
    """The name ``node`` calls: ``f`` of ``f(x)`` and of ``np.f(x)``."""
    f = node.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)


def operands(node: ast.Call, sizes) -> list:
    """The arguments of ``node`` the frontend lowers as expressions: all but its shape
    ``sizes``, and the items of the list a ``SEQUENCE_CALLS`` call joins."""
    out = [a for a in node.args if a is not sizes]
    if (
        call_name(node) in SEQUENCE_CALLS
        and out
        and isinstance(out[0], (ast.List, ast.Tuple))
        and out[0].elts  # none: the frontend's error at the call
    ):
        return [*out[0].elts, *out[1:]]
    return out
