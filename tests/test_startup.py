"""A compiler that starts fast (issue 16): ``gradc --help``, a bad command line and a
formula that is not Python syntax are answered without importing SymPy, NumPy, Jinja2
or the compiler (``gradc.api``); ``import gradc`` alone imports none of them either.
Each is checked in a fresh interpreter by the modules it loaded (no wall-clock
assertion: the times are in bench/README.md, ``python bench/startup.py``). The early
answers are the ones the full command gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gradc
from gradc.cli import main as cli_main
from gradc.lazy import resolve

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "numpy", "jinja2", "gradc.api", "gradc.core.ir", "gradc.backend")

# Runs the command line in process, then prints the heavy modules it loaded.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import cli
cli.use_checkout()
from gradc.cli.main import main
try:
    status = main(json.loads(sys.argv[2]))
except SystemExit as exc:
    status = exc.code
heavy = tuple(json.loads(sys.argv[3]))
loaded = sorted({m.split(".")[0] if not m.startswith("gradc") else m
                 for m in sys.modules if m.startswith(heavy)})
print(json.dumps({"status": status, "loaded": loaded}))
"""

SYNTAX_ERROR = "def f(x: Scalar) -> Scalar:\n    return x +* 2\n"


def probe(argv: list[str], cwd: Path) -> tuple[dict, str]:
    """The exit status and heavy modules of ``gradc argv`` run in a fresh interpreter;
    and its stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    return json.loads(proc.stdout.splitlines()[-1]), proc.stderr


def assert_answered_early(text: str, report: str, tmp_path: Path) -> None:
    """``gradc compile`` and ``gradc check`` of a file holding ``text`` exit 2 with
    ``report`` (written for a file ``f.grad``) without loading a heavy module."""
    path = tmp_path / "f.grad"
    path.write_text(text)
    result, stderr = probe(["compile", str(path)], tmp_path)
    assert result == {"status": 2, "loaded": []}, (result, HEAVY)
    assert stderr.strip() == report.replace("f.grad", str(path)).strip(), stderr
    result, stderr2 = probe(["check", str(path)], tmp_path)
    assert result == {"status": 2, "loaded": []} and stderr2 == stderr


def test_help_imports_neither_sympy_nor_numpy_nor_the_compiler(tmp_path):
    result, _ = probe(["--help"], tmp_path)
    assert result == {"status": 0, "loaded": []}
    result, _ = probe(["check", "--help"], tmp_path)
    assert result == {"status": 0, "loaded": []}


@pytest.mark.parametrize(
    "command",
    [
        ["compile"],
        ["compile", "--no-checks", "-o", "out.py"],
        ["ir"],
        ["check"],
        ["explain", "--function", "f"],
        ["graph", "--function", "f"],
    ],
)
def test_a_syntax_error_is_reported_before_the_compiler_is_imported(tmp_path, command):
    (tmp_path / "bad.grad").write_text(SYNTAX_ERROR)
    argv = command[:1] + ["bad.grad"] + command[1:]
    result, stderr = probe(argv, tmp_path)
    assert result == {"status": 2, "loaded": []}
    assert stderr.splitlines() == [
        "bad.grad:2:15: error: invalid syntax",
        "        return x +* 2",
        "                  ^",
    ]


def test_the_early_report_is_the_one_the_compiler_gives(tmp_path):
    bad = tmp_path / "bad.grad"
    for raw in [
        SYNTAX_ERROR.encode(),
        b"def f(x: Scalar) -> Scalar:\n    return \xff\n",
    ]:
        bad.write_bytes(raw)
        with pytest.raises(gradc.FormulaError) as full:
            gradc.compile_file(bad)
        result, stderr = probe(["compile", str(bad)], tmp_path)
        assert result == {"status": 2, "loaded": []}
        assert stderr == full.value.report() + "\n"


def test_a_bad_command_line_is_reported_before_the_compiler_is_imported(tmp_path):
    result, stderr = probe(["compile", "a.grad", "b.grad"], tmp_path)
    assert result == {"status": 2, "loaded": []}
    assert stderr == "gradc: error: several files need -d DIR\n"


def test_a_valid_file_still_compiles_and_a_later_bad_one_still_fails(tmp_path):
    (tmp_path / "a.grad").write_text("def f(x: Scalar) -> Scalar:\n    return x * x\n")
    (tmp_path / "b.grad").write_text(SYNTAX_ERROR)
    result, stderr = probe(["compile", "-d", "out", "a.grad", "b.grad"], tmp_path)
    assert result["status"] == 2 and "sympy" in result["loaded"]
    assert stderr.startswith("b.grad:2:15: error: invalid syntax")
    assert (tmp_path / "out" / "a.py").read_text() == gradc.compile_file(
        tmp_path / "a.grad"
    ).replace(str(tmp_path / "a.grad"), "a.grad")


def test_a_compile_imports_no_numpy(tmp_path):
    """Compiling imports SymPy and Jinja2, not NumPy (0.1 s of a small compile): only
    ``scalarise``, for small literal shapes, and ``gradc check`` use it."""
    out = tmp_path / "out.py"
    for name in ("lecture", "logistic", "convnet", "lstm"):
        source = str(ROOT / "examples" / f"{name}.grad")
        result, stderr = probe(["compile", source, "-o", str(out), "--force"], tmp_path)
        assert result["status"] == 0, stderr
        assert "sympy" in result["loaded"] and "numpy" not in result["loaded"], result


def test_import_gradc_is_light_and_the_api_loads_on_first_use(tmp_path):
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import cli; cli.use_checkout()\n"
        "import gradc\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sympy', 'numpy'))))\n"
        "from gradc import compile_source\n"
        "print('sympy' in sys.modules, 'def f_grad(x):' in compile_source("
        "'def f(x: Scalar) -> Scalar:\\n    return x * x\\n'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert proc.stdout.splitlines() == ["[]", "True True"]


def test_every_lazy_name_resolves():
    for name, target in gradc.API.items():
        assert callable(resolve(target)), name
        assert getattr(gradc, name) is resolve(target)
    for command, target in cli_main.COMMANDS.items():
        assert callable(resolve(target)), command
    assert set(gradc.API) <= set(dir(gradc))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        gradc.nope  # noqa: B018
