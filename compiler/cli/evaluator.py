"""Values of IR nodes: the ``Evaluator`` used by ``gradc check``, ``graph`` and ``explain``.

Evaluation never re-implements an operation's math: each node is printed with the
primitive table (``PRIMS[op].emit``, the printers the code generator uses) over
placeholder names, and that printed text is evaluated with NumPy. Only gradc's own
printed expressions are evaluated: formula text is parsed with ``ast`` and lowered to
IR nodes, whose printers write the text from node attributes (numbers, axes, shapes);
user text never reaches ``eval``. The helper functions (``_sigmoid``, ...) come from
gradc's own template ``templates/helpers.py.j2``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy

from ..backend.context import Ctx
from ..backend.loader import import_source
from ..backend.templating import environment
from ..core import printer as P
from ..core.ir import Node, reachable
from ..core.names import ARRAY_CONSTANT_VALUES, HELPER_ORDER
from ..core.prim import PRIMS


@functools.lru_cache(maxsize=1)
def helper_namespace() -> dict:
    """``np``, the module's 0-d constants (``_one``, which the helpers read) and the
    module helpers of the emitted code, from gradc's own template."""
    calls = "".join("{{ h.helper" + name + "() }}\n" for name in HELPER_ORDER)
    text = (
        environment().from_string('{% import "helpers.py.j2" as h %}' + calls).render()
    )
    constants = {n: np.array(float(v)) for n, v in ARRAY_CONSTANT_VALUES.items()}
    module = import_source(text, "gradc_helpers", {"np": np, "math": math, **constants})
    return {"np": np, **constants, **{n: getattr(module, n) for n in HELPER_ORDER}}


@functools.lru_cache(maxsize=4096)
def node_function(body: str, nargs: int):
    """A function of ``_v0 .. _v{nargs-1}`` running gradc's own printed ``body`` lines."""
    params = ", ".join(f"_v{k}" for k in range(nargs))
    lines = body.split("\n")
    source = f"def _node({params}):\n" + "".join(f"    {ln}\n" for ln in lines)
    return import_source(source, "gradc_node", helper_namespace())._node


def dim_var(name: str) -> str:
    """The placeholder of dimension ``name`` in evaluated text (never clashes with ``np``)."""
    return "_dim_" + name


def concrete(shape: tuple, dims: dict[str, int]) -> tuple[int, ...]:
    """A symbolic shape with the dimension sizes ``dims`` substituted."""
    out = []
    for d in shape:
        if isinstance(d, int):
            out.append(d)
            continue
        value = d.xreplace({s: sympy.Integer(dims[s.name]) for s in d.free_symbols})
        out.append(int(value))
    return tuple(out)


class Evaluator:
    """Values of the nodes of ``nodes`` (a list that may grow), once their inputs are bound."""

    def __init__(self, nodes: list, dims: dict[str, int]):
        self.nodes = nodes
        self.dims = dict(dims)
        self.values: dict[int, object] = {}
        self.runs: dict[int, list] = {}  # a loop's body values, iteration by iteration
        self.reverse_runs: dict[
            int, list
        ] = {}  # a reverse loop's, last iteration first
        self.ctx = Ctx(nodes, {d: dim_var(d) for d in dims})

    def bind(self, i: int, value) -> None:
        """Give node ``i`` (a parameter, the seed) the value ``value``."""
        self.values[i] = self.normalise(i, value)

    def normalise(self, i: int, value):
        """``value`` as node ``i``'s dtype and concrete shape (a 0-d array as a scalar)."""
        if self.nodes[i].dtype == "loop":  # the carried values after a loop
            return value
        dtype = {"float": np.float64, "int": np.int64, "bool": np.bool_}[
            self.nodes[i].dtype
        ]
        arr = np.asarray(value, dtype=dtype)
        shape = concrete(self.nodes[i].shape, self.dims)
        if arr.shape != shape:  # scalars broadcast by a rule (np.where(c, g, 0) ...)
            arr = np.broadcast_to(arr, shape).copy()
        return arr[()] if arr.ndim == 0 else arr

    def value(self, i: int):
        """The value of node ``i``, evaluating the unknown nodes it depends on first."""
        if i not in self.values:
            todo = sorted(k for k in reachable(self.nodes, [i]) if k not in self.values)
            with np.errstate(all="ignore"):
                for k in todo:
                    self.values[k] = self.normalise(k, self._eval(k))
        return self.values[i]

    def apply(self, node: Node, args: list):
        """The value of ``node`` (an op and its attributes) applied to the values ``args``."""
        text = PRIMS[node.op].emit(
            node, [P.name(f"_v{k}") for k in range(len(args))], self.ctx
        )
        return self.run(f"return {text.text}", list(args))

    def run(self, body: str, args: list):
        """Run gradc's printed ``body`` on ``args`` (dimension sizes bound as _dim_ names)."""
        dims = "".join(f"{dim_var(d)} = {n}\n" for d, n in self.dims.items())
        return node_function(dims + body, len(args))(*args)

    def loop(self, node: Node, values: list) -> tuple:
        """The carried values after running the loop ``node``'s body (an ``Evaluator`` of
        its own per iteration, the loop variable bound like a dimension)."""
        body = self.expanded(node.attr("body"))
        ncap = len(body.captures)
        carried = list(values[ncap:])
        live = reachable(list(body.nodes), list(body.outs))
        runs = self.runs.setdefault(self.nodes.index(node), [])
        runs.clear()
        for t in self.iterations(body):
            ev = Evaluator(list(body.nodes), {**self.dims, body.var: t})
            for p, v in zip(body.captures + body.carried, values[:ncap] + carried):
                ev.bind(p, v)
            carried = [ev.value(o) for o in body.outs]
            for j in sorted(live):  # what the tapes record
                ev.value(j)
            runs.append(ev.values)
        return tuple(carried)

    def expanded(self, body):
        """The body a loop runs: the expanded one its reverse loop was built on, if the
        graph has one (its tapes index that body), else ``body``."""
        for node in self.nodes:
            if node.op == "loop_grad" and node.attr("grad").source is body:
                return node.attr("grad").loop
        return body

    def iterations(self, body) -> range:
        """The values the loop variable of ``body`` takes."""
        start, stop = concrete((body.start, body.stop), self.dims)
        return range(start, stop, body.step)

    def reverse_loop(self, node: Node, values: list) -> tuple:
        """The gradients the reverse loop ``node`` yields (its body's adjoint graph run
        iteration by iteration, last first; captures' gradients summed)."""
        grad = node.attr("grad")
        body = grad.loop
        steps = list(self.iterations(body))
        carried = {x: v for (role, x), v in zip(grad.roles, values) if role == "seed"}
        sums: dict[int, object] = {}
        record = self.reverse_runs.setdefault(self.nodes.index(node), [])
        record.clear()  # the carried values' gradients at each iteration's start
        for n, t in enumerate(reversed(steps)):
            row = len(steps) - 1 - n
            ev = Evaluator(list(grad.nodes), {**self.dims, body.var: t})
            for (role, x), v in zip(grad.roles, values):
                if role == "tape":
                    ev.bind(x, v[row])
                elif role == "capture":
                    ev.bind(x, v)
            for (role, k), v in zip(grad.roles, values):
                if role == "start":  # the previous row of the end value's tape
                    o = body.outs[k]
                    tape = next(
                        w
                        for (r, j), w in zip(grad.roles, values)
                        if j == o and r == "tape"
                    )
                    ev.bind(body.carried[k], tape[row - 1] if row > 0 else v)
            for k, v in carried.items():
                ev.bind(grad.seeds[k], v)
            for j, sub in enumerate(grad.nodes):  # behind a tape: never read
                if sub.op == "param" and j not in ev.values:
                    ev.bind(j, np.zeros(concrete(sub.shape, ev.dims)))
            carried = {k: ev.value(grad.d_carried[k]) for k in carried}
            record.append((t, dict(carried)))
            for c, d in enumerate(grad.d_captures):
                if d is not None:
                    sums[c] = sums.get(c, 0.0) + ev.value(d)
        out = []
        for kind, x in grad.outs:
            if kind == "carried":
                out.append(carried[x])
            else:
                shape = concrete(body.nodes[body.captures[x]].shape, self.dims)
                out.append(sums.get(x, np.zeros(shape)))
        return tuple(out)

    def _eval(self, k: int):
        """Node ``k``'s value from its inputs' values (which must be known)."""
        node = self.nodes[k]
        prim = PRIMS[node.op]
        if node.op == "param":
            raise KeyError(f"no value bound for parameter {node.attr('name')!r}")
        args = [P.name(f"_v{k}") for k in range(len(node.args))]
        values = [self.values[a] for a in node.args]
        if node.op in ("loop", "loop_grad"):
            run = self.loop if node.op == "loop" else self.reverse_loop
            return run(node, values)
        if node.op in ("loop_out", "loop_grad_out"):
            return values[0][node.attr("k")]
        if node.op == "loop_tape":  # body node j's values, iteration by iteration
            rows = [it[node.attr("j")] for it in self.runs[node.args[0]]]
            if rows:
                return np.stack(rows)
            return np.zeros(tuple(max(0, d) for d in concrete(node.shape, self.dims)))
        if prim.stmts is not None:
            # gradc's own printed statements (scatter: zeros, then an indexed add)
            code = "\n".join(prim.stmts("_out", node, args, self.ctx))
            return self.run(code + "\nreturn _out", values)
        return self.run(f"return {prim.emit(node, args, self.ctx).text}", values)
