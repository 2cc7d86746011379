"""Formulas outside the suite, tried as a new user would (2026-12-03): the emitted
``f_value_and_grad`` over hand-written NumPy, timed side by side (``run.py``'s
interleaved batches), gradients compared first.

    python bench/outside.py [--repeats N] [--case NAME ...]

A Poisson regression, cosine similarity, a Gaussian negative log-likelihood over a
data vector with its mean and log standard deviation as Scalar parameters, a lasso
objective, a two-layer tanh network with a squared loss, and a softmax cross-entropy
against one-hot labels. The hand-written NumPy is what a careful engineer writes: one
pass per transcendental, sums of squares as dot products, scalar factors outside
the sums. These are findings, not targets: bench/README.md, "Formulas outside the
suite", says what each ratio comes from.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import cli  # noqa: E402

cli.use_checkout()

import numpy as np  # noqa: E402
from run import paired_ratio, time_interleaved  # noqa: E402

import gradc  # noqa: E402

FORMULAS = '''"""Formulas outside the suite."""


@wrt(w)
def poisson(w: Vector[d], X: Matrix[n, d], y: Vector[n]) -> Scalar:
    z = X @ w
    return mean(exp(z) - y * z)


@wrt(a)
def cosine(a: Vector[n], b: Vector[n]) -> Scalar:
    return dot(a, b) / (norm(a) * norm(b))


@wrt(mu, log_sigma)
def gauss_nll(mu: Scalar, log_sigma: Scalar, x: Vector[n]) -> Scalar:
    sigma = exp(log_sigma)
    return 0.5 * sum(((x - mu) / sigma) ** 2) + n * log_sigma


@wrt(w)
def lasso(w: Vector[d], X: Matrix[n, d], y: Vector[n], lam: Scalar) -> Scalar:
    r = X @ w - y
    return 0.5 * mean(r ** 2) + lam * sum(abs(w))


@wrt(W1, W2)
def mlp_tanh(W1: Matrix[d, h], W2: Matrix[h, k], X: Matrix[n, d], Y: Matrix[n, k]) -> Scalar:
    H = tanh(X @ W1)
    return 0.5 * mean(sum((H @ W2 - Y) ** 2, axis=1))


@wrt(W)
def onehot_ce(W: Matrix[d, k], X: Matrix[n, d], Y: Matrix[n, k]) -> Scalar:
    return -mean(sum(Y * log_softmax(X @ W, axis=1), axis=1))
'''


def poisson_vg(w, X, y):
    z = X.dot(w)
    e = np.exp(z)
    return np.mean(e - y * z), X.T.dot((e - y) / len(y))


def cosine_vg(a, b):
    na, nb = np.sqrt(a.dot(a)), np.sqrt(b.dot(b))
    c = a.dot(b) / (na * nb)
    return c, b / (na * nb) - c * a / (na * na)


def gauss_nll_vg(mu, log_sigma, x):
    s = np.exp(log_sigma)
    r = (x - mu) / s
    rr = r.dot(r)
    return 0.5 * rr + len(x) * log_sigma, (-r.sum() / s, len(x) - rr)


def lasso_vg(w, X, y, lam):
    n = len(y)
    r = X.dot(w) - y
    return 0.5 * r.dot(r) / n + lam * np.abs(w).sum(), X.T.dot(r) / n + lam * np.sign(w)


def mlp_tanh_vg(W1, W2, X, Y):
    n = X.shape[0]
    H = np.tanh(X.dot(W1))
    D = H.dot(W2) - Y
    dD = D / n
    dH = dD.dot(W2.T) * (1 - H * H)
    return 0.5 * np.sum(D * D) / n, (X.T.dot(dH), H.T.dot(dD))


def onehot_ce_vg(W, X, Y):
    n = X.shape[0]
    S = X.dot(W)
    S -= S.max(axis=1, keepdims=True)
    E = np.exp(S)
    Z = E.sum(axis=1, keepdims=True)
    loss = -np.sum(Y * (S - np.log(Z))) / n
    dS = (E / Z * Y.sum(axis=1, keepdims=True) - Y) / n
    return loss, X.T.dot(dS)


def inputs(name: str, size: str, rng) -> tuple:
    """The arguments of case ``name`` at ``size``."""
    if name in ("poisson", "lasso"):
        n, d = map(int, size.split("x"))
        X, w = rng.standard_normal((n, d)), rng.standard_normal(d) * 0.1
        y = rng.poisson(1.0, n).astype(float)
        return (w, X, y) if name == "poisson" else (w, X, y, 0.1)
    if name in ("cosine", "gauss_nll"):
        a = rng.standard_normal(int(size.split("=")[1]))
        return (a, rng.standard_normal(a.size)) if name == "cosine" else (0.3, -0.2, a)
    if name == "mlp_tanh":
        n, d, h, k = map(int, size.split("x"))
        X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, k))
        return (
            rng.standard_normal((d, h)) * 0.1,
            rng.standard_normal((h, k)) * 0.1,
            X,
            Y,
        )
    n, d, k = map(int, size.split("x"))
    X, Y = rng.standard_normal((n, d)), np.eye(k)[rng.integers(0, k, n)]
    return (rng.standard_normal((d, k)) * 0.1, X, Y)


SIZES = {
    "poisson": ("32x8", "10000x100"),
    "cosine": ("n=100", "n=100000"),
    "gauss_nll": ("n=100", "n=20000", "n=100000", "n=1000000"),
    "lasso": ("32x8", "10000x100"),
    "mlp_tanh": ("16x8x8x4", "2048x256x128x10"),
    "onehot_ce": ("16x8x4", "2048x256x10"),
}
HAND = {
    "poisson": poisson_vg,
    "cosine": cosine_vg,
    "gauss_nll": gauss_nll_vg,
    "lasso": lasso_vg,
    "mlp_tanh": mlp_tanh_vg,
    "onehot_ce": onehot_ce_vg,
}


def same(got, want) -> bool:
    """Value and gradients within 1e-12 of the largest entry of each."""
    pairs = [(got[0], want[0])] + list(zip(*(g if isinstance(g, tuple) else (g,)
                                             for g in (got[1], want[1]))))  # fmt: skip
    return all(
        np.max(np.abs(np.asarray(a) - b)) <= 1e-12 * max(1.0, np.max(np.abs(b)))
        for a, b in pairs
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--case", action="append", choices=sorted(HAND))
    args = ap.parse_args(argv)
    profile = {"batch": 0.020, "budget": 1e9, "repeats": (args.repeats, args.repeats)}
    module = gradc.load_source(FORMULAS)
    rng = np.random.default_rng(0)
    print(f"{'case':10} {'size':>16} {'hand':>11} {'gradc':>11} {'gradc/hand':>11}")
    for name in args.case or HAND:
        emitted = getattr(module, name + "_value_and_grad")
        for size in SIZES[name]:
            args_ = inputs(name, size, rng)
            assert same(emitted(*args_), HAND[name](*args_)), (name, size)
            systems = {
                "hand": partial(HAND[name], *args_),
                "gradc": partial(emitted, *args_),
            }
            samples, _ = time_interleaved(systems, profile)
            best = {k: min(v) * 1e6 for k, v in samples.items()}
            print(
                f"{name:10} {size:>16} {best['hand']:>8.1f} us {best['gradc']:>8.1f} us "
                f"{paired_ratio(samples, 'gradc', 'hand'):>11.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
