"""Numbers on the graph: evaluating IR nodes, drawing test inputs, and backprop step by step.

Used by ``gradc check``, ``gradc graph`` and ``gradc explain`` (``compiler.tools``).

Evaluation never re-implements an operation's math: each node is printed with the
primitive table (``PRIMS[op].emit``, the printers the code generator uses) over
placeholder names, and that printed text is evaluated with NumPy. Only gradc's own
printed expressions are evaluated: formula text is parsed with ``ast`` and lowered to
IR nodes, whose printers write the text from node attributes (numbers, axes, shapes);
user text never reaches ``eval``. The helper functions (``_sigmoid``, ...) come from
gradc's own template ``templates/helpers.py.j2``.

The backward pass is walked as ``autodiff.differentiate`` walks it, node by node from
the output back, applying each primitive's adjoint rule on a ``Builder`` over the
function's nodes and evaluating what the rule builds: for every node the upstream
gradient, the gradient it sends to each input (downstream = local x upstream), and the
fan-out sums where a value is used more than once.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..backend.codegen import HELPER_ORDER, Ctx, index_root, slice_needs
from ..backend.loader import import_source
from ..core import printer as P
from ..core.ir import Builder, Function, Node, format_attr, reachable
from ..core.prim import PRIMS
from ..core.shapes import as_inequality, dim_symbol
from ..ops.primitives import index_text
from ..passes.autodiff import active_nodes
from ..passes.fuse import expand_fused
from ..rewrite.simplify import make_rewriter

#: sizes given, in order of appearance, to dimensions that neither --dims nor --at fix
DEFAULT_SIZES = (3, 4, 5)
#: how close (absolute) a drawn point may come to a kink, a pole or a domain boundary
KINK_MARGIN = 1e-3
#: how many draws to try before giving up on avoiding kinks
MAX_DRAWS = 100


class InputError(ValueError):
    """A bad --at, --dims or --function value (reported as ``gradc: error:``, exit 2)."""


# ---------------------------------------------------------------------------- evaluation


@functools.lru_cache(maxsize=1)
def helper_namespace() -> dict:
    """``np`` and the module helpers of the emitted code, from gradc's own template."""
    from ..backend.templating import environment

    calls = "".join("{{ h.helper" + name + "() }}\n" for name in HELPER_ORDER)
    text = (
        environment().from_string('{% import "helpers.py.j2" as h %}' + calls).render()
    )
    module = import_source(text, "gradc_helpers", {"np": np, "math": math})
    return {"np": np, **{name: getattr(module, name) for name in HELPER_ORDER}}


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
        self.ctx = Ctx(nodes, {d: dim_var(d) for d in dims})

    def bind(self, i: int, value) -> None:
        self.values[i] = self.normalise(i, value)

    def normalise(self, i: int, value):
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

    def _eval(self, k: int):
        node = self.nodes[k]
        prim = PRIMS[node.op]
        if node.op == "param":
            raise KeyError(f"no value bound for parameter {node.attr('name')!r}")
        args = [P.name(f"_v{k}") for k in range(len(node.args))]
        values = [self.values[a] for a in node.args]
        if prim.stmts is not None:
            # gradc's own printed statements (scatter: zeros, then an indexed add)
            code = "\n".join(prim.stmts("_out", node, args, self.ctx))
            return self.run(code + "\nreturn _out", values)
        return self.run(f"return {prim.emit(node, args, self.ctx).text}", values)


# ---------------------------------------------------------------------------- formatting


def fmt_number(x, digits: int = 6) -> str:
    """A number as the lecture writes it: ``3``, ``-12``, ``0.7311``."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def fmt_array(v, digits: int = 6, *, norm_sign: str = "‖") -> str:
    """A scalar as a number; a small array by its entries; a larger one by shape and norm."""
    arr = np.asarray(v)
    if arr.ndim == 0:
        return fmt_number(arr, digits) if arr.dtype.kind == "f" else str(arr.item())
    shape = format_attr(tuple(arr.shape))
    if arr.dtype.kind != "f":
        if arr.size <= 8:
            return str(arr.tolist())
        return ("bool" if arr.dtype.kind == "b" else "int") + f" array {shape}"
    if arr.size <= 4 and arr.ndim == 1:
        return "[" + ", ".join(fmt_number(x, digits) for x in arr) + "]"
    norm = fmt_number(np.linalg.norm(arr.ravel()), digits)
    return f"{shape} {norm_sign}·{norm_sign} = {norm}"


# ---------------------------------------------------------------------------- inputs


def parse_assignments(text: str | None, what: str) -> dict[str, object]:
    """``x=-2,y=5,W=[[1,2],[3,4]]`` as ``{name: number or nested list}`` (no eval)."""
    import json

    if not text:
        return {}
    parts, depth, current = [], 0, ""
    for c in text:
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    out: dict[str, object] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier() or not value:
            raise InputError(f"{what}: expected NAME=VALUE, got {part.strip()!r}")
        if name in out:
            raise InputError(f"{what}: {name} is given twice")
        try:
            if value.startswith("["):
                out[name] = json.loads(value)
            else:
                out[name] = int(value) if value.lstrip("+-").isdigit() else float(value)
        except ValueError:
            raise InputError(
                f"{what}: {name}={value} is not a number or a [list]"
            ) from None
    return out


def parse_dims(text: str | None) -> dict[str, int]:
    """``--dims n=3,d=4`` as ``{"n": 3, "d": 4}``."""
    out = {}
    for name, value in parse_assignments(text, "--dims").items():
        if not isinstance(value, int) or value < 1:
            raise InputError(f"--dims: {name}={value} is not a positive integer")
        out[name] = value
    return out


def rng_for(seed: int, fn: Function) -> np.random.Generator:
    """The random stream of one function: the same whichever other functions are checked."""
    return np.random.default_rng([seed, zlib.crc32(fn.name.encode("utf-8"))])


def as_input(fn: Function, name: str, raw, dims_seen: dict[str, int]):
    """A user-given value for parameter ``name`` as the generated function takes it."""
    param = next((p for p in fn.params if p.name == name), None)
    if param is None:
        names = ", ".join(p.name for p in fn.params)
        raise InputError(
            f"--at: {fn.name} has no parameter {name} (parameters: {names})"
        )
    node = fn.nodes[param.node]
    try:
        arr = np.asarray(raw)
    except ValueError:
        raise InputError(f"--at: {name} is not a rectangular array") from None
    if node.dtype == "int":
        if arr.dtype.kind not in "iu":
            raise InputError(f"--at: {name} is an Index input and takes integers")
    elif arr.dtype.kind not in "iuf":
        raise InputError(f"--at: {name} takes numbers")
    else:
        arr = arr.astype(np.float64)
    if arr.ndim != len(node.shape):
        raise InputError(
            f"--at: {name}: {param.annotation} needs {len(node.shape)} dimensions, "
            f"got shape {format_attr(tuple(arr.shape))}"
        )
    for d, n in zip(node.shape, arr.shape):
        if isinstance(d, int) or d.is_Integer:
            if int(d) != n:
                raise InputError(
                    f"--at: {name}: {param.annotation} does not fit shape {arr.shape}"
                )
            continue
        if not d.is_Symbol:  # an expression (4 * H): checked once its names have sizes
            continue
        key = str(d)
        if dims_seen.setdefault(key, n) != n:
            raise InputError(
                f"--at: {name}: {key} = {n} here but {dims_seen[key]} elsewhere"
            )
    if arr.ndim == 0:
        return int(arr) if node.dtype == "int" else float(arr)
    return arr


@dataclass
class Point:
    """Inputs of one function (in parameter order), the dimension sizes, and how they came."""

    inputs: dict[str, object]
    dims: dict[str, int]
    drawn: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def args(self, fn: Function) -> list:
        return [self.inputs[p.name] for p in fn.params]


def resolve_dims(
    fn: Function, given: dict[str, int], seen: dict[str, int]
) -> dict[str, int]:
    dims = dict(seen)
    for name, n in given.items():
        if name in fn.dims:
            if name in dims and dims[name] != n:
                raise InputError(
                    f"--dims: {name}={n} but --at gives {name} = {dims[name]}"
                )
            dims[name] = n
    k = 0
    free = [name for name in fn.dims if name not in dims]
    for name in free:
        dims[name] = DEFAULT_SIZES[k % len(DEFAULT_SIZES)]
        k += 1
    return fit_slices(fn, dims, free)


def fit_slices(fn: Function, dims: dict[str, int], free: list[str]) -> dict[str, int]:
    """``dims`` with the ``free`` (defaulted) sizes grown until the formula's slices fit
    (``x[:4]`` of a ``Vector[n]`` needs n >= 4: the emitted checks refuse smaller n) and
    every dimension expression of the parameters is at least 1 (``H - 2`` needs H >= 3);
    an InputError saying what is needed when sizes given cannot fit."""
    positive = expression_needs(fn)
    needs = [e for e, _ in slice_needs(fn)] + positive

    def at(e, sizes):
        return e.subs({dim_symbol(d): n for d, n in sizes.items()})

    for _ in range(200):
        failing = [e for e in needs if at(e, dims) < 0]
        if not failing:
            return dims
        names = [str(s) for s in sorted(failing[0].free_symbols, key=str)]
        grow = [
            d
            for d in names
            if d in free
            and at(failing[0], {**dims, d: dims[d] + 1}) > at(failing[0], dims)
        ]
        if not grow:
            break
        dims[grow[0]] += 1
    lhs, rhs = as_inequality(failing[0])
    sizes = ", ".join(f"{d}={n}" for d, n in dims.items())
    if failing[0] in positive:
        raise InputError(
            f"{fn.name}: the dimension {P.dim(failing[0] + 1, {})} of a "
            f"parameter must be at least 1, but the sizes are {sizes}"
        )
    raise InputError(
        f"{fn.name}: a slice needs {P.dim(lhs, {})} >= {P.dim(rhs, {})}, "
        f"but the sizes are {sizes}"
    )


def expression_needs(fn: Function) -> list:
    """``d - 1`` (to be ``>= 0``) for each dimension expression ``d`` among the parameters'
    shapes (``H - 2``), so that the sizes drawn for its names make it at least 1."""
    out = []
    for p in fn.params:
        for d in fn.nodes[p.node].shape:
            if not isinstance(d, int) and not d.is_Symbol and d - 1 not in out:
                out.append(d - 1)
    return out


def check_fixed_shapes(fn: Function, fixed: dict, sizes: dict[str, int]) -> None:
    """Each ``--at`` input's shape against its annotation with ``sizes`` put in (its
    dimension expressions, ``4 * H``, are checked only here); else an InputError."""
    for p in fn.params:
        if p.name not in fixed:
            continue
        want = concrete(fn.nodes[p.node].shape, sizes)
        got = np.shape(fixed[p.name])
        if got != want:
            given = ", ".join(f"{d}={n}" for d, n in sizes.items())
            raise InputError(
                f"--at: {p.name}: {p.annotation} with {given} is shape "
                f"{format_attr(want)}, got {format_attr(tuple(got))}"
            )


def index_bounds(fn: Function, dims: dict[str, int]) -> dict[int, int]:
    """For each Index parameter used in indexing: the size of the smallest axis it indexes."""
    bounds: dict[int, int] = {}
    for i in sorted(reachable(fn.nodes, [fn.output])):
        node = fn.nodes[i]
        if node.op != "getitem":
            continue
        src = concrete(fn.nodes[node.args[0]].shape, dims)
        axis = 0
        for e in node.attr("index"):
            if e[0] == "a":
                idx = index_root(fn.nodes, node.args[e[1]])  # i of i[:, None]
                if fn.nodes[idx].op == "param" and axis < len(src):
                    bounds[idx] = min(bounds.get(idx, src[axis]), src[axis])
            if e[0] in ("i", "s", "a"):
                axis += 1
    return bounds


def draw_point(
    fn: Function,
    rng: np.random.Generator,
    *,
    at: dict | None = None,
    dims: dict[str, int] | None = None,
) -> Point:
    """Inputs for ``fn``: the ``at`` values, the rest drawn from ``rng`` to suit the formula.

    A float input that feeds ``log``, ``sqrt``, ``log1p`` or a fractional power out of its
    domain is drawn again positive (uniform in [0.5, 2]); otherwise inputs are standard
    normal. Draws that come within ``KINK_MARGIN`` of a kink (relu, abs, maximum, clip, max,
    comparisons, ...), a pole or a domain boundary are drawn again, up to ``MAX_DRAWS`` times.
    Index inputs are integers below the size of the axis they index.
    """
    seen: dict[str, int] = {}
    fixed = {name: as_input(fn, name, raw, seen) for name, raw in (at or {}).items()}
    sizes = resolve_dims(fn, dims or {}, seen)
    check_fixed_shapes(fn, fixed, sizes)
    bounds = index_bounds(fn, sizes)
    for p in fn.params:
        high = bounds.get(p.node)
        if p.name in fixed and high is not None:
            v = np.asarray(fixed[p.name])
            if v.size and not np.all((-high <= v) & (v < high)):
                raise InputError(
                    f"--at: {p.name} indexes an axis of size {high}: {v.tolist()}"
                )
    drawn = [p.name for p in fn.params if p.name not in fixed]
    positive: set[str] = set()
    point = Point(dict(fixed), sizes, drawn)
    for _attempt in range(MAX_DRAWS):
        point.inputs = dict(fixed)
        for p in fn.params:
            if p.name in fixed:
                continue
            node = fn.nodes[p.node]
            shape = concrete(node.shape, sizes)
            if node.dtype == "int":
                high = bounds.get(p.node, DEFAULT_SIZES[0])
                v = rng.integers(0, high, size=shape)
                point.inputs[p.name] = int(v) if shape == () else v
                continue
            if p.name in positive:
                v = rng.uniform(0.5, 2.0, size=shape)
            else:
                v = rng.standard_normal(shape)
            point.inputs[p.name] = float(v) if shape == () else v
        if not drawn:
            return point
        need_positive, problems = inspect_point(fn, point)
        if not problems:
            return point
        positive |= {n for n in need_positive if n in drawn}
    point.notes.append(
        f"no draw in {MAX_DRAWS} avoided: {problems[0]}; finite differences may disagree there"
    )
    return point


def operations(fn: Function, ev: Evaluator, live: list[int], active: set[int]):
    """Every operation the value needs at the point (``fn`` has no fused nodes: the
    pipeline expands them after differentiation, and ``inspect_point`` expands them
    with the same pass when given an undifferentiated function).

    Returns ``(ops, values, consts, roots, act)``: ``ops`` lists ``(key, node)`` where
    ``node.args`` are keys of ``values`` (node indices); ``consts`` holds constant keys'
    values, ``roots[key]`` the nodes a key is computed from and ``act[key]`` whether it
    depends on a differentiated input.
    """
    values: dict = {}
    consts: dict = {}
    roots: dict = {}
    act: dict = {}
    ops: list = []
    for i in live:
        node = fn.nodes[i]
        values[i] = ev.value(i)
        roots[i] = {i}
        act[i] = i in active
        if node.op == "const":
            consts[i] = node.attr("value")
        if node.op != "param":
            ops.append((i, node))
    return ops, values, consts, roots, act


def inspect_point(fn: Function, point: Point) -> tuple[set[str], list[str]]:
    """Which inputs must be positive, and what is wrong with the point (empty when fine)."""
    if any(node.op == "fused" for node in fn.nodes):
        fn = expand_fused(fn)
    ev = Evaluator(fn.nodes, point.dims)
    for p in fn.params:
        ev.bind(p.node, point.inputs[p.name])
    live = sorted(reachable(fn.nodes, [fn.output]))
    with np.errstate(all="ignore"):
        ops, values, consts, roots, act = operations(fn, ev, live, active_nodes(fn))
    need_positive: set[str] = set()
    problems: list[str] = []

    def ancestors(key) -> set[str]:
        keep = reachable(fn.nodes, sorted(roots[key]))
        return {
            p.name
            for p in fn.params
            if p.node in keep and fn.nodes[p.node].dtype == "float"
        }

    def v(key):
        return np.asarray(values[key], dtype=np.float64)

    for key, node in ops:
        a = node.args
        domain = None  # (argument, lower bound)
        if node.op in ("log", "sqrt"):
            domain = (a[0], 0.0)
        elif node.op == "log1p":
            domain = (a[0], -1.0)
        elif node.op == "pow":
            c = consts.get(a[1])
            if c is None or not float(c).is_integer():
                domain = (a[0], 0.0)
        if domain is not None:
            if not np.all(v(domain[0]) > domain[1] + KINK_MARGIN):
                need_positive |= ancestors(domain[0])
                problems.append(f"{node.op} of a value <= {fmt_number(domain[1])}")
            continue
        if not act[key]:
            continue
        margin = kink_margin(node, key, v, consts)
        if margin is not None and not margin > KINK_MARGIN:
            problems.append(f"a kink of {node.op}")
    out = np.asarray(ev.value(fn.output))
    if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        problems.append("a value that is not finite")
    return need_positive, problems


def kink_margin(node, key, v, consts) -> float | None:
    """How far the point is from where ``node`` is not differentiable (None: nowhere)."""
    a = node.args
    op = node.op
    if op in ("relu", "abs", "sign"):
        return float(np.min(np.abs(v(a[0])), initial=np.inf))
    if op in ("maximum", "minimum", "lt", "le", "gt", "ge", "eq", "ne"):
        return float(np.min(np.abs(v(a[0]) - v(a[1])), initial=np.inf))
    if op == "arctan2":  # the origin, and the jump by 2 pi across y = 0 where x < 0
        y, x = np.broadcast_arrays(v(a[0]), v(a[1]))
        away = np.where(x < 0, np.minimum(np.abs(y), np.hypot(x, y)), np.hypot(x, y))
        return float(np.min(away, initial=np.inf))
    if op == "clip":
        x = v(a[0])
        return float(
            min(
                np.min(np.abs(x - v(a[1])), initial=np.inf),
                np.min(np.abs(x - v(a[2])), initial=np.inf),
            )
        )
    if op == "div":
        return float(np.min(np.abs(v(a[1])), initial=np.inf))
    if op == "pow":
        c = consts.get(a[1])
        if c is not None and c < 0:
            return float(np.min(np.abs(v(a[0])), initial=np.inf))
        return None
    if op == "norm":
        return float(np.min(np.abs(v(key)), initial=np.inf))
    if op in ("max", "min"):
        x = v(a[0])
        axes = node.attr("axis")
        if axes is None:
            axes = tuple(range(x.ndim))
        moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
        flat = np.sort(
            moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,)), axis=-1
        )
        if flat.shape[-1] < 2:
            return None
        gap = (
            flat[..., -1] - flat[..., -2]
            if op == "max"
            else flat[..., 1] - flat[..., 0]
        )
        return float(np.min(gap, initial=np.inf))
    return None


# ---------------------------------------------------------------------------- backprop


@dataclass
class Edge:
    """What node ``Step.node`` sends back towards ``arg`` (through its input ``pos``).

    ``through`` lists the forward nodes between them that the compiled backward pass goes
    past without a gradient of their own (an ``add`` passes its gradient on unchanged).
    """

    pos: int
    arg: int
    reason: str | None = None  # why no gradient flows ('integer input', ...)
    rule: str = ""  # the downstream gradient as code, in terms of the upstream name
    local_text: str | None = None  # the local gradient as code (scalar nodes)
    local: object = None  # its value (scalar nodes, and elementwise ones: entrywise)
    down: object = None  # the downstream gradient
    note: str | None = None  # what a fused node's rule says about this local gradient
    through: list[int] = field(default_factory=list)
    wire: tuple[int, int] | None = (
        None  # the forward wire (src, dst) it flows back along
    )


@dataclass
class Step:
    node: int
    upstream: object
    upstream_name: str
    parts: list[
        tuple[int, object]
    ]  # (consumer, gradient it sent): fan-out terms of upstream
    edges: list[Edge]
    kind: str  # "scalar", "elementwise" or "general" (how the local gradient is shown)


@dataclass
class Trace:
    """One function's forward values and backward pass at one point, read off the
    differentiated ``fn`` the pipeline built (every number is the value of one of its
    nodes, or of a local gradient: a contribution with its upstream gradient set to 1)."""

    fn: Function  # differentiated: its nodes hold the forward and the adjoint graph
    point: Point
    ev: Evaluator  # values of every node, the seed bound to ``seed_value``
    forward: list[int]  # forward nodes the output needs, in order (parameters included)
    labels: dict[int, str]
    seed_value: object
    steps: list[Step]
    upstream: dict[int, object]  # total gradient of every forward node that has one
    parts: dict[int, list[tuple[int, object]]]
    grads: dict[str, object]  # fn.grads evaluated: the compiled backward's gradients
    texts: dict[int, str] = field(default_factory=dict)

    @property
    def out_label(self) -> str:
        return self.labels[self.fn.output]


def make_labels(fn: Function, forward: list[int]) -> dict[int, str]:
    """Display names: the formula name, ``name%i`` when a name is reused, else ``%i``."""
    counts: dict[str, int] = {}
    for i in forward:
        name = (
            fn.nodes[i].attr("name") if fn.nodes[i].op == "param" else fn.nodes[i].name
        )
        if name:
            counts[name] = counts.get(name, 0) + 1
    labels = {}
    for i in forward:
        node = fn.nodes[i]
        if node.op == "param":
            labels[i] = node.attr("name")
        elif node.op == "const":
            labels[i] = P.number(node.attr("value"), integral=True).text
        elif node.name:
            labels[i] = node.name if counts[node.name] == 1 else f"{node.name}%{i}"
        else:
            labels[i] = f"%{i}"
    if fn.nodes[fn.output].op not in ("param", "const") and labels[
        fn.output
    ].startswith("%"):
        labels[fn.output] = "out"
    return labels


def gradient_nodes(fn: Function, forward: set[int]) -> dict[int, int]:
    """Forward node -> the node of its total gradient in the adjoint graph, for the
    forward nodes the pipeline built one for (the seed for the output, ``fn.grads`` for
    the parameters, ``fn.adjoint_of`` for the rest). Nodes that do not depend on the
    seed (a gradient folded to zero), or that no gradient of an input reads (the
    simplifier went past them), are left out."""
    depends = seed_dependent(fn)
    live = reachable(fn.nodes, list(fn.grads.values()))
    grad_of = {fn.output: fn.seed}
    for k, i in sorted(fn.adjoint_of.items()):
        if i in forward and depends[k] and k in live:
            grad_of.setdefault(i, k)
    for p in fn.wrt:
        g = fn.grads[p.name]
        if depends[g]:
            grad_of[p.node] = g
    return grad_of


def seed_dependent(fn: Function) -> list[bool]:
    """For each node: whether its value depends on the seed (args precede their nodes)."""
    depends = [False] * len(fn.nodes)
    for k, node in enumerate(fn.nodes):
        depends[k] = k == fn.seed or any(depends[a] for a in node.args)
    return depends


class Flow:
    """Where each gradient of the adjoint graph comes from: the parts of an accumulated
    gradient (``add(..., acc=True)``, one part per use of a value) and the gradient
    nodes each part reads (the upstream gradients of the consumers that sent it)."""

    def __init__(self, fn: Function, grad_of: dict[int, int]):
        self.nodes = fn.nodes
        self.grad_of = grad_of
        self.forward_of: dict[int, int] = {}
        for i, g in sorted(grad_of.items()):  # shared: the latest node's (it made it)
            self.forward_of[g] = i
        self.depends = seed_dependent(fn)
        self.memo: dict[int, frozenset] = {}

    def parts(self, g: int) -> list[int]:
        """The terms accumulated into gradient node ``g``, in the order they were added."""
        out: list[int] = []
        while True:
            node = self.nodes[g]
            if node.op != "add" or not node.attr("acc"):
                break
            out.append(node.args[1])
            g = node.args[0]
            if g in self.forward_of:  # the first term is another node's gradient
                break
        out.append(g)
        return out[::-1]

    def reads(self, part: int, a: int) -> list[int]:
        """The gradient nodes ``part`` (a term of forward node ``a``'s gradient) is
        computed from, latest forward node first."""
        if self.forward_of.get(part, a) != a:
            found = {part}
        else:
            found = set().union(
                *(self._reads(a) for a in self.nodes[part].args if self.depends[a])
            )
        return sorted(found, key=lambda g: -self.forward_of[g])

    def _reads(self, k: int) -> frozenset:
        if k not in self.memo:
            if k in self.forward_of:
                self.memo[k] = frozenset({k})
            else:
                self.memo[k] = frozenset().union(
                    *(self._reads(a) for a in self.nodes[k].args if self.depends[a])
                )
        return self.memo[k]


def substitute(b: Builder, root: int, old: int, new: int) -> int:
    """Node ``root`` made again with node ``old`` replaced by ``new`` (the nodes between
    are re-emitted, so the simplifier folds ``1.0 * x`` to ``x``)."""
    nodes = b.nodes
    between = sorted(
        k for k in reachable(nodes, [root]) if old in reachable(nodes, [k])
    )
    remap = {old: new}
    for k in between:
        if k == old:
            continue
        node = nodes[k]
        with b.at(node.loc):
            remap[k] = b.emit(
                node.op, *(remap.get(a, a) for a in node.args), **dict(node.attrs)
            )
    return remap[root]


def backprop(fn: Function, point: Point, seed_value=None) -> Trace:
    """Forward values and backward pass of the differentiated ``fn`` at ``point``: the
    values of the nodes the pipeline built, evaluated once (no second backward walk)."""
    out_node = fn.nodes[fn.output]
    if seed_value is None:
        shape = concrete(out_node.shape, point.dims)
        seed_value = 1.0 if shape == () else np.ones(shape)
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    if len(b.nodes) != len(
        fn.nodes
    ):  # pragma: no cover - the IR is hash-consed already
        raise RuntimeError(f"gradc: the IR of {fn.name} has duplicate nodes")
    ev = Evaluator(b.nodes, point.dims)
    for p in fn.params:
        ev.bind(p.node, point.inputs[p.name])
    ev.bind(fn.seed, seed_value)
    forward = sorted(reachable(fn.nodes, [fn.output]))
    labels = make_labels(fn, forward)
    grad_of = gradient_nodes(fn, set(forward))
    for i in forward:
        ev.value(i)
    flow = Flow(fn, grad_of)
    sent = incoming(fn, flow, forward)
    below = {i: reachable(fn.nodes, [i]) for i in forward}
    upstream = {i: ev.value(g) for i, g in grad_of.items()}
    parts: dict[int, list[tuple[int, object]]] = {}
    for a, g in grad_of.items():
        terms = [(t, flow.reads(t, a)) for t in flow.parts(g)]
        parts[a] = [(flow.forward_of[r[0]], ev.value(t)) for t, r in terms if r]
    steps: list[Step] = []
    for i in reversed(forward):
        node = fn.nodes[i]
        if i not in grad_of or PRIMS[node.op].adjoint is None:
            continue
        label = labels[i]
        gname = "d_" + label if label.isidentifier() else "g"
        names = {g: gradient_name(labels[j]) for j, g in grad_of.items()}
        names[grad_of[i]] = gname
        describe = Describer(b.nodes, labels, point.dims, names)
        scalar = node.shape == ()
        elementwise = PRIMS[node.op].elementwise and not scalar
        edges = []
        terms = sent.get(i, [])
        used: set[int] = set()
        for pos, a in enumerate(node.args):
            arg = fn.nodes[a]
            if arg.op in ("const", "dim", "arange"):
                edges.append(Edge(pos, a, "constant"))
                continue
            if arg.dtype != "float":
                edges.append(Edge(pos, a, "integer input"))
                continue
            mine = [
                n
                for n, (t, _) in enumerate(terms)
                if n not in used and (t == a or t in below[a])
            ]
            if not mine:
                reached = any(t == a or t in below[a] for t, _ in terms)
                if not reached and a not in node.args[:pos]:
                    edges.append(Edge(pos, a, "not differentiated"))
                continue
            used.update(mine)
            mine = [terms[n] for n in mine]
            for t, term in sorted(mine, key=lambda x: x[0]):
                edge = Edge(pos, t, through=passed(fn, grad_of, below, i, t))
                edge.rule = describe(term)
                edge.note = fn.notes.get(term)
                edge.down = ev.value(term)
                edge.wire = (t, (edge.through[-1] if edge.through else i))
                local_ok = scalar or (
                    elementwise
                    and all(PRIMS[fn.nodes[k].op].elementwise for k in edge.through)
                    and b.shape(term) == arg_shape(fn, t)
                )
                if local_ok:
                    if scalar:
                        one = b.const(1.0)
                    else:
                        with b.at(node.loc):
                            one = b.emit(
                                "param",
                                name=f"__ones_{i}",
                                shape=node.shape,
                                dtype="float",
                            )
                        ev.bind(one, np.ones(concrete(node.shape, point.dims)))
                    lc = substitute(b, term, grad_of[i], one)
                    edge.local = ev.value(lc)
                    if scalar:
                        edge.local_text = describe(lc)
                edges.append(edge)
        kind = "scalar" if scalar else "elementwise" if elementwise else "general"
        steps.append(Step(i, upstream[i], gname, parts.get(i, []), edges, kind))
    grads = {p.name: ev.value(fn.grads[p.name]) for p in fn.wrt}
    return Trace(
        fn, point, ev, forward, labels, seed_value, steps, upstream, parts, grads
    )


def arg_shape(fn: Function, i: int) -> tuple:
    return fn.nodes[i].shape


def gradient_name(label: str) -> str:
    """The name a gradient node is printed with in rules: ``d_q``, or ``d%7``."""
    return "d_" + label if label.isidentifier() else "d" + label


def incoming(fn: Function, flow: Flow, forward: list[int]) -> dict[int, list]:
    """For each forward node with a gradient: ``(target, term)`` for each term of a
    gradient it sends back (to an input, or past inputs without a gradient of their own)."""
    out: dict[int, list] = {}
    for a, g in sorted(flow.grad_of.items()):
        if a == fn.output:
            continue
        for term in flow.parts(g):
            r = flow.reads(term, a)
            if r:
                out.setdefault(flow.forward_of[r[0]], []).append((a, term))
    return out


def passed(fn: Function, grad_of: dict, below: dict, i: int, t: int) -> list[int]:
    """The forward nodes between ``t`` and its reader ``i`` that have no gradient node
    of their own (the compiled backward goes past them), latest first."""
    return [
        k
        for k in sorted(below[i], reverse=True)
        if t < k < i and k not in grad_of and t in below[k]
    ]


class Describer:
    """Prints adjoint-rule nodes as code over the display names of the forward nodes."""

    def __init__(
        self,
        nodes: list,
        labels: dict[int, str],
        dims: dict[str, int],
        names: dict[int, str] | None = None,
    ):
        self.nodes = nodes
        self.labels = labels
        self.names: dict[int, str] = dict(names or {})
        self.ctx = Ctx(nodes, {d: d for d in dims})
        self.memo: dict[int, P.Expr] = {}

    def __call__(self, i: int) -> str:
        return self.expr(i).text

    def expr(self, i: int) -> P.Expr:
        if i in self.memo:
            return self.memo[i]
        node = self.nodes[i]
        prim = PRIMS[node.op]
        if i in self.names:
            e = P.name(self.names[i])
        elif node.op in ("const", "dim", "arange"):
            e = prim.emit(node, [], self.ctx)
        elif i in self.labels:
            e = P.name(self.labels[i])
        elif node.op == "param":
            e = P.name(node.attr("name"))
        else:
            args = [self.expr(a) for a in node.args]
            if prim.emit is not None:
                e = prim.emit(node, args, self.ctx)
            else:  # statement ops (scatter): zeros of the shape, the gradient added at the index
                index = index_text(node.attr("index"), [None] + args[1:], self.ctx)
                shape = P.shape(node.attr("shape"), self.ctx.dims)
                e = P.call(node.op, args[0], index=f"[{index}]", shape=shape)
        self.memo[i] = e
        return e
