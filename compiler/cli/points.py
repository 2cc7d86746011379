"""The point a tool works at: inputs given with ``--at`` and the rest drawn to suit the
formula (inside domains, away from kinks, Index inputs in range), and the sizes of
named dimensions (``--dims``, or drawn so that every slice and expression fits)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from ..backend.checks import slice_needs
from ..core import printer as P
from ..core.ir import Function, format_attr, index_root, reachable
from ..core.prim import PRIMS
from ..core.shapes import as_inequality, dim_symbol
from ..ops.conv import WINDOWED
from .errors import InputError
from .evaluator import concrete
from .kinks import inspect_point

#: sizes given, in order of appearance, to dimensions that neither --dims nor --at fix
DEFAULT_SIZES = (3, 4, 5)


#: how many draws to try before giving up on avoiding kinks
MAX_DRAWS = 100


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
        """The inputs in the order of the parameters of ``fn``."""
        return [self.inputs[p.name] for p in fn.params]


def resolve_dims(
    fn: Function, given: dict[str, int], seen: dict[str, int]
) -> dict[str, int]:
    """Sizes of every dimension of ``fn``: ``seen`` in --at values, then ``given``
    with --dims, then the defaults (grown until slices and expressions fit)."""
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
    found = slice_needs(fn)
    needs = [e for e, _ in found] + positive

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
    what = next((WINDOWED.get(n.op, "a slice") for e, n in found if e == failing[0]))
    raise InputError(
        f"{fn.name}: {what} needs {P.dim(lhs, {})} >= {P.dim(rhs, {})}, "
        f"but the sizes are {sizes}"
    )


def at(e, sizes: dict[str, int]):
    """Dimension expression ``e`` with the sizes ``sizes`` put in."""
    return e.subs({dim_symbol(d): n for d, n in sizes.items()})


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


def dominant_inputs(fn: Function) -> set[str]:
    """The float inputs that are the matrix argument of an ``invertible`` op (``inv``,
    ``det``, ``solve``, ``cholesky``; or its transpose): drawn strictly diagonally dominant, 1.5 on the diagonal plus uniform
    noise in [-0.3, 0.3] (invertible, and positive definite as cholesky reads it)."""
    params = {p.node: p.name for p in fn.params}
    out = set()
    for node in fn.nodes:
        if PRIMS[node.op].invertible:
            a = node.args[0]
            if fn.nodes[a].op == "transpose":
                a = fn.nodes[a].args[0]
            if a in params:
                out.add(params[a])
    return out


def draw_point(
    fn: Function,
    rng: np.random.Generator,
    *,
    at: dict | None = None,
    dims: dict[str, int] | None = None,
) -> Point:
    """Inputs for ``fn``: the ``at`` values, the rest drawn from ``rng`` to suit the formula.

    A float input that feeds ``log``, ``sqrt``, ``log1p`` or a fractional power out of its
    domain is drawn again positive (uniform in [0.5, 2]); the matrix of ``inv``, ``det``,
    ``solve`` and ``cholesky`` diagonally dominant (``dominant_inputs``); otherwise inputs
    are standard normal. Draws that come within ``KINK_MARGIN`` of a kink (relu, abs, maximum, clip, max,
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
    dominant = dominant_inputs(fn)
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
            if p.name in dominant and len(shape) >= 2 and shape[-1] == shape[-2]:
                v = rng.uniform(-0.3, 0.3, size=shape) + 1.5 * np.eye(shape[-1])
            elif p.name in positive:
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
