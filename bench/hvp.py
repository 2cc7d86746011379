"""Second derivatives: ``f_hvp`` (``--hvp``) beside ``f_value_and_grad`` of the same
module and beside JAX's ``jit(jvp(grad(f)))``, timed side by side (``run.py``'s
interleaved batches, one thread, float64).

    python bench/hvp.py [--quick] [--case NAME ...] [--json PATH]

For every case and size of the suite (``handwritten.CASES``): the ratio
``f_hvp / f_value_and_grad`` (target: median <= 2.5 over the suite) and
``f_hvp / JAX`` (target: below 1 on every case under 10,000 elements). With numba
installed, the same ``f_hvp`` compiled with ``--target numba`` is timed beside them
(``numba/jax``): under 10,000 elements NumPy's per-call overhead (about 1 us for each of
a dozen small operations) is what separates the NumPy target from one XLA dispatch, and
the numba target's kernels remove it. Each ``f_hvp`` is checked against JAX's
Hessian-vector product (relative error <= 1e-8), and the numba one against the NumPy
one, before it is timed; with JAX or numba absent their columns are empty.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    from run import _pin_threads

    _pin_threads(sys.argv[1:])

for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import importlib.util  # noqa: E402

import numpy as np  # noqa: E402
import peers  # noqa: E402
from handwritten import CASES, as_tuple, float_elements, rel_err  # noqa: E402
from run import PROFILES, load_gradc, paired_ratio, time_interleaved  # noqa: E402

JAX_ELEMENT_LIMIT = 10_000


def jax_hvp(case, inputs: tuple):
    """JAX's Hessian-vector product of the case's formula, jitted: ``jvp(grad(f))``
    along the wrt inputs (the others held), or None without JAX."""
    ok, _ = peers.load("jax")
    if not ok:
        return None
    jax = peers._state["jax"]
    jnp = importlib.import_module("jax.numpy")
    special = importlib.import_module("jax.scipy.special")
    fns = peers._numpy_like_formulas(
        jnp, special.logsumexp, jax.nn.sigmoid, jax.nn.relu
    )
    f, wrt = fns[case.name], case.wrt

    def hvp(args, vectors):
        def grad_w(*w):
            full = list(args)
            for k, p in enumerate(wrt):
                full[p] = w[k]
            return jax.grad(f, argnums=wrt)(*full)

        return jax.jvp(grad_w, tuple(args[p] for p in wrt), tuple(vectors))[1]

    return jax.jit(hvp)


def bench_case(gradc, case, size, profile, seed=0) -> dict:
    inputs = case.inputs(size.dims, seed)
    path = BENCH / "cases" / f"{case.name}.grad"
    mod = gradc.load_source(path.read_text(), filename=str(path), hvp=True)
    vg = getattr(mod, f"{case.name}_value_and_grad")
    hvp = getattr(mod, f"{case.name}_hvp")
    rng = np.random.default_rng(seed + 1)
    vectors = tuple(
        rng.normal(size=np.shape(inputs[p]))
        if np.ndim(inputs[p])
        else float(rng.normal())
        for p in case.wrt
    )
    ours = as_tuple(hvp(*inputs, *vectors))
    systems = {
        "value_and_grad": lambda: vg(*inputs),
        "hvp": lambda: hvp(*inputs, *vectors),
    }
    row = {"case": case.name, "size": size.label, "elements": float_elements(inputs)}
    if importlib.util.find_spec("numba") is not None:
        nb = gradc.load_source(
            path.read_text(), filename=str(path), hvp=True, target="numba"
        )
        nb_hvp = getattr(nb, f"{case.name}_hvp")
        theirs = as_tuple(nb_hvp(*inputs, *vectors))
        row["err_numba"] = max(rel_err(a, b) for a, b in zip(ours, theirs))
        systems["numba"] = lambda: nb_hvp(*inputs, *vectors)
    jh = jax_hvp(case, inputs)
    if jh is not None:
        jax = peers._state["jax"]
        jargs = tuple(
            jax.device_put(a) if isinstance(a, np.ndarray) else a for a in inputs
        )
        jvecs = tuple(jax.device_put(np.asarray(v)) for v in vectors)
        theirs = [np.asarray(t) for t in jax.block_until_ready(jh(jargs, jvecs))]
        row["err_vs_jax"] = max(rel_err(a, b) for a, b in zip(ours, theirs))
        systems["jax"] = lambda: jax.block_until_ready(jh(jargs, jvecs))
    samples, _ = time_interleaved(systems, profile)
    row["hvp_us"] = statistics.median(samples["hvp"]) * 1e6
    row["hvp_over_vg"] = paired_ratio(samples, "hvp", "value_and_grad")
    row["hvp_over_jax"] = paired_ratio(samples, "hvp", "jax")
    row["numba_over_jax"] = paired_ratio(samples, "numba", "jax")
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--case", action="append")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    gradc, err = load_gradc(True)
    if gradc is None:
        print(err)
        return 1
    profile = PROFILES["quick" if args.quick else "full"]
    rows = []
    print(
        f"{'case':15s} {'size':22s} {'elements':>9s} {'hvp us':>9s} "
        f"{'hvp/vg':>7s} {'hvp/jax':>8s} {'numba/jax':>9s} {'err/jax':>8s}"
    )
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        for size in case.sizes:
            if args.quick and not size.quick:
                continue
            row = bench_case(gradc, case, size, profile)
            rows.append(row)
            jx, nx = row["hvp_over_jax"], row["numba_over_jax"]
            print(
                f"{case.name:15s} {size.label:22s} {row['elements']:9d} "
                f"{row['hvp_us']:9.1f} {row['hvp_over_vg']:7.2f} "
                f"{'-' if jx is None else f'{jx:.2f}':>8s} "
                f"{'-' if nx is None else f'{nx:.2f}':>9s} "
                f"{row.get('err_vs_jax', float('nan')):8.1e}",
                flush=True,
            )
    med = statistics.median(r["hvp_over_vg"] for r in rows)
    small = [r for r in rows if r["elements"] < JAX_ELEMENT_LIMIT and r["hvp_over_jax"]]
    worst = max((r["hvp_over_jax"] for r in small), default=None)
    print(f"median hvp/value_and_grad {med:.2f} (target <= 2.5)")
    if worst is not None:
        print(
            f"max hvp/JAX under {JAX_ELEMENT_LIMIT} elements {worst:.2f} (target < 1)"
        )
    small = [r for r in small if r["numba_over_jax"]]
    if small:
        worst = max(r["numba_over_jax"] for r in small)
        print(
            f"max hvp/JAX under {JAX_ELEMENT_LIMIT} elements, --target numba "
            f"{worst:.2f} (target < 1)"
        )
    bad = [r for r in rows if r.get("err_vs_jax", 0.0) > 1e-8]
    bad += [r for r in rows if r.get("err_numba", 0.0) > 1e-10]
    for r in bad:
        errs = f"{r.get('err_vs_jax', 0.0):.1e} vs JAX, {r.get('err_numba', 0.0):.1e}"
        print(f"MISMATCH: {r['case']} {r['size']} {errs} numba vs NumPy")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
