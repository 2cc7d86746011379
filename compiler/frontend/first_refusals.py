"""What the frontend refuses in a statement before a place in it, for the unknown-name
and unknown-function checks (``value_names.in_statements``), which report an error only
where the frontend meets nothing it refuses first:

- an item of an integer array's index (an ``Index`` parameter's, ``arange(n)``'s) that
  is no integer expression of dimensions naming a loop variable (``x[i[n]]``, "an Index
  value ... is indexed only with integers", ``indexing.index_items``);
- an item of any other index that is no slice, ``None``, int literal, ``Index`` array or
  integer expression of a loop variable: a dimension (``x[N]``), a value (``x[e]``,
  ``b[:, W3]``), "an index must be an integer literal, a slice, None, an Index array or
  arange(n)" (an item holding a misspelt name is that name's error, where it is);
- a call of the file's own function with another number of arguments, or a keyword
  (``rnn_step(x, h)`` of five parameters), refused before its arguments are read;
- a call of a built-in with no argument by position (``transpose()``, ``dot(x=w)``):
  every one takes an array first.

The rules need nothing but ``ast``; each is conservative (an item it does not read as an
integer stops the check, where the frontend may still accept it: a local holding an
``Index`` value).
"""

from __future__ import annotations

import ast

from .call_names import CALL_NAMES, NUMPY_CALL_NAMES, called_name
from .shape_reading import loop_index, new_axis
from .source import Source, is_int_literal

#: the nodes of an expression of names and literals with operators (``t + 1``, ``n - t``)
ARITHMETIC = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Load, ast.operator)
ARITHMETIC += (ast.unaryop,)
#: the place after every other (a statement's end, for an error placed outside it)
END = (float("inf"), 0)


def refused_first(stmt, at: tuple, known: tuple, src: Source) -> bool:
    """Whether ``stmt`` holds, placed no later than ``at`` (a ``(line, column)`` of the
    errors' columns), an index item or a call the frontend refuses (the module's
    rules). ``known``: the function's ``Index`` parameters, the variables of the loops
    around ``stmt``, the file's functions (name -> definition), the function's
    dimensions and the names bound where ``stmt`` is."""
    indexes, loops, defs, dims, bound = known
    for n in ast.walk(stmt):
        if isinstance(n, ast.Subscript):
            items = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            if integer_array(n.value, indexes):
                refused = [i for i in items if refused_item(i, loops)]
            else:
                refused = [i for i in items if not array_item(i, known)]
            if any(placed(item, src) <= at for item in refused):
                return True
        if isinstance(n, ast.Call) and refused_call(n, defs):
            if placed(n, src) <= at:
                return True
    return False


def array_item(item, known: tuple) -> bool:
    """Whether the frontend reads ``item`` of an index of a float array without an error
    of its own: a slice, ``None``, an int literal, an ``Index`` parameter, ``arange``
    or one of them indexed, an integer expression of dimensions naming a loop variable,
    an expression of names and literals holding a name not ``bound``, or any item whose
    first name is not bound (the error there is that name's)."""
    indexes, loops, _, dims, bound = known
    if not refused_item(item, loops) or integer_array(item, indexes):
        return True
    if isinstance(item, ast.Subscript) and integer_array(item.value, indexes):
        return True
    read = [n for n in ast.walk(item) if isinstance(n, ast.Name)]
    first = min(read, key=lambda n: (n.lineno, n.col_offset), default=None)
    if first is not None and first.id not in bound:
        return True  # a misspelt name read first (`captions[:, t]`): its error
    if not all(isinstance(n, ARITHMETIC) for n in ast.walk(item)):
        return False
    names = {n.id for n in read}
    if names - set(bound):
        return True  # a misspelt name: its error, at it
    constants = [n for n in ast.walk(item) if isinstance(n, ast.Constant)]
    integers = all(type(c.value) is int for c in constants)
    return integers and names <= {*dims, *loops} and bool(names & set(loops))


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
    built-in called with none by position."""
    name = called_name(node)
    if isinstance(node.func, ast.Name) and name in defs:
        return bool(node.keywords) or len(node.args) != len(defs[name].args.args)
    builtin = name in CALL_NAMES or name in NUMPY_CALL_NAMES
    return builtin and not node.args


def placed(node, src: Source) -> tuple:
    """The ``(line, column)`` of ``node`` as errors are placed."""
    return src.place(node.lineno, node.col_offset)
