"""What the primitives' printers may ask while emitting one function (``Ctx``), and the
index queries it answers from the graph."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.shapes import broadcast
from .targets import NUMPY, Target


@dataclass
class Ctx:
    """What the primitives' printers may ask while emitting one function."""

    nodes: list
    dims: dict[str, str]
    helpers: set[str] = field(default_factory=set)
    target: Target = NUMPY
    compact: bool = False  # a printer may then prefer a helper call to inline code
    # --target numba: the kernels written so far (name -> lines, ``numba_kernels``), and
    # the emitted function they belong to (their names' prefix)
    kernels: dict[str, list[str]] = field(default_factory=dict)
    prefix: str = ""
    nested: int = 0  # statements inside an ``if`` of the numba target: 4 more spaces
    # the float parameters kept as Python floats (``python_floats``); the others np.float64
    python_floats: frozenset[str] = frozenset()
    # ``ops.common.zero_d_array``'s answers for ``nodes`` (node -> may be a 0-d array)
    zero_d: dict[int, bool] = field(default_factory=dict)
    # ``ops.common.python_number``'s answers (node -> may be a Python int or float)
    python: dict[int, bool] = field(default_factory=dict)
    # the dimension expressions the input checks hold at least 1 (``checks.empty_dims``;
    # with ``--no-checks``, the caller)
    nonzero_dims: frozenset = frozenset()

    def for_graph(self, nodes: list) -> Ctx:
        """A context for printing another graph of the same function (``nodes``): its
        dimensions, helpers, target and facts about the inputs, none of its memos."""
        return Ctx(
            nodes,
            self.dims,
            helpers=self.helpers,
            target=self.target,
            python_floats=self.python_floats,
            nonzero_dims=self.nonzero_dims,
        )

    @property
    def math(self) -> bool:
        """Whether ``spell`` uses the Python-float (``math``) spellings of the op records."""
        return self.target.floats

    @property
    def xp(self) -> bool:
        """Whether ``spell`` uses the Array API (``XP``) spellings of the op records."""
        return self.target.xp

    @property
    def array_constants(self) -> bool:
        """Whether ``ops.spelling.array_constants`` writes float constants meeting arrays
        as module-level 0-d arrays (``Target.array_constants``: the NumPy target's)."""
        return self.target.array_constants

    @property
    def indent(self) -> int:
        """Extra indentation of the statements (4 inside a ``try`` or an ``if``)."""
        return self.target.indent + self.nested

    def use(self, helper: str) -> None:
        """Ask for the module helper (or ``math`` import) ``helper``."""
        self.helpers.add(helper)

    def shape_of(self, i: int) -> tuple:
        """The shape of node ``i``."""
        return self.nodes[i].shape

    def unique_index(self, node) -> bool:
        """Whether a scatter's index can never hit one element twice (else ``np.add.at``).

        Ints, slices (any step) and None never do. Index arrays may repeat, unless every
        axis of the shape they broadcast to is 1 or is covered by an ``arange`` (sliced or
        given new axes: ``arange(n)[:, None]``) whose distinct values run along that axis
        with its full length: positions that differ on any axis then gather different
        elements (``arange(1)`` broadcast against ``y`` covers nothing; ``X[arange(n)[:,
        None], j]`` leaves ``j``'s axis uncovered).
        """
        arrays = [node.args[e[1]] for e in node.attr("index") if e[0] == "a"]
        if not arrays:
            return True
        full = broadcast(*(self.nodes[a].shape for a in arrays))
        covered = set()
        for a in arrays:
            shape, axis = self.nodes[a].shape, distinct_axis(self.nodes, a)
            if axis is not None and shape[axis] == full[len(full) - len(shape) + axis]:
                covered.add(len(full) - len(shape) + axis)
        return all(k in covered or d == 1 for k, d in enumerate(full))


def distinct_axis(nodes, i: int) -> int | None:
    """The axis along which the integer array ``i`` holds distinct values, every other axis
    having length 1: 0 for ``arange(n)``, followed through slices, ints and None
    (``arange(n)[:, None]``: 0; ``arange(n)[None, ::-1]``: 1); None for anything else."""
    node = nodes[i]
    if node.op == "arange":
        return 0
    if node.op != "getitem" or node.dtype != "int":
        return None
    axis = distinct_axis(nodes, node.args[0])
    if axis is None:
        return None
    out = k = 0
    for e in node.attr("index"):
        if e[0] == "n":
            out += 1
            continue
        if k == axis:
            return out if e[0] == "s" else None
        out += e[0] == "s"
        k += 1
    return out + axis - k
