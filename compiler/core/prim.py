"""The operation record (``Prim``) and the registry that operations register into.

The registry lives here, in the core layer, so the IR can read shape rules without
importing the operations: ``ops/`` fills ``PRIMS`` when it is imported (as JAX's
interpreters own their rule tables and ``lax.py`` fills them). Everything about an
operation is in its one entry (see ``Prim``); adding an operation is one ``prim(...)``
call in one ``ops/`` module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

#: the spelling targets: NumPy arrays, Python floats with ``math`` (the scalar build), and
#: any Array API namespace ``xp`` (``--target array-api``; ``ops/array_api.py``), and the
#: body of the numba target's whole-function kernels (``backend/numba_whole.py``)
NUMPY = "numpy"
MATH = "math"
XP = "array_api"
NUMBA = "numba"


@dataclass(frozen=True)
class Prim:
    """One operation, everything about it.

    - ``infer(b, args, attrs) -> (shape, dtype)``: the shape rule; raises ShapeError.
    - ``spellings``: target (``NUMPY``, ``MATH``) -> ``emit(node, a, ctx) -> Expr``, the
      printed expression from the printed arguments ``a`` (``ctx.dims`` names dimension
      variables; ``ctx.use(helper)`` asks for a module helper). An op without a ``MATH``
      spelling makes its function a NumPy build. Statement ops instead give
      ``stmts(target, node, a, ctx) -> list[str]`` (and ``stmts_into`` to add into an
      existing array).
    - ``spellings[NUMBA]``: the spelling numba compiles in nopython mode (the body of a
      whole-function kernel; an op without one keeps a function out of them): ``as_numpy``
      where it is the NumPy one (a statement op: its statements, ``WholeEmitter``'s), or
      its own (``ops/numba_spelling.py``); ``numba_when(nodes, node) -> bool``: whether
      it covers ``node`` (its attributes, its arguments' shapes; None: every node).
    - ``numba_vector``: the vectorisable float helper the numba target's kernels call for
      an elementwise op (``_vexp``; ``backend/numba_vector_math.py``), None: its ``MATH``
      spelling. ``libm_calls``: the libm calls numba makes per element computing it as
      NumPy spells it (NumPy runs them as SIMD loops): they bound the sizes of the
      kernels that make them (``SIZE_BUDGET``, ``backend/numba_kernels.py``).
      ``numba_work(nodes, node) -> [size, ...]``: where its ``NUMBA`` spelling is a loop
      nest of its own (einsum's), the lengths of its loops; their product bounds the
      whole kernels that run it (``WORK_LIMIT``, ``backend/numba_whole.py``).
    - ``adjoint(b, i, node, g) -> [contribution or None per input]``: builds, with the
      builder ``b``, the gradient each input receives from upstream gradient ``g`` of
      node ``i``. A contribution may keep the node's own (broadcast) shape: the driver
      (``autodiff.differentiate``) sums it down to its input's shape (so rules of
      elementwise ops keep it: their tangents are made from them, see ``tangent``).
    - ``tangent(b, i, node, ts) -> tangent or None``: forward mode (``passes/forward``):
      node ``i``'s tangent from its inputs' tangents ``ts`` (``None`` where an input has
      none), ``None`` for zero; its shape broadcasts to the node's. An elementwise op
      without one uses its adjoint: its Jacobian is diagonal, so the local gradient times
      input k's tangent, ``adjoint(t_k)[k]``, summed over k, is its tangent
      (``sin: g * cos(x)`` gives ``t * cos(x)``).
    - ``batch(b, node, args, bat) -> node``: the node on new arguments ``args``, those
      with ``bat[k]`` carrying an extra leading (batch) axis; its result leads with it too
      (``passes/batching``: ``f_hessian`` pushes n tangents at once). An elementwise op
      without one aligns its batched arguments to its rank (``ops.common.aligned``).
    - ``fold``: exact constant folding for arithmetic.
    - ``sym``: the SymPy function of the op (fusion, local gradients, oracles); opaque
      classes for the stable ones (``sigmoid``, ``softplus``, ``log1p``); ``sym_read``:
      the SymPy classes read back as this op; ``fusible``: whether it goes into fused
      elementwise regions (SymPy derives its gradient there).
    - ``names``: its surface names in formulas; ``form``: how the frontend parses a call
      of them (``"unary"``, ``"reduction"``, ``"binary"``, ...).
    - ``raises_on_floats``: whether its ``MATH`` spelling can raise (division, ``exp``
      overflow, ``log`` of 0, ...): the scalar build then keeps a NumPy fallback.
      ``needs_nonempty``: a reduction that needs a non-empty reduced axis.
    - ``python_scalars``: whether its NumPy spelling gives the same value when a scalar
      argument is a Python float (or bool) as when it is a NumPy scalar: operators that
      never raise on floats (``/`` and ``**`` do), comparisons, ``&``, ``|`` (not ``~``:
      -2 on a Python bool), ``np.where``, one NumPy function of the scalar
      (``backend/python_floats.py`` keeps a parameter a Python float through them).
    - ``constant_operands``: where its result is an array, a float constant among its
      printed arguments may be a module-level 0-d array (``_one - p``, ``x > _zero``;
      NumPy target, ``ops.spelling.array_constants``): ``+ - * /``, ``maximum``,
      ``minimum``, ``where`` and comparisons give the same array either way.
    - ``domain(node, consts) -> (argument, lower bound) | None`` and
      ``kinks(node, key, v, consts) -> distance | None``: where test points may not go.
      ``invertible``: its first argument is a square matrix (or a stack) that must be
      invertible, and positive definite as cholesky reads it: ``gradc check`` draws an
      input there diagonally dominant.
    - ``glyph``: the symbol in the op's circle in ``gradc graph`` (default: its name).
    - ``leaf``: a value with no arguments that the code names inline (a parameter, a
      constant, a dimension, ``arange``). ``view``: its NumPy spelling may return a view
      of its first argument (results must own their memory). ``zero_d``: its NumPy
      spelling of scalars gives a 0-d array, not a float (or a function of the graph's
      nodes and the node that says whether it does). ``keeps_ints``: its NumPy spelling
      of ints (dimensions) is an int (``n * m``; ``np.square(n)`` an int64), whose power
      is taken of a float (``ops.common.int_valued``). ``numpy_of_numbers``: its NumPy
      spelling of Python numbers is a NumPy value (``np.power``; a division by what may
      be 0), or a function of the printing context and the node that says whether it is
      (``ops.common.python_number``; a call of an ``np.`` function is one too).

    Conventions at kinks are the minimum-norm subgradient (README.md, "Conventions").
    """

    name: str
    infer: Callable
    spellings: Mapping[str, Callable] = field(default_factory=dict)
    adjoint: Callable | None = None
    tangent: Callable | None = None
    batch: Callable | None = None
    stmts: Callable | None = None
    stmts_into: Callable | None = None
    fold: Callable | None = None
    sym: Callable | None = None
    sym_read: tuple = ()
    fusible: bool = False
    elementwise: bool = False
    names: tuple[str, ...] = ()
    form: str | None = None
    raises_on_floats: bool = True
    python_scalars: bool = False
    constant_operands: bool = False
    needs_nonempty: bool = False
    domain: Callable | None = None
    kinks: Callable | None = None
    invertible: bool = False
    glyph: str | None = None
    leaf: bool = False
    view: bool = False
    zero_d: bool | Callable = False
    keeps_ints: bool = False
    numpy_of_numbers: bool | Callable = False
    numba_when: Callable | None = None
    numba_vector: str | None = None
    libm_calls: int = 0
    numba_work: Callable | None = None

    @property
    def emit(self) -> Callable | None:
        """The NumPy spelling (``spellings[NUMPY]``)."""
        return self.spellings.get(NUMPY)


PRIMS: dict[str, Prim] = {}


def as_numpy(node, a, ctx):
    """The ``NUMBA`` spelling of an op whose NumPy spelling numba compiles as it is."""
    return PRIMS[node.op].spellings[NUMPY](node, a, ctx)


def prim(name: str, infer, **kw) -> Prim:
    """Register the operation ``name`` (the fields of ``Prim`` as keywords)."""
    PRIMS[name] = Prim(name, infer, **kw)
    return PRIMS[name]


def target_of(ctx) -> str:
    """The spelling target a printing context asks for (``ctx.math``: ``MATH``; ``ctx.xp``:
    ``XP``)."""
    if getattr(ctx, "math", False):
        return MATH
    return XP if getattr(ctx, "xp", False) else NUMPY


def spell(node, a, ctx):
    """The printed expression of ``node`` with arguments ``a``, NumPy, scalar (``ctx.math``)
    or Array API (``ctx.xp``).

    The caller has checked ``spellable`` for the scalar build and the Array API target."""
    return PRIMS[node.op].spellings[target_of(ctx)](node, a, ctx)


def ops_in(node) -> list[str]:
    """The operations ``node`` runs: its own, or for a fused node those of its body."""
    if node.op == "fused":
        return [op for op, _, _ in node.attr("body") if op != "input"]
    return [node.op]


def spellable(nodes: Iterable, target: str) -> bool:
    """Whether every node of ``nodes`` (fused bodies included) has a spelling for ``target``."""
    return all(target in PRIMS[op].spellings for node in nodes for op in ops_in(node))


def may_raise_on_floats(node) -> bool:
    """Whether ``node``'s spelling on Python floats can raise (a fused node: its body)."""
    return any(PRIMS[op].raises_on_floats for op in ops_in(node))


def surface_names(form: str) -> list[str]:
    """The formula names of the operations called in ``form`` (``"unary"``, ...)."""
    return [n for p in PRIMS.values() if p.form == form for n in p.names]
