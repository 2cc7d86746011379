"""The numba target's kernels (``--target numba``): each maximal run of elementwise
statements over arrays of one shape, and the full sums of its values, becomes one
``@numba.njit(cache=True)`` function written into the module, called where the NumPy
target would have written the run's statements.

A run is consecutive in the statement order of one emitted function, but for
statements that read none of its values (those are computed before the kernel's call,
at the run's last statement, so no read moves before its write): nodes whose operation is elementwise
and has a spelling on Python floats (the ``math`` target's, which numba compiles), of
the run's shape, every argument of that shape or a scalar; a ``sum`` over every axis of
one of its values is accumulated in the same loop, and ends what later members may
read. Everything else (matrix products: BLAS; reductions over an axis; indexing;
scatters; helpers on arrays) keeps the NumPy target's spelling. An elementwise node
that numba cannot compile (no float spelling) stays NumPy, and its statement says so.
Inside the whole-function kernels (``numba_whole``), a run also reads arguments
broadcast to its shape (a row, a column) and sums over axes (``numba_loops``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core import printer as P
from ..core.prim import MATH, PRIMS
from .accumulation import accumulations
from .emit import STATEMENT_NODES, Emitter
from .layout import LINE_LIMIT, call_lines
from .numba_loop_body import Loop, kernel_source
from .numba_loops import axis_sum, broadcasts
from .numba_scatters import scatter_chains
from .numba_stages import staged_source, stages

#: the decorator of every kernel and of the float helpers kernels call
DECORATOR = '@numba.njit(cache=True, error_model="numpy")'
# the float helpers (``templates/helpers.py.j2``) a kernel may call: compiled by numba too
JIT_HELPERS = (
    "_sigmoid_scalar",
    "_softplus_scalar",
    "_logaddexp_scalar",
    "_sign_scalar",
    "_maximum_scalar",
    "_minimum_scalar",
)


@dataclass
class Region:
    """A run of nodes computed by one kernel: elementwise ``members`` of ``shape`` and
    ``sums`` (full sums of members) in statement order; the ``deferred`` scalar nodes
    that read its sums, computed after its call (``KernelEmitter.deferrable``)."""

    shape: tuple
    members: list[int] = field(default_factory=list)
    sums: set[int] = field(default_factory=set)
    deferred: list[int] = field(default_factory=list)


# Elementwise functions that NumPy runs with SIMD code (numba calls libm's per element:
# tanh 10x, log1p 1.5x, exp 1.2x slower; an op's ``libm_calls``): a kernel calling k of
# them per element runs only up to SIZE_BUDGET // k elements, NumPy's statements above
# (the benchmark's chain of 4 such calls: the kernel 1.4x faster than NumPy at 250
# elements, 0.8x at 500; bench/README.md, "The numba target").
SIZE_BUDGET = 1536


def libm_call(op: str) -> bool:
    """Whether a kernel computes ``op`` by a libm call (SIMD in NumPy, not in numba)."""
    return PRIMS[op].libm_calls > 0 and PRIMS[op].numba_vector is None


def compiles(op: str) -> bool:
    """Whether an elementwise ``op`` can run in a kernel (numba types its float spelling)."""
    return PRIMS[op].elementwise and MATH in PRIMS[op].spellings


def full_sum(node) -> bool:
    """A ``sum`` over every axis, to a scalar; or ``vdot``, the sum of a product."""
    if node.op == "vdot":
        return True
    return node.op == "sum" and node.attr("axis") is None and not node.attr("keepdims")


# A kernel call costs about one NumPy call on a small array (1-2 us with its argument
# checks): a run of fewer operations than this stays NumPy (``where`` counts two: NumPy
# spends a pass on the comparison and one on the selection with its broadcast 0.0).
MIN_OPERATIONS = 3


def worth(region: Region, nodes) -> bool:
    """Whether ``region`` has enough operations to be a kernel (``MIN_OPERATIONS``)."""
    ops = sum(1 + (nodes[m].op == "where") for m in region.members)
    return ops >= MIN_OPERATIONS


def deferred_order(todo: list[int], regions: list[Region]) -> list[int]:
    """``todo`` with each region's deferred nodes that come before its last member
    moved to just after it (they read only earlier nodes, and nothing between reads
    them: ``deferrable``); those after it stay."""
    order = {j: k for k, j in enumerate(todo)}
    after: dict[int, list[int]] = {}
    moved: set[int] = set()
    for region in regions:
        last = region.members[-1]
        early = [d for d in region.deferred if order[d] < order[last]]
        after[last] = early
        moved.update(early)
    if not moved:
        return todo
    out = []
    for i in todo:
        if i not in moved:
            out.append(i)
            out += after.get(i, [])
    return out


class KernelEmitter(Emitter):
    """The NumPy target's ``Emitter``, with each run (``Region``) of enough operations
    replaced by one call of a kernel added to ``ctx.kernels``; with ``broadcast``, a run
    also reads arguments broadcast to its shape and sums over axes (``numba_loops``)."""

    broadcast = False
    libm_branch = True  # NumPy's statements where the libm calls are many (SIZE_BUDGET)
    scatters = True  # adjoints scattered by slices written by the loop (numba_scatters)
    staged = True  # runs calling many vectorised helpers in stages (numba_stages)
    defer = True  # scalars read from a run's sums computed after its call (deferrable)

    def run(self):
        self.region_of: dict[int, Region] = {}
        self.untyped: set[int] = set()  # elementwise nodes numba cannot compile
        _, scattered, _ = accumulations(self.nodes, self.todo, self.uses, self.bound)
        self.chain = scatter_chains(self.nodes, self.todo, self.uses)
        if not self.scatters:
            self.chain = {}
        regions = self.regions(scattered)
        for region in regions:
            for m in region.members:
                self.region_of[m] = region
        self.todo = deferred_order(self.todo, regions)
        return super().run()

    def deferrable(self, i: int, region: Region) -> bool:
        """Whether node ``i``, which reads the run (its members, or nodes deferred after
        it), can be computed after the kernel's call: a scalar (``100 * total``) that no
        later member may read (``fits``), so a sum does not end the run."""
        node = self.nodes[i]
        run = set(region.members) | set(region.deferred)
        reads = set(node.args) & run
        if (
            not self.defer
            or node.shape
            or node.op in STATEMENT_NODES
            or PRIMS[node.op].stmts
        ):
            return False
        return bool(reads) and reads <= region.sums | set(region.deferred)

    def fits(self, i: int, region: Region, scattered) -> bool:
        """Whether node ``i`` joins ``region``."""
        nodes, node = self.nodes, self.nodes[i]
        if i in self.chain:  # a part scattered into its adjoint, or their sum
            if node.op == "scatter":
                value = node.args[0]
                fresh = value not in region.sums
                return (
                    value in region.members
                    and fresh
                    and nodes[value].shape == region.shape
                )
            return all(a in region.members for a in node.args)
        if any(a in self.chain or a in region.deferred for a in node.args):
            return False
        if i in scattered or node.dtype == "int":
            return False
        if any(a in scattered for a in node.args):  # the sum writes it into its array
            return False
        if node.op == "vdot":  # sum(a * b) of two arrays of the run's shape
            return all(
                nodes[a].shape == region.shape and a not in region.sums
                for a in node.args
            )
        if full_sum(node):
            return node.args[0] in region.members and node.args[0] not in region.sums
        if self.broadcast and axis_sum(node, len(region.shape)):
            a = nodes[node.args[0]]  # a member's, or an input's of the run's shape
            fresh = node.args[0] not in region.sums
            return a.shape == region.shape and a.dtype == "float" and fresh
        if node.shape != region.shape or not compiles(node.op):
            return False
        if node.op == "add" and node.attr("acc"):
            second = node.args[1]
            if nodes[second].op == "neg" and second not in self.todo_set:
                return False  # the cache holds -c's argument (schedule.cache_reads)
        for a in node.args:
            if a in region.sums:
                return False
            shape = nodes[a].shape
            if shape != region.shape and (shape != () or nodes[a].dtype == "int"):
                if not (shape == () and PRIMS[nodes[a].op].leaf):
                    if not (self.broadcast and broadcasts(shape, region.shape)):
                        return False
        return True

    def regions(self, scattered) -> list[Region]:
        """The runs of ``todo`` that become kernels (``worth`` one)."""
        self.todo_set = set(self.todo)
        out, current = [], None
        for i in self.todo:
            node = self.nodes[i]
            if PRIMS[node.op].leaf:
                continue
            if current is not None and self.fits(i, current, scattered):
                current.members.append(i)
                if node.op in ("sum", "mean", "vdot"):
                    current.sums.add(i)
                continue
            candidate = node.shape and compiles(node.op) and node.dtype != "int"
            other = self.broadcast and current and node.shape != current.shape
            if current is not None and (not candidate or other):
                run = set(current.members) | set(current.deferred)
                if not set(node.args) & run:
                    continue  # reads nothing of the run: computed before the call
                if self.deferrable(i, current):
                    current.deferred.append(i)
                    continue
            if current is not None and self.worth(self.close(current)):
                out.append(current)
            current = None
            if node.shape and node.dtype != "int" and node.op != "sum":
                if not compiles(node.op) and PRIMS[node.op].elementwise:
                    self.untyped.add(i)
                    continue
                start = Region(node.shape)
                if compiles(node.op) and self.fits(i, start, scattered):
                    current = start
                    current.members.append(i)
        if current is not None and self.worth(self.close(current)):
            out.append(current)
        return out

    def close(self, region: Region) -> Region:
        """``region`` as its kernel computes it: cut before the first node of a scatter
        chain it holds only part of (or any, where NumPy's statements may run instead:
        ``SIZE_BUDGET``)."""
        members, nodes = region.members, self.nodes
        calls = self.libm_branch and any(libm_call(nodes[m].op) for m in members)
        cut = [
            k
            for k, m in enumerate(members)
            if m in self.chain and (calls or self.chain[m] not in members)
        ]
        if cut:
            del members[cut[0] :]
            region.sums &= set(members)
        return region

    def decorator(self, region: Region) -> str:
        """The decorator of ``region``'s kernel."""
        return DECORATOR

    def worth(self, region: Region) -> bool:
        """Whether ``region`` becomes a kernel (``worth``)."""
        return worth(region, self.nodes)

    def node(self, i: int, firsts: set[int]) -> None:
        region = self.region_of.get(i)
        if region is None:
            super().node(i, firsts)
            if i in self.untyped and i not in self.named:
                self.materialise(i, self.exprs[i])
            return
        if i == region.members[-1]:
            self.kernel(region, firsts)

    def statement(self, i: int, lines: list[str]) -> None:
        if i in self.untyped:
            op = self.nodes[i].op
            note = f"# numba: '{op}' is not compiled (no float spelling): NumPy"
            lines = [note, *lines]
        super().statement(i, lines)

    def outputs(self, region: Region) -> list[int]:
        """The members read after the kernel (or returned, or cached)."""
        members = set(region.members)
        read = set(self.keep) & members
        for j in self.todo:
            if j not in members:
                read.update(a for a in self.nodes[j].args if a in members)
                if j in self.scattered:  # a scattered part: its sum reads its args
                    read.update(a for a in self.nodes[j].args if a in members)
        return [m for m in region.members if m in read]

    def numpy_branch(self, region: Region, outs: dict, firsts) -> list[str]:
        """The NumPy target's statements of ``region``, indented for the ``else`` of the
        size branch; its ``outs`` (node: name) named as the kernel's call names them,
        also one the branch computed in place into another value's array."""
        blocks, self.blocks = self.blocks, []
        self.ctx.nested += 4
        for m in region.members:
            super().node(m, firsts)
        for m, name in outs.items():
            if m not in self.named:
                self.materialise(m, self.exprs[m])
            if self.exprs[m].text != name:  # np.subtract(1.0, t, out=t): t holds m
                self.statement(m, [f"{name} = {self.exprs[m].text}"])
        self.ctx.nested -= 4
        branch, self.blocks = self.blocks, blocks
        lines = []
        for block in branch:
            lines += [f"    # {block.comment}"] + ["    " + ln for ln in block.lines]
        return lines

    def loop_of(self, region: Region):
        """A function of a kernel's ``Names`` giving the ``Loop`` over ``region``'s
        one axis (``numba_stages``: each stage's)."""

        def loop(names):
            return Loop(self, region, names, [names.fresh("i0")], [names.fresh("n0")])

        return loop

    def member_notes(self, region: Region) -> list[str]:
        """The notes (fused local gradients) of the backward members before the last,
        as comments over the kernel's call (``statement`` writes the last one's)."""
        notes = []
        fits = LINE_LIMIT - 6 - self.ctx.indent
        for m in region.members[:-1]:
            if m in self.fn.notes and m not in self.noted | self.value_nodes:
                self.noted.add(m)
                notes += [f"# {self.fn.notes[m]}"] * (len(self.fn.notes[m]) < fits)
        return notes

    def kernel(self, region: Region, firsts) -> None:
        """The kernel of ``region`` (appended to ``ctx.kernels``) and its call; where
        the region calls a function that NumPy computes faster on long arrays (SIMD;
        numba calls libm per element), only up to ``SIZE_BUDGET`` elements per such call."""
        nodes, members = self.nodes, set(region.members)
        inputs: list[int] = []
        for m in region.members:
            for a in nodes[m].args:
                if a not in members and a not in inputs and nodes[a].op != "const":
                    inputs.append(a)
        texts = []
        for a in inputs:  # each computed once: named where it is not a leaf
            e = self.ref(a, region.members[0])
            if a not in self.named and not PRIMS[nodes[a].op].leaf:
                e = self.materialise(a, e)
            texts.append(e.text)
        outs = [m for m in self.outputs(region) if m not in self.chain]
        onames = []
        for m in outs:
            onames.append(self.name_of(m))
        accs = [m for m in region.members if self.chain.get(m) == m]
        zeros = []  # the adjoints the loop scatters into, allocated here
        for m in accs:
            shape = P.shape(nodes[m].shape, self.ctx.dims)
            zeros.append(f"{self.name_of(m)} = np.zeros({shape})")
            inputs.append(m)
            texts.append(self.name_of(m))
        own = re.compile(re.escape(f"_{self.ctx.prefix}_k") + r"\d+")
        count = sum(bool(own.fullmatch(k)) for k in self.ctx.kernels)
        kname = f"_{self.ctx.prefix}_k{count + 1}"
        parts = self.staged and stages(region, nodes, PRIMS, self.chain)
        if parts:
            self.ctx.kernels.update(
                staged_source(
                    self.loop_of(region),
                    self,
                    kname,
                    region,
                    inputs,
                    texts,
                    outs,
                    parts,
                )
            )
        else:
            self.ctx.kernels[kname] = kernel_source(
                self, kname, region, inputs, texts, outs
            )
        head = onames[0] if len(onames) == 1 else ", ".join(onames)
        calls = sum(libm_call(nodes[m].op) for m in region.members)
        calls *= self.libm_branch
        first = next(t for a, t in zip(inputs, texts) if nodes[a].shape)
        if calls:
            self.ctx.nested += 4
        one = (
            f"{head} = {kname}({', '.join(texts)})"
            if head
            else f"{kname}({', '.join(texts)})"
        )
        if len(one) + 4 + self.ctx.indent <= LINE_LIMIT:
            lines = [one]
        elif head:
            pad = " " * self.ctx.nested
            lines = [ln[len(pad) :] for ln in assign_lines(pad, head, kname, texts)]
        else:
            pad = " " * self.ctx.nested
            lines = [ln[len(pad) :] for ln in call_lines(pad, kname, texts)]
        lines = zeros + lines
        if calls:
            self.ctx.nested -= 4
            limit = SIZE_BUDGET // calls
            test = f"if {first}.size <= {limit}:  # numba below, NumPy's SIMD above"
            lines = [test] + ["    " + ln for ln in lines] + ["else:"]
            lines += self.numpy_branch(region, dict(zip(outs, onames)), firsts)
        self.statement(region.members[-1], self.member_notes(region) + lines)
        for m, name in [*zip(outs, onames), *zip(accs, texts[-len(accs) :])]:
            self.named.add(m)
            self.exprs[m] = P.name(name)
            self.namer.names[m] = name


def assign_lines(pad: str, targets: str, fname: str, args: list[str]) -> list[str]:
    """``targets = fname(args)`` as ruff formats it: the call split, or, where the
    targets and the call's head do not fit on one line, the call in parentheses, and
    where the targets alone do not, one target a line."""
    if len(f"{pad}{targets} = {fname}(") + 4 <= LINE_LIMIT:
        return call_lines(pad, f"{targets} = {fname}", args)
    if len(f"{pad}{targets} = (") + 4 <= LINE_LIMIT:
        inner = call_lines(pad + "    ", fname, args)
        return [f"{pad}{targets} = ("] + inner + [f"{pad})"]
    exploded = [f"{pad}    {t}," for t in targets.split(", ")]
    return [f"{pad}("] + exploded + call_lines(pad, f") = {fname}", args)
