"""Batching: a graph run on a stack of inputs at once, a leading axis for the stack.

The nodes that depend on a batched input get the batch axis in front, by each op's
batching rule (the ``batch`` field of its record; elementwise ops align their batched
arguments and broadcast); the others stay as they are, computed once for the whole
stack. ``hessian`` uses it to push n tangents through ``f_hvp``'s graph in one pass, the
identity matrix as the stack of unit vectors: the Hessian's rows, never n calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..core.ir import Builder, Function, reachable
from ..core.prim import PRIMS
from ..ops.common import elementwise_batch
from ..rewrite import make_rewriter


class BatchingError(NotImplementedError):
    """An operation ``f_hessian``'s batched pass cannot batch; ``loc`` is its line."""

    def __init__(self, message: str, loc):
        super().__init__(message)
        self.loc = loc


#: batching rules that this pass supplies itself (loops, whose bodies are batched by
#: ``push`` in turn: ``passes/loop_batching.py``): ``rule(b, node, args, bat)`` returns
#: the new node and whether it has the batch axis (a carried value no tangent reaches
#: stays unbatched, read off the new loop)
RULES: dict[str, Callable] = {}


def batched_node(
    b: Builder, node, args: list[int], bat: list[bool]
) -> tuple[int, bool]:
    """``node`` on ``args`` (``bat[k]``: argument k has the batch axis in front), and
    whether the result has it."""
    if node.op in RULES:
        return RULES[node.op](b, node, args, bat)
    prim = PRIMS[node.op]
    if prim.batch is not None:
        return prim.batch(b, node, args, bat), True
    if prim.elementwise:
        return elementwise_batch(b, node, args, bat), True
    raise NotImplementedError(f"operation {node.op!r} has no batching rule")


def push(
    b: Builder,
    roots: list[int],
    stacks: dict[int, int],
    batched: set[int] | None = None,
) -> tuple[dict[int, int], set[int]]:
    """The nodes those ``roots`` depend on made again where an argument changed, from
    ``stacks`` (node -> its new node; those in ``batched``, all of them when it is None,
    are stacks, batch axis first): old -> new node, and the old nodes whose new one is
    batched. A node none of whose arguments is batched is only rebuilt on them."""
    out = dict(stacks)
    bat = set(stacks) if batched is None else set(batched)
    for i in sorted(reachable(b.nodes, roots)):
        node = b[i]
        if i in out or not any(a in out for a in node.args):
            continue
        args = [out.get(a, a) for a in node.args]
        flags = [a in bat for a in node.args]
        try:
            with b.at(node.loc):
                if any(flags):
                    out[i], batch = batched_node(b, node, args, flags)
                else:
                    out[i], batch = b.emit(node.op, *args, **dict(node.attrs)), False
        except BatchingError:  # in a loop's body: its own line
            raise
        except NotImplementedError as exc:
            raise BatchingError(str(exc), node.loc) from None
        if batch:
            bat.add(i)
        if node.name:
            b.name(out[i], node.name)
    return out, bat


def hessian(fn: Function) -> Function:
    """``f_hessian``'s graph from ``f_hvp``'s (``forward.hvp``) when exactly one input
    ``x`` of shape ``(n,)`` is differentiated: its vector replaced by the identity
    ``eye(n)``, whose rows are pushed together; the result, the tangents of the gradient
    stacked, is the Hessian (n, n), row k the Hessian times unit vector k."""
    (p,) = fn.wrt
    vector = fn.params[len(fn.params) - 1]
    b = Builder(fn.nodes, rewrite=make_rewriter(fuse=False))
    (n,) = fn.nodes[p.node].shape
    with b.at(fn.loc):  # the unit tangents: cited as the function's own line
        eye = b.emit("eye", n=n)
    b.name(eye, vector.name)  # v_x = np.eye(n): the unit vectors, one per row
    result = fn.grads[p.name]
    new, bat = push(b, [result], {vector.node: eye})
    h = new.get(result) if result in bat else None
    if h is None:  # a gradient that does not depend on the vector: a zero Hessian
        h = b.emit("zeros", shape=(n, n))
    b.name(h, "hessian")
    return dataclasses.replace(
        fn,
        nodes=b.nodes,
        params=fn.params[: len(fn.params) - 1],
        grads={p.name: h},
        rewrites=fn.rewrites + b.fired,
    )
