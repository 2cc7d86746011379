"""What ``explain`` and ``graph`` work on: the function chosen with ``--function``
(``functions.select``) and its trace at the point given with ``--at`` (the rest drawn
with ``--seed``)."""

from __future__ import annotations

import numpy as np

from ..pipeline import walk_source
from .errors import InputError
from .files import read_source
from .formatting import parse_assignments, parse_dims
from .functions import select
from .points import Point, draw_point, rng_for
from .trace import Trace, trace_at


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
