"""The numba target's whole-function kernels: ``f_value_and_grad`` (and ``f_grad``, which
calls it) as one ``@numba.njit(cache=True)`` function ``_f_value_and_grad_kernel``
holding the whole body, called after the input checks (which stay Python and raise
naming the parameter) where the inputs are small.

A NumPy call on a small array costs about a microsecond of dispatch; the NumPy target's
value and gradient of a small net is 10-30 of them, where one compiled function makes
none (PyTensor's numba backend compiles its whole graph so). The kernel's body is the
NumPy target's statements, each node spelled as numba compiles it in nopython mode:
most NumPy spellings as they are (elementwise array expressions, ``.dot`` through BLAS,
``.sum()`` and ``.sum(axis=k)``, basic indexing), and for the rest a spelling of its
own (each op record's ``NUMBA`` spelling, ``ops/numba_spelling.py``: ``keepdims`` as a
new axis, ``x[arange(n), y]`` through the jitted ``_pick``, ``log_softmax`` and the
logsumexp shift of rows through jitted helpers; here, the scatter as a loop). A
function with a node spelled neither way keeps today's code (``reason`` names the
operation in a comment over the body): never a failure at call time.

Above ``WHOLE_LIMIT`` elements of the largest inputs the function runs today's code:
numba calls libm per element where NumPy runs SIMD loops (an op's ``libm_calls``),
and per-call overhead no longer matters (bench/README.md, "The numba target").
"""

from __future__ import annotations

import re

from ..core import printer as P
from ..core.ir import reachable
from ..core.prim import NUMBA, PRIMS
from ..ops.numba_spelling import basic_index
from ..ops.spelling import as_float, index_text
from .layout import LINE_LIMIT, body_lines, call_lines, identifiers, signature
from .numba_kernels import DECORATOR, SIZE_BUDGET, KernelEmitter
from .numba_loops import INLINE_DECORATOR, SUM_DECORATOR, broadcasts
from .schedule import backward_part

# The sizes (sum of the elements of the inputs of the highest rank) up to which the whole
# body runs as one kernel (measured: bench/README.md, "Whole-function kernels").
WHOLE_LIMIT = 4096

# Bodies without matrix products whose runs over matrices broadcast or sum over an axis
# (loop kernels, ``numba_loops``): batch and layer normalisation ran 1.8x the NumPy
# target's speed at 1024x512 still, the largest size measured (bench/README.md,
# "Broadcasting loops").
LOOP_LIMIT = 1024 * 512

# Loop nests of an op's own (``Prim.numba_work``: einsum's, ``nb.einsum_loops``): at
# most this many iterations (multiply-adds) each. The GMM
# value and gradient's whole kernel ran 0.85-0.97 of the statements' time up to 51,200
# (N x K x D x D: 1000x5x2 to 200x4x8), 0.97-1.22 at 80,000 and 1.4-3.1 above, where
# the statements' batched products run on BLAS (bench/README.md, "GMM's whole kernel").
WORK_LIMIT = 65536

# The elements a loop with the vectorised helpers (``_vexp``) runs over in a whole
# kernel: no libm call, but the whole kernel lost to the statements above this
# (softmax_probs: 0.63 at 96x96, 0.91 at 256x100, 2.9 at 1000x100; two_layer's exp 0.85
# at 1024x16; bench/README.md, "GMM's whole kernel").
LOOPED_LIMIT = 16384

# Vectors only: the small kernels fuse their elementwise runs into one loop each, which
# numba's array expressions do not; the whole kernel wins below about 1,500 elements
# (Rosenbrock when its statements were two kernels and slice updates: 1.15x their speed
# at 1,000, 0.67x at 2,000; its body is one kernel now and has no whole kernel).
VECTOR_LIMIT = 1024
# A body of at most this many statements with a small kernel among them gains nothing
# (huber: one kernel and one product; the whole kernel ran 0.92x its time at n = 100),
# not counting views (``x[1:]``) and the zeros a kernel scatters into (Rosenbrock: one
# kernel, two views, zeros and a float sum, its statements 0.93x the whole kernel's
# time at n = 10, 0.49x at 1,000).
ONE_KERNEL = 2
# a statement that costs next to nothing beside a kernel's call: a view by basic
# slicing of a name, or the zeros a kernel scatters into
CHEAP = re.compile(r"\w+ = (\w+\[[-\d:, ]*\]|np\.zeros\(\([\w ,*+-]*\)\))")


def spelled(nodes, i: int) -> bool:
    """Whether node ``i`` has a spelling numba compiles in nopython mode (its record's
    ``NUMBA`` spelling, covering the node by its ``numba_when``)."""
    node = nodes[i]
    p = PRIMS[node.op]
    if NUMBA not in p.spellings:
        return False
    return p.numba_when is None or p.numba_when(nodes, node)


def reason(g, todo: list[int]) -> str | None:
    """Why ``g``'s nodes ``todo`` cannot be one kernel (the first operation without a
    numba spelling), or None."""
    for i in todo:
        if not spelled(g.nodes, i):
            return g.nodes[i].op
    return None


# the graph functions with a whole-function kernel (the hessian's batched tangents: not
# measured)
WHOLE_KINDS = ("value_and_grad", "jvp", "hvp")

# the ``@numba.vectorize`` helpers (ufuncs) of whole-function kernels
UFUNC_HELPERS = ("_select",)
# the jitted helpers of whole-function kernels (``templates/helpers.py.j2``)
WHOLE_HELPERS = (
    "_outside",
    "_pick",
    "_sum_rows",
    "_sum_cols",
    "_max_rows",
    "_max_cols",
    "_min_rows",
    "_min_cols",
    "_log_softmax_rows",
    "_softmax_rows",
    "_max_shift_rows",
    "_max_shift_all",
)


class WholeEmitter(KernelEmitter):
    """The NumPy target's ``Emitter`` spelling each node as numba compiles it (the body
    of a whole-function kernel): the records' ``NUMBA`` spellings, and the scatter of
    ``x[arange(n), y]`` as a loop; each run of elementwise statements that broadcasts a
    row or a column, or sums over an axis, as a call of a loop kernel (``numba_loops``:
    numba's array expressions broadcast slowly), the other runs as array expressions."""

    broadcast = True
    libm_branch = False  # the whole kernel's own size tests bound the libm calls
    in_place = False  # numba compiles the body, and its ufuncs take no ``out=``
    scatters = defer = staged = False  # its runs are loops only where they broadcast

    def regions(self, scattered):
        out = super().regions(scattered)
        self.untyped.clear()  # every node has a numba spelling here
        return out

    def decorator(self, region) -> str:
        return SUM_DECORATOR if region.sums else INLINE_DECORATOR

    def worth(self, region) -> bool:
        """A loop where the run broadcasts or sums over an axis, and reads an array of
        its shape (its lengths)."""
        nodes, shape = self.nodes, region.shape
        members = set(region.members)
        args = {a for m in region.members for a in nodes[m].args} - members
        if not any(nodes[a].shape == shape for a in args):
            return False
        sums = any(nodes[m].shape for m in region.sums)
        return sums or any(broadcasts(nodes[a].shape, shape) for a in args)

    def spell(self, node, args: list) -> P.Expr:
        emit = PRIMS[node.op].spellings.get(NUMBA)
        return emit(node, args, self.ctx) if emit else super().spell(node, args)

    def statements(self, op: str):
        if op != "scatter":
            return super().statements(op)
        into = super().statements(op)[1]

        def pick_into(target, node, a, ctx):
            spec = node.attr("index")
            if basic_index(node) and all(e[0] == "i" for e in spec):
                return into(target, node, a, ctx)  # one element: d_x[0] += g
            if basic_index(node):  # numba compiles d[1:] += g as a setitem: 3 s
                part = f"{target}[{index_text(spec, [None] + a[1:], ctx)}]"
                return [f"np.add({part}, {a[0].text}, {part})"]
            k = self.namer.fresh("k")
            value = a[0].text + (f"[{k}]" if ctx.shape_of(node.args[0]) else "")
            head = f"for {k} in range({P.dim(node.shape[0], ctx.dims)}):"
            return [head, f"    {target}[{k}, {a[2].text}[{k}]] += {value}"]

        def pick(target, node, a, ctx):
            # zeros, then added into: numba compiles ``d[1:] = v`` as slowly as ``+=``
            zeros = f"{target} = np.zeros({P.shape(node.shape, ctx.dims)})"
            return [zeros] + pick_into(target, node, a, ctx)

        return pick, pick_into


def size_test(family, g) -> str:
    """The sum of the sizes of ``g``'s array inputs of the highest rank, spelled on the
    dimensions (``D * H + H * C + N * D``)."""
    shapes = [g.nodes[p.node].shape for p in g.params]
    top = max(len(s) for s in shapes)
    terms: list[str] = []
    for s in shapes:
        if len(s) == top:
            dims = [P.dim(d, family.dims) for d in s]
            term = " * ".join(d if d.isidentifier() else f"({d})" for d in dims)
            if term not in terms:
                terms.append(term)
    return " + ".join(terms)


def libm_tests(family, g, todo: list[int], looped=frozenset()) -> list[tuple[str, int]]:
    """``("N * C", 768)``: for each shape that k calls of libm functions run over, at
    most ``SIZE_BUDGET // k`` elements (the small kernels' measured limit); a shape the
    nodes ``looped`` (computed in loops with the vectorised helpers, no libm call) run
    over, at most ``LOOPED_LIMIT``."""
    calls: dict[tuple, int] = {}
    for i in todo:
        node = g.nodes[i]
        k = PRIMS[node.op].libm_calls  # whole kernels spell exp, log, ... as NumPy
        if node.shape and k and i not in looped:
            calls[node.shape] = calls.get(node.shape, 0) + k
    limits = {shape: SIZE_BUDGET // k for shape, k in calls.items()}
    for i in looped:
        shape = g.nodes[i].shape
        limits[shape] = min(limits.get(shape, LOOPED_LIMIT), LOOPED_LIMIT)
    out = []
    for shape, limit in sorted(limits.items(), key=lambda kv: str(kv[0])):
        dims = [P.dim(d, family.dims) for d in shape if d != 1]
        term = " * ".join(
            d if d.isidentifier() or d.isdigit() else f"({d})" for d in dims
        )
        out.append((term or "1", limit))
    return out


def work_tests(family, g, todo: list[int]) -> list[str]:
    """``N * K * D * D <= WORK_LIMIT`` for each node whose numba spelling is a loop nest
    of its own (its record's ``numba_work``: an einsum's letters), spelled on the
    dimensions; one test per product."""
    out, seen = [], set()
    for i in todo:
        node = g.nodes[i]
        work = PRIMS[node.op].numba_work
        if work is None:
            continue
        dims = [P.dim(d, family.dims) for d in work(g.nodes, node) if d != 1]
        if tuple(sorted(dims)) not in seen:
            seen.add(tuple(sorted(dims)))
            term = " * ".join(
                d if d.isidentifier() or d.isdigit() else f"({d})" for d in dims
            )
            out.append(f"{term or '1'} <= {WORK_LIMIT}")
    return out


def contiguous_tests(g, todo: list[int], params: dict[int, str]) -> list[str]:
    """``X.flags.c_contiguous`` of each input (``params``: node -> variable) a matrix
    product reads (through a transpose too): numba's ``np.dot`` warns and copies on
    other layouts."""
    nodes, out = g.nodes, []
    for i in todo:
        if nodes[i].op != "matmul":
            continue
        for a in nodes[i].args:
            while nodes[a].op == "transpose":
                a = nodes[a].args[0]
            if a in params and nodes[a].shape:
                test = f"{params[a]}.flags.c_contiguous"
                if test not in out:
                    out.append(test)
    return out


def condition_lines(clauses: list[str]) -> list[str]:
    """``if a and b:`` as ruff formats it (split in parentheses where too long)."""
    one = f"if {' and '.join(clauses)}:"
    if len(one) + 4 <= LINE_LIMIT:
        return [one]
    inner = "    " + " and ".join(clauses)
    if len(inner) + 4 <= LINE_LIMIT:
        return ["if (", inner, "):"]
    return (
        ["if ("]
        + ["    " + clauses[0]]
        + [f"    and {c}" for c in clauses[1:]]
        + ["):"]
    )


def skipped(g, todo: list[int], today) -> str | None:
    """The comment saying why ``g``'s nodes ``todo`` get no whole-function kernel (an
    operation without a numba spelling; a body that is one kernel already: ``today``,
    the blocks of the statements it would replace), or None."""
    why = reason(g, todo)
    if why is not None:
        return f"# numba: no whole-function kernel: '{why}' has no numba spelling"
    lines = [ln.strip() for b in today for ln in b.lines]
    lines = [ln for ln in lines if not ln.startswith("#") and not CHEAP.fullmatch(ln)]
    if len(lines) <= ONE_KERNEL and any("_k" in ln for ln in lines):
        return "# numba: no whole-function kernel: the body is one kernel already"
    if all(not g.nodes[p.node].shape for p in g.params):  # NumPy on 0-d arrays
        return "# numba: no whole-function kernel: every input is a scalar"
    return None


def whole_body(family, kname: str, g, todo, bound, keep, namer, adjoints, values):
    """The blocks and expressions of the body of the kernel ``kname`` (``WholeEmitter``;
    its loops are added to ``ctx.kernels`` as ``kname_k1``...), and the nodes its loops
    compute with the vectorised helpers (``_vexp``: no libm call, ``libm_tests``)."""
    ctx = family.ctx
    gctx = ctx.for_graph(g.nodes)
    gctx.kernels, gctx.prefix = ctx.kernels, kname[1:]
    em = WholeEmitter(g, todo, bound, keep, namer, gctx, adjoints, value_nodes=values)
    blocks, exprs = em.run()
    looped = {i for i in em.region_of if PRIMS[g.nodes[i].op].numba_vector}
    return blocks, exprs, looped


def add_kernel(family, kname: str, params, blocks, returns, rn=None) -> None:
    """The kernel ``kname(params)``, its body ``blocks`` then the lines ``returns``,
    into ``ctx.kernels`` (its names through ``rn``, default the family's renamer)."""
    rn = family.rn if rn is None else rn
    lines = [DECORATOR, *signature(kname, params)]
    for item in body_lines(blocks):
        lines.append(f"    # {item['comment']}")
        lines += ["    " + ln for ln in item["lines"]]
    lines += ["    " + ln for ln in returns]
    family.ctx.kernels[kname] = [rn(ln) for ln in lines]


def guarded_call(
    family, kname, g, todo, params, names, looped=frozenset()
) -> list[str]:
    """The ``if`` on the sizes (and layouts) that calls ``kname(params)``: ``g``'s inputs
    (``names``: node -> variable) small enough for the whole kernel of its ``todo``
    (``looped``: as ``libm_tests``); in the variables' names (the caller renames its
    lines: ``family.rn``, once)."""
    total, limit = size_test(family, g), WHOLE_LIMIT
    loops = any(k.startswith(f"{kname}_k") for k in family.ctx.kernels)
    products = [
        i for i in todo if g.nodes[i].op == "matmul" or PRIMS[g.nodes[i].op].numba_work
    ]
    if loops and not products:
        limit = LOOP_LIMIT
    if all(len(g.nodes[p.node].shape) <= 1 for p in g.params):
        limit = VECTOR_LIMIT
    libm = []
    for term, k in libm_tests(family, g, todo, looped):
        if term == total:  # ``n <= 384``, not ``n <= 4096 and n <= 384``
            limit = min(limit, k)
        else:
            libm.append(f"{term} <= {k}")
    tests = [f"{total} <= {limit}", *libm, *work_tests(family, g, todo)]
    tests += contiguous_tests(g, todo, names)
    call = call_lines("    ", f"return {kname}", params)
    note = "# small inputs: the whole body as one numba function; else the code below"
    return [note, *condition_lines(tests), *call]


def whole_kernel(family, kind, g, todo, results, returned, today) -> list[str]:
    """The lines that call ``g``'s whole-function kernel (added to ``ctx.kernels``) where
    the inputs are small, or the comment saying why there is none; ``returned(texts,
    local)`` gives the ``return`` lines of the result texts; ``today``: the blocks of
    the statements it would replace."""
    why = skipped(g, todo, today)
    if why is not None:
        return [why]
    namer, _, bound = family.graph_namer(g)
    kname = f"_{family.name(kind)}_kernel"
    values = reachable(g.nodes, [g.output])
    keep, adjoints = set(results), backward_part(g)
    blocks, exprs, looped = whole_body(
        family, kname, g, todo, bound, keep, namer, adjoints, values
    )
    texts = [as_float(exprs[r]) for r in results]
    texts = family.results(results, texts, set(), g)
    used = identifiers(blocks, texts)
    dims = [d for d in family.dims.values() if d in used]
    tangents = [namer.names[p.node] for p in g.params[len(family.fn.params) :]]
    params = family.params + tangents + dims
    add_kernel(family, kname, params, blocks, returned(texts, "grads"))
    names = dict(zip((p.node for p in g.params), family.params + tangents))
    return guarded_call(family, kname, g, todo, params, names, looped)
