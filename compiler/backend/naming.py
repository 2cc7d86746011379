"""Variable names of the emitted code: formula names are kept, adjoints are ``d_<name>``,
temporaries are named after their statement (``p_t1``), so an edit to one formula line only
changes the code that comes from it. Names are assigned in node order, never from sets."""

from __future__ import annotations

import re
import unicodedata


def identifier(text: str) -> str:
    """A valid, NFKC-normalised ASCII-safe Python identifier derived from ``text``."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\W", "_", text)
    if not text or not text.isidentifier() or text[0].isdigit():
        text = "v_" + text
    return text


def autodiff_name(fn, i: int) -> bool:
    """Whether node ``i`` of ``fn`` carries the name the reverse walk gave an adjoint
    (``d_<x>``) rather than a formula name. Hash-consing can make one node both a forward
    value and an adjoint (with the seed 1, ``d_λ`` of ``λ * (θ @ θ)`` is ``θ @ θ``)."""
    name = fn.nodes[i].name
    if not name or not name.startswith("d_"):
        return False
    of = fn.adjoint_of.get(i)
    if of is not None and name == "d_" + (fn.nodes[of].name or ""):
        return True
    return any(g == i and name == "d_" + p for p, g in fn.grads.items())


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


def attribute_view(node, exprs: dict) -> bool:
    """Whether ``node`` is a matrix's transpose of a name (``x.T``, its argument's text in
    ``exprs`` an identifier): written at each use, as a person writes it, not named as a
    value read twice."""
    return (
        node.op == "transpose"
        and len(node.shape) == 2
        and node.args[0] in exprs
        and exprs[node.args[0]].text.isidentifier()
    )
