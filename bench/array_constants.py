"""Float constants as 0-d arrays (issue 16): each bench case's emitted
``f_value_and_grad`` beside the same module built with Python float literals (as before)
and the hand-written NumPy, timed side by side (``run.py``'s interleaved batches),
results compared first.

    python bench/array_constants.py [--repeats N] [--case NAME ...] [--before-dir DIR]

``--before-dir DIR`` takes the "before" modules from ``DIR/<case>.py`` (compiled by
another checkout: ``gradc compile -d DIR bench/cases/*.grad``) instead of this build
with the literals, so that a change of the helpers is timed too.

The cases of ``bench/cases`` whose emitted code holds a constant of
``core.names.ARRAY_CONSTANTS`` meeting an array, at the quick profile's sizes. NumPy
converts a Python float operand of ``x + 1.0`` into an array on every call, which costs
about 0.2 us; a module-level 0-d array (``x + _one``) is not converted. The first table
times that alone.
"""

from __future__ import annotations

import argparse
import sys
import timeit
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
from handwritten import CASES  # noqa: E402
from run import paired_ratio, time_interleaved  # noqa: E402

import gradc  # noqa: E402
from gradc.core.names import ARRAY_CONSTANTS  # noqa: E402


def build(text: str, filename: str, constants: bool) -> str:
    """The module text of ``text``, its constants as 0-d arrays or (not ``constants``)
    as Python float literals, as before."""
    saved = dict(ARRAY_CONSTANTS)
    if not constants:
        ARRAY_CONSTANTS.clear()
    try:
        return gradc.compile_source(text, filename=filename)
    finally:
        ARRAY_CONSTANTS.update(saved)


def leaves(result) -> list:
    """The value and the gradients of a ``value_and_grad`` result, as arrays."""
    value, grads = result
    grads = grads if isinstance(grads, tuple) else (grads,)
    return [np.asarray(value), *map(np.asarray, grads)]


def operand_table(repeats: int) -> None:
    """``np.add(x, 1.0)`` against ``np.add(x, _one)`` (``x + 1.0``, ``x + _one``; best of
    ``repeats``, 0.1 s each)."""
    one = np.array(1.0)
    print(f"{'n':>8} {'x + 1.0':>10} {'x + _one':>10} {'ratio':>7}")
    for n in (1, 100, 10_000, 1_000_000):
        x = np.random.default_rng(0).standard_normal(n)
        times = {}
        stmts = (("float", partial(np.add, x, 1.0)), ("array", partial(np.add, x, one)))
        for label, stmt in stmts:
            number = max(1, int(0.1 / max(timeit.timeit(stmt, number=10) / 10, 1e-9)))
            best = min(timeit.repeat(stmt, number=number, repeat=repeats))
            times[label] = best / number * 1e6
        print(
            f"{n:>8} {times['float']:>7.2f} us {times['array']:>7.2f} us "
            f"{times['array'] / times['float']:>7.2f}"
        )
    x = np.random.default_rng(0).standard_normal(100)
    c, zero = x > 0.0, np.array(0.0)
    print(f"\n{'n = 100':>26} {'0.0':>10} {'_zero':>10} {'ratio':>7}")
    for label, float_form, array_form in (
        (
            "np.maximum(x, 0.0)",
            partial(np.maximum, x, 0.0),
            partial(np.maximum, x, zero),
        ),
        ("x > 0.0", partial(np.greater, x, 0.0), partial(np.greater, x, zero)),
        (
            "np.where(c, x, 0.0)",
            partial(np.where, c, x, 0.0),
            partial(np.where, c, x, zero),
        ),
    ):
        times = [best_of(stmt, repeats) for stmt in (float_form, array_form)]
        print(
            f"{label:>26} {times[0]:>7.2f} us {times[1]:>7.2f} us "
            f"{times[1] / times[0]:>7.2f}"
        )


def best_of(stmt, repeats: int) -> float:
    """The best time of one call of ``stmt`` in microseconds (``repeats`` of 0.1 s)."""
    number = max(1, int(0.1 / max(timeit.timeit(stmt, number=10) / 10, 1e-9)))
    return min(timeit.repeat(stmt, number=number, repeat=repeats)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--case", action="append", choices=sorted(c.name for c in CASES))
    ap.add_argument("--before-dir", type=Path, help="modules another checkout compiled")
    args = ap.parse_args(argv)
    operand_table(args.repeats)
    profile = {"batch": 0.020, "budget": 1e9, "repeats": (args.repeats, args.repeats)}
    print()
    print(
        f"{'case':16} {'size':>18} {'hand':>11} {'before':>11} {'now':>11} "
        f"{'now/before':>10} {'now/hand':>9}"
    )
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        path = BENCH / "cases" / f"{case.name}.grad"
        text, filename = path.read_text(), path.relative_to(ROOT).as_posix()
        now_source = build(text, filename, True)
        before_source = build(text, filename, False)
        if args.before_dir is not None:
            before_source = (args.before_dir / f"{case.name}.py").read_text()
        if now_source == before_source:
            continue
        now = gradc.import_module_source(now_source, f"ac_now_{case.name}")
        before = gradc.import_module_source(before_source, f"ac_before_{case.name}")
        name = case.name + "_value_and_grad"
        for size in case.sizes:
            if not size.quick:
                continue
            inputs = case.inputs(size.dims, 0)
            fns = [getattr(m, name) for m in (now, before)]
            got, want = leaves(fns[0](*inputs)), leaves(fns[1](*inputs))
            assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(got, want))
            systems = {
                "hand": partial(case.vg, *inputs),
                "before": partial(fns[1], *inputs),
                "now": partial(fns[0], *inputs),
            }
            samples, _ = time_interleaved(systems, profile)
            best = {k: min(v) * 1e6 for k, v in samples.items()}
            print(
                f"{case.name:16} {size.label:>18} {best['hand']:>8.1f} us "
                f"{best['before']:>8.1f} us {best['now']:>8.1f} us "
                f"{paired_ratio(samples, 'now', 'before'):>10.2f} "
                f"{paired_ratio(samples, 'now', 'hand'):>9.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
