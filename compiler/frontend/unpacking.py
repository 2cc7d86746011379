"""A call of a built-in function with ``*`` or ``**`` arguments (``mean(*x)``,
``tanh(**k)``): the frontend refuses it once it knows the function (``inlining.call_expr``,
before lowering any argument), and the syntax-tree check reports it at the same place
(``operand_shapes.call_shape``). A call of the file's own function or of one of NumPy's
operator functions (``np.multiply(*x)``) meets other errors first.

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .call_names import CALL_NAMES, NUMPY_CALL_NAMES, called_name
from .operator_calls import operator_name
from .source import Source

#: the error at a call with ``*`` or ``**`` arguments
UNPACKING = "'*' and '**' arguments are not supported"


def unpacks(node: ast.Call) -> bool:
    """Whether the call ``node`` has a ``*`` or ``**`` argument."""
    return any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    )


def unpacking_error(node: ast.Call, helpers, src: Source) -> FormulaError | None:
    """The error for ``node``, a call that ``unpacks``, of a built-in function the
    frontend lowers (one of ``calls.BUILTIN_CALLS``, or of ``NUMPY_CALLS`` after
    ``np.``); None for a call of one of ``helpers`` (the file's functions above), of a
    NumPy operator function or of anything else."""
    name = called_name(node)
    if isinstance(node.func, ast.Name) and name in helpers:
        return None
    numpy_only = isinstance(node.func, ast.Attribute) and name in NUMPY_CALL_NAMES
    if operator_name(node) is None and (name in CALL_NAMES or numpy_only):
        return src.error(node, UNPACKING)
    return None
