"""Kernels in stages (the numba target): a one-dimensional run that calls many of the
vectorised helpers (``_vexp``, ``_vtanh``, ... : each some 40 vector operations and a
dozen constants) is compiled as one loop per stage of at most ``STAGE_WEIGHT`` helper
calls, each stage its own numba function, run block by block (``BLOCK`` elements): the
values one stage computes and a later one reads pass through a small scratch array.
LLVM then compiles each loop alone (why that pays, beyond the measurement, is not
established: not register spills alone); one loop holding all four of the benchmark's
chain ran 1.22-1.28x the time of its two stages from 1,000 to 1e6 elements, 1.06x at
100 (bench/README.md, "Kernels in stages").

The driver (the chain's value and gradient, four values carried)::

    @numba.njit(cache=True, error_model="numpy")
    def _elementwise_value_and_grad_k1(x):
        (n0,) = x.shape
        total = 0.0
        out = np.empty((n0,))
        # c1, c2, c3, c4: from one stage to a later one, a block at a time
        carried = np.empty((4, 1024))
        for start in range(0, n0, 1024):
            stop = min(start + 1024, n0)
            c1 = carried[0, : stop - start]
            ...
            _elementwise_value_and_grad_k1_s1(x[start:stop], c1, c2, c3, c4)
            total += _elementwise_value_and_grad_k1_s2(
                x[start:stop], c1, c2, c3, c4, out[start:stop]
            )
        return total, out
"""

from __future__ import annotations

from .layout import call_lines, signature
from .numba_vector_math import VECTOR_NEEDS, calls_helpers, with_contract

# helper calls per stage: the chain's four in two stages of two ran 1.25-1.3x faster
# than in one loop; a run of fewer than SPLIT_WEIGHT stays one loop
STAGE_WEIGHT = 2
SPLIT_WEIGHT = 3
# elements per block: the scratch rows stay in the L1/L2 cache (256 to 4096 measured
# alike, bench/README.md)
BLOCK = 1024


class Names:
    """Fresh local names of one kernel (``v``, ``v_2``, ...)."""

    def __init__(self):
        self.taken: set[str] = set()

    def fresh(self, base: str) -> str:
        """``base``, or ``base_k`` for the first ``k`` not taken; then taken."""
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def weight(node, prims) -> int:
    """The vectorised helper calls of ``node``'s operation in a kernel's loop: its
    helper's, counted as the operations' helpers it calls (``VECTOR_NEEDS``: softplus,
    an exp and a log1p, two), at least one."""
    name = prims[node.op].numba_vector
    if name is None:
        return 0
    helpers = {p.numba_vector for p in prims.values()}
    return max(1, sum(need in helpers for need in VECTOR_NEEDS.get(name, ())))


def stages(region, nodes, prims, chain) -> list[list[int]] | None:
    """``region``'s members cut into stages of at most ``STAGE_WEIGHT`` helper calls,
    a stage starting at a call; None where the run stays one loop: one-dimensional
    runs only, with fewer than ``SPLIT_WEIGHT`` calls, a part scattered into an
    adjoint, a sum over an axis, or a value carried between stages that is no float."""
    members = region.members
    if len(region.shape) != 1 or any(m in chain for m in members):
        return None
    if any(nodes[m].shape for m in region.sums):
        return None
    weights = [weight(nodes[m], prims) for m in members]
    if sum(weights) < SPLIT_WEIGHT:
        return None
    out, current, load = [], [], 0
    for m, w in zip(members, weights):
        if w and load and load + w > STAGE_WEIGHT:
            out.append(current)
            current, load = [], 0
        current.append(m)
        load += w
    out.append(current)
    carried = crossing(out, nodes)
    if len(out) < 2 or any(nodes[m].dtype != "float" for m in carried):
        return None
    return out


def crossing(parts: list[list[int]], nodes) -> list[int]:
    """The members one stage computes and a later stage reads, in order."""
    stage = {m: k for k, part in enumerate(parts) for m in part}
    out = []
    for k, part in enumerate(parts):
        for m in part:
            for a in nodes[m].args:
                if stage.get(a, k) < k and a not in out:
                    out.append(a)
    return sorted(out, key=lambda m: (stage[m], parts[stage[m]].index(m)))


def staged_source(loop_of, emitter, kname, region, inputs, texts, outs, parts):
    """The kernel ``kname`` as a driver and one function per stage of ``parts``
    (``kname_s1``, ...): {name: lines}. ``loop_of(names)`` gives a ``Loop`` writing a
    loop body over the region (``numba_kernels.Loop``)."""
    nodes = emitter.nodes
    carried = crossing(parts, nodes)
    stage_of = {m: k for k, part in enumerate(parts) for m in part}
    names = Names()
    params = [names.fresh(t if t.isidentifier() else "a") for t in texts]
    n0 = names.fresh("n0")
    start, stop, block = (
        names.fresh("start"),
        names.fresh("stop"),
        names.fresh("carried"),
    )
    cnames = [names.fresh(f"c{j + 1}") for j in range(len(carried))]
    first = next(p for a, p in zip(inputs, params) if nodes[a].shape)
    onames = {m: names.fresh("total" if m in region.sums else "out") for m in outs}
    head = [f"({n0},) = {first}.shape"]
    for m in outs:
        kind = ", dtype=np.bool_" if nodes[m].dtype == "bool" else ""
        empty = f"np.empty(({n0},){kind})"
        head.append(f"{onames[m]} = {'0.0' if m in region.sums else empty}")
    staged = ", ".join(cnames) if len(cnames) <= 4 else f"{cnames[0]} to {cnames[-1]}"
    head.append(f"# {staged}: from one stage to a later one, a block at a time")
    head.append(f"{block} = np.empty(({len(carried)}, {BLOCK}))")
    loop = [f"{stop} = min({start} + {BLOCK}, {n0})"]
    loop += [f"{c} = {block}[{j}, : {stop} - {start}]" for j, c in enumerate(cnames)]
    sources = {}
    for k, part in enumerate(parts):
        sname = f"{kname}_s{k + 1}"
        reads = [a for a in inputs if any(a in nodes[m].args for m in part)]
        ins = [
            c
            for c in carried
            if stage_of[c] < k and any(c in nodes[m].args for m in part)
        ]
        writes = [c for c in carried if stage_of[c] == k]
        stores = [m for m in outs if m in part and m not in region.sums]
        sums = [m for m in outs if m in part and m in region.sums]
        args = []
        for a in reads:
            p = params[inputs.index(a)]
            args.append(f"{p}[{start}:{stop}]" if nodes[a].shape else p)
        args += [cnames[carried.index(c)] for c in ins + writes]
        args += [f"{onames[m]}[{start}:{stop}]" for m in stores]
        sources[sname] = stage_source(
            loop_of,
            emitter,
            sname,
            region,
            part,
            reads,
            [texts[inputs.index(a)] for a in reads],
            {c: cnames[carried.index(c)] for c in ins + writes},
            (ins, writes),
            stores,
            sums,
        )
        pad = " " * 4  # in the driver's loop (call_lines counts the body's 4)
        if not sums:
            call = call_lines(pad, sname, args)
        elif len(sums) == 1:
            call = call_lines(pad, f"{onames[sums[0]]} += {sname}", args)
        else:
            got = [names.fresh("part") for _ in sums]
            call = call_lines(pad, f"{', '.join(got)} = {sname}", args)
            call += [pad + f"{onames[m]} += {g}" for m, g in zip(sums, got)]
        loop += [ln[len(pad) :] for ln in call]
    lines = [emitter.decorator(region), *signature(kname, params)]
    lines += ["    " + ln for ln in head]
    lines.append(f"    for {start} in range(0, {n0}, {BLOCK}):")
    lines += ["        " + ln for ln in loop]
    lines.append("    return " + ", ".join(onames[m] for m in outs))
    sources[kname] = lines
    return sources


def stage_source(
    loop_of, emitter, sname, region, part, reads, texts, cnames, carried, stores, sums
):
    """One stage: a loop over its block computing the members ``part`` from the inputs
    ``reads`` (a block of each array) and the carried values ``ins``, storing the
    carried ``writes`` (``carried``: both; their rows named ``cnames`` as the driver
    names them) and the kernel's arrays ``stores``, returning its ``sums``."""
    nodes = emitter.nodes
    ins, writes = carried
    names = Names()
    params = [names.fresh(t if t.isidentifier() else "a") for t in texts]
    cparams = [names.fresh(cnames[c]) for c in ins + writes]
    oparams = [names.fresh("out") for _ in stores]
    w = loop_of(names)
    w.onames = {m: names.fresh("total") for m in sums}
    body = [f"{w.onames[m]} = 0.0" for m in sums]
    loop = []
    for a, p in zip(reads, params):
        loop += w.load(a, p)
    for c, p in zip(ins, cparams):
        loop += w.load(c, p)
    arrays = [p for a, p in zip(reads, params) if nodes[a].shape] + cparams + oparams
    for m, p in zip(stores, oparams):
        w.onames[m] = p
    for c, p in zip(writes, cparams[len(ins) :]):  # also an array of the kernel's
        w.copies[c] = [p]
    loop += w.body(part)
    decorator = emitter.decorator(region)
    if calls_helpers(nodes[m].op for m in part):
        decorator = with_contract(decorator)
    lines = [decorator, *signature(sname, params + cparams + oparams)]
    lines += [f"    ({w.sizes[0]},) = {arrays[0]}.shape"] + ["    " + ln for ln in body]
    lines = w.nest(lines, loop)
    if sums:
        lines.append("    return " + ", ".join(w.onames[m] for m in sums))
    return lines
