"""A file's top level and a function's decorators, checked on the syntax tree before
SymPy is imported (issue 16, start-up; ``frontend/module_refusals.py``, which the
frontend raises through too): a file with no function to compile, a decorator other
than ``@fuse`` and ``@wrt(...)``, ``@wrt`` naming no parameter, and a module-level
assignment of anything but a number to one name.

Each report is the one the frontend gives when it lowers the file (``lower_module``
called directly, without the check): message, line, column and the quoted line; where
the frontend meets another error first (a ``@wrt`` of another form, a duplicate
parameter, a return type it refuses, a ``@wrt`` of an ``Index``), the check reports
nothing or that error.
"""

from __future__ import annotations

import pytest

from tests.test_startup import assert_answered_early
from tests.test_syntax_precheck import early_report
from tests.test_value_name_precheck import frontend_report

H = "def f(x: Vector[n], w: Scalar) -> Scalar:\n    return sum(x) * w\n"
FUSE = "@fuse\ndef g(a: Scalar) -> Scalar:\n    return a * 2.0\n"

REPORTED = {
    "wrt-of-an-index": "@wrt(x)\ndef f(x: Index[n], w: Scalar) -> Scalar:\n    return w\n",
    # before the @wrt that names no parameter (the frontend reads the parameters first)
    "a-duplicate-parameter-first": (
        "@wrt(z)\ndef f(x: Vector[n], x: Scalar) -> Scalar:\n    return w\n"
    ),
    # before the return's type and a parameter named as a dimension (the frontend reads
    # the names @wrt gives after the parameters, before the return)
    "wrt-naming-no-parameter-before-an-unknown-return-type": (
        "@wrt(z)\ndef f(x: Vector[n], w: Scalar) -> Vectr[n]:\n    return w\n"
    ),
    "wrt-naming-no-parameter-before-a-parameter-named-as-a-dimension": (
        "@wrt(z)\ndef f(x: Vector[n], n: Scalar) -> Scalar:\n    return n\n"
    ),
    # where the check does not follow a parameter's shape (CS231n's convnet)
    "wrt-naming-no-parameter-of-a-floored-shape": (
        "@wrt(W, z)\ndef f(W: Matrix[F * (H // 2), D], X: Matrix[F, H]) -> Scalar:\n"
        "    return sum(W)\n"
    ),
    # no function to compile
    "a-docstring-alone": '"""A file of nothing yet."""\n',
    "a-constant-alone": "C = 2.0\n",
    "a-fuse-function-alone": FUSE,
    "constants-and-a-fuse-function": "C = 1.0\n\n\n" + FUSE,
    "a-fuse-function-of-an-unknown-call": (
        "@fuse\ndef g(a: Scalar) -> Scalar:\n    return foo(a)\n"
    ),
    "a-fuse-function-with-a-loop": (
        "@fuse\ndef g(a: Scalar) -> Scalar:\n    for t in range(3):\n        a = a * 2.0\n"
        "    return a\n"
    ),
    # an unknown decorator, the first of them
    "a-name": "@foo\n" + H,
    "after-wrt": "@wrt(x)\n@bar\n" + H,
    "an-attribute": "@np.vectorize\n" + H,
    "fuse-called": "@fuse()\n" + H,
    "wrt-bare": "@wrt\n" + H,
    "on-a-second-function": H + "\n\n@foo\ndef h(x: Scalar) -> Scalar:\n    return x\n",
    "on-a-fuse-function": "@bar\n" + FUSE,
    "before-an-unknown-name-in-the-body": (
        "@fuse\n@bar\ndef g(a: Scalar) -> Scalar:\n    return qq\n"
    ),
    # a module constant of another form or value
    "a-constant-of-an-expression": "C = x + 1\n\n\n" + H,
    "a-constant-of-a-string": "C = 'a'\n\n\n" + H,
    "a-constant-of-a-bool": "C = True\n\n\n" + H,
    "a-constant-of-a-call": "C = exp(1.0)\n\n\n" + H,
    "a-constant-of-an-unknown-name": "C = qq\n\n\n" + H,
    "a-constant-negated-twice": "C = -(-2.0)\n\n\n" + H,
    "a-constant-of-a-list": "C = [1.0]\n\n\n" + H,
    "a-constant-of-a-quotient": "C = 1.0 / 3\n\n\n" + H,
    "a-constant-of-a-name-before-an-unknown-name": "C = foo\n\n\n"
    + H.replace("sum(x) * w", "yy"),
    "a-constant-of-a-power": "C = 10**1000\n\n\n" + H,
    "a-constant-not-finite": "C = 1e999\n\n\n" + H,
    "two-targets": "C, D = 1.0, 2.0\n\n\n" + H,
    "a-chained-assignment": "C = D = 1.0\n\n\n" + H,
    "an-item": "C[0] = 1.0\n\n\n" + H,
    # @wrt naming no parameter
    "wrt-of-no-parameter": "@wrt(z)\n" + H,
    "wrt-of-a-second-name": "@wrt(x, z)\n" + H,
    "a-second-wrt": "@wrt(x)\n@wrt(q)\n" + H,
    "a-name-twice": "@wrt(q, q)\n" + H,
    "before-an-unknown-name": (
        "@wrt(z)\ndef f(x: Vector[n], w: Scalar) -> Scalar:\n    return qq\n"
    ),
    # @wrt of another form (statements.read_wrt, before the parameters' types)
    "wrt-with-a-keyword": "@wrt(x=1)\n" + H,
    "wrt-of-nothing": "@wrt()\n" + H,
    "wrt-of-a-number": "@wrt(x, 0)\n" + H,
    "wrt-of-an-expression": "@wrt(x, w * x)\n" + H,
    "a-second-wrt-of-none": "@wrt(x)\n@wrt(None)\n" + H,
    "wrt-of-a-number-before-an-unknown-type": "@wrt(1)\n"
    + H.replace("Vector[n]", "Vectr[n]"),
    "wrt-of-a-number-before-an-unknown-name": "@wrt(1)\n"
    + H.replace("sum(x) * w", "qq"),
    # an exported function whose names clash with one's above (f_grad after f)
    "a-generated-name": H + "\n\ndef f_grad(x: Vector[n]) -> Scalar:\n"
    "    return sum(x // 2)\n",
    "a-name-that-generates-one-above": "def f_grad(x: Scalar) -> Scalar:\n"
    "    return x\n\n\n" + H,
    "one-it-generates": "def f_forward(x: Scalar) -> Scalar:\n    return x\n\n\n" + H,
    "both-generate-one": "def f_value_and(x: Scalar) -> Scalar:\n    return x\n\n\n"
    + H,
    "a-clash-then-a-mismatch": H + "\n\ndef f_backward(x: Vector[n], y: Vector[m])"
    " -> Scalar:\n    return sum(x + y)\n",
}


#: the messages, written here (the frontend and the check share their functions)
MESSAGES = (
    "error: cannot differentiate with respect to Index 'x'\n",
    "error: duplicate parameter 'x'\n",
    "error: no function to compile (define one with 'def')\n",
    "error: unknown decorator (only @fuse and @wrt(...) are supported)\n",
    "', which is not a parameter\n",
    "error: @wrt takes parameter names: @wrt(w, b)\n",
    "error: @wrt takes parameter names\n",
    "error: a module constant must be a number\n",
    "error: a module-level assignment must be 'NAME = <number>'\n",
    "error: number literal is not finite\n",
    "error: function name 'f_grad' collides with 'f_grad', which gradc generates for 'f'"
    " (line 1); rename one of them\n",
    "error: function 'f' would generate 'f_grad', the name of the function on line 1;"
    " rename one of them\n",
    "error: function 'f' would generate 'f_forward', the name of the function on line 1;"
    " rename one of them\n",
    "error: function 'f' would generate 'f_value_and_grad', which gradc also generates"
    " for 'f_value_and' (line 1); rename one of them\n",
    "error: function name 'f_backward' collides with 'f_backward', which gradc generates"
    " for 'f' (line 1); rename one of them\n",
)


@pytest.mark.parametrize("key", sorted(REPORTED))
def test_the_check_reports_what_the_frontend_reports(key):
    text = REPORTED[key]
    want = frontend_report(text)
    assert want is not None and any(m in want for m in MESSAGES), (key, want)
    assert early_report(text) == want


LEFT_TO_THE_FRONTEND = {
    # the frontend's error comes first and is not the check's
    "a-dimension-named-as-a-constant-first": (
        "N = 2.0\n\n\n@wrt(z)\ndef f(x: Vector[N], w: Scalar) -> Scalar:\n"
        "    return w\n"
    ),
}


@pytest.mark.parametrize("key", sorted(LEFT_TO_THE_FRONTEND))
def test_the_check_leaves_these_to_the_frontend(key):
    text = LEFT_TO_THE_FRONTEND[key]
    assert frontend_report(text) is not None
    assert early_report(text) is None


def test_a_file_with_a_function_and_fuse_functions_is_no_error():
    constants = "A = 2.0\nB = +2.0\nC = -2\n\n\n"
    for text in (
        H,
        FUSE + "\n\n" + H,
        H + "\n\n" + FUSE,
        "@wrt(x)\n" + H,
        constants + H,
    ):
        assert frontend_report(text) is None and early_report(text) is None, text


def test_a_name_gradc_does_not_generate_is_no_clash():
    """``swish_sum`` beside the ``@fuse`` function ``swish`` (``examples/logistic.grad``),
    ``f_sum`` beside ``f``, and ``g_grad`` beside a ``@fuse`` ``g`` (which defines no
    name) are read on: the mismatch after them is reported early (the check stopped at
    any name that began with another's and ``_`` before)."""
    mismatch = "def h(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x + y)\n"
    for first, second in (
        (FUSE, "def g_sum(x: Vector[n]) -> Scalar:\n    return sum(g(x))\n"),
        (H, "def f_sum(x: Vector[n]) -> Scalar:\n    return sum(x)\n"),
        (FUSE, "def g_grad(x: Vector[n]) -> Scalar:\n    return sum(g(x))\n"),
    ):
        text = "\n\n".join([first, second, mismatch])
        want = frontend_report(text)
        assert "error: shapes (n,) and (m,) do not broadcast\n" in want, want
        assert early_report(text) == want


def test_the_command_line_answers_before_sympy(tmp_path):
    for key in ("a-fuse-function-alone", "a-name", "wrt-of-no-parameter", "an-item"):
        text = REPORTED[key]
        assert_answered_early(text, frontend_report(text), tmp_path)
