"""The statements of one emitted function body: which nodes get their own statement, which
are inlined into their single use, and the in-place accumulation of adjoints."""

from __future__ import annotations

import dataclasses

from ..core import printer as P
from ..core.ir import Function
from ..core.prim import PRIMS, spell
from ..ops.array_api import XP_STMTS
from ..ops.spelling import array_constants
from ..symbolic.fused import BodySpeller, marked
from .accumulation import accumulate, accumulations, negated_part, use_counts
from .context import Ctx
from .layout import LINE_LIMIT, Block
from .memory import fresh_array, in_place_lines, in_place_path, node_body, view_of
from .naming import Namer, attribute_view, autodiff_name

INLINE_LIMIT = 60

#: the operations besides the elementwise ones whose result is always a new array that a
#: later statement may overwrite (``Emitter.reusable``)
NEW_ARRAY_OPS = ("matmul",)

#: printers of nodes that are whole blocks of statements (loops), ``(emitter, i)``;
#: filled by ``backend/loops.py``
STATEMENT_NODES: dict = {}

#: for nodes that emit some nodes before them inside their own statement (``guarded``'s
#: branches), ``(emitter, i) -> those nodes``; filled by ``backend/branches.py``
BRANCH_NODES: dict = {}


def cite(node) -> str:
    """The comment over a node's block: its formula line, cut to 100 characters."""
    if node.loc is None:
        return "(generated)"
    text = "".join(c if c.isprintable() else " " for c in node.loc.text)
    if len(text) > 100:
        text = text[:97] + "..."
    return f"line {node.loc.line}: {text}"


def statements(op: str, ctx: Ctx):
    """The statement printers ``(stmts, stmts_into)`` of ``op`` for the context's target
    (the Array API target's own, ``ops.array_api.XP_STMTS``, where it has them)."""
    if ctx.xp and op in XP_STMTS:
        return XP_STMTS[op]
    return PRIMS[op].stmts, PRIMS[op].stmts_into


class Emitter:
    """Emits the statements computing the nodes ``todo`` (in index order) of ``fn`` given
    the ``bound`` values, naming with ``namer`` and spelling through ``ctx``.

    A node gets its own statement when it has a formula name, is used more than once, is
    in ``keep`` (returned or cached), or its inlined text grows too long; otherwise it is
    inlined into its single use. With ``from_cache``, a value neither bound nor computed
    here is a forward value read from the cache: it is named on first use and recorded in
    ``cached``.

    With ``reuse`` (the NumPy target and the numba target's NumPy statements; not the
    loop bodies, nor the bodies numba compiles: ``in_place``), an elementwise node computed
    from a temporary that nothing reads afterwards writes into it, as hand-written NumPy
    does (``t *= r``, ``np.exp(t, out=t)``): see ``reusable``.
    """

    in_place = True  # whether ``reuse`` may write into temporaries (``out=``, ``*=``)

    def __init__(
        self,
        fn: Function,
        todo: list[int],
        bound: dict[int, P.Expr],
        keep: set[int],
        namer: Namer,
        ctx: Ctx,
        adjoints: set[int],
        from_cache: bool = False,
        value_nodes: set[int] = frozenset(),
        reuse: bool = True,
    ):
        self.fn, self.nodes, self.todo = fn, fn.nodes, todo
        self.computes = set(todo)
        self.serves: dict[int, int] = {}  # an argument written in place -> its reader
        self.bound, self.namer, self.ctx, self.adjoints = bound, namer, ctx, adjoints
        self.uses = use_counts(fn.nodes, todo, keep)
        self.keep = keep
        self.from_cache = from_cache
        self.cached: dict[int, P.Expr] = {}
        self.scattered: dict[int, int] = {}  # set by ``run``: see ``accumulations``
        self.firsts: set[int] = set()  # set by ``run``: first parts of in-place sums
        self.deferred: set[int] = set()  # set by ``run``: nodes a branch emits
        self.exprs: dict[int, P.Expr] = dict(bound)
        self.named: set[int] = set(bound)
        self.blocks: list[Block] = []
        self.noted: set[int] = set()  # nodes whose note is printed
        self.value_nodes = value_nodes  # what the value needs: notes go elsewhere
        target = ctx.target
        self.reuse = reuse and self.in_place and not (target.floats or target.xp)
        self.new_arrays: set[int] = set()  # values this body wrote as new arrays
        self.speller = BodySpeller(ctx)  # a fused body's entries off the in-place path
        self.readers: dict[
            int, list[int]
        ] = {}  # value -> the nodes of ``todo`` reading it
        for r in todo:
            for a in fn.nodes[r].args:
                self.readers.setdefault(a, []).append(r)

    def name_of(self, i: int) -> str:
        """Node ``i``'s variable (``namer.node``): ``d_`` names for adjoint values only; a
        forward value that is also an adjoint (hash-consed) keeps a forward name. The
        first part of an in-place sum (``d_W = ...; d_W += ...``) takes the name of the
        last sum of its chain, given when it is written (so after the values it is the
        adjoint of: ``d_scores_2`` follows ``scores_2``)."""
        chain = [i]
        while chain[-1] in self.sum_of and chain[-1] not in self.namer.names:
            chain.append(self.sum_of[chain[-1]])
        name = self.own_name(chain[-1])
        for k in chain:
            self.namer.names[k] = name
        return name

    def own_name(self, i: int) -> str:
        """Node ``i``'s variable by its own node (``name_of`` without the sums)."""
        node, adjoint = self.nodes[i], i in self.adjoints
        if not adjoint and autodiff_name(self.fn, i):
            node = dataclasses.replace(node, name=None)
        of = self.fn.adjoint_of.get(i) if adjoint else None
        return self.namer.node(i, node, adjoint, of)

    def forward_notes(self, i: int) -> list[str]:
        """The notes of the forward values the adjoint ``i`` reads, directly or through
        what it inlines: a local gradient that is also a forward value (with the seed 1,
        ``d/da exp(a)`` is ``exp(a)``) is explained where the backward reads it."""
        out, stack, seen = [], list(self.nodes[i].args), set()
        while stack:
            a = stack.pop()
            if a in seen:
                continue
            seen.add(a)
            noted = a in self.fn.notes and a not in self.noted
            if noted and a in self.value_nodes:
                self.noted.add(a)
                out.append(self.fn.notes[a])
            if a not in self.named:
                stack.extend(self.nodes[a].args)
        return sorted(out)

    def statement(self, i: int, lines: list[str]) -> None:
        """Append ``lines`` computing node ``i`` to the block of its formula line; notes
        (fused local gradients) only over backward statements."""
        comment = cite(self.nodes[i])
        notes = []
        if i not in self.value_nodes:
            notes = self.forward_notes(i)
            # a note goes over the first statement of its node
            k = self.serves.get(i, i)
            if k in self.fn.notes and k not in self.noted:
                self.noted.add(k)
                notes.append(self.fn.notes[k])
        fits = LINE_LIMIT - 6 - self.ctx.indent
        lines = [f"# {note}" for note in notes if len(note) < fits] + lines
        if self.blocks and self.blocks[-1].comment == comment:
            self.blocks[-1].lines.extend(lines)
        else:
            self.blocks.append(Block(comment, list(lines)))

    def render(self, i: int) -> P.Expr:
        """Node ``i`` spelled on the current expressions of its arguments."""
        node = self.nodes[i]
        return self.spell(node, [self.ref(a, i) for a in node.args])

    def spell(self, node, args: list) -> P.Expr:
        """``node`` spelled on ``args`` for the context's target (a subclass may spell
        some operations its own way: the numba target's whole-function kernels), its
        constants meeting an array as 0-d arrays where the target says (``_one - p``)."""
        args = array_constants(node.op, args, node.shape != (), self.ctx)
        return spell(node, args, self.ctx)

    def statements(self, op: str):
        """The statement printers ``(stmts, stmts_into)`` of ``op`` (see ``spell``)."""
        return statements(op, self.ctx)

    def too_long(self, name: str, e: P.Expr) -> bool:
        """Whether ``name = e`` overflows the line."""
        return len(name) + len(e.text) + 7 + self.ctx.indent > LINE_LIMIT

    def split_args(self, i: int, name: str, e: P.Expr) -> P.Expr:
        """Node ``i``'s expression ``e`` once ``name = e`` fits the line, or no argument
        is left inlined: the longest inlined argument given its statement first, then the
        next."""
        nodes, named = self.nodes, self.named
        while self.too_long(name, e):
            inlined = [
                a
                for a in nodes[i].args
                if a not in named and not PRIMS[nodes[a].op].leaf
            ]
            if not inlined:
                break
            longest = max(inlined, key=lambda a: (len(self.exprs[a].text), a))
            self.materialise(longest, self.exprs[longest])
            e = self.render(i)
        return e

    def materialise(self, i: int, e: P.Expr) -> P.Expr:
        """Give node ``i`` its own statement, splitting off inlined arguments while too long."""
        named = self.named
        name = self.name_of(i)
        e = self.split_args(i, name, e)
        if self.too_long(name, e):
            self.ctx.compact = True
            e = self.render(i)
            self.ctx.compact = False
        self.statement(i, [f"{name} = {e.text}"])
        named.add(i)
        if not e.text.isidentifier():
            self.new_arrays.add(i)
        self.exprs[i] = P.name(name)
        return self.exprs[i]

    def ref(self, a: int, user: int | None = None) -> P.Expr:
        """The expression reading node ``a`` in node ``user``: its name, or its inlined
        text (a statement of its own when too long or from another formula line)."""
        nodes = self.nodes
        if a not in self.exprs and self.from_cache:
            self.exprs[a] = self.cached[a] = P.name(self.name_of(a))
            self.named.add(a)
        e = self.exprs[a]
        if a in self.named or PRIMS[nodes[a].op].leaf:
            return e
        # A gradient part stays in the block of the formula line it comes from.
        other_line = (
            user is not None
            and a in self.adjoints
            and nodes[a].loc is not None
            and nodes[user].loc is not None
            and nodes[a].loc.line != nodes[user].loc.line
        )
        if other_line or len(e.text) > INLINE_LIMIT:
            return self.materialise(a, e)
        return e

    def run(self) -> tuple[list[Block], dict[int, P.Expr]]:
        """The blocks and every node's expression."""
        # An accumulated adjoint keeps one name from its first part on: d_W = ...; d_W +=
        # ... and that first part is written where it is computed, under its own line.
        firsts, self.scattered, in_place = accumulations(
            self.nodes, self.todo, self.uses, self.bound
        )
        self.sum_of: dict[int, int] = {}  # first part -> the sum whose name it takes
        for i in in_place:
            self.sum_of.setdefault(self.nodes[i].args[0], i)
        self.firsts = firsts
        for i in self.todo:
            if self.nodes[i].op in BRANCH_NODES:
                self.deferred |= BRANCH_NODES[self.nodes[i].op](self, i)
        for i in self.todo:
            if i not in self.scattered and i not in self.deferred:
                # (a scattered part is written by the sum that consumes it)
                self.node(i, firsts)
        return self.blocks, self.exprs

    def node(self, i: int, firsts: set[int]) -> None:
        """Emit node ``i``: a statement, an accumulation, or an expression to inline."""
        nodes, node = self.nodes, self.nodes[i]
        if node.op in STATEMENT_NODES:  # a loop: its own printer (``backend/loops``)
            STATEMENT_NODES[node.op](self, i)
            return
        if i in self.named:  # a loop's result, named by the loop
            return
        acc = node.op == "add" and node.attr("acc")
        shared = self.uses.get(i, 0) > 1 and not attribute_view(node, self.exprs)
        own = node.name or shared or i in self.keep or i in firsts
        if own and not acc and self.reuse:
            self.reuse_inlined(i)
            if (spot := self.reusable(i)) is not None and self.write_in_place(i, *spot):
                return
        # a gradient part -c joins its sum as ``a - c`` or ``a -= c`` (never ``a + -c``)
        negated = acc and negated_part(node, nodes, self.named, self.uses)
        args = [
            None if a in self.scattered or (negated and k == 1) else self.ref(a, i)
            for k, a in enumerate(node.args)
        ]
        stmts = self.statements(node.op)[0]
        if stmts is not None:
            name = self.name_of(i)
            self.statement(i, stmts(name, node, args, self.ctx))
            self.named.add(i)
            self.exprs[i] = P.name(name)
            return
        if acc:
            # The sum so far gets its own statement under its own line: d_W = ...; d_W += ...
            first = node.args[0]
            if first not in self.named and not PRIMS[nodes[first].op].leaf:
                args[0] = self.materialise(first, self.exprs[first])
            if accumulate(node, self.uses, self.named, self.bound, nodes):
                self.accumulate_into(i, args)
                return
        if negated:
            inner = self.ref(nodes[node.args[1]].args[0], i)
            e = P.binop("-", P.ADD, args[0], inner)
        else:
            e = self.spell(node, args)
        self.exprs[i] = e
        if PRIMS[node.op].leaf:
            return
        if own:
            self.materialise(i, e)

    def reusable(self, i: int) -> tuple[int, list[int]] | None:
        """``(k, path)`` when elementwise node ``i`` can be computed in the memory of its
        argument ``k`` along the entries ``path`` of its body (``memory.in_place_path``):
        that argument is an array this body wrote as new (an elementwise or ``matmul``
        result of its own statement: not an input, a cached value, a view or a loop's
        result), of the node's shape and dtype (a broadcast never grows it), read by
        nothing after it (``read``; a gather still to come is written first: ``hoist``),
        not kept (returned or cached), and a temporary: a
        value named after the formula (``xc``, ``d_xc``) keeps its value to the end. Only
        for a node with a statement of its own (an inlined one stays inline)."""
        nodes, node = self.nodes, self.nodes[i]
        if node.shape == () or not (PRIMS[node.op].elementwise):
            return None
        for k, a in enumerate(node.args):
            arg = nodes[a]
            others = [r for r in self.readers[a] if r != i]
            candidate = (
                a in self.new_arrays
                and not any(r in self.deferred and not self.read(r, i) for r in others)
                and node.args.count(a) == 1
                and all(self.read(r, i) or self.hoistable(r) for r in others)
                and a not in self.keep
                and a not in self.bound
                and not self.own_name_given(a)
                and (PRIMS[arg.op].elementwise or arg.op in NEW_ARRAY_OPS)
                and fresh_array(nodes, a)
                and (arg.shape, arg.dtype) == (node.shape, node.dtype)
            )
            if candidate and (path := in_place_path(node_body(node), k)) is not None:
                for r in others:
                    if not self.read(r, i):
                        self.hoist(r)
                return k, path
        return None

    def reuse_inlined(self, i: int) -> None:
        """Write in place the elementwise arguments of node ``i`` that would be inlined into
        it alone (its own statement comes next: ``reusable``) and can be computed in the
        memory of a dead temporary: ``(t / sigma) ** 2`` as ``t /= sigma; t **= 2``."""
        nodes, node = self.nodes, self.nodes[i]
        for a in node.args:
            arg = nodes[a]
            inlined = a not in self.named and a not in self.bound and not arg.name
            inlined = inlined and self.uses.get(a, 0) == 1 and a in self.computes
            same = (arg.shape, arg.dtype) == (node.shape, node.dtype)
            if inlined and same and PRIMS[arg.op].elementwise and a not in self.keep:
                if (spot := self.reusable(a)) is not None:
                    self.serves[a] = i
                    self.write_in_place(a, *spot)

    def hoistable(self, r: int) -> bool:
        """Whether node ``r``, still to be read, is a gather (``x[np.arange(N), y]``: a new
        array, smaller) whose arguments are all computed: its statement can come first,
        so that a statement before it may write into ``x`` (``np.exp(x, out=x)``)."""
        node, nodes = self.nodes[r], self.nodes
        gather = node.op == "getitem" and view_of(nodes, r) is None
        return (
            gather
            and r not in self.named
            and all(a in self.exprs or PRIMS[nodes[a].op].leaf for a in node.args)
        )

    def hoist(self, r: int) -> None:
        """Give the gather ``r`` (``hoistable``) its statement now."""
        for a in self.nodes[r].args:
            if a not in self.exprs:  # a leaf: a constant, a dimension, ``arange``
                self.exprs[a] = self.spell(self.nodes[a], [])
        self.materialise(r, self.render(r))

    def write_in_place(self, i: int, k: int, path: list[int]) -> bool:
        """Node ``i`` computed in the memory of its argument ``k`` (see ``reusable``): under
        that temporary's name when ``i`` is a temporary of the same formula line
        (``p_t1 *= r``), else under its own (``d_x = np.subtract(p_t1, r, out=p_t1)``).
        False (nothing written) where a line would be too long."""
        nodes, node = self.nodes, self.nodes[i]
        target = self.exprs[node.args[k]].text
        # ``t *= r`` under the temporary's name when it comes from the same formula line
        a, same_line = node.args[k], False
        if node.loc is not None and nodes[a].loc is not None:
            same_line = node.loc.stmt == nodes[a].loc.stmt
        name = target if same_line and not self.own_name_given(i) else self.name_of(i)
        args = marked([self.ref(a, i) for a in node.args], node.args, self.ctx)
        lines = in_place_lines(node_body(node), path, args, target, name, self.speller)
        if any(self.too_long("", P.name(line)) for line in lines):
            return False  # the inline text, as without reuse
        self.statement(i, lines)
        self.namer.names[i] = name
        self.named.add(i)
        self.new_arrays.add(i)
        self.exprs[i] = P.name(name)
        return True

    def read(self, r: int, i: int) -> bool:
        """Whether node ``r``'s reads are over before node ``i``'s statement: ``r`` has a
        statement already, or is inlined into nodes whose reads are over (not into ``i``:
        its operands are read after the first in-place statements)."""
        if r in self.named:
            return True
        if r >= i or self.nodes[r].op in STATEMENT_NODES:
            return False
        users = self.readers.get(r, [])
        return bool(users) and all(self.read(u, i) for u in users)

    def own_name_given(self, i: int) -> bool:
        """Whether node ``i`` is named after the formula or the value it is the adjoint
        of (else it is a temporary of its statement, ``p_t1``)."""
        named = self.nodes[i].name is not None
        adjoint = i in self.adjoints
        if named and not adjoint and autodiff_name(self.fn, i):
            named = False  # a forward value that hash-consing made an adjoint too
        adjoint = adjoint and self.fn.adjoint_of.get(i) is not None
        return named or adjoint or i in self.sum_of

    def accumulate_into(self, i: int, args: list) -> None:
        """The sum node ``i`` as ``d_W += c`` (``-= c``, or a scatter into ``d_W``)."""
        node = self.nodes[i]
        target = self.exprs[node.args[0]].text
        second = self.nodes[node.args[1]]
        if node.args[1] in self.scattered:
            inner = [self.ref(a, i) for a in second.args]
            into = self.statements(second.op)[1]
            self.statement(i, into(target, second, inner, self.ctx))
        elif second.op == "neg" and node.args[1] not in self.named:
            inner = self.exprs.get(second.args[0], args[1])
            self.statement(i, [f"{target} -= {inner.text}"])
        else:
            self.statement(i, [f"{target} += {args[1].text}"])
        self.namer.names[i] = target
        self.named.add(i)
        if node.args[0] in self.new_arrays:  # the same array
            self.new_arrays.add(i)
        self.exprs[i] = P.name(target)


def emit_body(
    fn: Function,
    todo: list[int],
    bound: dict[int, P.Expr],
    keep: set[int],
    namer: Namer,
    ctx: Ctx,
    adjoints: set[int],
    value_nodes: set[int] = frozenset(),
    emitter: type[Emitter] = Emitter,
) -> tuple[list[Block], dict[int, P.Expr]]:
    """Statements computing ``todo`` given the ``bound`` values (see ``Emitter``; the
    numba target's ``KernelEmitter``); no notes over the ``value_nodes`` (the local
    gradients explain backward statements)."""
    return emitter(
        fn, todo, bound, keep, namer, ctx, adjoints, value_nodes=value_nodes
    ).run()
