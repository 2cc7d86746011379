"""IR -> Python/NumPy module text, laid out by the Jinja2 templates in ``templates/``.

Scheduling: ``f`` and ``f_forward`` compute what the value needs; ``f_backward``
computes the rest of the adjoint graph from the seed and the cache, which holds
exactly the forward values the backward reads. ``f_value_and_grad`` is the same
graph with the seed set to 1 and simplified again.

Naming: formula names are kept, adjoints are ``d_<name>``, temporaries are named
after their statement (``p_t1``), so an edit to one formula line only changes the
code that comes from it. Names are assigned here, in node order, never from sets.
"""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

import sympy

from ..core import printer as P
from ..core.ir import Function, reachable
from ..core.names import (  # noqa: F401
    HELPER_ORDER,
    PYTHON_BUILTINS,
    VERSION,
    fallback_name,
    function_name_problem,
    generated_names,
    reserved_names,
)
from ..core.prim import MATH, PRIMS, may_raise_on_floats, spell, spellable
from ..core.shapes import as_inequality, broadcast, canon, provably_nonnegative
from ..ops.shape_ops import index_requirements
from ..ops.spelling import as_float
from .templating import render

LINE_LIMIT = 88
INLINE_LIMIT = 60
HELPER_NEEDS = {
    "_log_softmax": ("math",),
    "_logsumexp": ("math",),
    "_norm": ("math",),
    "_sigmoid_scalar": ("math",),
    "_sign_scalar": ("math",),
    "_maximum_scalar": ("math",),
    "_minimum_scalar": ("math",),
    "_softplus_scalar": ("math",),
    "_erf": ("math",),
}
LEAVES = ("param", "const", "dim", "arange")
ZERO_D_OPS = ("where", "reshape", "getitem", "expand_dims", "broadcast_to", "transpose")
VIEWS = ("param", "transpose", "reshape", "expand_dims", "broadcast_to", "getitem")


def identifier(text: str) -> str:
    """A valid, NFKC-normalised ASCII-safe Python identifier derived from ``text``."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\W", "_", text)
    if not text or not text.isidentifier() or text[0].isdigit():
        text = "v_" + text
    return text


class Namer:
    """Assigns each node one variable name, deterministically, avoiding ``taken``."""

    def __init__(self, taken: set[str]):
        self.reserved = frozenset(taken)
        self.taken = set(taken)
        self.names: dict[int, str] = {}
        self.counters: dict[str, int] = {}
        self.last: dict[str, int] = {}  # the suffix ``fresh`` last gave each base

    def fresh(self, base: str) -> str:
        """``base`` itself if free, else ``base_2``, ``base_3`` ... (or ``base_`` for reserved).

        The first free suffix never decreases (names are only ever taken), so the search
        starts after the last one given: a name reassigned N times costs O(N), not O(N^2).
        """
        base = identifier(base)
        if base in self.reserved:
            base += "_"
        k = self.last.get(base, 1)
        name = base if k == 1 else f"{base}_{k}"
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        self.last[base] = k
        return name

    def node(self, i: int, node, backward: bool, adjoint_of: int | None = None) -> str:
        """The variable of node ``i``: its formula name, ``d_`` and the name of the value it is
        the adjoint of, or a temporary of its statement (``p_t1``, gradient parts ``p_g1``)."""
        if i not in self.names:
            if adjoint_of in self.names:
                self.names[i] = self.fresh("d_" + self.names[adjoint_of])
            elif node.name:
                self.names[i] = self.fresh(node.name)
            else:
                stmt = node.loc.stmt if node.loc else "out"
                prefix = stmt + ("_g" if backward else "_t")
                k = self.counters.get(prefix, 0) + 1
                self.counters[prefix] = k
                self.names[i] = self.fresh(f"{prefix}{k}")
        return self.names[i]


@dataclass
class Ctx:
    """What the primitives' printers may ask while emitting one function."""

    nodes: list
    dims: dict[str, str]
    helpers: set[str] = field(default_factory=set)
    math: bool = False
    compact: bool = False  # a printer may then prefer a helper call to inline code
    indent: int = 0  # extra indentation of the statements (4 inside a ``try``)

    def use(self, helper: str) -> None:
        self.helpers.add(helper)

    def shape_of(self, i: int) -> tuple:
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


def index_root(nodes, i: int) -> int:
    """The node an integer index array is cut from (``i`` of ``i[:, None]``), else ``i``."""
    while nodes[i].op == "getitem" and nodes[i].dtype == "int":
        i = nodes[i].args[0]
    return i


@dataclass
class Block:
    """Consecutive statements from one formula line, headed by a comment citing it."""

    comment: str
    lines: list[str]


def cite(node, filename: str) -> str:
    if node.loc is None:
        return "(generated)"
    text = "".join(c if c.isprintable() else " " for c in node.loc.text)
    if len(text) > 100:
        text = text[:97] + "..."
    return f"line {node.loc.line}: {text}"


def emit_body(
    fn: Function,
    todo: list[int],
    bound: dict[int, P.Expr],
    keep: set[int],
    namer: Namer,
    ctx: Ctx,
    adjoints: set[int],
    external=None,
) -> tuple[list[Block], dict[int, P.Expr]]:
    """Statements computing ``todo`` (in index order) given the ``bound`` values.

    ``external(i)``, if given, names a value computed elsewhere (the cache) on first use.

    A node gets its own statement when it has a formula name, is used more than once,
    is in ``keep`` (returned or cached), or its inlined text grows too long; otherwise
    it is inlined into its single use. Returns the blocks and every node's expression.
    """
    nodes = fn.nodes
    uses: dict[int, int] = {}
    for i in todo:
        for a in nodes[i].args:
            uses[a] = uses.get(a, 0) + 1
    for i in keep:
        uses[i] = uses.get(i, 0) + 1
    exprs: dict[int, P.Expr] = dict(bound)
    named: set[int] = set(bound)
    blocks: list[Block] = []

    def statement(i: int, lines: list[str]) -> None:
        comment = cite(nodes[i], fn.filename)
        note = fn.notes.get(i)
        if note and len(note) < LINE_LIMIT - 6 - ctx.indent:
            lines = [f"# {note}"] + lines
        if blocks and blocks[-1].comment == comment:
            blocks[-1].lines.extend(lines)
        else:
            blocks.append(Block(comment, list(lines)))

    def render(i: int) -> P.Expr:
        node = nodes[i]
        return spell(node, [ref(a, i) for a in node.args], ctx)

    def materialise(i: int, e: P.Expr) -> P.Expr:
        """Give node ``i`` its own statement, splitting off inlined arguments while too long."""
        name = namer.node(i, nodes[i], i in adjoints, fn.adjoint_of.get(i))
        while len(name) + len(e.text) + 7 + ctx.indent > LINE_LIMIT:
            inlined = [
                a for a in nodes[i].args if a not in named and nodes[a].op not in LEAVES
            ]
            if not inlined:
                break
            longest = max(inlined, key=lambda a: (len(exprs[a].text), a))
            materialise(longest, exprs[longest])
            e = render(i)
        if len(name) + len(e.text) + 7 + ctx.indent > LINE_LIMIT:
            ctx.compact = True
            e = render(i)
            ctx.compact = False
        statement(i, [f"{name} = {e.text}"])
        named.add(i)
        exprs[i] = P.name(name)
        return exprs[i]

    def ref(a: int, user: int | None = None) -> P.Expr:
        if a not in exprs and external is not None:
            exprs[a] = external(a)
            named.add(a)
        e = exprs[a]
        if a in named or nodes[a].op in LEAVES:
            return e
        # A gradient part stays in the block of the formula line it comes from.
        other_line = (
            user is not None
            and a in adjoints
            and nodes[a].loc is not None
            and nodes[user].loc is not None
            and nodes[a].loc.line != nodes[user].loc.line
        )
        if other_line or len(e.text) > INLINE_LIMIT:
            return materialise(a, e)
        return e

    # An accumulated adjoint keeps one name from its first part on: d_W = ...; d_W += ...
    # and that first part is written where it is computed, under its own line.
    acc_firsts: set[int] = set()
    scattered: dict[int, int] = {}
    for i in reversed(todo):
        node = nodes[i]
        first = node.args[0] if node.args else None
        if node.op == "add" and node.attr("acc") and nodes[first].op not in LEAVES:
            acc_firsts.add(first)
            if accumulate(i, node, uses, {first}, bound, nodes):
                namer.names.setdefault(
                    first, namer.node(i, node, True, fn.adjoint_of.get(i))
                )
                second = node.args[1]
                if PRIMS[nodes[second].op].stmts_into and uses.get(second, 0) == 1:
                    scattered[second] = (
                        i  # d_x[1:] += g rather than a zeros array and a sum
                    )

    for i in todo:
        node = nodes[i]
        prim = PRIMS[node.op]
        if i in scattered:
            continue  # written by the accumulation that consumes it
        # a gradient part -c joins its sum as ``a - c`` or ``a -= c`` (never ``a + -c``)
        negated = (
            node.op == "add"
            and node.attr("acc")
            and negated_part(node, nodes, named, uses)
        )
        args = [
            None if a in scattered or (negated and k == 1) else ref(a, i)
            for k, a in enumerate(node.args)
        ]
        if prim.stmts is not None:
            name = namer.node(i, node, i in adjoints, fn.adjoint_of.get(i))
            statement(i, prim.stmts(name, node, args, ctx))
            named.add(i)
            exprs[i] = P.name(name)
            continue
        if node.op == "add" and node.attr("acc"):
            # The sum so far gets its own statement under its own line: d_W = ...; d_W += ...
            first = node.args[0]
            if first not in named and nodes[first].op not in LEAVES:
                args[0] = materialise(first, exprs[first])
        if (
            node.op == "add"
            and node.attr("acc")
            and accumulate(i, node, uses, named, bound, nodes)
        ):
            target = exprs[node.args[0]].text
            second = nodes[node.args[1]]
            if node.args[1] in scattered:
                inner = [ref(a, i) for a in second.args]
                statement(i, PRIMS[second.op].stmts_into(target, second, inner, ctx))
            elif second.op == "neg" and node.args[1] not in named:
                inner = exprs.get(second.args[0], args[1])
                statement(i, [f"{target} -= {inner.text}"])
            else:
                statement(i, [f"{target} += {args[1].text}"])
            namer.names[i] = target
            named.add(i)
            exprs[i] = P.name(target)
            continue
        if negated:
            inner = ref(nodes[node.args[1]].args[0], i)
            e = P.binop("-", P.ADD, args[0], inner)
        else:
            e = spell(node, args, ctx)
        exprs[i] = e
        if node.op in LEAVES:
            continue
        if node.name or uses.get(i, 0) > 1 or i in keep or i in acc_firsts:
            materialise(i, e)
    return blocks, exprs


def negated_part(node, nodes, named, uses) -> bool:
    """Whether the second part of the accumulation ``node`` is ``-c`` used nowhere else."""
    second = node.args[1]
    return (
        nodes[second].op == "neg" and second not in named and uses.get(second, 0) == 1
    )


def accumulate(i, node, uses, named, bound, nodes) -> bool:
    """Whether ``a + c`` may be written ``a += c``: ``a`` is a fresh local used only here."""
    a = node.args[0]
    return (
        a in named
        and a not in bound
        and uses.get(a, 0) == 1
        and nodes[a].shape == node.shape
        and fresh_array(nodes, a)
    )


def fresh_array(nodes, a: int) -> bool:
    """Whether node ``a``'s value is a new array (safe to update in place) or a scalar."""
    node = nodes[a]
    if node.shape != () and einsum_view(node):
        return False
    if node.shape == () or node.op not in VIEWS:
        return True
    # np.full(shape, g) of a scalar g is a new array, unlike np.broadcast_to.
    return node.op == "broadcast_to" and nodes[node.args[0]].shape == ()


def einsum_view(node) -> bool:
    """Whether ``node`` is an ``np.einsum`` of one operand, which NumPy may return as a
    view of it (``einsum("ij->ji", x)`` is ``x.T``)."""
    return node.op == "einsum" and len(node.args) == 1


def view_of(nodes, i: int) -> int | None:
    """The node whose memory the value of node ``i`` may share (a view's base), or None
    when ``i`` computes a new array or scalar (advanced indexing, ``np.full``, ...)."""
    node = nodes[i]
    if einsum_view(node) and node.shape != ():
        return node.args[0]
    if node.op not in VIEWS or node.op == "param" or fresh_array(nodes, i):
        return None
    if node.op == "getitem" and any(e[0] == "a" for e in node.attr("index")):
        return None  # advanced indexing copies
    if nodes[node.args[0]].shape == ():
        return None  # a float has no memory to view: reshaping it makes a new array
    return node.args[0]


def view_root(nodes, i: int) -> tuple[int, bool]:
    """The node whose memory node ``i``'s value is (following views), and whether the
    value is read-only (an ``np.broadcast_to`` of an array on the way)."""
    readonly = False
    while (base := view_of(nodes, i)) is not None:
        readonly = readonly or nodes[i].op == "broadcast_to"
        i = base
    return i, readonly


def owned(
    nodes, results: list[int], exprs: list[P.Expr], inputs: set[int], math: bool = False
) -> list[str]:
    """The return texts of ``results``, each a ``.copy()`` where the value could be an
    input (a ``param``, the seed, or one of ``inputs``) or a view of one, a read-only
    broadcast, or share memory with an earlier result (SPEC §2: results own their
    memory). Scalars are immutable floats (``float(...)`` where NumPy would give a 0-d
    array: ``zero_d_array``); a fresh array is returned as it is."""
    claimed: set[int] = set()
    out = []
    for i, e in zip(results, exprs):
        if not math and zero_d_array(nodes, i):
            e = P.call("float", e)
        root, readonly = view_root(nodes, i)
        shared = nodes[root].op == "param" or root in inputs or root in claimed
        if nodes[i].shape != () and (readonly or shared):
            e = P.method(e, "copy")
        else:
            claimed.add(root)
        out.append(e.text)
    return out


def zero_d_array(nodes, i: int) -> bool:
    """Whether the NumPy spelling of scalar node ``i`` may give a 0-d array rather than a
    float: ``np.where`` or ``np.reshape`` of scalars (``ZERO_D_OPS``, a fused body with a
    ``where``), or arithmetic on such a value (``d_b += ...`` keeps the array)."""
    seen: dict[int, bool] = {}
    for k in sorted(reachable(nodes, [i])):
        node = nodes[k]
        if node.shape != ():
            seen[k] = False  # reductions of arrays give NumPy floats
        elif node.op == "fused" and any(
            op == "where" for op, _, _ in node.attr("body")
        ):
            seen[k] = True
        else:
            seen[k] = node.op in ZERO_D_OPS or any(seen[a] for a in node.args)
    return seen[i]


def dependents(nodes, roots: set[int]) -> set[int]:
    """Nodes computed from any of ``roots`` (the adjoint values, for the seed)."""
    out = set(roots)
    for i, node in enumerate(nodes):
        if any(a in out for a in node.args):
            out.add(i)
    return out


# ---------------------------------------------------------------- prologue


def prologue(
    fn: Function,
    names: dict[str, str],
    dims: dict[str, str],
    used: set[str],
    math: bool = False,
) -> list:
    """Input conversion and shape checks; binds each dimension the first time it is seen.

    A dimension is bound only if the body ``used`` reads it or a later check needs it.
    Last come the sizes the formula's slices need (``slice_checks``), then the checks of
    input values (``value_checks``).
    """
    needs = slice_needs(fn)
    values = value_checks(fn, names, dims)
    used = set(used) | identifiers([], values)
    used |= {dims[str(s)] for e, _ in needs for s in e.free_symbols}
    seen: dict[str, int] = {}
    for p in fn.params:
        for d in fn.nodes[p.node].shape:
            for s in [] if isinstance(d, int) else d.free_symbols:
                seen[str(s)] = seen.get(str(s), 0) + 1
    lines: list[str] = []
    bound: set[str] = set()
    deferred: list[tuple[set, list[str]]] = []
    for p in fn.params:
        lines += flush_checks(deferred, bound)
        node = fn.nodes[p.node]
        v = names[p.name]
        shape = node.shape
        if not shape and node.dtype == "float" and math:
            lines.append(f"if not isinstance({v}, float):")
            lines += call_lines(
                "    ", f"{v} = _scalar", [v, f'"{fn.name}"', f'"{p.name}"']
            )
            continue
        if not shape and node.dtype == "float":  # NumPy code: NumPy's scalar arithmetic
            lines += call_lines(
                "", f"{v} = _float64", [v, f'"{fn.name}"', f'"{p.name}"']
            )
            continue
        check = "_index" if node.dtype == "int" else "_array"
        text = f'"{P.shape(shape, {})}"'  # sizes as Python writes them: (d, 4 * h)
        args = [v, f'"{fn.name}"', f'"{p.name}"', str(len(shape)), text]
        lines += call_lines("", f"{v} = {check}", args)
        keys = [
            d.name if not isinstance(d, int) and d.is_Symbol else None for d in shape
        ]
        exprs = [d for d in shape if not isinstance(d, int) and not d.is_Symbol]
        new = [k for k in keys if k is not None and k not in bound]
        if len(new) == len(keys) and len(set(new)) == len(new):
            needed = [k if dims[k] in used or seen[k] > 1 else None for k in keys]
            if any(needed):
                targets = [dims[k] if k else "_" for k in needed]
                lhs = f"({targets[0]},)" if len(targets) == 1 else ", ".join(targets)
                lines.append(f"{lhs} = {v}.shape")
                bound |= {k for k in needed if k}
            continue
        for k, key in enumerate(keys):
            if key is not None and key not in bound:
                lines.append(f"{dims[key]} = {v}.shape[{k}]")
                bound.add(key)
        expected = P.shape(shape, dims)
        check_lines = [
            f"if {v}.shape != {expected}:",
            *call_lines(
                "    ",
                "raise _shape_error",
                [f'"{fn.name}"', f'"{p.name}"', f"{v}.shape", text, expected],
            ),
        ]
        # an expression of names that a later parameter has alone is checked after it
        deferred.append(({str(s) for d in exprs for s in d.free_symbols}, check_lines))
        lines += flush_checks(deferred, bound)
    lines += flush_checks(deferred, None)
    return lines + slice_checks(fn, names, dims, needs) + values


def flush_checks(
    deferred: list[tuple[set, list[str]]], bound: set[str] | None
) -> list[str]:
    """The lines of the shape checks in ``deferred`` whose dimension names are all
    ``bound`` (every one when ``bound`` is None), removed from ``deferred``, in order."""
    ready = [item for item in deferred if bound is None or item[0] <= bound]
    deferred[:] = [item for item in deferred if item not in ready]
    return [line for _, check_lines in ready for line in check_lines]


def value_checks(
    fn: Function, names: dict[str, str], dims: dict[str, str]
) -> list[str]:
    """Checks of input values that NumPy would report without naming the function and
    parameter (or not at all): an ``Index`` input out of range of the axis it indexes,
    and a dimension of 0 under a ``mean``/``max``/``min`` (``Prim.needs_nonempty``)."""
    lines: list[str] = []
    for p, sizes in index_sizes(fn).items():
        v = names[p.name]
        for n in sizes:
            size = P.dim_expr(n, dims)
            low = P.neg(size).text
            lines.append(
                f"if {v}.size and ({v}.min() < {low} or {v}.max() >= {size.text}):"
            )
            lines += call_lines(
                "    ",
                "raise _index_error",
                [f'"{fn.name}"', f'"{p.name}"', v, size.text],
            )
    for n, p in empty_dims(fn):
        v = names[p.name]
        lines.append(f"if {P.dim_expr(n, dims).text} == 0:")
        lines += call_lines(
            "    ",
            "raise _empty_error",
            [f'"{fn.name}"', f'"{p.name}"', f"{v}.shape", f'"{P.dim(n, {})}"'],
        )
    return lines


def index_sizes(fn: Function) -> dict:
    """For each ``Index`` parameter used as an array index: the sizes of the axes it indexes
    (distinct, in order of use)."""
    params = {p.node: p for p in fn.params if fn.nodes[p.node].dtype == "int"}
    out: dict = {}
    for node in fn.nodes:
        if node.op not in ("getitem", "scatter"):
            continue
        shape = (
            fn.nodes[node.args[0]].shape if node.op == "getitem" else node.attr("shape")
        )
        axis = 0
        for e in node.attr("index"):
            root = index_root(fn.nodes, node.args[e[1]]) if e[0] == "a" else None
            if root in params and axis < len(shape):
                sizes = out.setdefault(params[root], [])
                if shape[axis] not in sizes:
                    sizes.append(shape[axis])
            axis += e[0] != "n"
    return out


def empty_dims(fn: Function) -> list[tuple]:
    """(dimension, a parameter with it in its shape) for each symbolic dimension that a
    reduction that ``needs_nonempty`` reduces over."""
    out: list[tuple] = []
    for node in fn.nodes:
        if not PRIMS[node.op].needs_nonempty:
            continue
        shape = fn.nodes[node.args[0]].shape
        axes = node.attr("axis")
        for n in shape if axes is None else [shape[k] for k in axes]:
            owner = next(
                (
                    p
                    for p in fn.params
                    if any(
                        not isinstance(d, int)
                        and not isinstance(n, int)
                        and n.free_symbols & d.free_symbols
                        for d in fn.nodes[p.node].shape
                    )
                ),
                None,
            )
            if owner is not None and all(n != m for m, _ in out):
                out.append((n, owner))
    return out


def slice_needs(fn: Function) -> list[tuple]:
    """``(expression, getitem node)`` for each size condition (expression ``>= 0``) under
    which the formula's slices have their compile-time lengths (``x[:3]`` of a
    ``Vector[n]``: ``n - 3``), in node order, each once."""
    out, found = [], set()
    for i in sorted(reachable(fn.nodes, [fn.output, *fn.grads.values()])):
        node = fn.nodes[i]
        if node.op != "getitem":
            continue
        src = fn.nodes[node.args[0]].shape
        for e in index_requirements(src, node.attr("index")) + arange_needs(
            fn.nodes, node
        ):
            if e not in found:
                found.add(e)
                out.append((e, node))
    return out


def arange_needs(nodes, node) -> list:
    """The size conditions (expressions ``>= 0``) under which the ``arange(n)`` index
    arrays of the getitem ``node`` (also sliced or given new axes: ``arange(2)[:, None]``)
    stay inside the axes they index: ``P - 2`` for ``x[arange(2)]`` of a ``Vector[P]``."""
    src, out, axis = nodes[node.args[0]].shape, [], 0
    for e in node.attr("index"):
        root = nodes[index_root(nodes, node.args[e[1]])] if e[0] == "a" else None
        if root is not None and root.op == "arange" and axis < len(src):
            need = canon(sympy.Integer(0) + src[axis] - root.attr("n"))
            if not (isinstance(need, int) and need >= 0) and not provably_nonnegative(
                need
            ):
                out.append(need)
        axis += e[0] != "n"
    return out


def slice_checks(
    fn: Function, names: dict[str, str], dims: dict[str, str], needs
) -> list[str]:
    """The input checks of ``needs``: a ValueError naming the function, the parameter whose
    shape is too small, the shape seen and the size the slice needs (``n >= 3``).

    Sizes are checked rather than clamped as NumPy does: a shorter slice would change the
    shapes every later step was compiled for (README.md, "Choices ...")."""
    lines = []
    for e, node in needs:
        lhs, rhs = as_inequality(e)
        p = needing_param(fn, e, node)
        v = names[p.name]
        line = node.loc.line if node.loc else fn.loc.line
        what = "an arange index" if e in arange_needs(fn.nodes, node) else "a slice"
        message = (
            f"{fn.name}: parameter '{p.name}' has shape {{{v}.shape}}, expected "
            f"{P.shape(fn.nodes[p.node].shape, {})} with {P.dim(lhs, {})} >= "
            f"{P.dim(rhs, {})} ({what} on line {line} needs it)"
        )
        lines.append(f"if {P.dim(lhs, dims)} < {P.dim(rhs, dims)}:")
        lines += call_lines("    ", "raise ValueError", [f'f"{message}"'])
    return lines


def needing_param(fn: Function, e, node):
    """The parameter to name when the size condition ``e`` of the slice ``node`` fails: the
    sliced parameter itself if its shape has the sizes of ``e``, else the first that has."""
    names = {str(s) for s in e.free_symbols}

    def has(p) -> bool:
        return any(
            str(s) in names
            for d in fn.nodes[p.node].shape
            if not isinstance(d, int)
            for s in d.free_symbols
        )

    params = [p for p in fn.params if p.node == node.args[0]] + list(fn.params)
    return next(p for p in params if has(p))


def check_seed(fn: Function, seed: str, dims: dict[str, str]) -> list[str]:
    """Checks of the upstream gradient given to ``f_backward``: the value's shape."""
    shape = fn.nodes[fn.output].shape
    where = f'"{fn.name}_backward"'
    if not shape:
        return [
            f"if not isinstance({seed}, float):",
            *call_lines("    ", f"{seed} = _scalar", [seed, where, f'"{seed}"']),
        ]
    text = f'"{P.shape(shape, {})}"'  # sizes as Python writes them: ((n + 1) // 2,)
    expected = P.shape(shape, dims)
    return [
        *call_lines(
            "", f"{seed} = _array", [seed, where, f'"{seed}"', str(len(shape)), text]
        ),
        f"if {seed}.shape != {expected}:",
        *call_lines(
            "    ",
            "raise _shape_error",
            [where, f'"{seed}"', f"{seed}.shape", text, expected],
        ),
    ]


def call_lines(indent: str, head: str, args: list[str]) -> list[str]:
    """``head(args)`` split as ruff formats a call that does not fit on one line.

    The lines go in a function body, so the template's 4 spaces count too.
    """
    limit = LINE_LIMIT - 4
    one = f"{indent}{head}({', '.join(args)})"
    if len(one) <= limit:
        return [one]
    inner = f"{indent}    {', '.join(args)}"
    if len(inner) <= limit:
        return [f"{indent}{head}(", inner, f"{indent})"]
    return [f"{indent}{head}("] + [f"{indent}    {a}," for a in args] + [f"{indent})"]


def tuple_lines(head: str, items: list[str], tail: str) -> list[str]:
    """``head(a, b)tail`` on one line, or exploded one item per line with a trailing comma."""
    one = f"{head}{', '.join(items)}{tail}"
    if len(one) + 4 <= LINE_LIMIT:
        return [one]
    return (
        [head.rstrip("(") + "("]
        + [f"    {a}," for a in items]
        + [")" + tail.lstrip(")")]
    )


# ---------------------------------------------------------------- functions


def docstring(
    fn: Function, kind: str, cache_names: list[str], seed: str = ""
) -> list[str]:
    """The docstring lines of one emitted function."""
    wrt = ", ".join(p.name for p in fn.wrt)
    head = {
        "value": f"Value of ``{fn.name}`` ({fn.filename}:{fn.loc.line}).",
        "forward": f"Value of ``{fn.name}`` and the cache its backward pass reads.",
        "backward": f"Gradients of ``{fn.name}`` with respect to {wrt}.",
        "grad": f"Gradients of ``{fn.name}`` with respect to {wrt}.",
        "value_and_grad": f"Value of ``{fn.name}`` and its gradients with respect to {wrt}.",
    }[kind]
    lines = [head, ""]
    user = [ln.rstrip() for ln in (fn.doc or "").strip().splitlines()]
    if kind == "value" and user:
        lines += user + [""]
    if kind == "value" and fn.source:
        lines += ["Formula:", ""] + ["    " + ln for ln in fn.source] + [""]
    items = [f"{p.name}: {p.annotation}" for p in fn.params]
    lines += wrap_items("Inputs: ", items, f" -> {fn.out_annotation}.")
    if kind == "forward":
        lines += wrap_items("Cache: ", cache_names or ["nothing"], ".")
    if kind == "backward":
        lines.append(
            f"``{seed}`` is the gradient of the value (same shape); ``cache`` comes"
        )
        lines.append(f"from ``{fn.name}_forward``.")
    return [escape_doc(ln) for ln in lines]


def wrap_items(head: str, items: list[str], tail: str, width: int = 76) -> list[str]:
    """``head`` then the comma-separated ``items``, broken between items only."""
    lines, current = [], head
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else tail)
        if len(current) + len(piece) + 1 > width and current.strip() != head.strip():
            lines.append(current.rstrip())
            current = "    "
        current += ("" if current.endswith((" ", "    ")) else " ") + piece
    lines.append(current.rstrip())
    return lines


def escape_doc(line: str) -> str:
    line = "".join(c if c.isprintable() else " " for c in line)
    line = line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if line.endswith('"'):
        line = line[:-1] + '\\"'
    return line.rstrip()


def signature(fname: str, params: list[str], indent: str = "") -> list[str]:
    """A ``def`` line as ruff formats it: one line, or the arguments on the next line(s)."""
    one = f"{indent}def {fname}({', '.join(params)}):"
    if len(one) <= LINE_LIMIT:
        return [one]
    inner = indent + "    " + ", ".join(params)
    if len(inner) <= LINE_LIMIT:
        return [f"{indent}def {fname}(", inner, f"{indent}):"]
    return (
        [f"{indent}def {fname}("]
        + [f"{indent}    {p}," for p in params]
        + [f"{indent}):"]
    )


def lay_out(
    fn_name: str, params: list[str], doc: list[str], body: list, ret: list[str]
) -> dict:
    return {
        "name": fn_name,
        "signature": signature(fn_name, params),
        "doc": doc,
        "body": body,
        "ret": ret,
        "guard": None,
    }


# What ``math`` and float arithmetic raise where NumPy returns inf or nan (with a warning).
MATH_ERRORS = "(ArithmeticError, ValueError)"


def fallback_doc(name: str) -> list[str]:
    """The docstring of a NumPy fallback."""
    public = name[1 : -len("_numpy")]
    return [
        f"``{public}`` in NumPy arithmetic, for the inputs where ``math`` raises.",
        "",
        "The same computation on np.float64 scalars: inf and nan (with NumPy's warning)",
        "where Python raises, as the NumPy build returns; results are floats.",
    ]


def guarded(layout: dict, fallback: str, args: list[str], nodes, computed) -> dict:
    """``layout`` with its statements in a ``try`` that hands the inputs to ``fallback``
    when ``math`` raises; the input checks before them stay outside. A function none of
    whose ``computed`` nodes can raise on floats (``may_raise_on_floats``: no division,
    power, ``exp``, ``log``, ...) needs no ``try``.
    """
    blocks = [item for item in layout["body"] if isinstance(item, dict)]
    if any(may_raise_on_floats(nodes[i]) for i in computed):
        layout["body"] = [item for item in layout["body"] if not isinstance(item, dict)]
        handler = [ln[4:] for ln in call_lines("    ", f"return {fallback}", args)]
        layout["guard"] = {"body": blocks, "errors": MATH_ERRORS, "handler": handler}
    return layout


def to_float64(names: list[str]) -> list[str]:
    """``x = np.float64(x)`` for each of ``names``: NumPy arithmetic from here on."""
    return [f"{v} = np.float64({v})" for v in names]


def all_scalar(fn: Function) -> bool:
    """Whether every value of ``fn`` and its gradients is a scalar (Python-float code)."""
    used = reachable(fn.nodes, [fn.output, *fn.grads.values()])
    return all(fn.nodes[i].shape == () and fn.nodes[i].dtype != "int" for i in used)


def math_build(fn: Function) -> bool:
    """Whether ``fn`` is emitted on Python floats with ``math``: every value a scalar and
    every operation its functions run spelled for ``MATH`` (otherwise NumPy)."""
    graphs = [fn] if fn.value_and_grad is None else [fn, fn.value_and_grad]
    return all_scalar(fn) and all(
        spellable(
            [g.nodes[i] for i in reachable(g.nodes, [g.output, *g.grads.values()])],
            MATH,
        )
        for g in graphs
    )


def function_family(
    fn: Function,
    fn_names: list[str],
    math: bool = False,
    numpy_fallback: bool = False,
) -> tuple[list[dict], set]:
    """The emitted functions of one formula function, as template data.

    With ``math``, the statements of each function run in a ``try`` whose handler calls
    the function's NumPy fallback; ``numpy_fallback`` emits those fallbacks instead
    (``_f_forward_numpy``, ...: the NumPy spelling on np.float64 scalars, floats out).
    """
    namer = Namer(reserved_names(fn_names))
    pnames = {p.name: namer.fresh(p.name) for p in fn.params}
    for p in fn.params:
        namer.names[p.node] = pnames[p.name]
    dims = {d: namer.fresh(d) for d in fn.dims}
    indent = 4 if math else 0
    ctx = Ctx(fn.nodes, dims, math=math, indent=indent)
    params = [pnames[p.name] for p in fn.params]

    seed_name = "d_value"  # placeholder for the dry run; named after the value below
    fwd_set = reachable(fn.nodes, [fn.output])
    grads = [fn.grads[p.name] for p in fn.wrt]
    need_grads = reachable(fn.nodes, grads)
    bwd_set = need_grads - fwd_set - {fn.seed}
    fwd = [
        i for i in range(len(fn.nodes)) if i in fwd_set and fn.nodes[i].op != "param"
    ]

    bwd = [
        i
        for i in range(len(fn.nodes))
        if i in bwd_set
        or (
            i in fwd_set
            and i in need_grads
            and fn.nodes[i].op in ("const", "dim", "arange")
        )
    ]
    adjoints = dependents(fn.nodes, {fn.seed})
    read: dict[int, P.Expr] = {}

    def backward(names: Namer, bctx: Ctx):
        """Emit the backward; forward values it reads are recorded in ``read`` (the cache)."""

        def from_cache(i: int) -> P.Expr:
            read[i] = P.name(names.node(i, fn.nodes[i], False))
            return read[i]

        return emit_body(
            fn,
            bwd,
            {fn.seed: P.name(seed_name)},
            set(grads),
            names,
            bctx,
            adjoints,
            external=from_cache,
        )

    dry = Ctx(fn.nodes, dims, math=math, indent=indent)
    backward(copy.deepcopy(namer), dry)  # a dry run finds what to cache
    cache_nodes = sorted(read)
    # Forward names first, so that the forward's names never depend on the backward.
    fblocks, fexprs = emit_body(
        fn,
        fwd,
        param_exprs(fn, pnames),
        {fn.output} | set(cache_nodes),
        namer,
        ctx,
        adjoints,
    )
    read.clear()
    value_name = fexprs[fn.output].text
    seed_name = namer.fresh("d_" + value_name if value_name.isidentifier() else "d_out")
    namer.names[fn.seed] = seed_name
    bctx = Ctx(fn.nodes, dims, math=math, indent=indent)
    bblocks, bexprs = backward(namer, bctx)
    assert sorted(read) == cache_nodes
    ctx.helpers |= bctx.helpers
    seed_check = check_seed(fn, seed_name, dims)
    if numpy_fallback:
        cached_floats = [
            fexprs[i].text for i in cache_nodes if fn.nodes[i].dtype == "float"
        ]
        seed_check = to_float64([seed_name] + cached_floats)
    bused = identifiers(bblocks, [bexprs[g].text for g in grads] + seed_check)
    cache_dims = [d for d in fn.dims if dims[d] in bused]
    cache_names = [fexprs[i].text for i in cache_nodes] + [dims[d] for d in cache_dims]
    value = fexprs[fn.output].text
    returned = owned(
        fn.nodes,
        [fn.output],
        [fexprs[fn.output]],
        set(),
        math=ctx.math or numpy_fallback,
    )[0]
    if numpy_fallback:
        returned = f"float({returned})"

    def name(kind: str) -> str:
        return fallback_name(fn.name, kind) if numpy_fallback else f"{fn.name}_{kind}"

    def guard(
        layout: dict, kind: str, args: list[str], nodes=fn.nodes, computed=()
    ) -> dict:
        if not math:
            return layout
        return guarded(layout, fallback_name(fn.name, kind), args, nodes, computed)

    out = []
    # ``f`` computes exactly what ``f_forward`` does (the cache only holds references),
    # so it calls it: one copy of the forward code to read and to review.
    call = [f"return {fn.name}_forward({', '.join(params)})[0]"]
    if len(call[0]) + 4 > LINE_LIMIT:
        call = call_lines("", f"_result = {fn.name}_forward", params) + [
            "return _result[0]"
        ]
    if not numpy_fallback:
        out.append(lay_out(fn.name, params, docstring(fn, "value", []), [], call))
    fret = (
        tuple_lines("cache = (", cache_names, ")")
        if len(cache_names) != 1
        else [f"cache = ({cache_names[0]},)"]
    )
    if not cache_names:
        fret = ["cache = ()"]
    fused = identifiers(fblocks, [value] + cache_names)
    checks = (
        to_float64(params)
        if numpy_fallback
        else prologue(fn, pnames, dims, fused, ctx.math)
    )
    out.append(
        guard(
            lay_out(
                name("forward"),
                params,
                docstring(fn, "forward", cache_names),
                checks + body_lines(fblocks),
                fret + [f"return {returned}, cache"],
            ),
            "forward",
            params,
            computed=fwd,
        )
    )
    unpack = []
    if len(cache_names) == 1:
        unpack = [f"({cache_names[0]},) = cache"]
    elif cache_names:
        unpack = tuple_lines("(", cache_names, ") = cache")
        if len(unpack) == 1:
            unpack = [f"{', '.join(cache_names)} = cache"]
    gtexts = owned(
        fn.nodes,
        grads,
        [as_float(bexprs[g]) for g in grads],
        set(cache_nodes),
        math=ctx.math or numpy_fallback,
    )
    if numpy_fallback:
        gtexts = [f"float({t})" for t in gtexts]
    bret = (
        tuple_lines("return (", gtexts, ")")
        if len(gtexts) > 1
        else [f"return {gtexts[0]}"]
    )
    if len(bret) == 1 and len(gtexts) > 1:
        bret = [f"return {', '.join(gtexts)}"]
    out.append(
        guard(
            lay_out(
                name("backward"),
                [seed_name, "cache"],
                docstring(fn, "backward", [], seed_name),
                unpack + seed_check + body_lines(bblocks),
                bret,
            ),
            "backward",
            [seed_name, "cache"],
            computed=bwd,
        )
    )
    if fn.nodes[fn.output].shape == ():
        vg = fn.value_and_grad
        out.append(
            guard(
                value_and_grad(
                    vg, fn, pnames, dims, params, ctx, fn_names, numpy_fallback
                ),
                "value_and_grad",
                params,
                vg.nodes,
                reachable(vg.nodes, [vg.output, *vg.grads.values()]),
            )
        )
    if numpy_fallback:
        for layout in out:
            layout["doc"] = fallback_doc(layout["name"])
        return out, ctx.helpers
    if fn.nodes[fn.output].shape == ():
        call = [f"return {fn.name}_value_and_grad({', '.join(params)})[1]"]
        if len(call[0]) + 4 > LINE_LIMIT:
            call = call_lines("", f"_result = {fn.name}_value_and_grad", params)
            call.append("return _result[1]")
        out.append(
            lay_out(fn.name + "_grad", params, docstring(fn, "grad", []), [], call)
        )
    return out, ctx.helpers


def identifiers(blocks: list[Block], extra: list[str]) -> set[str]:
    """The identifiers some code reads (to know which dimensions it needs)."""
    text = "\n".join(ln for b in blocks for ln in b.lines) + "\n" + "\n".join(extra)
    return set(re.findall(r"[A-Za-z_]\w*", text))


def value_and_grad(
    vg: Function,
    fn: Function,
    pnames,
    dims,
    params,
    ctx,
    fn_names,
    numpy_fallback: bool = False,
) -> dict:
    """``f_value_and_grad``: forward and backward in one body, seed 1 (or its NumPy
    fallback: np.float64 inputs, float results)."""
    namer = Namer(reserved_names(fn_names))
    for p in fn.params:
        namer.names[p.node] = namer.fresh(p.name)
    for d in fn.dims:
        namer.fresh(d)
    grads = [vg.grads[p.name] for p in vg.wrt]
    todo_set = reachable(vg.nodes, [vg.output] + grads)
    todo = [
        i for i in range(len(vg.nodes)) if i in todo_set and vg.nodes[i].op != "param"
    ]
    adjoints = backward_part(vg)
    # the printers read shapes and index kinds off the graph being printed: vg's, not fn's
    vctx = Ctx(
        vg.nodes, ctx.dims, helpers=ctx.helpers, math=ctx.math, indent=ctx.indent
    )
    blocks, exprs = emit_body(
        vg,
        todo,
        param_exprs(vg, pnames),
        {vg.output} | set(grads),
        namer,
        vctx,
        adjoints,
    )
    # the fallback converts every result with float() below
    value, *gtexts = owned(
        vg.nodes,
        [vg.output, *grads],
        [exprs[vg.output]] + [as_float(exprs[g]) for g in grads],
        set(),
        math=vctx.math or numpy_fallback,
    )
    if numpy_fallback:
        value = f"float({value})"
        gtexts = [f"float({t})" for t in gtexts]
    if len(gtexts) == 1:
        ret = [f"return {value}, {gtexts[0]}"]
    else:
        ret = tuple_lines(f"return {value}, (", gtexts, ")")
        if len(ret) > 1:
            ret = tuple_lines("grads = (", gtexts, ")") + [f"return {value}, grads"]
    used = identifiers(blocks, [value] + gtexts)
    if numpy_fallback:
        return lay_out(
            fallback_name(fn.name, "value_and_grad"),
            params,
            [],
            to_float64(params) + body_lines(blocks),
            ret,
        )
    return lay_out(
        fn.name + "_value_and_grad",
        params,
        docstring(fn, "value_and_grad", []),
        prologue(fn, pnames, dims, used, ctx.math) + body_lines(blocks),
        ret,
    )


def backward_part(vg: Function) -> set[int]:
    """With the seed folded to 1: the nodes that only the gradients need (named ``d_...``)."""
    value = reachable(vg.nodes, [vg.output])
    grads = reachable(vg.nodes, list(vg.grads.values()))
    seedless = {i for i in grads - value if vg.nodes[i].op not in LEAVES}
    # Values not computed from any adjoint stay forward-named even when only gradients read them.
    adjoint_roots = {
        i for i in seedless if vg.nodes[i].name and vg.nodes[i].name.startswith("d_")
    }
    return dependents(vg.nodes, adjoint_roots) | adjoint_roots


def grad_tuple(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "(" + ", ".join(items) + ")"


def param_exprs(fn: Function, pnames: dict[str, str]) -> dict[int, P.Expr]:
    return {p.node: P.name(pnames[p.name]) for p in fn.params}


def body_lines(blocks: list[Block]) -> list:
    out: list = []
    for b in blocks:
        out.append({"comment": b.comment, "lines": b.lines})
    return out


def generate(
    functions: list[Function],
    source: str,
    raw: bytes,
    module_doc: str,
) -> str:
    """The whole module text for the compiled ``functions`` of one formula source (bytes ``raw``)."""
    names = [f.name for f in functions]
    digest = hashlib.sha256(raw).hexdigest()
    families, helpers = [], set()
    for fn in functions:
        fam, used = function_family(fn, names, math=math_build(fn))
        checks = "\n".join(ln for f in fam for ln in f["body"] if isinstance(ln, str))
        used |= {
            h for h in ("_index_error", "_empty_error", "_float64") if f"{h}(" in checks
        }
        called = {f["guard"]["handler"][0] for f in fam if f["guard"]}
        if called:  # the NumPy fallbacks that a ``try`` calls (scalar build only)
            extra, needs = function_family(fn, names, numpy_fallback=True)
            fam += [f for f in extra if any(f["name"] + "(" in c for c in called)]
            used |= needs
        families.append({"name": fn.name, "functions": fam})
        helpers |= used
    pending = sorted(helpers)
    while pending:  # needs of needs too: _log_softmax -> _logsumexp -> math
        need = set(HELPER_NEEDS.get(pending.pop(), ())) - helpers
        helpers |= need
        pending += sorted(need)
    exports = []
    for fn in functions:
        exports.append(fn.name)
        exports += [fn.name + "_forward", fn.name + "_backward"]
        if fn.nodes[fn.output].shape == ():
            exports += [fn.name + "_value_and_grad", fn.name + "_grad"]
    return render(
        "module.py.j2",
        version=VERSION,
        source=source,
        digest=digest,
        doc=[escape_doc(ln) for ln in module_doc_lines(module_doc, source)],
        helpers=[h for h in HELPER_ORDER if h in helpers],
        import_math="math" in helpers,
        families=families,
        exports=exports,
    )


def module_doc_lines(doc: str, source: str) -> list[str]:
    lines = [ln.rstrip() for ln in (doc or "").strip().splitlines()]
    head = f"Forward and backward functions generated by gradc from {source}."
    return ([head, ""] + lines) if lines else [head]
