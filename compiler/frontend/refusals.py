"""The errors the frontend raises at a node by its form alone, before it lowers anything
inside it: an expression a formula does not have (``refused_at``, which ``scope.expr``
raises), a statement it does not have (``form_error``: ``statements.lower_statement`` and
a loop body), a function that does not end with ``return`` (``ending_error``), a
signature (``read_signature``: ``statements.lower_function``), a ``@fuse`` function's
signature, a loop over anything but ``range`` (``range_error``), Python's ``max(a, b)``
(``pairwise_error``), an item assignment into a parameter (``parameter_assignment_error``:
``loops.lower_setitem``), and a module-level name that is taken (``new_name_error``,
``function_name_error``: ``text.py``).

They need nothing but ``ast`` and the file's text, so the syntax-tree checks that answer
before SymPy is imported (``early.py``) report the same errors, by the same functions,
where they have read everything before the node (issue 16: a ``FILE:LINE:COL`` error in
under 0.3 s).
"""

from __future__ import annotations

import ast

from ..core.names import function_name_problem
from ..errors import FormulaError
from .call_arguments import operands, plain_sizes, size_argument
from .dimension_refusals import (
    dimension_named_error,
    parameter_dims_read,
    return_dims_read,
)
from .index_refusals import refused_items, slice_error
from .module_refusals import plain_wrt_names, wrt_form_error, wrt_name_error
from .source import MAX_DEPTH, Source, depth, is_int_literal, literal
from .type_names import annotation_dims, differentiation_error, type_error
from .unsupported import operator_error, repeated_keyword, unsupported

#: the expression nodes a formula has (the keys of ``scope.EXPRESSIONS``, which ``text.py``
#: fills; tests/test_syntax_precheck.py ties the two)
EXPRESSION_TYPES = (
    ast.Name,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Attribute,
    ast.Subscript,
    ast.Call,
    ast.Compare,
)
#: the binary operators a formula has (the keys of ``expressions.BINOPS``)
BINARY_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)
#: the largest exponent a formula may write
MAX_EXPONENT = 1e6
#: the error at an exponent past it, literal or folded
EXPONENT_TOO_LARGE = f"exponent too large (limit {MAX_EXPONENT:g})"
#: NumPy's constants a formula reads as ``np.pi`` and ``np.e`` (``scope.CONSTANTS``)
NP_CONSTANTS = ("pi", "e")


def refused_at(node, src: Source) -> FormulaError | None:
    """The error the frontend raises at expression ``node`` before it lowers anything
    inside it, or None: syntax a formula does not have (a tuple, a lambda, ``a if c else
    b``), an operator it does not have (``//``, ``^``, ``not``), a literal that is not a
    number or not a finite one of bounded length, ``None`` outside an index, an exponent
    literal past ``MAX_EXPONENT``, an attribute other than ``.T``, ``np.pi`` and
    ``np.e``, and a call given a keyword twice (Python's own syntax error)."""
    if not isinstance(node, EXPRESSION_TYPES):
        return unsupported(node, src, "in a formula")
    if isinstance(node, ast.Call):
        return repeated_keyword(node, src)
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, BINARY_OPERATORS):
            return operator_error(node, node.op, src)
        if isinstance(node.op, ast.Pow) and too_large(node.right):
            return src.error(node.right, EXPONENT_TOO_LARGE)
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
        return operator_error(node, node.op, src)
    if isinstance(node, ast.Constant):
        if node.value is None:
            return src.error(node, "None is only allowed inside an index")
        try:
            literal(node, src, literal_problem(node.value))
        except FormulaError as exc:
            return exc
    if isinstance(node, ast.Attribute) and node.attr != "T" and not np_constant(node):
        return attribute_error(node, src)
    return None


def too_large(node) -> bool:
    """Whether ``node`` is a number literal (not a bool) past ``MAX_EXPONENT``."""
    v = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
    return type(v) in (int, float) and abs(v) > MAX_EXPONENT


def np_constant(node: ast.Attribute) -> bool:
    """Whether ``node`` is ``np.pi``, ``np.e`` or ``numpy.pi``, ``numpy.e``."""
    return (
        isinstance(node.value, ast.Name)
        and node.value.id in ("np", "numpy")
        and node.attr in NP_CONSTANTS
    )


def literal_problem(v) -> str:
    """The error message for a literal that is not a number (``...``, ``True``, ``1j``)."""
    if v is Ellipsis:
        return "`...` is not supported (write the slices out: `x[:, 0]`)"
    if isinstance(v, bool):
        return f"`{v}` is not a number here; write {float(v)}"
    if isinstance(v, complex):
        return "a complex number is not supported (formulas are real-valued)"
    if isinstance(v, bytes):
        return "a bytes string is not supported in a formula"
    return "this literal is not a number"


def attribute_error(node: ast.Attribute, src: Source) -> FormulaError:
    """The error for ``x.attr`` other than ``.T`` and ``np.pi``/``np.e``, with what to
    write instead where there is an obvious alternative."""
    if isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy", "math"):
        return src.error(
            node,
            f"'{ast.unparse(node)}' is not a formula constant (the "
            "constants are `pi` and `e`, or `np.pi` and `np.e`)",
        )
    if node.attr in ("shape", "size", "ndim"):
        return src.error(
            node,
            f"attribute access '.{node.attr}' is not supported; sizes "
            "are dimension names: in `x: Vector[n]`, write `n`",
        )
    return src.error(
        node, f"attribute access '.{node.attr}' is not supported (only .T)"
    )


def form_error(stmt, src: Source, in_loop: bool = False) -> FormulaError | None:
    """The error for a statement of a function body (of a loop body if ``in_loop``) that
    the frontend refuses by its form, or None for a loop, an item assignment, an
    assignment of one name and ``name += -= *= /= value``."""
    if in_loop and isinstance(stmt, (ast.Break, ast.Continue)):
        return src.error(
            stmt,
            f"`{type(stmt).__name__.lower()}` is not supported: a loop runs a fixed "
            "number of times, for t in range(...)",
        )
    if in_loop and isinstance(stmt, ast.If):
        return src.error(
            stmt,
            "an if statement is not supported; inside loops too, use "
            "`where(cond, a, b)`",
        )
    if isinstance(stmt, ast.For):
        return None
    if isinstance(stmt, ast.Assign):
        if isinstance(stmt.targets[-1], ast.Subscript) and len(stmt.targets) == 1:
            return None
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            return assignment_error(stmt, src)
        return None
    if isinstance(stmt, ast.AugAssign):
        if isinstance(stmt.target, ast.Subscript):
            return None
        if not isinstance(stmt.target, ast.Name) or not isinstance(
            stmt.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)
        ):
            return augassign_error(stmt, src)
        return None
    if isinstance(stmt, ast.Return):
        return src.error(stmt, "'return' must be the last statement")
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return src.error(
            stmt, "a string or value on its own line is not a statement here"
        )
    if isinstance(stmt, ast.AnnAssign):
        return src.error(
            stmt, "annotated assignments are not supported; write 'x = ...'"
        )
    return unsupported(stmt, src, "in a formula")


def assignment_error(stmt: ast.Assign, src: Source) -> FormulaError:
    """The error for an assignment to something other than one name."""
    target = stmt.targets[-1]
    if isinstance(target, ast.Subscript):
        return unsupported(target, src, "(it is planned)")
    if len(stmt.targets) > 1:
        return src.error(
            stmt, "assign one name at a time: `a = ...`, not `a = b = ...`"
        )
    return src.error(
        stmt,
        "assign one name at a time: `a = ...` on one line, `b = ...` on the "
        "next (unpacking into several names is not supported)",
    )


def augassign_error(stmt: ast.AugAssign, src: Source) -> FormulaError:
    """The error for an augmented assignment other than ``name += -= *= /= value``."""
    if not isinstance(stmt.target, ast.Name):
        return unsupported(stmt.target, src, "(it is planned)")
    value = (
        stmt.value if depth(stmt.value) <= MAX_DEPTH else ast.Name("...")
    )  # unparse recurses
    spelled = ast.unparse(ast.BinOp(stmt.target, stmt.op, value))
    op = spelled[len(stmt.target.id) + 1 :].split(" ", 1)[0]
    hint = (
        f"; write `{stmt.target.id} = {spelled}`"
        if isinstance(stmt.op, BINARY_OPERATORS)
        else ""
    )
    return src.error(
        stmt, f"`{op}=` is not supported (only `+=`, `-=`, `*=` and `/=`){hint}"
    )


def ending_error(fn: ast.FunctionDef, body: list, src: Source) -> FormulaError | None:
    """The error for a function whose ``body`` (its docstring left out) does not end
    with ``return <expression>``, or None."""
    if body and isinstance(body[-1], ast.Return) and body[-1].value is not None:
        return None
    return src.error(
        body[-1] if body else fn,
        f"function '{fn.name}' must end with 'return <expression>'",
    )


def fuse_signature_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The error for a ``@fuse`` function that does not take and return Scalars or has
    ``@wrt``, or None."""
    for a in fn.args.args:
        if not (isinstance(a.annotation, ast.Name) and a.annotation.id == "Scalar"):
            return src.error(
                a, f"@fuse function '{fn.name}': parameter '{a.arg}' must be Scalar"
            )
    if not (isinstance(fn.returns, ast.Name) and fn.returns.id == "Scalar"):
        return src.error(fn, f"@fuse function '{fn.name}' must return Scalar")
    if any(isinstance(d, ast.Call) for d in fn.decorator_list):
        return src.error(fn, f"@fuse function '{fn.name}' cannot have @wrt")
    return None


def refused_before(tree, node, src: Source, dims=frozenset()) -> bool:
    """Whether an expression of ``tree`` that starts no later than ``node`` (its
    ancestors among them, an index's expressions; not ``node``, nor what it holds, nor
    an index's literals and slices, a keyword's value or a called function's name,
    which the frontend reads by rules of their own) is one ``refused_at`` refuses, an
    index item the frontend refuses (``index_refusals.refused_items``), a slice whose
    bounds hold anything but an expression of ``dims`` (the function's dimension names)
    or whose step the frontend refuses (``cut_items``), or the sizes of ``zeros``,
    ``ones``, ``full`` or ``reshape`` other than ``call_arguments.plain_sizes``: the
    frontend may stop there before it reaches ``node`` (the unknown-name and
    unknown-function checks report ``node`` only where it may not). With ``node`` None:
    anywhere in ``tree``."""
    at = (float("inf"), 0) if node is None else (node.lineno, node.col_offset)
    stack = [tree]
    while stack:
        n = stack.pop()
        if n is node or isinstance(n, ast.keyword):
            continue
        if isinstance(n, ast.expr) and (n.lineno, n.col_offset) <= at:
            if refused_at(n, src) is not None:
                return True
        if isinstance(n, ast.Subscript):
            if any((i.lineno, i.col_offset) <= at for i in refused_items(n.slice)):
                return True
            if any(
                (i.lineno, i.col_offset) <= at for i in cut_items(n.slice, dims, src)
            ):
                return True
            items = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            stack.append(n.value)  # and the index's expressions (`x[i // 2]`)
            stack.extend(
                i for i in items if not isinstance(i, (ast.Constant, ast.Slice))
            )
        elif isinstance(n, ast.Call):
            sizes = size_argument(n)
            if sizes is not None and (sizes.lineno, sizes.col_offset) <= at:
                if not plain_sizes(n, sizes, dims):
                    return True
            stack.extend(operands(n, sizes))
        else:
            stack.extend(ast.iter_child_nodes(n))
    return False


def cut_items(index, dims, src: Source) -> list:
    """The slices of a subscript's ``index`` whose bounds or step the frontend refuses,
    or holding a name other than ``dims`` (``index_refusals.slice_error``)."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    return [
        i
        for i in items
        if isinstance(i, ast.Slice) and slice_error(i, dims, src) is not None
    ]


def signature_error(fn: ast.FunctionDef, src: Source, constants) -> FormulaError | None:
    """The frontend's first error in the signature of the exported function ``fn`` where
    it is one of form (``read_signature``), else None."""
    found = read_signature(fn, src, constants)
    return found if isinstance(found, FormulaError) else None


def typed_signature(fn: ast.FunctionDef, src: Source, constants) -> bool:
    """Whether the frontend reads the signature of the exported function ``fn`` without
    an error of its own (``read_signature``): the unknown-name checks read its body only
    then."""
    return read_signature(fn, src, constants) is True


def read_signature(fn: ast.FunctionDef, src: Source, constants) -> FormulaError | bool:
    """The frontend's first error in the signature of the exported function ``fn`` where
    it is one of form, in ``statements.lower_function``'s order: parameters that are not
    plain names, a ``@wrt`` of another form (``wrt_form_error``), then a parameter's
    annotation that is no type (``type_error``: ``x: float``, ``Vectr[n]``,
    ``Matrix[n]``) or a dimension in it the frontend refuses (``dimension_refusals.py``:
    a name that stands alone in no parameter's annotation, a constant, a literal or
    other node that is no dimension, a value below 1), after plain ones, then the
    return's (a name in an expression that is no dimension), then a parameter named as a
    dimension (``dimension_named_error``); True where it reads the signature without an
    error; False where something may fail that this does not decide (a ``@wrt`` naming
    no parameter, a dimension named as one of ``constants``, a dimension expression the
    frontend may refuse otherwise)."""
    a = fn.args
    error = parameters_error(fn, src)
    if error is not None:
        return error
    error = wrt_form_error(fn, src)
    if error is not None:
        return error
    dims = {
        d.id
        for p in a.args
        for d in annotation_dims(p.annotation)
        if isinstance(d, ast.Name)
    }
    if dims & set(constants):
        return False
    seen: set[str] = set()
    for p in a.args:
        if p.arg in seen:
            return duplicate_error(p, src)
        error = type_error(p.annotation, src, ("parameter " + p.arg, p))
        if error is not None:
            return error
        seen.add(p.arg)
        read = parameter_dims_read(p.annotation, dims, constants, src)
        if read is not True:
            return read
    for name, node in plain_wrt_names(fn).items():  # of names: wrt_form_error's
        if name not in seen:
            return wrt_name_error(name, node, src)
    error = type_error(fn.returns, src, ("the return", fn))
    if error is not None:
        return error
    read = return_dims_read(fn.returns, dims, constants, src)
    if read is not True:
        return read
    return dimension_named_error(fn, src) or differentiation_error(fn, src) or True


def duplicate_error(p: ast.arg, src: Source) -> FormulaError:
    """The error at the parameter ``p`` whose name an earlier parameter has."""
    return src.error(p, f"duplicate parameter '{p.arg}'")


def parameters_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The error for parameters that are not plain names (a default, ``*args``,
    ``**kw``, keyword-only or positional-only ones), or None."""
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
        return src.error(
            fn, "parameters must be plain annotated names (no defaults, *args, **kw)"
        )
    return None


def range_error(node, src: Source) -> FormulaError | None:
    """The error for a loop over anything but ``range(stop)``, ``range(start, stop)`` or
    ``range(start, stop, step)`` (``for e in v``; ``loops.read_range`` raises it), or
    None."""
    if is_range(node):
        return None
    return src.error(
        node,
        "a for loop runs over range(stop), range(start, stop) or "
        "range(start, stop, step)",
    )


def is_range(node) -> bool:
    """Whether ``node`` is ``range(...)`` with one to three arguments."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and 1 <= len(node.args) <= 3
        and not node.keywords
    )


#: the elementwise function of two values for each reduction Python's builtin of two
#: arguments would be (``max(a, b)``)
PAIRWISE = {"max": "maximum", "min": "minimum"}


def pairwise_error(node: ast.Call, name: str, src: Source) -> FormulaError | None:
    """The error for Python's ``max(a, b)`` (``min``) where the second argument is not an
    axis (``axis_calls.call_reduction`` raises it): a formula's ``max`` is NumPy's
    ``np.max(x, axis)``; the larger of two values is ``maximum(a, b)``. None otherwise."""
    if name not in PAIRWISE or len(node.args) != 2:
        return None
    second = node.args[1]
    items = second.elts if isinstance(second, ast.Tuple) else [second]
    if all(is_int_literal(it) for it in items):
        return None
    return src.error(
        second,
        f"the second argument of {name}() is an axis, as in NumPy's np.{name}(x, "
        f"axis); the {'larger' if name == 'max' else 'smaller'} of two values is "
        f"`{PAIRWISE[name]}({ast.unparse(node.args[0])}, {ast.unparse(second)})`",
    )


def into_parameter(stmt, params) -> bool:
    """Whether ``stmt`` is an item assignment into one of the names ``params`` (the
    function's parameters): the frontend refuses it before it reads the statement if the
    name still holds the parameter (``parameter_assignment_error``), so the name checks
    stop there."""
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else None
    if isinstance(stmt, ast.AugAssign):
        target = stmt.target
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id in params
    )


def parameter_assignment_error(base: ast.Name, src: Source) -> FormulaError:
    """The error for an item assignment into the function's parameter ``base`` (raised
    by ``loops.lower_setitem``; parameters are read-only)."""
    name = base.id
    return src.error(
        base,
        f"cannot assign into parameter '{name}': assign into a local array (made "
        f"with zeros(shape), zeros_like({name}) or computed)",
    )


def new_name_error(
    name: str, node, src: Source, reserved, taken
) -> FormulaError | None:
    """The error for a module-level name that is a built-in name (``reserved``) or one
    already defined (``taken``), or None (``text.check_new_name`` raises it)."""
    if name in reserved:
        return src.error(node, f"'{name}' is a built-in name and cannot be redefined")
    if name in taken:
        return src.error(node, f"'{name}' is already defined")
    return None


def function_name_error(name: str, node, src: Source) -> FormulaError | None:
    """The error for an exported function's name that would clash in the generated
    module (``names.function_name_problem``), or None (``text.check_function_name``)."""
    problem = function_name_problem(name)
    return (
        None
        if problem is None
        else src.error(node, f"function name '{name}' {problem}")
    )


def plain_constant(stmt: ast.Assign, src: Source, reserved) -> bool:
    """Whether the top-level ``stmt`` is one the frontend reads without an error
    (``text.read_constant``): ``NAME = number`` or ``NAME = -number``, a finite literal
    of bounded length, ``NAME`` not in ``reserved``."""
    value = stmt.value
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        value = value.operand
    target = stmt.targets[0]
    if len(stmt.targets) != 1 or not isinstance(target, ast.Name):
        return False
    if target.id in reserved or not isinstance(value, ast.Constant):
        return False
    try:
        literal(value, src, "")
    except FormulaError:
        return False
    return True
