"""Fusion: maximal elementwise subgraphs of one formula statement become one node.

A fused node's body is the subgraph itself (so its forward prints as the formula
reads); its adjoint is derived by SymPy from the body and simplified, preferring
forms that reuse the node's output. Regions stop at statement boundaries (so an
edit to one formula line changes only its own code), at values the formula names,
and at non-smooth or non-elementwise operations, whose conventions live in the
primitive table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..core.ir import Builder, Function, reachable, rebuild, run_body
from ..rewrite import make_rewriter
from ..symbolic.body import FUSIBLE, float64_number, normal
from ..symbolic.collect import collected_body
from ..symbolic.convert import derivable
from .autodiff import active_nodes

MAX_REGION = 12


def consumers(nodes) -> dict[int, list[int]]:
    users: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        for a in node.args:
            users.setdefault(a, []).append(i)
    return users


def fusible(node, nodes, constant: dict[int, bool]) -> bool:
    """Whether ``node`` may join a region: ``pow`` only with a constant exponent, as its
    gradient at ``x = 0`` follows a convention (``ops/arithmetic.py`` ``pow_adj``) SymPy's
    does not; no op of an infinite, NaN or subnormal constant (``body.normal``), nor a
    product or quotient with a constant 0, as SymPy takes its symbols finite (``0 * s``
    and ``s / oo`` are 0, ``s + oo`` is ``oo``) where NumPy's ``0 * nan`` and ``inf /
    inf`` are NaN, and reads a subnormal as its decimal. An op whose operands are all
    ``constant`` (numbers: the folding left it to run time, or it reads a dimension)
    only where they are constants and SymPy's value of it is NumPy's
    (``float64_number``: ``sqrt(2.0)``; not ``log(-1.0)``, nor ``log1p(400 ** -1.5)``,
    which SymPy writes ``log(1.000125)``, nor ``m / m``, which it makes 1): else a region
    reads it as an input, NumPy's value, as the forward does. Nor a scalar divided by a
    number that reads a dimension, which the printer divides as NumPy would."""
    if node.op not in FUSIBLE or node.dtype != "float":
        return False
    if node.op == "pow" and nodes[node.args[1]].op != "const":
        return False
    consts = [nodes[a].attr("value") for a in node.args if nodes[a].op == "const"]
    if not all(normal(c) for c in consts):
        return False
    if node.op in ("mul", "div") and 0.0 in consts:
        return False
    if node.args and all(a in constant for a in node.args):
        return len(consts) == len(node.args) and float64_number(node.op, consts)
    divisor = node.args[1] if node.op == "div" else None
    if constant.get(divisor) and not node.shape:
        return False  # a number divided by a dimension's: ``div_emit``, or a check
    return True


def constants_of(nodes) -> dict[int, bool]:
    """The nodes whose values are numbers the code computes (Python's, where the NumPy
    target runs): constants, dimensions, and ops of them alone (``n - 1``; the nodes are
    in order, each after its operands), each mapped to whether it reads a dimension."""
    constant: dict[int, bool] = {}
    for i, node in enumerate(nodes):
        if node.op in ("const", "dim"):
            constant[i] = node.op == "dim"
        elif node.args and all(a in constant for a in node.args):
            constant[i] = any(constant[a] for a in node.args)
    return constant


def regions(fn: Function) -> dict[int, int]:
    """Map each fusible node to the root of its region (consumers are visited first)."""
    nodes = fn.nodes
    users = consumers(nodes)
    live = reachable(nodes, [fn.output])
    constant = constants_of(nodes)
    root_of: dict[int, int] = {}
    size: dict[int, int] = {}
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if i not in live or not fusible(node, nodes, constant):
            continue
        us = [u for u in users.get(i, []) if u in live]
        roots = sorted({root_of.get(u, -1) for u in us})
        root = roots[0] if len(roots) == 1 else -1
        if (
            root >= 0
            and i != fn.output
            and node.name is None
            and (node.loc == nodes[root].loc or node.op == "neg")
            and size[root] < MAX_REGION
        ):
            root_of[i] = root
            size[root] += 1
        else:
            root_of[i] = i
            size[i] = 1
    return root_of


def body_of(nodes, members: list[int]) -> tuple[tuple, list[int]]:
    """The body of a region (its members in order) and its inputs, constants inlined."""
    inside = set(members)
    inputs: list[int] = []
    local: dict[int, int] = {}
    body: list = []

    def ref(a: int) -> int:
        if a in local:
            return local[a]
        if nodes[a].op == "const":
            body.append(("const", (), nodes[a].attrs))
        else:
            if a not in inputs:
                inputs.append(a)
            body.append(("input", (), (("k", inputs.index(a)),)))
        local[a] = len(body) - 1
        return local[a]

    for m in members:
        args = tuple(local[a] if a in inside else ref(a) for a in nodes[m].args)
        body.append((nodes[m].op, args, nodes[m].attrs))
        local[m] = len(body) - 1
    return tuple(body), inputs


def fuse_regions(fn: Function) -> Function:
    """The function with each elementwise region of two or more operations as one node."""
    nodes = fn.nodes
    root_of = regions(fn)
    members: dict[int, list[int]] = {}
    for i in sorted(root_of):
        members.setdefault(root_of[i], []).append(i)
    active = active_nodes(fn)
    for group in [g for g in members.values() if len(g) > 1]:
        body, inputs = body_of(nodes, group)
        if not derivable(
            body, len(inputs), [k for k, a in enumerate(inputs) if a in active]
        ):
            members.update({i: [i] for i in group})  # SymPy cannot say it: left unfused
            root_of.update({i: i for i in group})
    live = reachable(nodes, [fn.output])
    b = Builder()
    remap: dict[int, int] = {}
    for i, node in enumerate(nodes):
        if i not in live and node.op != "param":
            continue
        root = root_of.get(i)
        if root is not None and root != i and len(members[root]) > 1:
            continue
        b.loc = node.loc
        if root == i and len(members[i]) > 1:
            body, inputs = body_of(nodes, members[i])
            body = collected_body(body, len(inputs)) or body
            new = b.emit(
                "fused", *(remap[a] for a in inputs), body=body, name=f"fused {node.op}"
            )
        else:
            new = b.emit(node.op, *(remap[a] for a in node.args), **dict(node.attrs))
        if node.name:
            b.name(new, node.name)
        remap[i] = new
    params = [dataclasses.replace(p, node=remap[p.node]) for p in fn.params]
    return dataclasses.replace(
        fn, nodes=b.nodes, params=params, output=remap[fn.output]
    )


def expand_fused(fn: Function) -> Function:
    """After differentiation, each fused node's body as plain nodes again.

    The local gradients SymPy derived reuse subexpressions of the body (``tanh(u)`` in
    ``1 - tanh(u)**2``); as plain nodes they are shared with the forward pass by the
    builder's hash-consing, so the backward reads them from the cache instead of
    computing them again (common subexpressions across forward and backward).
    """

    def expand(i, node, remap):
        if node.op != "fused":
            return None
        return run_body(
            node.attr("body"), [remap[a] for a in node.args], BodyBuilder(b)
        )

    b = Builder(rewrite=make_rewriter(fuse=False))
    return rebuild(fn, b, expand)


@dataclass(frozen=True)
class BodyBuilder:
    """``apply`` for ``run_body``: an entry built as a plain node with the builder ``b``."""

    b: Builder

    def __call__(self, op: str, args: list, attrs: tuple) -> int:
        return self.b.emit(op, *args, **dict(attrs))
