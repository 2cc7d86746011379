"""Formula text -> graph IR, through the standard library's ``ast`` (the text is never run).

Only allow-listed syntax is read: module docstring, numeric constants, ``def`` with
annotated parameters, assignments and one final ``return``. Everything else is a
``FormulaError`` pointing at the offending line and column. ``parse`` is the entry; the
lowering itself lives in the modules beside this one.
"""

from __future__ import annotations

import ast

from ..core.ir import Function
from ..errors import FormulaError
from .call_names import BUILT_IN_NAMES
from .calls import BUILTIN_CALLS
from .conditions import compare_expr
from .early import early_error
from .expressions import (
    attribute_expr,
    binop_expr,
    constant_expr,
    name_expr,
    unary_expr,
)
from .indexing import subscript_expr
from .inlining import call_expr
from .loops import lower_for  # noqa: F401 - registers loops and item assignment
from .module_refusals import generated_name_error, no_function_error
from .numpy_calls import NUMPY_CALLS  # noqa: F401 - registers NumPy's other spellings
from .refusals import function_name_error, new_name_error
from .scope import CONSTANTS, EXPRESSIONS, Signature
from .source import Source, is_docstring, literal, read_python
from .statements import check_fuse_signature, is_fuse, lower_function
from .type_names import FLOAT_TYPES
from .unsupported import unsupported


def parse(
    text: str | bytes, filename: str = "<string>", *, fuse: bool = True
) -> list[Function]:
    """Lower every exported function of a formula file to the graph IR."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormulaError(
                f"file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                filename=filename,
            ) from None
    tree, src = read_python(text, filename)
    # the errors the syntax tree shows: the command line's checks too
    error = early_error(tree, src)
    if error is not None:
        raise error
    return lower_module(tree, src, fuse)


def lower_module(tree: ast.Module, src: Source, fuse: bool) -> list[Function]:
    """Lower the top level of a formula file: constants, then every ``def`` in order;
    returns the exported (not ``@fuse``) functions."""
    body = list(tree.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    constants: dict[str, float] = {}
    funcs: dict[str, Signature] = {}
    out: list[Function] = []
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef):
            src.defs.setdefault(stmt.name, stmt)
    defined: dict[
        str, tuple[str, int]
    ] = {}  # module-level name -> (exported function, line)
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            name, value = read_constant(stmt, src, constants)
            constants[name] = value
        elif isinstance(stmt, ast.FunctionDef):
            check_new_name(stmt.name, stmt, src, constants, funcs)
            check_function_name(stmt.name, stmt, src)
            sig = Signature(stmt, is_fuse(stmt, src))
            if sig.fuse:
                check_fuse_signature(stmt, src)
            else:
                check_generated_names(stmt, src, defined)
                out.append(lower_function(stmt, src, constants, funcs, fuse))
            funcs[stmt.name] = sig
        else:
            raise unsupported(stmt, src, "at the top level of a formula file")
    if not out:
        raise no_function_error(src)
    return out


def check_function_name(name: str, node, src: Source) -> None:
    """An exported function's name becomes a module attribute: refuse ones that would clash."""
    error = function_name_error(name, node, src)
    if error is not None:
        raise error


def check_generated_names(
    node, src: Source, defined: dict[str, tuple[str, int]]
) -> None:
    """Refuse the exported function ``node`` whose names clash with those of one above
    (``module_refusals.generated_name_error``, which records them)."""
    error = generated_name_error(node, src, defined)
    if error is not None:
        raise error


def check_new_name(name: str, node, src: Source, constants, funcs) -> None:
    """Refuse a module-level name that is a built-in name or already defined."""
    reserved = (
        set(BUILTIN_CALLS)
        | set(CONSTANTS)
        | BUILT_IN_NAMES
        | set(FLOAT_TYPES)
        | {"Index"}
    )
    error = new_name_error(name, node, src, reserved, set(constants) | set(funcs))
    if error is not None:
        raise error


def read_constant(stmt: ast.Assign, src: Source, constants) -> tuple[str, float]:
    """``NAME = <number>`` (an optional unary minus allowed)."""
    if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
        raise src.error(stmt, "a module-level assignment must be 'NAME = <number>'")
    name = stmt.targets[0].id
    check_new_name(name, stmt, src, constants, {})
    value = stmt.value
    sign = 1.0
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(value.op, ast.USub) else 1.0
        value = value.operand
    return name, sign * literal(value, src, "a module constant must be a number")


# The expression handlers, one per AST node type (``scope.expr`` dispatches through them).
EXPRESSIONS.update(
    {
        ast.Name: name_expr,
        ast.Constant: constant_expr,
        ast.BinOp: binop_expr,
        ast.UnaryOp: unary_expr,
        ast.Attribute: attribute_expr,
        ast.Subscript: subscript_expr,
        ast.Call: call_expr,
        ast.Compare: compare_expr,
    }
)
