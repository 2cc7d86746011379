"""Shape algebra over symbolic dimensions (ints, or SymPy expressions of dimension names)."""

from __future__ import annotations

import sympy

from .errors import ShapeError
from .ir import format_shape


def dim_symbol(name: str) -> sympy.Symbol:
    """The SymPy symbol of a named dimension (a positive integer)."""
    return sympy.Symbol(name, integer=True, positive=True)


def canon(d):
    """A dimension in canonical form: a Python int when it is a constant."""
    if isinstance(d, int):
        return d
    d = sympy.expand(d)
    return int(d) if d.is_Integer else d


def broadcast(*shapes: tuple) -> tuple:
    """NumPy's broadcasting of ``shapes``; raises ShapeError naming them if they do not fit."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(ndim):
        dims = [s[len(s) - ndim + k] for s in shapes if len(s) - ndim + k >= 0]
        real = [d for d in dims if d != 1]
        first = real[0] if real else 1
        if any(d != first for d in real):
            shown = " and ".join(format_shape(s) for s in shapes)
            raise ShapeError(f"shapes {shown} do not broadcast")
        out.append(first)
    return tuple(out)


def norm_axis(axis, ndim: int):
    """``axis`` (None, int or tuple) as None or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in items:
        if not -ndim <= a < ndim or (ndim == 0):
            raise ShapeError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def reduce_shape(shape: tuple, axes, keepdims: bool) -> tuple:
    """The shape after reducing ``axes`` (None: all)."""
    axes = tuple(range(len(shape))) if axes is None else axes
    if keepdims:
        return tuple(1 if k in axes else d for k, d in enumerate(shape))
    return tuple(d for k, d in enumerate(shape) if k not in axes)


def size(shape: tuple):
    """The number of elements, as an int or a SymPy expression."""
    total = 1
    for d in shape:
        total = total * d
    return canon(total)


def slice_length(n, start, stop, step):
    """The length of ``range(n)[start:stop:step]`` for an int or symbolic ``n``."""
    if isinstance(n, int) and all(isinstance(v, (int, type(None))) for v in (start, stop)):
        return len(range(n)[slice(start, stop, step)])
    step = 1 if step is None else step
    if step == 1:
        lo = 0 if start is None else (n + start if isinstance(start, int) and start < 0 else start)
        hi = n if stop is None else (n + stop if isinstance(stop, int) and stop < 0 else stop)
        return canon(hi - lo)
    if start is None and stop is None:
        return canon(sympy.ceiling(n / abs(step)))
    raise ShapeError(f"slice with step {step} and bounds on dimension {n} is not supported")
