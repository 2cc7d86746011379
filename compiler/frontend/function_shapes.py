"""A function's shapes as its annotations declare them: the errors the frontend words for
a returned value of another shape (``statements.lower_function``) and for a call of a
function the file defines above (``h(x)``, ``inlining.inline_call``), which the
syntax-tree check reports before SymPy is imported (``statement_shapes.in_function``,
``operand_shapes.helper_call``); and the check's reading of such a call: each argument's
shape against the parameter's annotation, the dimension names bound in order, the value
of the declared return shape with those names put in.

It needs nothing but ``ast``: the check's shapes are tuples of dimension names and sizes
written as the frontend writes them (``n``, ``n - 1``, ``(n + 1) // 2``) and ints.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .shape_reading import Mismatch, Stop, written
from .source import Source


def arity_error(node: ast.Call, name: str, arity: int, src: Source) -> FormulaError:
    """The error for a call of the file's function ``name`` (of ``arity`` parameters)
    given keywords or another number of arguments, at the call."""
    given = f"got {len(node.args)}"
    if node.keywords:
        given += (
            " and keywords (a function of the file takes its arguments by position)"
        )
    plural = "s" * (arity != 1)
    return src.error(
        node, f"{name}() takes {arity} positional argument{plural}, {given}"
    )


def argument_text(name: str, param: str, shape: str, annotation: str) -> str:
    """The words for an argument of ``name()`` whose shape (``shape``, written as a user
    writes it) does not fit the parameter ``param``'s ``annotation``."""
    return f"{name}(): argument '{param}' has shape {shape}, expected {annotation}"


def return_text(name: str, shape: str, annotation: str, declared: str) -> str:
    """The words for a function ``name`` whose returned value has the shape ``shape``
    where its return ``annotation`` declares ``declared`` (both written as a user writes
    them)."""
    return f"'{name}' returns shape {shape} but is annotated {annotation} {declared}"


def signature(fn: ast.FunctionDef, annotated) -> tuple | None:
    """What the check needs to read a call of ``fn``: each parameter as ``(name, dims,
    annotation text)`` and the declared return shape, ``annotated(ann)`` giving an
    annotation's dimensions (names as ``str``, int literals as ``int``; None where the
    check does not follow them: an ``Index``, an expression); None where it does not
    follow one of them."""
    params = []
    for a in fn.args.args:
        dims = annotated(a.annotation)
        if not isinstance(dims, tuple):
            return None
        params.append((a.arg, dims, ast.unparse(a.annotation)))
    returned = annotated(fn.returns)
    if not isinstance(returned, tuple):
        return None
    return tuple(params), returned


def bound_return(node: ast.Call, sig: tuple, shapes: list[tuple]) -> tuple:
    """The shape of the call ``node`` of a function of signature ``sig`` (``signature``)
    whose body the check read whole without error, given its arguments' ``shapes``: each
    argument's shape must be its parameter's, with each dimension name bound to the size
    it first meets (``inlining.bind_dims``; else Mismatch at the argument, as the
    frontend words it); the declared return with the bound sizes put in. Stop where a
    name is bound to an int (the body's checks of literal sizes are the frontend's) or
    where two sizes are compared that are not both names or ints."""
    params, returned = sig
    bound: dict = {}
    for (param, dims, text), shape, at in zip(params, shapes, node.args):
        fits = len(dims) == len(shape)
        for want, got in zip(dims, shape) if fits else ():
            have = want if isinstance(want, int) else bound.setdefault(want, got)
            if have != got and not (plain(have) and plain(got)):
                raise Stop  # sizes the check does not compare as SymPy does
            fits = fits and have == got
        if not fits:
            message = argument_text(node.func.id, param, written(shape), text)
            raise Mismatch(at, message)
    if any(isinstance(size, int) for size in bound.values()):
        raise Stop
    if any(isinstance(d, str) and d not in bound for d in returned):
        raise Stop  # a size of the return's own, which no argument binds
    return tuple(d if isinstance(d, int) else bound[d] for d in returned)


def plain(size) -> bool:
    """Whether a size is an int or a dimension name (not an expression of names)."""
    return isinstance(size, int) or size.isidentifier()
