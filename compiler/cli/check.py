"""``gradc check``: every gradient of every function against central finite differences.

``check_module`` is the core: it takes the loaded module, so a test can hand it a
module with a corrupted backward. Inputs are drawn as ``points.draw_point`` draws them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..api import load_source
from ..core.ir import Function, format_attr
from ..pipeline import lower_source
from .errors import InputError
from .files import read_source
from .formatting import fmt_array, parse_dims
from .functions import select
from .points import Point, draw_point, rng_for
from .tolerances import FD_ATOL, FD_RTOL, FD_STEP, VALUE_RTOL


def cmd_check(args) -> int:
    """``gradc check FILE``: every gradient against finite differences; exit 0 or 1."""
    text = read_source(args.file)
    fuse = not args.no_fuse
    functions = lower_source(text, filename=args.file, fuse=fuse)
    functions = select(functions, args.function, args.file, one=False)
    dims = parse_dims(args.dims)
    known = {d for f in functions for d in f.dims}
    unknown = sorted(set(dims) - known)
    if unknown:
        raise InputError(
            f"--dims: no function checked has a dimension {', '.join(unknown)}"
        )
    module = load_module(text, args.file, fuse)
    print(f"gradc check {args.file} (seed {args.seed})")
    return check_module(module, functions, seed=args.seed, dims=dims)


def load_module(text: str, filename: str, fuse: bool):
    """The compiled module, imported in memory (tests replace this to corrupt it)."""
    return load_source(text, filename=filename, fuse=fuse)


def check_module(
    module,
    functions: list[Function],
    *,
    seed: int = 0,
    dims: dict[str, int] | None = None,
    out=None,
) -> int:
    """Compare the gradients of ``module``'s functions with central differences.

    ``functions`` are the IR of the same formula (for the inputs' shapes, domains and
    kinks). Prints a table per function; returns 0 when every gradient matches, else 1.
    """
    out = out or sys.stdout
    print(
        f"central differences in float64, step {FD_STEP:g} * max(1, |x|); an entry passes "
        f"when |grad - fd| <= {FD_RTOL:g} * |fd| + {FD_ATOL:g} * max(1, |f|, max |fd|)",
        file=out,
    )
    failures: list[str] = []
    count = 0
    for fn in functions:
        point = draw_point(fn, rng_for(seed, fn), dims=dims or {})
        rows, problems = check_function(module, fn, point, rng_for(seed + 1, fn))
        count += len(rows)
        print(file=out)
        dims_text = ", ".join(f"{k}={v}" for k, v in point.dims.items())
        print(f"{fn.name}" + (f"  (dims {dims_text})" if dims_text else ""), file=out)
        for note in point.notes:
            print(f"  note: {note}", file=out)
        if rows:
            print(table(rows), file=out)
        elif not fn.wrt:
            print("  no differentiated inputs", file=out)
        for problem in problems:
            print(f"  MISMATCH: {problem}", file=out)
        failures += [f"{fn.name}: {p}" for p in problems]
    print(file=out)
    if failures:
        failing = [
            f.name
            for f in functions
            if any(x.startswith(f.name + ": ") for x in failures)
        ]
        print(f"FAILED: {len(failures)} mismatch(es) in {', '.join(failing)}", file=out)
        return 1
    print(
        f"ok: {count} gradients of {len(functions)} function(s) match finite differences",
        file=out,
    )
    return 0


@dataclass
class Row:
    """One row of the check table: an input, the path it came by, and its errors."""

    input: str
    shape: str
    via: str
    scale: float
    abs_err: float
    rel_err: float
    ok: bool


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table under a header."""
    head = ("input", "shape", "via", "max |fd|", "max abs err", "max rel err", "result")
    body = [
        (
            r.input,
            r.shape,
            r.via,
            f"{r.scale:.3g}",
            f"{r.abs_err:.2e}",
            f"{r.rel_err:.2e}",
            "ok" if r.ok else "MISMATCH",
        )
        for r in rows
    ]
    widths = [max(len(str(x[k])) for x in [head] + body) for k in range(len(head))]
    lines = [
        "  " + "  ".join(str(c).ljust(w) for c, w in zip(x, widths)).rstrip()
        for x in [head] + body
    ]
    return "\n".join(lines)


class Projected:
    """``<u, f(x)>``: a tensor-valued ``f`` projected on a seed ``u`` (a scalar to
    difference; its gradient is ``f_backward(u, ...)``)."""

    def __init__(self, f, u):
        self.f = f
        self.u = u

    def __call__(self, *args) -> float:
        return float(np.sum(self.u * np.asarray(self.f(*args), dtype=np.float64)))


def central_differences(phi, args: list, pos: int) -> np.ndarray:
    """The gradient of the scalar ``phi(*args)`` in input ``pos`` by central differences."""
    x0 = np.array(args[pos], dtype=np.float64)
    number = np.ndim(args[pos]) == 0
    g = np.zeros(x0.shape)
    flat, gflat = x0.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        step = FD_STEP * max(1.0, abs(flat[k]))
        values = []
        for sign in (1.0, -1.0):
            x = flat.copy()
            x[k] += sign * step
            moved = list(args)
            moved[pos] = float(x[0]) if number else x.reshape(x0.shape)
            values.append((x[k], float(phi(*moved))))
        (xp, fp), (xm, fm) = values
        gflat[k] = (fp - fm) / (xp - xm)
    return g


def check_function(
    module, fn: Function, point: Point, rng
) -> tuple[list[Row], list[str]]:
    """Rows of the table of one function, and its mismatches (empty when all match)."""
    args = point.args(fn)
    wrt = [k for k, p in enumerate(fn.params) if p.wrt]
    problems: list[str] = []
    rows: list[Row] = []
    if not wrt:
        return rows, problems
    f = getattr(module, fn.name)
    scalar = fn.nodes[fn.output].shape == ()
    try:
        value = np.asarray(f(*args), dtype=np.float64)
    except Exception as exc:  # a broken module: report it, do not crash
        return rows, [f"{fn.name}(...) raised {type(exc).__name__}: {exc}"]
    if scalar:
        u = 1.0
        phi = f
    else:
        u = rng.standard_normal(value.shape)
        phi = Projected(f, u)

    paths = {}
    calls = []
    if scalar:
        calls.append(
            (
                "value_and_grad",
                lambda: getattr(module, fn.name + "_value_and_grad")(*args),
            )
        )
    calls.append(("backward", lambda: backward_path(module, fn, args, u)))
    for via, call in calls:
        try:
            v, grads = call()
        except Exception as exc:
            problems.append(f"{via} raised {type(exc).__name__}: {exc}")
            continue
        if not np.allclose(v, value, rtol=VALUE_RTOL, atol=VALUE_RTOL, equal_nan=True):
            problems.append(
                f"{via}: value {fmt_array(v)} but {fn.name} gives {fmt_array(value)}"
            )
        if len(wrt) == 1:
            grads = (grads,)
        if not isinstance(grads, tuple) or len(grads) != len(wrt):
            problems.append(
                f"{via}: expected {len(wrt)} gradient(s), got {type(grads).__name__}"
            )
            continue
        paths[via] = grads
    try:
        fds = [central_differences(phi, args, pos) for pos in wrt]
    except Exception as exc:  # e.g. a domain error of math.log at a moved point
        return rows, problems + [
            f"finite differences: {fn.name} raised {type(exc).__name__}: {exc}"
        ]
    fscale = abs(float(phi(*args)))
    scale = max([1.0, fscale] + [float(np.max(np.abs(g), initial=0.0)) for g in fds])
    for via, grads in paths.items():
        for pos, fd, g in zip(wrt, fds, grads):
            name = fn.params[pos].name
            g = np.asarray(g, dtype=np.float64)
            shape = format_attr(tuple(fd.shape))
            if g.shape != fd.shape:
                problems.append(
                    f"{name} ({via}): gradient of shape {g.shape}, expected {shape}"
                )
                continue
            err = np.abs(g - fd)
            err = np.where(np.isfinite(err), err, np.inf)
            ok = bool(np.all(err <= FD_RTOL * np.abs(fd) + FD_ATOL * scale))
            abs_err = float(np.max(err, initial=0.0))
            top = max(
                float(np.max(np.abs(g), initial=0.0)),
                float(np.max(np.abs(fd), initial=0.0)),
            )
            rel = 0.0 if abs_err == 0.0 else abs_err / top if top > 0 else np.inf
            rows.append(
                Row(
                    name,
                    shape,
                    via,
                    float(np.max(np.abs(fd), initial=0.0)),
                    abs_err,
                    rel,
                    ok,
                )
            )
            if not ok:
                problems.append(
                    f"gradient of {name} ({via}) differs from finite differences "
                    f"by up to {abs_err:.3g} (relative {rel:.3g})"
                )
    return rows, problems


def backward_path(module, fn: Function, args: list, u):
    """``f_forward`` then ``f_backward`` with upstream gradient ``u``: ``(value, grads)``."""
    value, cache = getattr(module, fn.name + "_forward")(*args)
    return value, getattr(module, fn.name + "_backward")(u, cache)
