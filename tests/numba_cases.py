"""Shared by the numba target's tests: every example's functions, inputs for them, and
the comparison with the NumPy target (norm-wise, 1e-12)."""

from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from gradc import load_source, lower_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.grad"))
# sizes of the examples' dimensions (conv windows fit: H, W >= 7)
SIZES = {
    "n": 5,
    "d": 3,
    "N": 6,
    "D": 4,
    "C": 3,
    "H": 8,
    "K": 3,
    "W": 8,
    "F": 2,
    "F1": 2,
    "F2": 3,
    "M": 4,
    "T": 4,
    "V": 5,
    "c": 2,
}
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(
    not HAVE_NUMBA, reason="numba is not installed (pip install gradc[numba])"
)


def functions(path: Path) -> list[tuple[str, list]]:
    """(name, [(shape, dtype, differentiated)]) of each exported function of ``path``."""
    out = []
    for fn in lower_source(
        path.read_text(), filename=path.relative_to(ROOT).as_posix()
    ):
        wrt = {p.name for p in fn.wrt}
        params = [
            (fn.nodes[p.node].shape, fn.nodes[p.node].dtype, p.name in wrt)
            for p in fn.params
        ]
        out.append((fn.name, params))
    return out


CASES = [(path, name, params) for path in EXAMPLES for name, params in functions(path)]
CASE_IDS = [f"{path.stem}.{name}" for path, name, _ in CASES]


def size(d) -> int:
    """A dimension's size: an int, a name, or an expression of names."""
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        return SIZES[d]
    return int(d.subs({s: SIZES[s.name] for s in d.free_symbols}))


def point(params, seed: int = 0) -> list:
    """Inputs: float64 arrays, Python floats for Scalars, Index arrays in range."""
    rng = np.random.default_rng(seed)
    out = []
    for shape, kind, _ in params:
        dims = tuple(size(d) for d in shape)
        if kind == "int":
            out.append(rng.integers(0, 2, size=dims))
        elif not dims:
            out.append(float(rng.uniform(0.2, 1.5)))
        else:
            out.append(rng.standard_normal(dims))
    return out


@functools.cache
def cache_dir() -> str:
    """The ``GRADC_CACHE_DIR`` of the numba tests: one directory for the whole run,
    shared by pytest-xdist's workers (named by its run id), so a module text that several
    tests load (``examples/lstm.grad`` with ``--jvp --hvp``) is written once, by its hash,
    and its kernels compiled once, through numba's cache beside it."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return tempfile.mkdtemp(prefix="gradc-numba-tests-")
    path = Path(tempfile.gettempdir()) / f"gradc-numba-tests-{run}"
    path.mkdir(exist_ok=True)
    return str(path)


def load(path: Path, target: str, **kw):
    name = path.relative_to(ROOT).as_posix()
    return load_source(path.read_text(), filename=name, target=target, **kw)


def as_tuple(g) -> tuple:
    return g if isinstance(g, tuple) else (g,)


def close(got, want, rtol: float = 1e-12) -> None:
    """Norm-wise: max |got - want| <= rtol * max(1, max |want|), and the same shape."""
    got, want = np.asarray(got), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    assert float(np.max(np.abs(got - want), initial=0.0)) <= rtol * scale
