"""The one composition of the compiler, used by every entry point (formula text, files,
SymPy expressions, and the ``check``, ``explain``, ``graph`` and ``ir`` commands):

    frontend -> fuse -> differentiate -> expand fused nodes -> late rewrites -> seed one

(``walk``: the prefix up to the backward walk, whose nodes ``gradc explain`` shows.)

Each stage is a function from IR to IR in ``passes/``; with ``fuse=False`` the fusion
stages are skipped (``--no-fuse``) and every node is differentiated by its own rule.
"""

from __future__ import annotations

from .core.ir import Function
from .frontend import sympy_input, text
from .passes.autodiff import differentiate
from .passes.fuse import expand_fused, fuse_regions
from .passes.late import late
from .passes.seed import with_value_and_grad


def walk(fn: Function, *, fuse: bool = True) -> Function:
    """The pipeline up to and including the backward walk: fused (when ``fuse``) and
    differentiated, with the walk's record (``adjoints``, ``sent``) still valid."""
    return differentiate(fuse_regions(fn) if fuse else fn, fuse=fuse)


def transform(fn: Function, *, fuse: bool = True, adjoint: bool = True) -> Function:
    """One lowered function through the passes: fused (when ``fuse``), then, when
    ``adjoint``, differentiated, expanded, rewritten late and given its seed-one graph."""
    if not adjoint:
        return fuse_regions(fn) if fuse else fn
    fn = walk(fn, fuse=fuse)
    if fuse:
        fn = expand_fused(fn)
    return with_value_and_grad(late(fn))


def walk_source(
    source, *, filename: str = "<string>", fuse: bool = True
) -> list[Function]:
    """Formula text through the pipeline up to the backward walk (frontend, fuse,
    differentiate): the graphs whose ``adjoints`` and ``sent`` record every gradient the
    walk built, node by node (what ``gradc explain`` and ``gradc graph`` show)."""
    return [walk(f, fuse=fuse) for f in text.parse(source, filename, fuse=fuse)]


def lower_source(
    source, *, filename: str = "<string>", fuse: bool = True, adjoint: bool = True
) -> list[Function]:
    """Formula text to IR ``Function``s, through the whole pipeline."""
    functions = text.parse(source, filename, fuse=fuse)
    return [transform(f, fuse=fuse, adjoint=adjoint) for f in functions]


def lower_sympy(
    expr, inputs, *, wrt=None, name: str = "f", fuse: bool = True, adjoint: bool = True
) -> tuple[Function, str]:
    """A SymPy expression to an IR ``Function`` through the same passes as formula text;
    returns it with the canonical text of its DAG (hashed into the module header)."""
    fn, canonical = sympy_input.lower_sympy(expr, inputs, wrt=wrt, name=name, fuse=fuse)
    return transform(fn, fuse=fuse, adjoint=adjoint), canonical
