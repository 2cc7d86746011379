"""Sums over arrays laid out in another axis order (issue 16, "Batch-major layout"): the
emitted ``_sum_leading``, ``_sum_trailing`` and ``_vdot_last``, which read such an array
in memory order (``_sum_strided``), against what they did before on any array that is not
C-contiguous (NumPy's ``x.sum(axis)``, ``np.einsum``), one thread, best of repeated calls
(microseconds). The arrays: (N, K, D) values laid out component-major, points innermost
as the NumPy target now makes GMM's, or points then D, summed over the points or along D, and a Fortran-ordered (N, D) matrix (what ``np.asfortranarray``, pandas'
``.to_numpy()`` of a frame of one dtype, or a transpose hands a function), summed over
its rows or columns.

    python bench/strided_sums.py
"""

from __future__ import annotations

import itertools
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import gradc  # noqa: E402

# a module whose helpers include all three
HELPERS = """
def f(a: Tensor[n, k, d], b: Tensor[n, k, d]) -> Scalar:
    return sum(sum(a * b, axis=2)) + sum(sum(a, axis=0)) + sum(sum(b, axis=2))
"""


def best(f, number: int) -> float:
    return min(timeit.repeat(f, number=number, repeat=7)) / number * 1e6


def batch_major(rng, n: int, k: int, d: int) -> np.ndarray:
    """An (n, k, d) array laid out (k, n, d) in memory."""
    return rng.standard_normal((k, n, d)).swapaxes(0, 1)


def points_inner(rng, n: int, k: int, d: int) -> np.ndarray:
    """An (n, k, d) array laid out (k, d, n) in memory, as the NumPy target makes GMM's."""
    return rng.standard_normal((k, d, n)).transpose(2, 0, 1)


def cases(rng):
    """``(label, new, old)`` pairs of calls."""
    mod = gradc.load_source(HELPERS)
    layouts = (("(K, N, D)", batch_major), ("(K, D, N)", points_inner))
    for (n, k, d), (name, make) in itertools.product(
        ((1000, 5, 2), (10000, 25, 10)), layouts
    ):
        x, y = make(rng, n, k, d), make(rng, n, k, d)
        size = f"{n}x{k}x{d} laid out {name}"
        yield (
            f"sum over points, {size}",
            lambda x=x: mod._sum_leading(x),
            lambda x=x: x.sum(0),
        )
        yield (
            f"sum along D, {size}",
            lambda x=x: mod._sum_trailing(x),
            lambda x=x: x.sum(-1),
        )
        yield (
            f"_vdot_last, {size}",
            lambda x=x, y=y: mod._vdot_last(x, y),
            lambda x=x, y=y: np.einsum("...i,...i->...", x, y),
        )
    for n, d in ((100_000, 10), (20_000, 100)):
        f = np.asfortranarray(rng.standard_normal((n, d)))
        size = f"{n}x{d} Fortran order"
        yield (
            f"sum over rows, {size}",
            lambda f=f: mod._sum_leading(f),
            lambda f=f: f.sum(0),
        )
        yield (
            f"sum along rows, {size}",
            lambda f=f: mod._sum_trailing(f),
            lambda f=f: f.sum(-1),
        )


def main() -> None:
    rng = np.random.default_rng(0)
    print("| sum | before us | now us | now/before |")
    print("|---|---|---|---|")
    for label, new, old in cases(rng):
        np.testing.assert_allclose(new(), old(), rtol=1e-10, atol=1e-10)
        number = 20
        t_old, t_new = best(old, number), best(new, number)
        print(f"| {label} | {t_old:.0f} | {t_new:.0f} | {t_new / t_old:.2f} |")


if __name__ == "__main__":
    main()
