"""The CS231n three-layer convnet, value and gradient: gradc's emitted module
(``examples/convnet.grad``) against the hand-written NumPy fast layers
(``bench/conv_layers.py``, im2col) and PyTorch eager (skipped when not installed).

    python bench/convnet.py                 # N = 8 and 64, C x H x W = 3 x 32 x 32
    python bench/convnet.py --sizes 8 --repeats 5
    python bench/convnet.py --threads 2     # default 1 (as bench/run.py), 0: libraries' own

32 filters of 7x7 (pad 3), hidden layer 100, 10 classes, float64. Each system is
checked against the hand-written gradients first, then timed in interleaved repeats
(a batch of calls of at least 0.2 s each, garbage collector off); the table gives the
median time per call and the median over repeats of each system's time divided by the
hand-written time in the same repeat.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(argv: list[str]) -> str:
    """``--threads N`` (default 1) for every library, set before NumPy is imported."""
    n = "1"
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
    if n.isdigit() and int(n) >= 1:
        for var in THREAD_VARS:
            os.environ[var] = n
    return n


THREADS = pin_threads(sys.argv[1:]) if __name__ == "__main__" else "0"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conv_layers import three_layer_convnet  # noqa: E402

import cli  # noqa: E402

F, K, HIDDEN, CLASSES = 32, 7, 100, 10


def inputs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    c, h, w = 3, 32, 32
    params = (
        rng.standard_normal((F, c, K, K)) * 1e-2,
        np.zeros(F),
        rng.standard_normal((F * (h // 2) * (w // 2), HIDDEN)) * 1e-2,
        np.zeros(HIDDEN),
        rng.standard_normal((HIDDEN, CLASSES)) * 1e-2,
        np.zeros(CLASSES),
    )
    X = rng.standard_normal((n, c, h, w))
    y = rng.integers(0, CLASSES, size=n)
    return params, X, y, 1e-3


def torch_system(params, X, y, reg):
    """PyTorch eager: the same network on float64 CPU tensors, autograd for the gradients;
    None when torch is not installed."""
    try:
        torch = importlib.import_module("torch")
        tf = importlib.import_module("torch.nn.functional")
    except ImportError:
        return None
    if THREADS.isdigit() and int(THREADS) >= 1:
        torch.set_num_threads(int(THREADS))
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    tX, ty = torch.tensor(X), torch.tensor(y)

    def run():
        W1, b1, W2, b2, W3, b3 = tp
        a = tf.max_pool2d(torch.relu(tf.conv2d(tX, W1, b1, padding=K // 2)), 2)
        h = torch.relu(a.reshape(tX.shape[0], -1) @ W2 + b2)
        loss = tf.cross_entropy(h @ W3 + b3, ty)
        loss = loss + 0.5 * reg * ((W1 * W1).sum() + (W2 * W2).sum() + (W3 * W3).sum())
        grads = torch.autograd.grad(loss, tp)
        return float(loss.detach()), grads

    return run


def batch(fn, k: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        return (time.perf_counter() - t0) / k
    finally:
        gc.enable()


def calls_per_batch(fn, target: float = 0.2) -> int:
    fn()
    t = batch(fn, 1)
    return max(1, int(target / max(t, 1e-9)))


def bench_size(n: int, mod, repeats: int) -> None:
    """Check, then time, the systems at batch size ``n``; print a row per system."""
    params, X, y, reg = inputs(n)
    want, want_grads = three_layer_convnet(params, X, y, reg)
    systems = {
        "hand-written": lambda: three_layer_convnet(params, X, y, reg),
        "gradc": lambda: mod.convnet_loss_value_and_grad(*params, X, y, reg),
    }
    got, grads = systems["gradc"]()
    assert np.isclose(got, want, rtol=1e-12), (got, want)
    for g, w in zip(grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    run_torch = torch_system(params, X, y, reg)
    if run_torch is None:
        print("      (torch not installed: skipped)")
    else:
        systems["torch eager"] = run_torch
        t_loss, t_grads = run_torch()
        assert np.isclose(t_loss, want, rtol=1e-9)
        for g, w in zip(t_grads, want_grads, strict=True):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-6, atol=1e-10)
    ks = {name: calls_per_batch(fn) for name, fn in systems.items()}
    times: dict[str, list[float]] = {name: [] for name in systems}
    names = list(systems)
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(batch(systems[name], ks[name]))
    hand = times["hand-written"]
    for name in names:
        ratio = statistics.median(t / h for t, h in zip(times[name], hand))
        ms = statistics.median(times[name]) * 1e3
        print(f"{n:>4}  {name:<12} {ms:>9.2f} {ratio:>7.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="8,64", help="batch sizes N (comma-separated)")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", default="1", help="threads per library (0: their own)")
    args = ap.parse_args(argv)
    cli.use_checkout()  # gradc from this checkout, not the installed one
    gradc = importlib.import_module("gradc")
    text = (ROOT / "examples" / "convnet.grad").read_text()
    mod = gradc.load_source(text, filename="examples/convnet.grad")
    print(
        f"numpy {np.__version__}; float64; {args.threads} thread(s); "
        f"C x H x W = 3 x 32 x 32, F = {F} of {K}x{K}"
    )
    print(f"{'N':>4}  {'system':<12} {'ms/call':>9} {'/ hand':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(n, mod, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
