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

from dataclasses import dataclass, field

from ..core import printer as P
from ..core.prim import MATH, PRIMS, spell
from ..ops.spelling import integral_exponent
from .context import Ctx
from .emit import Emitter, accumulations, cite
from .layout import LINE_LIMIT, call_lines, signature
from .numba_loops import axis_sum, broadcasts, index_of, inner_sum, sum_target
from .numba_vector_math import calls_helpers, sum_line, vector_spelling, with_contract
from .targets import MATH as MATH_TARGET

#: the decorator of every kernel and of the float helpers kernels call
DECORATOR = '@numba.njit(cache=True, error_model="numpy")'
# the float helpers (``templates/helpers.py.j2``) a kernel may call: compiled by numba too
JIT_HELPERS = (
    "_sigmoid_scalar",
    "_softplus_scalar",
    "_sign_scalar",
    "_maximum_scalar",
    "_minimum_scalar",
)


@dataclass
class Region:
    """A run of nodes computed by one kernel: elementwise ``members`` of ``shape`` and
    ``sums`` (full sums of members) in statement order."""

    shape: tuple
    members: list[int] = field(default_factory=list)
    sums: set[int] = field(default_factory=set)


def kernel_pow(node, a, ctx) -> P.Expr:
    """``x ** k`` for a whole ``k >= 0``; a float exponent otherwise: numba raises
    ZeroDivisionError on ``0.0 ** -1`` (an int power), not on ``0.0 ** -1.0`` (inf)."""
    k = integral_exponent(a[1])
    if k is not None and not k.text.startswith("-"):
        return P.power(a[0], k)
    if k is not None:
        return P.power(a[0], a[1])
    ctx.use("math")
    return P.call("math.pow", *a)


# Elementwise functions that NumPy runs with SIMD code (numba calls libm's per element:
# tanh 10x, log1p 1.5x, exp 1.2x slower; an op's ``libm_calls``): a kernel calling k of
# them per element runs only up to SIZE_BUDGET // k elements, NumPy's statements above
# (the benchmark's chain of 4 such calls: the kernel 1.4x faster than NumPy at 250
# elements, 0.8x at 500; bench/README.md, "The numba target").
SIZE_BUDGET = 1536


def kernel_spelling(op: str):
    """An op's spelling in a kernel where it differs from the ``math`` target's (exp,
    log, tanh, ...: vectorisable helpers, ``numba_vector_math``, exempt from
    SIZE_BUDGET), or None."""
    return kernel_pow if op == "pow" else vector_spelling(op)


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


class KernelEmitter(Emitter):
    """The NumPy target's ``Emitter``, with each run (``Region``) of enough operations
    replaced by one call of a kernel added to ``ctx.kernels``; with ``broadcast``, a run
    also reads arguments broadcast to its shape and sums over axes (``numba_loops``)."""

    broadcast = False
    libm_branch = True  # NumPy's statements where the libm calls are many (SIZE_BUDGET)

    def run(self):
        self.region_of: dict[int, Region] = {}
        self.untyped: set[int] = set()  # elementwise nodes numba cannot compile
        _, scattered, _ = accumulations(self.nodes, self.todo, self.uses, self.bound)
        for region in self.regions(scattered):
            for m in region.members:
                self.region_of[m] = region
        return super().run()

    def fits(self, i: int, region: Region, scattered) -> bool:
        """Whether node ``i`` joins ``region``."""
        nodes, node = self.nodes, self.nodes[i]
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
                if not set(node.args) & set(current.members):
                    continue  # reads nothing of the run: computed before the call
            if current is not None and self.worth(current):
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
        if current is not None and self.worth(current):
            out.append(current)
        return out

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

    def numpy_branch(self, region: Region, outs: list[int], firsts) -> list[str]:
        """The NumPy target's statements of ``region`` (its ``outs`` named as the
        kernel's call names them), indented for the ``else`` of the size branch."""
        blocks, self.blocks = self.blocks, []
        self.ctx.nested += 4
        for m in region.members:
            super().node(m, firsts)
        for m in outs:
            if m not in self.named:
                self.materialise(m, self.exprs[m])
        self.ctx.nested -= 4
        branch, self.blocks = self.blocks, blocks
        lines = []
        for block in branch:
            lines += [f"    # {block.comment}"] + ["    " + ln for ln in block.lines]
        return lines

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
        outs = self.outputs(region)
        onames = []
        for m in outs:
            onames.append(self.name_of(m))
        own = [k for k in self.ctx.kernels if k.startswith(f"_{self.ctx.prefix}_k")]
        kname = f"_{self.ctx.prefix}_k{len(own) + 1}"
        self.ctx.kernels[kname] = kernel_source(
            self, kname, region, inputs, texts, outs
        )
        head = onames[0] if len(onames) == 1 else ", ".join(onames)
        calls = sum(libm_call(nodes[m].op) for m in region.members)
        calls *= self.libm_branch
        first = next(t for a, t in zip(inputs, texts) if nodes[a].shape)
        if calls:
            self.ctx.nested += 4
        one = f"{head} = {kname}({', '.join(texts)})"
        if len(one) + 4 + self.ctx.indent <= LINE_LIMIT:
            lines = [one]
        else:
            pad = " " * self.ctx.nested
            lines = [ln[len(pad) :] for ln in assign_lines(pad, head, kname, texts)]
        if calls:
            self.ctx.nested -= 4
            limit = SIZE_BUDGET // calls
            test = f"if {first}.size <= {limit}:  # numba below, NumPy's SIMD above"
            lines = [test] + ["    " + ln for ln in lines] + ["else:"]
            lines += self.numpy_branch(region, outs, firsts)
        self.statement(region.members[-1], lines)
        for m, name in zip(outs, onames):
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


def kernel_source(emitter, kname, region, inputs, texts, outs) -> list[str]:
    """The lines of the kernel ``kname``: a loop over ``region.shape`` computing every
    member from the ``inputs`` (parameters named after their ``texts`` where those are
    names), returning the ``outs`` (arrays; a full sum: a float)."""
    nodes, shape, rank = emitter.nodes, region.shape, len(region.shape)
    params, local = [], {}
    taken: set[str] = set()

    def fresh(base: str) -> str:
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        return name

    for text in texts:
        params.append(fresh(text if text.isidentifier() else "a"))
    idx = [fresh(f"i{k}") for k in range(rank)]
    sizes = [fresh(f"n{k}") for k in range(rank)]
    index = ", ".join(idx)
    mctx = Ctx(nodes, emitter.ctx.dims, helpers=emitter.ctx.helpers, target=MATH_TARGET)
    first_array = next(p for a, p in zip(inputs, params) if nodes[a].shape == shape)
    head = sizes[0] + "," if rank == 1 else ", ".join(sizes)
    body = [
        f"({head}) = {first_array}.shape"
        if rank == 1
        else f"{head} = {first_array}.shape"
    ]
    onames = {}
    for m in outs:
        onames[m] = fresh("total" if m in region.sums else "out")
        if m in region.sums and nodes[m].shape:  # a sum over some axes
            zeros = sum_target(nodes[m], idx, sizes)[0]
            body.append(f"{onames[m]} = np.zeros({zeros})")
        elif m in region.sums:
            body.append(f"{onames[m]} = 0.0")
        else:
            kind = ", dtype=np.bool_" if nodes[m].dtype == "bool" else ""
            full = f"({', '.join(sizes)}{',' * (rank == 1)})"
            body.append(f"{onames[m]} = np.empty({full}{kind})")
    # internal sums (read by no one after) are still computed: they are members
    loop: list[str] = []
    pre: list[str] = []  # before and after the inner loop (sums along it)
    post: list[str] = []
    for a, p in zip(inputs, params):
        if nodes[a].shape:
            local[a] = P.name(fresh(p + "_"))
            at = index_of(nodes[a].shape, shape, idx)  # a row: [i1]; a column: [i0, 0]
            loop.append(f"{local[a].text} = {p}[{at}]")
        else:
            local[a] = P.name(p)
    comment = None
    for m in region.members:
        node = nodes[m]
        c = cite(node)
        if c != comment:
            loop.append(f"# {c}")
            comment = c
        if m in region.sums:
            target = onames.get(m)
            if target is not None and node.shape and inner_sum(node, rank):
                row = fresh("row")  # along the inner loop: in a register, then stored
                pre.append(f"{row} = 0.0")
                loop.append(f"{row} += {local[node.args[0]].text}")
                post.append(f"{target}[{sum_target(node, idx, sizes)[1]}] += {row}")
            elif target is not None and node.shape:
                at = sum_target(node, idx, sizes)[1]
                loop.append(f"{target}[{at}] += {local[node.args[0]].text}")
            elif target is not None:
                terms = " * ".join(local[a].text for a in node.args)
                loop.append(sum_line(target, terms, mctx))
            continue
        args = []
        for a in node.args:
            if nodes[a].op == "const" and a not in local:
                args.append(spell(nodes[a], [], mctx))
            else:
                args.append(local[a])
        emit = kernel_spelling(node.op)
        e = emit(node, args, mctx) if emit else spell(node, args, mctx)
        local[m] = P.name(fresh("v"))
        loop.append(f"{local[m].text} = {e.text}")
        if m in onames:
            loop.append(f"{onames[m]}[{index}] = {local[m].text}")
    decorator = emitter.decorator(region)
    if calls_helpers(nodes[m].op for m in region.members):
        decorator = with_contract(decorator)
    lines = [decorator, *signature(kname, params)]
    lines += ["    " + ln for ln in body]
    for k in range(rank):
        if k == rank - 1:
            lines += ["    " * (k + 1) + ln for ln in pre]
        lines.append("    " * (k + 1) + f"for {idx[k]} in range({sizes[k]}):")
    lines += ["    " * (rank + 1) + ln for ln in loop]
    lines += ["    " * rank + ln for ln in post]
    for m in outs:  # a mean over some axes: the sum, divided once by the count
        if m in region.sums and nodes[m].op == "mean":
            lines.append(f"    {onames[m]} /= {sum_target(nodes[m], idx, sizes)[2]}")
    rets = [onames[m] for m in outs]
    lines.append("    return " + ", ".join(rets))
    return lines
