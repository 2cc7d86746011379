"""The shapes a function's annotations give, read on the syntax tree for the check of
``statement_shapes.py``: each parameter's (dimension names, int literals and
expressions of one name as the frontend writes them, ``size_forms.annotated_size``),
the ``Index`` parameters' (``gather_shapes.py``), and the declared return's; None
where the check does not follow them, False where the frontend may refuse the
annotation.

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from .call_names import BUILT_IN_NAMES, CALL_NAMES
from .dimension_refusals import plain_expression
from .gather_shapes import INDEXES
from .operand_shapes import DIMS, number
from .size_forms import annotated_size
from .type_names import annotation_dims, type_name
from .value_names import CONSTANT_NAMES, TYPE_NAMES

#: the number of dimensions each float type takes (None: one or more)
RANKS = {"Scalar": 0, "Vector": 1, "Matrix": 2, "Tensor": None}
#: names a formula cannot define (the frontend's ``check_new_name``)
RESERVED = CALL_NAMES | TYPE_NAMES | CONSTANT_NAMES | BUILT_IN_NAMES


def parameter_scope(fn: ast.FunctionDef, constants: set[str]) -> dict | None:
    """The shape of each value ``fn``'s body may read by name before assigning any:
    each parameter's (a dimension written as an expression of one name as the frontend
    writes it, ``size_forms.annotated_size``; None for one the check does not follow:
    an ``Index``, another expression), ``()`` for each dimension and constant; None
    when an annotation is one the frontend may refuse or the names collide."""
    params = {a.arg: a.annotation for a in fn.args.args}
    scope: dict = {}
    dims: set[str] = set()
    for name, ann in params.items():
        shape = annotated_shape(ann, dims)
        if shape is False:
            return None
        scope[name] = shape
    taken = constants | RESERVED
    if dims & (taken | set(params)) or set(params) & taken:
        return None
    expressions = [
        d
        for ann in params.values()
        for d in annotation_dims(ann)
        if isinstance(d, (ast.BinOp, ast.UnaryOp))
    ]
    if not all(plain_expression(d, dims) for d in expressions):
        return None  # annotations.parameter_dim may refuse it
    indexes = {}
    for name, ann in params.items():
        if scope[name] is None:  # a name in an expression may stand alone later
            scope[name] = annotated_shape(ann, set(), frozenset(dims))
        if type_name(ann) == "Index":
            indexes[name] = annotation_sizes(ann, set(), frozenset(dims))
    returned = declared(fn, dims)
    if not isinstance(returned, tuple):
        return None
    if {d for d in returned if type(d) is str} & (taken | set(params)):
        return None  # the frontend's errors about the name (a name only the return
        # has is a dimension of its own: no value of the body has it)
    scope.update({d: () for d in dims | constants | CONSTANT_NAMES})
    scope[DIMS] = dims
    scope[INDEXES] = {k: v for k, v in indexes.items() if isinstance(v, tuple)}
    return scope


def declared(fn: ast.FunctionDef, dims: set[str] | None = None):
    """The shape ``fn``'s return annotation declares (see ``annotated_shape``; its
    dimension expressions of one of the parameters' ``dims``, if given)."""
    return annotated_shape(fn.returns, set(), None if dims is None else frozenset(dims))


def annotation_shape(ann):
    """The shape the annotation ``ann`` gives (``annotated_shape``), read on its own."""
    return annotated_shape(ann, set())


def annotated_shape(ann, dims: set[str], names: frozenset | None = None):
    """The shape annotation ``ann`` gives (``annotation_sizes``); None for an
    ``Index``, whose values are no float."""
    shape = annotation_sizes(ann, dims, names)
    return None if shape is not False and type_name(ann) == "Index" else shape


def annotation_sizes(ann, dims: set[str], names: frozenset | None = None):
    """The sizes annotation ``ann`` gives (names as ``str``, literals as ``int``; its
    dimension names added to ``dims``; with ``names``, a dimension expression of one of
    them as ``size_forms.annotated_size`` writes it); None for sizes the check does not
    follow (any other dimension expression); False for an annotation the frontend may
    refuse."""
    kind, nodes = type_name(ann), annotation_dims(ann)
    if kind not in TYPE_NAMES:
        return False
    rank = RANKS.get(kind)
    if (kind == "Scalar" and nodes) or (kind != "Scalar" and not nodes):
        return False
    if rank is not None and kind != "Scalar" and len(nodes) != rank:
        return False
    shape: list = []
    for d in nodes:
        if isinstance(d, ast.Name):
            dims.add(d.id)
            shape.append(d.id)
        elif number(d) and type(d.value) is int and 0 < d.value < 2**31:
            shape.append(d.value)
        elif isinstance(d, (ast.BinOp, ast.UnaryOp)):
            size = None if names is None else annotated_size(d, names)
            if size is None:
                return None
            shape.append(size)
        else:
            return False
    return tuple(shape)
