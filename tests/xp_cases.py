"""Shared by the Array API tests: every function of every example with small random
inputs, the libraries to run them on (each skipped with its reason when absent), and
conversions to and from each library's arrays."""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gradc import load_source
from gradc.api import lower_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.grad"))
SIZES = {"n": 5, "d": 3, "N": 6, "D": 4, "C": 3, "H": 5, "T": 4, "V": 7}
# the convolution examples' dimensions (their index range stays min(SIZES) = 3)
SIZES |= {"F": 3, "W": 6, "M": 3, "F1": 3, "F2": 4}

# library -> the modules it needs (a missing one skips its tests, naming it)
NEEDS = {
    "numpy": ["array_api_compat"],
    "array_api_strict": ["array_api_compat", "array_api_strict"],
    "torch": ["array_api_compat", "torch"],
    "jax": ["array_api_compat", "jax"],
    "jax.jit": ["array_api_compat", "jax"],
    "dask": ["array_api_compat", "dask.array"],
}
LIBRARIES = list(NEEDS)


def require(library: str) -> None:
    """Skip the calling test, with the reason, when ``library`` is not installed."""
    for name in NEEDS[library]:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            pytest.skip(
                f"{name} is not installed (pip install gradc[test]): {library} untested"
            )
        importlib.import_module(name)
    if library.startswith("jax"):
        import_jax()


def import_jax():
    """JAX with float64 enabled (its default is float32), as the peers in bench/ do."""
    jax = importlib.import_module("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def functions(path: Path) -> list[tuple[str, list, list[str]]]:
    """(name, [(param, shape, dtype)], wrt) of each exported function of ``path``."""
    out = []
    for fn in lower_source(
        path.read_text(), filename=path.relative_to(ROOT).as_posix()
    ):
        params = [
            (p.name, fn.nodes[p.node].shape, fn.nodes[p.node].dtype) for p in fn.params
        ]
        out.append((fn.name, params, [p.name for p in fn.wrt]))
    return out


CASES = [
    (path, name, params) for path in EXAMPLES for name, params, _ in functions(path)
]
CASE_IDS = [f"{path.stem}.{name}" for path, name, _ in CASES]


def point(params, seed: int = 0, dtype=np.float64) -> list:
    """NumPy inputs for ``params``: float arrays of ``dtype``, Python floats for Scalars
    (0-d arrays when every input is a Scalar: Python numbers alone have no library),
    Index arrays with values in range of every axis they may index."""
    rng = np.random.default_rng(seed)
    low = min(SIZES.values())
    scalars_only = all(not shape for _, shape, _ in params)
    out = []
    for _, shape, kind in params:
        # a dimension may be an expression of others (F * (H // 2) * (W // 2))
        dims = tuple(size(d) for d in shape)
        if kind == "int":
            out.append(rng.integers(0, low, size=dims))
        elif not dims and not scalars_only:
            out.append(float(rng.uniform(0.2, 1.5)))
        else:
            out.append(np.asarray(rng.standard_normal(dims), dtype=dtype))
    return out


def size(d) -> int:
    """The size of the dimension ``d``: an int, a name of ``SIZES``, or an expression of
    them (a SymPy expression: ``F * floor(H / 2) * floor(W / 2)``)."""
    if isinstance(d, int):
        return d
    return int(d.subs({s: SIZES[s.name] for s in d.free_symbols}))


@functools.cache
def load(path: Path, target: str, **kw):
    """The module compiled from ``path`` for ``target``, imported in memory."""
    name = path.relative_to(ROOT).as_posix()
    return load_source(path.read_text(), filename=name, target=target, **kw)


def to_library(library: str, a):
    """The NumPy input ``a`` as an array of ``library`` (Python floats stay floats)."""
    if isinstance(a, float):
        return a
    if library in ("numpy",):
        return a
    if library == "array_api_strict":
        return importlib.import_module("array_api_strict").asarray(a)
    if library == "torch":
        return importlib.import_module("torch").asarray(a)
    if library.startswith("jax"):
        return importlib.import_module("jax.numpy").asarray(a)
    da = importlib.import_module("dask.array")
    return da.from_array(a, chunks=tuple(max(1, s // 2) for s in a.shape))


def to_numpy(v) -> np.ndarray:
    """A result of any library as a NumPy array (a Dask array already computed)."""
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    if type(v).__module__.startswith("array_api_strict"):
        return np.asarray(v._array)
    return np.asarray(v)


def as_tuple(g) -> tuple:
    return g if isinstance(g, tuple) else (g,)


def run(library: str, fn, args):
    """``fn(*args)`` on ``library`` (under ``jax.jit`` for "jax.jit"; computed at the end
    in one ``dask.compute`` for Dask), as NumPy values."""
    if library == "jax.jit":
        fn = import_jax().jit(fn)
    out = fn(*args)
    if library == "dask":
        out = importlib.import_module("dask").compute(out)[0]
    if isinstance(out, tuple):
        return tuple(run_out(o) for o in out)
    return to_numpy(out)


def run_out(o):
    return tuple(to_numpy(x) for x in o) if isinstance(o, tuple) else to_numpy(o)
