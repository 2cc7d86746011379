"""The early checks against the frontend on the parser fuzzer's mutants of the example
formulas (``tests/test_fuzz_parser.py`` ``inputs``: a token deleted, doubled or swapped,
a name misspelt, a literal changed), the errors people make while editing a file.

Each early report (``frontend.early.early_error``, what ``gradc`` answers before it
imports SymPy) is checked against the frontend's own first error (``lower_module``
called directly, without the check): equal, or the frontend's is an error of shapes
that an unknown name or function further on is reported before (the one order the
early checks change, ``frontend/early.py``). The early checks must also answer most of
the files the frontend refuses: 99% here (2,640 of 2,650 on 2026-12-05;
``bench/early_errors.py`` measures the share on 6,000 inputs of each of four seeds:
99.7-99.8%).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from gradc.errors import FormulaError
from gradc.frontend.early import early_error
from gradc.frontend.source import read_python
from gradc.frontend.text import lower_module

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_fuzz_parser import inputs, mutate, seed_texts  # noqa: E402

#: how many texts ``test_two_mutations_per_file_as_the_frontend`` mutates twice (about
#: 1,400 the frontend refuses)
COUNT_TWICE = 20000
#: the words of the errors of shapes (``core/shape_rules.py``, ``function_shapes``,
#: ``operand_shapes``) and of an ``Index`` value used as a number: operands that do not
#: fit, which a misspelt name further on is reported before
SHAPE_WORDS = (
    "do not broadcast",
    "do not align",
    "too many indices",
    "but is annotated",
    "is out of range",
    "must have at least one dimension",
    "does not fit",
    "cannot reshape",
    "must keep its shape",
    "has shape",
    "needs an array, not a scalar",
    "the kernel must be a Tensor",
    "stack: shapes",
    "concatenate: shapes",
    "is larger than the input",
    "is out of bounds for a dimension of size",
    "an Index value can only be used to index",
)


def report(error: FormulaError | None) -> str | None:
    return None if error is None else error.report()


def frontend_report(text: str) -> str | None:
    """The frontend's first error lowering ``text`` (the early checks not run), or None."""
    try:
        lower_module(*read_python(text, "f.grad"), True)
    except FormulaError as exc:
        return exc.report()
    return None


def early_report(text: str) -> str | None:
    try:
        return report(early_error(*read_python(text, "f.grad")))
    except FormulaError as exc:  # the parser's
        return exc.report()


def test_early_reports_are_the_frontends_on_mutants():
    refused = answered = 0
    differing = []
    for kind, text in inputs("long", 61, 6000):
        if kind != "mutant" or any("\ud800" <= c <= "\udfff" for c in text):
            continue
        want = frontend_report(text)
        got = early_report(text)
        if want is None:
            assert got is None, text
            continue
        refused += 1
        if got is None:
            continue
        answered += 1
        if got != want and not any(w in want for w in SHAPE_WORDS):
            differing.append((want, got))
    assert not differing, differing[:3]
    assert refused > 2000
    assert answered >= 0.99 * refused, (answered, refused)


def compared(texts) -> tuple[int, int, list]:
    """``(refused, answered, differing)`` over ``texts``: how many the frontend refuses
    (those the parser refuses left out: the early checks are not reached), how many of
    those the early checks answer, and the early reports that are neither the frontend's
    first error nor an error of shapes reported after a misspelling."""
    refused = answered = 0
    differing = []
    for text in texts:
        if any("\ud800" <= c <= "\udfff" for c in text):
            continue
        try:
            read_python(text, "f.grad")
        except FormulaError:  # the parser's: the checks are not reached
            continue
        want = frontend_report(text)
        if want is None:
            continue
        refused += 1
        got = early_report(text)
        answered += got is not None
        if got is not None and got != want and not any(w in want for w in SHAPE_WORDS):
            differing.append((want, got))
    return refused, answered, differing


def misspelt_after(seed: int, count: int):
    """The fuzzer's mutants of ``seed`` with a misspelt name written at the end of their
    last ``return``."""
    for kind, text in inputs("long", seed, count):
        if kind != "mutant":
            continue
        lines = text.rstrip("\n").split("\n")
        returns = [
            k for k, line in enumerate(lines) if line.strip().startswith("return ")
        ]
        if returns:
            lines[returns[-1]] += " + qq_zz"
            yield "\n".join(lines) + "\n"


def mutated_twice(seed: int, count: int):
    """``count`` example formulas, each mutated twice over (``test_fuzz_parser.mutate``)."""
    rng = random.Random(seed)
    texts = seed_texts()
    for _ in range(count):
        yield mutate(rng, mutate(rng, rng.choice(texts)))


def test_a_misspelling_after_the_mutation_is_not_reported_in_its_place():
    """Each mutant with a misspelt name written at the end of its last ``return``: the
    frontend meets the mutant's error first (where it has one), so an early report of the
    misspelling instead is wrong. Every early report is the frontend's first error, or
    an error of shapes reported after the misspelling. Seed 58 holds two that were
    wrong at 32af910 (an index past 2**31, a built-in called with nothing, each in a
    statement before the misspelling: ``first_refusals.py``); seeds 57-60 held 6 in
    2,990 such files, and 2 errors of operands (an ``Index`` value used as a number, a
    kernel that is no Tensor) now counted with those of shapes."""
    refused, answered, differing = compared(misspelt_after(58, 6000))
    assert not differing, differing[:3]
    assert refused > 700 and answered >= 0.95 * refused, (answered, refused)  # 823


def test_two_mutations_per_file_as_the_frontend():
    """Each example formula mutated twice over (two errors in a file, often): every early
    report is the frontend's first error, or an error of shapes reported after a
    misspelling. Seed 4 held two that were wrong at 83cd295 (an index of a float array
    that is no integer, `b[:, W3]`, `x[(N)]`, before a misspelling further on)."""
    refused, answered, differing = compared(mutated_twice(4, COUNT_TWICE))
    assert not differing, differing[:3]
    assert refused > 1000 and answered >= 0.95 * refused, (answered, refused)
