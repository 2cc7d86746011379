"""Lowering of a function: its decorators (``@fuse``, ``@wrt``), parameters, body of
assignments and final ``return``."""

from __future__ import annotations

import ast
from collections.abc import Callable

from ..core.ir import Builder, Function, Loc, Param
from ..core.shapes import format_shape
from ..rewrite import make_rewriter
from .annotations import declare_dims, read_type
from .call_names import fixed_error, reserved_error, unassigned_error
from .dimension_refusals import dimension_named_error
from .function_shapes import return_text
from .module_refusals import (
    unknown_decorator_error,
    wrt_form_error,
    wrt_name_error,
)
from .refusals import (
    duplicate_error,
    ending_error,
    form_error,
    fuse_signature_error,
    parameters_error,
)
from .scope import CONSTANTS, Scope, lower_expr
from .source import Source, is_docstring
from .type_names import differentiation_error


def is_fuse(fn: ast.FunctionDef, src: Source) -> bool:
    """Whether ``fn`` is decorated ``@fuse``; a decorator other than ``@fuse`` and
    ``@wrt(...)`` is a located error."""
    error = unknown_decorator_error(fn, src)
    if error is not None:
        raise error
    return any(isinstance(d, ast.Name) for d in fn.decorator_list)  # @fuse


def check_fuse_signature(fn: ast.FunctionDef, src: Source) -> None:
    """A ``@fuse`` function takes and returns Scalars and has no ``@wrt``."""
    error = fuse_signature_error(fn, src)
    if error is not None:
        raise error


def lower_function(
    fn: ast.FunctionDef, src: Source, constants, funcs, fuse: bool
) -> Function:
    """One exported ``def`` -> a ``Function`` holding its forward graph."""
    b = Builder(rewrite=make_rewriter(fuse=fuse))
    scope = Scope(src, b, constants, funcs, fuse=fuse)
    args = fn.args
    error = parameters_error(fn, src)
    if error is not None:
        raise error
    params: list[Param] = []
    wrt = read_wrt(fn, src)
    seen: set[str] = set()
    declare_dims(args.args, src, scope)
    for a in args.args:
        if a.arg in seen:
            raise duplicate_error(a, src)
        seen.add(a.arg)
        shape, dtype, text = read_type(
            a.annotation, src, scope, ("parameter " + a.arg, a)
        )
        node = b.emit("param", name=a.arg, shape=shape, dtype=dtype)
        scope.env[a.arg] = node
        params.append((a, dtype, text, node))
    for name, node in wrt.items():
        if name not in seen:
            raise wrt_name_error(name, node, src)
    out_shape, _, out_text = read_type(fn.returns, src, scope, ("the return", fn))
    error = dimension_named_error(fn, src) or differentiation_error(fn, src)
    if error is not None:
        raise error
    plist = [
        Param(a.arg, node, text, dtype == "float" and (not wrt or a.arg in wrt))
        for a, dtype, text, node in params
    ]
    doc, out = lower_body(fn, scope)
    if b.shape(out) != out_shape:
        shapes = format_shape(b.shape(out)), format_shape(out_shape)
        raise src.error(
            fn.body[-1], return_text(fn.name, shapes[0], out_text, shapes[1])
        )
    loc = Loc(fn.lineno, fn.col_offset + 1, src.line(fn.lineno).strip(), fn.name)
    dims = {name: name for name in scope.dims}
    first = fn.body[1] if doc and len(fn.body) > 1 else fn.body[0]
    source = [src.line(k) for k in range(first.lineno, fn.body[-1].end_lineno + 1)]
    indent = min((len(t) - len(t.lstrip()) for t in source if t.strip()), default=0)
    source = [t[indent:].rstrip() for t in source if t.strip()]
    return Function(
        fn.name,
        doc,
        plist,
        b.nodes,
        out,
        out_text,
        loc,
        src.filename,
        rewrites=list(b.fired),
        dims=dims,
        source=source,
    )


def read_wrt(fn: ast.FunctionDef, src: Source) -> dict:
    """The parameters named by ``@wrt(...)`` decorators: name -> its AST node."""
    error = wrt_form_error(fn, src)  # is_fuse refused any other decorator
    if error is not None:
        raise error
    wrt: dict = {}
    for d in fn.decorator_list:
        if isinstance(d, ast.Call):  # @wrt(...), of names
            wrt.update((a.id, a) for a in d.args)
    return wrt


def lower_body(fn: ast.FunctionDef, scope: Scope) -> tuple[str, int]:
    """Lower the statements of ``fn`` in ``scope``; returns (docstring, output node)."""
    src = scope.src
    body = list(fn.body)
    doc = ""
    if body and is_docstring(body[0]):
        doc = body[0].value.value
        body = body[1:]
    error = ending_error(fn, body, src)
    if error is not None:
        raise error
    for stmt in body[:-1]:
        lower_statement(stmt, scope)
    ret = body[-1]
    with scope.b.at(scope.call_loc or stmt_loc(ret, "out", src)):
        out = lower_expr(ret.value, scope)
    if not scope.inlining:
        scope.b.name(out, "out")
    return doc, out


def stmt_loc(stmt, label: str, src: Source) -> Loc:
    """The ``Loc`` of a statement: its line, column, text and the name it assigns."""
    return Loc(stmt.lineno, stmt.col_offset + 1, src.line(stmt.lineno).strip(), label)


#: statements lowered elsewhere: ``"for"`` loops and ``"setitem"`` (item assignment),
#: filled by ``frontend/loops.py``; ``"lower"`` is ``lower_statement`` (for loop bodies)
STATEMENTS: dict[str, Callable] = {}


def lower_statement(stmt, scope: Scope) -> None:
    """Lower one assignment (``name = ...``, or ``name += ...`` and the other
    augmented forms as ``name = name + ...``) and bind the name in ``scope.env``; a
    ``for`` loop or an item assignment through ``STATEMENTS``; any other statement is
    ``form_error``'s."""
    src = scope.src
    error = form_error(stmt, src)
    if error is not None:
        raise error
    if isinstance(stmt, ast.For):
        return STATEMENTS["for"](stmt, scope)
    target = stmt.target if isinstance(stmt, ast.AugAssign) else stmt.targets[0]
    if isinstance(target, ast.Subscript):
        return STATEMENTS["setitem"](stmt, scope)
    value = stmt.value
    if isinstance(stmt, ast.AugAssign):
        if target.id not in scope.env:
            raise unassigned_error(target, src)
        value = ast.BinOp(
            left=ast.Name(target.id, ast.Load()), op=stmt.op, right=stmt.value
        )
        ast.copy_location(value, stmt.value)
        ast.copy_location(value.left, target)
    name = target.id
    if (
        name in scope.constants
        or name in scope.funcs
        or name in CONSTANTS
        or name in scope.dims
    ):
        raise fixed_error(name, target, src)
    check_reserved(name, target, src)
    with scope.b.at(scope.call_loc or stmt_loc(stmt, name, src)):
        node = lower_expr(value, scope)
    scope.b.name(node, name)
    scope.env[name] = node


def check_reserved(name: str, node, src: Source) -> None:
    """Refuse assigning to a built-in name (``call_names.reserved_error``)."""
    error = reserved_error(name, node, src)
    if error is not None:
        raise error


STATEMENTS["lower"] = lower_statement
