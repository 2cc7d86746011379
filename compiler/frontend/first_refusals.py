"""What the frontend refuses in a statement before a place in it, for the unknown-name
and unknown-function checks (``value_names.in_statements``), which report an error only
where the frontend meets nothing it refuses first:

- an item of an integer array's index (an ``Index`` parameter's, ``arange(n)``'s) that
  is no integer expression of dimensions naming a loop variable (``x[i[n]]``, "an Index
  value ... is indexed only with integers", ``indexing.index_items``);
- a call of the file's own function with another number of arguments, or a keyword
  (``rnn_step(x, h)`` of five parameters), refused before its arguments are read;
- a call of a built-in with no argument at all (``transpose()``): every one takes an
  array first.

The rules need nothing but ``ast``; each is conservative (an item it does not read as an
integer stops the check, where the frontend may still accept it).
"""

from __future__ import annotations

import ast

from .call_names import CALL_NAMES, NUMPY_CALL_NAMES, called_name
from .shape_reading import loop_index, new_axis
from .source import Source, is_int_literal

#: the place after every other (a statement's end, for an error placed outside it)
END = (float("inf"), 0)


def refused_first(stmt, at: tuple, known: tuple, src: Source) -> bool:
    """Whether ``stmt`` holds, placed no later than ``at`` (a ``(line, column)`` of the
    errors' columns), an index item or a call the frontend refuses (the module's
    rules). ``known``: the function's ``Index`` parameters, the variables of the loops
    around ``stmt`` and the file's functions (name -> definition)."""
    indexes, loops, defs = known
    for n in ast.walk(stmt):
        if isinstance(n, ast.Subscript) and integer_array(n.value, indexes):
            items = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            if any(
                refused_item(item, loops) and placed(item, src) <= at for item in items
            ):
                return True
        if isinstance(n, ast.Call) and refused_call(n, defs):
            if placed(n, src) <= at:
                return True
    return False


def integer_array(node, indexes) -> bool:
    """Whether ``node`` is one of the ``Index`` parameters ``indexes`` or ``arange(...)``."""
    if isinstance(node, ast.Name):
        return node.id in indexes
    return isinstance(node, ast.Call) and called_name(node) == "arange"


def refused_item(item, loops) -> bool:
    """Whether the frontend may refuse ``item`` of an integer array's index: not a slice,
    ``None``, an int literal or a loop variable plus or minus int literals."""
    if isinstance(item, ast.Slice) or new_axis(item) or is_int_literal(item):
        return False
    return not loop_index(item, loops)


def refused_call(node: ast.Call, defs: dict) -> bool:
    """Whether the frontend refuses the call ``node`` before its arguments: the file's
    function (``defs``) called with another number of arguments or a keyword, a
    built-in called with none."""
    name = called_name(node)
    if isinstance(node.func, ast.Name) and name in defs:
        return bool(node.keywords) or len(node.args) != len(defs[name].args.args)
    builtin = name in CALL_NAMES or name in NUMPY_CALL_NAMES
    return builtin and not node.args and not node.keywords


def placed(node, src: Source) -> tuple:
    """The ``(line, column)`` of ``node`` as errors are placed."""
    return src.place(node.lineno, node.col_offset)
