"""Loops: the RNN loss of ``examples/rnn.grad`` (value and gradients of h0, Wx, Wh, b)
beside CS231n's ``rnn_forward``/``rnn_backward`` written by hand in NumPy, JAX's
``jit`` of ``grad`` over ``lax.scan``, and PyTorch eager; timed side by side
(``run.py``'s interleaved batches, one thread, float64). Each peer's gradients are
checked against gradc's (relative error <= 1e-8) before it is timed.

    python bench/loops.py [--quick]

Also: the compile time of the formula, which does not depend on T (the loop stays a
loop; T is read from the inputs' shapes when the function is called).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
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
    args = ap.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    gradc, why = load_gradc(True)
    if gradc is None:
        print(f"gradc unavailable: {why}")
        return 1
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
