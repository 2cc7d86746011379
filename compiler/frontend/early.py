"""The errors a formula file's syntax tree shows before anything is lowered, found
without SymPy, NumPy or the compiler: the command line reports them before it imports
any of them (``cli/main.py`` ``precheck``), and ``text.parse`` runs the same checks
first, so the API gives the same report.

Names come first: an unknown function or name (``call_names.py``, ``value_names.py``)
is reported before an operation whose operands do not fit (their shapes, or an ``Index``
value used as a number), even one further up, the one place where the order differs
from the frontend's (a misspelt name is the likelier cause). Each check stops where the
frontend refuses something by its form first (``refusals.py``, ``first_refusals.py``),
and the shapes and forms (``statement_shapes.py``: operands that do not fit, Python a
formula does not have, a call given arguments it does not take, ``call_signatures.py``;
a size that is no dimension) are read in the frontend's order.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .source import Source
from .statement_shapes import shape_mismatch
from .value_names import unknown_names


def early_error(tree: ast.Module, src: Source) -> FormulaError | None:
    """The first error of ``tree`` the syntax-tree checks find (names first), else
    None."""
    return unknown_names(tree, src) or shape_mismatch(tree, src)
