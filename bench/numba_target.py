"""The numba target (issue 21), side by side with the NumPy target and the peers.

    python bench/numba_target.py                    # both sections, --quick sizes
    python bench/numba_target.py --section runtime [--case NAME ...] [--full]
    python bench/numba_target.py --section latency
    python bench/numba_target.py --section threshold   # the chain's kernel by size
    python bench/numba_target.py --section whole [--case NAME]  # whole kernels by size
    python bench/numba_target.py --section derived [--case NAME]  # forward, jvp, hvp
    python bench/numba_target.py --section stages   # kernels in stages vs one loop

1. ``runtime``: every case of bench/cases (its --quick sizes; ``--full``: all): the
   numba target's ``f_value_and_grad`` beside the NumPy target's, hand-written NumPy
   (bench/handwritten.py), JAX ``jit``, PyTorch eager, HIPS autograd (bench/peers.py)
   and PyTensor compiled with ``mode="NUMBA"`` (``trust_input``: its best case), each
   checked against the hand-written gradients (1e-8) before timing, timed interleaved
   in one process as bench/run.py does; a ratio is the median of per-repeat ratios.
2. ``latency``: the first call in a fresh process: the numba target's module imported
   from a file and called once with an empty cache (cold) and again with the cache its
   first process left (warm); PyTensor's ``function(..., mode="NUMBA")`` plus its first
   call (its compile directory fresh, then reused); JAX's first ``jit`` call.

One thread per library (as bench/run.py).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import cli  # noqa: E402

cli.use_checkout()
import peers  # noqa: E402
from handwritten import CASES  # noqa: E402
from run import PROFILES, as_tuple, check_result, paired_ratio, time_interleaved  # noqa: E402

import gradc  # noqa: E402
from gradc.backend import numba_stages, numba_whole  # noqa: E402

PEERS = ("jax", "pytensor", "torch", "autograd")


def module(case: str, target: str, **kw):
    path = BENCH / "cases" / f"{case}.grad"
    text, rel = path.read_text(), path.relative_to(ROOT).as_posix()
    return gradc.load_source(text, filename=rel, target=target, **kw)


def pytensor_build(case_name: str, inputs: tuple, wrt: tuple[int, ...]):
    """(call, extract) of PyTensor's value and gradient, compiled with mode="NUMBA"."""
    import pytensor
    import pytensor.tensor as pt

    def relu(x):
        return pt.maximum(x, 0.0)

    def logsumexp(x, axis=None, keepdims=False):
        return pt.logsumexp(x, axis=axis, keepdims=keepdims)

    fns = peers._numpy_like_formulas(pt, logsumexp, pt.sigmoid, relu)
    syms, args = [], []
    for a in inputs:
        a = np.asarray(a)
        dtype = "int64" if a.dtype.kind in "iu" else "float64"
        syms.append(pt.tensor(dtype=dtype, shape=(None,) * a.ndim))
        args.append(np.asarray(a, dtype=dtype))
    cost = fns[case_name](*syms)
    grads = pt.grad(cost, [syms[i] for i in wrt])
    f = pytensor.function(syms, [cost, *grads], mode="NUMBA")
    f.trust_input = True

    def call():
        return f(*args)

    def extract(result):
        return float(result[0]), tuple(np.asarray(g) for g in result[1:])

    return call, extract


def build(peer: str, case, inputs):
    if peer == "pytensor":
        return pytensor_build(case.name, inputs, case.wrt)
    return peers.build(peer, case.name, inputs, case.wrt)


def available(peer: str) -> bool:
    if peer == "pytensor":
        try:
            import pytensor  # noqa: F401
        except ImportError:
            print("  pytensor: not installed (pip install pytensor); skipped")
            return False
        return True
    ok, why = peers.load(peer)
    if not ok:
        print(f"  {peer}: {why}; skipped")
    return ok


def section_runtime(profile, names: list[str] | None, full: bool) -> None:
    print(
        "f_value_and_grad, median time; ratios: system / numba target (above 1: numba faster)"
    )
    systems_peers = [p for p in PEERS if available(p)]
    head = f"  {'case':15s} {'size':20s} {'numba':>10s} {'numpy':>7s} {'hand':>7s}"
    head += "".join(f" {p:>9s}" for p in systems_peers)
    print(head)
    for case in CASES:
        if names and case.name not in names:
            continue
        m_np, m_nb = module(case.name, "numpy"), module(case.name, "numba")
        f_np = getattr(m_np, f"{case.name}_value_and_grad")
        f_nb = getattr(m_nb, f"{case.name}_value_and_grad")
        for size in case.sizes:
            if not (size.quick or full):
                continue
            inputs = case.inputs(size.dims)
            ref_v, ref_g = case.vg(*inputs)
            ref_g = as_tuple(ref_g)
            systems = {
                "numba": functools.partial(f_nb, *inputs),
                "numpy": functools.partial(f_np, *inputs),
                "hand": functools.partial(case.vg, *inputs),
            }
            notes = []
            for name, f in (("numba", f_nb), ("numpy", f_np)):
                v, g = f(*inputs)
                chk = check_result(v, as_tuple(g), ref_v, ref_g, inputs, case.wrt)
                if not chk["ok"]:
                    notes.append(f"{name} check failed {chk}")
            for peer in systems_peers:
                try:
                    call, extract = build(peer, case, inputs)
                    v, g = extract(call())
                    chk = check_result(v, g, ref_v, ref_g, inputs, case.wrt)
                    if chk["ok"]:
                        systems[peer] = call
                    else:
                        notes.append(f"{peer} check failed")
                except Exception as exc:  # noqa: BLE001
                    notes.append(f"{peer}: {type(exc).__name__}: {str(exc)[:80]}")
            samples, _ = time_interleaved(systems, profile)
            t = statistics.median(samples["numba"])
            row = f"  {case.name:15s} {size.label:20s} {fmt(t):>10s}"
            for other in ("numpy", "hand", *systems_peers):
                r = paired_ratio(samples, other, "numba") if other in samples else None
                row += f" {r:7.2f}" if r is not None else f" {'-':>7s}"
                if other in systems_peers:
                    row += "  "
            print(row + ("  " + "; ".join(notes) if notes else ""), flush=True)


def fmt(t: float) -> str:
    return f"{t * 1e6:.1f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms"


LATENCY_CASES = ("elementwise", "rosenbrock", "two_layer", "softmax_loss")

GRADC_CHILD = """
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {folder!r}); sys.path[:0] = [{bench!r}]
from handwritten import CASES
case = next(c for c in CASES if c.name == {case!r})
inputs = case.inputs(case.sizes[0].dims)
import importlib
t1 = time.perf_counter()
m = importlib.import_module("mod")
getattr(m, {case!r} + "_value_and_grad")(*inputs)
print(time.perf_counter() - t1)
"""

PYTENSOR_CHILD = """
import sys, time, os
sys.path[:0] = [{bench!r}]
from handwritten import CASES
import numba_target
case = next(c for c in CASES if c.name == {case!r})
inputs = case.inputs(case.sizes[0].dims)
t1 = time.perf_counter()
call, _ = numba_target.build({peer!r}, case, inputs)
call()
print(time.perf_counter() - t1)
"""


def child(code: str, env: dict) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def section_latency() -> None:
    print("first call in a fresh process (seconds): compile + first value_and_grad")
    print(
        f"  {'case':13s} {'numba cold':>11s} {'numba warm':>11s} {'pytensor cold':>14s} "
        f"{'pytensor warm':>14s} {'jax jit':>8s}"
    )
    for name in LATENCY_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            path = BENCH / "cases" / f"{name}.grad"
            text = gradc.compile_source(path.read_text(), target="numba")
            Path(tmp, "mod.py").write_text(text)
            code = GRADC_CHILD.format(folder=tmp, bench=str(BENCH), case=name)
            cold, warm = child(code, {}), child(code, {})
            flags = {"PYTENSOR_FLAGS": f"compiledir={tmp}/pt"}
            pt = [None, None]
            if available("pytensor"):
                pcode = PYTENSOR_CHILD.format(
                    bench=str(BENCH), case=name, peer="pytensor"
                )
                pt = [child(pcode, flags), child(pcode, flags)]
            jcode = PYTENSOR_CHILD.format(bench=str(BENCH), case=name, peer="jax")
            jx = child(jcode, {})
        cells = [cold, warm, *pt, jx]
        print(
            f"  {name:13s} "
            + " ".join(
                f"{c:>11.2f}" if c is not None else f"{'-':>11s}" for c in cells
            ),
            flush=True,
        )


# the chain with sin in place of tanh: sin and cos (its derivative) stay libm calls
SIN_CHAIN = """def elementwise(x: Vector[n]) -> Scalar:
    return sum(sin(sigmoid(x) * exp(-x ** 2)) + log(1 + x ** 2))
"""


def section_threshold(profile) -> None:
    """The elementwise chain's kernel against the NumPy target's statements, by size:
    its exp, tanh, log1p and sigmoid are vectorisable helpers (no size limit); with sin
    for tanh, two libm calls per element (sin, cos), where SIZE_BUDGET // 2 applies."""
    pairs = {
        "chain": (module("elementwise", "numpy"), module("elementwise", "numba")),
        "sin chain": tuple(
            gradc.load_source(SIN_CHAIN, filename="sin_chain.grad", target=t)
            for t in ("numpy", "numba")
        ),
    }
    for label, (m_np, m_nb) in pairs.items():
        print(f"elementwise {label}: NumPy target / its numba kernel, by size")
        kernel = m_nb._elementwise_value_and_grad_k1
        for n in (100, 250, 500, 1000, 2000, 4000, 16000, 100_000, 1_000_000):
            x = np.random.default_rng(0).normal(size=n)
            kernel(x)
            samples, _ = time_interleaved(
                {
                    "kernel": functools.partial(kernel, x),
                    "numpy": functools.partial(m_np.elementwise_value_and_grad, x),
                },
                profile,
            )
            r = paired_ratio(samples, "numpy", "kernel")
            t = statistics.median(samples["kernel"])
            print(f"  n={n:7d} kernel {fmt(t):>10s}  numpy/kernel {r:5.2f}", flush=True)


# sizes around the whole-function kernels' limit (4096 elements of the largest inputs)
WHOLE_SIZES = {
    "two_layer": [
        {"N": 8, "D": 16, "H": 16, "C": 4},
        {"N": 16, "D": 32, "H": 32, "C": 10},
        {"N": 32, "D": 64, "H": 32, "C": 10},
        {"N": 64, "D": 128, "H": 64, "C": 10},
    ],
    "softmax_loss": [
        {"N": 16, "D": 32, "C": 10},
        {"N": 32, "D": 64, "C": 10},
        {"N": 64, "D": 128, "C": 10},
        {"N": 128, "D": 256, "C": 10},
    ],
    "logreg": [{"n": 32, "d": 8}, {"n": 128, "d": 16}, {"n": 256, "d": 32}],
    "layernorm": [
        {"N": 8, "D": 16},
        {"N": 16, "D": 64},
        {"N": 32, "D": 100},
        {"N": 64, "D": 100},
        {"N": 256, "D": 256},
        {"N": 1024, "D": 512},
        {"N": 2048, "D": 1024},
    ],
    "batchnorm": [
        {"N": 8, "D": 16},
        {"N": 16, "D": 64},
        {"N": 32, "D": 100},
        {"N": 64, "D": 100},
        {"N": 256, "D": 256},
        {"N": 1024, "D": 512},
        {"N": 2048, "D": 1024},
    ],
    "rosenbrock": [{"n": 10}, {"n": 500}, {"n": 1000}, {"n": 2000}, {"n": 4000}],
    "huber": [{"n": 100}, {"n": 500}, {"n": 1000}, {"n": 2000}, {"n": 4000}],
    "norm_sq": [{"n": 16}, {"n": 32}, {"n": 64}],
}


LIMITS = ("WHOLE_LIMIT", "LOOP_LIMIT", "VECTOR_LIMIT")


def limited(case: str, limit: int, budget: int, **kw):
    """The numba target's module of ``case`` compiled with the whole kernels' limits
    (``WHOLE_LIMIT``, ``LOOP_LIMIT``, ``VECTOR_LIMIT``) set to ``limit`` elements and
    ``budget`` (libm calls)."""
    saved = [getattr(numba_whole, k) for k in (*LIMITS, "SIZE_BUDGET")]
    for k in LIMITS:
        setattr(numba_whole, k, limit)
    numba_whole.SIZE_BUDGET = budget
    try:
        return module(case, "numba", **kw)
    finally:
        for k, v in zip((*LIMITS, "SIZE_BUDGET"), saved):
            setattr(numba_whole, k, v)


def derived_calls(m, name: str, x: list, wrt: tuple) -> dict:
    """``f_forward`` then ``f_backward``, ``f_jvp`` and ``f_hvp`` of module ``m`` on
    ``x`` (tangents: the differentiated inputs themselves)."""
    fwd, bwd = getattr(m, f"{name}_forward"), getattr(m, f"{name}_backward")
    t = [x[k] for k in wrt]

    def fwd_bwd():
        return bwd(1.0, fwd(*x)[1])

    return {
        "fwd+bwd": fwd_bwd,
        "jvp": functools.partial(getattr(m, f"{name}_jvp"), *x, *t),
        "hvp": functools.partial(getattr(m, f"{name}_hvp"), *x, *t),
    }


def section_derived(profile, names: list[str] | None) -> None:
    """``f_forward`` + ``f_backward``, ``f_jvp`` and ``f_hvp`` at the --quick sizes under
    the whole kernels' limits: the numba target (whole kernels), the same module without
    them (its statements: limit -1) and the NumPy target, interleaved."""
    print(
        "time of the numba target; statements / it, NumPy target / it (above 1: faster)"
    )
    print(
        f"  {'case':13s} {'size':14s}"
        + "".join(f" {k:>26s}" for k in ("fwd+bwd", "jvp", "hvp"))
    )
    for case in CASES:
        if names and case.name not in names:
            continue
        mods = {
            "whole": module(case.name, "numba", jvp=True, hvp=True),
            "stmts": limited(case.name, -1, 1536, jvp=True, hvp=True),
            "numpy": module(case.name, "numpy", jvp=True, hvp=True),
        }
        for size in case.sizes:
            if not size.quick:
                continue
            x = list(case.inputs(size.dims))
            row = f"  {case.name:13s} {size.label:14s}"
            for kind in ("fwd+bwd", "jvp", "hvp"):
                try:
                    systems = {
                        k: derived_calls(m, case.name, x, case.wrt)[kind]
                        for k, m in mods.items()
                    }
                except AttributeError:  # no f_forward: a scalar circuit
                    row += f" {'-':>26s}"
                    continue
                for f in systems.values():
                    f()
                samples, _ = time_interleaved(systems, profile)
                t = statistics.median(samples["whole"])
                a = paired_ratio(samples, "stmts", "whole")
                b = paired_ratio(samples, "numpy", "whole")
                row += f" {fmt(t):>12s} {a:6.2f} {b:6.2f}"
            print(row, flush=True)


def section_whole(profile, names: list[str] | None) -> None:
    """Whole-function kernels by size: the kernel at every size (limits lifted), the
    statements it replaces (today's numba code: limit 0) and the NumPy target."""
    print(
        "whole-function kernel by size: time, and other / kernel (above 1: kernel faster)"
    )
    for name in names or WHOLE_SIZES:
        case = next(c for c in CASES if c.name == name)
        fn = f"{name}_value_and_grad"
        whole = getattr(limited(name, 10**12, 10**12), fn)
        stmts = getattr(limited(name, -1, 1536), fn)
        numpy = getattr(module(name, "numpy"), fn)
        for dims in WHOLE_SIZES[name]:
            x = case.inputs(dims)
            systems = {
                k: functools.partial(f, *x)
                for k, f in (("whole", whole), ("stmts", stmts), ("numpy", numpy))
            }
            for f in systems.values():
                f()
            samples, _ = time_interleaved(systems, profile)
            t = statistics.median(samples["whole"])
            size = "x".join(str(v) for v in dims.values())
            print(
                f"  {name:13s} {size:16s} kernel {fmt(t):>10s}"
                f"  statements/kernel {paired_ratio(samples, 'stmts', 'whole'):5.2f}"
                f"  numpy/kernel {paired_ratio(samples, 'numpy', 'whole'):5.2f}",
                flush=True,
            )


def one_loop(case: str):
    """The numba target's module of ``case`` with its kernels in one loop each (no
    stages: ``numba_stages.SPLIT_WEIGHT`` out of reach)."""
    saved = numba_stages.SPLIT_WEIGHT
    numba_stages.SPLIT_WEIGHT = 10**9
    try:
        return module(case, "numba")
    finally:
        numba_stages.SPLIT_WEIGHT = saved


def section_stages(profile) -> None:
    """Kernels in stages (``numba_stages``) against the same kernels as one loop, by
    size: the chain's value and gradient (four helper calls: two stages of two) and
    logreg's (three: two stages)."""
    print("kernels in stages: time, and one loop / stages (above 1: stages faster)")
    for name in ("elementwise", "logreg"):
        case = next(c for c in CASES if c.name == name)
        fn = f"{name}_value_and_grad"
        staged, single = getattr(module(name, "numba"), fn), getattr(one_loop(name), fn)
        sizes = [100, 1000, 10_000, 100_000, 1_000_000]
        dims = (
            [{"n": n} for n in sizes]
            if name == "elementwise"
            else [
                {"n": 32, "d": 8},
                {"n": 2000, "d": 16},
                {"n": 20000, "d": 20},
                {"n": 200_000, "d": 50},
            ]
        )
        for d in dims:
            x = case.inputs(d)
            systems = {
                "stages": functools.partial(staged, *x),
                "one": functools.partial(single, *x),
            }
            for f in systems.values():
                f()
            samples, _ = time_interleaved(systems, profile)
            t = statistics.median(samples["stages"])
            size = "x".join(str(v) for v in d.values())
            r = paired_ratio(samples, "one", "stages")
            print(
                f"  {name:13s} {size:12s} stages {fmt(t):>10s}  one loop/stages {r:5.2f}",
                flush=True,
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--section",
        choices=("runtime", "latency", "threshold", "whole", "derived", "stages"),
        action="append",
    )
    parser.add_argument("--case", action="append")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    sections = args.section or ["runtime", "latency"]
    if "runtime" in sections:
        section_runtime(PROFILES["quick"], args.case, args.full)
    if "latency" in sections:
        section_latency()
    if "threshold" in sections:
        section_threshold(PROFILES["quick"])
    if "whole" in sections:
        section_whole(PROFILES["quick"], args.case)
    if "derived" in sections:
        section_derived(PROFILES["quick"], args.case)
    if "stages" in sections:
        section_stages(PROFILES["quick"])
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"({time.time() - started:.0f} s)")
    raise SystemExit(code)
