"""Lowering of ``for NAME in range(...)`` loops (SPEC §1.1), item assignment into local
arrays (``hs[:, t, :] = h``, ``+=``) and the creation calls ``zeros``, ``zeros_like``,
``ones_like``.

A loop becomes one ``loop`` node whose body is a sub-graph made by a builder of its own
(``core/loops.py``): the names the body assigns that exist before the loop are carried
from one iteration to the next (body parameters in, the body's values out); every other
name the body reads is captured (a body parameter standing for the outer value, the same
in every iteration). The loop variable is a SymPy integer symbol among the dimensions, so
``x[:, t - 1]`` indexes with it.
"""

from __future__ import annotations

import ast
import dataclasses

import sympy

from ..core.ir import Builder
from ..core.loops import LoopBody, loop_symbol
from ..core.shapes import canon, format_shape
from ..rewrite import make_rewriter
from .arguments import arity
from .calls import BUILTIN_CALLS
from .indexing import index_items, loop_indices_in_bounds
from .loop_reads import (
    assigned_names,
    assigns_variable_error,
    carried_shape_error,
    early_read,
    early_read_error,
    variable_error,
)
from .range_bounds import LOOP_BOUND, RANGE_BOUND, RANGE_STEP
from .refusals import form_error, parameter_assignment_error, range_error
from .scope import Scope, emit, value
from .shape_calls import reshape_size
from .source import Source, is_int_literal
from .statements import STATEMENTS, check_reserved, stmt_loc

ITEM_OPS = {ast.Add: False, ast.Sub: True}  # += and -=: negate the value?


def check_reads(body: list, assigned: list[str], env, src: Source) -> None:
    """A name the body reads before assigning it must be defined before the loop."""
    n = early_read(body, assigned, env)
    if n is not None:
        raise early_read_error(n, src)


def bound(node, scope: Scope):
    """A ``range`` bound: an integer expression of int literals, dimension names and
    integral module constants with ``+ - * //`` (fixed when the function is called)."""
    src = scope.src
    if is_int_literal(node):
        v = node.operand.value if isinstance(node, ast.UnaryOp) else node.value
        return sympy.Integer(-v if isinstance(node, ast.UnaryOp) else v)
    if isinstance(node, ast.Name):
        if node.id in scope.dims:
            sym = scope.dims[node.id]
            if sym.is_positive is None:
                raise src.error(node, LOOP_BOUND)
            return sym
        c = scope.constants.get(node.id)
        if c is not None and float(c).is_integer():
            return sympy.Integer(int(c))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -bound(node.operand, scope)
    if isinstance(node, ast.BinOp):
        ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//"}
        if type(node.op) in ops:
            a, b = bound(node.left, scope), bound(node.right, scope)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if b.is_Integer and b > 0:
                return sympy.floor(a / b)
    raise src.error(node, RANGE_BOUND)


def read_range(stmt: ast.For, scope: Scope):
    """``range(stop)``, ``range(start, stop)``, ``range(start, stop, step)``."""
    src = scope.src
    it = stmt.iter
    error = range_error(it, src)
    if error is not None:
        raise error
    args = [canon(bound(a, scope)) for a in it.args]
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], 1)
    if len(args) == 3:
        start, stop, step = args
        if not isinstance(step, int) or step == 0:
            raise src.error(it.args[2], RANGE_STEP)
    return start, stop, step


def lower_for(stmt: ast.For, scope: Scope) -> None:
    """``for t in range(...)``: one ``loop`` node; the carried names rebound to its outputs."""
    src = scope.src
    if stmt.orelse:
        raise src.error(stmt.orelse[0], "a for loop's `else:` is not supported")
    if not isinstance(stmt.target, ast.Name):
        raise src.error(stmt.target, "the loop variable is one name: for t in range(T)")
    var = stmt.target.id
    check_reserved(var, stmt.target, src)
    if var in scope.env or var in scope.dims or var in scope.constants:
        raise variable_error(stmt.target, src)
    start, stop, step = read_range(stmt, scope)
    assigned = assigned_names(stmt.body)
    if var in assigned:
        raise assigns_variable_error(stmt, src)
    check_reads(stmt.body, assigned, scope.env, src)
    carried = [n for n in assigned if n in scope.env]
    outer_params = getattr(scope, "parameters", set())
    parameters = {n for n in carried if n in outer_params or is_parameter(scope, n)}
    bb = Builder(rewrite=make_rewriter(fuse=scope.fuse))
    inner = dataclasses.replace(
        scope, b=bb, env={}, dims={**scope.dims, var: loop_symbol(var)}
    )
    inner.parameters = parameters  # carried names that are still parameters
    inner.ranges = {**getattr(scope, "ranges", {}), var: (start, stop, step)}
    captures: dict[int, int] = {}  # body param -> outer node
    for name, outer in scope.env.items():
        node = scope.b[outer]
        kind = "carried" if name in carried else "capture"
        p = bb.emit("param", name=name, shape=node.shape, dtype=node.dtype, role=kind)
        inner.env[name] = p
        if kind == "capture":
            captures[p] = outer
    for s in stmt.body:
        lower_in_body(s, inner)
    outs = []
    for name in carried:
        before, after = scope.b[scope.env[name]], bb[inner.env[name]]
        if before.shape != after.shape or before.dtype != after.dtype:
            shapes = (before.shape, after.shape)
            raise carried_shape_error(stmt.body, name, shapes, src, format_shape)
        outs.append(inner.env[name])
    live = reachable_params(bb, outs)
    cap = tuple(p for p in captures if p in live)
    body = LoopBody(
        var,
        start,
        stop,
        step,
        tuple(bb.nodes),
        cap,
        carried_params(bb, carried),
        tuple(outs),
        tuple(carried),
        src.line(stmt.lineno).strip(),
    )
    with scope.b.at(scope.call_loc or stmt_loc(stmt, "loop", src)):
        loop = emit(
            scope,
            stmt,
            "loop",
            *(captures[p] for p in cap),
            *(scope.env[n] for n in carried),
            body=body,
        )
        for k, name in enumerate(carried):
            out = emit(scope, stmt, "loop_out", loop, k=k)
            scope.b.name(out, name)
            scope.env[name] = out


def carried_params(bb: Builder, carried: list[str]) -> tuple[int, ...]:
    """The body parameters of the carried names, in their order."""
    by_name = {
        n.attr("name"): i
        for i, n in enumerate(bb.nodes)
        if n.op == "param" and n.attr("role") == "carried"
    }
    return tuple(by_name[n] for n in carried)


def reachable_params(bb: Builder, outs: list[int]) -> set[int]:
    """The nodes the carried values at an iteration's end depend on."""
    seen: set[int] = set()
    stack = list(outs)
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(bb[i].args)
    return seen


def lower_in_body(stmt, scope: Scope) -> None:
    """One statement of a loop body: ``while``, ``if``, ``break`` say what is supported
    (``refusals.form_error``)."""
    error = form_error(stmt, scope.src, in_loop=True)
    if error is not None:
        raise error
    STATEMENTS["lower"](stmt, scope)


def lower_setitem(stmt, scope: Scope) -> None:
    """``a[index] = v``, ``a[index] += v`` (``-=``): a functional update of the local array
    ``a`` (an integer, slice or None index, loop variables allowed)."""
    src = scope.src
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
    base = target.value
    if not isinstance(base, ast.Name):
        raise src.error(target, "assign into a named local array: a[t] = v")
    name = base.id
    if name not in scope.env:
        raise src.error(
            base,
            f"'{name}' is assigned into before it is defined: make it first, as "
            f"{name} = zeros((n, m))",
        )
    a = scope.env[name]
    node = scope.b[a]
    if is_parameter(scope, name):
        raise parameter_assignment_error(base, src)
    if node.dtype != "float":
        raise src.error(base, f"cannot assign into the Index value '{name}'")
    add = False
    if isinstance(stmt, ast.AugAssign):
        if type(stmt.op) not in ITEM_OPS:
            raise src.error(stmt, "item assignment is `a[i] = v`, `a[i] += v` or -=")
        add = True
    with scope.b.at(scope.call_loc or stmt_loc(stmt, name, src)):
        spec, arrays = index_items(target.slice, scope)
        items = (
            target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
        )
        loop_indices_in_bounds(node.shape, spec, items, scope)
        if arrays:
            raise src.error(
                target.slice,
                "item assignment takes integers, slices, None and loop variables "
                "as indices (not Index arrays)",
            )
        v = value(stmt.value, scope)
        if add and ITEM_OPS[type(stmt.op)]:
            v = emit(scope, stmt.value, "neg", v)
        out = emit(scope, stmt, "setitem", a, v, index=spec, add=add)
    scope.b.name(out, name)
    scope.env[name] = out


def is_parameter(scope: Scope, name: str) -> bool:
    """Whether ``name`` still names the function's parameter of that name (in a loop
    body: its value before the loop does)."""
    node = scope.b[scope.env[name]]
    if node.op == "param" and node.attr("role") == "carried":
        return name in getattr(scope, "parameters", ())
    return node.op == "param" and node.attr("name") == name and not node.attr("role")


def call_zeros(node, scope, name):
    """``zeros(shape)`` and ``ones(shape)``: ``shape`` a tuple of dimensions (or one
    dimension)."""
    arity(node, scope, name, 1)
    shape = creation_shape(node.args[0], scope)
    if not shape:
        return scope.b.const(0.0 if name == "zeros" else 1.0)
    # a local array, never the same node as the zeros of a gradient (which the
    # backward makes again: it would take the array's name)
    return emit(scope, node, name, shape=shape, local=True)


def creation_shape(arg, scope) -> tuple:
    """The shape argument of ``zeros``, ``ones`` and ``full``: a tuple of sizes (dimension
    names, expressions of them, positive ints) or one size."""
    items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
    return tuple(reshape_size(d, scope) for d in items)


def call_like(node, scope, name):
    """``zeros_like(x)``, ``ones_like(x)``: a new array of ``x``'s shape."""
    arity(node, scope, name, 1)
    shape = scope.b.shape(value(node.args[0], scope))
    if not shape:
        return scope.b.const(0.0 if name == "zeros_like" else 1.0)
    op = "zeros" if name == "zeros_like" else "ones"
    return emit(scope, node, op, shape=shape, local=True)


STATEMENTS["for"] = lower_for
STATEMENTS["setitem"] = lower_setitem
BUILTIN_CALLS.update(
    zeros=call_zeros, ones=call_zeros, zeros_like=call_like, ones_like=call_like
)
