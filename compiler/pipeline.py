"""The one composition of the compiler, used by every entry point (formula text, files,
SymPy expressions, and the ``check``, ``explain``, ``graph`` and ``ir`` commands):

    frontend -> fuse -> differentiate -> expand fused nodes -> late rewrites -> seed one
    -> (NumPy: late rewrites past guards' rare branches, scalars read early) -> scalarise
    (small literal shapes)

(``walk``: the prefix up to the backward walk, whose nodes ``gradc explain`` shows.)
Asked for (``--jvp``, ``--hvp``), forward mode runs on the fused graph (``f_jvp``) and
on the differentiated one (``f_hvp``: forward over reverse; for a function that loops,
reverse over forward: the backward walk over ``f_jvp``'s graph), then the same expansion
and late rewrites; ``f_hessian`` batches ``f_hvp``'s graph (through its loops too).
Last, a function whose arrays are all small and of literal shape is rebuilt on scalars
(``passes/scalarise.py``; ``scalar=False`` for the Array API target, which keeps dtypes).

Each stage is a function from IR to IR in ``passes/``; with ``fuse=False`` the fusion
stages are skipped (``--no-fuse``) and every node is differentiated by its own rule.
"""

from __future__ import annotations

import dataclasses

from .core.ir import Function
from .errors import FormulaError
from .frontend import sympy_input, text
from .lazy import resolve
from .passes import batching, forward
from .passes import loop_batching as _loop_batching  # noqa: F401 - loops' batching
from .passes import loops as _loops  # noqa: F401 - registers the loop's adjoint
from .passes.autodiff import differentiate
from .passes.early_reads import early_reads
from .passes.fuse import expand_fused, fuse_regions
from .passes.late import late, late_again
from .passes.layout import batch_major
from .passes.literal_shapes import may_scalarise
from .passes.loop_bodies import expand_graph, fuse_loops
from .passes.loop_forward import hvp_over_jvp
from .passes.seed import with_value_and_grad


def fused(fn: Function, fuse: bool) -> Function:
    """``fn`` with its elementwise regions fused (those of loop bodies too) when ``fuse``."""
    return fuse_loops(fuse_regions(fn)) if fuse else fn


def walk(fn: Function, *, fuse: bool = True) -> Function:
    """The pipeline up to and including the backward walk: fused (when ``fuse``) and
    differentiated, with the walk's record (``adjoints``, ``sent``) still valid."""
    return differentiate(fused(fn, fuse), fuse=fuse)


def finish(fn: Function, fuse: bool, numpy: bool = True) -> Function:
    """A graph after its transformation: fused nodes expanded (each loop given the
    expanded body its reverse loop was built on), late rewrites (``numpy``: those of the
    NumPy target too, and its batch-major layout: ``passes/layout.py``)."""
    out = expand_fused(fn) if fuse else fn
    if any(node.op == "loop" for node in out.nodes):
        out = expand_graph(out)
    out = late(out, numpy)
    return batch_major(out) if numpy else out


def in_memory(vg: Function) -> Function:
    """``f_value_and_grad``'s graph (NumPy target) holding the arrays hand-written NumPy
    holds: a value only a guard's rare branch reads besides is left to it
    (``late.late_again``), and a scalar that ends an array's life comes as early as it
    can (``early_reads``)."""
    return early_reads(late_again(vg))


def hessian_eligible(fn: Function) -> bool:
    """``f_hessian`` is emitted when exactly one input, of shape () or (n,), is
    differentiated (SPEC §2.1)."""
    return len(fn.wrt) == 1 and len(fn.nodes[fn.wrt[0].node].shape) <= 1


def transform(
    fn: Function,
    *,
    fuse: bool = True,
    adjoint: bool = True,
    jvp: bool = False,
    hvp: bool = False,
    scalar: bool = True,
    numpy: bool = True,
) -> Function:
    """One lowered function through the passes: fused (when ``fuse``), then, when
    ``adjoint``, differentiated, expanded, rewritten late (``numpy``: for the NumPy
    target) and given its seed-one graph; with ``jvp`` and ``hvp`` (a scalar function
    only) its forward-mode graphs too; with ``scalar``, all of them rebuilt on scalars
    where its arrays are small and literal."""
    fused_fn = fused(fn, fuse)
    if not adjoint:
        return fused_fn
    walked = differentiate(fused_fn, fuse=fuse)
    out = with_value_and_grad(finish(walked, fuse, numpy), numpy)
    if numpy and out.value_and_grad is not None:
        out = dataclasses.replace(out, value_and_grad=in_memory(out.value_and_grad))
    extra = {}
    loops = any(node.op == "loop" for node in fn.nodes)
    if jvp:
        extra["jvp"] = finish(forward.jvp(fused_fn), fuse, numpy)
    if hvp and fn.nodes[fn.output].shape == ():
        batched = hessian_eligible(fn) and fn.nodes[fn.wrt[0].node].shape
        if loops:  # reverse over forward (``loop_forward.hvp_over_jvp``)
            extra["hvp"] = finish(hvp_over_jvp(fused_fn, fuse=fuse), fuse, numpy)
        else:
            extra["hvp"] = finish(forward.hvp(walked), fuse, numpy)
        if batched:
            extra["hessian"] = hessian(fn, extra["hvp"], numpy)
    out = dataclasses.replace(out, **extra)
    return scalar_build(out) if scalar else out


def scalar_build(fn: Function) -> Function:
    """``passes/scalarise.scalarise(fn)``: the pass, which holds elements in NumPy object
    arrays, is imported only for a function it may expand (``may_scalarise``), so a
    compile of any other imports no NumPy (bench/README.md, start-up)."""
    if not may_scalarise(fn):
        return fn
    return resolve(".passes.scalarise:scalarise")(fn)


def hessian(fn: Function, hvp: Function, numpy: bool = True) -> Function:
    """``f_hessian``'s graph from ``f_hvp``'s; a located error where an operation cannot
    be batched yet (``f_hvp`` itself works there)."""
    try:
        return late(batching.hessian(hvp), numpy)
    except batching.BatchingError as exc:
        loc = exc.loc or fn.loc
        raise FormulaError(
            f"--hvp: f_hessian of '{fn.name}' cannot push its tangents together "
            f"through {exc} yet",
            filename=fn.filename,
            line=loc.line,
            col=loc.col,
            source_line=loc.text,
        ) from None


def walk_source(
    source, *, filename: str = "<string>", fuse: bool = True
) -> list[Function]:
    """Formula text through the pipeline up to the backward walk (frontend, fuse,
    differentiate): the graphs whose ``adjoints`` and ``sent`` record every gradient the
    walk built, node by node (what ``gradc explain`` and ``gradc graph`` show)."""
    return [walk(f, fuse=fuse) for f in text.parse(source, filename, fuse=fuse)]


def lower_source(
    source,
    *,
    filename: str = "<string>",
    fuse: bool = True,
    adjoint: bool = True,
    jvp: bool = False,
    hvp: bool = False,
    scalar: bool = True,
    numpy: bool = True,
) -> list[Function]:
    """Formula text to IR ``Function``s, through the whole pipeline (``numpy``: for the
    NumPy target)."""
    functions = text.parse(source, filename, fuse=fuse)
    return [
        transform(
            f, fuse=fuse, adjoint=adjoint, jvp=jvp, hvp=hvp, scalar=scalar, numpy=numpy
        )
        for f in functions
    ]


def lower_sympy(
    expr,
    inputs,
    *,
    wrt=None,
    name: str = "f",
    fuse: bool = True,
    adjoint: bool = True,
    jvp: bool = False,
    hvp: bool = False,
    scalar: bool = True,
    numpy: bool = True,
) -> tuple[Function, str]:
    """A SymPy expression to an IR ``Function`` through the same passes as formula text;
    returns it with the canonical text of its DAG (hashed into the module header)."""
    fn, canonical = sympy_input.lower_sympy(expr, inputs, wrt=wrt, name=name, fuse=fuse)
    out = transform(
        fn, fuse=fuse, adjoint=adjoint, jvp=jvp, hvp=hvp, scalar=scalar, numpy=numpy
    )
    return out, canonical
