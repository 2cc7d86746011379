"""The user's parameter names in every emitted signature, ``f(np=...)`` included.

The ``Namer`` keeps each parameter in a variable that shadows nothing (``np_`` for a
parameter named ``np``, since bodies call NumPy through ``np``). In the functions that take
the inputs (``f``, ``f_forward``, ``f_value_and_grad``, ``f_grad`` and their NumPy
fallbacks) a ``Renamer`` gives the parameters back their own names and renames instead
what they would hide inside those bodies: a module-level or builtin name is read through
an alias bound after the imports (``_np = np``, ``_float = float``), a local of the
generated code (``cache``, ``grads``, ``_result``) takes the parameter's old variable
(``cache_``). ``f_backward`` takes ``(d_out, cache)`` and keeps its names.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

from ..core.names import PYTHON_BUILTINS

# Locals the generated code binds in the functions that take the inputs.
GENERATED_LOCALS = ("cache", "grads", "_result")

# An f-string (its replacement fields are code), a string literal, a comment, or a name
# that is not an attribute (``x.sum`` stays) nor a keyword argument (``cache=True`` of a
# numba decorator stays: the code is formatted, so ``=`` right after a name is one).
STRING = r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'"
TOKEN = re.compile(
    rf"(?<![.\w])f({STRING})|{STRING}|#.*|(?<![.\w])([^\W\d]\w*)(?!\w|=(?!=))"
)
FIELD = re.compile(r"\{([^{}]*)\}")


def spellable(name: str) -> bool:
    """Whether the user's name ``name`` can be a parameter as it is: an identifier Python
    reads as written (NFKC), not a keyword (SymPy's ``lambda`` stays ``lambda_``) nor
    ``__debug__`` (which Python refuses to bind)."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and name != "__debug__"
        and unicodedata.normalize("NFKC", name) == name
    )


class Renamer:
    """Renames the names in code text: parameter variables to the user's names, and what
    those names meant before to an alias or a fresh local (see the module doc)."""

    def __init__(self, pnames: dict[str, str], taken: set[str]):
        back = {v: u for u, v in pnames.items() if u != v and spellable(u)}
        taken = set(taken) | set(pnames) | set(pnames.values())
        self.map: dict[str, str] = dict(back)
        self.aliases: dict[str, str] = {}  # alias -> the module-level name it reads
        self.used: dict[str, str] = {}  # the aliases renamed code has read so far
        for var, user in back.items():
            if user in GENERATED_LOCALS:
                self.map[user] = var  # the local takes the parameter's old variable
                continue
            alias = "_" + user
            while alias in taken:
                alias = "_" + alias
            taken.add(alias)
            self.map[user] = alias
            self.aliases[alias] = user

    def __call__(self, text: str) -> str:
        if not self.map:
            return text
        return TOKEN.sub(self.token, text)

    def token(self, m: re.Match) -> str:
        """One token renamed (a name in ``map``; the names in an f-string's replacement
        fields, ``f"{grads.shape}"``), recording the aliases it reads."""
        if m[1]:
            return "f" + FIELD.sub(self.field, m[1])
        if not m[2]:
            return m[0]
        new = self.map.get(m[2], m[2])
        if new in self.aliases:
            self.used[new] = self.aliases[new]
        return new

    def field(self, m: re.Match) -> str:
        """An f-string's replacement field ``{...}``, its names renamed."""
        return "{" + TOKEN.sub(self.token, m[1]) + "}"

    def lines(self, items: list) -> list:
        """Body items (prologue lines, ``{"comment", "lines"}`` blocks) renamed."""
        return [
            {**it, "lines": [self(ln) for ln in it["lines"]]}
            if isinstance(it, dict)
            else self(it)
            for it in items
        ]


def alias_lines(aliases: dict[str, str]) -> tuple[list[str], list[str]]:
    """``alias = name`` lines for the aliases emitted code reads: those of modules and
    builtins (bound after the imports), and those of names the module defines (helpers,
    functions: bound at its end, once they exist)."""
    early = {"np", "numpy", "math"} | PYTHON_BUILTINS
    lines = [(n in early, f"{a} = {n}") for a, n in sorted(aliases.items())]
    return [ln for first, ln in lines if first], [
        ln for first, ln in lines if not first
    ]
