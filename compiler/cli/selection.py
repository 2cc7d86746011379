"""What ``explain`` and ``graph`` work on: the function chosen with ``--function`` and
its trace at the point given with ``--at`` (the rest drawn with ``--seed``)."""

from __future__ import annotations

import numpy as np

from ..core.ir import Function
from ..pipeline import walk_source
from .errors import InputError
from .files import read_source
from .formatting import parse_assignments, parse_dims
from .points import Point, draw_point, rng_for
from .trace import Trace, trace_at


def select(functions: list[Function], name: str | None, filename: str, *, one: bool):
    """The functions to work on: all, the one named, or (``one``) the only one."""
    names = ", ".join(f.name for f in functions)
    if name is not None:
        chosen = [f for f in functions if f.name == name]
        if not chosen:
            raise InputError(
                f"{filename} has no function {name!r} (functions: {names})"
            )
        return chosen
    if one and len(functions) != 1:
        raise InputError(
            f"{filename} has several functions ({names}): choose one with --function"
        )
    return functions


def load_trace(args) -> tuple[Trace, str]:
    """Parse, lower and differentiate FILE, pick the function, and walk it at the point."""
    text = read_source(args.file)
    functions = walk_source(text, filename=args.file, fuse=not args.no_fuse)
    (fn,) = select(functions, args.function, args.file, one=True)
    at = parse_assignments(args.at, "--at")
    dims = parse_dims(args.dims)
    point = draw_point(fn, rng_for(args.seed, fn), at=at, dims=dims)
    point.notes[:0] = [drawn_note(point, args.seed)] if point.drawn else []
    try:
        with np.errstate(all="ignore"):
            return trace_at(fn, point), text
    except (ArithmeticError, IndexError, ValueError) as exc:
        raise InputError(
            f"{fn.name} cannot be evaluated at this point: {exc}"
        ) from None


def drawn_note(point: Point, seed: int) -> str:
    """The note saying which inputs were drawn, with which seed and sizes."""
    dims = ", ".join(f"{k}={v}" for k, v in point.dims.items())
    return f"drawn at random with --seed {seed}: {', '.join(point.drawn)}" + (
        f" (dims {dims})" if dims else ""
    )
