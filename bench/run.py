"""gradc benchmark: emitted code vs hand-written NumPy and optional peers, side by side.

    python bench/run.py              # full profile (about 7 minutes on 2 cores), compile times too
    python bench/run.py --quick      # drops the largest sizes; under two minutes
    python bench/run.py --case logreg --case rosenbrock --no-compile
    python bench/run.py --compile    # only the compile-time section (bench/compile_time.py)

For every case and size the systems are timed in one process, interleaved per
repeat (the order rotates each repeat), each measurement a batch of calls lasting at
least ~20 ms; ratios are medians of the per-repeat ratios.  Every system's
gradient is checked against the hand-written one (norm-wise relative error
max|g - g_hand| / max|g_hand| <= 1e-8, float64).  The table goes to stdout and all
numbers to bench/results.json (or --json PATH).  Targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _pin_threads(argv: list[str]) -> str | None:
    """Apply --threads N before NumPy (and its BLAS) is imported."""
    n = "1"
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
        elif arg.startswith("--threads="):
            n = arg.split("=", 1)[1]
    if not n.isdigit() or int(n) < 1:
        return None  # --threads 0: leave every library its own default
    for var in THREAD_VARS:
        os.environ[var] = n
    os.environ["GRADC_BENCH_THREADS"] = n  # read by peers.py for torch
    if n == "1":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()
    return n


if __name__ == "__main__":
    _pin_threads(sys.argv[1:])

import numpy as np  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import peers  # noqa: E402
from handwritten import CASES, as_tuple, float_elements, rel_err  # noqa: E402

GRAD_RTOL = 1e-8
JAX_ELEMENT_LIMIT = 10_000

PROFILES = {
    # batch: minimum seconds per measurement; budget: seconds per (case, size);
    # repeats: (min, max) interleaved repeats.
    "full": {"batch": 0.020, "budget": 6.0, "repeats": (5, 31)},
    "quick": {"batch": 0.020, "budget": 1.5, "repeats": (3, 11)},
}


# ---------------------------------------------------------------------------
# Timing


def _batch(fn: Callable[[], Any], k: int) -> float:
    """Seconds for k calls of fn (garbage collector off, as timeit does)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        return time.perf_counter() - t0
    finally:
        if gc_was:
            gc.enable()


def calibrate(fn: Callable[[], Any], target: float) -> tuple[int, float]:
    """Calls per batch so a batch lasts >= target seconds; (k, seconds per call)."""
    k = 1
    while True:
        t = _batch(fn, k)
        if t >= target or k >= 1 << 24:
            return k, t / k
        k = max(2 * k, math.ceil(1.2 * k * target / max(t, 1e-9)))


def time_interleaved(
    systems: dict[str, Callable[[], Any]], profile: dict
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Per-call seconds for each system and repeat, systems interleaved per repeat."""
    names = list(systems)
    ks: dict[str, int] = {}
    per_call: dict[str, float] = {}
    for name in names:
        ks[name], per_call[name] = calibrate(systems[name], profile["batch"])
    per_repeat = sum(ks[n] * per_call[n] for n in names)
    lo, hi = profile["repeats"]
    repeats = int(min(hi, max(lo, profile["budget"] // max(per_repeat, 1e-9))))
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_batch(systems[name], ks[name]) / ks[name])
    return samples, ks


def paired_ratio(samples: dict[str, list[float]], num: str, den: str) -> float | None:
    if num not in samples or den not in samples:
        return None
    return statistics.median(a / b for a, b in zip(samples[num], samples[den]))


# ---------------------------------------------------------------------------
# gradc


def load_gradc(fuse: bool) -> tuple[Any, str | None]:
    try:
        import cli  # this checkout's cli.py (ROOT is on sys.path)

        cli.use_checkout()  # gradc from this checkout, not the installed one
        import gradc

        gradc.load_source  # noqa: B018
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"
    return gradc, None


def gradc_module(gradc, case_name: str, fuse: bool):
    path = BENCH / "cases" / f"{case_name}.grad"
    rel = path.relative_to(ROOT).as_posix()
    return gradc.load_source(path.read_text(), filename=rel, fuse=fuse)


# ---------------------------------------------------------------------------
# One case and size


def _fmt_dims(dims: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in dims.items())


def _copy_inputs(inputs: tuple) -> tuple:
    return tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in inputs)


def check_result(value, grads: tuple, ref_value, ref_grads: tuple, inputs, wrt) -> dict:
    """Compare one system's value and gradients with the hand-written ones."""
    errs = []
    shapes_ok = True
    for g, r, i in zip(grads, ref_grads, wrt):
        if np.shape(g) != np.shape(inputs[i]):
            shapes_ok = False
        errs.append(rel_err(g, r))
    if len(grads) != len(ref_grads):
        shapes_ok = False
        errs.append(math.inf)
    value_err = abs(float(value) - float(ref_value)) / max(
        abs(float(ref_value)), 1e-300
    )
    grad_err = max(errs) if errs else math.inf
    return {
        "ok": bool(shapes_ok and grad_err <= GRAD_RTOL and value_err <= GRAD_RTOL),
        "grad_rel_err": grad_err,
        "value_rel_err": value_err,
        "shapes_ok": shapes_ok,
    }


def bench_one(case, size, mod, peer_names: list[str], profile: dict, seed: int) -> dict:
    inputs = case.inputs(size.dims, seed)
    pristine = _copy_inputs(inputs)
    systems: dict[str, Callable[[], Any]] = {}
    notes: list[str] = []
    checks: dict[str, dict] = {}

    ref_value, ref_grads = case.vg(*inputs)
    ref_grads = as_tuple(ref_grads)

    if mod is not None:
        f = getattr(mod, case.name)
        f_vg = getattr(mod, f"{case.name}_value_and_grad")
        systems["gradc_fwd"] = lambda: f(*inputs)
        systems["gradc_vg"] = lambda: f_vg(*inputs)
        try:
            value, grads = f_vg(*inputs)
            checks["gradc"] = check_result(
                value, as_tuple(grads), ref_value, ref_grads, inputs, case.wrt
            )
            fwd_value = f(*inputs)
            checks["gradc"]["fwd_value_rel_err"] = abs(
                float(fwd_value) - float(ref_value)
            ) / max(abs(float(ref_value)), 1e-300)
            if checks["gradc"]["fwd_value_rel_err"] > GRAD_RTOL:
                checks["gradc"]["ok"] = False
        except Exception as exc:  # noqa: BLE001
            checks["gradc"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            del systems["gradc_fwd"], systems["gradc_vg"]
    systems["hand_fwd"] = lambda: case.fwd(*inputs)
    systems["hand_vg"] = lambda: case.vg(*inputs)

    for peer in peer_names:
        try:
            call, extract = peers.build(peer, case.name, inputs, case.wrt)
            value, grads = extract(call())  # also the warm-up (JAX compiles here)
            checks[peer] = check_result(
                value, grads, ref_value, ref_grads, inputs, case.wrt
            )
            systems[peer] = call
        except Exception as exc:  # noqa: BLE001
            checks[peer] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            notes.append(f"{peer} failed: {type(exc).__name__}: {exc}")

    gc.collect()
    samples, ks = time_interleaved(systems, profile)

    for a, b in zip(inputs, pristine):
        if not np.array_equal(a, b):
            notes.append("an input was modified in place during the run")
            break

    medians = {n: statistics.median(s) for n, s in samples.items()}
    ratios = {
        "vg/hand_vg": paired_ratio(samples, "gradc_vg", "hand_vg"),
        "vg/fwd": paired_ratio(samples, "gradc_vg", "gradc_fwd"),
        "hand_vg/hand_fwd": paired_ratio(samples, "hand_vg", "hand_fwd"),
        "fwd/hand_fwd": paired_ratio(samples, "gradc_fwd", "hand_fwd"),
    }
    for peer in peer_names:
        ratios[f"{peer}/gradc"] = paired_ratio(samples, peer, "gradc_vg")
        ratios[f"{peer}/hand"] = paired_ratio(samples, peer, "hand_vg")
    return {
        "case": case.name,
        "size": size.label,
        "dims": size.dims,
        "float_elements": float_elements(inputs),
        "repeats": len(next(iter(samples.values()))),
        "calls_per_batch": ks,
        "median_seconds": medians,
        "ratios": ratios,
        "checks": checks,
        "notes": notes,
    }


# ---------------------------------------------------------------------------
# Report


def _r(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _t(x: float | None) -> str:
    if x is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x * 1e9:.3g} ns"


COLUMNS = [
    ("gradc vg", None),
    ("vg/hand", "vg/hand_vg"),
    ("vg/fwd", "vg/fwd"),
    ("jax/gradc", "jax/gradc"),
    ("torch/gradc", "torch/gradc"),
    ("autograd/gradc", "autograd/gradc"),
]


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'case':15s} {'size':17s}"
        + "".join(f"{c:>15s}" for c, _ in COLUMNS)
        + "  grad check"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        cells = []
        for _title, key in COLUMNS:
            if key is None:
                cells.append(_t(row["median_seconds"].get("gradc_vg")))
            else:
                cells.append(_r(row["ratios"].get(key)))
        bad = [
            f"{name}({c.get('error') or format(c['grad_rel_err'], '.1e')})"
            for name, c in row["checks"].items()
            if not c["ok"]
        ]
        worst = max(
            (c["grad_rel_err"] for c in row["checks"].values() if "grad_rel_err" in c),
            default=None,
        )
        check = (
            "FAIL " + " ".join(bad)
            if bad
            else f"ok (max {worst:.0e})"
            if worst is not None
            else "-"
        )
        print(
            f"{row['case']:15s} {row['size']:17s}"
            + "".join(f"{c:>15s}" for c in cells)
            + "  "
            + check
        )
        for note in row["notes"]:
            print(f"{'':31s}note: {note}")


def summarize(rows: list[dict], peer_names: list[str]) -> dict:
    def col(key, pred=lambda row: True):
        return [
            (row["ratios"][key], f"{row['case']} {row['size']}")
            for row in rows
            if row["ratios"].get(key) is not None and pred(row)
        ]

    out: dict[str, Any] = {}
    vh = col("vg/hand_vg")
    if vh:
        vals = [v for v, _ in vh]
        out["vg/hand_vg"] = {
            "median": statistics.median(vals),
            "max": max(vals),
            "argmax": max(vh)[1],
            "above_1.25": [w for v, w in vh if v > 1.25],
            "target": "median <= 1.0 and none above 1.25",
            "met": statistics.median(vals) <= 1.0 and max(vals) <= 1.25,
        }
    vf = col("vg/fwd")
    if vf:
        vals = [v for v, _ in vf]
        out["vg/fwd"] = {
            "median": statistics.median(vals),
            "max": max(vals),
            "argmax": max(vf)[1],
            "target": "median <= 2.2",
            "met": statistics.median(vals) <= 2.2,
        }
    for peer in peer_names:
        if peer == "jax":
            pc = col("jax/gradc", lambda row: row["float_elements"] < JAX_ELEMENT_LIMIT)
            target = f"gradc faster (ratio > 1) where inputs have < {JAX_ELEMENT_LIMIT} elements"
        else:
            pc = col(f"{peer}/gradc")
            target = "gradc faster (ratio > 1) everywhere"
        if not pc:
            continue
        vals = [v for v, _ in pc]
        out[f"{peer}/gradc"] = {
            "median": statistics.median(vals),
            "min": min(vals),
            "argmin": min(pc)[1],
            "slower_than_peer": [w for v, w in pc if v <= 1.0],
            "target": target,
            "met": min(vals) > 1.0,
        }
    failed = [
        f"{row['case']} {row['size']}: {name}"
        for row in rows
        for name, c in row["checks"].items()
        if not c["ok"]
    ]
    out["gradient_checks"] = {"failed": failed, "met": not failed}
    return out


def print_summary(summary: dict) -> None:
    print("\nTargets (reported, not asserted):")
    for key, s in summary.items():
        if key == "gradient_checks":
            continue
        mark = "met    " if s["met"] else "NOT met"
        if "max" in s:
            detail = f"median {s['median']:.2f}, max {s['max']:.2f} ({s['argmax']})"
            if s.get("above_1.25"):
                detail += f"; above 1.25: {', '.join(s['above_1.25'])}"
        else:
            detail = f"median {s['median']:.2f}, min {s['min']:.2f} ({s['argmin']})"
            if s["slower_than_peer"]:
                detail += f"; peer faster at: {', '.join(s['slower_than_peer'])}"
        print(f"  [{mark}] {key:15s} {s['target']}: {detail}")
    gcheck = summary["gradient_checks"]
    if gcheck["met"]:
        print(
            f"  [met    ] gradients      every system within rtol {GRAD_RTOL:g} of the hand-written one"
        )
    else:
        print(f"  [NOT met] gradients      mismatches: {'; '.join(gcheck['failed'])}")


def machine_info(peer_versions: dict) -> dict:
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": os.environ.get("GRADC_BENCH_THREADS", "library defaults"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "peers": peer_versions,
    }
    try:
        import sympy

        info["sympy"] = sympy.__version__
    except ImportError:
        pass
    info["cpu"] = cpu_model()
    info["numpy_float64_loops"] = numpy_loops()
    return info


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_loops() -> dict[str, str] | None:
    """Which compiled variant of NumPy's float64 exp, log and tanh loops this CPU runs
    (``numpy.lib.introspect.opt_func_info``, NumPy 2.1 and later): on x86, ``X86_V4`` is
    AVX-512, where NumPy's float64 exp and log are vectorised; ``X86_V3`` is AVX2, where
    they are not (a peer with its own vector math, PyTorch's, is then faster on large
    transcendental-bound arrays: bench/README.md, "An AVX2 machine under load")."""
    try:
        from numpy.lib.introspect import opt_func_info
    except ImportError:
        return None
    info = opt_func_info(func_name="^(exp|log|tanh)$", signature="float64")
    try:
        return {
            name: next(iter(sigs.values()))["current"]
            for name, sigs in sorted(info.items())
        }
    except (AttributeError, KeyError, StopIteration, TypeError):
        return None  # a layout of this report other than NumPy 2.1-2.4's


def machine_probe() -> dict[str, float]:
    """Two fixed workloads timed now (best of 5, milliseconds): NumPy's exp over 10 ** 6
    float64 values and a Python loop of 10 ** 6 additions. Taken at the start and the end
    of a run, they show whether the machine's speed moved during it (a shared host): then
    read the ratios, measured side by side, not the times."""
    x = np.linspace(-2.0, 2.0, 10**6)

    def python_loop() -> int:
        total = 0
        for i in range(10**6):
            total += i
        return total

    probe = {}
    for name, work in (
        ("numpy_exp_1e6_ms", lambda: np.exp(x)),
        ("python_loop_1e6_ms", python_loop),
    ):
        best = math.inf
        for _ in range(5):
            t0 = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - t0)
        probe[name] = best * 1e3
    return probe


def probe_text(probe: dict[str, float]) -> str:
    """A probe (``machine_probe``) as one line."""
    return (
        f"np.exp over 1e6 values {probe['numpy_exp_1e6_ms']:.2f} ms, "
        f"a Python loop of 1e6 additions {probe['python_loop_1e6_ms']:.1f} ms"
    )


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gradc benchmark harness")
    ap.add_argument(
        "--quick", action="store_true", help="drop the largest sizes (< 2 minutes)"
    )
    ap.add_argument(
        "--json", default=str(BENCH / "results.json"), help="where to write the JSON"
    )
    ap.add_argument("--case", action="append", help="run only this case (repeatable)")
    ap.add_argument(
        "--peers", default=",".join(peers.PEERS), help="comma list, or 'none'"
    )
    ap.add_argument(
        "--no-fuse", action="store_true", help="benchmark gradc's unfused output"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="pin BLAS/OpenMP, torch and XLA to N threads (default 1; 0: library defaults)",
    )
    grp = ap.add_mutually_exclusive_group()
    grp.add_argument(
        "--compile", action="store_true", help="only the compile-time section"
    )
    grp.add_argument(
        "--no-compile", action="store_true", help="skip the compile-time section"
    )
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    profile_name = "quick" if args.quick else "full"
    profile = PROFILES[profile_name]
    gradc, why = load_gradc(not args.no_fuse)
    if gradc is None:
        print(
            f"note: gradc not importable ({why}); timing hand-written code and peers only"
        )

    result: dict[str, Any] = {"profile": profile_name, "fuse": not args.no_fuse}
    threads = os.environ.get("GRADC_BENCH_THREADS", "library defaults")
    print(
        f"gradc bench, {profile_name} profile, threads: {threads}, "
        f"numpy {np.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    loops = numpy_loops()
    if loops:
        variants = ", ".join(f"{name} {v}" for name, v in loops.items())
        print(f"cpu: {cpu_model()}; NumPy's float64 loops: {variants}")
    probe_start = machine_probe()
    result["probe"] = {"start": probe_start}
    print(f"probe at the start: {probe_text(probe_start)}")
    if not args.compile:
        wanted = [p for p in args.peers.split(",") if p and p != "none"]
        if set(wanted) - set(peers.PEERS):
            ap.error(f"--peers: choose from {', '.join(peers.PEERS)} or none")
        peer_names, peer_versions = [], {}
        for peer in wanted:
            ok, info = peers.load(peer)
            peer_versions[peer] = info if ok else None
            if ok:
                peer_names.append(peer)
                print(f"peer: {peer} {info}")
            else:
                print(f"note: skipping peer {peer}: {info}")
        result["machine"] = machine_info(peer_versions)

        cases = [c for c in CASES if not args.case or c.name in args.case]
        unknown = set(args.case or ()) - {c.name for c in CASES}
        if unknown:
            ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
        rows = []
        for case in cases:
            mod = None
            if gradc is not None:
                try:
                    mod = gradc_module(gradc, case.name, not args.no_fuse)
                except Exception as exc:  # noqa: BLE001
                    print(
                        f"note: gradc failed to compile {case.name}: {type(exc).__name__}: {exc}"
                    )
            for size in case.sizes:
                if args.quick and not size.quick:
                    continue
                print(f"  {case.name} {size.label} ...", file=sys.stderr, flush=True)
                rows.append(bench_one(case, size, mod, peer_names, profile, args.seed))
                if mod is None:
                    rows[-1]["notes"].append("gradc not available")
        print()
        print_table(rows)
        summary = summarize(rows, peer_names)
        print_summary(summary)
        result["runtime"] = rows
        result["targets"] = summary

    if not args.no_compile:
        if gradc is None:
            print("note: compile-time section skipped (gradc not importable)")
        else:
            import compile_time

            print()
            result["compile"] = compile_time.run(gradc, quick=args.quick)

    probe_end = machine_probe()
    result["probe"]["end"] = probe_end
    drift = max(probe_end[k] / probe_start[k] for k in probe_end)
    drift = max(drift, max(probe_start[k] / probe_end[k] for k in probe_end))
    print(f"\nprobe at the end: {probe_text(probe_end)}")
    if drift > 1.2:
        print(
            f"note: the probe moved {drift:.1f}x during the run (a shared host): "
            "read the ratios, measured side by side, rather than the times"
        )
    result["wall_seconds"] = time.perf_counter() - t_start
    path = Path(args.json)
    path.write_text(json.dumps(_finite(result), indent=1, default=_json_default) + "\n")
    print(f"\nwrote {path} ({result['wall_seconds']:.0f} s)")
    return 0


def _finite(obj):
    """Non-finite floats as strings, so the JSON stays strict."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not math.isfinite(obj):
        return str(float(obj))
    return obj


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


if __name__ == "__main__":
    sys.exit(main())
