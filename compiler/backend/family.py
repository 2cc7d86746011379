"""The emitted functions of one formula function, as template data: ``f``, ``f_forward``,
``f_backward`` and, for a scalar value, ``f_value_and_grad`` and ``f_grad``; in the scalar
(``math``) build, the NumPy fallbacks that their ``try`` hands the inputs to."""

from __future__ import annotations

from ..core import printer as P
from ..core.ir import Function, reachable
from ..core.names import XP_HELPER_ORDER, reserved_names
from ..core.prim import may_raise_on_floats
from ..ops.spelling import as_float
from .checks import check_seed, prologue, to_float64, unchecked_inputs
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
)
from .memory import owned
from .naming import Namer
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
    fname: str, params: list[str], index: int, local: str = "_result"
) -> list[str]:
    """The body of a wrapper returning item ``index`` of ``fname(params)``."""
    call = [f"return {fname}({', '.join(params)})[{index}]"]
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
    "_namespace",
    "_find_namespace",
    "_with_methods",
    "_sum",
    "_max",
    "_min",
    "_any",
    "_kinds_of",
    "_is",
    "_SPACES",
    "_KINDS",
    "_kind",
    "_cast",
    *XP_HELPER_ORDER,
}


def taken_names(fn_names: list[str], target: Target) -> set[str]:
    """The names the emitted functions of ``target`` may not give a value."""
    return reserved_names(fn_names) | (XP_NAMES if target.xp else set())


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
        self.params = [self.pnames[p.name] for p in fn.params]
        # the user's names in the signatures of the functions taking the inputs
        names = {
            n.name for g in (fn, fn.value_and_grad) if g for n in g.nodes if n.name
        }
        self.rn = Renamer(self.pnames, self.namer.taken | names)
        self.fparams = [self.rn(p) for p in self.params]

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
        """The template data of the functions, and the helpers they call."""
        fn, params = self.fn, self.fparams
        sched = schedule(fn)
        # Forward names first, so that the forward's names never depend on the backward.
        fblocks, fexprs = emit_body(
            fn,
            sched.forward,
            param_exprs(fn, self.pnames),
            {fn.output} | set(sched.cache),
            self.namer,
            self.ctx,
            sched.adjoints,
            set(sched.forward),
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
        forward = lay_out(
            self.name("forward"),
            params,
            docstring(fn, "forward", [self.rn(c) for c in cache_names]),
            self.rn.lines(
                self.inputs(fn, identifiers(fblocks, [value_name] + cache_names))
                + body_lines(fblocks)
            ),
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
            unpack + seed_check + body_lines(bblocks),
            return_lines(gtexts),
        )
        args = [seed, "cache"]
        out.append(self.guard(backward, "backward", args, fn.nodes, sched.backward))
        if scalar_value:
            vg = fn.value_and_grad
            computed = reachable(vg.nodes, [vg.output, *vg.grads.values()])
            layout = self.value_and_grad()
            out.append(self.guard(layout, "value_and_grad", params, vg.nodes, computed))
        if not self.target.public:
            for layout in out:
                layout["doc"] = fallback_doc(layout["name"])
        elif scalar_value:
            out.append(self.wrapper("grad", "value_and_grad", 1))
        for layout in out:  # module-level aliases the bodies may read (``shadowing``)
            layout["aliases"] = self.rn.used
        return out, self.ctx.helpers

    def backward_body(self, sched, seed: str):
        """The blocks and expressions of ``f_backward`` (after the forward's: it reads the
        forward's names of the cached values)."""
        fn = self.fn
        backward = Emitter(
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

    def inputs(self, fn: Function, used: set[str]) -> list[str]:
        """The input checks of a function whose code reads ``used`` (or conversions: all
        parameters to np.float64 in a fallback; with ``--no-checks``, ``unchecked_inputs``)."""
        if not self.target.checked and self.target.public:
            return unchecked_inputs(fn, self.pnames, self.dims, used, self.ctx)
        if not self.target.checked:
            return to_float64(self.params)
        return prologue(fn, self.pnames, self.dims, used, self.ctx)

    def results(self, results: list[int], exprs, inputs: set[int], g: Function):
        """The returned texts of the nodes ``results`` of graph ``g`` (``owned``; floats
        in a fallback)."""
        texts = owned(
            g.nodes, results, exprs, inputs, self.target.floats_out, self.target.xp
        )
        if self.target.float_results:
            return [f"float({t})" for t in texts]
        return texts

    def cast(self, gtexts: list[str], likes: list[str]) -> list[str]:
        """On the Array API target, each gradient cast to the dtype of its input (``likes``:
        the inputs, or ``dtype``) where the library promoted (``_cast``)."""
        if not self.target.xp:
            return gtexts
        return [f"_cast(xp, {g}, {like})" for g, like in zip(gtexts, likes)]

    def value_and_grad(self) -> dict:
        """``f_value_and_grad``: forward and backward in one body, seed 1 (or its NumPy
        fallback: np.float64 inputs, float results)."""
        fn, vg = self.fn, self.fn.value_and_grad
        namer = Namer(taken_names(self.fn_names, self.target))
        for p in fn.params:
            namer.names[p.node] = namer.fresh(p.name)
        for d in fn.dims:
            namer.fresh(d)
        grads = [vg.grads[p.name] for p in vg.wrt]
        todo_set = reachable(vg.nodes, [vg.output] + grads)
        todo = [
            i
            for i in range(len(vg.nodes))
            if i in todo_set and vg.nodes[i].op != "param"
        ]
        # the printers read shapes and index kinds off the graph being printed: vg's
        ctx = self.ctx
        vctx = Ctx(vg.nodes, ctx.dims, helpers=ctx.helpers, target=ctx.target)
        blocks, exprs = emit_body(
            vg,
            todo,
            param_exprs(vg, self.pnames),
            {vg.output} | set(grads),
            namer,
            vctx,
            backward_part(vg),
            reachable(vg.nodes, [vg.output]),
        )
        value, *gtexts = self.results(
            [vg.output, *grads],
            [exprs[vg.output]] + [as_float(exprs[g]) for g in grads],
            set(),
            vg,
        )
        used = identifiers(blocks, [value] + gtexts)
        # an array's gradient in its dtype; a Scalar's (a Python float, or a weak 0-d
        # array under jax.jit) in the computation's
        likes = [
            self.pnames[p.name] if vg.nodes[p.node].shape else "dtype" for p in vg.wrt
        ]
        gtexts = self.cast(gtexts, likes)
        value, gtexts, local = (
            self.rn(value),
            [self.rn(t) for t in gtexts],
            self.rn("grads"),
        )
        if len(gtexts) == 1:
            ret = [f"return {value}, {gtexts[0]}"]
        else:
            ret = tuple_lines(f"return {value}, (", gtexts, ")")
            if len(ret) > 1:
                ret = tuple_lines(f"{local} = (", gtexts, ")") + [
                    f"return {value}, {local}"
                ]
        doc = docstring(fn, "value_and_grad", []) if self.target.public else []
        return lay_out(
            self.name("value_and_grad"),
            self.fparams,
            doc,
            self.rn.lines(self.inputs(fn, used) + body_lines(blocks)),
            ret,
        )


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
