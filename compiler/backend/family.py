"""The emitted functions of one formula function, as template data: ``f``, ``f_forward``,
``f_backward`` and, for a scalar value, ``f_value_and_grad`` and ``f_grad``; in the scalar
(``math``) build, the NumPy fallbacks that their ``try`` hands the inputs to."""

from __future__ import annotations

from functools import partial

from ..core import printer as P
from ..core.ir import Function, reachable
from ..core.names import XP_HELPER_ORDER, reserved_names
from ..core.prim import may_raise_on_floats
from ..ops.spelling import as_float
from . import branches as _branches  # noqa: F401 - registers guarded's printer
from . import loops as _loops  # noqa: F401 - registers the loop printers
from . import numba_loop_kernels as _loop_kernels  # noqa: F401 - numba's loops
from .checks import check_seed, empty_dims, prologue, to_float64, unchecked_inputs
from .context import Ctx
from .emit import Emitter, emit_body
from .layout import (
    LINE_LIMIT,
    body_lines,
    call_lines,
    docstring,
    fallback_doc,
    identifiers,
    lay_out,
    tuple_lines,
    wrap_items,
)
from .memory import owned
from .naming import Namer
from .numba_kernels import KernelEmitter
from .numba_whole import WHOLE_KINDS, whole_kernel
from .numba_whole_split import whole_split
from .python_floats import kept_floats
from .schedule import backward_part, schedule
from .shadowing import Renamer
from .targets import Target

# What ``math`` and float arithmetic raise where NumPy returns inf or nan (with a warning).
MATH_ERRORS = "(ArithmeticError, ValueError)"


def guarded(layout: dict, fallback: str, args: list[str], nodes, computed) -> dict:
    """``layout`` with its statements in a ``try`` that hands the inputs to ``fallback``
    when ``math`` raises; the input checks before them stay outside. A function none of
    whose ``computed`` nodes can raise on floats (``may_raise_on_floats``: no division,
    power, ``exp``, ``log``, ...) needs no ``try``.
    """
    blocks = [item for item in layout["body"] if isinstance(item, dict)]
    if any(may_raise_on_floats(nodes[i]) for i in computed):
        layout["body"] = [item for item in layout["body"] if not isinstance(item, dict)]
        handler = [ln[4:] for ln in call_lines("    ", f"return {fallback}", args)]
        layout["guard"] = {
            "body": blocks,
            "errors": MATH_ERRORS,
            "handler": handler,
            "fallback": fallback,
        }
    return layout


def param_exprs(fn: Function, pnames: dict[str, str]) -> dict[int, P.Expr]:
    """Each parameter node of ``fn`` bound to its variable."""
    return {p.node: P.name(pnames[p.name]) for p in fn.params}


def forwarding_call(
    fname: str, params: list[str], index: int | None, local: str = "_result"
) -> list[str]:
    """The body of a wrapper returning item ``index`` of ``fname(params)`` (None: all)."""
    item = "" if index is None else f"[{index}]"
    call = [f"return {fname}({', '.join(params)}){item}"]
    if index is None and len(call[0]) + 4 > LINE_LIMIT:
        return call_lines("", "return " + fname, params)
    if len(call[0]) + 4 > LINE_LIMIT:
        call = call_lines("", f"{local} = {fname}", params)
        call.append(f"return {local}[{index}]")
    return call


def return_lines(gtexts: list[str]) -> list[str]:
    """``return`` of the gradients: one, or a tuple (on one line when it fits)."""
    if len(gtexts) == 1:
        return [f"return {gtexts[0]}"]
    ret = tuple_lines("return (", gtexts, ")")
    if len(ret) == 1:
        ret = [f"return {', '.join(gtexts)}"]
    return ret


def cache_lines(
    cache_names: list[str], local: str = "cache"
) -> tuple[list[str], list[str]]:
    """The ``cache = (...)`` lines that pack the cache and those that unpack it."""
    if not cache_names:
        return [f"{local} = ()"], []
    if len(cache_names) == 1:
        return [f"{local} = ({cache_names[0]},)"], [f"({cache_names[0]},) = {local}"]
    unpack = tuple_lines("(", cache_names, f") = {local}")
    if len(unpack) == 1:
        unpack = [f"{', '.join(cache_names)} = {local}"]
    return tuple_lines(f"{local} = (", cache_names, ")"), unpack


# What the Array API target's functions bind besides the formula's names.
XP_NAMES = {
    "xp",
    "dtype",
    "device",
    "array_api_compat",
    "importlib",
    "_erf_of",
    "_erf_cody",
    "_polynomial",
    "_exp_sq",
    *("_ERF_A", "_ERF_B", "_ERF_C", "_ERF_D", "_ERF_P", "_ERF_Q", "_ERFS"),
    "_namespace",
    "_namespace_of",
    "_device",
    "_find_namespace",
    "_with_methods",
    "_sum",
    "_max",
    "_min",
    "_any",
    "_mutable",
    "_kinds_of",
    "_is",
    "_SPACES",
    "_FIXED",
    "_DEVICES",
    "_KINDS",
    "_MUTABLE",
    "_OWN",
    "_kind",
    "_cast",
    *("_taps", "_by_batch"),  # defined with _windows, _im2col (helpers_xp.py.j2)
    *XP_HELPER_ORDER,
}


def taken_names(fn_names: list[str], target: Target) -> set[str]:
    """The names the emitted functions of ``target`` may not give a value."""
    return reserved_names(fn_names) | (XP_NAMES if target.xp else set())


def tape_note(fn: Function, cache: list[int], exprs) -> list[str]:
    """The memory a loop's tapes take, for ``f_forward``'s docstring (SPEC §1.1)."""
    tapes = [i for i in cache if fn.nodes[i].op == "loop_tape"]
    if not tapes:
        return []
    loops = sorted({fn.nodes[fn.nodes[i].args[0]].loc.line for i in tapes})
    where = ", ".join(str(n) for n in loops)
    where = f"on line {where}" if len(loops) == 1 else f"on lines {where}"
    tail = f" hold one row per iteration of the loop {where}:"
    return wrap_items("Memory: the tapes", [exprs[i].text for i in tapes], tail) + [
        "O(trip count x the values an iteration records)."
    ]


class Family:
    """Emits the functions of the formula function ``fn`` (see ``function_family``)."""

    def __init__(self, fn: Function, fn_names: list[str], target: Target):
        self.fn, self.fn_names, self.target = fn, fn_names, target
        self.namer = Namer(taken_names(fn_names, target))
        self.pnames = {p.name: self.namer.fresh(p.name) for p in fn.params}
        for p in fn.params:
            self.namer.names[p.node] = self.pnames[p.name]
        self.dims = {d: self.namer.fresh(d) for d in fn.dims}
        self.ctx = Ctx(fn.nodes, self.dims, target=target)
        self.ctx.python_floats = kept_floats(fn, target)
        # a division by such a dimension is Python's (``div_emit``); with ``--no-checks``
        # too: the caller guarantees the sizes a checked build would refuse
        self.ctx.nonzero_dims = frozenset(n for n, _ in empty_dims(fn))
        self.params = [self.pnames[p.name] for p in fn.params]
        # the user's names in the signatures of the functions taking the inputs
        names = {
            n.name for g in (fn, fn.value_and_grad) if g for n in g.nodes if n.name
        }
        self.rn = Renamer(self.pnames, self.namer.taken | names)
        self.fparams = [self.rn(p) for p in self.params]
        # the numba target's statements: runs of elementwise ones as kernels
        self.emitter = KernelEmitter if target.kernels else Emitter

    def name(self, kind: str) -> str:
        """The name of the emitted function of ``kind`` (``forward``, ...)."""
        return self.target.function_name(self.fn.name, kind)

    def guard(self, layout: dict, kind: str, args, nodes, computed) -> dict:
        """``layout``, its statements in a ``try`` handing the inputs to the target's
        fallback (the scalar build's NumPy functions) where ``math`` raises."""
        if self.target.fallback is None:
            return layout
        rn = self.rn if kind != "backward" else str  # f_backward(d_out, cache) as it is
        fallback = rn(self.target.fallback.function_name(self.fn.name, kind))
        layout = guarded(layout, fallback, args, nodes, computed)
        if layout.get("guard"):  # a parameter named ValueError
            layout["guard"]["errors"] = rn(layout["guard"]["errors"])
        return layout

    def emit(self) -> tuple[list[dict], set]:
        """The template data of the functions, and the helpers they call (the numba
        target's kernels: in ``ctx.kernels``)."""
        fn, params = self.fn, self.fparams
        sched = schedule(fn)
        # Forward names first, so that the forward's names never depend on the backward.
        self.ctx.prefix = self.name("forward")
        fblocks, fexprs = emit_body(
            fn,
            sched.forward,
            param_exprs(fn, self.pnames),
            {fn.output} | set(sched.cache),
            self.namer,
            self.ctx,
            sched.adjoints,
            set(sched.forward),
            self.emitter,
        )
        value_name = fexprs[fn.output].text
        seed = "d_" + value_name if value_name.isidentifier() else "d_out"
        seed = self.namer.names[fn.seed] = self.namer.fresh(seed)
        bblocks, bexprs = self.backward_body(sched, seed)
        floats = [fexprs[i].text for i in sched.cache if fn.nodes[i].dtype == "float"]
        seed_check = self.seed_lines(seed, floats)
        bused = identifiers(bblocks, [bexprs[g].text for g in sched.grads] + seed_check)
        cache_names = [fexprs[i].text for i in sched.cache]
        if self.target.xp:  # the namespace, the gradients' dtype and device
            cache_names = ["xp", "dtype", "device"] + cache_names
        cache_names += [self.dims[d] for d in fn.dims if self.dims[d] in bused]
        _, unpack = cache_lines(cache_names)
        local = self.rn("cache")
        pack, _ = cache_lines([self.rn(c) for c in cache_names], local)
        scalar_value = fn.nodes[fn.output].shape == ()
        out = []
        if self.target.public:
            out.append(self.wrapper("value", "forward", 0))
        returned = self.results([fn.output], [fexprs[fn.output]], set(), fn)[0]
        fwhole, bwhole = whole_split(self, sched, fblocks, bblocks, seed, cache_names)
        used = identifiers(fblocks, [value_name] + cache_names + fwhole)
        forward = lay_out(
            self.name("forward"),
            params,
            docstring(fn, "forward", [self.rn(c) for c in cache_names])
            + tape_note(fn, sched.cache, fexprs),
            self.rn.lines(self.inputs(fn, used) + fwhole + body_lines(fblocks)),
            pack + [f"return {self.rn(returned)}, {local}"],
        )
        out.append(self.guard(forward, "forward", params, fn.nodes, sched.forward))
        grads = [as_float(bexprs[g]) for g in sched.grads]
        gtexts = self.results(sched.grads, grads, set(sched.cache), fn)
        gtexts = self.cast(gtexts, ["dtype"] * len(gtexts))
        backward = lay_out(
            self.name("backward"),
            [seed, "cache"],
            docstring(fn, "backward", [], seed),
            unpack + seed_check + bwhole + body_lines(bblocks),
            return_lines(gtexts),
        )
        args = [seed, "cache"]
        out.append(self.guard(backward, "backward", args, fn.nodes, sched.backward))
        if scalar_value:
            vg = fn.value_and_grad
            computed = reachable(vg.nodes, [vg.output, *vg.grads.values()])
            layout = self.value_and_grad()
            out.append(self.guard(layout, "value_and_grad", params, vg.nodes, computed))
        if self.target.public and scalar_value:
            out.append(self.wrapper("grad", "value_and_grad", 1))
        out += self.derived()
        if not self.target.public:
            for layout in out:
                layout["doc"] = fallback_doc(layout["name"])
        for layout in out:  # module-level aliases the bodies may read (``shadowing``)
            layout["aliases"] = self.rn.used
            # the numba kernels it calls, written above it
            own = f"_{layout['name']}_k"
            layout["kernels"] = [
                v for k, v in self.ctx.kernels.items() if k.startswith(own)
            ]
        return out, self.ctx.helpers

    def backward_body(self, sched, seed: str):
        """The blocks and expressions of ``f_backward`` (after the forward's: it reads the
        forward's names of the cached values)."""
        fn = self.fn
        self.ctx.prefix = self.name("backward")
        backward = self.emitter(
            fn,
            sched.backward,
            {fn.seed: P.name(seed)},
            set(sched.grads),
            self.namer,
            self.ctx,
            sched.adjoints,
            from_cache=True,
        )
        out = backward.run()
        assert sorted(backward.cached) == sched.cache
        return out

    def seed_lines(self, seed: str, cached_floats: list[str]) -> list[str]:
        """The check of the seed (or, in a fallback, the conversion of the seed and of the
        cached floats with np.float64; with ``--no-checks``, nothing)."""
        if not self.target.checked:
            return [] if self.target.public else to_float64([seed] + cached_floats)
        return check_seed(self.fn, seed, self.dims, xp=self.target.xp)

    def wrapper(self, kind: str, callee: str, index: int) -> dict:
        """``f`` (``kind`` "value") or ``f_grad``: item ``index`` of ``f_<callee>``, which
        computes exactly what it needs: one copy of the code to read and to review."""
        fn, params = self.fn, self.fparams
        callee = self.rn(
            f"{fn.name}_{callee}"
        )  # ``_f_forward`` beside a parameter f_forward
        call = forwarding_call(callee, params, index, self.rn("_result"))
        name = fn.name if kind == "value" else f"{fn.name}_{kind}"
        return lay_out(name, params, docstring(fn, kind, []), [], call)

    def inputs(self, fn: Function, used: set[str], names=None) -> list[str]:
        """The input checks of a function whose code reads ``used`` (or conversions: all
        parameters to np.float64 in a fallback; with ``--no-checks``, ``unchecked_inputs``);
        ``names``: the variables of ``fn``'s parameters (default: the formula's)."""
        names = self.pnames if names is None else names
        if not self.target.checked and self.target.public:
            return unchecked_inputs(fn, names, self.dims, used, self.ctx)
        if not self.target.checked:
            return to_float64([names[p.name] for p in fn.params])
        return prologue(fn, names, self.dims, used, self.ctx)

    def results(self, results: list[int], exprs, inputs: set[int], g: Function):
        """The returned texts of the nodes ``results`` of graph ``g`` (``owned``; floats
        in a fallback)."""
        texts = owned(
            g.nodes, results, exprs, inputs, self.target.floats_out, self.target.xp
        )
        if self.target.float_results:  # arrays (``array_of``) stay arrays
            scalar = [g.nodes[i].shape == () for i in results]
            return [f"float({t})" if s else t for t, s in zip(texts, scalar)]
        return texts

    def cast(self, gtexts: list[str], likes: list[str]) -> list[str]:
        """On the Array API target, each gradient cast to the dtype of its input (``likes``:
        the inputs, or ``dtype``) where the library promoted (``_cast``)."""
        if not self.target.xp:
            return gtexts
        return [f"_cast(xp, {g}, {like})" for g, like in zip(gtexts, likes)]

    def cast_like_inputs(self, kind: str, g: Function, texts: list[str]) -> list[str]:
        """The results of a graph function, those shaped like the differentiated inputs
        (gradients, Hessian-vector products, the Hessian) cast to their dtypes: an
        array's in its dtype; a Scalar's (a Python float, or a weak 0-d array under
        jax.jit) in the computation's."""
        likes = [
            self.pnames[p.name] if g.nodes[p.node].shape else "dtype" for p in g.wrt
        ]
        if kind == "jvp":
            return texts
        if kind == "hessian":
            return self.cast(texts, likes)
        head = texts[:1] if kind == "value_and_grad" else []
        return head + self.cast(texts[len(head) :], likes)

    def value_and_grad(self) -> dict:
        """``f_value_and_grad``: forward and backward in one body, seed 1 (or its NumPy
        fallback: np.float64 inputs, float results)."""
        vg = self.fn.value_and_grad
        return self.graph_function(
            "value_and_grad", vg, [vg.output, *(vg.grads[p.name] for p in vg.wrt)]
        )

    def graph_function(self, kind: str, g: Function, results: list[int]) -> dict:
        """The function ``kind`` computing the nodes ``results`` of graph ``g`` in one
        body from ``g``'s parameters (``fn``'s, then tangents): ``f_value_and_grad``
        returns the value and the gradients, ``f_jvp`` the value and its tangent, the
        others what they compute, grouped as gradients."""
        fn = self.fn
        namer, names, bound = self.graph_namer(g)
        todo_set = reachable(g.nodes, results)
        todo = [
            i for i in range(len(g.nodes)) if i in todo_set and g.nodes[i].op != "param"
        ]
        # the printers read shapes and index kinds off the graph being printed: g's
        ctx = self.ctx
        gctx = ctx.for_graph(g.nodes)
        gctx.kernels, gctx.prefix = ctx.kernels, self.name(kind)
        blocks, exprs = emit_body(
            g,
            todo,
            bound,
            set(results),
            namer,
            gctx,
            backward_part(g),
            reachable(g.nodes, [g.output]),
            self.emitter,
        )
        texts = self.results(results, [as_float(exprs[r]) for r in results], set(), g)
        whole = []  # the numba target: the whole body as one kernel, where small
        if self.target.kernels and kind in WHOLE_KINDS:
            rets = partial(returned, kind)
            whole = whole_kernel(self, kind, g, todo, results, rets, blocks)
        used = identifiers(blocks, texts + whole)
        texts = self.cast_like_inputs(kind, g, texts)
        texts = [self.rn(t) for t in texts]
        params = self.fparams + [
            namer.names[p.node] for p in g.params[len(fn.params) :]
        ]
        doc = docstring(fn, kind, [], extra=g.params[len(fn.params) :])
        return lay_out(
            self.name(kind),
            params,
            doc if self.target.public else [],
            self.rn.lines(self.inputs(g, used, names) + whole + body_lines(blocks)),
            returned(kind, texts, self.rn("grads")),
        )

    def graph_namer(self, g: Function):
        """A namer for a body of graph ``g`` (``graph_function``), the variables of its
        parameters by name, and their expressions."""
        namer = Namer(taken_names(self.fn_names, self.target))
        for p in g.params:
            namer.names[p.node] = namer.fresh(p.name)
        for d in self.fn.dims:
            namer.fresh(d)
        names = {p.name: namer.names[p.node] for p in g.params}
        names.update(self.pnames)
        return namer, names, param_exprs(g, names)

    def derived(self) -> list[dict]:
        """``f_jvp``, ``f_hvp``, ``f_hessp`` and ``f_hessian``, those asked for."""
        fn, out = self.fn, []
        if fn.jvp is not None:
            jv = fn.jvp
            out.append(self.guarded_graph("jvp", jv, list(jv.grads.values())))
        if fn.hvp is not None:
            hv = fn.hvp
            out.append(self.guarded_graph("hvp", hv, list(hv.grads.values())))
            if self.target.public and fn.params[0].wrt and len(fn.wrt) == 1:
                out.append(self.hessp())
        if fn.hessian is not None:
            he = fn.hessian
            out.append(self.guarded_graph("hessian", he, list(he.grads.values())))
        elif fn.hvp is not None and len(fn.wrt) == 1 and self.target.public:
            if not fn.nodes[fn.wrt[0].node].shape:
                out.append(self.scalar_hessian())
        return out

    def guarded_graph(self, kind: str, g: Function, results: list[int]) -> dict:
        """``graph_function`` in the scalar build's ``try`` where it can raise."""
        layout = self.graph_function(kind, g, results)
        computed = reachable(g.nodes, results)
        args = self.fparams + [p.name for p in g.params[len(self.fn.params) :]]
        return self.guard(layout, kind, args, g.nodes, computed)

    def hessp(self) -> dict:
        """``f_hessp(x, p, *rest)``: ``f_hvp`` in SciPy's ``hessp`` order."""
        fn = self.fn
        taken = {p.name for p in fn.hvp.params} | set(self.fparams)
        p = "p" if "p" not in taken else self.fn.hvp.params[-1].name
        params = [self.fparams[0], p, *self.fparams[1:]]
        call = forwarding_call(self.rn(f"{fn.name}_hvp"), [*self.fparams, p], None)
        return lay_out(f"{fn.name}_hessp", params, docstring(fn, "hessp", []), [], call)

    def scalar_hessian(self) -> dict:
        """``f_hessian`` of a Scalar input: ``f_hvp`` along 1.0, the one unit tangent."""
        fn = self.fn
        call = forwarding_call(self.rn(f"{fn.name}_hvp"), [*self.fparams, "1.0"], None)
        return lay_out(
            f"{fn.name}_hessian", self.fparams, docstring(fn, "hessian", []), [], call
        )


def returned(kind: str, texts: list[str], local: str) -> list[str]:
    """The ``return`` lines of a graph function: ``(value, gradients)`` for
    ``value_and_grad``, ``(value, tangent)`` for ``jvp``, else the results as gradients."""
    if kind not in ("value_and_grad", "jvp"):
        return return_lines(texts)
    value, *rest = texts
    if len(rest) == 1:
        return [f"return {value}, {rest[0]}"]
    ret = tuple_lines(f"return {value}, (", rest, ")")
    if len(ret) > 1:
        ret = tuple_lines(f"{local} = (", rest, ")") + [f"return {value}, {local}"]
    return ret


def function_family(
    fn: Function, fn_names: list[str], target: Target
) -> tuple[list[dict], set]:
    """The emitted functions of one formula function for ``target``, as template data,
    and the helpers they call.

    For the ``math`` target, the statements of each function run in a ``try`` whose
    handler calls the function's NumPy fallback (``MATH.fallback``: the NumPy spelling on
    np.float64 scalars, floats out, named ``_f_forward_numpy`` ...).
    """
    return Family(fn, fn_names, target).emit()
