"""The numba target's modules as a reviewer reads them: for every example and bench case,
with ``--jvp`` and ``--hvp``, ``ruff check`` and ``ruff format --check`` pass (long kernel
signatures and calls with many results wrapped as ruff writes them; no ``import numba``
in a module without a kernel or a jitted helper)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gradc

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "examples").glob("*.grad")) + sorted(
    (ROOT / "bench" / "cases").glob("*.grad")
)


def ruff(*args: str, text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", "module.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_numba_modules_with_second_order_are_ruff_clean(path):
    text = gradc.compile_source(
        path.read_text(),
        filename=path.relative_to(ROOT).as_posix(),
        target="numba",
        jvp=True,
        hvp=True,
    )
    checked = ruff("check", "--quiet", text=text)
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--check", text=text)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    if "@numba." not in text:
        assert "import numba" not in text
