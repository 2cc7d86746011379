"""The built-in call table (surface name -> lowering), the simple calls, and the names a
call refers to (``np.exp``, ``math.exp``, methods) with the errors for unknown ones."""

from __future__ import annotations

import ast

from ..errors import FormulaError
from ..ops import surface_names
from .arguments import arity
from .axis_calls import (
    call_moment,
    call_norm,
    call_reduction,
    call_scan,
    call_softmax,
)
from .call_names import call_error, clip_arguments, unknown_error
from .conditions import condition
from .conv_calls import call_conv, call_pool
from .operator_calls import operator_arity, operator_name, operator_tree
from .scope import Scope, emit, value, value_names
from .shape_calls import (
    call_diagonal,
    call_einsum,
    call_expand_dims,
    call_flip,
    call_moveaxis,
    call_reshape,
    call_sequence,
    call_squeeze,
    call_swapaxes,
    call_transpose,
)


def callable_names(scope: Scope) -> set[str]:
    """The names a formula can call: the operations and the file's functions."""
    return set(BUILTIN_CALLS) | {"arange"} | set(scope.funcs) | set(scope.src.defs)


def call_name(node: ast.Call, scope: Scope) -> str:
    """The name a call refers to: ``f`` for ``f(...)``, ``np.f``, ``numpy.f`` and
    ``np.linalg.norm`` (``inv``, ``solve``, ``det``); other prefixes and methods are
    located errors (``call_names.call_error``)."""
    error = call_error(node, value_names(scope), scope.src)
    if error is not None:
        raise error
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr


def unknown_function(node: ast.Call, name: str, scope: Scope) -> FormulaError:
    """The error for a call of a name that is no operation and no function defined above
    (``call_names.unknown_error``)."""
    return unknown_error(node, name, scope.src, callable_names(scope), scope.src.defs)


def numpy_operator(node: ast.Call, scope: Scope):
    """``np.multiply(a, b)`` as the syntax tree of ``a * b`` at the call's place
    (``np.negative(a)``: ``-a``; ``operator_calls.py``), so it is lowered as the
    operator is; None for a call of anything else."""
    name = operator_name(node)
    if name is None:
        return None
    arity(node, scope, name, operator_arity(name))
    return operator_tree(node)


def call_unary(node, scope, name):
    """An elementwise function of one argument: the op of the same name."""
    arity(node, scope, name, 1)
    return emit(scope, node, name, value(node.args[0], scope))


def call_binary(node, scope, name):
    """A function of two arguments (``maximum``, ``outer``, ...): the op of the same name."""
    arity(node, scope, name, 2)
    return emit(
        scope, node, name, value(node.args[0], scope), value(node.args[1], scope)
    )


def call_clip(node, scope, name):
    """``clip(x, lo, hi)`` as NumPy takes it: the bounds also by keyword (``a_min``/
    ``a_max``, or NumPy 2.1's ``min``/``max``), and a bound that is None or not given is
    no bound. One bound is ``where(x < lo, lo, x)`` (``x > hi`` above): NumPy's value, NaN
    included, and clip's gradient, which passes through at the bound."""
    x, lo, hi = clip_arguments(node, scope.src, name)
    xi = value(x, scope)
    if lo is not None and hi is not None:
        return emit(scope, node, "clip", xi, value(lo, scope), value(hi, scope))
    bound, beyond = (value(lo, scope), "lt") if hi is None else (value(hi, scope), "gt")
    return emit(scope, node, "where", emit(scope, node, beyond, xi, bound), bound, xi)


def call_where(node, scope, name):
    """``where(cond, a, b)`` with one comparison as the condition."""
    arity(node, scope, name, 3)
    c = node.args[0]
    if not isinstance(c, ast.Compare):
        raise scope.src.error(
            c, "the condition of where() must be one comparison: <, <=, >, >=, == or !="
        )
    cond = condition(c, scope)
    return emit(
        scope,
        node,
        "where",
        cond,
        value(node.args[1], scope),
        value(node.args[2], scope),
    )


def call_dot(node, scope, name):
    """``dot(a, b)`` as NumPy's: a product when either is a scalar, else ``a @ b`` (at
    most 2 dimensions each)."""
    arity(node, scope, name, 2)
    a, b = value(node.args[0], scope), value(node.args[1], scope)
    if not scope.b.shape(a) or not scope.b.shape(b):
        return emit(scope, node, "mul", a, b)
    if len(scope.b.shape(a)) > 2 or len(scope.b.shape(b)) > 2:
        raise scope.src.error(
            node, "dot() of arrays with more than 2 dimensions: use @"
        )
    return emit(scope, node, "matmul", a, b)


# The built-in calls: surface name -> lowering ``(node, scope, name) -> node index``.
# How a call of each form is lowered; which names have which form comes from the
# operations' records (``Prim.names``, ``Prim.form``).
FORMS = {
    "unary": call_unary,
    "reduction": call_reduction,
    "norm": call_norm,
    "binary": call_binary,
    "moment": call_moment,
    "einsum": call_einsum,
    "softmax": call_softmax,
    "scan": call_scan,
    "clip": call_clip,
    "where": call_where,
    "transpose": call_transpose,
    "reshape": call_reshape,
    "sequence": call_sequence,
    "conv": call_conv,
    "pool": call_pool,
}
BUILTIN_CALLS = {
    name: lower for form, lower in FORMS.items() for name in surface_names(form)
}
BUILTIN_CALLS["dot"] = call_dot  # NumPy's dot: matmul or vdot by the shapes
# NumPy's shape functions, as the language's indexing and transposes
BUILTIN_CALLS["flip"] = call_flip  # a slice with step -1
BUILTIN_CALLS["expand_dims"] = call_expand_dims  # x[None]
BUILTIN_CALLS["squeeze"] = call_squeeze  # x[:, 0]
BUILTIN_CALLS["swapaxes"] = call_swapaxes
BUILTIN_CALLS["moveaxis"] = call_moveaxis
BUILTIN_CALLS["diag"] = call_diagonal  # A[arange(n), arange(n)]
BUILTIN_CALLS["trace"] = call_diagonal  # and its sum
#: NumPy's other spellings, called with the ``np.`` prefix only (``call_names``
#: ``NUMPY_CALL_NAMES``): name -> lowering, filled in by ``numpy_calls.py``
NUMPY_CALLS: dict = {}
