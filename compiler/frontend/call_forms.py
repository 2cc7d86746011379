"""The calls whose arguments after the array are literals the frontend reads by rules of
their own (an axis, ``keepdims``, ``ddof``, a window's size and stride, a padding), and
the forms it refuses before or after lowering the array: another number of arguments, an
unknown keyword, Python's ``max(a, b)``, an axis that is no int literal, a size below 1;
with them the elementwise functions of another number of arguments than they take,
``arange`` outside an index and a power whose exponent folds past the limit.

``stops_before`` is what the unknown-name and unknown-function checks ask of a
statement (``value_names.in_statements``, ``call_names.statement_call_error``): whether
the frontend may stop before a node, at a node ``refusals.refused_before`` refuses or at
one of these. The rules need no shapes (an axis out of range is a shape's error, which a
misspelt name precedes) and nothing but ``ast``; they read the arguments as
``pool_shapes.pool_arguments`` and ``shape_reading.axis_int`` read them.
"""

from __future__ import annotations

import ast

from .call_arguments import call_name
from .call_signatures import VALUE_FORMS, signature_error
from .folded_literals import folded
from .pool_shapes import conv_arguments, pool_arguments
from .refusals import MAX_EXPONENT, refused_before
from .shape_reading import Mismatch, Stop, axis_int, literal_int

#: the operations of each form whose arguments after the array are literals (data, so
#: that reading it imports nothing; the records' ``Prim.form``, tied by
#: tests/test_value_name_precheck.py)
FORM_NAMES = {
    "reduction": frozenset({"logsumexp", "max", "mean", "min", "sum"}),
    "softmax": frozenset({"log_softmax", "softmax"}),
    "scan": frozenset({"cumsum"}),
    "moment": frozenset({"std", "var"}),
    "norm": frozenset({"norm"}),
    "conv": frozenset({"conv2d"}),
    "pool": frozenset({"avg_pool2d", "max_pool2d"}),
    # and the elementwise functions of a fixed number of values (``calls.call_unary``)
    "unary": frozenset(
        {"abs", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh"}
        | {"cholesky", "cos", "cosh", "det", "erf", "exp", "expm1", "inv", "log"}
        | {"log10", "log1p", "log2", "relu", "sigmoid", "sign", "sin", "sinh"}
        | {"softplus", "sqrt", "square", "tan", "tanh"}
    ),
    "binary": frozenset(
        {"arctan2", "logaddexp", "maximum", "minimum", "outer", "solve"}
    ),
    "where": frozenset({"where"}),
}
#: NumPy's other names of the language's functions (``np.amax`` is ``np.max``), taken with
#: the prefix only (``numpy_calls.call_alias`` lowers them; the checks read them)
NUMPY_ALIASES = {
    "amax": "max",
    "amin": "min",
    "fabs": "abs",
    "absolute": "abs",
    "average": "mean",
}
#: how many values a call of each form takes first (by position), the rest literals: the
#: elementwise functions' counts (``call_signatures.VALUE_FORMS``), a convolution's input
#: and kernel
VALUES = {**VALUE_FORMS, "conv": 2}


def values_of(node: ast.Call) -> list | None:
    """The arguments of ``node`` that are values where it calls an operation of
    ``FORM_NAMES`` (the array, a kernel, the operands; not an axis or a window's size),
    else None."""
    form = form_of(node)
    return None if form is None else node.args[: VALUES.get(form, 1)]


def form_of(node: ast.Call) -> str | None:
    """The form of the operation ``node`` calls (``FORM_NAMES``; ``np.amax`` is
    ``max``'s: ``NUMPY_ALIASES``), or None."""
    name = call_name(node)
    if isinstance(node.func, ast.Attribute):
        name = NUMPY_ALIASES.get(name, name)
    return next((f for f, names in FORM_NAMES.items() if name in names), None)


def stops_before(tree, node, src, dims) -> bool:
    """Whether the frontend may stop before ``node`` in ``tree`` (None: anywhere in it):
    ``refusals.refused_before``, or a call or power starting no later than ``node``
    (not ``node``) that it refuses by rules of its own (``refused``); ``dims``: the
    function's dimension names."""
    if refused_before(tree, node, src, dims):
        return True
    at = (float("inf"), 0) if node is None else (node.lineno, node.col_offset)
    indices = index_items(tree)
    return any(
        n is not node
        and (n.lineno, n.col_offset) <= at
        and refused(n, indices, dims, src)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Call, ast.BinOp))
    )


def refused(node, indices: set, dims, src) -> bool:
    """Whether the frontend refuses the call or power ``node`` by rules of its own: a
    call of a form in ``FORM_NAMES`` (``accepted``), ``arange`` other than an index or
    an indexed array of one size of ``dims`` (``arange_accepted``; ``indices``: the ids
    of those), a power whose exponent folds past the limit (``folded_literals``)."""
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Pow):
            return False
        exponent = folded(node.right)
        return exponent is not None and not abs(exponent) <= MAX_EXPONENT
    if call_name(node) == "arange" and isinstance(node.func, ast.Name):
        return id(node) not in indices or not arange_accepted(node, dims)
    form = form_of(node)
    return form is not None and not accepted(node, form, src)


def index_items(tree) -> set:
    """The ids of the nodes of ``tree`` that are a subscript's array or one of its index
    items (``x[i]``, ``x[i, j]``)."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Subscript):
            items = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            out |= {id(n.value), *map(id, items)}
    return out


def arange_accepted(node: ast.Call, dims) -> bool:
    """Whether ``arange(n)`` has the one argument ``indexing.arange_expr`` reads: a name
    of ``dims`` or an int literal from 1 to 2**31 - 1."""
    if len(node.args) != 1 or node.keywords:
        return False
    a = node.args[0]
    return (isinstance(a, ast.Name) and a.id in dims) or (
        isinstance(a, ast.Constant) and type(a.value) is int and 0 < a.value < 2**31
    )


def accepted(node: ast.Call, form: str, src) -> bool:
    """Whether the frontend reads the arguments of ``node``, a call of ``form``, without
    an error of their own (an axis out of range aside; an input given by keyword is
    left to it)."""
    if signature_error(node, call_name(node), form, src) is not None:
        return False  # its count, a keyword, max(a, b): call_signatures.py
    if form in VALUE_FORMS:  # and where's condition: one comparison
        return form != "where" or isinstance(node.args[0], ast.Compare)
    try:
        if form == "pool":
            pool_arguments(node)
        elif form == "conv":
            conv_arguments(node)
        else:
            return literals_accepted(node, form, src)
    except (Stop, Mismatch):
        return False
    return not {"x", "w"} & keyword_names(node)


def literals_accepted(node: ast.Call, form: str, src) -> bool:
    """``accepted`` for the forms of one array and an axis whose arguments
    ``call_signatures.signature_error`` took: the axis given once, no norm order (the
    frontend's to read: ``axis_calls.check_ord``), an axis of int literals
    (``axis_accepted``), ``keepdims`` a bool, ``ddof`` an int >= 0; Stop or Mismatch at
    an int literal the check refuses."""
    if form == "norm" and (len(node.args) > 1 or "ord" in keyword_names(node)):
        return False
    given = dict(zip(("axis",), node.args[1:]))
    for k in node.keywords:
        if k.arg in given:
            return False
        given[k.arg] = k.value
    keep = given.get("keepdims", ast.Constant(False))
    if not isinstance(keep, ast.Constant) or type(keep.value) is not bool:
        return False
    if "ddof" in given and not 0 <= literal_int(given["ddof"]) < 2**31:
        return False
    return axis_accepted(given.get("axis"), form)


def keyword_names(node: ast.Call) -> set:
    """The names of the keywords of ``node``."""
    return {k.arg for k in node.keywords}


def axis_accepted(axis, form: str) -> bool:
    """Whether ``axis`` (None where not given) is one the frontend reads as axes: None
    (all axes, but not a softmax's), an int literal or a tuple of them (one for a
    softmax or a scan); Mismatch at an item that is no int literal."""
    if axis is None:
        return True
    if isinstance(axis, ast.Constant) and axis.value is None:
        return form != "softmax"
    items = axis.elts if isinstance(axis, ast.Tuple) else [axis]
    for item in items:
        axis_int(item)
    return bool(items) and (form not in ("softmax", "scan") or len(items) == 1)
