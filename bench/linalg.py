"""``inv``, ``solve`` and ``det`` formulas: the emitted ``f_value_and_grad`` beside
hand-written NumPy of the same formula, and the two ways of writing ``A^-1 b`` side by
side (bench/README.md, "Inverses and solves").

    python bench/linalg.py            # one thread, as bench/run.py

Each row: the median of 7 interleaved repeats (a batch of at least 0.05 s each), in
microseconds; every result is checked against the hand-written one.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402

cli.use_checkout()

import gradc  # noqa: E402

FORMULAS = {
    "inv_then_product": """
def f(A: Matrix[n, n], b: Vector[n], w: Vector[n]) -> Scalar:
    Ainv = inv(A)
    return sum(w * (Ainv @ b))
""",
    "solve": """
def f(A: Matrix[n, n], b: Vector[n], w: Vector[n]) -> Scalar:
    return sum(w * solve(A, b))
""",
    "quadratic_and_det": """
def f(A: Matrix[n, n], b: Vector[n], w: Vector[n]) -> Scalar:
    return b @ solve(A, b) + 0.5 * log(abs(det(A))) + sum(w * b)
""",
}


def inv_then_product(A, b, w):
    """w^T A^-1 b: Y = inv(A); d_A = -Y^T w (Y b)^T, d_b = Y^T w, d_w = Y b."""
    Y = np.linalg.inv(A)
    x = Y.dot(b)
    yw = w.dot(Y)
    return w.dot(x), (-np.outer(yw, x), yw, x)


def solve(A, b, w):
    """w^T A^-1 b with solves: d_b = A^-T w, d_A = -d_b x^T."""
    x = np.linalg.solve(A, b)
    db = np.linalg.solve(A.T, w)
    return w.dot(x), (-np.outer(db, x), db, x)


def quadratic_and_det(A, b, w):
    """b^T A^-1 b + log|det A| / 2 + w.b: d_A = -u x^T + A^-T / 2 (u = A^-T b)."""
    x = np.linalg.solve(A, b)
    u = np.linalg.solve(A.T, b)
    _, logdet = np.linalg.slogdet(A)
    value = b.dot(x) + 0.5 * logdet + w.dot(b)
    dA = -np.outer(u, x) + 0.5 * np.linalg.inv(A).T
    return value, (dA, x + u + w, b.copy())


HAND = {
    "inv_then_product": inv_then_product,
    "solve": solve,
    "quadratic_and_det": quadratic_and_det,
}


def timed(fn, args) -> float:
    """Microseconds per call of ``fn(*args)``: a batch of at least 0.05 s."""
    count, start = 0, time.perf_counter()
    while True:
        fn(*args)
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed > 0.05:
            return elapsed / count * 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    mods = {
        name: gradc.import_module_source(gradc.compile_source(text), f"linalg_{name}")
        for name, text in FORMULAS.items()
    }
    print(f"{'case':20s} {'n':>5s} {'gradc us':>10s} {'hand us':>10s} {'ratio':>6s}")
    for n in (10, 100, 400):
        A = rng.uniform(-0.3, 0.3, (n, n)) + 1.5 * np.eye(n)
        b, w = rng.standard_normal(n), rng.standard_normal(n)
        for name, mod in mods.items():
            got, want = mod.f_value_and_grad(A, b, w), HAND[name](A, b, w)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-9)
            for g, h in zip(got[1], want[1]):
                np.testing.assert_allclose(g, h, rtol=1e-9, atol=1e-12)
            ours, hand = [], []
            for _ in range(7):
                ours.append(timed(mod.f_value_and_grad, (A, b, w)))
                hand.append(timed(HAND[name], (A, b, w)))
            o, h = statistics.median(ours), statistics.median(hand)
            print(f"{name:20s} {n:5d} {o:10.1f} {h:10.1f} {o / h:6.2f}")


if __name__ == "__main__":
    main()
