"""An item assignment ``a[index] = v`` checked on the syntax tree before SymPy is
imported (issue 16, start-up). The frontend reads the index before the value
(``loops.lower_setitem``), so the checks do too (``value_names.target_error``): a
misspelt name in the index is reported, and an index the frontend refuses (a float
item, a dimension, an ``Index`` array, a slice of no dimension, ``*=``) comes before a
misspelt name or function in the value.

Over a grid of the RNN and the oscillator examples' item assignments, each index item
replaced and a misspelt name or function written after the value, every early report is
the frontend's first error (message, line, column), or an error of shapes that a
misspelt name further on is reported before (the one order the checks change,
``frontend/early.py``). At beefbed the check reported the value's misspelling in 188 of
these 720 files where the frontend reports the index.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from tests.test_early_reports_on_mutants import SHAPE_WORDS
from tests.test_startup import assert_answered_early
from tests.test_syntax_precheck import early_report
from tests.test_value_name_precheck import frontend_report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("rnn.grad", "oscillator.grad", "lstm.grad")
#: what an index item is replaced with: a loop variable's index, literals, a float, a
#: dimension, a misspelt name, an Index array, a mask, slices of every kind
ITEMS = (
    "t", ":", "0", "1.5", "None", "qq", "t - 1", "T - 1 - t", "n", "N", "H", "arange(N)",
    "y", "x > 0", "t:t + 1", ":qq", "::0", "1:", "t, 0", "...", "t // 2", "2 * t", "tt",
    "-1",
)  # fmt: skip
#: what is written after the value: nothing, a misspelt name, a misspelt function
TAILS = ("", " + qq", " * foo(1.0)")


def item_assignments(text: str) -> list:
    """The one-line item assignments of ``text`` (their targets' index items and the
    index itself, each a node to replace)."""
    out = []
    for st in ast.walk(ast.parse(text)):
        if isinstance(st, (ast.Assign, ast.AugAssign)) and st.lineno == st.end_lineno:
            target = st.targets[0] if isinstance(st, ast.Assign) else st.target
            if isinstance(target, ast.Subscript):
                index = target.slice
                items = index.elts if isinstance(index, ast.Tuple) else [index]
                out += [(st.lineno, node) for node in [*items, index]]
    return out


def variants():
    for name in EXAMPLES:
        text = (ROOT / "examples" / name).read_text()
        lines = text.split("\n")
        for (number, node), item, tail in itertools.product(
            item_assignments(text), ITEMS, TAILS
        ):
            line = lines[number - 1]
            line = line[: node.col_offset] + item + line[node.end_col_offset :] + tail
            yield "\n".join(lines[: number - 1] + [line] + lines[number:])


def test_item_assignments_as_the_frontend():
    """Every early report is the frontend's, or an error of shapes reported after a
    misspelling; most files are answered early."""
    refused = answered = 0
    for text in variants():
        want, got = frontend_report(text), early_report(text)
        if want is None:
            assert got is None, text
            continue
        refused += 1
        answered += got is not None
        if got is not None and got != want:
            assert any(w in want for w in SHAPE_WORDS), (text, want, got)
    assert refused > 600 and answered > 0.6 * refused, (answered, refused)  # 680, 446


def test_a_misspelt_loop_variable_in_the_index_early(tmp_path):
    text = (ROOT / "examples" / "rnn.grad").read_text()
    text = text.replace("hs[:, t, :] = h", "hs[:, tt, :] = h")
    want = frontend_report(text)
    assert "unknown name 'tt'" in want
    assert_answered_early(text, want, tmp_path)
