"""Operands whose shapes do not fit (``x + y`` with ``Vector[n]`` and ``Vector[m]``,
``W @ y`` with ``Matrix[n, d]``), found on the syntax tree before anything is lowered.

Like ``value_names.unknown_name``, ``shape_mismatch`` needs nothing but ``ast`` and the
broadcasting, ``@`` and axis rules (``core/shape_rules.py``, which imports no SymPy), so the
command line reports the mismatch before it imports SymPy and the compiler
(``cli/main.py`` ``precheck``; bench/README.md, start-up), and ``text.parse`` runs the
same check first, so the API gives the same report.

The check is conservative: it follows shapes only through what it reads exactly as the
frontend does, and stops (reporting nothing) at the first statement holding anything
else, where the frontend may stop first for another reason. It reads:

- values: a float parameter whose dimensions are names or integer literals, a number, a
  dimension or a constant used as a number, and a name assigned from such a value;
- ``+ - * / **`` between them and unary ``-`` and ``+`` (NumPy's broadcasting), and
  ``@`` (NumPy's matmul), each reported at the operation, as the frontend reports it;
- a one-input elementwise function (``ELEMENTWISE``, with or without ``np.``), the
  two-input ones (``BINARY``), a comparison (in ``where`` or as a 0/1 mask), the calls
  that keep their argument's shape (``SAME_SHAPE``: ``zeros_like``, ``flip``, ...),
  ``sum``, ``mean``, ``max``, ``min`` and ``norm`` (whole, or along an ``axis`` of int
  literals, with ``keepdims``; not over a literal size 0), ``matmul`` and ``dot`` (of
  1-D and 2-D values) as ``@``, ``x.T``, ``transpose`` (with literal axes or none),
  ``swapaxes``, ``expand_dims`` and ``squeeze`` (literal axes), ``einsum`` with a
  literal spec (its sizes checked and worded as the record does), ``x[...]`` of whole
  slices (stepped by 1 or -1), slices of int literals (``x[1:]``: ``n - 1``), int literals,
  ``None`` and ``np.newaxis`` (``W[:, 0]``, ``v[:, None]``, ``x[::-1]``), NumPy's other
  names (``np.fabs``, ``np.amax``: ``NUMPY_ALIASES``), and a call of a ``@fuse``
  function defined above whose body it reads whole (``Scalar`` in and out: elementwise
  over its arguments, which broadcast as ``maximum``'s do);
- statements assigning one name, ``+= -= *= /=`` that keep the name's shape, and the
  final ``return``.

It also reads the arguments of a call of a function the file defines above (which the
frontend lowers first), and stops after them unless it is a ``@fuse`` function read whole.
It stops at a loop, any other index (a stepped slice, a slice of a cut axis, an index
array, a Scalar's), any other call, an ``Index`` parameter read, a dimension written as an
expression, and at a function whose signature, annotations or decorators (other than
``@wrt``) are not plain; a ``@fuse`` function is not checked on its own (the frontend
lowers it where it is called).
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .call_names import CALL_NAMES, NUMPY_ALIASES, called_name, plain_decorators
from .shape_reading import (
    Mismatch,
    Stop,
    broadcast_at,
    einsum_at,
    einsum_spec,
    expanded,
    indexed,
    literal_axes,
    literal_int,
    norm_keywords,
    permutation,
    product_at,
    reduced,
    squeezed,
)
from .source import MAX_DEPTH, Source, depth, is_docstring
from .value_names import CONSTANT_NAMES, TYPE_NAMES, plain_signature, type_name

#: the one-input elementwise functions (an op record of ``form="unary"`` each; tied to
#: the records by tests/test_shape_precheck.py)
ELEMENTWISE = frozenset(
    {
        "abs", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cos",
        "cosh", "erf", "exp", "expm1", "log", "log10", "log1p", "log2", "relu",
        "sigmoid", "sign", "sin", "sinh", "softplus", "sqrt", "square", "tan", "tanh",
    }
)  # fmt: skip
#: the two-input elementwise functions, reported at the call as the operators are
BINARY = frozenset({"maximum", "minimum", "arctan2", "logaddexp"})
#: reductions, of a whole value or along ``axis`` (``keepdims``)
REDUCTIONS = frozenset({"sum", "mean", "max", "min", "norm"})
#: those that need an element (``Prim.needs_nonempty``): the check stops at a literal 0
#: size, where the frontend's own error comes first
NONEMPTY = frozenset({"mean", "max", "min", "norm"})
#: functions whose value has the shape of their one argument
SAME_SHAPE = frozenset(
    {"zeros_like", "ones_like", "flip", "softmax", "log_softmax", "tril", "triu"}
)
#: the fewest dimensions the frontend takes for each of them
RANK_AT_LEAST = {"flip": 1, "softmax": 1, "log_softmax": 1, "tril": 2, "triu": 2}
#: the calls read with their axes as int literals (``permuted``)
AXES_GIVEN = frozenset({"transpose", "swapaxes"})
#: the matrix products written as calls, read as ``@`` (``dot`` of 1-D and 2-D only)
PRODUCTS = frozenset({"matmul", "dot"})
#: the number of arguments of each call read besides the reductions
ARITY = {
    **dict.fromkeys(ELEMENTWISE | SAME_SHAPE | {"transpose"}, 1),
    **dict.fromkeys(BINARY | PRODUCTS, 2),
    "where": 3,
}
#: the key under which a function's scope holds the functions defined above it (not an
#: identifier, so no name of the formula's)
ABOVE = "@above"
#: the comparisons the frontend reads (``conditions.COMPARES``)
COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
#: the operators that broadcast their operands
BROADCASTING = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
#: the number of dimensions each float type takes (None: one or more)
RANKS = {"Scalar": 0, "Vector": 1, "Matrix": 2, "Tensor": None}
#: names a formula cannot define (the frontend's ``check_new_name``)
RESERVED = (
    CALL_NAMES | TYPE_NAMES | CONSTANT_NAMES | {"np", "numpy", "fuse", "wrt", "arange"}
)


def shape_mismatch(tree: ast.Module, src: Source) -> FormulaError | None:
    """The error for the first operation in the exported functions of ``tree`` whose
    operands do not broadcast, as the frontend words and places it, or None (also when
    the check stops first: see the module)."""
    body = list(tree.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    if not distinct_functions(body):
        return None
    functions = {s.name for s in body if isinstance(s, ast.FunctionDef)}
    constants: set[str] = set()
    above: dict[str, tuple[int, bool]] = {}  # the functions above (see in_function)
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            name = constant_name(stmt)
            if name is None or name in constants | functions | RESERVED:
                return None  # the frontend's to read (or to refuse)
            constants.add(name)
            continue
        if not isinstance(stmt, ast.FunctionDef) or not plain_decorators(stmt):
            return None
        if any(isinstance(d, ast.Name) for d in stmt.decorator_list):
            # @fuse: lowered where it is called, elementwise over its arguments
            if plain_signature(stmt):
                whole = elementwise(stmt, constants, functions)
                above[stmt.name] = (len(stmt.args.args), whole)
            continue
        found = in_function(stmt, src, constants, functions, above)
        if found is not False:
            return found
        above[stmt.name] = (len(stmt.args.args), False)
    return None


def elementwise(fn: ast.FunctionDef, constants: set[str], functions: set[str]) -> bool:
    """Whether the check reads the ``@fuse`` function ``fn`` whole: ``Scalar`` parameters
    and return, and a body of assignments and a ``return`` that ``statement`` and
    ``shape_of`` read (else a call of it stops the check after its arguments)."""
    if len(fn.decorator_list) != 1:
        return False
    params = [a.arg for a in fn.args.args]
    annotations = [a.annotation for a in fn.args.args] + [fn.returns]
    if not all(isinstance(t, ast.Name) and t.id == "Scalar" for t in annotations):
        return False
    if set(params) & (constants | functions | RESERVED):
        return False
    scope = {n: () for n in [*params, *constants, *CONSTANT_NAMES]}
    fixed = RESERVED | functions | constants
    stmts = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
    try:
        if not stmts or not all(statement(s, scope, fixed) for s in stmts[:-1]):
            return False
        last = stmts[-1]
        if not isinstance(last, ast.Return) or last.value is None:
            return False
        if depth(last) > MAX_DEPTH or shape_of(last.value, scope) != ():
            return False
    except (Stop, Mismatch):
        return False
    return True


def distinct_functions(body: list) -> bool:
    """Whether no function of the file is named like another, or like one of the names
    gradc generates for another (``f`` and ``f_grad``), or as a private or built-in name
    (the frontend refuses those before it lowers the second function's body)."""
    names = [s.name for s in body if isinstance(s, ast.FunctionDef)]
    return not any(
        a.startswith("_") or a in RESERVED or (a != b and a.startswith(b + "_"))
        for a in names
        for b in names
    ) and len(set(names)) == len(names)


def constant_name(stmt: ast.Assign) -> str | None:
    """The name a top-level ``NAME = number`` (or ``-number``) defines, else None."""
    value = stmt.value
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        value = value.operand
    target = stmt.targets[0]
    if len(stmt.targets) != 1 or not isinstance(target, ast.Name) or not number(value):
        return None
    return target.id


def number(node) -> bool:
    """Whether ``node`` is an int or float literal (not a bool)."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def in_function(
    fn: ast.FunctionDef,
    src: Source,
    constants: set[str],
    functions: set[str],
    above: dict,
):
    """The mismatch error in ``fn``'s body; None where the check stops; False when it
    reads the whole body and finds none. ``above``: each function defined above ``fn``
    (``@fuse`` or read whole), its number of parameters and whether the check reads it
    as elementwise (``elementwise``)."""
    stmts = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
    if not stmts or not isinstance(stmts[-1], ast.Return) or stmts[-1].value is None:
        return None
    if not plain_signature(fn):
        return None
    scope = parameter_scope(fn, constants)
    if scope is None or set(scope) & functions or not plain_wrt(fn, scope):
        return None
    fixed = (set(scope) - {a.arg for a in fn.args.args}) | RESERVED | functions
    scope[ABOVE] = above
    try:
        for s in stmts:
            if depth(s) > MAX_DEPTH:
                return None  # the frontend refuses it as nested too deeply
            # the return of the declared shape: the frontend checks it
            if isinstance(s, ast.Return):
                return False if shape_of(s.value, scope) == declared(fn) else None
            if not statement(s, scope, fixed):
                return None
    except Mismatch as m:
        return src.error(m.node, str(m))
    except Stop:
        return None
    return None


def statement(s, scope: dict, fixed: set) -> bool:
    """Whether ``s`` is an assignment the check reads (``scope`` updated): one name
    assigned, or ``+= -= *= /=`` keeping its shape; raises Mismatch or Stop (``shape_of``)."""
    if isinstance(s, ast.AugAssign):
        return augmented(s, scope, fixed)
    if not isinstance(s, ast.Assign) or len(s.targets) != 1:
        return False
    target = s.targets[0]
    if not isinstance(target, ast.Name) or target.id in fixed:
        return False
    scope[target.id] = shape_of(s.value, scope)
    return True


def augmented(s: ast.AugAssign, scope: dict, fixed: set) -> bool:
    """Whether ``t += v`` (``-= *= /=``) keeps ``t``'s shape, as the frontend requires;
    raises Mismatch at ``v`` where the two do not broadcast, as the frontend reports it."""
    t = s.target
    ops = (ast.Add, ast.Sub, ast.Mult, ast.Div)
    if not isinstance(t, ast.Name) or t.id in fixed or not isinstance(s.op, ops):
        return False
    if scope.get(t.id) is None:
        raise Stop
    return broadcast_at(s.value, [scope[t.id], shape_of(s.value, scope)]) == scope[t.id]


def parameter_scope(fn: ast.FunctionDef, constants: set[str]) -> dict | None:
    """The shape of each value ``fn``'s body may read by name before assigning any:
    each parameter's (None for one the check does not follow: an ``Index``, a dimension
    written as an expression), ``()`` for each dimension and constant; None when an
    annotation is one the frontend may refuse or the names collide."""
    params = {a.arg: a.annotation for a in fn.args.args}
    scope: dict = {}
    dims: set[str] = set()
    for name, ann in params.items():
        shape = annotated_shape(ann, dims)
        if shape is False:
            return None
        scope[name] = shape
    returned = declared(fn)
    if (
        not isinstance(returned, tuple)
        or not {d for d in returned if type(d) is str} <= dims
    ):
        return None
    taken = constants | RESERVED
    if dims & (taken | set(params)) or set(params) & taken:
        return None
    scope.update({d: () for d in dims | constants | CONSTANT_NAMES})
    return scope


def declared(fn: ast.FunctionDef):
    """The shape ``fn``'s return annotation declares (see ``annotated_shape``)."""
    return annotated_shape(fn.returns, set())


def dims_of(ann) -> list | None:
    """The dimension nodes of an annotation (``[]`` for ``Scalar``)."""
    if isinstance(ann, ast.Subscript):
        return ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    return []


def annotated_shape(ann, dims: set[str]):
    """The shape annotation ``ann`` gives (names as ``str``, literals as ``int``; its
    dimension names added to ``dims``); None for a shape the check does not follow (an
    ``Index``, a dimension expression); False for an annotation the frontend may refuse."""
    kind, nodes = type_name(ann), dims_of(ann)
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
        else:
            return None if isinstance(d, (ast.BinOp, ast.UnaryOp)) else False
    return None if kind == "Index" else tuple(shape)


def plain_wrt(fn: ast.FunctionDef, scope: dict) -> bool:
    """Whether every ``@wrt(...)`` names distinct float parameters the check follows."""
    for d in fn.decorator_list:
        names = [a.id if isinstance(a, ast.Name) else None for a in d.args]
        params = {a.arg for a in fn.args.args}
        if d.keywords or len(set(names)) != len(names):
            return False
        if not names or any(n not in params or scope.get(n) is None for n in names):
            return False
    return True


def shape_of(node, scope: dict) -> tuple:
    """The shape of expression ``node`` (dimensions as ``str`` and ``int``); raises
    Mismatch at the first operation, in the order Python evaluates them, whose operands
    do not broadcast, and Stop at anything the check does not read."""
    if number(node):
        return ()
    if isinstance(node, ast.Name):
        if scope.get(node.id) is None:
            raise Stop
        return scope[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return shape_of(node.operand, scope)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return product_at(node, shape_of(node.left, scope), shape_of(node.right, scope))
    if isinstance(node, ast.BinOp) and isinstance(node.op, BROADCASTING):
        return broadcast_at(
            node, [shape_of(node.left, scope), shape_of(node.right, scope)]
        )
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return shape_of(node.value, scope)[::-1]
    if isinstance(node, ast.Attribute) and node.attr in CONSTANT_NAMES:  # np.pi, np.e
        if getattr(node.value, "id", None) in ("np", "numpy"):
            return ()
    if isinstance(node, ast.Subscript):
        return indexed(shape_of(node.value, scope), node.slice)
    if isinstance(node, ast.Compare):  # a 0/1 mask of the broadcast shape
        return condition(node, scope)
    if not isinstance(node, ast.Call):
        raise Stop
    return call_shape(node, read_name(node), scope)


def read_name(node: ast.Call) -> str | None:
    """The function ``node`` calls as the check reads it: ``called_name``'s, with NumPy's
    other names taken as the language's (``np.fabs`` is ``abs``)."""
    name = called_name(node)
    if isinstance(node.func, ast.Attribute) and name in NUMPY_ALIASES:
        return NUMPY_ALIASES[name]
    return name


def call_shape(node: ast.Call, name, scope: dict) -> tuple:
    """The shape of the call ``node`` of ``name`` (``shape_of``'s rules for calls)."""
    args = node.args
    if any(isinstance(a, ast.Starred) for a in args):
        raise Stop
    if isinstance(node.func, ast.Name) and name in scope.get(ABOVE, {}):
        return helper_call(node, scope)
    if name in REDUCTIONS and (len(args) == 1 or name == "norm" and args):
        allowed = (
            {"axis", "keepdims", "ord"} if name == "norm" else {"axis", "keepdims"}
        )
        if {k.arg for k in node.keywords} - allowed:
            raise Stop  # the frontend's error comes before it reads the arguments
        keywords = norm_keywords(node) if name == "norm" else node.keywords
        shape = shape_of(args[0], scope)
        if name in NONEMPTY and 0 in shape:
            raise Stop
        return reduced(shape, keywords)
    if name in AXES_GIVEN and len(args) + len(node.keywords) > 1:
        return permuted(node, name, scope)
    if name in ("expand_dims", "squeeze"):
        return new_or_dropped_axes(node, name, scope)
    if name == "einsum" and not node.keywords:
        spec = einsum_spec(args)
        return einsum_at(node, spec, operands(args[1:], scope))
    if node.keywords:
        raise Stop
    if ARITY.get(name) != len(args):
        raise Stop  # read no argument of a call it does not read
    if name == "where":
        return broadcast_at(
            node, [condition(args[0], scope)] + operands(args[1:], scope)
        )
    shapes = operands(args, scope)
    if name in BINARY:
        return broadcast_at(node, shapes)
    if name == "transpose":
        return shapes[0][::-1]
    if name in PRODUCTS:
        if name == "dot" and max(len(s) for s in shapes) > 2:
            raise Stop  # np.dot of stacks is not matmul
        return product_at(node, *shapes)
    if len(shapes[0]) < RANK_AT_LEAST.get(name, 0):
        raise Stop  # the frontend's error (tril of a vector, softmax of a Scalar)
    return shapes[0]  # ELEMENTWISE, SAME_SHAPE


def helper_call(node: ast.Call, scope: dict) -> tuple:
    """The shape of a call of a function defined above, whose arguments the frontend
    lowers first: a ``@fuse`` function read whole is elementwise (its arguments broadcast
    as ``maximum``'s do); Stop after the arguments of any other (the frontend binds its
    dimensions) and at a call with keywords or another number of arguments."""
    arity, whole = scope[ABOVE][node.func.id]
    if node.keywords or arity != len(node.args):
        raise Stop
    shapes = operands(node.args, scope)
    if not whole:
        raise Stop
    return broadcast_at(node, shapes)


def permuted(node: ast.Call, name: str, scope: dict) -> tuple:
    """The shape of ``transpose(x, axes)`` (or ``axes=``) and ``swapaxes(x, a, b)`` with
    int literals; Stop where the axes are not a permutation (a swap) of ``x``'s."""
    given = {k.arg: k.value for k in node.keywords}
    if name == "transpose" and len(node.args) == 1 and set(given) == {"axes"}:
        items = [given["axes"]]
    elif not given and len(node.args) == (2 if name == "transpose" else 3):
        items = node.args[1:]
    else:
        raise Stop
    if name == "transpose":
        if not isinstance(items[0], (ast.Tuple, ast.List)):
            raise Stop
        items = items[0].elts
    shape = shape_of(node.args[0], scope)
    return permutation(shape, [literal_int(a) for a in items], name == "swapaxes")


def new_or_dropped_axes(node: ast.Call, name: str, scope: dict) -> tuple:
    """The shape of ``expand_dims(x, axis)`` and ``squeeze(x[, axis])`` with an ``axis``
    of int literals (by position or keyword); Stop at anything else."""
    given = {k.arg: k.value for k in node.keywords}
    if set(given) - {"axis"} or len(node.args) + len(given) > 2 or not node.args:
        raise Stop
    axis = given.get("axis", node.args[1] if len(node.args) == 2 else None)
    if axis is None and name == "expand_dims":
        raise Stop
    axes = None if axis is None else literal_axes(axis)
    shape = shape_of(node.args[0], scope)
    return expanded(shape, axes) if name == "expand_dims" else squeezed(shape, axes)


def operands(args: list, scope: dict) -> list[tuple]:
    """The shapes of a call's arguments, left to right."""
    return [shape_of(a, scope) for a in args]


def condition(node, scope: dict) -> tuple:
    """The shape of one comparison (``x > y``, with ``< <= > >= == !=``: ``where``'s
    condition, or a 0/1 mask used as a number), whose sides broadcast; Stop at any other
    condition (a chain, ``is``, ``in``: the frontend's errors)."""
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        raise Stop
    if not isinstance(node.ops[0], COMPARISONS):
        raise Stop
    return broadcast_at(node, operands([node.left, node.comparators[0]], scope))
