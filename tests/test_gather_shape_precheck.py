"""Indices of integer arrays read on the syntax tree before SymPy is imported
(``frontend/gather_shapes.py``): ``scores[arange(n), y]``, the picked entries of a
softmax loss, ``x[i]`` with an ``Index`` parameter, and arrays beside whole slices
(``W[:, i]``), each of the shape the ``getitem`` record gives. Over a grid of values,
arrays and slices, every report is the frontend's (message, line, column), and none
where the frontend compiles the file.
"""

from __future__ import annotations

import itertools

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
