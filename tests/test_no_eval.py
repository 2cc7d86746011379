"""The compiler never evaluates text: no eval/exec/compile/__import__/sympify/parse_expr.

Scans ``compiler/**/*.py`` and ``cli.py`` with ``ast`` and fails on any call of

* the builtins ``eval``, ``exec``, ``compile`` and ``__import__`` (also through
  ``builtins.``, ``getattr(builtins, "eval")``, ``__builtins__`` or an import alias);
* SymPy's ``sympify`` and ``parse_expr`` (any spelling: ``sympy.sympify``, ``sp.sympify``,
  ``from sympy import sympify as s``...), and any import of ``sympy.parsing``;
* ``S(...)`` / ``sympy.S(...)`` whose argument is not a literal number or string
  (``S`` of a variable is ``sympify`` of it).

Whatever the text's origin (the user's, or text the compiler built from it): the rule in
SPEC.md section 1 is absolute, and a static check cannot tell the two apart. Importing
generated code can go through ``importlib`` instead of ``exec``. The self-tests show the
scanner catches each form, so the scan cannot pass by accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BUILTIN_EVALUATORS = {"eval", "exec", "compile", "__import__"}
SYMPY_PARSERS = {"sympify", "parse_expr"}
FORBIDDEN_ATTRS = SYMPY_PARSERS | {"eval", "exec", "__import__"}
MODULES_WITH_BUILTINS = {"builtins", "__builtin__"}


def _is_literal(node) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, str)) and not isinstance(
            node.value, bool
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_literal(node.operand)
    return False


def _shadowed(tree: ast.Module) -> set[str]:
    """Names the module defines itself (a local ``def compile`` is not the builtin)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def find_violations(source: str, filename: str = "<snippet>") -> list[str]:
    """Every forbidden call or import in ``source``, as ``file:line: what``."""
    tree = ast.parse(source, filename=filename)
    found = []
    # aliases: name -> what it stands for
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.startswith("sympy.parsing"):
                found.append(f"{filename}:{node.lineno}: imports from {module}")
            for alias in node.names:
                local = alias.asname or alias.name
                if alias.name in SYMPY_PARSERS and module.startswith("sympy"):
                    aliases[local] = alias.name
                elif alias.name == "S" and module.startswith("sympy"):
                    aliases[local] = "S"
                elif (
                    alias.name in BUILTIN_EVALUATORS and module in MODULES_WITH_BUILTINS
                ):
                    aliases[local] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sympy.parsing"):
                    found.append(f"{filename}:{node.lineno}: imports {alias.name}")
                if alias.name in MODULES_WITH_BUILTINS:
                    aliases[alias.asname or alias.name] = "builtins"
    shadowed = _shadowed(tree) - set(aliases)
    builtin_modules = {
        k for k, v in aliases.items() if v == "builtins"
    } | MODULES_WITH_BUILTINS

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "__builtins__":
            found.append(f"{filename}:{node.lineno}: uses __builtins__")
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        where = f"{filename}:{node.lineno}"
        if isinstance(fn, ast.Name):
            name = aliases.get(fn.id, fn.id)
            if fn.id in BUILTIN_EVALUATORS and fn.id not in shadowed:
                found.append(f"{where}: calls {fn.id}()")
            elif fn.id in aliases and name in BUILTIN_EVALUATORS:
                found.append(f"{where}: calls {name}() as {fn.id}()")
            elif name in SYMPY_PARSERS and (fn.id in aliases or fn.id not in shadowed):
                found.append(f"{where}: calls {name}()")
            elif name == "S" and (fn.id in aliases or fn.id not in shadowed):
                if not (len(node.args) == 1 and _is_literal(node.args[0])):
                    found.append(f"{where}: calls S() on a non-literal")
            elif fn.id == "getattr" and len(node.args) >= 2:
                target = node.args[1]
                if isinstance(target, ast.Constant) and target.value in (
                    FORBIDDEN_ATTRS | BUILTIN_EVALUATORS | {"S"}
                ):
                    found.append(f"{where}: getattr(..., {target.value!r})")
        elif isinstance(fn, ast.Attribute):
            if fn.attr in FORBIDDEN_ATTRS:
                found.append(f"{where}: calls .{fn.attr}()")
            elif (
                fn.attr == "compile"
                and isinstance(fn.value, ast.Name)
                and fn.value.id in builtin_modules
            ):
                found.append(f"{where}: calls {fn.value.id}.compile()")
            elif fn.attr == "S" and not (
                len(node.args) == 1 and _is_literal(node.args[0])
            ):
                found.append(f"{where}: calls .S() on a non-literal")
    return sorted(
        found, key=lambda v: int(v.split(":")[1]) if v.split(":")[1].isdigit() else 0
    )


def package_files() -> list[Path]:
    files = sorted((ROOT / "compiler").rglob("*.py"))
    cli = ROOT / "cli.py"
    if cli.exists():
        files.append(cli)
    return files


def test_scan_finds_the_package():
    files = package_files()
    assert (ROOT / "cli.py") in files, "cli.py (the gradc entry point) is missing"
    assert len(files) >= 3, files
    assert any(p.name == "__init__.py" for p in files)


@pytest.mark.parametrize(
    "path", package_files(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_source_never_evaluates_text(path):
    violations = find_violations(
        path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
    )
    assert violations == [], "\n".join(violations)


# ----------------------------------------------------------------------------- self-tests

MUST_FLAG = [
    "eval(text)",
    "exec(text)",
    "exec(compile(text, 'f', 'exec'), ns)",
    "compile(text, '<f>', 'eval')",
    "__import__(name)",
    "import builtins\nbuiltins.eval(text)",
    "import builtins as b\nb.compile(text, 'f', 'exec')",
    "from builtins import exec as run\nrun(text)",
    "getattr(builtins, 'eval')(text)",
    "__builtins__['eval'](text)",
    "import sympy\nsympy.sympify(text)",
    "import sympy as sp\nsp.sympify(text)",
    "from sympy import sympify\nsympify(text)",
    "from sympy import sympify as sy\nsy(text)",
    "from sympy.parsing.sympy_parser import parse_expr\nparse_expr(text)",
    "import sympy\nsympy.parsing.sympy_parser.parse_expr(text)",
    "import sympy.parsing.sympy_parser",
    "from sympy import S\nS(text)",
    "from sympy import S as SS\nSS(node.id)",
    "import sympy\nsympy.S(name)",
    "import sympy as sp\nsp.S(f'{x}')",
    "expr = obj.sympify(text)",
    "def f(text):\n    return eval(text)",
    "lambda t: exec(t)",
]

MUST_PASS = [
    "import re\nre.compile(r'\\w+')",
    "import sympy\nsympy.S(1)",
    "import sympy as sp\nsp.S(-0.5)",
    "from sympy import S\nS('1/2')",
    "x = 'eval(text)'  # only a string",
    "def evaluate(node):\n    return node.evaluate()",
    "def compile(text):\n    return text\n\ncompile('x')",
    "import numpy as np\nnp.exp(x)",
    "obj.execute(text)",
    "sympy.Symbol(name, real=True)",
]


@pytest.mark.parametrize("snippet", MUST_FLAG)
def test_scanner_flags(snippet):
    assert find_violations(snippet), f"the scanner missed: {snippet!r}"


@pytest.mark.parametrize("snippet", MUST_PASS)
def test_scanner_allows(snippet):
    assert find_violations(snippet) == []


def test_scanner_flags_a_planted_call(tmp_path):
    """A copy of a real compiler file with one planted ``eval(`` fails the scan."""
    path = package_files()[0]
    text = (
        path.read_text(encoding="utf-8")
        + "\n\ndef _planted(text):\n    return eval(text)\n"
    )
    assert any("eval" in v for v in find_violations(text, "planted.py"))
