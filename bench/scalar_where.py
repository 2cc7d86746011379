"""``where`` of scalars as Python's conditional (issue 16): the emitted
``f_value_and_grad`` beside the same module built with ``np.where`` on scalars (as
before), timed side by side (``run.py``'s interleaved batches), results compared first.

    python bench/scalar_where.py [--repeats N]

A cosine similarity (its norm's guard at 0 in the backward) and a loss with a Scalar
input under ``maximum`` (its kink in the backward), at sizes where NumPy's per-call cost
is the time.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import cli  # noqa: E402

cli.use_checkout()

import numpy as np  # noqa: E402
from run import paired_ratio, time_interleaved  # noqa: E402

import gradc  # noqa: E402
from gradc.core import printer as P  # noqa: E402
from gradc.core.prim import NUMPY, PRIMS  # noqa: E402
from gradc.ops.spelling import as_float  # noqa: E402

FORMULAS = '''"""where of scalars."""


@wrt(a)
def cosine(a: Vector[n], b: Vector[n]) -> Scalar:
    return dot(a, b) / (norm(a) * norm(b))


@wrt(w, s)
def floored(w: Vector[d], X: Matrix[n, d], s: Scalar) -> Scalar:
    return mean((X @ w) ** 2) * maximum(s, 0.5) + minimum(s, 2.0) * sum(w * w)
'''


def with_np_where(node, a, ctx):
    """The spelling before: ``np.where`` on scalars too."""
    return P.call("np.where", a[0], as_float(a[1]), as_float(a[2]))


def build_before(text: str) -> str:
    """``text`` compiled as before: ``np.where`` on scalars, and a ``where`` or an index
    of a scalar result taken for a 0-d array (the returned scalar wrapped in ``float``)."""
    saved = {op: PRIMS[op] for op in ("where", "getitem")}
    spellings = {**saved["where"].spellings, NUMPY: with_np_where}
    PRIMS["where"] = replace(saved["where"], spellings=spellings, zero_d=True)
    PRIMS["getitem"] = replace(saved["getitem"], zero_d=True)
    try:
        return gradc.compile_source(text)
    finally:
        PRIMS.update(saved)


def leaves(result) -> list:
    """The value and the gradients of a ``value_and_grad`` result, as arrays."""
    value, grads = result
    grads = grads if isinstance(grads, tuple) else (grads,)
    return [np.asarray(value), *map(np.asarray, grads)]


def inputs(name: str, size: int, rng) -> tuple:
    """The arguments of case ``name`` at ``size``."""
    if name == "cosine":
        return rng.standard_normal(size), rng.standard_normal(size)
    return rng.standard_normal(8), rng.standard_normal((size, 8)), 0.75


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    profile = {"batch": 0.020, "budget": 1e9, "repeats": (args.repeats, args.repeats)}
    now = gradc.import_module_source(gradc.compile_source(FORMULAS), "sw_now")
    before = gradc.import_module_source(build_before(FORMULAS), "sw_before")
    rng = np.random.default_rng(0)
    print(f"{'case':8} {'size':>8} {'np.where':>11} {'conditional':>12} {'ratio':>7}")
    for name in ("cosine", "floored"):
        for size in (16, 100, 10000):
            args_ = inputs(name, size, rng)
            fns = [getattr(m, name + "_value_and_grad") for m in (now, before)]
            got, want = (f(*args_) for f in fns)
            assert all(map(np.array_equal, leaves(got), leaves(want))), (got, want)
            systems = {
                "before": partial(fns[1], *args_),
                "now": partial(fns[0], *args_),
            }
            samples, _ = time_interleaved(systems, profile)
            best = {k: min(v) * 1e6 for k, v in samples.items()}
            print(
                f"{name:8} {size:>8} {best['before']:>8.2f} us {best['now']:>9.2f} us "
                f"{paired_ratio(samples, 'now', 'before'):>7.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
