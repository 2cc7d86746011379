"""A whole sum scaled once (issue 16): the emitted ``f_value_and_grad`` beside the same
module built without ``rewrite/scaled_sums.py``'s rules (as before) and hand-written
NumPy, timed side by side (``run.py``'s interleaved batches), results compared first.

    python bench/scaled_sums.py [--repeats N]

A Gaussian's negative log-likelihood over its mean and log standard deviation
(``bench/outside.py``'s ``gauss_nll``) and a tempered sum ``sum(tanh(x / s))`` with
respect to its temperature, whose gradient ``-sum(x * (1 - tanh^2)) / s ** 2`` is a dot
product once summed before the scale.
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
from scalar_where import leaves  # noqa: E402

import gradc  # noqa: E402
from gradc.rewrite import RULES  # noqa: E402

FORMULAS = '''"""Sums scaled once."""


@wrt(mu, log_sigma)
def gauss_nll(mu: Scalar, log_sigma: Scalar, x: Vector[n]) -> Scalar:
    sigma = exp(log_sigma)
    return 0.5 * sum(((x - mu) / sigma) ** 2) + n * log_sigma


@wrt(s)
def tempered(x: Vector[n], s: Scalar) -> Scalar:
    return sum(tanh(x / s))
'''

#: the rules this benchmark leaves out to build the module as before
NEW_RULES = ("sum_scaled_once", "mean_scaled_once")


def gauss_nll_vg(mu, log_sigma, x):
    """As a careful engineer writes it: r once, its dot product, its sum."""
    s = np.exp(log_sigma)
    r = (x - mu) / s
    rr = r.dot(r)
    return 0.5 * rr + len(x) * log_sigma, (-r.sum() / s, len(x) - rr)


def tempered_vg(x, s):
    """The value and d/ds: one tanh, one dot product."""
    t = np.tanh(x / s)
    return t.sum(), -x.dot(1.0 - t * t) / (s * s)


def build_before(text: str) -> str:
    """``text`` compiled without the rules of ``rewrite/scaled_sums.py``."""
    saved = {op: list(RULES[op]) for op in ("sum", "mean")}
    for op, rules in saved.items():
        RULES[op] = [r for r in rules if r.name not in NEW_RULES]
    try:
        return gradc.compile_source(text)
    finally:
        RULES.update(saved)


def inputs(name: str, size: int, rng) -> tuple:
    """The arguments of case ``name`` at ``size``."""
    x = rng.standard_normal(size) * 2.0 + 0.5
    return (0.3, -0.2, x) if name == "gauss_nll" else (x, 0.7)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    profile = {"batch": 0.020, "budget": 1e9, "repeats": (args.repeats, args.repeats)}
    now_text = gradc.compile_source(FORMULAS)
    before_text = build_before(FORMULAS)
    assert now_text != before_text
    now = gradc.import_module_source(now_text, "ss_now")
    before = gradc.import_module_source(before_text, "ss_before")
    hand = {"gauss_nll": gauss_nll_vg, "tempered": tempered_vg}
    rng = np.random.default_rng(0)
    print(
        f"{'case':10} {'size':>8} {'hand':>11} {'before':>11} {'now':>11}"
        f" {'now/before':>11} {'before/hand':>12} {'now/hand':>9}"
    )
    for name in ("gauss_nll", "tempered"):
        for size in (100, 20000, 100000, 1000000):
            args_ = inputs(name, size, rng)
            fns = [getattr(m, name + "_value_and_grad") for m in (now, before)]
            results = [leaves(f(*args_)) for f in (*fns, hand[name])]
            for got in results[1:]:
                for a, b in zip(results[0], got):
                    np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11 * size)
            systems = {
                "hand": partial(hand[name], *args_),
                "before": partial(fns[1], *args_),
                "now": partial(fns[0], *args_),
            }
            samples, _ = time_interleaved(systems, profile)
            best = {k: min(v) * 1e6 for k, v in samples.items()}
            print(
                f"{name:10} {size:>8} {best['hand']:>8.1f} us {best['before']:>8.1f} us"
                f" {best['now']:>8.1f} us {paired_ratio(samples, 'now', 'before'):>11.2f}"
                f" {paired_ratio(samples, 'before', 'hand'):>12.2f}"
                f" {paired_ratio(samples, 'now', 'hand'):>9.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
