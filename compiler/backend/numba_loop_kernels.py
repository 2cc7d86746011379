"""The numba target's compiled loops: a formula loop (``for t in range(T)``, the reverse
loop of its gradient, the loops of ``f_jvp`` and ``f_hvp``) as one
``@numba.njit(cache=True)`` function holding the whole ``for`` and its body, called
where the NumPy target writes the loop (``backend/loops``), so an iteration costs no
Python and no NumPy dispatch (an RNN step is 5-10 NumPy calls on small arrays).

The kernel's body is the NumPy target's loop, each node spelled as numba compiles it
(``numba_whole.WholeEmitter``: the op records' ``NUMBA`` spellings; runs that
broadcast or sum over an axis as loops), with three changes numba needs: the reverse
loop runs over ``range(last, first - step, -step)`` (numba has no ``reversed`` of a
``range``), an operand of a matrix product cut from an array by a slice is made
contiguous (``np.dot`` on a strided view warns), and the values the loop reads from
outside (the captures, start values, tapes, dimensions) are its parameters, the values
read after it (``loop_out``, ``loop_tape``, ``loop_grad_out``) its results.

The call runs where every array it reads is C-contiguous (numba types a carried value
by its start's layout and cannot unify a strided start with the body's new arrays) and
an iteration's arrays are small (``STEP_LIMIT``, measured: above it BLAS and NumPy's
SIMD loops dominate a step); else the NumPy target's loop runs, written in the
``else``. A loop whose body holds an operation numba cannot spell keeps the NumPy
loop, and the module says so in a comment over it: never a failure at call time.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
import functools

import sympy

from ..core import printer as P
from ..core.ir import reachable
from ..core.prim import PRIMS
from ..core.shapes import canon
from ..ops.numba_spelling import basic_index
from .emit import STATEMENT_NODES
from .layout import LINE_LIMIT, call_lines, signature, tuple_lines
from .loops import PROJECTIONS, emit_grad, emit_loop, range_text
from .numba_kernels import DECORATOR, KernelEmitter, assign_lines
from .numba_whole import WholeEmitter, condition_lines, spelled

# The elements of an iteration's arrays (the sum of the sizes of the body's values of the
# highest rank: an RNN step's N * D + N * H + H * H + D * H) up to which the loop runs
# compiled: the compiled RNN and LSTM ran 0.1-0.35 of the NumPy loop's time up to 3,000,
# 0.3-0.8 at 11,000-12,000, the LSTM 1.14-1.17 from 45,000 (its gates' slices and
# products; bench/README.md, "Compiled loops").
STEP_LIMIT = 16384

# module-level names a kernel's body may read that are not its parameters
MODULE_NAMES = frozenset({"np", "math", "numba"})


def loop_nodes(node):
    """The nodes of a ``loop`` node's body, or of a ``loop_grad`` node's body and
    adjoint, and the roots its printer computes."""
    if node.op == "loop":
        nodes = node.attr("body").nodes
        return nodes, list(range(len(nodes)))  # any of them may be taped
    grad = node.attr("grad")
    roots = [d for d in (*grad.d_carried, *grad.d_captures) if d is not None]
    return grad.nodes, roots


def unspelled(node) -> str | None:
    """The first operation of the loop ``node``'s body (nested loops' too) that numba
    cannot spell in nopython mode, or None."""
    nodes, roots = loop_nodes(node)
    if node.op == "loop_grad":  # the loop printer adds these into their sums itself
        for d in node.attr("grad").d_captures:
            if d is not None and nodes[d].op == "scatter" and not basic_index(nodes[d]):
                return "scatter"  # np.add.at
    for j in sorted(reachable(list(nodes), roots)):
        inner = nodes[j]
        if inner.op in ("loop", "loop_grad"):
            why = unspelled(inner)
        elif inner.op in ("param", "pack", *PROJECTIONS) or spelled(nodes, j):
            why = None
        elif inner.op == "setitem" and basic_index(inner):  # its statement, as NumPy's
            why = None
        else:
            why = inner.op
        if why is not None:
            return why
    return None


def step_terms(node, dims) -> list[str]:
    """The sizes of the body's values of the highest rank (``N * H``), spelled on the
    dimensions: an iteration's work (a tape or an array written by rows is not)."""
    nodes, _ = loop_nodes(node)
    shapes = [
        n.shape
        for n in nodes
        if n.shape and n.op not in ("param", "setitem") and not PRIMS[n.op].leaf
    ]
    if not shapes:
        return []
    top = max(len(s) for s in shapes)
    sizes = {canon(sympy.Mul(*s)): None for s in shapes if len(s) == top}
    terms = [P.dim(d, dims) for d in sizes]
    return [f"({t})" if " + " in t or " - " in t else t for t in terms]


class LoopBodyEmitter(WholeEmitter):
    """A loop body inside a compiled loop: the whole-function kernels' spellings, and
    an operand of a matrix product cut by a slice copied contiguous (``x[:, t, :]``)."""

    def run(self):
        nodes, self.strided = self.nodes, set()
        for i in self.todo:
            if nodes[i].op != "matmul":
                continue
            for a in nodes[i].args:
                while nodes[a].op == "transpose":
                    a = nodes[a].args[0]
                index = nodes[a].attr("index") if nodes[a].op == "getitem" else None
                if index and not all(e[0] == "i" for e in index):
                    self.strided.add(id(nodes[a]))
        return super().run()

    def __init__(self, *args, late=frozenset(), **kw):
        super().__init__(*args, **kw)
        self.late = late  # what the loop's printer reads after the body

    def outputs(self, region) -> list[int]:
        """Also the members the loop printer reads after the body (``late``: a
        capture's gradient, summed with ``+=``)."""
        out = set(super().outputs(region)) | (set(region.members) & self.late)
        return [m for m in region.members if m in out]

    def kernel(self, region, firsts) -> None:
        """A run's call, split by the body's indentation (``BodyCtx.extra``)."""
        nested, self.ctx.nested = (
            self.ctx.nested,
            self.ctx.indent - self.ctx.target.indent,
        )
        try:
            super().kernel(region, firsts)
        finally:
            self.ctx.nested = nested

    def statements(self, op: str):
        """The whole kernels' scatter, its ``np.add(part, g, part)`` split as ruff
        splits a call too long for the body's indentation."""
        stmts, into = super().statements(op)
        if op != "scatter":
            return stmts, into

        def split(target, node, a, ctx):
            pad = " " * ctx.indent
            out = []
            for ln in into(target, node, a, ctx):
                inner = ln[len("np.add(") : -1]
                cuts = [k for k in range(len(inner)) if inner.startswith(", ", k)]
                part = next((inner[:k] for k in cuts if inner.endswith(inner[:k])), "")
                if not ln.startswith("np.add(") or not part:
                    out.append(ln)
                    continue
                g = inner[len(part) + 2 : -len(part) - 2]
                lines = call_lines(pad, "np.add", [part, g, part])
                out += [x[len(pad) :] for x in lines]
            return out

        return stmts, split

    def spell(self, node, args: list) -> P.Expr:
        e = super().spell(node, args)
        if id(node) in self.strided:
            return P.call("np.ascontiguousarray", e)
        return e


def body_emitter(node):
    """The emitter of the body of loop ``node``, told what its printer reads after it."""
    late: set[int] = set()
    if node.op == "loop_grad":  # summed with +=, or scattered: np.add.at(d_W, i, g)
        grad = node.attr("grad")
        for d in grad.d_captures:
            if d is not None:
                late |= {d, *grad.nodes[d].args}
    return functools.partial(LoopBodyEmitter, late=frozenset(late))


def scratch(em):
    """A copy of the emitter ``em`` whose statements, names and expressions are its
    own (the kernels and helpers shared): the loop printed again as the kernel's body."""
    c = copy.copy(em)
    c.blocks, c.named, c.exprs = [], set(em.named), dict(em.exprs)
    c.noted = set(em.noted)
    c.namer = copy.copy(em.namer)
    c.namer.names, c.namer.taken = dict(em.namer.names), set(em.namer.taken)
    c.namer.counters, c.namer.last = dict(em.namer.counters), dict(em.namer.last)
    loop_vars = em.namer.__dict__.get("loop_vars", set())
    c.namer.__dict__["loop_vars"] = set(loop_vars)
    c.ctx = dataclasses.replace(em.ctx, nested=0)
    c.ctx.kernels = em.ctx.kernels  # (replace copies the fields' references: shared)
    return c


def printed(em, i: int, printer) -> list[str]:
    """The lines ``printer`` writes for node ``i`` (every ``statement`` of ``i``; the
    other nodes' statements, values the loop reads, go to ``em`` as they come)."""
    lines: list[str] = []
    own = em.statement

    def statement(j: int, new: list[str]) -> None:
        if j == i:
            lines.extend(new)
        else:
            own(j, new)

    em.statement = statement
    try:
        printer(em, i)
    finally:
        del em.statement
    return lines


class Free(ast.NodeVisitor):
    """The names a block of statements reads before it assigns them, in order."""

    def __init__(self):
        self.bound: set[str] = set()
        self.free: list[str] = []

    def load(self, name: str) -> None:
        if name not in self.bound and name not in self.free:
            self.free.append(name)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.load(node.id)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node):
        self.visit(node.value)
        for t in node.targets:
            self.visit(t)

    def visit_AugAssign(self, node):
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.load(node.target.id)
            self.bound.add(node.target.id)
        else:
            self.visit(node.target)

    def visit_For(self, node):
        self.visit(node.iter)
        self.visit(node.target)
        for s in node.body:
            self.visit(s)


def free_names(lines: list[str], ctx) -> list[str]:
    """The parameters of a kernel whose body is ``lines``: what it reads from outside
    but module-level names (NumPy, helpers, other kernels, builtins)."""
    free = Free()
    free.visit(ast.parse("\n".join(lines)))
    return [
        n
        for n in free.free
        if n not in MODULE_NAMES
        and n not in ctx.helpers
        and n not in ctx.kernels
        and not hasattr(builtins, n)
    ]


def reverse_header(em, i: int, lines: list[str]) -> list[str]:
    """``for t in reversed(range(T)):`` as ``for t in range(T - 1, -1, -1):``."""
    body = em.nodes[i].attr("grad").loop
    var = em.exprs[i].text
    head = f"for {var} in {range_text(body, em.ctx.dims, True)}:"
    dims = {**em.ctx.dims}
    last = P.dim(body.start + (body.trips - 1) * body.step, dims)
    stop = P.dim(body.start - body.step, dims)
    new = f"for {var} in range({last}, {stop}, {-body.step}):"
    return [new if ln == head else ln for ln in lines]


def compiled_loop(base):
    """The printer of ``loop`` (``loop_grad``) nodes on the numba target: ``base`` (the
    NumPy target's) elsewhere, and inside a compiled loop's body."""

    def emit(em, i: int) -> None:
        node = em.nodes[i]
        if isinstance(em, LoopBodyEmitter):  # a loop in a compiled loop's body
            em.body_emitter = body_emitter(node)
            lines = printed(em, i, base)
            if node.op == "loop_grad":
                lines = reverse_header(em, i, lines)
            em.statement(i, lines)
            return
        if not isinstance(em, KernelEmitter) or isinstance(em, WholeEmitter):
            base(em, i)
            return
        why = unspelled(node)
        if why is not None:
            note = f"# numba: this loop stays NumPy: '{why}' has no numba spelling"
            em.statement(i, [note, *printed(em, i, base)])
            return
        terms = step_terms(node, em.ctx.dims)
        em.ctx.nested += 4
        numpy_lines = printed(em, i, base)  # the else: names and binds the results
        em.ctx.nested -= 4
        em.statement(i, kernel_call(em, i, base, terms, numpy_lines))

    return emit


def kernel_call(em, i: int, base, terms, numpy_lines) -> list[str]:
    """The kernel of loop node ``i`` (added to ``ctx.kernels``) and the lines calling
    it where its arrays are small and C-contiguous, the NumPy loop else."""
    node, inner = em.nodes[i], scratch(em)
    inner.body_emitter = body_emitter(node)
    body = printed(inner, i, base)
    if node.op == "loop_grad":
        body = reverse_header(inner, i, body)
    outs: dict[str, str] = {}  # outer name -> the kernel's
    for j in em.todo:
        if em.nodes[j].op in PROJECTIONS and em.nodes[j].args[0] == i:
            outs.setdefault(em.exprs[j].text, inner.exprs[j].text)
    params = free_names(body, em.ctx)
    dims = set(em.ctx.dims.values())  # the arrays and floats first, then dimensions
    params = [p for p in params if p not in dims] + [p for p in params if p in dims]
    own = [k for k in em.ctx.kernels if k.startswith(f"_{em.ctx.prefix}_k")]
    kname = f"_{em.ctx.prefix}_k{len(own) + 1}"
    ret = tuple_lines("return (", list(outs.values()), ")")
    if len(ret) == 1:
        ret = ["return " + ", ".join(outs.values())]
    lines = [DECORATOR, *signature(kname, params)]
    lines += ["    " + ln for ln in body + ret]
    em.ctx.kernels[kname] = lines
    shapes = {em.exprs[a].text: em.nodes[a].shape for a in node.args if a in em.exprs}
    tests = [f"{' + '.join(terms)} <= {STEP_LIMIT}"] if terms else []
    tests += [f"{p}.flags.c_contiguous" for p in params if shapes.get(p)]
    note = f"# numba: the loop as one compiled function, {kname}"
    if not tests:
        return [note, *call(em, list(outs), kname, params, 0)]
    lines = [note, *condition_lines(tests), *call(em, list(outs), kname, params, 4)]
    return (
        lines
        + ["else:  # large or strided arrays: NumPy"]
        + ["    " + ln for ln in numpy_lines]
    )


def call(em, targets: list[str], kname: str, params: list[str], nested: int):
    """``a, b = kname(params)`` as ruff formats it, ``nested`` spaces in."""
    head = ", ".join(targets)
    pad = " " * (em.ctx.nested + nested)
    one = f"{head} = {kname}({', '.join(params)})"
    if len(one) + 4 + len(pad) <= LINE_LIMIT:
        lines = [one]
    else:
        lines = [ln[len(pad) :] for ln in assign_lines(pad, head, kname, params)]
    return [" " * nested + ln for ln in lines]


STATEMENT_NODES["loop"] = compiled_loop(emit_loop)
STATEMENT_NODES["loop_grad"] = compiled_loop(emit_grad)
