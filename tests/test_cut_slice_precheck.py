"""A slice of an axis already cut, found on the syntax tree before SymPy (issue 16: a
``FILE:LINE:COL`` error in under 0.3 s; ``frontend/shape_reading.py`` ``bounded`` and
``stepped``, ``size_forms.cut_size``): ``x[1:][1:]`` is ``(n - 2,)``, ``x[1:][::2]`` is
``(n // 2,)``, ``x[::2][1:]`` is ``((n + 1) // 2 - 1,)``, ``x[::2][1::2]`` is ``(((n +
1) // 2) // 2,)``, ``x[-3::2]`` is ``(2,)``, and with a negative step and a bound
(``shape_reading.backward``) ``x[:0:-1]`` is ``(n - 1,)``, ``x[5:1:-2]`` ``(2,)``,
written as the frontend writes them.

The oracle is the frontend itself (``lower_module``, without the check): over chains of
one to three slices drawn from every form of bound and step, on vectors of a name, of a
name less or plus an int, of two joined names and on a matrix's either axis, every
report of the check equals the frontend's (message, line, column, quoted line), and the
check reports every mismatch. The same chains meeting themselves are never reported.
"""

from __future__ import annotations

import random

from tests.test_shape_precheck import precheck_report
from tests.test_startup import assert_answered_early
from tests.test_value_name_precheck import frontend_report

SLICES = (
    ":", "1:", ":-1", "1:-1", "2:", ":-2", "-2:", ":3", "-3:", "2:5", "3:1", "-1:-3",
    ":0", "::2", "1::2", ":-1:2", "1:-1:3", "::-1", "::-2", "::3", "2::2", "1:-2:2",
    ":-3:2", "-3::2", "-4:-1:2", "1:7:2", ":0:-1", "-2::-1", "3:0:-1", ":1:-1", "-2::-2",
    ":0:-2", "5:1:-2", "-1:-4:-1", "1::-1", ":-3:-1", "-1:0:-3",
)  # fmt: skip
#: (parameters, the sliced value, the index of one slice at axis 0 or 1)
HOLDERS = (
    ("x: Vector[n]", "x", "[{}]"),
    ("z: Vector[n], x: Vector[n - 1]", "x", "[{}]"),
    ("z: Vector[n], x: Vector[n + 2]", "x", "[{}]"),
    ("a: Vector[n], b: Vector[k]", "np.concatenate([a, b])", "[{}]"),
    ("W: Matrix[n, d]", "W", "[{}]"),
    ("W: Matrix[n, d]", "W", "[:, {}]"),
)


def chains(seed: int, count: int):
    """``count`` formulas of a chain of slices added to a vector of another dimension,
    and the same chain times itself, reproducibly from ``seed``."""
    r = random.Random(seed)
    for _ in range(count):
        params, value, index = r.choice(HOLDERS)
        chain = "".join(index.format(r.choice(SLICES)) for _ in range(r.randint(1, 3)))
        head = f"def f({params}, y: Vector[m]) -> Scalar:\n"
        part = value + chain
        yield (
            head + f"    return sum({part} + y)\n",
            head + f"    return sum({part} * {part})\n",
        )


def test_chains_of_slices_as_the_frontend_reports_them():
    reported = mismatched = 0
    for wrong, right in chains(20261204, 600):
        want = frontend_report(wrong)
        got = precheck_report(wrong)
        mismatched += want is not None and "do not broadcast" in want
        if got is None:
            assert want is None or "do not broadcast" not in want, wrong
            continue
        reported += 1
        assert got == want, wrong
        assert precheck_report(right) is None, right
        assert frontend_report(right) is None, right
    # the frontend errs at about 9 in 10 chains (m against a length of n)
    assert mismatched > 500 and reported == mismatched, (reported, mismatched)


def test_each_form_once(tmp_path):
    cases = {
        "x[1:][1:]": "(n - 2,)",
        "x[1:][:-2]": "(n - 3,)",
        "x[1:][::2]": "(n // 2,)",
        "x[:-1][1::2]": "((n - 1) // 2,)",
        "x[2:][1:-1:3]": "((n - 2) // 3,)",
        "x[::2][1:]": "((n + 1) // 2 - 1,)",
        "x[::2][1::2]": "(((n + 1) // 2) // 2,)",
        "x[1:-2:2][2:][::2]": "((n // 2) // 2 - 1,)",
        "x[-3::2]": "(2,)",
        "x[1::2][3:1]": "(0,)",
        "x[1:][-3:]": "(3,)",
        "x[:0:-1]": "(n - 1,)",
        "x[1:][-2::-2]": "((n - 1) // 2,)",
        "x[5:1:-2]": "(2,)",
    }
    for part, shape in cases.items():
        text = f"def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum({part} + y)\n"
        got = precheck_report(text)
        assert got == frontend_report(text), part
        assert f"error: shapes {shape} and (m,) do not broadcast" in got, got
    assert_answered_early(text, frontend_report(text), tmp_path)
