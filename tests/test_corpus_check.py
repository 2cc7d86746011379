"""Every formula of tests/corpus passes ``gradc check``.

Each ``tests/corpus/*.grad`` file reproduces one reported bug (its docstring says which).
``python cli.py check FILE`` compiles it in memory and compares every gradient with
central finite differences at random points; it must exit 0.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# one `gradc check` subprocess per corpus file: in CI's full run, not in -m 'not slow'
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "cli.py"
CORPUS = sorted((ROOT / "tests" / "corpus").glob("*.grad"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_file_checks(path):
    proc = subprocess.run(
        [sys.executable, str(CLI), "check", str(path.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"gradc check {path.name} exited {proc.returncode}\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
