"""Compile time with Python's cyclic garbage collector paused during a compile (what
``gradc.api.collector_paused`` does) or running (the context manager replaced by a no-op),
on the chains of ``bench/compile_time.py`` that mix every elementwise op. One process,
the two interleaved, the best of ``--rounds`` (seconds, and milliseconds a statement).

    python bench/collector.py [--fuse] [--sizes 300,1000,2000,4000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cli  # noqa: E402

cli.use_checkout()  # gradc from this checkout, not an installed one

import compile_time  # noqa: E402

import gradc  # noqa: E402
import gradc.api as api  # noqa: E402

PAUSED = api.collector_paused


def timed(source: str, fuse: bool, paused: bool) -> float:
    """Seconds of one ``compile_source``, the collector paused or left running."""
    api.collector_paused = PAUSED if paused else contextlib.nullcontext
    gc.collect()
    start = time.perf_counter()
    gradc.compile_source(source, fuse=fuse)
    elapsed = time.perf_counter() - start
    api.collector_paused = PAUSED
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuse", action="store_true", help="fused (default --no-fuse)")
    parser.add_argument("--sizes", default="300,1000,2000,4000")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    gradc.compile_source(compile_time.chain_source(50, compile_time.MIXED))  # warm
    best: dict = {}
    for round_ in range(args.rounds):
        for n in sizes:
            source = compile_time.chain_source(n, compile_time.MIXED)
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for paused in order:
                t = timed(source, args.fuse, paused)
                key = (n, paused)
                best[key] = min(best.get(key, t), t)
    print(f"{'N':>6} {'running':>10} {'paused':>10} {'ratio':>6}   ms a statement")
    for n in sizes:
        before, after = best[(n, False)], best[(n, True)]
        per = f"{before / n * 1e3:.2f} -> {after / n * 1e3:.2f}"
        print(f"{n:6d} {before:9.2f}s {after:9.2f}s {after / before:6.2f}   {per}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
