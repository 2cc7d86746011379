"""Outer products and NumPy's buffered broadcast (issue 16): ``_outer(x, y)``, the emitted
helper, against ``np.einsum("i,j->ij", x, y)`` (what the NumPy target printed before),
``x[:, None] * y`` (NumPy's buffered iteration) and the same product with a buffer
shorter than a row (``np.setbufsize(16)``, unbuffered), by shape; then a matrix plus a
row or a column, buffered and unbuffered. One thread, interleaved rounds, the best of
each (microseconds).

    python bench/outer.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cli  # noqa: E402

cli.use_checkout()  # gradc from this checkout, not an installed one

import numpy as np  # noqa: E402

import gradc  # noqa: E402

OUTER_SHAPES = (
    (2, 2),
    (64, 64),
    (128, 128),
    (256, 256),
    (1000, 100),
    (1000, 200),
    (4096, 10),
    (200, 1000),
    (1024, 1024),
    (2048, 2048),
)
BROADCAST_SHAPES = ((64, 100), (4096, 100), (256, 256), (1024, 512), (1024, 1024))
HELPER = "def f(v: Vector[n], w: Vector[m]) -> Matrix[n, m]:\n    return outer(v, w)\n"


def best(f, number: int) -> float:
    return min(timeit.repeat(f, number=number, repeat=3)) / number * 1e6


def best_of_rounds(forms: dict, args: tuple, number: int, rounds: int) -> dict:
    """The best time of each form called on ``args``, the forms interleaved per round."""
    times: dict[str, list[float]] = {k: [] for k in forms}
    for _ in range(rounds):
        for k, f in forms.items():
            times[k].append(best(lambda f=f: f(*args), number))
    return {k: min(v) for k, v in times.items()}


def unbuffered(f):
    """f() with NumPy's ufunc buffer shorter than any row (so NumPy does not buffer)."""
    size = np.setbufsize(16)
    try:
        return f()
    finally:
        np.setbufsize(size)


def outer_rows(rounds: int = 3) -> None:
    outer = gradc.load_source(HELPER)._outer
    rng = np.random.default_rng(0)
    forms = {
        "einsum": lambda x, y: np.einsum("i,j->ij", x, y),
        "x[:, None] * y": lambda x, y: x[:, None] * y,
        "unbuffered": lambda x, y: unbuffered(lambda: x[:, None] * y),
        "_outer": outer,
    }
    print("| m x n | " + " | ".join(f"{k} us" for k in forms) + " | _outer / einsum |")
    print("|---" * (len(forms) + 2) + "|")
    for m, n in OUTER_SHAPES:
        x, y = rng.standard_normal(m), rng.standard_normal(n)
        number = max(5, 300_000 // (m * n + 500))
        t = best_of_rounds(forms, (x, y), number, rounds)
        cells = " | ".join(f"{t[k]:.2f}" for k in forms)
        print(f"| {m}x{n} | {cells} | {t['_outer'] / t['einsum']:.2f} |")


def row_and_column(rounds: int = 3) -> None:
    """A + row and A + column into a new array: left buffered in the emitted code, as
    unbuffered is slower where rows are short (100) and the shape is symbolic."""
    rng = np.random.default_rng(1)
    forms = {
        "full": lambda a, b, row, col: a + b,
        "row": lambda a, b, row, col: a + row,
        "row unbuffered": lambda a, b, row, col: unbuffered(lambda: a + row),
        "col": lambda a, b, row, col: a + col,
        "col unbuffered": lambda a, b, row, col: unbuffered(lambda: a + col),
    }
    print(
        "\n| N x D | A + B us | A + row us | unbuffered | A + column us | unbuffered |"
    )
    print("|---|---|---|---|---|---|")
    for m, n in BROADCAST_SHAPES:
        a, b = rng.standard_normal((m, n)), rng.standard_normal((m, n))
        row, col = rng.standard_normal(n), rng.standard_normal((m, 1))
        number = max(5, 2_000_000 // (m * n))
        t = best_of_rounds(forms, (a, b, row, col), number, rounds)
        print(f"| {m}x{n} | " + " | ".join(f"{t[k]:.1f}" for k in forms) + " |")


if __name__ == "__main__":
    print(f"numpy {np.__version__}, buffer size {np.getbufsize()}")
    outer_rows()
    row_and_column()
