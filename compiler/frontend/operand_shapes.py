"""The shape of an expression (``x + y`` with ``Vector[n]`` and ``Vector[m]``, ``W @ y``
with ``Matrix[n, d]``), read on the syntax tree before anything is lowered, raising
``Mismatch`` at the first operation whose operands do not fit, as the frontend words and
places it. ``statement_shapes.py`` reads the statements, loops and functions around it.

Like ``value_names.unknown_name``, it needs nothing but ``ast`` and the broadcasting,
``@`` and axis rules (``core/shape_rules.py``, which imports no SymPy), so the command
line reports the mismatch before it imports SymPy and the compiler (``cli/main.py``
``precheck``; bench/README.md, start-up), and ``text.parse`` runs the same check first,
so the API gives the same report.

The check is conservative: it follows shapes only through what it reads exactly as the
frontend does, and raises ``Stop`` (the check reports nothing) at anything else, where the
frontend may stop first for another reason. It reads:

- values: a float parameter whose dimensions are names, integer literals or expressions
  of one name (``n - 1``, ``4 * H``: ``size_forms.annotated_size``), a number, a
  dimension or a constant used as a number, and a name assigned from such a value;
- ``+ - * / **`` between them and unary ``-`` and ``+`` (NumPy's broadcasting), and
  ``@`` (NumPy's matmul), each reported at the operation, as the frontend reports it;
- a one-input elementwise function (``ELEMENTWISE``, with or without ``np.``), the
  two-input ones (``BINARY``), a comparison (in ``where`` or as a 0/1 mask), the calls
  that keep their argument's shape (``SAME_SHAPE``: ``zeros_like``, ``flip``, ...;
  ``softmax`` and ``log_softmax`` with an ``axis`` too), ``clip`` (its bounds broadcast
  with its input), ``inv``, ``det`` and ``cholesky`` (``SQUARE``), ``sum``, ``mean``,
  ``max``, ``min``, ``logsumexp`` and ``norm`` (whole, or along an ``axis`` of int
  literals, with ``keepdims``; not over a literal size 0), ``matmul`` and ``dot`` (of
  1-D and 2-D values) as ``@``, ``np.inner`` (of at most 2-D values) as ``a @ b.T``,
  ``x.T``, ``transpose`` (with literal axes or none), ``swapaxes``, ``expand_dims`` and
  ``squeeze`` (literal axes), ``einsum`` with a literal spec (its sizes checked and
  worded as the record does), ``zeros``, ``ones`` and ``np.full`` of a shape of
  dimension names and int literals, ``np.full_like`` (filled with a scalar), ``x[...]``
  of whole slices (stepped by 1 or -1), slices of int literals (``x[1:]``: ``n - 1``;
  ``x[:0]``: 0; ``x[::2]``: ``(n + 1) // 2``, ``shape_reading.stepped``; of an axis
  already cut: ``x[1:][::2]``: ``n // 2``, ``size_forms.cut_size``), int
  literals, a loop variable plus or minus an int literal on an axis of named size
  (``h[t - 1]``), ``None`` and ``np.newaxis`` (``W[:, 0]``, ``v[:, None]``,
  ``x[::-1]``), NumPy's other names (``np.fabs``, ``np.amax``: ``NUMPY_ALIASES``), and a
  call of a ``@fuse`` function defined above whose body it reads whole (``Scalar`` in
  and out: elementwise over its arguments, which broadcast as ``maximum``'s do).

It also reads ``max_pool2d``, ``avg_pool2d`` and ``conv2d`` (``pool_shapes.py``),
``var`` and ``std`` (a reduction's axes, then ``ddof``), ``outer`` of two vectors,
``solve``, ``stack`` and ``concatenate`` of a list of arrays along an int literal
``axis`` (a concatenation where its length is an int or a sum of names;
``axis_call_shapes.py``), NumPy's operator functions as the operators (``np.multiply(a,
b)``: ``operator_calls.py``), indices of integer arrays beside whole slices
(``scores[arange(n), y]``, ``W[:, i]``: ``gather_shapes.py``), and a call of a function
the file defines above whose body it read whole: a ``@fuse`` one as above, any other by
its annotations (``function_shapes.bound_return``: each argument against its parameter,
the declared return with the dimension names bound; its number of arguments as the
frontend words it); after the arguments of any other such call it stops. It stops at any
other index (an index array beside an int or a bounded slice, a Scalar's, a stepped
slice of a length in which a name is counted twice), any other call, an ``Index`` parameter read otherwise, and
any other dimension expression.
"""

from __future__ import annotations

import ast

from ..core.shape_rules import reduce_shape
from ..errors import FormulaError
from .axis_call_shapes import (
    STACKS,
    moment_at,
    moment_input,
    sequence_at,
    sequence_items,
    stacks_at,
    stacks_items,
)
from .call_forms import NUMPY_ALIASES, form_of
from .call_names import call_error, called_name, clip_arguments
from .call_signatures import (
    signature_error,
    window_arrays,
    window_literals_error,
)
from .folded_literals import folded
from .function_shapes import arity_error, bound_return
from .gather_shapes import array_items, gathered_at
from .operator_calls import operator_arity, operator_name, operator_tree
from .pool_shapes import conv_arguments, convolved, pool_arguments, pooled
from .refusals import (
    EXPONENT_TOO_LARGE,
    MAX_EXPONENT,
    refused_at,
)
from .reshape_shapes import created_shape, reshape_items, reshaped_at, sizes_error
from .shape_reading import (
    DIMS,
    LOOPS,
    SIZES,
    SRC,
    Mismatch,
    Refused,
    Stop,
    broadcast_at,
    diagonal_at,
    einsum_at,
    einsum_spec,
    expanded,
    literal_axes,
    literal_int,
    norm_keywords,
    outer_at,
    permutation,
    positional_keywords,
    product_at,
    read_axes,
    reduced_axes,
    scoped_index,
    solve_at,
    square_at,
    squeezed,
)
from .unpacking import unpacking_error, unpacks
from .value_names import CONSTANT_NAMES

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
REDUCTIONS = frozenset({"sum", "mean", "max", "min", "logsumexp", "norm"})
#: those that need an element (``Prim.needs_nonempty``): the check stops at a literal 0
#: size, where the frontend's own error comes first
NONEMPTY = frozenset({"mean", "max", "min", "logsumexp", "norm"})
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
    **dict.fromkeys(ELEMENTWISE | SAME_SHAPE | {"transpose", "diag", "trace"}, 1),
    **dict.fromkeys(BINARY | PRODUCTS | {"outer", "solve"}, 2),
    "where": 3,
}
#: the key under which a function's scope holds the functions defined above it (not an
#: identifier, so no name of the formula's)
ABOVE = "@above"
#: the comparisons the frontend reads (``conditions.COMPARES``)
COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
#: the operators that broadcast their operands
BROADCASTING = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
#: the key of the names the frontend folds as constants (module constants, ``pi``, ``e``)
CONSTS = "@consts"
#: the calls that make a new array of a shape written out (``zeros((n, d))``)
CREATION = frozenset({"zeros", "ones"})
#: the ``np.linalg`` functions of one square matrix (or a stack of them), and the number
#: of its last axes each drops (``ops/inverse.py``'s shape rules)
SQUARE = {"inv": 0, "cholesky": 0, "det": 2}
#: the calls that join a list of arrays (``axis_call_shapes.sequence_at``)
SEQUENCES = frozenset({"stack", "concatenate"})
#: NumPy's functions read with an ``np.`` prefix only (``numpy_call``)
NUMPY_ONLY = frozenset({"inner", "full", "full_like"})


def number(node) -> bool:
    """Whether ``node`` is an int or float literal (not a bool)."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def shape_of(node, scope: dict) -> tuple:
    """The shape of expression ``node`` (dimensions as ``str`` and ``int``); raises
    Mismatch at the first operation, in the order Python evaluates them, whose operands
    do not broadcast, Refused at a node the frontend refuses by its form, and Stop at
    anything else the check does not read."""
    error = refused_at(node, scope[SRC])
    if error is not None:
        raise Refused(error)
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
        shapes = [shape_of(node.left, scope), shape_of(node.right, scope)]
        if isinstance(node.op, ast.Pow):
            power_checked(node, scope)  # after both operands, as the frontend
        return broadcast_at(node, shapes)
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return shape_of(node.value, scope)[::-1]
    if isinstance(node, ast.Attribute) and node.attr in CONSTANT_NAMES:  # np.pi, np.e
        if getattr(node.value, "id", None) in ("np", "numpy"):
            return ()
    if isinstance(node, ast.Subscript):
        shape = shape_of(node.value, scope)
        arrays = array_items(node.slice, scope)
        if arrays is not None and shape:
            return gathered_at(node, shape, arrays)
        return scoped_index(shape, node.slice, scope)
    if isinstance(node, ast.Compare):  # a 0/1 mask of the broadcast shape
        return condition(node, scope)
    if not isinstance(node, ast.Call):
        raise Stop
    return call_shape(node, read_name(node), scope)


def power_checked(node: ast.BinOp, scope: dict) -> None:
    """What the frontend raises at ``a ** b`` after lowering its operands
    (``expressions.binop_expr``), its constants folded as it folds them (``folded``):
    Mismatch at an exponent past the limit; Stop at a constant exponent the check does
    not fold (a module constant, ``pi``)."""
    k = folded(node.right)
    if k is None and constant(node.right, scope):
        raise Stop
    if k is not None and abs(k) > MAX_EXPONENT:
        raise Mismatch(node.right, EXPONENT_TOO_LARGE)  # x ** -1e7, 0.9 ** 9 ** 9


def constant(node, scope: dict) -> bool:
    """Whether ``node`` reads no value, parameter or dimension (the frontend may fold it
    to a constant: literals, module constants, ``pi``, ``np.e``, calls of them)."""
    consts = scope.get(CONSTS, ())
    return not any(
        isinstance(n, ast.Name) and n.id in scope and n.id not in consts
        for n in ast.walk(node)
    )


def read_name(node: ast.Call) -> str | None:
    """The function ``node`` calls as the check reads it: ``called_name``'s, with NumPy's
    other names taken as the language's (``np.fabs`` is ``abs``)."""
    name = called_name(node)
    if isinstance(node.func, ast.Attribute) and name in NUMPY_ALIASES:
        return NUMPY_ALIASES[name]
    return name


def call_shape(node: ast.Call, name, scope: dict) -> tuple:
    """The shape of the call ``node`` of ``name`` (``shape_of``'s rules for calls); Refused
    at a method or another module's function (``call_names.call_error``)."""
    values = {n for n in scope if not n.startswith("@")} | scope.get(LOOPS, set())
    error = call_error(node, values, scope[SRC])
    if error is not None:
        raise Refused(error)
    args = node.args
    if unpacks(node):
        error = unpacking_error(node, scope.get(ABOVE, {}), scope[SRC])
        raise Stop if error is None else Refused(error)
    if isinstance(node.func, ast.Name) and name in scope.get(ABOVE, {}):
        return helper_call(node, scope)
    operator = operator_name(node)  # np.multiply(a, b): a * b
    if operator is not None:
        if node.keywords or len(args) != operator_arity(operator):
            raise Stop  # the frontend's error
        return shape_of(operator_tree(node), scope)
    form = form_of(node)  # arity, keywords, max(x, 0.0): before any argument
    error = None if form is None else signature_error(node, name, form, scope[SRC])
    if error is not None:
        raise Refused(error)
    if name in REDUCTIONS and args:
        allowed = (
            {"axis", "keepdims", "ord"} if name == "norm" else {"axis", "keepdims"}
        )
        if {k.arg for k in node.keywords} - allowed or len(args) > 2 + 2 * (
            name == "norm"
        ):
            raise Stop  # the frontend's error comes before it reads the arguments
        if name == "norm":
            keywords = norm_keywords(node)
        else:  # sum(x, 1): the axis by position
            keywords = positional_keywords(node, ("axis", "keepdims"))
        shape = shape_of(args[0], scope)
        axes, keep = reduced_axes(shape, keywords)
        if name in NONEMPTY and 0 in (
            shape if axes is None else [shape[k] for k in axes]
        ):
            raise Stop  # the frontend's error after the axes: a max of no element
        return reduce_shape(shape, axes, keep)
    if name in AXES_GIVEN and len(args) + len(node.keywords) > 1:
        return permuted(node, name, scope)
    if name in ("expand_dims", "squeeze"):
        return new_or_dropped_axes(node, name, scope)
    if name == "einsum" and not node.keywords:
        spec = einsum_spec(args)
        return einsum_at(node, spec, operands(args[1:], scope))
    if name == "clip":
        return clip_shape(node, name, scope)
    if name in SEQUENCES:
        items = sequence_items(node)
        return sequence_at(node, name, operands(items, scope))
    if name in STACKS and isinstance(node.func, ast.Attribute):  # np.hstack
        items = stacks_items(node)
        return stacks_at(node, name, operands(items, scope))
    if name in ("var", "std") and len(args) == 1:
        return moment_at(node, name, shape_of(moment_input(node), scope))
    if name == "reshape" and len(args) == 2 and not node.keywords:
        shape = shape_of(args[0], scope)  # then the sizes, in order
        error = sizes_error(node, named_sizes(scope), scope[SRC])
        if error is not None:
            raise Refused(error)
        _, sizes, free = reshape_items(node, scope.get(DIMS, ()))
        return reshaped_at(node, shape, sizes, free)
    if form in ("pool", "conv"):  # the arrays, then the literals, then the shapes
        shapes = operands(window_arrays(node, form), scope)
        error = window_literals_error(node, name, form, scope[SRC])
        if error is not None:
            raise Refused(error)
        if form == "pool":
            _, size, stride = pool_arguments(node)
            return pooled(node, shapes[0], size, stride)
        _, _, stride, pad = conv_arguments(node)
        return convolved(node, *shapes, stride, pad)
    if name in ("softmax", "log_softmax"):
        return softmax_shape(node, name, scope)
    if node.keywords:
        raise Stop
    if name in CREATION and len(args) == 1:
        return created(args[0], scope)
    if isinstance(node.func, ast.Attribute) and name in NUMPY_ONLY and len(args) == 2:
        return numpy_call(node, name, scope)
    if name in SQUARE and len(args) == 1:
        shape = square_at(node, name, shape_of(args[0], scope))
        return shape[: len(shape) - SQUARE[name]]
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
    if name == "outer":
        return outer_at(node, *shapes)
    if name in ("diag", "trace"):
        return diagonal_at(node, name, shapes[0])
    if name == "solve":
        return solve_at(node, *shapes)
    if name in PRODUCTS:
        if name == "dot" and max(len(s) for s in shapes) > 2:
            raise Stop  # np.dot of stacks is not matmul
        return product_at(node, *shapes)
    if len(shapes[0]) < RANK_AT_LEAST.get(name, 0):
        raise Stop  # the frontend's error (tril of a vector, softmax of a Scalar)
    return shapes[0]  # ELEMENTWISE, SAME_SHAPE


def clip_shape(node: ast.Call, name: str, scope: dict) -> tuple:
    """The shape of ``clip(x, lo, hi)``: ``x`` and each bound broadcast, reported at the
    call, read in the order the frontend lowers them (``call_names.clip_arguments``, whose
    errors about the arguments are the frontend's: Refused)."""
    try:
        x, lo, hi = clip_arguments(node, scope[SRC], name)
    except FormulaError as exc:
        raise Refused(exc) from None
    bounds = [b for b in (lo, hi) if b is not None]
    return broadcast_at(node, operands([x, *bounds], scope))


def softmax_shape(node: ast.Call, name: str, scope: dict) -> tuple:
    """The shape of ``softmax(x, axis=-1)`` (``log_softmax``; the axis by keyword or
    position), ``x``'s, as ``axis_calls.call_softmax`` reads it: an array (else
    Mismatch at the call, in its words), ``axis`` an int literal in range or a tuple of
    one (else Mismatch at it in ``axis_int``'s or ``norm_axis``'s words; Refused at a
    tuple of several, the frontend's error), an axis of no literal size 0; Stop at any
    other argument."""
    given = {k.arg: k.value for k in positional_keywords(node, ("axis",))}
    if len(node.args) not in (1, 2) or set(given) - {"axis"}:
        raise Stop
    shape = shape_of(node.args[0], scope)
    if not shape:
        raise Mismatch(node, f"{name}() needs an array, not a scalar")
    axes = (len(shape) - 1,)
    if "axis" in given:
        axes = read_axes(given["axis"], len(shape))
    if len(axes) != 1:
        raise Refused(scope[SRC].error(node, f"{name}() takes a single axis"))
    if shape[axes[0]] == 0:
        raise Stop  # the frontend's error: softmax over no element
    return shape


def created(arg, scope: dict) -> tuple:
    """The shape ``zeros(shape)``, ``ones(shape)`` and ``np.full(shape, fill)`` make
    (``reshape_shapes.created_shape``)."""
    return created_shape(arg, scope.get(DIMS, ()), named_sizes(scope), scope[SRC])


def named_sizes(scope: dict) -> set:
    """Every name the frontend reads as a dimension where ``scope`` is: the parameters'
    and the return's dimensions, the loop variables."""
    return {*scope.get(SIZES, scope.get(DIMS, ())), *scope.get(LOOPS, ())}


def numpy_call(node: ast.Call, name: str, scope: dict) -> tuple:
    """The shape of ``np.inner(a, b)`` (``numpy_calls.call_inner``: ``a @ b.T`` of values
    of at most 2 dimensions, ``a @ b`` of a vector ``b``, a product with a scalar) and of
    ``np.full(shape, fill)`` and ``np.full_like(x, fill)`` (a scalar ``fill`` at every
    entry); Stop where the frontend refuses them."""
    first, fill = node.args
    if name == "inner":
        sa, sb = operands(node.args, scope)
        if not sa or not sb:
            return broadcast_at(node, [sa, sb])
        if len(sa) > 2 or len(sb) > 2:
            raise Stop
        return product_at(node, sa, sb[::-1])
    shape = created(first, scope) if name == "full" else shape_of(first, scope)
    if shape_of(fill, scope):
        raise Stop  # full() fills with a scalar: the frontend's error
    return shape


def helper_call(node: ast.Call, scope: dict) -> tuple:
    """The shape of a call of a function defined above, whose arguments the frontend
    lowers first: a ``@fuse`` function read whole is elementwise (its arguments broadcast
    as ``maximum``'s do); a function read whole gives its declared return with its
    dimension names bound to its arguments' sizes (``function_shapes.bound_return``); Stop
    after the arguments of any other. Refused at a call with keywords or another number
    of arguments (``function_shapes.arity_error``)."""
    arity, whole, sig = scope[ABOVE][node.func.id]
    if node.keywords or arity != len(node.args):
        raise Refused(arity_error(node, node.func.id, arity, scope[SRC]))
    shapes = operands(node.args, scope)
    if whole:
        return broadcast_at(node, shapes)
    if sig is None:
        raise Stop
    return bound_return(node, sig, shapes)


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
