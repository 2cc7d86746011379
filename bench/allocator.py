"""Two passes over an array: ``g * x + b`` (``g``, ``b`` rows broadcast over ``x``),
``e = g * x; e += b`` (the one temporary written in place) and ``y * x + y`` (operands of
one shape), at sizes either side of glibc's thresholds; one thread, interleaved repeats,
the best of each.

    python bench/allocator.py
    MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_MMAP_THRESHOLD_=1000000000 python bench/allocator.py

NumPy writes ``t + y`` into a temporary ``t`` of 256 KiB or more that nothing else holds
(temporary elision), but only when ``y`` has t's shape or is a scalar: ``g * x + b``
makes two (N, D) arrays and frees them together. glibc's malloc then holds a free block
at the top of its heap larger than its trim threshold (twice the largest block freed so
far, once that is above 128 KiB) and gives it back to the kernel, so the next call's
arrays are page-faulted in again. ``e = g * x; e += b`` frees one block, which stays.
The second command (thresholds beyond any block) shows the same passes without the
page faults. See bench/README.md, "Layer and batch normalisation at 1024x512" and "A
scaled product summed as one einsum".
"""

from __future__ import annotations

import os
import timeit

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

SHAPES = [(64, 100), (256, 256), (1024, 512), (4096, 1024)]
FORMS = {
    "g * x + b": "g * x + b",
    "e = g * x; e += b": "e = g * x; e += b",
    "y * x + y": "y * x + y",
}


def main() -> None:
    rng = np.random.default_rng(0)
    print(
        f"{'N x D':>10}  {'MB':>5}  " + "  ".join(f"{k:>18}" for k in FORMS) + "  ratio"
    )
    for n, d in SHAPES:
        names = {
            "x": rng.standard_normal((n, d)),
            "y": rng.standard_normal((n, d)),
            "g": rng.standard_normal(d),
            "b": rng.standard_normal(d),
        }
        number = max(1, int(2e6 / (n * d)))
        best = {k: float("inf") for k in FORMS}
        for _ in range(7):  # interleaved: both see the same machine
            for k, stmt in FORMS.items():
                t = min(timeit.repeat(stmt, globals=names, number=number, repeat=3))
                best[k] = min(best[k], t / number)
        times = "  ".join(f"{best[k] * 1e6:16.1f}us" for k in FORMS)
        ratio = best["g * x + b"] / best["e = g * x; e += b"]
        print(f"{n}x{d:<5}  {n * d * 8 / 1e6:5.1f}  {times}  {ratio:.2f}")


if __name__ == "__main__":
    main()
