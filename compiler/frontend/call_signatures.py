"""What a built-in call must look like before any of its arguments is read: how many
arguments it takes by position, which keywords it knows, and Python's ``max(a, b)``.

The frontend raises these errors on reaching the call, before it lowers an argument
(``axis_calls.py``, ``conv_calls.py``, ``arguments.arity``), and the syntax-tree shape
check reports them where it reaches the same call (``operand_shapes.call_shape``), by
the same functions, so ``sum(x, axs=1)`` and ``sigmoid()`` are answered before SymPy is
imported (issue 16). It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .dimension_refusals import TOO_LARGE, int_value
from .refusals import pairwise_error
from .source import Source, is_int_literal

#: the calls of one array and an axis (``axis_calls.py``), by form: the keywords each
#: knows, how many positional arguments it takes at most, and what its error says
AXIS_FORMS = {
    "reduction": (("axis", "keepdims"), 2, "an array and optionally an axis"),
    "softmax": (("axis",), 2, "an array and optionally an axis"),
    "scan": (("axis",), 2, "an array and optionally an axis"),
    "moment": (("axis", "ddof", "keepdims"), 2, "an array and optionally an axis"),
    "norm": (
        ("ord", "axis", "keepdims"),
        4,
        "an array and optionally ord, axis and keepdims",
    ),
}
#: the window calls (``conv_calls.py``), by form: their arguments in order, and how many
#: of them are required
WINDOW_FORMS = {
    "conv": (("x", "w", "stride", "pad"), 2),
    "pool": (("x", "size", "stride"), 2),
}
#: the literals of the window calls, by form, in the order the frontend reads them once
#: it has lowered the input (and kernel): each one's name and least value
WINDOW_LITERALS = {
    "conv": (("stride", 1), ("pad", 0)),
    "pool": (("size", 1), ("stride", 1)),
}
#: the elementwise calls of a fixed number of values, by form: how many
VALUE_FORMS = {"unary": 1, "binary": 2, "where": 3}


def signature_error(node: ast.Call, name: str, form: str, src: Source):
    """The error the frontend raises on reaching ``node``, a call of ``name`` of
    ``form`` (``call_forms.FORM_NAMES``), before it reads any argument; None for
    another form or where it has none. ``np.average`` is ``mean`` without its weights
    (``weighted_error``)."""
    error = weighted_error(node, src)
    if error is not None:
        return error
    if form in AXIS_FORMS:
        keywords, most, takes = AXIS_FORMS[form]
        error = axis_call_error(node, name, keywords, most, takes, src)
        if error is None and form == "reduction":
            return pairwise_error(node, name, src)  # max(a, b)
        return error
    if form in WINDOW_FORMS:
        return window_call_error(node, name, *WINDOW_FORMS[form], src)
    if form in VALUE_FORMS:
        return arity_error(node, name, VALUE_FORMS[form], (), src)
    return None


def weighted_error(node: ast.Call, src: Source):
    """The error at the ``weights`` or ``returned`` keyword of ``np.average`` (a weighted
    mean is written out); None for any other call."""
    if not isinstance(node.func, ast.Attribute) or node.func.attr != "average":
        return None
    for k in node.keywords:
        if k.arg in ("weights", "returned"):
            return src.error(
                k,
                f"average() with {k.arg}: write the weighted mean, "
                "`sum(w * x, axis) / sum(w, axis)`",
            )
    return None


def arity_error(node: ast.Call, name: str, n: int, keywords, src: Source):
    """The error for a call of ``name`` without exactly ``n`` positional arguments, or
    with a keyword other than ``keywords`` (the first such); None for a call with
    them."""
    if len(node.args) != n:
        return src.error(
            node,
            f"{name}() takes {n} positional argument{'s' * (n != 1)}, "
            f"got {len(node.args)}",
        )
    return keyword_error(node, name, keywords, src)


def axis_call_error(node: ast.Call, name: str, keywords, most: int, takes, src):
    """The error for a call of one array and an axis with no argument or more than
    ``most`` by position (its message: it ``takes`` ...), or at its first keyword other
    than ``keywords`` or naming one of them given by position (``sum(x, 1, axis=0)``:
    ``keywords`` follow the array in order); None for a call with them."""
    if not 1 <= len(node.args) <= most:
        return src.error(node, f"{name}() takes {takes}")
    for k in node.keywords:
        if k.arg not in keywords:
            return unexpected(k, name, src)
        if keywords.index(k.arg) + 1 < len(node.args):
            return src.error(k, f"{name}() got multiple values for argument '{k.arg}'")
    return None


def window_call_error(node: ast.Call, name: str, names: tuple, required: int, src):
    """The error for a call of the arguments ``names`` (by position or keyword, each
    once, the first ``required`` of them always) at the place ``window_misfit`` finds;
    None for a call with them."""
    misfit = window_misfit(node, names, required)
    if isinstance(misfit, ast.keyword):
        return unexpected(misfit, name, src)
    if misfit is not None:
        return src.error(
            node,
            f"{name}() takes {', '.join(names[:required])} and optionally "
            f"{' and '.join(names[required:])}",
        )
    return None


def window_misfit(node: ast.Call, names: tuple, required: int):
    """Where a call of the arguments ``names`` (by position or keyword, each once, the
    first ``required`` of them always) has arguments it does not take: its first
    keyword that is not one of them or names one given by position, else the call
    itself where it has more arguments than ``names`` or lacks a required one; None
    where it has none."""
    for k in node.keywords:
        if k.arg not in names or names.index(k.arg) < len(node.args):
            return k
    given = set(names[: len(node.args)]) | {k.arg for k in node.keywords}
    if len(node.args) > len(names) or not set(names[:required]) <= given:
        return node
    return None


def keyword_error(node: ast.Call, name: str, keywords, src: Source):
    """The error at the first keyword of ``node`` that is not one of ``keywords``;
    None if it has none."""
    for k in node.keywords:
        if k.arg not in keywords:
            return unexpected(k, name, src)
    return None


def unexpected(k: ast.keyword, name: str, src: Source) -> FormulaError:
    """The error at the keyword ``k`` a call of ``name`` does not know."""
    return src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")


def window_arrays(node: ast.Call, form: str) -> list:
    """The arrays of ``node``, a call of a window ``form`` with its arguments, in the
    order the frontend lowers them: the input, then a convolution's kernel."""
    names, required = WINDOW_FORMS[form]
    given = window_arguments(node, form)
    return [given[n] for n in names[: required - (form == "pool")]]


def window_arguments(node: ast.Call, form: str) -> dict:
    """The arguments of ``node``, a call of a window ``form`` with its arguments, by
    name, given by position or keyword."""
    names = WINDOW_FORMS[form][0]
    return dict(zip(names, node.args)) | {k.arg: k.value for k in node.keywords}


def window_literals_error(node: ast.Call, name: str, form: str, src: Source):
    """The error the frontend raises at the first literal of ``node``, a call of
    ``name`` of ``form`` with its arguments (``window_call_error`` found none), that is
    not an int literal from its least value up (``WINDOW_LITERALS``), once it has
    lowered the arrays; None where each literal given is one."""
    given = window_arguments(node, form)
    for what, low in WINDOW_LITERALS[form]:
        if what in given:
            error = literal_error(given[what], name, what, low, src)
            if error is not None:
                return error
    return None


def literal_error(node, name: str, what: str, low: int, src: Source):
    """The error for ``node``, the argument ``what`` of a call of ``name``, where it is
    not an int literal of at least ``low`` (below 2**31); None where it is one."""
    if not is_int_literal(node):
        return src.error(
            node,
            f"{name}(): {what} must be an integer literal, not "
            f"'{ast.unparse(node)[:40]}' (it fixes the shapes at compile time)",
        )
    value = int_value(node)
    if abs(value) >= 2**31:
        return src.error(node, TOO_LARGE)
    if value < low:
        return src.error(node, f"{name}(): {what} must be at least {low}, not {value}")
    return None
