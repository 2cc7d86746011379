"""Indices of integer arrays read on the syntax tree before SymPy is imported
(``frontend/gather_shapes.py``): ``scores[arange(n), y]``, the picked entries of a
softmax loss, ``x[i]`` with an ``Index`` parameter, and arrays beside whole slices
(``W[:, i]``), each of the shape the ``getitem`` record gives, and an ``Index``
parameter indexed inside an index (a word embedding ``W_embed[captions[:, t]]``). Over a
grid of values, arrays and slices, every report is the frontend's (message, line,
column), and none where the frontend compiles the file. An ``arange`` the frontend
refuses by its form is its error, before SymPy is imported.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.test_call_shape_precheck import counted_as_the_frontend
from tests.test_startup import assert_answered_early
from tests.test_value_name_precheck import frontend_report

HEADER = (
    "def f(S: Matrix[n, C], y: Index[n], z: Index[m], T: Tensor[n, C, d],"
    " w: Vector[C], v: Vector[m], j: Index[n, 2], k3: Index[3], L: Matrix[3, 4])"
    " -> Scalar:\n"
)
ITEMS = (
    "arange(n)", "arange(C)", "arange(m)", "arange(3)", "np.arange(n)", "y", "z", "j",
    "k3", "arange(n), y", "y, y", "arange(n), z", "z, y", "y, arange(C)",
    "arange(n), y, arange(d)", "arange(n), arange(n), arange(n), arange(n)", ":, y",
    ":, z", ":, arange(C)", ":, :, y", "y, :, arange(d)", ":, y, arange(d)", "y, :",
    ":, j", "j, :", ":, k3", "k3, :", ":, arange(4)", "arange(2), :",
)  # fmt: skip
VALUES = ("S", "T", "w", "v", "S.T", "(S + 1.0)", "L")
OTHERS = ("w", "v", "S", "0.0")
ROOT = Path(__file__).resolve().parent.parent


def files():
    for value, items, other in itertools.product(VALUES, ITEMS, OTHERS):
        yield HEADER + f"    return sum({value}[{items}] + {other})\n"


def test_index_arrays_as_the_frontend():
    """Arrays that do not broadcast together, more items than axes, a gathered shape
    that does not fit what follows: each reported as the frontend reports it. The
    files it leaves are the frontend's own errors (an ``arange`` of a literal length on
    an axis of a literal size, checked against it first)."""
    refused, reported = counted_as_the_frontend(files())
    assert refused > 600 and reported > refused - 25, (reported, refused)  # 636, 618


def test_the_softmax_losss_picked_scores_early(tmp_path):
    text = (
        "def f(X: Matrix[n, d], W: Matrix[d, C], y: Index[m]) -> Scalar:\n"
        "    s = X @ W\n    return mean(s[arange(n), y])\n"
    )
    want = frontend_report(text)
    assert "shapes (n,) and (m,) do not broadcast" in want
    assert_answered_early(text, want, tmp_path)


INDEXED = (
    "j[:, 0]", "j[:, 1]", "j[0]", "j[:, None]", "y[:, None]", "y[1:]", "j[1:, 0]",
    "j[:, 2]", "j[0, 1]", "j[:, 0.5]", "j[:, :, 0]", "z[None]", "k3[1:]", "y[::2]",
    ":, j[:, 0]", "j[:, 0], :", "arange(n), j[:, 1]", "y[:, None], arange(C)",
    "z[:, None], y", "j[:, 0], j[:, 1]", ":, k3[:2]", "j[:, 0], arange(C), :",
)  # fmt: skip


def indexed_files():
    for value, items, other in itertools.product(VALUES, INDEXED, OTHERS):
        yield HEADER + f"    return sum({value}[{items}] + {other})\n"


def test_index_parameters_indexed_as_the_frontend():
    """An ``Index`` parameter indexed with integers, slices and ``None`` inside an
    index (``W_embed[captions[:, t]]``, ``S[y[:, None], arange(C)]``) has the shape that
    basic indexing gives it; a mismatch after it is reported as the frontend reports
    it, and none where the frontend compiles the file. The files it leaves are errors of
    the inner index the check does not read (a float, an item too many, an index out of
    a literal size) and arrays of a literal length on an axis of a literal size."""
    refused, reported = counted_as_the_frontend(indexed_files())
    assert refused > 400 and reported > 320, (reported, refused)  # 448, 341


def test_a_mismatch_after_the_captioning_rnns_embedding_early(tmp_path):
    """The captioning example's embedding ``W_embed[captions_in[:, t]]`` has the shape
    ``(N, W)``, so a mismatch after it is answered before SymPy is imported."""
    text = (ROOT / "examples" / "captioning.grad").read_text()
    text = text.replace("logp = log_softmax(scores, axis=1)", "logp = scores + Wx")
    want = frontend_report(text)
    assert "shapes (N, V) and (W, H) do not broadcast" in want
    assert_answered_early(text, want, tmp_path)


ARANGES = (
    "arange(q)", "arange(K)", "arange(-1)", "arange(0)", "arange(1.5)", "arange(n + 0)",
    "arange(n, 1)", "arange(n=n)", "arange()", "arange(True)", "arange(2**40)",
)  # fmt: skip


@pytest.mark.parametrize("arange", ARANGES)
def test_an_arange_the_frontend_refuses_by_its_form_early(arange, tmp_path):
    """``arange`` of a name that is no dimension (a module constant among them), of a
    literal that is no positive int, of other arguments: the frontend's error, before
    SymPy is imported."""
    text = "K = 5\n\n\n" + HEADER + f"    return sum(S[{arange}, y]) + qq\n"
    want = frontend_report(text)
    assert "arange takes" in want
    assert_answered_early(text, want, tmp_path)
