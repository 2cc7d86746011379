"""The structure stays as README "How it works" describes it.

- the layers point one way: ``lint-imports`` keeps the layers contract of pyproject.toml,
  and a planted back-pointing import breaks it (so the contract is not vacuous);
- no module imports another inside a function body (a hidden cycle, or a cost paid late);
- modules stay short enough to read: under MAX_LINES lines unless they are one table;
- the repository is ``ruff format`` clean.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "compiler"
MAX_LINES = 500
# Modules allowed past MAX_LINES because they are one table (module -> why).
TABLES: dict[str, str] = {}

LINT = """
import importlib.util, sys
here = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "gradc", here + "/__init__.py", submodule_search_locations=[here]
)
# lint-imports finds the package by its spec: registered, never executed
sys.modules["gradc"] = importlib.util.module_from_spec(spec)
from importlinter.cli import lint_imports
raise SystemExit(lint_imports(config_filename=sys.argv[2], no_cache=True))
"""


def lint(package: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with this repository's contracts, over the package at ``package``
    imported as ``gradc`` (whatever else is installed)."""
    pytest.importorskip("importlinter", reason="import-linter is in the test extra")
    return subprocess.run(
        [sys.executable, "-c", LINT, str(package), str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_layers_contract_is_kept():
    proc = lint(PACKAGE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and "KEPT" in proc.stdout


def test_a_back_pointing_import_breaks_the_contract(tmp_path):
    copy = tmp_path / "compiler"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shapes = copy / "core" / "shapes.py"
    shapes.write_text(shapes.read_text() + "\nfrom ..cli import main  # noqa\n")
    proc = lint(copy)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout
    assert "gradc.core.shapes -> gradc.cli.main" in proc.stdout


def function_body_imports(path: Path) -> list[str]:
    """``name:line`` of each import statement inside a function body of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_import_inside_a_function():
    found = [
        f"{path.parent.relative_to(ROOT)}/{loc}"
        for path in modules()
        for loc in function_body_imports(path)
    ]
    assert found == [], "imports inside function bodies:\n" + "\n".join(found)


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from os import path\n    return path\n")
    assert len(function_body_imports(planted)) == 1


def test_modules_are_short():
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    long = {k: n for k, n in long.items() if k not in TABLES}
    assert long == {}, f"modules over {MAX_LINES} lines (split by job): {long}"


def test_repository_is_ruff_format_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is in the test extra")
    proc = subprocess.run(
        [ruff, "format", "--check", "."], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
