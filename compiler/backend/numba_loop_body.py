"""The loop body of a numba kernel (``numba_kernels``, ``numba_stages``): each member of
a run spelled on Python floats (the ``math`` target's spelling, or a vectorisable
helper: ``_vexp``), its inputs read at the loop's index, its values stored, summed or
scattered into an adjoint, and ``kernel_source``, the whole kernel of one run."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core import printer as P
from ..core.prim import NUMBA, PRIMS, spell
from .context import Ctx
from .emit import cite
from .layout import signature
from .numba_loops import index_of, inner_sum, sum_target
from .numba_scatters import scatter_line
from .numba_stages import Names
from .numba_vector_math import calls_helpers, sum_line, vector_spelling, with_contract
from .targets import MATH as MATH_TARGET


def kernel_spelling(op: str):
    """An op's spelling in a kernel where it differs from the ``math`` target's (exp,
    log, tanh, ...: vectorisable helpers, ``numba_vector_math``, exempt from
    SIZE_BUDGET; ``x ** k``: the numba spelling of its record, whose float exponents
    numba computes as ``math.pow`` does, never raising), or None."""
    if op == "pow":
        return PRIMS[op].spellings[NUMBA]
    return vector_spelling(op)


@dataclass
class Loop:
    """What a kernel's loop body is written from: the members' float values by node
    (``local``), the arrays and sums they are stored into (``onames``), the adjoints
    scattered into (``accs``), the loop's indices and lengths, and the lines before and
    after the inner loop (sums along it)."""

    emitter: object
    region: object  # numba_kernels.Region
    names: Names
    idx: list[str]
    sizes: list[str]
    local: dict = field(default_factory=dict)
    onames: dict = field(default_factory=dict)
    copies: dict = field(default_factory=dict)  # a value stored in a second array too
    accs: dict = field(default_factory=dict)
    pre: list[str] = field(default_factory=list)
    post: list[str] = field(default_factory=list)

    def __post_init__(self):
        e = self.emitter
        self.mctx = Ctx(e.nodes, e.ctx.dims, helpers=e.ctx.helpers, target=MATH_TARGET)

    def load(self, a: int, param: str) -> list[str]:
        """The line reading input ``a`` (the parameter ``param``) at the loop's index
        (a row: ``[i1]``; a column: ``[i0, 0]``); a scalar is read as it is."""
        nodes, shape = self.emitter.nodes, self.region.shape
        if not nodes[a].shape:
            self.local[a] = P.name(param)
            return []
        self.local[a] = P.name(self.names.fresh(param + "_"))
        return [
            f"{self.local[a].text} = {param}[{index_of(nodes[a].shape, shape, self.idx)}]"
        ]

    def member(self, m: int) -> list[str]:
        """The loop's lines computing member ``m`` (and storing or summing it)."""
        nodes, node, rank = self.emitter.nodes, self.emitter.nodes[m], len(self.idx)
        chain = getattr(self.emitter, "chain", {})
        if m in chain:  # a part added into its adjoint at its offset; or their sum
            if node.op != "scatter":
                return []
            value = self.local[node.args[0]].text
            return [scatter_line(node, self.accs[chain[m]], value, self.idx)]
        if m in self.region.sums:
            target = self.onames.get(m)
            if target is None:  # internal (read by no one after): not computed
                return []
            if node.shape and inner_sum(node, rank):
                row = self.names.fresh("row")  # in a register, then stored
                self.pre.append(f"{row} = 0.0")
                at = sum_target(node, self.idx, self.sizes)[1]
                self.post.append(f"{target}[{at}] += {row}")
                return [f"{row} += {self.local[node.args[0]].text}"]
            if node.shape:
                at = sum_target(node, self.idx, self.sizes)[1]
                return [f"{target}[{at}] += {self.local[node.args[0]].text}"]
            terms = " * ".join(self.local[a].text for a in node.args)
            return [sum_line(target, terms, self.mctx)]
        args = []
        for a in node.args:
            if nodes[a].op == "const" and a not in self.local:
                args.append(spell(nodes[a], [], self.mctx))
            else:
                args.append(self.local[a])
        emit = kernel_spelling(node.op)
        e = emit(node, args, self.mctx) if emit else spell(node, args, self.mctx)
        self.local[m] = P.name(self.names.fresh("v"))
        lines = [f"{self.local[m].text} = {e.text}"]
        for target in [self.onames.get(m), *self.copies.get(m, [])]:
            if target is not None:
                lines.append(f"{target}[{', '.join(self.idx)}] = {self.local[m].text}")
        return lines

    def body(self, members) -> list[str]:
        """The lines computing ``members``, each formula line cited once."""
        lines, comment = [], None
        for m in members:
            c = cite(self.emitter.nodes[m])
            if c != comment:
                lines.append(f"# {c}")
                comment = c
            lines += self.member(m)
        return lines

    def nest(self, lines: list[str], loop: list[str]) -> list[str]:
        """``lines`` (the function so far) with the loops over the region's shape
        around ``loop``, the sums along the inner loop before and after it."""
        rank = len(self.idx)
        for k in range(rank):
            if k == rank - 1:
                lines += ["    " * (k + 1) + ln for ln in self.pre]
            lines.append(
                "    " * (k + 1) + f"for {self.idx[k]} in range({self.sizes[k]}):"
            )
        lines += ["    " * (rank + 1) + ln for ln in loop]
        return lines + ["    " * rank + ln for ln in self.post]


def kernel_source(emitter, kname, region, inputs, texts, outs) -> list[str]:
    """The lines of the kernel ``kname``: a loop over ``region.shape`` computing every
    member from the ``inputs`` (parameters named after their ``texts`` where those are
    names), returning the ``outs`` (arrays; a full sum: a float)."""
    nodes, shape, rank = emitter.nodes, region.shape, len(region.shape)
    names = Names()
    params = [names.fresh(t if t.isidentifier() else "a") for t in texts]
    idx = [names.fresh(f"i{k}") for k in range(rank)]
    sizes = [names.fresh(f"n{k}") for k in range(rank)]
    w = Loop(emitter, region, names, idx, sizes)
    first_array = next(p for a, p in zip(inputs, params) if nodes[a].shape == shape)
    head = sizes[0] + "," if rank == 1 else ", ".join(sizes)
    body = [
        f"({head}) = {first_array}.shape"
        if rank == 1
        else f"{head} = {first_array}.shape"
    ]
    for m in outs:
        w.onames[m] = names.fresh("total" if m in region.sums else "out")
        if m in region.sums and nodes[m].shape:  # a sum over some axes
            zeros = sum_target(nodes[m], idx, sizes)[0]
            body.append(f"{w.onames[m]} = np.zeros({zeros})")
        elif m in region.sums:
            body.append(f"{w.onames[m]} = 0.0")
        else:
            kind = ", dtype=np.bool_" if nodes[m].dtype == "bool" else ""
            full = f"({', '.join(sizes)}{',' * (rank == 1)})"
            body.append(f"{w.onames[m]} = np.empty({full}{kind})")
    # internal sums (read by no one after) are still computed: they are members
    loop: list[str] = []
    for a, p in zip(inputs, params):
        if a in region.members:  # an adjoint the loop scatters into
            w.accs[a] = p
        else:
            loop += w.load(a, p)
    loop += w.body(region.members)
    decorator = emitter.decorator(region)
    if calls_helpers(nodes[m].op for m in region.members):
        decorator = with_contract(decorator)
    lines = [decorator, *signature(kname, params)]
    lines = w.nest(lines + ["    " + ln for ln in body], loop)
    for m in outs:  # a mean over some axes: the sum, divided once by the count
        if m in region.sums and nodes[m].op == "mean":
            lines.append(f"    {w.onames[m]} /= {sum_target(nodes[m], idx, sizes)[2]}")
    rets = [w.onames[m] for m in outs]
    if rets:
        lines.append("    return " + ", ".join(rets))
    return lines
