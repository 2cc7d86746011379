"""Compile-time benchmark for gradc, beside SymPy's own approach.

    python bench/compile_time.py [--quick] [--json PATH]

1. Every formula file in examples/ and bench/cases/: ``gradc.compile_file``.
2. Chain formulas ``def chain(x: Scalar) -> Scalar`` of N = 500, 1000, 2000
   statements (``t1 = sin(x) * x``, ``t2 = tanh(t1) + t1 * x``, ... cycling through
   five patterns, one of which uses the previous temporary twice): time
   ``gradc.compile_source``; compile time should grow linearly in N. Then chains of
   N = 300, 1000, 2000 statements mixing every elementwise operation (``MIXED``, each
   statement reading the two previous temporaries, as a recurrent cell does), fused
   and ``--no-fuse``.
3. The same scalar chain at depth 40 (and shallower depths, to show the growth)
   as a SymPy expression, differentiated the way SymPy users do it: ``diff`` w.r.t.
   each input, ``cse``, ``lambdify``; beside gradc's ``compile_sympy`` on the same
   expression and ``compile_source`` on the chain text.  Each depth runs in a
   subprocess with a time limit (SymPy's cost grows exponentially with depth), with
   SymPy's cache cleared before every timed step.  Building the SymPy expression
   is reported but counted on neither side.  Both gradients are evaluated at
   x = 0.3 and compared.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# {p}: the previous temporary (or x for the first statement).
PATTERNS = (
    "sin({p}) * x",
    "tanh({p}) + {p} * x",
    "sigmoid({p}) - 0.5 * x",
    "cos({p}) * x + 1",
    "exp(-{p} ** 2) * x",
)

# Every elementwise operation, mixed; {q}: the temporary before {p} (read twice: the
# fan-out of a recurrent cell, so gradients sum).
MIXED = (
    "sin({p}) * x",
    "cos({p}) + {q} * x",
    "tanh({p}) - 0.5 * {q}",
    "sigmoid({p}) * x + {q}",
    "exp(-{p} ** 2) * x",
    "log(1 + {p} ** 2) + {q}",
    "sqrt(1 + {p} * {p}) - x",
    "softplus({p}) - {q} / (1 + x ** 2)",
    "log1p(abs({p})) * x",
    "expm1(0.1 * {p}) + {q}",
    "erf({p}) * x",
    "relu({p}) + 0.1 * {q}",
    "0.01 * square({p}) + x",
    "maximum({p}, {q}) * x",
    "minimum({p}, x) + {q}",
    "clip({p}, -1, 1) * x",
    "where({p} > {q}, {p}, {q}) + x",
    "arctan2({p}, 1 + x ** 2)",
    "tan(0.1 * {p}) + {q}",
    "sign({p}) * {q} + {p}",
    "{p} / (1 + abs({q}))",
)

PROFILES = {
    "full": {
        "chain_ns": (500, 1000, 2000),
        "mixed_ns": (300, 1000, 2000),
        "chain_repeats": 2,
        "file_repeats": 5,
        "sympy_depths": (10, 20, 40),
        "sympy_timeout": 600.0,
    },
    "quick": {
        "chain_ns": (500, 1000, 2000),
        "mixed_ns": (300, 1000, 2000),
        "chain_repeats": 1,
        "file_repeats": 1,
        "sympy_depths": (10, 20),
        "sympy_timeout": 60.0,
    },
}

X_EVAL = 0.3


def chain_source(n: int, patterns=PATTERNS) -> str:
    lines = [
        f'"""A chain of {n} scalar statements (bench/compile_time.py)."""',
        "",
        "",
        "def chain(x: Scalar) -> Scalar:",
    ]
    prev, before = "x", "x"
    for k in range(1, n + 1):
        pattern = patterns[(k - 1) % len(patterns)]
        lines.append(f"    t{k} = " + pattern.format(p=prev, q=before))
        prev, before = f"t{k}", prev
    lines.append(f"    return {prev}")
    return "\n".join(lines) + "\n"


def chain_sympy(n: int):
    """The same chain as one SymPy expression in a real Symbol x: (expr, [x])."""
    import sympy as sp

    x = sp.Symbol("x", real=True)
    half = sp.Float(0.5)

    def sigmoid(t):
        return 1 / (1 + sp.exp(-t))

    builders = (
        lambda p: sp.sin(p) * x,
        lambda p: sp.tanh(p) + p * x,
        lambda p: sigmoid(p) - half * x,
        lambda p: sp.cos(p) * x + 1,
        lambda p: sp.exp(-(p**2)) * x,
    )
    p = x
    for k in range(n):
        p = builders[k % len(builders)](p)
    return p, [x]


def _median_time(repeats: int, fn, *args, **kwargs) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _per_call(fn, target: float = 0.05) -> float:
    fn()
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        t = time.perf_counter() - t0
        if t >= target:
            return t / k
        k *= 4


# ---------------------------------------------------------------------------
# 1. formula files


def time_files(gradc, repeats: int) -> list[dict]:
    rows = []
    files = sorted((ROOT / "examples").glob("*.grad")) + sorted(
        (BENCH / "cases").glob("*.grad")
    )
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        row: dict[str, Any] = {"file": rel, "lines": len(path.read_text().splitlines())}
        try:
            row["seconds"] = _median_time(repeats, gradc.compile_file, path)
        except Exception as exc:  # noqa: BLE001
            row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# 2. chains


def time_chains(gradc, ns, repeats: int, patterns=PATTERNS, fuse: bool = True) -> dict:
    rows = []
    for n in ns:
        text = chain_source(n, patterns)
        t = _median_time(
            repeats, gradc.compile_source, text, filename=f"chain{n}.grad", fuse=fuse
        )
        rows.append({"statements": n, "seconds": t, "us_per_statement": 1e6 * t / n})
    out: dict[str, Any] = {"rows": rows}
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        # t ~ N^k: k = 1 is linear
        out["growth_exponent"] = math.log(b["seconds"] / a["seconds"]) / math.log(
            b["statements"] / a["statements"]
        )
    return out


# ---------------------------------------------------------------------------
# 3. SymPy's approach vs gradc, one depth per subprocess


def sympy_worker(depth: int) -> dict:
    """Run in a subprocess: build, then time both approaches on the depth-`depth` chain."""
    import sympy as sp
    from sympy.core.cache import clear_cache

    sys.path.insert(0, str(ROOT))
    import gradc

    # SymPy recurses over the expression tree; deep chains need more than the default 1000
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
    out: dict[str, Any] = {"depth": depth, "recursion_limit": sys.getrecursionlimit()}
    # warm-up: one-time imports and template loading on both sides are not counted
    small, small_inputs = chain_sympy(len(PATTERNS))
    gradc.compile_sympy(small, small_inputs, name="chain")
    gradc.compile_source(chain_source(len(PATTERNS)))
    sp.lambdify(small_inputs, sp.cse([small, sp.diff(small, small_inputs[0])])[1])
    t0 = time.perf_counter()
    expr, inputs = chain_sympy(depth)
    out["sympy_build_seconds"] = time.perf_counter() - t0

    # gradc on the SymPy expression and on the formula text
    clear_cache()
    t0 = time.perf_counter()
    src = gradc.compile_sympy(expr, inputs, name="chain")
    out["gradc_compile_sympy_seconds"] = time.perf_counter() - t0
    text = chain_source(depth)
    clear_cache()
    t0 = time.perf_counter()
    gradc.compile_source(text, filename=f"chain{depth}.grad")
    out["gradc_compile_source_seconds"] = time.perf_counter() - t0
    mod_sympy = gradc.import_module_source(src, "gradc_chain_sympy")
    mod_text = gradc.load_source(text, filename=f"chain{depth}.grad")
    v1, g1 = mod_sympy.chain_value_and_grad(X_EVAL)
    v2, g2 = mod_text.chain_value_and_grad(X_EVAL)
    out["gradc_value"], out["gradc_grad"] = float(v1), float(g1)
    out["gradc_text_value"], out["gradc_text_grad"] = float(v2), float(g2)
    out["gradc_vg_seconds_per_call"] = _per_call(
        lambda: mod_sympy.chain_value_and_grad(X_EVAL)
    )
    out["gradc_fwd_seconds_per_call"] = _per_call(lambda: mod_sympy.chain(X_EVAL))
    print(json.dumps(out), flush=True)  # partial result, in case SymPy runs out of time

    # SymPy's own approach: diff every partial, cse, lambdify
    clear_cache()
    t0 = time.perf_counter()
    grads = [sp.diff(expr, v) for v in inputs]
    out["sympy_diff_seconds"] = time.perf_counter() - t0
    clear_cache()
    t0 = time.perf_counter()
    replacements, reduced = sp.cse([expr, *grads])
    out["sympy_cse_seconds"] = time.perf_counter() - t0
    clear_cache()
    t0 = time.perf_counter()
    fn = sp.lambdify(
        inputs, [expr, *grads], modules="numpy", cse=lambda _: (replacements, reduced)
    )
    out["sympy_lambdify_seconds"] = time.perf_counter() - t0
    out["sympy_seconds"] = (
        out["sympy_diff_seconds"]
        + out["sympy_cse_seconds"]
        + out["sympy_lambdify_seconds"]
    )
    out["sympy_cse_temporaries"] = len(replacements)
    value, grad = fn(X_EVAL)
    out["sympy_value"], out["sympy_grad"] = float(value), float(grad)
    out["sympy_vg_seconds_per_call"] = _per_call(lambda: fn(X_EVAL))
    out["grad_rel_err"] = abs(out["gradc_grad"] - out["sympy_grad"]) / max(
        abs(out["sympy_grad"]), 1e-300
    )
    out["grad_rel_err_text"] = abs(out["gradc_text_grad"] - out["sympy_grad"]) / max(
        abs(out["sympy_grad"]), 1e-300
    )
    out["factor_vs_compile_sympy"] = (
        out["sympy_seconds"] / out["gradc_compile_sympy_seconds"]
    )
    out["factor_vs_compile_source"] = (
        out["sympy_seconds"] / out["gradc_compile_source_seconds"]
    )
    print(json.dumps(out), flush=True)
    return out


def sympy_compare(depth: int, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--sympy-worker", str(depth)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT
        )
        stdout, timed_out, err = proc.stdout, False, proc.stderr
    except subprocess.TimeoutExpired as exc:
        stdout = (
            exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        )
        timed_out, err = True, ""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    out: dict[str, Any] = json.loads(lines[-1]) if lines else {"depth": depth}
    out["wall_seconds"] = time.perf_counter() - t0
    if timed_out:
        out["timed_out_after"] = timeout
        if "gradc_compile_sympy_seconds" in out and "sympy_seconds" not in out:
            # SymPy did not finish: what we have is a lower bound on the factor
            spent = timeout - out.get("sympy_build_seconds", 0.0)
            out["factor_vs_compile_sympy_lower_bound"] = (
                spent / out["gradc_compile_sympy_seconds"]
            )
    elif "sympy_seconds" not in out:
        out["error"] = (err.strip().splitlines() or ["worker failed"])[-1]
    return out


# ---------------------------------------------------------------------------


def _ms(t: float) -> str:
    return f"{1e3 * t:.1f} ms" if t < 10 else f"{t:.1f} s"


def run(gradc, *, quick: bool = False) -> dict:
    prof = PROFILES["quick" if quick else "full"]
    gradc.compile_source(chain_source(len(PATTERNS)))  # warm-up: one-time imports
    result: dict[str, Any] = {"profile": "quick" if quick else "full"}

    print("Compile time, formula files (compile_file):")
    files = time_files(gradc, prof["file_repeats"])
    for row in files:
        what = row.get("error") or _ms(row["seconds"])
        print(f"  {row['file']:34s} {row['lines']:4d} lines  {what}")
    result["files"] = files

    print("\nCompile time, chain formulas (compile_source):")
    chains = time_chains(gradc, prof["chain_ns"], prof["chain_repeats"])
    for row in chains["rows"]:
        print(
            f"  N = {row['statements']:5d}  {_ms(row['seconds']):>10s}  "
            f"{row['us_per_statement']:8.0f} us/statement"
        )
    if "growth_exponent" in chains:
        k = chains["growth_exponent"]
        print(f"  growth: time ~ N^{k:.2f} (1.00 = linear)")
    result["chains"] = chains

    print(
        f"\nCompile time, chains mixing every elementwise op ({len(MIXED)} patterns, "
        "each reading the two previous temporaries):"
    )
    result["mixed"] = {}
    for fuse in (True, False):
        mixed = time_chains(gradc, prof["mixed_ns"], prof["chain_repeats"], MIXED, fuse)
        label = "fused" if fuse else "--no-fuse"
        for row in mixed["rows"]:
            print(
                f"  {label:9s} N = {row['statements']:5d}  {_ms(row['seconds']):>10s}  "
                f"{row['us_per_statement']:8.0f} us/statement"
            )
        print(f"  {label:9s} growth: time ~ N^{mixed['growth_exponent']:.2f}")
        result["mixed"][label] = mixed

    print("\nSymPy's approach (diff + cse + lambdify) vs gradc on the scalar chain:")
    print(
        f"  {'depth':>5s} {'sympy build':>12s} {'sympy d+cse+l':>14s} {'gradc sympy':>12s}"
        f" {'gradc text':>11s} {'factor':>9s}  gradient check"
    )
    rows = []
    for depth in prof["sympy_depths"]:
        row = sympy_compare(depth, prof["sympy_timeout"])
        rows.append(row)
        if "sympy_seconds" in row:
            factor = f"{row['factor_vs_compile_sympy']:.0f}x"
            ok = row["grad_rel_err"] <= 1e-10 and row["grad_rel_err_text"] <= 1e-10
            check = f"{'ok' if ok else 'MISMATCH'} (rel err {max(row['grad_rel_err'], row['grad_rel_err_text']):.0e})"
            sym = _ms(row["sympy_seconds"])
        elif "factor_vs_compile_sympy_lower_bound" in row:
            factor = f">{row['factor_vs_compile_sympy_lower_bound']:.0f}x"
            check = f"sympy timed out after {row['timed_out_after']:.0f} s"
            sym = "timeout"
        else:
            factor, sym = "-", "-"
            check = (
                row.get("error") or f"timed out after {row.get('timed_out_after')} s"
            )
        build = _ms(row["sympy_build_seconds"]) if "sympy_build_seconds" in row else "-"
        gs = (
            _ms(row["gradc_compile_sympy_seconds"])
            if "gradc_compile_sympy_seconds" in row
            else "-"
        )
        gt = (
            _ms(row["gradc_compile_source_seconds"])
            if "gradc_compile_source_seconds" in row
            else "-"
        )
        print(
            f"  {depth:5d} {build:>12s} {sym:>14s} {gs:>12s} {gt:>11s} {factor:>9s}  {check}"
        )
    result["sympy"] = rows
    d40 = [r for r in rows if r["depth"] == 40]
    if d40 and "factor_vs_compile_sympy" in d40[0]:
        r = d40[0]
        print(
            f"  depth 40: SymPy-style is {r['factor_vs_compile_sympy']:.0f}x slower than gradc "
            f"compile_sympy ({r['factor_vs_compile_source']:.0f}x compile_source); "
            f"per call, lambdified value+grad {1e6 * r['sympy_vg_seconds_per_call']:.0f} us vs "
            f"gradc value_and_grad {1e6 * r['gradc_vg_seconds_per_call']:.0f} us"
        )
    elif not d40:
        print("  (depth 40 runs in the full profile only: SymPy needs minutes there)")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gradc compile-time benchmark")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--sympy-worker", type=int, metavar="DEPTH", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import cli

    cli.use_checkout()  # this checkout's compiler/ as gradc, not an installed one
    if args.sympy_worker is not None:
        sympy_worker(args.sympy_worker)
        return 0
    import gradc

    result = run(gradc, quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
