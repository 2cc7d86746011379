"""Unknown names (``x + yy``) and unknown functions, found on the syntax tree before
anything is lowered.

``unknown_names`` needs nothing but ``ast``, so the command line reports a misspelt
variable or function before it imports SymPy and the compiler (``cli/main.py``
``precheck``; bench/README.md, start-up) and ``text.parse`` runs the same check first,
so the API reports the same error. One walk of each exported function's statements
(``in_statements``) reads, in each assignment and return, the first unknown name
(``in_value``) and the first unknown function (``call_names.statement_call_error``),
and reports the one the frontend meets first.

The check reports a name where the frontend lowers it as a value and does not know
it there: a name counts as known if it is a parameter, a dimension of an annotation (the
return's too), a module constant or ``pi``/``e``, or a name the statements before it
assign (a loop's own names stay in the loop; a name a loop reads before it assigns it
stops the check); an operation's name (``return softmax``) is the frontend's other
error, "is a function; call it", and a function of the file stops the check (the
frontend words it by where the function is defined); ``np``, ``arange`` and ``Vector``
are unknown names. The body of a ``@fuse`` function is read as the frontend lowers it,
where the function is called: its error is reported at the first call, once the call's
arguments are read (``call_names.statement_call_error``). A name in a slice or a shape
is the shape check's (``statement_shapes.py``: "not a dimension"). It reads only the
expressions the frontend
lowers as values (operands, comparisons, the arguments of calls, a subscript's array
and indices, ``x`` of ``x.T``; the shapes ``zeros`` and ``reshape`` read, in
``call_forms.stops_before``) and stops at the first statement holding anything else,
where the frontend may stop first for another reason. It stops too at a function whose
signature the frontend refuses (``*args``, a parameter without a type). An unknown name
is reported before the errors that need shapes, and before a wrong count of dimensions
in an annotation, as unknown functions are.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from ..core.names import function_name_problem
from ..errors import FormulaError
from .call_arguments import SEQUENCE_CALLS, dimension_names
from .call_forms import stops_before, values_of
from .call_names import (
    BUILT_IN,
    CALL_NAMES,
    called_name,
    plain_decorators,
    statement_call_error,
)
from .first_refusals import ARITHMETIC, END, refused_first
from .loop_reads import assigned_names, early_read, plain_loop
from .refusals import (
    fuse_signature_error,
    into_parameter,
    is_range,
    plain_constant,
    refused_before,
    typed_signature,
)
from .shape_reading import loop_index, new_axis
from .source import Source, did_you_mean, is_docstring, is_int_literal
from .type_names import annotation_dims, type_name

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


class Names(NamedTuple):
    """What the checks read in one function's body: the file's functions (``defs``),
    its parameters (an item assignment
    into one stops the checks), the names an assignment may not bind (``fixed``: a
    constant, function, dimension or built-in name), its dimension names, what
    ``call_names.statement_call_error`` reads (``calls``), the ``@fuse`` functions
    whose bodies the check does not clear (``unread``: a call of one stops it) and those
    whose bodies hold an unknown name or function (``fused``: each one's number of
    parameters and error, which the frontend raises where a call of it has lowered its
    arguments), its ``Index`` parameters (``indexes``) and the variables of the loops
    around the statement read (``loops``)."""

    defs: frozenset
    params: frozenset
    fixed: frozenset
    dims: frozenset
    calls: tuple
    unread: frozenset
    fused: dict
    indexes: frozenset = frozenset()
    loops: frozenset = frozenset()


def unknown_names(tree: ast.Module, src: Source) -> FormulaError | None:
    """The error for the first unknown function or name in the exported functions of
    ``tree``, whichever the frontend meets first (as it words each), or None (also when
    the check stops first: see the module)."""
    body = list(tree.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    first: dict = {}  # each function's first definition, as ``src.defs``
    for s in body:
        if isinstance(s, ast.FunctionDef):
            first.setdefault(s.name, s)
    defs = frozenset(first)
    top = {n for s in body if isinstance(s, ast.Assign) for n in assigned(s)}
    above = CALL_NAMES | {"arange"}  # what a call may name: the functions above too
    taken: set = set()  # the constants and functions defined so far
    unread: frozenset = frozenset()  # @fuse functions whose bodies the check stops in
    fused: dict = {}  # @fuse functions whose bodies hold an error: arity, the error
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            if not plain_constant(stmt, src, above | CONSTANT_NAMES | defs):
                return None  # the frontend's error first
            if assigned(stmt) & taken:
                return None  # "... is already defined"
            taken |= assigned(stmt)
            continue
        if not isinstance(stmt, ast.FunctionDef) or not plain_decorators(stmt):
            return None
        if stmt.name in taken | BUILT_IN:
            return None  # "... is already defined", "... is a built-in name"
        taken.add(stmt.name)
        if function_name_problem(stmt.name):
            return None  # the frontend refuses the name first
        calls = (above, above | defs, first)
        if any(isinstance(d, ast.Name) for d in stmt.decorator_list):
            if fuse_signature_error(stmt, src) is not None:
                return None
            body = in_function(stmt, src, top, calls, (unread, fused))
            if isinstance(body, FormulaError):
                fused = {**fused, stmt.name: (len(stmt.args.args), body)}  # at a call
            elif body is not False:
                unread = unread | {stmt.name}  # an error the check may miss
            above = above | {stmt.name}
            continue  # @fuse: lowered where it is called
        found = in_function(stmt, src, top, calls, (unread, fused))
        if found is not False:
            return found
        above = above | {stmt.name}
    return None


def in_function(fn: ast.FunctionDef, src: Source, top: set, calls: tuple, fuse):
    """The first unknown-function or unknown-name error in ``fn``'s body; None where the
    check stops; False when it has none. ``calls``: what a call may name here, the
    file's callable names and each function's first definition; ``fuse``: the
    ``@fuse`` functions a call of which stops the check (the frontend lowers their
    bodies there), and those whose bodies hold an error (``Names.fused``)."""
    stmts = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
    if not stmts or not isinstance(stmts[-1], ast.Return) or stmts[-1].value is None:
        return None
    if not plain_signature(fn) or not typed_signature(fn, src, top | CONSTANT_NAMES):
        return None  # the frontend refuses the signature before the body
    defs = frozenset(calls[2])
    hints = before(fn, top)
    params = frozenset(a.arg for a in fn.args.args)
    dims = dimension_names(fn)
    names = Names(
        defs=defs,
        params=params,
        fixed=frozenset((hints - params) | BUILT_IN | defs),
        dims=dims,
        calls=(*calls, dims),
        unread=fuse[0],
        fused=fuse[1],
        indexes=frozenset(
            a.arg for a in fn.args.args if type_name(a.annotation) == "Index"
        ),
    )
    return in_statements(stmts, src, names, hints)


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


def in_statements(stmts: list, src: Source, names: Names, hints: set, in_loop=False):
    """The first unknown-function or unknown-name error in ``stmts`` (a function's body
    ending with its return, or a loop's body, ``in_loop``); None where the check stops;
    False when there is none. ``hints`` grows with the names each statement binds (the
    frontend's candidates for "did you mean"); an item assignment into one of the
    function's parameters stops the check (``into_parameter``), and so does an
    assignment to one of the names ``names.fixed``; a loop over a range of other bounds
    than int literals and the function's dimensions stops it."""
    hints = set(hints)  # this body's own: a loop's names stay in the loop
    last = stmts[-1] if stmts and not in_loop else None
    for s in stmts:
        if into_parameter(s, names.params):
            return None  # the frontend's error, if the name still holds the parameter
        if isinstance(s, ast.Assign) and assigned(s) & names.fixed:
            return None  # "cannot assign to ...", before the value is read
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            if s.target.id in names.fixed or s.target.id not in hints:
                return None  # "... is used before it is assigned", before the value
        if isinstance(s, ast.For):
            if s.orelse or not is_range(s.iter) or not isinstance(s.target, ast.Name):
                return None
            if s.target.id in BUILT_IN:
                return None  # "cannot assign to ...", before the body is read
            if not plain_loop(s, hints, names.dims):
                return None  # the variable's or the range's error, before the body
            outside = hints - names.fixed
            if early_read(s.body, assigned_names(s.body), outside) is not None:
                return None  # "... is read before it is assigned in the loop"
            inner = names._replace(loops=names.loops | {s.target.id})
            found = in_statements(s.body, src, inner, hints | {s.target.id}, True)
        elif isinstance(s, ast.Return) and (s.value is None or s is not last):
            return None  # a bare return, one before the end: the frontend's errors
        elif calls_unread(s, names.unread):
            return None  # the frontend lowers a @fuse body the check stopped in
        elif isinstance(s, ast.Return) or plain_assignment(s):
            found = target_error(s, src, names, hints)  # a[i] = v: i before v
            if found is False:
                found = first_found(
                    in_value(s.value, src, names, hints),
                    statement_call_error(s, src, names.calls, names.fused),
                )
        else:
            return None
        if found is not None and not isinstance(s, ast.For):
            if refused_first(s, place_of(found, s), known(names, hints), src):
                return None  # an Index array's item, a call's arity: refused first
        if found is not False:
            return found
        if stops_before(s, None, src, names.dims):
            return None  # the frontend refuses it (`x // 2`)
        if not isinstance(s, ast.For):  # a loop's own names stay in the loop
            hints |= assigned(s)
    return False


def target_error(stmt, src: Source, names: Names, hints: set):
    """For an item assignment ``a[index] = v`` (``+=``, ``-=``), whose index the
    frontend reads before ``v`` (``loops.lower_setitem``): the first unknown name in an
    item of the index, None where the frontend may refuse the statement before the
    value otherwise (``a`` not yet defined, another operator, anything refused in the
    target, an item other than ``None``, an int literal, a loop variable's index or an
    expression of names and ints with an unknown name), False where it reads the value
    next. False for any other statement."""
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else None
    if isinstance(stmt, ast.AugAssign):
        target = stmt.target
    if not isinstance(target, ast.Subscript):
        return False
    if isinstance(stmt, ast.AugAssign) and not isinstance(stmt.op, (ast.Add, ast.Sub)):
        return None  # "item assignment is `a[i] = v`, `a[i] += v` or -="
    if not isinstance(target.value, ast.Name) or target.value.id not in hints:
        return None  # "assign into a named local array", "... before it is defined"
    if refused_before(target, None, src, names.dims):
        return None  # a slice or an item the frontend refuses
    items = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
    for item in items:
        if isinstance(item, ast.Slice) or new_axis(item) or is_int_literal(item):
            continue
        if loop_index(item, names.loops):
            continue
        if not all(isinstance(n, ARITHMETIC) for n in ast.walk(item)):
            return None  # an Index array, a call: the frontend's other errors
        found = in_value(item, src, names, hints)
        return None if found is False else found  # no unknown name: another error
    return False


def place_of(found, stmt) -> tuple:
    """Where the frontend meets ``found`` (an error, or False: none) in ``stmt``: the
    error's place, or the statement's end for none or an error placed outside it (a
    ``@fuse`` helper's body, met at the call)."""
    if found is False or not stmt.lineno <= found.line <= stmt.end_lineno:
        return END
    return (found.line, found.col)


def known(names: Names, hints: set) -> tuple:
    """What ``first_refusals.refused_first`` reads of ``names`` and the names bound
    where a statement is (``hints``)."""
    return names.indexes, names.loops, names.calls[2], names.dims, hints


def calls_unread(stmt, unread: frozenset) -> bool:
    """Whether ``stmt`` calls one of the functions ``unread`` (by name)."""
    return any(
        isinstance(n, ast.Call) and called_name(n) in unread for n in ast.walk(stmt)
    )


def first_found(value, call):
    """Of a statement's first unknown name (``value``: an error, None where its check
    stops, or False) and the first error at a call (``call``: the place where the
    frontend meets it and the error, None where its check stops, or False), the one
    the frontend meets first, where the name check read the statement."""
    if value is None:
        return None  # an expression it does not read (a method, `math.exp`)
    found = [] if call is None or call is False else [call]
    if value is not False:
        found.append(((value.line, value.col), value))
    if found:
        return min(found, key=lambda f: f[0])[1]
    return None if call is None else False


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


def in_value(node, src: Source, names: Names, hints: set):
    """The first unknown name among the values of expression ``node``, in source order;
    None if ``node`` holds an expression the check does not read (a method, a call
    through another module: the frontend's error); False if none. A call of an unknown
    function is read through (``call_names.statement_call_error`` reports it)."""
    unknown = []
    for n in ast.walk(node):
        if not isinstance(n, READ + PASSED) and not isinstance(
            n, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.keyword)
        ):
            return None
        if isinstance(n, ast.Call) and called_name(n) is None:
            return None  # the frontend reports the call (`x.sum()`, `math.exp(x)`)
    for n in values(node):
        if n.id not in hints:
            unknown.append(n)
    if not unknown:
        return False
    first = min(unknown, key=lambda n: (n.lineno, n.col_offset))
    if stops_before(node, first, src, names.dims) or first.id in names.defs:
        return None  # the frontend refuses something first (`x // 2 + yy`), or
        # reports a function of the file by where it is defined
    if first.id in CALL_NAMES:
        return function_value_error(first, src)
    hint = did_you_mean(first.id, hints) or did_you_mean(
        first.id, CALL_NAMES | {"arange"} | names.defs
    )
    return src.error(first, f"unknown name '{first.id}'{hint}")


def function_value_error(node: ast.Name, src: Source) -> FormulaError:
    """The error at ``node``, a function's name used as a value (``return softmax``)."""
    return src.error(node, f"'{node.id}' is a function; call it")


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
    fill), the array (and kernel) of a call whose other arguments are literals
    (``call_forms.FORM_NAMES``: an axis, a window's size), and the items of the
    sequence ``stack``, ``concatenate`` and the like join."""
    name = called_name(node)
    if values_of(node) is not None:  # an axis or a window's size after them
        return values_of(node)
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


def before(fn: ast.FunctionDef, top: set) -> set[str]:
    """The names the frontend knows as values at ``fn``'s first statement (its "did you
    mean" candidates there): parameters, dimensions (the return's too), constants."""
    out = {a.arg for a in fn.args.args} | CONSTANT_NAMES | top
    for ann in [a.annotation for a in fn.args.args] + [fn.returns]:
        for d in annotation_dims(ann):
            out |= {n.id for n in ast.walk(d) if isinstance(n, ast.Name)}
    return out
