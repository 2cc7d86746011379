"""NumPy's float64 exp, log and tanh against PyTorch's, per element, side by side.

    python bench/vector_math.py            # 10 ** 6 values, one thread

Where PyTorch eager runs a transcendental-bound case (``elementwise`` n=1e6,
``softmax_probs`` 2048x1000) faster than gradc and than hand-written NumPy alike, the
difference is the loops themselves: NumPy vectorises float64 exp and log only in its
AVX-512 build variant (``X86_V4``); on an AVX2 CPU (``X86_V3``) they run element by
element, where PyTorch's own vector math (SLEEF) runs four lanes. This prints which
variant this CPU runs (``numpy.lib.introspect.opt_func_info``, NumPy 2.1 and later) and
the time per element of each function in both libraries, interleaved per repeat (the
order rotates), medians of 15 repeats; a multiply, bound by memory alone, is the
control. PyTorch is optional: without it only NumPy's column is printed.
"""

from __future__ import annotations

import os
import statistics
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

N = 10**6
REPEATS = 15


def per_element_ns(work, n: int = N) -> float:
    """Best of three calls of ``work``, in nanoseconds per element."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e9


def workloads(torch) -> dict[str, dict[str, object]]:
    """Each function as ``{"numpy": call, "torch": call}`` on the same 10 ** 6 values in
    [-2, 2] (log on 1 + x ** 2, inside its domain)."""
    x = np.linspace(-2.0, 2.0, N)
    pos = 1.0 + x * x
    table = {
        "exp": {"numpy": lambda: np.exp(x)},
        "log": {"numpy": lambda: np.log(pos)},
        "tanh": {"numpy": lambda: np.tanh(x)},
        "multiply": {"numpy": lambda: np.multiply(x, x)},
    }
    if torch is not None:
        tx, tpos = torch.from_numpy(x), torch.from_numpy(pos)
        table["exp"]["torch"] = lambda: torch.exp(tx)
        table["log"]["torch"] = lambda: torch.log(tpos)
        table["tanh"]["torch"] = lambda: torch.tanh(tx)
        table["multiply"]["torch"] = lambda: torch.mul(tx, tx)
    return table


def main() -> int:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    try:
        from numpy.lib.introspect import opt_func_info

        info = opt_func_info(func_name="^(exp|log|tanh)$", signature="float64")
        for name, sig in sorted(info.items()):
            print(
                f"NumPy {np.__version__} float64 {name}: runs {sig['dd']['current']} "
                f"(built: {sig['dd']['available']})"
            )
    except ImportError:
        print(f"NumPy {np.__version__}: no numpy.lib.introspect (before 2.1)")
    table = workloads(torch)
    calls = [(f, lib, call) for f, libs in table.items() for lib, call in libs.items()]
    times: dict[tuple[str, str], list[float]] = {(f, lib): [] for f, lib, _ in calls}
    for rep in range(REPEATS):
        shift = rep % len(calls)
        for f, lib, call in calls[shift:] + calls[:shift]:
            times[(f, lib)].append(per_element_ns(call))
    print()
    print(
        f"{'function':10s} {'numpy ns/elem':>14s} {'torch ns/elem':>14s} {'numpy/torch':>12s}"
    )
    for f, libs in table.items():
        t_np = statistics.median(times[(f, "numpy")])
        if "torch" in libs:
            t_t = statistics.median(times[(f, "torch")])
            print(f"{f:10s} {t_np:14.2f} {t_t:14.2f} {t_np / t_t:12.2f}")
        else:
            print(f"{f:10s} {t_np:14.2f} {'-':>14s} {'-':>12s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
