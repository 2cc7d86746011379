"""Python syntax and operators formulas do not have: what people call them, what to write
instead, and the located errors that say so."""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .source import Source

# Hints of UNSUPPORTED: Python syntax formulas do not have, as people name it, and what to
# write instead.
FIXED_LOOP = "a loop runs a fixed number of times: write `for t in range(...)`"
WHERE = "use `where(cond, a, b)`"
ARRAYWISE = "operations apply to whole arrays: write `sum(v * v)`, not `sum([t * t for t in v])`"
UNSUPPORTED = {
    ast.For: ("a for loop", "loops go inside a function: `for t in range(...)`"),
    ast.While: ("a while loop", FIXED_LOOP),
    ast.If: ("an if statement", WHERE),
    ast.Import: (
        "imports",
        "formula files use the built-in operations; `np.` prefixes are allowed",
    ),
    ast.Lambda: ("a lambda", "define a function with `def` above its first use"),
    ast.ListComp: ("a list comprehension", ARRAYWISE),
    ast.SetComp: ("a set comprehension", None),
    ast.DictComp: ("a dictionary comprehension", None),
    ast.GeneratorExp: ("a generator expression", ARRAYWISE),
    ast.With: ("a with block", None),
    ast.Try: ("a try block", None),
    ast.ClassDef: ("a class", None),
    ast.IfExp: ("a conditional expression `a if cond else b`", WHERE),
    ast.BoolOp: (
        "`and`/`or`",
        "for a condition use one comparison in `where(cond, a, b)`",
    ),
    ast.Dict: ("a dictionary", None),
    ast.Set: ("a set", None),
    ast.JoinedStr: ("a string", None),
    ast.Await: ("`await`", None),
    ast.Yield: ("`yield`", "end the function with `return`"),
    ast.NamedExpr: (
        "an assignment expression `:=`",
        "assign on its own line: `name = ...`",
    ),
    ast.Starred: ("a `*` unpacking", None),
    ast.Delete: ("a del statement", None),
    ast.Global: ("a global statement", None),
    ast.Nonlocal: ("a nonlocal statement", None),
    ast.AsyncFunctionDef: ("an async function", "write a plain `def`"),
    ast.FunctionDef: (
        "a nested function definition",
        "define it at the top level, above its first use",
    ),
    ast.Raise: ("a raise statement", None),
    ast.Assert: ("an assert statement", None),
    ast.Pass: ("a pass statement", None),
    ast.Break: ("a break statement", None),
    ast.Continue: ("a continue statement", None),
    ast.Expr: ("an expression on its own line", "assign it: `name = ...`"),
    ast.Tuple: (
        "a tuple",
        "a value is one number or array (several as one array: `stack([a, b])`)",
    ),
    ast.List: (
        "a list",
        "lists appear only in `stack([a, b])` and `concatenate([a, b])`",
    ),
    ast.Slice: ("a slice", "slices appear only inside `x[...]`"),
    ast.Subscript: (
        "an item assignment `a[i] = ...`",
        "assign to a new name: `y = ...`",
    ),
}

if hasattr(ast, "Match"):  # Python 3.10+
    UNSUPPORTED[ast.Match] = ("a match statement", WHERE)


if hasattr(ast, "TryStar"):  # Python 3.11+
    UNSUPPORTED[ast.TryStar] = UNSUPPORTED[ast.Try]


UNSUPPORTED[ast.ImportFrom] = UNSUPPORTED[ast.Import]

UNSUPPORTED[ast.YieldFrom] = UNSUPPORTED[ast.Yield]

OPERATORS = {  # operators formulas do not have: their name and what to write instead
    ast.FloorDiv: (
        "floor division `//`",
        "`//` appears only in dimensions, as in `Vector[n // 2]`",
    ),
    ast.Mod: ("the remainder operator `%`", None),
    ast.BitXor: ("`^`", "for a power write `x ** 2`"),
    ast.BitAnd: ("`&`", None),
    ast.BitOr: ("`|`", None),
    ast.LShift: ("`<<`", None),
    ast.RShift: ("`>>`", None),
    ast.Not: ("`not`", None),
    ast.Invert: ("`~`", None),
}


def unsupported(node, src: Source, where: str) -> FormulaError:
    """The error for Python syntax formulas do not have, named as people say it, with what
    to write instead where there is an obvious alternative."""
    if isinstance(node, ast.Expr) and type(node.value) in UNSUPPORTED:
        node = node.value  # `yield x` on its own line is about the yield
    if is_print(node):
        return src.error(
            node,
            f"print() is not supported {where}: a formula computes values; see them "
            "with `gradc explain FILE.grad`, or print what the compiled function "
            "returns",
        )
    what, hint = UNSUPPORTED.get(type(node), ("this Python syntax", None))
    verb = "are" if what == "imports" else "is"
    return src.error(
        node, f"{what} {verb} not supported {where}" + (f"; {hint}" if hint else "")
    )


def is_print(node) -> bool:
    """Whether ``node`` is a statement ``print(...)``."""
    call = node.value if isinstance(node, ast.Expr) else None
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "print"
    )


def operator_error(node, op, src: Source) -> FormulaError:
    """The error for an operator formulas do not have, named as people say it."""
    what, hint = OPERATORS.get(type(op), (f"operator `{type(op).__name__}`", None))
    if isinstance(op, ast.BitXor) and isinstance(node, ast.BinOp):
        hint = (
            f"for a power write `{ast.unparse(node.left)} ** {ast.unparse(node.right)}`"
        )
    return src.error(node, f"{what} is not supported" + (f"; {hint}" if hint else ""))


def repeated_keyword(node: ast.Call, src: Source) -> FormulaError | None:
    """The error at the first keyword of ``node`` given a second time
    (``max(s, axis=1, keepdims=T, keepdims=True)``), which Python's compiler refuses and
    ``ast.parse`` lets through; None where each is given once."""
    seen: set = set()
    for k in node.keywords:
        if k.arg is not None and k.arg in seen:
            return src.error(k, f"keyword argument repeated: '{k.arg}'")
        seen.add(k.arg)
    return None
