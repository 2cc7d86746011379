"""Which float parameters of a NumPy function stay Python floats (``python_floats``).

The checked NumPy target made every float parameter np.float64 (``_float64``), so that
``1.0 / x`` at 0 or ``x ** 2`` at 1e200 give inf, as on arrays, where Python raises. That
conversion costs about 0.1 us, and each NumPy scalar operation on the parameter about
60 ns more than Python's: a quarter of the overhead of ``ridge`` at 32x8. A Python float
gives the same IEEE numbers through ``+ - *``, ``abs`` and comparisons, and becomes a
NumPy value the moment it meets one. So a parameter stays a Python float when no value
that may still be a Python number because of it reaches an op whose record does not say
it reads one as NumPy reads its scalar (``Prim.python_scalars``).
"""

from __future__ import annotations

from ..core.ir import Function
from ..core.prim import PRIMS, ops_in
from .targets import Target


def kept_floats(fn: Function, target: Target) -> frozenset[str]:
    """The float parameters of ``fn`` that its functions (the backward reading them from
    the cache, ``f_jvp``, ...) all read as Python floats (``python_floats``), on a
    target that keeps them (``Target.python_floats``: NumPy's, checked or not); else
    none."""
    if not target.python_floats:
        return frozenset()
    graphs = [fn, fn.value_and_grad, fn.jvp, fn.hvp, fn.hessian]
    nodes = {p.name: fn.nodes[p.node] for p in fn.params}
    floats = {k for k, n in nodes.items() if n.shape == () and n.dtype == "float"}
    return frozenset(python_floats([g for g in graphs if g is not None], floats))


def python_floats(graphs: list[Function], candidates: set[str]) -> set[str]:
    """The names of ``candidates`` (float parameters) that every graph of ``graphs`` (the
    functions of one family) can read as Python floats; the others stay np.float64. Keeps
    none where a graph has a loop (its body's statements are not graph nodes here)."""
    kept = set(candidates)
    if any(n.op.startswith("loop") for g in graphs for n in g.nodes):
        return set()
    while kept:
        blocked = set().union(*(blocked_by(g, kept) for g in graphs))
        if not blocked:
            break
        kept -= blocked
    return kept


def blocked_by(g: Function, kept: set[str]) -> set[str]:
    """The parameters of ``kept`` that reach, as a Python number, a node of ``g`` whose
    spelling could raise on it or treat it unlike a NumPy scalar (``reads_safely``)."""
    names = {p.node: p.name for p in g.params}
    # node -> the kept parameters it may be a Python number because of (absent: an
    # array or a NumPy scalar); constants, dimensions and the seed are Python numbers too
    sources: dict[int, frozenset[str]] = {}
    blocked: set[str] = set()
    for i, node in enumerate(g.nodes):
        if node.op == "param":
            name = names.get(i)
            if node.attr("seed"):
                sources[i] = frozenset()
            elif node.shape == () and name in kept:
                sources[i] = frozenset({name})
            continue
        if PRIMS[node.op].leaf:
            if node.shape == ():
                sources[i] = frozenset()
            continue
        python = [sources[a] for a in node.args if a in sources]
        if not python:
            continue
        reached = frozenset().union(*python)
        if reached and not reads_safely(node):
            blocked |= reached
        if node.shape == ():
            sources[i] = reached
    return blocked


def reads_safely(node) -> bool:
    """Whether ``node`` computes the same value when an argument is a Python number: an
    op whose record says so (``Prim.python_scalars``; in a fused node, every op of its
    body), or an elementwise op whose result is an array (NumPy does the arithmetic)."""
    if node.op == "fused" or node.shape == ():
        return all(PRIMS[op].python_scalars for op in ops_in(node))
    return PRIMS[node.op].python_scalars or PRIMS[node.op].elementwise
