"""The public API of gradc (re-exported by ``gradc/__init__.py`` on first use):
formula text, files and SymPy expressions compiled to NumPy modules, or loaded.

Formula text (or a SymPy expression) -> graph IR -> reverse-mode adjoint IR ->
fusion and simplification -> a standalone NumPy module (see SPEC.md and README.md).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import types
from pathlib import Path

from .backend.loader import import_file_source, import_source
from .backend.module import generate
from .backend.targets import PLANNED_TARGETS, TARGETS
from .core.names import VERSION
from .errors import FormulaError
from .frontend.source import decode, located
from .pipeline import lower_source
from .pipeline import lower_sympy as _lower_sympy

__all__ = [
    "FormulaError",
    "compile_file",
    "compile_source",
    "compile_sympy",
    "decode",
    "import_module_source",
    "load_source",
    "load_sympy",
    "lower_source",
    "module_docstring",
]
__version__ = VERSION


def module_docstring(text: str) -> str:
    """The formula file's docstring (read with ``ast``, never executed), or ''."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ""
    return ast.get_docstring(tree) or ""


def compile_source(
    text,
    *,
    filename: str = "<string>",
    fuse: bool = True,
    checks: bool = True,
    target: str = "numpy",
    jvp: bool = False,
    hvp: bool = False,
) -> str:
    """Compile formula text (str, or UTF-8 bytes) to the source of a standalone NumPy module
    (whose functions validate nothing when ``checks`` is False: ``--no-checks``; ``target``
    ``"array-api"``: Array API code, SPEC §2.2; with ``jvp`` and ``hvp``, also ``f_jvp``
    and ``f_hvp``, ``f_hessp``, ``f_hessian``, SPEC §2.1)."""
    check_target(target, filename)
    if isinstance(text, bytes):
        raw = text
    else:
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise located(
                text[: exc.start],
                filename,
                "text holds a lone surrogate "
                f"(U+{ord(text[exc.start]):04X}), not valid Unicode",
            ) from None
    text = decode(raw, filename)
    return _compile(text, filename, fuse, raw, checks, target, jvp, hvp)


def _compile(
    text: str,
    filename: str,
    fuse: bool,
    raw: bytes,
    checks: bool = True,
    target: str = "numpy",
    jvp: bool = False,
    hvp: bool = False,
) -> str:
    """The module for ``text``; its header carries the sha256 of the source bytes ``raw``."""
    scalar = target != "array-api"  # keeps the inputs' dtype: never scalarised
    with collector_paused():
        functions = lower_source(
            text,
            filename=filename,
            fuse=fuse,
            jvp=jvp,
            hvp=hvp,
            scalar=scalar,
            numpy=target == "numpy",
        )
        docstring = module_docstring(text)
        return generate(functions, filename, raw, docstring, checks, target)


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while a compile runs, and resumed after
    if it was running. A compile makes hundreds of thousands of objects that live until
    it ends (IR nodes, SymPy expressions, lines), and each full collection walks them
    all: a 2,000-statement chain spent 30% of its time there, which grew faster than the
    chain (bench/README.md, "The garbage collector paused"). The garbage a compile leaves
    is collected at the next collection after it."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def check_target(target: str, filename: str = "<string>") -> None:
    """A FormulaError (located at the file) for a target that is not built (yet)."""
    if target in TARGETS:
        return
    known = ", ".join(TARGETS)
    if target in PLANNED_TARGETS:
        message = f"target '{target}' is not yet available (targets: {known})"
    else:
        message = f"unknown target {target!r} (targets: {known})"
    raise FormulaError(message, filename=filename)


def compile_file(
    path,
    *,
    fuse: bool = True,
    checks: bool = True,
    target: str = "numpy",
    jvp: bool = False,
    hvp: bool = False,
) -> str:
    """Compile a ``.grad`` file; the header names ``path`` as given (keep it relative)."""
    p = Path(path)
    check_target(target, p.as_posix())
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormulaError(
            f"cannot read file: {exc.strerror}", filename=str(path)
        ) from None
    text = decode(data, p.as_posix())
    return _compile(text, p.as_posix(), fuse, data, checks, target, jvp, hvp)


def import_module_source(
    source: str, name: str, target: str = "numpy"
) -> types.ModuleType:
    """Import generated module text in memory (gradc's own output, never user text); the
    numba target's from a file in gradc's cache directory, where numba's cache works
    (``backend.loader.import_file_source``)."""
    if target == "numba":
        return import_file_source(source, name)
    return import_source(source, name)


def load_source(
    text,
    *,
    filename: str = "<string>",
    fuse: bool = True,
    checks: bool = True,
    target: str = "numpy",
    jvp: bool = False,
    hvp: bool = False,
) -> types.ModuleType:
    """Compile formula text and import the result in memory."""
    source = compile_source(
        text,
        filename=filename,
        fuse=fuse,
        checks=checks,
        target=target,
        jvp=jvp,
        hvp=hvp,
    )
    stem = Path(filename).stem if not filename.startswith("<") else "formula"
    return import_module_source(
        source, "gradc_" + "".join(c if c.isalnum() else "_" for c in stem), target
    )


def compile_sympy(
    expr,
    inputs,
    *,
    wrt=None,
    name: str = "f",
    fuse: bool = True,
    checks: bool = True,
    target: str = "numpy",
    jvp: bool = False,
    hvp: bool = False,
) -> str:
    """Compile a SymPy expression over ``inputs`` (Symbols) to a NumPy module."""
    check_target(target, "<sympy>")
    with collector_paused():
        fn, text = _lower_sympy(
            expr,
            inputs,
            wrt=wrt,
            name=name,
            fuse=fuse,
            jvp=jvp,
            hvp=hvp,
            scalar=target != "array-api",
            numpy=target == "numpy",
        )
        return generate([fn], "<sympy>", text.encode("utf-8"), "", checks, target)


def load_sympy(
    expr,
    inputs,
    *,
    wrt=None,
    name: str = "f",
    fuse: bool = True,
    checks: bool = True,
    target: str = "numpy",
    jvp: bool = False,
    hvp: bool = False,
):
    """Compile a SymPy expression and import the module in memory."""
    source = compile_sympy(
        expr,
        inputs,
        wrt=wrt,
        name=name,
        fuse=fuse,
        checks=checks,
        target=target,
        jvp=jvp,
        hvp=hvp,
    )
    return import_module_source(source, "gradc_sympy_" + name, target)
