"""The orientation of a weight gradient ``X^T g`` (``X``: N x D data, ``g``: N x C): as
the lecture writes it, ``X.T.dot(g)`` (what the hand-written code writes), against
``g.T.dot(X).T`` (what gradc emits, as HIPS autograd computes it), alone and added into
an accumulated gradient ``d_W += ...``, at the shapes of the benchmark's cases and a few
more; one BLAS thread, interleaved repeats, the best of each.

    python bench/weight_gradient.py [--repeats N]

Prints the BLAS library and its kernels (with threadpoolctl installed), each time and
the ratio X.T.dot(g) / g.T.dot(X).T (above 1: the emitted form is faster).
"""

from __future__ import annotations

import argparse
import os
import timeit

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

try:
    from threadpoolctl import threadpool_info
except ImportError:  # optional: the kernels are then not printed
    threadpool_info = None

SHAPES = [
    (8, 16, 16),  # two_layer 8x16x16x4, W1
    (64, 100, 100),
    (256, 100, 10),  # two_layer 256x3072x100x10, W2
    (256, 3072, 100),  # its W1
    (500, 3073, 10),  # softmax_loss / softmax_lse 500x3073x10
    (2048, 1000, 10),  # the Caffe-style softmax loss of issue 16
    (10000, 100, 10),
    (4096, 512, 100),
    (4096, 1024, 512),  # two_layer 4096x1024x512x10, W1
]
FORMS = {
    "alone": ("X.T.dot(g)", "g.T.dot(X).T"),
    "into d_W": ("d = 2.0 * W; d += X.T.dot(g)", "d = 2.0 * W; d += g.T.dot(X).T"),
}


def best(stmt: str, names: dict, number: int, repeats: int) -> float:
    """The best time of ``stmt`` over ``repeats`` batches of ``number`` calls."""
    return (
        min(timeit.repeat(stmt, globals=names, number=number, repeat=repeats)) / number
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for lib in threadpool_info() if threadpool_info else []:
        if lib.get("user_api") == "blas":
            print(
                f"{lib['internal_api']} {lib['version']}: {lib.get('architecture')} kernels"
            )
    print(
        f"{'N x D x C':>18}  {'form':>9}  {'X.T.dot(g)':>11}  {'g.T.dot(X).T':>12}  ratio"
    )
    for n, d, c in SHAPES:
        names = {
            "X": rng.standard_normal((n, d)),
            "g": rng.standard_normal((n, c)),
            "W": rng.standard_normal((d, c)),
        }
        number = max(1, int(2e8 / (n * d * c)))
        for form, (ours, before) in FORMS.items():
            a, b = [], []
            for _ in range(args.repeats):  # interleaved: both see the same machine
                a.append(best(ours, names, number, 1))
                b.append(best(before, names, number, 1))
            ta, tb = min(a), min(b)
            shape = f"{n}x{d}x{c}"
            print(
                f"{shape:>18}  {form:>9}  {ta * 1e6:9.1f}us  {tb * 1e6:10.1f}us  {ta / tb:.2f}"
            )


if __name__ == "__main__":
    main()
