"""The shape checks of the array parameters of an emitted function: each converted with
``_array`` (or ``_index``), its dimension variables bound the first time they are seen,
its other sizes compared with the ones bound before."""

from __future__ import annotations

from ..core import printer as P
from ..core.ir import Function
from .layout import call_lines


class ShapeChecks:
    """The checks of the array parameters of ``fn``, in order, binding the dimension
    variables ``dims`` the first time each is seen (those the code ``used`` reads, or that
    a later parameter's shape repeats)."""

    def __init__(
        self, fn: Function, dims: dict[str, str], used: set[str], xp: bool = False
    ):
        self.fn, self.dims, self.used = fn, dims, used
        self.xp = xp  # Array API checks: ``_array(xp, ...)``
        self.seen: dict[str, int] = {}  # how many parameter sizes each dimension is in
        for p in fn.params:
            for d in fn.nodes[p.node].shape:
                for s in [] if isinstance(d, int) else d.free_symbols:
                    self.seen[str(s)] = self.seen.get(str(s), 0) + 1
        self.bound: set[str] = set()
        # shape checks waiting for the dimensions they are written with
        self.deferred: list[tuple[set, list[str]]] = []

    def conversion(self, p, v: str) -> list[str]:
        """The conversion of the array (or ``Index``) parameter ``p``, bound to ``v``:
        ``_array`` (``_index``) with its rank and its shape as the formula writes it."""
        node = self.fn.nodes[p.node]
        check = "_index" if node.dtype == "int" else "_array"
        text = f'"{P.shape(node.shape, {})}"'  # sizes as Python writes them: (d, 4 * h)
        args = [v, f'"{self.fn.name}"', f'"{p.name}"', str(len(node.shape)), text]
        return call_lines("", f"{v} = {check}", ["xp"] * self.xp + args)

    def array_input(self, p, v: str, convert: bool = True) -> list[str]:
        """The conversion of the array (or ``Index``) parameter ``p``, bound to ``v`` (not
        with ``convert`` False: the caller converts it), then its dimensions bound and
        its shape checked (deferred while an expression in it has names that a later
        parameter has alone)."""
        fn, dims, bound = self.fn, self.dims, self.bound
        shape = fn.nodes[p.node].shape
        text = f'"{P.shape(shape, {})}"'
        lines = self.conversion(p, v) if convert else []
        keys = [
            d.name if not isinstance(d, int) and d.is_Symbol else None for d in shape
        ]
        exprs = [d for d in shape if not isinstance(d, int) and not d.is_Symbol]
        new = [k for k in keys if k is not None and k not in bound]
        if len(new) == len(keys) and len(set(new)) == len(new):
            needed = [
                k if dims[k] in self.used or self.seen[k] > 1 else None for k in keys
            ]
            if any(needed):
                targets = [dims[k] if k else "_" for k in needed]
                lines.append(bind_shape(targets, v, self.xp))
                bound |= {k for k in needed if k}
            return lines
        fresh = []  # the axes bound here, which need no comparison
        for k, key in enumerate(keys):
            if key is not None and key not in bound:
                lines.append(f"{dims[key]} = {axis_size(v, k, len(shape), self.xp)}")
                bound.add(key)
                fresh.append(k)
        expected = P.shape(shape, dims)
        check_lines = [
            f"if {shape_test(v, shape, fresh, dims, self.xp)}:",
            *call_lines(
                "    ",
                "raise _shape_error",
                [f'"{fn.name}"', f'"{p.name}"', f"{v}.shape", text, expected],
            ),
        ]
        # an expression of names that a later parameter has alone is checked after it
        names = {str(s) for d in exprs for s in d.free_symbols}
        self.deferred.append((names, check_lines))
        return lines + self.flush()

    def flush(self, everything: bool = False) -> list[str]:
        """The lines of the deferred shape checks whose dimension names are all bound
        (every one with ``everything``), removed from the waiting list, in order."""
        ready = [item for item in self.deferred if everything or item[0] <= self.bound]
        self.deferred = [item for item in self.deferred if item not in ready]
        return [line for _, check_lines in ready for line in check_lines]


def bind_shape(targets: list[str], v: str, xp: bool) -> str:
    """The line binding the dimension variables ``targets`` (``_`` for an axis not read)
    to the sizes of the array ``v``: ``d = len(w)`` for one axis (30 ns less than
    ``(d,) = w.shape``; the Array API's arrays need not have a length), else
    ``n, d = X.shape``."""
    if len(targets) == 1:
        return f"{targets[0]} = {axis_size(v, 0, 1, xp)}"
    return f"{', '.join(targets)} = {v}.shape"


def axis_size(v: str, axis: int, ndim: int, xp: bool) -> str:
    """The size of axis ``axis`` of the array ``v`` of ``ndim`` dimensions: ``len(v)``
    for a NumPy vector, else ``v.shape[axis]``."""
    return f"len({v})" if ndim == 1 and not xp else f"{v}.shape[{axis}]"


def shape_test(v: str, shape: tuple, fresh: list[int], dims: dict, xp: bool) -> str:
    """The test that the array ``v`` does not have ``shape``, its ``fresh`` axes just
    bound: one axis left is compared alone (``X.shape[1] != d``, ``len(y) != n``: 60-100
    ns less than building and comparing the tuples), more as ``X.shape != (n, d, k)``."""
    rest = [k for k in range(len(shape)) if k not in fresh]
    if len(rest) == 1:
        size = P.dim(shape[rest[0]], dims)  # a comparison binds looser than arithmetic
        return f"{axis_size(v, rest[0], len(shape), xp)} != {size}"
    return f"{v}.shape != {P.shape(shape, dims)}"
