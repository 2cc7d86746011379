"""Forward mode: push tangents through the graph, one node at a time, in order.

Each node's tangent comes from its inputs' tangents by the node's tangent rule (the
``tangent`` field of its record; an elementwise op's comes from its adjoint rule, whose
local gradients are the tangent's too). A node none of whose inputs has a tangent has
none: activity analysis for free. The tangents live in the same IR as the values.

- ``jvp(fn)``: ``f_jvp``'s graph, the value and its tangent along one tangent per
  differentiated input (parameters ``t_<name>``).
- ``hvp(fn)``: ``f_hvp``'s graph, forward over reverse: the differentiated graph with its
  seed set to 1, and tangents pushed through its forward and backward parts; the tangent
  of each gradient is the Hessian times the vectors (parameters ``v_<name>``). The
  tangents share every value and gradient the graph already computes.

Both return graphs that carry their results in ``grads`` (result name -> node).
"""

from __future__ import annotations

import dataclasses

from ..core.ir import Builder, Function, Param, reachable, rebuild
from ..core.prim import PRIMS
from ..ops.common import zeros_of
from ..rewrite import make_rewriter


class MissingRule(NotImplementedError):
    """An operation on the path from an input to a result has no tangent rule."""


#: tangent rules kept outside the op records (a loop's: ``passes/loop_forward.py``)
TANGENTS: dict = {}


def tangent_of(b: Builder, i: int, node, ts: list) -> int | None:
    """Node ``i``'s tangent from its inputs' tangents ``ts`` (None: zero)."""
    if node.op in TANGENTS:
        return TANGENTS[node.op](b, i, node, ts)
    prim = PRIMS[node.op]
    if prim.tangent is not None:
        return prim.tangent(b, i, node, ts)
    if prim.elementwise and prim.adjoint is not None:
        total = None
        for k, t in enumerate(ts):
            c = None if t is None else prim.adjoint(b, i, node, t)[k]
            if c is not None:
                total = c if total is None else b.add(total, c)
        return total
    if prim.elementwise:  # no adjoint: no derivative flows (sign)
        return None
    raise MissingRule(f"operation {node.op!r} has no tangent rule")


def push(b: Builder, roots: list[int], seeds: dict[int, int]) -> dict[int, int]:
    """The tangents of the nodes ``roots`` depend on, from the ``seeds`` (input node ->
    its tangent's node); each has its node's shape and is named ``t_<name>``."""
    tangent = dict(seeds)
    for i in sorted(reachable(b.nodes, roots)):
        node = b[i]
        if node.dtype not in ("float", "loop") or i in tangent or not node.args:
            continue
        ts = [tangent.get(a) for a in node.args]
        if all(t is None for t in ts):
            continue
        with b.at(node.loc):
            t = tangent_of(b, i, node, ts)
            if t is not None and node.dtype == "float" and b.shape(t) != node.shape:
                t = b.emit("broadcast_to", t, shape=node.shape)
        if t is None:
            continue
        if node.name:
            b.name(t, "t_" + node.name)
        tangent[i] = t
    return tangent


def fresh_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``, ... if it is taken; recorded in ``taken``."""
    new, k = name, 1
    while new in taken:
        k += 1
        new = f"{name}_{k}"
    taken.add(new)
    return new


def tangent_params(
    b: Builder, fn: Function, prefix: str
) -> tuple[list[Param], dict[int, int]]:
    """``fn``'s parameters followed by one tangent parameter per differentiated input
    (``<prefix><name>``, its shape and annotation), and the seeds that bind them."""
    taken = {p.name for p in fn.params}
    params, seeds = list(fn.params), {}
    for p in fn.wrt:
        node = fn.nodes[p.node]
        name = fresh_name(prefix + p.name, taken)
        with b.at(node.loc):
            t = b.emit("param", name=name, shape=node.shape, dtype="float")
        params.append(Param(name, t, p.annotation, False))
        seeds[p.node] = t
    return params, seeds


def derived(fn: Function, b: Builder, params: list[Param], results: dict) -> Function:
    """A graph made from ``fn`` with builder ``b``: its parameters and named results."""
    return dataclasses.replace(
        fn,
        nodes=b.nodes,
        params=params,
        grads=results,
        seed=None,
        rewrites=fn.rewrites + b.fired,
        notes={**fn.notes, **b.notes},
        adjoints={},
        sent={},
        value_and_grad=None,
    )


def jvp(fn: Function) -> Function:
    """``f_jvp``'s graph of ``fn`` (not yet differentiated): parameters ``fn``'s and then
    ``t_<name>`` per differentiated input; results the value and its tangent."""
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    params, seeds = tangent_params(b, fn, "t_")
    tangent = push(b, [fn.output], seeds)
    out = tangent.get(fn.output)
    out = zeros_of(b, fn.output) if out is None else out
    name = fn.nodes[fn.output].name or "out"
    return derived(fn, b, params, {"value": fn.output, "t_" + name: out})


def hvp(fn: Function) -> Function:
    """``f_hvp``'s graph of the differentiated ``fn`` (``autodiff.differentiate``, scalar
    output): its seed set to 1, parameters ``fn``'s and ``v_<name>`` per differentiated
    input; results the Hessian times the vectors, one per differentiated input."""
    b = Builder(rewrite=make_rewriter(fuse=False))
    one = rebuild(fn, b, lambda i, node, remap: b.const(1.0) if i == fn.seed else None)
    params, seeds = tangent_params(b, one, "v_")
    grads = list(one.grads.values())
    tangent = push(b, grads, seeds)
    results = {}
    for p in one.wrt:
        g = one.grads[p.name]
        results[p.name] = tangent[g] if g in tangent else zeros_of(b, p.node)
    return derived(one, b, params, results)
