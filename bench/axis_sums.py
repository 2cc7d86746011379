"""Sums along an axis as products with ones, and the row maxima of ``_max_shift``
(issue 16): the emitted helpers against NumPy's reductions by shape, then this checkout's
emitted ``f_value_and_grad`` beside an older checkout's (``--old DIR``) on the cases
they touch.

    git worktree add --detach /tmp/old_sums 9ef6948
    python bench/axis_sums.py --old /tmp/old_sums [--rounds 11]
    python bench/axis_sums.py --shapes-only

One thread (set before NumPy loads); best of repeated calls.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from inplace_reuse import compare  # noqa: E402

import gradc  # noqa: E402

# a formula whose module holds the three helpers
HELPERS = """
def f(x: Matrix[n, c]) -> Scalar:
    return sum(sum(x, axis=0)) + sum(sum(x, axis=1)) + sum(logsumexp(x, axis=1))
"""
SHAPES = (
    (32, 8),
    (64, 100),
    (1000, 5),
    (2048, 10),
    (10000, 25),
    (2048, 1000),
    (4096, 512),
)
ROWS = (
    ("gmm", "D2K5N1000"),
    ("gmm", "D10K25N10000"),
    ("softmax_probs", "16x10"),
    ("softmax_probs", "2048x1000"),
    ("softmax_lse", "16x32x10"),
    ("softmax_loss", "16x32x10"),
    ("two_layer", "8x16x16x4"),
    ("batchnorm", "64x100"),
    ("batchnorm", "1024x512"),
    ("layernorm", "1024x512"),
    ("attention", "16x16x8"),
)


def shapes_table() -> None:
    """Microseconds of NumPy's reduction and of the emitted helper, by shape."""
    mod = gradc.load_source(HELPERS, filename="helpers.grad")
    print(
        "| shape | sum(axis=0) | _sum_leading | sum(axis=1) | _sum_trailing |", end=""
    )
    print(" max(axis=1) | _max_shift |")
    print("|---" * 7 + "|")
    for shape in SHAPES:
        x = np.random.default_rng(0).standard_normal(shape)
        env = {"x": x, "m": mod}

        def us(stmt, env=env):
            return min(timeit.repeat(stmt, globals=env, number=20, repeat=7)) / 20 * 1e6

        cells = [
            us("x.sum(axis=0)"),
            us("m._sum_leading(x)"),
            us("x.sum(axis=1)"),
            us("m._sum_trailing(x)"),
            us("x.max(axis=1)"),
            us("m._max_shift(x, axis=1)"),
        ]
        print(
            f"| {shape[0]}x{shape[1]} | " + " | ".join(f"{c:.1f}" for c in cells) + " |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", help="an older checkout (git worktree)")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--number", type=int, default=5)
    ap.add_argument("--shapes-only", action="store_true")
    args = ap.parse_args()
    shapes_table()
    if not args.shapes_only:
        if not args.old:
            ap.error("--old DIR is needed for the cases (or --shapes-only)")
        print()
        compare(ROWS, Path(args.old), args.rounds, args.number)


if __name__ == "__main__":
    main()
