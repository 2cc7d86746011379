"""Unknown names (``x + yy``), found on the syntax tree before anything is lowered.

Like ``call_names.unknown_call``, ``unknown_name`` needs nothing but ``ast``, so the
command line reports a misspelt variable before it imports SymPy and the compiler
(``cli/main.py`` ``precheck``; bench/README.md, start-up) and ``text.parse`` runs the
same check first, so the API reports the same error. ``unknown_names`` runs both: the
unknown functions of the whole file first, then the unknown names.

The check is conservative: it reports a name only where the frontend would lower it as
a value and could not find it whatever the order of the statements. A name counts as
known if the function binds it anywhere (a parameter, a dimension of any annotation, an
assignment or loop variable, before or after the use), if the file assigns it at the
top level, or if it names a constant, a function or a module (``np``); the frontend
finds the rest (a name used before it is assigned, a name in a slice or a keyword). It
reads only the expressions the frontend lowers as values (operands, comparisons, the
arguments of calls, a subscript's array and indices, ``x`` of ``x.T``) and stops at the
first statement holding anything else, where the frontend may stop first for another
reason.
It stops too at a function whose signature the frontend refuses (``*args``, a parameter
without a type). An unknown name is reported before the errors that need shapes, and
before a wrong count of dimensions in an annotation, as unknown functions are.
"""

from __future__ import annotations

import ast

from ..core.names import function_name_problem
from ..errors import FormulaError
from .call_names import (
    BUILT_IN,
    CALL_NAMES,
    NUMPY_CALL_NAMES,
    NUMPY_OPERATORS,
    called_name,
    is_range,
    plain_decorators,
    unknown_call,
)
from .loop_reads import assigned_names, early_read, plain_loop
from .refusals import (
    fuse_signature_error,
    into_parameter,
    plain_constant,
    refused_before,
    typed_signature,
)
from .source import Source, did_you_mean, is_docstring
from .type_names import annotation_dims

#: the names ``scope.CONSTANTS`` holds, and the types of ``annotations.read_type`` (data,
#: so that reading them imports nothing)
CONSTANT_NAMES = frozenset({"pi", "e"})
TYPE_NAMES = frozenset({"Scalar", "Vector", "Matrix", "Tensor", "Index"})
#: expression nodes read here; any other stops the check at its statement
READ = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call)
#: nodes passed over (a slice, a shape, an axis list: read by the frontend's own rules)
PASSED = (ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Slice)
#: calls whose arguments after the first are shapes, axes or sizes, not values (tied to
#: the frontend by tests/test_value_name_precheck.py, each call argument misspelt)
SHAPE_CALLS = frozenset(
    {"reshape", "transpose", "zeros", "ones", "arange", "eye", "identity"}
    | {"tile", "repeat"}
)
#: calls whose first argument is a list of the values they join
SEQUENCE_CALLS = frozenset({"stack", "concatenate", "hstack", "vstack", "column_stack"})


def unknown_names(tree: ast.Module, src: Source) -> FormulaError | None:
    """The error for the file's first unknown function or unknown name, whichever comes
    first (as the frontend words each), or None."""
    found = [e for e in (unknown_call(tree, src), unknown_name(tree, src)) if e]
    return min(found, key=lambda e: (e.line, e.col), default=None)


def unknown_name(tree: ast.Module, src: Source) -> FormulaError | None:
    """The error for the first name in the exported functions of ``tree`` that nothing
    in the file binds, or None (also when the check stops first: see the module)."""
    body = list(tree.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    defs = {s.name for s in body if isinstance(s, ast.FunctionDef)}
    top = {n for s in body if isinstance(s, ast.Assign) for n in assigned(s)}
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            if not plain_constant(stmt, src, CALL_NAMES | CONSTANT_NAMES | defs):
                return None  # the frontend's error first
            continue
        if not isinstance(stmt, ast.FunctionDef) or not plain_decorators(stmt):
            return None
        if function_name_problem(stmt.name):
            return None  # the frontend refuses the name first
        if any(isinstance(d, ast.Name) for d in stmt.decorator_list):
            if fuse_signature_error(stmt, src) is not None:
                return None
            continue  # @fuse: lowered where it is called
        found = in_function(stmt, src, top, defs)
        if found is not False:
            return found
    return None


def in_function(fn: ast.FunctionDef, src: Source, top: set, defs: set):
    """The unknown-name error in ``fn``'s body; None where the check stops; False when
    it has none."""
    stmts = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
    if not stmts or not isinstance(stmts[-1], ast.Return) or stmts[-1].value is None:
        return None
    if not plain_signature(fn) or not typed_signature(fn, src, top | CONSTANT_NAMES):
        return None  # the frontend refuses the signature before the body
    known = bound_names(fn) | top | defs | CONSTANT_NAMES | CALL_NAMES
    known |= {"arange", "np", "numpy"}
    hints = before(fn, top)
    params = frozenset(a.arg for a in fn.args.args)
    # names an assignment may not bind: the frontend refuses it before its value
    fixed = (hints - params) | BUILT_IN | defs
    dims = frozenset(
        n.id
        for a in fn.args.args
        for d in annotation_dims(a.annotation)
        for n in ast.walk(d)
        if isinstance(n, ast.Name)
    )
    return in_statements(stmts, src, known, hints, defs, params, fixed=fixed, dims=dims)


def plain_signature(fn: ast.FunctionDef) -> bool:
    """Whether ``fn``'s parameters are distinct plain names, each annotated, and every
    annotation (the return's too) names a type (``Scalar``, ``Vector[...]``, ...)."""
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
        return False
    names = [p.arg for p in a.args]
    annotations = [p.annotation for p in a.args] + [fn.returns]
    return len(set(names)) == len(names) and all(
        type_name(t) in TYPE_NAMES for t in annotations
    )


def type_name(ann) -> str | None:
    """``Vector`` of ``Vector[n]`` (``Scalar`` of ``Scalar``), or None."""
    if isinstance(ann, ast.Subscript):
        ann = ann.value
    return ann.id if isinstance(ann, ast.Name) else None


def in_statements(
    stmts: list,
    src: Source,
    known: set,
    hints: set,
    defs: set,
    params: frozenset = frozenset(),
    in_loop: bool = False,
    fixed: frozenset = frozenset(),
    dims: frozenset = frozenset(),
):
    """The first unknown-name error in ``stmts`` (a function's body ending with its
    return, or a loop's body, ``in_loop``); None where the check stops; False when there
    is none. ``hints`` grows with the names each statement binds (the frontend's
    candidates for "did you mean"); an item assignment into one of the function's
    ``params`` stops the check (``into_parameter``), and so does an assignment to one
    of the names ``fixed`` (a constant, function, dimension or built-in name); a loop
    over a range of other bounds than int literals and the names ``dims`` stops it."""
    hints = set(hints)  # this body's own: a loop's names stay in the loop
    last = stmts[-1] if stmts and not in_loop else None
    for s in stmts:
        if into_parameter(s, params):
            return None  # the frontend's error, if the name still holds the parameter
        if isinstance(s, ast.Assign) and assigned(s) & fixed:
            return None  # "cannot assign to ...", before the value is read
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            if s.target.id in fixed or s.target.id not in hints:
                return None  # "... is used before it is assigned", before the value
        if isinstance(s, ast.For):
            if s.orelse or not is_range(s.iter) or not isinstance(s.target, ast.Name):
                return None
            if s.target.id in BUILT_IN:
                return None  # "cannot assign to ...", before the body is read
            if not plain_loop(s, hints, dims):
                return None  # the variable's or the range's error, before the body
            if early_read(s.body, assigned_names(s.body), hints - fixed) is not None:
                return None  # "... is read before it is assigned in the loop"
            inner = hints | {s.target.id}
            found = in_statements(
                s.body, src, known, inner, defs, params, True, fixed, dims
            )
        elif isinstance(s, ast.Return) and (s.value is None or s is not last):
            return None  # a bare return, one before the end: the frontend's errors
        elif isinstance(s, ast.Return) or plain_assignment(s):
            found = in_value(s.value, src, known, hints, defs)
        else:
            return None
        if found is not False:
            return found
        if refused_before(s, None, src):
            return None  # the frontend refuses it (`x // 2`)
        hints |= assigned(s)
    return False


def plain_assignment(s) -> bool:
    """Whether ``s`` is an assignment the frontend lowers: one name or item target, or
    ``+= -= *= /=`` (``x, y = ...``, ``a = b = ...``, ``x **= 2`` are refused)."""
    if isinstance(s, ast.Assign):
        return len(s.targets) == 1 and isinstance(
            s.targets[0], (ast.Name, ast.Subscript)
        )
    return (
        isinstance(s, ast.AugAssign)
        and isinstance(s.target, (ast.Name, ast.Subscript))
        and isinstance(s.op, (ast.Add, ast.Sub, ast.Mult, ast.Div))
    )


def in_value(node, src: Source, known: set, hints: set, defs: set):
    """The first unknown name among the values of expression ``node``, in source order;
    None if ``node`` holds an expression the check does not read; False if none."""
    names = []
    for n in ast.walk(node):
        if not isinstance(n, READ + PASSED) and not isinstance(
            n, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.keyword)
        ):
            return None
        if isinstance(n, ast.Call) and not known_call(n, defs):
            return None  # the frontend reports the function (len(y) of a value)
    for n in values(node):
        if n.id not in known:
            names.append(n)
    if not names:
        return False
    first = min(names, key=lambda n: (n.lineno, n.col_offset))
    if refused_before(node, first, src):
        return None  # the frontend refuses something first (`x // 2 + yy`)
    hint = did_you_mean(first.id, hints) or did_you_mean(
        first.id, CALL_NAMES | {"arange"} | defs
    )
    return src.error(first, f"unknown name '{first.id}'{hint}")


def known_call(node: ast.Call, defs: set) -> bool:
    """Whether ``node`` calls an operation, ``arange``, a function of the file or, with
    the ``np.`` prefix, NumPy's function of an operator or another spelling."""
    name = called_name(node)
    if isinstance(node.func, ast.Name):
        return name in CALL_NAMES or name == "arange" or name in defs
    return (
        name in CALL_NAMES
        or name == "arange"
        or name in NUMPY_OPERATORS
        or name in NUMPY_CALL_NAMES
    )


def values(node) -> list[ast.Name]:
    """The names ``node`` reads as values: operands, comparisons, the arguments of a
    call (``call_values``), ``x`` of ``x.T``, the array of a subscript and its indices;
    not slices (their bounds are dimensions), keywords, other tuples and lists, or
    other attributes."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            out.append(n)
        elif isinstance(n, ast.BinOp):
            stack += [n.left, n.right]
        elif isinstance(n, ast.UnaryOp):
            stack.append(n.operand)
        elif isinstance(n, ast.Compare):
            stack += [n.left, *n.comparators]
        elif isinstance(n, ast.Call):
            stack += call_values(n)
        elif isinstance(n, ast.Attribute) and n.attr == "T":
            stack.append(n.value)
        elif isinstance(n, ast.Subscript):
            index = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            stack += [n.value, *(i for i in index if not isinstance(i, ast.Slice))]
    return out


def call_values(node: ast.Call) -> list:
    """The arguments of a call that are values: every positional one, but only the
    first of ``SHAPE_CALLS`` (none of ``zeros``, ``ones``, ``arange``, ``eye``; ``full``'s
    fill), and the items of the sequence ``stack``, ``concatenate`` and the like join."""
    name = called_name(node)
    if name in ("zeros", "ones", "arange", "eye", "identity"):
        return []
    if name == "full":
        return node.args[1:]
    if name in SHAPE_CALLS:
        return node.args[:1]
    if name in SEQUENCE_CALLS and node.args:
        first = node.args[0]
        items = first.elts if isinstance(first, (ast.Tuple, ast.List)) else [first]
        return [*items, *node.args[1:]]
    return list(node.args)


def assigned(stmt) -> set[str]:
    """The names ``stmt`` binds: assignment targets (a tuple's names too), loop variables
    and what a loop's body assigns (an item assignment binds nothing new)."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AugAssign):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Return):
        return set()
    else:
        targets = [stmt]
    return {
        n.id
        for t in targets
        for n in ast.walk(t)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def bound_names(fn: ast.FunctionDef) -> set[str]:
    """Every name ``fn`` binds anywhere: parameters, the names in any annotation
    (dimensions), assignment targets and loop variables."""
    out = {a.arg for a in fn.args.args}
    for stmt in fn.body:
        out |= assigned(stmt)
    for ann in [a.annotation for a in fn.args.args] + [fn.returns]:
        if ann is not None:
            out |= {n.id for n in ast.walk(ann) if isinstance(n, ast.Name)}
    return out


def before(fn: ast.FunctionDef, top: set) -> set[str]:
    """The names the frontend knows as values at ``fn``'s first statement (its "did you
    mean" candidates there): parameters, dimensions, constants."""
    out = {a.arg for a in fn.args.args} | CONSTANT_NAMES | top
    for ann in [a.annotation for a in fn.args.args]:
        if ann is not None:
            out |= {n.id for n in ast.walk(ann) if isinstance(n, ast.Name)}
    return out - TYPE_NAMES
