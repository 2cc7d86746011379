"""Two bodies for one value: ``guarded(cond, fast, slow)`` is ``fast`` where the scalar
``cond`` holds and ``slow`` otherwise, computing only the one it takes; ``magnitude(x)``
bounds every entry of ``x`` for the conditions such a choice tests.

Only the NumPy target's late rules make them (``rewrite/linear_sums.py``: a reassociated
sum, taken where a bound shows that neither order can overflow, the formula's order
otherwise), after differentiation: they have no adjoint or tangent. The emitter writes
``guarded`` as an ``if``/``else`` whose branches hold the statements only that branch
reads (``backend/branches.py``); its expression spelling (both bodies computed) serves
the evaluator of ``gradc check`` and ``gradc graph``.
"""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import NUMPY, prim


def formula_order(node) -> tuple:
    """The arguments a reader keeping the formula's order follows: a ``guarded`` node's
    ``slow`` value only (the scalar build, ``passes/scalarise.py``), any other's all."""
    return node.args[2:] if node.op == "guarded" else node.args


def common_path(node) -> tuple:
    """The arguments every evaluation reads: a ``guarded`` node's condition and ``fast``
    value (``slow`` is taken only past the bound, or for nan), any other's all."""
    return node.args[:2] if node.op == "guarded" else node.args


def magnitude_emit(node, a, ctx):
    """``_magnitude(x)``: sqrt of the sum of squares, inf where that overflows, nan for nan."""
    ctx.use("_magnitude")
    return P.call("_magnitude", a[0])


def magnitude_batch(b, n, args, bat) -> int:
    """One bound for every member of the batch (the members' entries are all entries of the batched
    array), broadcast along the batch axis."""
    size = b.shape(args[0])[0]
    return b.emit("broadcast_to", b.emit("magnitude", args[0]), shape=(size,))


def guarded_shape(b, args, attrs):
    """The shape and dtype of ``slow`` (``fast`` has the same)."""
    if b.shape(args[1]) != b.shape(args[2]) or b.shape(args[0]) != ():
        raise ValueError("guarded: a scalar condition and two values of one shape")
    return b.shape(args[2]), b[args[2]].dtype


def guarded_batch(b, n, args, bat) -> int:
    """Batched, the formula's order (``slow``): ``fast`` and ``slow`` read the same values,
    so ``slow`` is batched whenever the node is."""
    return args[2]


# magnitude(x) >= max |x|: sqrt(sum(x ** 2)), inf where the squares overflow
prim(
    "magnitude",
    lambda b, args, attrs: ((), "float"),
    spellings={NUMPY: magnitude_emit},
    batch=magnitude_batch,
    fold=abs,  # a constant's: |c|
)
# guarded(cond, fast, slow) = fast if cond else slow, one of them computed
prim(
    "guarded",
    guarded_shape,
    python_scalars=True,
    spellings={NUMPY: lambda n, a, c: P.conditional(a[1], a[0], a[2])},
    batch=guarded_batch,
)
