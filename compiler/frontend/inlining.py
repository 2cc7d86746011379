"""Calls: of a built-in operation (through the table in ``calls``), or of a function the
file defines above, inlined (a ``@fuse`` one as one fused node when it is smooth)."""

from __future__ import annotations

import ast

import sympy

from ..core.ir import Builder, reachable
from ..core.prim import PRIMS
from ..core.shapes import broadcast, canon, format_shape
from ..errors import ShapeError
from ..symbolic.body import FUSIBLE, freeze_body
from ..symbolic.convert import derivable
from .annotations import declare_dims, read_type
from .calls import (
    BUILTIN_CALLS,
    NUMPY_CALLS,
    call_name,
    numpy_operator,
    unknown_function,
)
from .function_shapes import argument_text, arity_error
from .scope import Scope, Signature, emit, expr, value
from .statements import lower_body
from .unpacking import UNPACKING, unpacks


def call_expr(node: ast.Call, scope: Scope) -> int:
    """A call: of a function the file defines above (inlined), else of a built-in
    (through ``BUILTIN_CALLS``; ``np.average``: ``NUMPY_CALLS``)."""
    name = call_name(node, scope)
    if isinstance(node.func, ast.Name) and name in scope.funcs:
        return inline_call(node, scope.funcs[name], scope)
    operator = numpy_operator(node, scope)  # np.multiply(a, b): a * b
    if operator is not None:
        return expr(operator, scope)
    numpy_only = isinstance(node.func, ast.Attribute) and name in NUMPY_CALLS
    lower = NUMPY_CALLS[name] if numpy_only else BUILTIN_CALLS.get(name)
    if lower is None:
        if name == "arange":
            raise scope.src.error(
                node,
                "arange(n) can only be used as an index or indexed "
                "(arange(n)[:, None])",
            )
        raise unknown_function(node, name, scope)
    if unpacks(node):
        raise scope.src.error(node, UNPACKING)
    return lower(node, scope, name)


def inline_call(node: ast.Call, sig: Signature, scope: Scope) -> int:
    """Inline a user function defined above: bind its parameters and lower its body.

    A ``@fuse`` function must stay elementwise so that it broadcasts over tensors.
    """
    fn = sig.node
    src = scope.src
    if node.keywords or len(node.args) != len(fn.args.args):
        raise arity_error(node, fn.name, len(fn.args.args), src)
    if fn.name in scope.inlining:
        raise src.error(node, f"recursive call of '{fn.name}'")
    args = [value(a, scope) for a in node.args]
    above = {
        k: v
        for k, v in scope.funcs.items()
        if k != fn.name and v.node.lineno < fn.lineno
    }
    if sig.fuse and scope.fuse:
        fused = fuse_call(node, sig, args, above, scope)
        if fused is not None:
            return fused
    inner = Scope(
        src,
        scope.b,
        scope.constants,
        above,
        inlining=scope.inlining + (fn.name,),
        fuse=scope.fuse,
        call_loc=scope.b.loc,
    )
    pending: list = []
    scratch = Scope(src, scope.b, {}, {})
    if not sig.fuse:
        declare_dims(fn.args.args, src, scratch)
    for a, v, at in zip(fn.args.args, args, node.args):
        if not sig.fuse:
            pending += bind_dims(a, scope.b.shape(v), inner, at, fn.name, scratch)
        inner.env[a.arg] = v
    for check in pending:
        check_dim_expressions(*check, inner, fn.name)
    outer_loc = scope.b.loc
    first = len(scope.b.nodes)
    _, out = lower_body(fn, inner)
    if sig.fuse:
        for k in range(first, len(scope.b.nodes)):
            op = scope.b[k].op
            # broadcast_to: an inner @fuse call spreading its result over its arguments
            if op not in ("const", "dim", "broadcast_to") and not PRIMS[op].elementwise:
                raise src.error(
                    fn,
                    f"@fuse function '{fn.name}' uses '{op}', which is not elementwise",
                )
        out = broadcast_over(scope, node, out, args)
    scope.b.loc = outer_loc
    return out


def fuse_call(node: ast.Call, sig: Signature, args: list[int], above, scope: Scope):
    """A ``@fuse`` call as one fused node whose body is the function's (None if not smooth)."""
    fn = sig.node
    sub = Builder(rewrite=scope.b.rewrite)
    inner = Scope(
        scope.src,
        sub,
        scope.constants,
        above,
        inlining=scope.inlining + (fn.name,),
        fuse=True,
    )
    for k, a in enumerate(fn.args.args):
        inner.env[a.arg] = sub.emit("input_ref", k=k)
    _, out = lower_body(fn, inner)
    live = reachable(sub.nodes, [out])
    ops = {sub[i].op for i in live}
    if not ops <= set(FUSIBLE) | {"const", "input_ref"} or sub[out].op == "input_ref":
        return None
    if any(sub[i].op == "pow" and sub[sub[i].args[1]].op != "const" for i in live):
        return None  # x ** p at 0 follows the primitive table's convention, not SymPy's
    body, used = freeze_body(sub.nodes, out, compact=True)
    if not derivable(body, len(used), range(len(used))):
        return (
            None  # SymPy cannot say its gradient: inlined, differentiated node by node
        )
    result = emit(
        scope,
        node,
        "fused",
        *(args[k] for k in used),
        body=body,
        name=f"fused {fn.name}",
    )
    return broadcast_over(scope, node, result, args)


def broadcast_over(scope: Scope, at, result: int, args: list[int]) -> int:
    """A ``@fuse`` result spread over the broadcast shape of all its arguments."""
    try:
        shape = broadcast(*(scope.b.shape(a) for a in args), scope.b.shape(result))
    except ShapeError as exc:
        raise scope.src.error(at, str(exc)) from None
    if scope.b.shape(result) == shape:
        return result
    return emit(scope, at, "broadcast_to", result, shape=shape)


def bind_dims(
    a: ast.arg,
    actual: tuple,
    inner: Scope,
    at,
    fname: str,
    scratch: Scope,
) -> list:
    """Match parameter ``a``'s annotation against the argument's shape ``actual``.

    The callee's dimension names are bound to the caller's dimensions in ``inner.dims``.
    Returns the check of its dimension expressions (``4 * H``) to make once every
    parameter has bound its names (``check_dim_expressions``), or none. ``scratch`` is
    the scope the callee's annotations are read in (its dimension names declared).
    """
    src = inner.src
    shape, dtype, text = read_type(
        a.annotation, src, scratch, ("parameter " + a.arg, a)
    )
    ok = len(shape) == len(actual)
    exprs = False
    for want, got in zip(shape, actual) if ok else ():
        if isinstance(want, int):
            ok = ok and want == got
        elif want.is_Symbol:
            bound = inner.dims.setdefault(want.name, got)
            ok = ok and bound == got
        else:
            exprs = True
    if not ok:
        raise src.error(at, argument_text(fname, a.arg, format_shape(actual), text))
    return [(a, shape, actual, at, text)] if exprs else []


def check_dim_expressions(
    a: ast.arg, shape: tuple, actual: tuple, at, text: str, inner: Scope, fname: str
) -> None:
    """The dimension expressions of parameter ``a`` (``4 * H``), with the sizes its names
    were bound to in ``inner.dims`` put in, must equal the argument's sizes ``actual``."""
    for want, got in zip(shape, actual):
        if isinstance(want, int) or want.is_Symbol:
            continue
        bound = {s: sympy.Integer(0) + inner.dims[s.name] for s in want.free_symbols}
        size = canon(want.xreplace(bound))
        if canon(sympy.Integer(0) + size - got) != 0:
            message = argument_text(fname, a.arg, format_shape(actual), text)
            raise inner.src.error(at, message)
