"""Loops: the RNN loss of ``examples/rnn.grad`` (value and gradients of h0, Wx, Wh, b)
beside CS231n's ``rnn_forward``/``rnn_backward`` written by hand in NumPy, JAX's
``jit`` of ``grad`` over ``lax.scan``, and PyTorch eager; timed side by side
(``run.py``'s interleaved batches, one thread, float64). Each peer's gradients are
checked against gradc's (relative error <= 1e-8) before it is timed.

    python bench/loops.py [--quick]
    python bench/loops.py --targets [--quick]   # the NumPy target beside --target numba

Also: the compile time of the formula, which does not depend on T (the loop stays a
loop; T is read from the inputs' shapes when the function is called).

``--targets``: the value and gradients of examples/rnn.grad and examples/lstm.grad with
the NumPy target and the numba target (its loops compiled, ``numba_loop_kernels``) at
sizes where an iteration is a few small NumPy calls and where BLAS dominates, the numba
target also with its step limit lifted (the compiled loop at every size), and the first
call of the numba target in a fresh process, cold (empty cache) and warm.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

if __name__ == "__main__":
    # --threads before NumPy loads its BLAS (importing run imports NumPy)
    argv = sys.argv[1:]
    n = argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else "1"
    if n.isdigit() and int(n) >= 1:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n
    sys.path.insert(0, str(BENCH))
    from run import _pin_threads

    _pin_threads(sys.argv[1:])

for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402
import peers  # noqa: E402
from run import PROFILES, load_gradc, paired_ratio, time_interleaved  # noqa: E402

SIZES = [(8, 10, 16, 32), (64, 50, 128, 256)]  # N, T, D, H


def rnn_value_and_grad(x, h0, Wx, Wh, b, dy):
    """CS231n's rnn_forward and rnn_backward (assignment 3), by hand."""
    N, T, _ = x.shape
    H = h0.shape[1]
    hs = np.zeros((N, T, H))
    prev = h0
    for t in range(T):
        prev = np.tanh(x[:, t, :] @ Wx + prev @ Wh + b)
        hs[:, t, :] = prev
    value = np.sum(hs * dy)
    dprev_h = np.zeros((N, H))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for t in reversed(range(T)):
        next_h = hs[:, t, :]
        prev_h = hs[:, t - 1, :] if t > 0 else h0
        dtanh = (1 - next_h**2) * (dy[:, t, :] + dprev_h)
        dprev_h = dtanh @ Wh.T
        dWx += x[:, t, :].T @ dtanh
        dWh += prev_h.T @ dtanh
        db += dtanh.sum(axis=0)
    return value, (dprev_h, dWx, dWh, db)


def jax_value_and_grad():
    ok, _ = peers.load("jax")
    if not ok:
        return None
    jax = peers._state["jax"]
    jnp = importlib.import_module("jax.numpy")

    def loss(h0, Wx, Wh, b, x, dy):
        def step(h, xs):
            xt, dyt = xs
            h = jnp.tanh(xt @ Wx + h @ Wh + b)
            return h, jnp.sum(h * dyt)

        _, parts = jax.lax.scan(
            step, h0, (jnp.swapaxes(x, 0, 1), jnp.swapaxes(dy, 0, 1))
        )
        return jnp.sum(parts)

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))

    def run(x, h0, Wx, Wh, b, dy):
        v, g = f(h0, Wx, Wh, b, x, dy)
        return float(v), tuple(np.asarray(a) for a in g)

    return run


def torch_value_and_grad():
    ok, _ = peers.load("torch")
    if not ok:
        return None
    torch = peers._state["torch"]

    def run(x, h0, Wx, Wh, b, dy):
        x_, dy_ = torch.from_numpy(x), torch.from_numpy(dy)
        ws = [torch.from_numpy(a).requires_grad_() for a in (h0, Wx, Wh, b)]
        h, total = ws[0], 0.0
        for t in range(x.shape[1]):
            h = torch.tanh(x_[:, t, :] @ ws[1] + h @ ws[2] + ws[3])
            total = total + (h * dy_[:, t, :]).sum()
        grads = torch.autograd.grad(total, ws)
        return float(total.detach()), tuple(g.numpy() for g in grads)

    return run


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--peers", default="jax,torch", help="jax,torch or none")
    ap.add_argument("--targets", action="store_true", help="NumPy target vs numba")
    args = ap.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    gradc, why = load_gradc(True)
    if gradc is None:
        print(f"gradc unavailable: {why}")
        return 1
    if args.targets:
        return targets(gradc, profile)
    text = (ROOT / "examples" / "rnn.grad").read_text()
    start = time.perf_counter()
    gradc.compile_source(text)
    print(f"compile examples/rnn.grad: {time.perf_counter() - start:.2f} s (any T)")
    m = gradc.load_source(text)
    rng = np.random.default_rng(0)
    peers_ = {"numpy by hand": rnn_value_and_grad}
    for name, make in (
        ("jax jit scan", jax_value_and_grad),
        ("torch", torch_value_and_grad),
    ):
        fn = make() if name.split()[0] in args.peers.split(",") else None
        if fn is not None:
            peers_[name] = fn
    print(
        "| N x T x D x H | gradc (ms) | "
        + " | ".join(f"{n} / gradc" for n in peers_)
        + " |"
    )
    print("| --- | --- | " + " | ".join("---" for _ in peers_) + " |")
    for N, T, D, H in SIZES:
        inputs = (
            rng.normal(size=(N, T, D)),
            rng.normal(size=(N, H)),
            rng.normal(size=(D, H)) / np.sqrt(D),
            rng.normal(size=(H, H)) / np.sqrt(H),
            rng.normal(size=H),
            rng.normal(size=(N, T, H)),
        )
        want = m.rnn_loss_value_and_grad(*inputs)
        for name, fn in peers_.items():
            got = fn(*inputs)
            for g, w in zip(got[1], want[1]):
                err = np.max(np.abs(g - w)) / max(np.max(np.abs(w)), 1e-300)
                assert err <= 1e-8, (name, err)
        systems = {"gradc": lambda a=inputs: m.rnn_loss_value_and_grad(*a)}
        systems.update({n: (lambda f=f, a=inputs: f(*a)) for n, f in peers_.items()})
        samples, _ = time_interleaved(systems, profile)
        ms = 1e3 * float(np.median(samples["gradc"]))
        ratios = [paired_ratio(samples, n, "gradc") for n in peers_]
        cells = " | ".join(f"{r:.2f}" for r in ratios)
        print(f"| {N} x {T} x {D} x {H} | {ms:.3g} | {cells} |")
    return 0


# N, T, D, H: an iteration of a few small calls, up to where BLAS dominates
TARGET_SIZES = [(2, 20, 4, 8), (8, 20, 16, 16), (16, 20, 32, 32), (32, 20, 64, 64)]
TARGET_SIZES += [(64, 20, 128, 128), (64, 50, 128, 256)]
GATES = {"rnn": 1, "lstm": 4}

CHILD = """
import sys, time
import numpy as np
sys.path.insert(0, {folder!r})
N, T, D, H = {size!r}
rng = np.random.default_rng(0)
k = {gates}
args = (rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(D, k * H)),
        rng.normal(size=(H, k * H)), rng.normal(size=k * H), rng.normal(size=(N, T, H)))
t1 = time.perf_counter()
import mod
mod.{name}_loss_value_and_grad(*args)
print(time.perf_counter() - t1)
"""


def first_call(gradc, example: str, size) -> tuple[float, float]:
    """Seconds to import the numba module and call it once in a fresh process: with
    an empty numba cache (cold), then with the cache the first left (warm)."""
    text = (ROOT / "examples" / f"{example}.grad").read_text()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "mod.py").write_text(gradc.compile_source(text, target="numba"))
        code = CHILD.format(folder=tmp, size=size, gates=GATES[example], name=example)
        for _ in range(2):
            run = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            out.append(float(run.stdout.split()[-1]))
    return out[0], out[1]


def targets(gradc, profile) -> int:
    """The NumPy target beside the numba target (and with its step limit lifted)."""
    kernels = importlib.import_module("gradc.backend.numba_loop_kernels")
    cache = tempfile.mkdtemp(prefix="gradc-bench-loops-")
    os.environ["GRADC_CACHE_DIR"] = cache
    rng = np.random.default_rng(0)
    print(
        "| example | N x T x D x H | step | numpy (ms) | numba / numpy | "
        "numba, no limit / numpy |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for example, k in GATES.items():
        text = (ROOT / "examples" / f"{example}.grad").read_text()
        mods = {"numpy": gradc.load_source(text), "numba": None, "lifted": None}
        mods["numba"] = gradc.load_source(text, target="numba")
        saved, kernels.STEP_LIMIT = kernels.STEP_LIMIT, 10**12
        try:
            mods["lifted"] = gradc.load_source(text, target="numba")
        finally:
            kernels.STEP_LIMIT = saved
        name = f"{example}_loss_value_and_grad"
        for N, T, D, H in TARGET_SIZES:
            args = (
                rng.normal(size=(N, T, D)),
                rng.normal(size=(N, H)),
                rng.normal(size=(D, k * H)) / np.sqrt(D),
                rng.normal(size=(H, k * H)) / np.sqrt(H),
                rng.normal(size=k * H),
                rng.normal(size=(N, T, H)),
            )
            want = getattr(mods["numpy"], name)(*args)
            for m in ("numba", "lifted"):
                got = getattr(mods[m], name)(*args)
                for g, w in zip(got[1], want[1]):
                    assert np.max(np.abs(g - w)) <= 1e-10 * max(1, np.max(np.abs(w)))
            fns = {m: getattr(mods[m], name) for m in mods}
            systems = {m: (lambda f=f, a=args: f(*a)) for m, f in fns.items()}
            samples, _ = time_interleaved(systems, profile)
            ms = 1e3 * float(np.median(samples["numpy"]))
            step = D * N + H * N * (k + (k > 1)) + H * H * k + D * H * k
            r1 = paired_ratio(samples, "numba", "numpy")
            r2 = paired_ratio(samples, "lifted", "numpy")
            print(
                f"| {example} | {N} x {T} x {D} x {H} | {step} | {ms:.3g} | "
                f"{r1:.2f} | {r2:.2f} |",
                flush=True,
            )
    print("\nfirst call of the numba target in a fresh process (import + call), s")
    print("| example | N x T x D x H | cold | warm |")
    print("| --- | --- | --- | --- |")
    for example in GATES:
        cold, warm = first_call(gradc, example, TARGET_SIZES[1])
        size = " x ".join(map(str, TARGET_SIZES[1]))
        print(f"| {example} | {size} | {cold:.2f} | {warm:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
