"""Calls of unknown functions found on the syntax tree before SymPy is imported (issue 16:
a ``FILE:LINE:COL`` error in under 0.3 s; ``frontend/call_names.py``).

The names come from the op records through ``calls.BUILTIN_CALLS``; the check reads a
copy stored as data (``CALL_NAMES``), compared here with the table. Each message is the
one the frontend gives when it lowers the file (``lower_module`` called directly, without
the check), and the command line gives it without importing SymPy, NumPy or the compiler.
"""

from __future__ import annotations

import pytest

import gradc
from gradc.errors import FormulaError
from gradc.frontend.call_names import CALL_NAMES, NUMPY_CALL_NAMES
from gradc.frontend.calls import BUILTIN_CALLS, NUMPY_CALLS
from gradc.frontend.source import read_python
from gradc.frontend.text import lower_module
from gradc.frontend.value_names import unknown_names
from tests.test_startup import assert_answered_early

H = "def f(x: Vector[n], w: Scalar) -> Scalar:\n"


def test_call_names_are_the_frontends_table():
    assert set(CALL_NAMES) == set(BUILTIN_CALLS)
    assert set(NUMPY_CALL_NAMES) == set(NUMPY_CALLS)
    assert not set(NUMPY_CALL_NAMES) & set(BUILTIN_CALLS)


def frontend_report(text: str) -> str:
    """The error the frontend meets lowering ``text`` (the check not run first)."""
    tree, src = read_python(text, "f.grad")
    with pytest.raises(FormulaError) as info:
        lower_module(tree, src, True)
    return info.value.report()


def precheck_report(text: str) -> str | None:
    tree, src = read_python(text, "f.grad")
    error = unknown_names(tree, src)
    return None if error is None else error.report()


REPORTED = {
    "name": H + "    return sum(foo(x)) * w\n",
    "did-you-mean": H + "    return sum(simgoid(x)) * w\n",
    "np-prefix": H + "    return sum(np.sigmod(x))\n",
    "a-value-called": H + "    y = x * w\n    return sum(y(x))\n",
    "second-statement": H + "    y = exp(x)\n    z = y * bar(w)\n    return sum(z)\n",
    "nested": H + "    return sum(exp(foo(x)))\n",
    "in-a-loop": (
        "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
        "    s = w\n"
        "    for t in range(3):\n"
        "        s = s * foo(w)\n"
        "    return s\n"
    ),
    "second-function": (
        "def g(x: Vector[n]) -> Scalar:\n    return sum(x)\n\n\n"
        "def f(x: Vector[n]) -> Scalar:\n    return g(x) + sum(blah(x))\n"
    ),
    "with-constants-and-docstrings": (
        '"""A file."""\n\nEPS = 1e-5\n\n\n'
        "@wrt(x)\n"
        'def f(x: Vector[n], w: Scalar) -> Scalar:\n    """Doc."""\n'
        "    return sum(lgo(x + EPS)) * w\n"
    ),
    "defined-below": H + "    return sum(g(x))\n\n\ndef g(x: Vector[n]) -> Vector[n]:\n"
    "    return x\n",
    "recursion": H + "    return f(x, w)\n",
    "a-fuse-helper-defined-below": H + "    return sum(h(x))\n\n\n"
    "@fuse\ndef h(u: Scalar) -> Scalar:\n    return u\n",
    # past a shape the frontend reads as sizes (``call_arguments.py``)
    "after-a-created-array": H
    + "    s = zeros((n, 3))\n    return sum(sigmod(s)) * w\n",
    "after-a-reshape": H + "    r = reshape(x, (n, 1))\n    return sum(foo(r)) * w\n",
    "a-created-array-in-the-same-expression": H
    + "    return sum(zeros((n, 2)) + foo(x)) * w\n",
    "in-a-stack": H + "    return sum(stack([x, foo(x)])) * w\n",
}


@pytest.mark.parametrize("key", sorted(REPORTED))
def test_precheck_reports_what_the_frontend_reports(key):
    text = REPORTED[key]
    want = frontend_report(text)
    assert any(w in want for w in ("unknown function", "defined below", "itself")), want
    assert precheck_report(text) == want
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="f.grad")
    assert info.value.report() == want


LEFT_TO_THE_FRONTEND = {
    # each is an error the frontend meets first, or no error at all
    "method-first": H + "    return x.sum() + sum(foo(x))\n",
    "math-module": H + "    return math.exp(w) + sum(foo(x))\n",
    "unsupported-statement-first": H
    + "    if w > 0:\n        w = 1\n    return foo(w)\n",
    "no-return": H + "    y = foo(x)\n",
    "unknown-decorator": "@jit\n" + H + "    return foo(w)\n",
    "top-level-statement": "import os\n\n\n" + H + "    return foo(w)\n",
    "bad-loop": H + "    for t in enumerate(x):\n        w = foo(w)\n    return w\n",
    "fuse-body": "@fuse\ndef g(x):\n    return foo(x)\n\n\n" + H + "    return w\n",
    "known": H + "    return sum(np.exp(x)) + norm(x) + np.linalg.norm(x) + w\n",
    "a-created-shape-of-a-value": H + "    s = zeros((n, w))\n    return foo(w)\n",
    # the statements the frontend refuses before their values, as the name check
    # walks them (the two checks walk the statements once, value_names.in_statements)
    "an-assignment-to-an-operation": H + "    abs = x\n    return sum(foo(x))\n",
    "an-update-before-an-assignment": H + "    u += x\n    return sum(foo(x))\n",
    "a-method-first-in-the-statement": H
    + "    y = x.sum() + sum(foo(x))\n    return y\n",
}


@pytest.mark.parametrize("key", sorted(LEFT_TO_THE_FRONTEND))
def test_precheck_leaves_other_first_errors_to_the_frontend(key):
    assert precheck_report(LEFT_TO_THE_FRONTEND[key]) is None


def test_unknown_function_reported_before_a_shape_error():
    # names are resolved before shapes: the one order change of the check
    text = (
        "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n"
        "    z = x + y\n"
        "    return sum(foo(z))\n"
    )
    with pytest.raises(FormulaError, match="unknown function 'foo'"):
        gradc.compile_source(text)


def test_command_line_answers_without_the_compiler(tmp_path):
    text = REPORTED["did-you-mean"]
    assert_answered_early(text, frontend_report(text), tmp_path)
