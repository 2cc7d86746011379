"""How many of the errors a user makes are answered before SymPy is imported (issue 16:
a ``FILE:LINE:COL`` error in under 0.3 s): the parser fuzzer's mutants of the example
formulas and its token soups (``tests/test_fuzz_parser.py`` ``inputs``), each compiled
with ``compile_source``; each one it refuses is checked with the syntax-tree checks
alone (``frontend.early.early_error`` after the parser, what ``gradc`` runs before it
imports the compiler), whose report must be the compiler's.

    python bench/early_errors.py [--seed N] [--count N] [--root DIR]

Prints the refused files, how many the checks answer (and how many differ: none may),
and the compiler's messages for the rest, the most frequent first. ``--root`` measures
another checkout's compiler. A text holding a lone surrogate is left out: a file read
from disk cannot hold one, and the API reports it before parsing.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (read before the imports: ``--root`` picks the compiler)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=57)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    return ap.parse_args(argv)


ARGS = arguments()
sys.path[:0] = [str(ARGS.root.resolve()), str(ROOT / "tests")]

import cli  # noqa: E402 - the measured checkout's own

cli.use_checkout()

from test_fuzz_parser import inputs  # noqa: E402

import gradc  # noqa: E402
from gradc.errors import FormulaError  # noqa: E402
from gradc.frontend.early import early_error  # noqa: E402
from gradc.frontend.source import read_python  # noqa: E402


def early_report(text: str) -> str | None:
    """The report of the parser and the syntax-tree checks alone, or None."""
    try:
        error = early_error(*read_python(text, "f.grad"))
    except FormulaError as e:  # the parser's
        error = e
    return None if error is None else error.report()


def main() -> int:
    refused = early = differing = 0
    late: collections.Counter = collections.Counter()
    for kind, text in inputs("long", ARGS.seed, ARGS.count):
        if kind not in ("mutant", "soup") or any(
            "\ud800" <= c <= "\udfff" for c in text
        ):
            continue
        try:
            gradc.compile_source(text, filename="f.grad")
            continue
        except FormulaError as e:
            want = e.report()
        refused += 1
        got = early_report(text)
        if got is None:
            late[want.split("error: ", 1)[1].split("\n")[0][:60]] += 1
            continue
        early += 1
        differing += got != want
    root = ARGS.root.resolve()
    print(f"{root}: {refused} refused, {early} answered early ({early / refused:.1%}),")
    print(f"{differing} differing from the compiler's report; the rest:")
    for message, count in late.most_common(15):
        print(f"{count:6}  {message}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
