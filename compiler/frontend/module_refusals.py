"""The errors of a formula file's top level and of a function's decorators, worded once
for the frontend (``text.lower_module``, ``statements.is_fuse``, ``lower_function``)
and for the syntax-tree check that reports them before SymPy is imported
(``statement_shapes.shape_mismatch``): a file with no function to compile, a decorator
other than ``@fuse`` and ``@wrt(...)``, a ``@wrt`` of another form or naming no
parameter, and an exported function whose names clash with another's (``f_grad``
after ``f``).

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from ..core.names import generated_names
from ..errors import FormulaError
from .source import Source


def no_function_error(src: Source) -> FormulaError:
    """The error for a file that defines no function to export (only ``@fuse`` ones,
    constants, or nothing)."""
    return src.error((1, 1), "no function to compile (define one with 'def')")


def known_decorator(d) -> bool:
    """Whether the decorator ``d`` is ``@fuse`` or ``@wrt(...)``."""
    if isinstance(d, ast.Name):
        return d.id == "fuse"
    return (
        isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "wrt"
    )


def unknown_decorator_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The error at ``fn``'s first decorator other than ``@fuse`` and ``@wrt(...)``,
    else None."""
    for d in fn.decorator_list:
        if not known_decorator(d):
            return src.error(
                d, "unknown decorator (only @fuse and @wrt(...) are supported)"
            )
    return None


def wrt_form_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The error of the first ``@wrt(...)`` of ``fn`` with keywords or no argument (at
    it), or with an argument that is no name (at that), as ``statements.read_wrt``
    reads them; else None."""
    for d in fn.decorator_list:
        if not isinstance(d, ast.Call):
            continue
        if d.keywords or not d.args:
            return src.error(d, "@wrt takes parameter names: @wrt(w, b)")
        for a in d.args:
            if not isinstance(a, ast.Name):
                return src.error(a, "@wrt takes parameter names")
    return None


def plain_wrt_names(fn: ast.FunctionDef) -> dict | None:
    """The names ``fn``'s ``@wrt(...)`` decorators give, each with the node of its last
    mention, in the order of their first (as ``statements.read_wrt`` reads them); None
    where a ``@wrt`` has keywords, no argument or one that is no name (the frontend's
    errors of its form)."""
    names: dict = {}
    for d in fn.decorator_list:
        if not isinstance(d, ast.Call):
            continue
        if d.keywords or not d.args or not all(isinstance(a, ast.Name) for a in d.args):
            return None
        names.update((a.id, a) for a in d.args)
    return names


def wrt_name_error(name: str, node, src: Source) -> FormulaError:
    """The error at ``node``, where ``@wrt`` names ``name``, which is no parameter."""
    return src.error(node, f"@wrt names '{name}', which is not a parameter")


def generated_name_error(
    node: ast.FunctionDef, src: Source, defined: dict[str, tuple[str, int]]
) -> FormulaError | None:
    """The error for an exported function ``node`` whose name, or one gradc generates
    for it (``f_forward`` ...: ``names.generated_names``), is one that ``defined`` holds
    for an exported function above (name -> the owner's name and line); else None, and
    ``node``'s names are recorded there. ``@fuse`` functions are not exported: they
    define no name."""
    names = [node.name, *generated_names(node.name)]
    for name in names:
        if name not in defined:
            continue
        owner, line = defined[name]
        if name == node.name:
            message = f"collides with '{name}', which gradc generates for '{owner}' (line {line})"
            return src.error(
                node, f"function name '{name}' {message}; rename one of them"
            )
        if name == owner:
            message = f"'{name}', the name of the function on line {line}"
        else:
            message = (
                f"'{name}', which gradc also generates for '{owner}' (line {line})"
            )
        return src.error(
            node, f"function '{node.name}' would generate {message}; rename one of them"
        )
    defined.update((name, (node.name, node.lineno)) for name in names)
    return None
