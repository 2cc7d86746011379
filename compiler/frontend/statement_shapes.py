"""The statements, loops and functions around the expressions ``operand_shapes.py``
reads: ``shape_mismatch`` finds the first error of a file among operations whose operands
do not fit and nodes the frontend refuses by their form, on the syntax tree, before SymPy
and the compiler are imported (``cli/main.py`` ``precheck``, ``text.parse``).

It reads, in each exported function whose name, signature, annotations and decorators
(other than ``@wrt``) are plain and which has a float input:

- statements assigning one name, ``+= -= *= /=`` that keep the name's shape, and the
  final ``return``, whose value must have the shape the annotation declares (else the
  frontend's error at it, ``function_shapes.return_text``; a name only the return
  annotation has is a size of its own, which no value has);
- item assignment into a value the function made, not a parameter (``h[t] = v``,
  ``h[t - 1] += v``: the value broadcasts to the indexed part, reported at the
  statement as the ``setitem`` record does);
- ``for t in range(...)`` with bounds of int literals and dimension names (``+ - *``) and
  an int literal step, whose body it reads once, as the frontend lowers it once: the
  body's names stay in the loop, and each name carried from one iteration to the next
  must keep its shape (``frontend/loops.py``'s rules, the names read by
  ``loop_reads.py``, which both import);
- a call of a function defined above that it read whole: a ``@fuse`` function's body
  where it is called (``elementwise``), any other by its annotations (its
  ``function_shapes.signature``, kept in ``above``).

Where it has read everything before it, it reports the first node the frontend refuses
by its form, with the frontend's own functions (``refusals.py``): a statement a formula
does not have (``form_error``), an expression (``refused_at``, read in
``operand_shapes.py``), a method or another module's function (``call_names.call_error``),
a function that does not end with ``return``, a ``@fuse`` function's signature, a
top-level statement other than a constant or a ``def``, and a module constant that is
not a finite number.

It stops (``None``: the frontend decides) at anything else it does not read, at a name
the loop's rules refuse, at an expression nested past the frontend's limit, and at a
function whose name, signature, annotations or decorators are not plain; a ``@fuse``
function's body is not checked on its own (the frontend lowers it where it is called).
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .annotated_shapes import (
    RESERVED,
    annotation_shape,
    declared,
    parameter_scope,
)
from .call_names import (
    BUILT_IN,
    fixed_error,
    reserved_error,
    unassigned_error,
)
from .function_shapes import return_text, signature
from .loop_reads import (
    assigned_names,
    assigns_variable_error,
    bound,
    carried_shape_error,
    early_read,
    early_read_error,
    variable_error,
)
from .module_refusals import (
    generated_name_error,
    no_function_error,
    plain_wrt_names,
    unknown_decorator_error,
    wrt_name_error,
)
from .operand_shapes import ABOVE, CONSTS, DIMS, LOOPS, SIZES, SRC, shape_of
from .range_bounds import range_bounds_error
from .refusals import (
    ending_error,
    form_error,
    function_name_error,
    fuse_signature_error,
    new_name_error,
    parameter_assignment_error,
    range_error,
    signature_error,
)
from .shape_reading import (
    Mismatch,
    Refused,
    Stop,
    broadcast_at,
    indexed,
    literal_int,
    written,
)
from .source import MAX_DEPTH, Source, depth, is_docstring, literal
from .type_names import annotation_dims, type_name
from .unsupported import unsupported
from .value_names import (
    CONSTANT_NAMES,
    assigned,
    plain_signature,
)

#: the key of the function's parameter names in scope (an item assignment into one is
#: the frontend's error)
PARAMS = "@params"
#: the key of the exported function's parameters no statement of it rebinds (an item
#: assignment into one is the frontend's error, ``parameter_assignment_error``)
UNBOUND = "@unbound"


def shape_mismatch(tree: ast.Module, src: Source) -> FormulaError | None:
    """The error for the first operation in the exported functions of ``tree`` whose
    operands do not broadcast, or the first node the frontend refuses by its form
    (``refusals.py``), as the frontend words and places it; None where the check stops
    first (see the module)."""
    body = list(tree.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    functions = {s.name for s in body if isinstance(s, ast.FunctionDef)}
    constants: set[str] = set()
    above: dict[str, tuple] = {}  # the functions above (see in_function)
    exported: dict[str, tuple] = {}  # their names and gradc's (generated_name_error)
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            if len(stmt.targets) != 1 or not isinstance(target, ast.Name):
                return src.error(
                    stmt, "a module-level assignment must be 'NAME = <number>'"
                )
            error = new_name_error(target.id, stmt, src, RESERVED, constants)
            if error is not None or target.id in functions:
                return error  # a constant named as a function: the frontend's
            constants.add(target.id)
            try:
                literal(signed(stmt.value), src, "a module constant must be a number")
            except FormulaError as exc:
                return exc
            continue
        if not isinstance(stmt, ast.FunctionDef):
            return unsupported(stmt, src, "at the top level of a formula file")
        taken = constants | set(above)
        error = new_name_error(stmt.name, stmt, src, RESERVED, taken)
        error = error or function_name_error(stmt.name, stmt, src)
        if error is not None:
            return error
        error = unknown_decorator_error(stmt, src)
        if error is not None:
            return error
        fuse = any(isinstance(d, ast.Name) for d in stmt.decorator_list)
        error = None if fuse else generated_name_error(stmt, src, exported)
        if error is not None:
            return error
        if fuse:
            # @fuse: lowered where it is called, elementwise over its arguments
            error = fuse_signature_error(stmt, src)
            if error is not None:
                return error
            whole = plain_signature(stmt) and elementwise(
                stmt, src, constants, functions
            )
            above[stmt.name] = (len(stmt.args.args), whole, None)
            continue
        found = in_function(stmt, src, constants, functions, above)
        if found is not False:
            return found
        sig = signature(stmt, annotation_shape)
        above[stmt.name] = (len(stmt.args.args), False, sig)
    exported = [s for s in body if isinstance(s, ast.FunctionDef) and s.name in above]
    if all(
        s.decorator_list and isinstance(s.decorator_list[0], ast.Name) for s in exported
    ):
        return no_function_error(src)  # only @fuse functions (each read above), or none
    return None


def signed(node):
    """``node`` without one leading unary minus or plus (a module constant's number, as
    ``text.read_constant`` reads it)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return node.operand
    return node


def elementwise(
    fn: ast.FunctionDef, src: Source, constants: set[str], functions: set[str]
) -> bool:
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
    scope.update({PARAMS: set(params), DIMS: set(), SRC: src})
    scope[CONSTS] = constants | CONSTANT_NAMES
    fixed = RESERVED | functions | constants
    stmts = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
    if not all(isinstance(s, (ast.Assign, ast.AugAssign, ast.Return)) for s in stmts):
        return False  # a loop: the frontend's to read
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


def in_function(
    fn: ast.FunctionDef,
    src: Source,
    constants: set[str],
    functions: set[str],
    above: dict,
):
    """The mismatch error in ``fn``'s body; None where the check stops; False when it
    reads the whole body and finds none. ``above``: each function defined above ``fn``
    (``@fuse`` or read whole), its number of parameters, whether the check reads it as
    elementwise (``elementwise``) and, for one read whole that is not ``@fuse``, its
    ``function_shapes.signature`` (None where the check does not follow it)."""
    error = signature_error(fn, src, constants | CONSTANT_NAMES)
    if error is not None:
        return error
    if not plain_signature(fn):
        return None
    scope = parameter_scope(fn, constants)
    if scope is None or set(scope) & functions:
        return None
    if not plain_wrt(fn):
        return wrt_error(fn, src)
    if all(type_name(a.annotation) == "Index" for a in fn.args.args):
        return None  # no float input: the frontend's error
    stmts = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
    ending = ending_error(fn, stmts, src)
    if ending is not None:
        return ending
    params = {a.arg for a in fn.args.args}
    scope.update({ABOVE: above, PARAMS: params, SRC: src})
    returned = {d.id for d in annotation_dims(fn.returns) if isinstance(d, ast.Name)}
    scope[SIZES] = scope[DIMS] | returned
    # the names an assignment may not bind: the frontend's constants, the functions
    # above (``scope.funcs``: not this one, nor those below) and every dimension
    fixed = (set(scope) - params) | RESERVED | set(above) | returned
    scope[UNBOUND] = params - set().union(*(assigned(s) for s in stmts))
    scope[CONSTS] = constants | CONSTANT_NAMES
    try:
        for s in stmts:
            if depth(s) > MAX_DEPTH:
                return None  # the frontend refuses it as nested too deeply
            if s is stmts[-1]:  # the return, of the declared shape
                shape = shape_of(s.value, scope)
                return returned_error(fn, s, shape, scope[DIMS], src) or False
            if not statement(s, scope, fixed):
                return None
    except Mismatch as m:
        return src.error(m.node, str(m))
    except Refused as r:
        return r.error
    except Stop:
        return None
    return None


def returned_error(fn: ast.FunctionDef, s: ast.Return, shape: tuple, dims: set, src):
    """The frontend's error at ``fn``'s final ``return`` ``s`` of a value of ``shape``
    other than the one its annotation declares (``statements.lower_function``), else
    None."""
    want = declared(fn, dims)
    if shape == want:
        return None
    text = return_text(fn.name, written(shape), ast.unparse(fn.returns), written(want))
    return src.error(s, text)


def statement(s, scope: dict, fixed: set) -> bool:
    """Whether ``s`` is a statement the check reads (``scope`` updated): one name
    assigned, ``+= -= *= /=`` keeping its shape, an item assignment
    (``item_assignment``) or a loop (``loop``); raises Mismatch or Stop (``shape_of``),
    and Refused at a statement the frontend refuses by its form (``form_error``)."""
    error = form_error(s, scope[SRC], bool(scope.get(LOOPS)))
    if error is not None:
        raise Refused(error)
    if isinstance(s, ast.For):
        return loop(s, scope, fixed)
    target = s.target if isinstance(s, ast.AugAssign) else None
    if isinstance(s, ast.Assign) and len(s.targets) == 1:
        target = s.targets[0]
    if isinstance(target, ast.Subscript):
        return item_assignment(s, target, scope, fixed)
    if isinstance(s, ast.AugAssign):
        return augmented(s, scope, fixed)
    if not isinstance(target, ast.Name):
        return False
    if target.id in fixed:
        raise Refused(fixed_name_error(target, scope, fixed))
    scope[target.id] = shape_of(s.value, scope)
    return True


def fixed_name_error(target: ast.Name, scope: dict, fixed: set) -> FormulaError:
    """The frontend's error for assigning the name ``target`` of ``fixed``, before it
    reads the value: a constant, function or dimension first, then a built-in name; a
    Stop for a type name (``Vector = x``), which the frontend lowers."""
    name, src = target.id, scope[SRC]
    if name in (fixed - RESERVED) | scope.get(DIMS, set()) | scope.get(CONSTS, set()):
        return fixed_error(name, target, src)
    error = reserved_error(name, target, src)
    if error is None:
        raise Stop
    return error


def item_assignment(s, target: ast.Subscript, scope: dict, fixed: set) -> bool:
    """Whether ``s`` is ``a[index] = v`` (``+=``, ``-=``) into a value the function made,
    read as ``loops.lower_setitem`` lowers it: the index first, then ``v``, which
    broadcasts to the indexed part (Mismatch at the statement, as the ``setitem`` record
    words it; Stop where ``v`` would stretch it). Refused into a parameter no statement
    rebinds (``UNBOUND``), the frontend's error before it reads the index."""
    base = target.value
    if isinstance(base, ast.Name) and base.id in scope.get(UNBOUND, ()):
        raise Refused(parameter_assignment_error(base, scope[SRC]))
    if isinstance(s, ast.AugAssign) and not isinstance(s.op, (ast.Add, ast.Sub)):
        return False
    if not isinstance(base, ast.Name) or base.id in fixed | scope[PARAMS]:
        return False
    if scope.get(base.id) is None:
        return False
    loops = scope.get(LOOPS, frozenset())
    sizes = scope.get(SIZES, scope[DIMS])
    part = indexed(scope[base.id], target.slice, loops, scope[SRC], sizes)
    if broadcast_at(s, [shape_of(s.value, scope), part]) != part:
        raise Stop  # "cannot assign a value of shape ...": the frontend's words
    return True


def loop(s: ast.For, scope: dict, fixed: set) -> bool:
    """Whether ``s`` is a loop the check reads as ``loops.lower_for`` lowers it: over
    ``range`` (``ranged``), its variable a new name the body does not assign, no name
    read in the body before the body assigns it that is not defined before the loop;
    the body read once with the variable as an index; the body's own names dropped after
    it; each carried name keeping its shape (else the frontend's error, after the body:
    Refused, ``loop_reads.carried_shape_error``). Raises Mismatch inside the body."""
    if s.orelse or not isinstance(s.target, ast.Name):
        return False
    var, body_names = s.target.id, assigned_names(s.body)
    error = reserved_error(var, s.target, scope[SRC])
    if error is not None:
        raise Refused(error)  # for exp in range(n): the frontend's first error
    named = {n for n in scope if not n.startswith("@")} | scope[DIMS] | scope[CONSTS]
    if var in named - CONSTANT_NAMES | scope.get(LOOPS, set()):  # pi may be one
        raise Refused(variable_error(s.target, scope[SRC]))  # for n in range(3)
    error = range_error(s.iter, scope[SRC])
    if error is None:
        dims, loops = scope[DIMS], scope.get(LOOPS, set())
        constants = scope[CONSTS] - CONSTANT_NAMES
        error = range_bounds_error(s.iter, dims, loops, constants, scope[SRC])
    if error is not None:
        raise Refused(error)  # for e in v, range(w)
    if var in scope or var in fixed or not ranged(s.iter, scope):
        return False
    defined = {n for n in scope if n not in fixed and not n.startswith("@")}
    if var in body_names:
        raise Refused(assigns_variable_error(s, scope[SRC]))
    read = early_read(s.body, body_names, defined)
    if read is not None:  # the frontend's error before the body
        raise Refused(early_read_error(read, scope[SRC]))
    inner = dict(scope)
    inner[LOOPS] = scope.get(LOOPS, frozenset()) | {var}
    if not all(statement(b, inner, fixed) for b in s.body):
        return False
    for n in (n for n in body_names if n in defined):
        if scope[n] is None or inner[n] is None:
            return False  # a shape the check does not follow
        if inner[n] != scope[n]:
            shapes = (scope[n], inner[n])
            raise Refused(carried_shape_error(s.body, n, shapes, scope[SRC], written))
    return True


def ranged(node, scope: dict) -> bool:
    """Whether ``node`` is ``range(stop)``, ``range(start, stop)`` or ``range(start, stop,
    step)`` as ``loops.read_range`` reads it, each bound an int literal or a parameter's
    dimension name, or ``+ - *`` of them, and ``step`` an int literal other than 0."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and "range" not in scope
        and 1 <= len(node.args) <= 3
        and not node.keywords
    ):
        return False
    if len(node.args) == 3 and literal_int(node.args[2]) == 0:
        return False
    return all(bound(a, scope[DIMS]) for a in node.args)


def augmented(s: ast.AugAssign, scope: dict, fixed: set) -> bool:
    """Whether ``t += v`` (``-= *= /=``) keeps ``t``'s shape, as the frontend requires;
    raises Mismatch at ``v`` where the two do not broadcast, as the frontend reports it."""
    t = s.target
    ops = (ast.Add, ast.Sub, ast.Mult, ast.Div)
    if not isinstance(t, ast.Name) or t.id in fixed or not isinstance(s.op, ops):
        if isinstance(t, ast.Name) and (t.id in BUILT_IN or t.id in fixed):
            raise Refused(unassigned_error(t, scope[SRC]))  # exp += x, n += x
        return False
    if t.id not in scope:
        raise Refused(unassigned_error(t, scope[SRC]))  # y += x, y never assigned
    if scope.get(t.id) is None:
        raise Stop
    return broadcast_at(s.value, [scope[t.id], shape_of(s.value, scope)]) == scope[t.id]


def wrt_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The frontend's error where ``fn``'s ``@wrt`` names no parameter, after it read
    the parameters (each once: a second is its error first); else None (an error of the
    ``@wrt``'s form, or one the check does not follow)."""
    params = [a.arg for a in fn.args.args]
    names = plain_wrt_names(fn)
    if names is None or len(set(params)) != len(params):
        return None
    for name, node in names.items():
        if name not in params:
            return wrt_name_error(name, node, src)
    return None


def plain_wrt(fn: ast.FunctionDef) -> bool:
    """Whether every ``@wrt(...)`` names distinct float parameters."""
    floats = {a.arg for a in fn.args.args if type_name(a.annotation) != "Index"}
    for d in fn.decorator_list:
        names = [a.id if isinstance(a, ast.Name) else None for a in d.args]
        if d.keywords or len(set(names)) != len(names):
            return False
        if not names or not set(names) <= floats:
            return False
    return True
