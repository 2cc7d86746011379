"""The Array API target (issue 20), measured side by side with the NumPy target.

    python bench/array_api.py                  # all three sections (quick sizes)
    python bench/array_api.py --section numpy  # array-api module on NumPy / NumPy target
    python bench/array_api.py --section float32
    python bench/array_api.py --section dask --rows 20000000 --dim 16

1. ``numpy``: every case of bench/cases at its --quick sizes: the array-api module's
   ``f_value_and_grad`` on NumPy arrays against the NumPy target's (the ratio is what
   portability costs on NumPy; the all-scalar cases get 0-d arrays, since Python
   numbers alone have no namespace, against the NumPy target's Python floats).
2. ``float32``: the array-api module on float32 NumPy arrays against float64.
3. ``dask``: logistic regression's value and gradient at rows x dim on a LocalCluster
   of 2 worker processes (X in 8 row chunks per worker, persisted in their memory;
   one ``dask.compute(value, grads)``), against the NumPy target on one array.

One thread per library (as bench/run.py). Timing: the systems of a section are timed
in turn, rotating each repeat; a ratio is the median of the per-repeat ratios.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import cli  # noqa: E402

cli.use_checkout()
from handwritten import CASES  # noqa: E402
from run import PROFILES, paired_ratio, time_interleaved  # noqa: E402

import gradc  # noqa: E402


def modules(case: str):
    path = BENCH / "cases" / f"{case}.grad"
    text, rel = path.read_text(), path.relative_to(ROOT).as_posix()
    return (
        gradc.load_source(text, filename=rel),
        gradc.load_source(text, filename=rel, target="array-api"),
    )


def arrays(inputs, dtype=None) -> list:
    """The inputs for the array-api module: float arrays (of ``dtype``), Scalars as
    Python floats, or 0-d arrays when every input is a scalar."""
    scalars_only = all(np.ndim(a) == 0 for a in inputs)
    out = []
    for a in inputs:
        if np.ndim(a) == 0 and not scalars_only:
            out.append(float(a))
        elif np.asarray(a).dtype.kind == "f" or np.ndim(a) == 0:
            out.append(np.asarray(a, dtype=dtype or np.float64))
        else:
            out.append(a)
    return out


def section_numpy(profile) -> list[float]:
    print("array-api module on NumPy arrays / NumPy target (f_value_and_grad)")
    ratios = []
    for case in CASES:
        ref, xp = modules(case.name)
        f_ref = getattr(ref, f"{case.name}_value_and_grad")
        f_xp = getattr(xp, f"{case.name}_value_and_grad")
        for size in case.sizes:
            if not size.quick:
                continue
            inputs = case.inputs(size.dims)
            args = arrays(inputs)
            samples, _ = time_interleaved(
                {
                    "numpy": functools.partial(f_ref, *inputs),
                    "xp": functools.partial(f_xp, *args),
                },
                profile,
            )
            r = paired_ratio(samples, "xp", "numpy")
            t = statistics.median(samples["numpy"])
            if size.dims:
                ratios.append(r)
            print(
                f"  {case.name:15s} {size.label:22s} numpy {t * 1e6:9.1f} us  xp/numpy {r:5.2f}"
            )
    print(
        f"  arrays (all but the scalar cases): median {statistics.median(ratios):.2f}, "
        f"max {max(ratios):.2f}"
    )
    return ratios


def section_float32(profile) -> None:
    print("array-api module on NumPy: float32 / float64 (f_value_and_grad)")
    for case in CASES:
        _, xp = modules(case.name)
        f_xp = getattr(xp, f"{case.name}_value_and_grad")
        for size in case.sizes:
            if not size.quick or not size.dims:
                continue
            inputs = case.inputs(size.dims)
            a64, a32 = arrays(inputs), arrays(inputs, np.float32)
            samples, _ = time_interleaved(
                {
                    "f64": functools.partial(f_xp, *a64),
                    "f32": functools.partial(f_xp, *a32),
                },
                profile,
            )
            r = paired_ratio(samples, "f32", "f64")
            print(f"  {case.name:15s} {size.label:22s} float32/float64 {r:5.2f}")


def section_dask(rows: int, dim: int, chunks: int, repeats: int) -> None:
    import dask
    from dask.distributed import Client, LocalCluster

    sys.path.insert(0, str(ROOT / "examples"))
    import dask_logistic

    ref = gradc.load_source(
        (ROOT / "examples" / "logistic.grad").read_text(), filename="logistic.grad"
    )
    m = dask_logistic.module()
    w, b, lam = np.linspace(-0.5, 0.5, dim), 0.1, 1e-3
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
    with Client(cluster):
        t0 = time.perf_counter()
        X, y = dask_logistic.data(rows, dim, chunks)
        dask.compute(X.sum(), y.sum())
        made = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            v, d_w, d_b = dask_logistic.value_and_grad(m, w, b, X, y, lam)
            times.append(time.perf_counter() - t0)
        Xn, yn = dask.compute(X, y)
    cluster.close()
    one = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        want = ref.logistic_loss_value_and_grad(w, b, Xn, yn, lam)
        one.append(time.perf_counter() - t0)
    err = max(abs(v - want[0]), float(np.max(np.abs(d_w - want[1][0]))))
    td, tn = statistics.median(times), statistics.median(one)
    print(
        f"logistic regression {rows}x{dim} ({X.nbytes / 1e9:.2f} GB, {chunks} chunks, "
        f"made on the workers in {made:.1f} s)"
    )
    print(
        f"  Dask, 2 worker processes: {td:.3f} s per value_and_grad (median of {repeats})"
    )
    print(f"  NumPy target, one array:  {tn:.3f} s; ratio dask/numpy {td / tn:.2f}")
    print(f"  max difference of value and d_w: {err:.1e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--section", choices=("numpy", "float32", "dask"), action="append"
    )
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    sections = args.section or ["numpy", "float32", "dask"]
    profile = PROFILES["quick"]
    if "numpy" in sections:
        section_numpy(profile)
    if "float32" in sections:
        section_float32(profile)
    if "dask" in sections:
        section_dask(args.rows, args.dim, args.chunks, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
