"""Type annotations of parameters and returns: ``Scalar``, ``Vector[n]``, ``Matrix[m, n]``,
``Tensor[...]``, ``Index``; their shapes and the dimension names and expressions in them."""

from __future__ import annotations

import ast

from ..core.shapes import canon, dim_symbol
from .dimension_refusals import (
    DIMENSION_FORM,
    not_positive,
    parameter_names_error,
    positive_int,
)
from .dimensions import dim_expression
from .scope import CONSTANTS, Scope
from .source import Source
from .type_names import annotation_dims, type_error


def read_type(ann, src: Source, scope: Scope, what: str) -> tuple[tuple, str, str]:
    """An annotation as ``(shape, dtype, text)``; dimension names become symbols."""
    error = type_error(ann, src, what)
    if error is not None:
        raise error
    kind = ann.id if isinstance(ann, ast.Name) else ann.value.id
    dims_ast = annotation_dims(ann)
    if (
        what[0] == "the return"
    ):  # sizes computed from the parameters' (Vector[(n + 1) // 2])
        shape = tuple(return_dim(d, src, scope) for d in dims_ast)
    else:
        shape = tuple(read_dim(d, src, scope) for d in dims_ast)
    return shape, ("int" if kind == "Index" else "float"), ast.unparse(ann)


def declare_dims(args: list, src: Source, scope: Scope) -> None:
    """Register, in order of appearance, every dimension name that stands alone among the
    parameters' dimensions, so that an expression (``4 * H``) may use a name that stands
    alone only in a later parameter."""
    for a in args:
        for d in annotation_dims(a.annotation):
            if isinstance(d, ast.Name):
                read_dim(d, src, scope)


def read_dim(d, src: Source, scope: Scope):
    """One dimension of a parameter's annotation: a name (registered in ``scope.dims`` on
    first sight), a positive int literal, or an expression of names (``parameter_dim``)."""
    if isinstance(d, ast.Name):
        if d.id in CONSTANTS or d.id in scope.constants:
            raise src.error(
                d,
                f"dimension name '{d.id}' is taken by the constant {d.id}; "
                "choose another name",
            )
        if d.id not in scope.dims:
            scope.dims[d.id] = dim_symbol(d.id)
        return scope.dims[d.id]
    if positive_int(d):
        return d.value
    if isinstance(d, ast.Constant) or not isinstance(d, (ast.BinOp, ast.UnaryOp)):
        raise src.error(d, DIMENSION_FORM)
    return parameter_dim(d, src, scope)


def parameter_dim(d, src: Source, scope: Scope):
    """A dimension expression of a parameter (``4 * H``, ``H - 2``): each name in it must
    stand alone as a dimension of some parameter, where its size is read; a constant
    expression must be positive."""
    constants = set(CONSTANTS) | set(scope.constants)
    error = parameter_names_error(d, scope.dims, constants, src)
    if error is not None:
        raise error
    value = canon(dim_expression(d, scope))
    error = not_positive(d, value, src)
    if error is not None:
        raise error
    return value


def return_dim(d, src: Source, scope: Scope):
    """A dimension of the return annotation: as a parameter's, or an expression (``n - 1``,
    ``(n + 1) // 2``) of the parameters' dimension names, as slices and reshapes make."""
    if isinstance(d, (ast.Name, ast.Constant)):
        return read_dim(d, src, scope)
    return canon(dim_expression(d, scope))
