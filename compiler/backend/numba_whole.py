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
own (``WHOLE_SPELLINGS``: ``keepdims`` as a new axis, ``x[arange(n), y]`` through the
jitted ``_pick``, its scatter as a loop, ``log_softmax`` and the logsumexp shift of rows
through jitted helpers). A function with a node spelled neither way keeps today's code
(``reason`` names the operation in a comment over the body): never a failure at call time.

Above ``WHOLE_LIMIT`` elements of the largest inputs the function runs today's code:
numba calls libm per element where NumPy runs SIMD loops (``numba_kernels.VECTORISED``),
and per-call overhead no longer matters (bench/README.md, "The numba target").
"""

from __future__ import annotations

from ..core import printer as P
from ..core.ir import reachable
from ..core.prim import PRIMS
from ..core.shapes import size
from ..ops.spelling import as_float, index_text, integral_exponent
from .context import Ctx
from .emit import Emitter, emit_body
from .layout import LINE_LIMIT, body_lines, call_lines, identifiers, signature
from .numba_kernels import DECORATOR, SIZE_BUDGET, VECTORISED
from .schedule import backward_part

# The sizes (sum of the elements of the inputs of the highest rank) up to which the whole
# body runs as one kernel (measured: bench/README.md, "Whole-function kernels").
WHOLE_LIMIT = 4096

# Vectors only: the small kernels fuse their elementwise runs into one loop each, which
# numba's array expressions do not; the whole kernel wins below about 1,500 elements
# (Rosenbrock: 1.15x today's statements at 1,000, 0.67x at 2,000).
VECTOR_LIMIT = 1024
# A body of at most this many statements with a small kernel among them gains nothing
# (huber: one kernel and one product; the whole kernel ran 0.92x its time at n = 100).
ONE_KERNEL = 2

# Elementwise operations whose NumPy spelling numba compiles as it is (array expressions).
SAME_ELEMENTWISE = frozenset(
    """add sub mul div neg pow exp log log1p expm1 sqrt square tanh sin cos tan abs sign
    maximum minimum where relu gt ge lt le eq ne and or not arctan2 reciprocal""".split()
)
# Other operations whose NumPy spelling numba compiles as it is (``.dot`` for ranks up to
# 2 is ``matmul``'s: checked in ``spelled``).
SAME_OTHER = frozenset(
    "param const dim arange zeros transpose expand_dims matmul".split()
)


def pick_pattern(nodes, node) -> bool:
    """Whether ``node`` (a getitem or scatter) is ``x[arange(n), y]`` on a 2-D ``x``:
    one row each, the column an Index vector."""
    if node.attr("index") != (("a", 1), ("a", 2)) or len(node.args) != 3:
        return False
    rows, cols = nodes[node.args[1]], nodes[node.args[2]]
    matrix = node.shape if node.op == "scatter" else nodes[node.args[0]].shape
    return (
        rows.op == "arange"
        and len(matrix) == 2
        and rows.shape == cols.shape == (matrix[0],)
        and cols.dtype == "int"
    )


def basic_index(node) -> bool:
    """Whether ``node``'s index holds only ints, slices and None (numba's basic indexing)."""
    return all(e[0] != "a" for e in node.attr("index"))


def one_axis(node, rank: int) -> int | None:
    """The one axis a reduction ``node`` reduces (its ``axis`` attribute), else None."""
    axis = node.attr("axis")
    if isinstance(axis, int):
        return axis % rank
    if axis is not None and len(axis) == 1:
        return axis[0] % rank
    return None


def spelled(nodes, i: int) -> bool:
    """Whether node ``i`` has a spelling numba compiles in nopython mode."""
    node = nodes[i]
    op = node.op
    shapes = [nodes[a].shape for a in node.args]
    if op in SAME_ELEMENTWISE:
        return PRIMS[op].elementwise
    if op == "matmul":
        return all(len(s) <= 2 for s in shapes)
    if op in SAME_OTHER or op in ("vdot", "outer", "sigmoid", "softplus"):
        return True
    if op in ("sum", "mean", "max", "min"):
        if not shapes[0] or (node.attr("axis") is None and not node.attr("keepdims")):
            return True
        return op in ("sum", "mean") and one_axis(node, len(shapes[0])) is not None
    if op in ("log_softmax", "max_shift"):
        rows = len(shapes[0]) == 2 and one_axis(node, 2) == 1
        return rows and not node.attr("keepdims")
    if op == "getitem":
        return basic_index(node) or pick_pattern(nodes, node)
    if op == "scatter":
        return basic_index(node) or pick_pattern(nodes, node)
    return False


def reason(g, todo: list[int]) -> str | None:
    """Why ``g``'s nodes ``todo`` cannot be one kernel (the first operation without a
    numba spelling), or None."""
    for i in todo:
        if not spelled(g.nodes, i):
            return g.nodes[i].op
    return None


def reduce_emit(node, a, ctx) -> P.Expr:
    """``x.sum(axis=k)`` (numba has no ``keepdims``: the axis put back with None), over
    the count for a mean; on a scalar, the scalar."""
    shape = ctx.shape_of(node.args[0])
    if not shape:
        return a[0]
    axis = one_axis(node, len(shape))
    if axis is None:
        total = P.method(a[0], node.op if node.op != "mean" else "sum")
        count = shape
    elif len(shape) == 2:  # numba's x.sum(axis=1) is 6x slower than a loop at 64x100
        name = ("_sum_cols", "_sum_rows")[axis]
        ctx.use(name)
        total = P.call(name, a[0])
        if node.attr("keepdims"):
            total = P.subscript(total, ", ".join([":"] * axis + ["None"]))
        count = (shape[axis],)
    else:
        total = P.method(a[0], "sum", axis=str(axis))
        if node.attr("keepdims"):
            total = P.subscript(total, ", ".join([":"] * axis + ["None"]))
        count = (shape[axis],)
    if node.op != "mean":
        return total
    return P.binop("/", P.MUL, total, P.dim_expr(size(count), ctx.dims))


def rows_helper(name: str):
    """The jitted helper ``name`` of a 2-D array's rows (``_log_softmax_rows``)."""

    def emit(node, a, ctx):
        ctx.use(name)
        return P.call(name, a[0])

    return emit


def vdot_emit(node, a, ctx) -> P.Expr:
    """``np.sum(x * y)``: numba's ``np.vdot`` takes contiguous vectors only."""
    return P.call("np.sum", P.binop("*", P.MUL, a[0], a[1]))


def getitem_emit(node, a, ctx) -> P.Expr:
    """Basic indexing as NumPy spells it; ``x[arange(n), y]`` as ``_pick(x, y)``."""
    if basic_index(node):
        return PRIMS["getitem"].spellings["numpy"](node, a, ctx)
    ctx.use("_pick")
    return P.call("_pick", a[0], a[2])


def sigmoid_emit(node, a, ctx) -> P.Expr:
    """``1.0 / (1.0 + np.exp(-x))``, as ``_sigmoid`` computes it (numba warns of nothing)."""
    e = P.call("np.exp", P.neg(a[0]))
    return P.binop("/", P.MUL, P.name("1.0"), P.binop("+", P.ADD, P.name("1.0"), e))


def softplus_emit(node, a, ctx) -> P.Expr:
    """``np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))``, as ``_softplus``."""
    tail = P.call("np.log1p", P.call("np.exp", P.neg(P.call("np.abs", a[0]))))
    return P.binop("+", P.ADD, P.call("np.maximum", a[0], "0.0"), tail)


def pow_emit(node, a, ctx) -> P.Expr:
    """``x ** 2`` for a whole exponent ``>= 0``, else a float one: numba raises
    ZeroDivisionError on ``0.0 ** -1`` (an int power), not on ``0.0 ** -1.0`` (inf)."""
    k = integral_exponent(a[1])
    if k is not None and not k.text.startswith("-"):
        return P.power(a[0], k)
    if k is not None:
        return P.power(a[0], P.Expr(k.text + ".0", a[1].prec, a[1].simple))
    return P.power(a[0], a[1])


def where_emit(node, a, ctx) -> P.Expr:
    """``_select(c, a, b)``, a ``@numba.vectorize`` ufunc (``a if c else b``): numba
    compiles ``np.where`` in 6 s, the ufunc in 1 s (the same values, broadcast alike)."""
    ctx.use("_select")
    return P.call("_select", a[0], as_float(a[1]), as_float(a[2]))


WHOLE_SPELLINGS = {
    "pow": pow_emit,
    "where": where_emit,
    "sigmoid": sigmoid_emit,
    "softplus": softplus_emit,
    "sum": reduce_emit,
    "mean": reduce_emit,
    "max": reduce_emit,
    "min": reduce_emit,
    "vdot": vdot_emit,
    "outer": lambda node, a, ctx: P.call("np.outer", *a),
    "log_softmax": rows_helper("_log_softmax_rows"),
    "max_shift": rows_helper("_max_shift_rows"),
    "getitem": getitem_emit,
}
# the ``@numba.vectorize`` helpers (ufuncs) of whole-function kernels
UFUNC_HELPERS = ("_select",)
# the jitted helpers of whole-function kernels (``templates/helpers.py.j2``)
WHOLE_HELPERS = (
    "_outside",
    "_pick",
    "_sum_rows",
    "_sum_cols",
    "_log_softmax_rows",
    "_max_shift_rows",
)


class WholeEmitter(Emitter):
    """The NumPy target's ``Emitter`` spelling each node as numba compiles it (the body
    of a whole-function kernel): ``WHOLE_SPELLINGS``, and the scatter of
    ``x[arange(n), y]`` as a loop."""

    def spell(self, node, args: list) -> P.Expr:
        emit = WHOLE_SPELLINGS.get(node.op)
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


# numba calls libm once per element for these (``numba_kernels.VECTORISED``): the
# helpers' exp and log per element too
LIBM_CALLS = {op: 1 for op in VECTORISED} | {"log_softmax": 2, "max_shift": 0}


def libm_tests(family, g, todo: list[int]) -> list[tuple[str, int]]:
    """``("N * C", 768)``: for each shape that k calls of libm functions run over, at
    most ``SIZE_BUDGET // k`` elements (the small kernels' measured limit)."""
    calls: dict[tuple, int] = {}
    for i in todo:
        node = g.nodes[i]
        if node.shape and LIBM_CALLS.get(node.op):
            calls[node.shape] = calls.get(node.shape, 0) + LIBM_CALLS[node.op]
    out = []
    for shape, k in calls.items():
        dims = [P.dim(d, family.dims) for d in shape]
        term = " * ".join(d if d.isidentifier() else f"({d})" for d in dims)
        out.append((term, SIZE_BUDGET // k))
    return out


def contiguous_tests(family, g, todo: list[int]) -> list[str]:
    """``X.flags.c_contiguous`` of each input a matrix product reads (through a
    transpose too): numba's ``np.dot`` warns and copies on other layouts."""
    nodes, out = g.nodes, []
    params = {
        p.node: family.pnames[p.name] for p in g.params if p.name in family.pnames
    }
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


def whole_kernel(family, kind, g, todo, results, returned, today) -> list[str]:
    """The lines that call ``g``'s whole-function kernel (added to ``ctx.kernels``) where
    the inputs are small, or the comment saying why there is none; ``returned(texts,
    local)`` gives the ``return`` lines of the result texts; ``today``: the blocks of
    the statements it would replace."""
    why = reason(g, todo)
    if why is not None:
        return [f"# numba: no whole-function kernel: '{why}' has no numba spelling"]
    lines = [ln for b in today for ln in b.lines if not ln.lstrip().startswith("#")]
    if len(lines) <= ONE_KERNEL and any("_k" in ln for ln in lines):
        return ["# numba: no whole-function kernel: the body is one kernel already"]
    ctx = family.ctx
    namer, _, bound = family.graph_namer(g)
    kname = f"_{family.name(kind)}_kernel"
    gctx = Ctx(g.nodes, ctx.dims, helpers=ctx.helpers, target=ctx.target)
    blocks, exprs = emit_body(
        g,
        todo,
        bound,
        set(results),
        namer,
        gctx,
        backward_part(g),
        reachable(g.nodes, [g.output]),
        WholeEmitter,
    )
    texts = [as_float(exprs[r]) for r in results]
    texts = family.results(results, texts, set(), g)
    used = identifiers(blocks, texts)
    dims = [d for d in family.dims.values() if d in used]
    params = family.params + dims
    lines = [DECORATOR, *signature(kname, params)]
    for item in body_lines(blocks):
        lines.append(f"    # {item['comment']}")
        lines += ["    " + ln for ln in item["lines"]]
    lines += ["    " + ln for ln in returned(texts, "grads")]
    ctx.kernels[kname] = [family.rn(ln) for ln in lines]
    total, limit = size_test(family, g), WHOLE_LIMIT
    if all(len(g.nodes[p.node].shape) <= 1 for p in g.params):
        limit = VECTOR_LIMIT
    libm = []
    for term, k in libm_tests(family, g, todo):
        if term == total:  # ``n <= 384``, not ``n <= 4096 and n <= 384``
            limit = min(limit, k)
        else:
            libm.append(f"{term} <= {k}")
    tests = [f"{total} <= {limit}", *libm, *contiguous_tests(family, g, todo)]
    call = call_lines("    ", f"return {kname}", [family.rn(p) for p in params])
    note = "# small inputs: the whole body as one numba function; else the code below"
    return [note, *condition_lines(tests), *call]
