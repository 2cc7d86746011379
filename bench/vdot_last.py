"""Products summed along the last axis (issue 16): ``_vdot_last(a, b)``, the emitted
helper, against ``np.einsum("ab,ab->a", a, b)`` (what the NumPy target printed before)
by rows and row length, one thread, best of repeated calls (microseconds).

    python bench/vdot_last.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import gradc  # noqa: E402

ROWS = (200, 500, 5000, 100_000)
LENGTHS = (2, 3, 4, 6, 8, 9, 12, 16)
HELPER = "def f(a: Matrix[n, m], b: Matrix[n, m]) -> Scalar:\n    return max(sum(a * b, axis=1))\n"


def best(f, number: int) -> float:
    return min(timeit.repeat(f, number=number, repeat=7)) / number * 1e6


def main() -> None:
    vdot_last = gradc.load_source(HELPER)._vdot_last
    rng = np.random.default_rng(0)
    print("| rows | n | einsum us | _vdot_last us | ratio |")
    print("|---|---|---|---|---|")
    for rows in ROWS:
        for n in LENGTHS:
            a, b = rng.standard_normal((rows, n)), rng.standard_normal((rows, n))
            number = max(1, 20_000 // rows)
            t_e = best(lambda a=a, b=b: np.einsum("ab,ab->a", a, b), number)
            t_v = best(lambda a=a, b=b: vdot_last(a, b), number)
            print(f"| {rows} | {n} | {t_e:.1f} | {t_v:.1f} | {t_v / t_e:.2f} |")


if __name__ == "__main__":
    main()
