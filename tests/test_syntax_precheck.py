"""Syntax a formula does not have, reported on the syntax tree before SymPy is imported
(issue 16: a ``FILE:LINE:COL`` error in under 0.3 s; ``frontend/refusals.py``).

The frontend refuses a tuple, ``//``, ``while``, ``x.shape``, a ``@fuse`` function of a
Vector and the like by their form alone, with the functions of ``refusals.py``; the
syntax-tree check (``statement_shapes.py``, after the unknown-name checks) calls the
same functions wherever it has read everything before the node. Each early report is
the one the frontend gives when it lowers the file (``lower_module`` without the checks):
the hand-written files below, the newcomer messages of test_error_messages.py, and the
generator's formulas with one refused line written into a function body.
"""

from __future__ import annotations

import ast
import random
import sys
from pathlib import Path

import pytest

import gradc
from gradc.errors import FormulaError
from gradc.frontend.early import early_error
from gradc.frontend.expressions import BINOPS
from gradc.frontend.refusals import BINARY_OPERATORS, EXPRESSION_TYPES, NP_CONSTANTS
from gradc.frontend.scope import CONSTANTS, EXPRESSIONS
from gradc.frontend.source import read_python
from tests.test_error_messages import MESSAGES
from tests.test_startup import assert_answered_early
from tests.test_value_name_precheck import frontend_report

sys.path.insert(0, str(Path(__file__).resolve().parent))

import language_gen as G  # noqa: E402

H = "def f(x: Vector[n], y: Vector[m], W: Matrix[n, d], s: Scalar) -> Scalar:\n"


def early_report(text: str) -> str | None:
    """What the command line reports before it imports the compiler (``precheck``)."""
    tree, src = read_python(text, "f.grad")
    error = early_error(tree, src)
    return None if error is None else error.report()


def assert_reported_early(text: str, words: str) -> None:
    """The frontend's first error in ``text`` (``lower_module`` without the checks)
    holds ``words``, and the early checks and the API (``compile_source``, which runs
    them first) report exactly it."""
    want = frontend_report(text)
    assert want is not None and words in want, (words, want)
    assert early_report(text) == want
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="f.grad")
    assert info.value.report() == want


def test_the_forms_are_the_frontends():
    """The node types, operators and constants ``refusals.py`` reads are the ones the
    frontend lowers (``scope.EXPRESSIONS``, ``expressions.BINOPS``, ``scope.CONSTANTS``)."""
    assert set(EXPRESSIONS) == set(EXPRESSION_TYPES)
    assert set(BINOPS) == set(BINARY_OPERATORS)
    assert set(NP_CONSTANTS) == set(CONSTANTS)


REFUSED = {
    "inv-with-two-arguments": H + "    return sum(inv(W, W))\n",
    "wrt-naming-no-parameter": "@wrt(z)\ndef f(x: Vector[n]) -> float:\n    return x\n",
    "a-tuple": H + "    return x, y\n",
    "a-list": H + "    return sum([x, y])\n",
    "floor-division": H + "    k = x // 2\n    return sum(k + y)\n",
    "remainder-after-a-statement": H + "    k = x * s\n    return sum(k % 2)\n",
    "a-caret": H + "    return s ^ 2\n",
    "not": H + "    return not s\n",
    "invert": H + "    return sum(~x)\n",
    "a-lambda": H + "    g = lambda t: t\n    return s\n",
    "a-list-comprehension": H + "    return sum([t * t for t in x])\n",
    "a-generator": H + "    return sum(t for t in x)\n",
    "a-conditional-expression": H + "    return s if s > 0 else -s\n",
    "and-or": H + "    return s and s\n",
    "a-while-loop": H + "    while s:\n        s = s\n    return s\n",
    "an-if-statement": H + "    if s > 0:\n        s = -s\n    return s\n",
    "an-if-in-a-loop": H + "    h = x\n    for t in range(n):\n        if s > 0:\n"
    "            h = h * s\n    return sum(h)\n",
    "a-break": H
    + "    h = x\n    for t in range(n):\n        break\n    return sum(h)\n",
    "a-continue": H + "    h = x\n    for t in range(n):\n        continue\n"
    "    return sum(h)\n",
    "an-import-at-the-top": "import numpy as np\n\n\n" + H + "    return s\n",
    "a-print-at-the-top": H + "    return s\n\n\nprint(1)\n",
    "an-import-in-the-function": H + "    from math import exp\n    return s\n",
    "a-nested-function": H + "    def g(u: Scalar) -> Scalar:\n        return u\n"
    "    return s\n",
    "tuple-unpacking": H + "    a, b = s, s\n    return a\n",
    "chained-assignment": H + "    a = b = s\n    return a\n",
    "power-assign": H + "    k = x\n    k **= 2\n    return sum(k + y)\n",
    "matmul-assign": H + "    k = x\n    k @= W\n    return sum(k)\n",
    "an-expression-on-its-own-line": H + "    exp(s)\n    return s\n",
    "a-string-on-its-own-line": H + "    k = s\n    'a note'\n    return k\n",
    "a-return-before-the-end": H + "    return s\n    return s\n",
    "an-annotated-assignment": H + "    k: float = 1.0\n    return s\n",
    "yield": H + "    yield s\n    return s\n",
    "true": H + "    return s * True\n",
    "none-as-a-value": H + "    return s * None\n",
    "an-ellipsis": H + "    return s * ...\n",
    "a-literal-that-is-not-finite": H + "    return sum(x * 1e999 + y)\n",
    "a-literal-too-long": H + "    return s * 1" + "0" * 200 + "\n",
    "an-exponent-too-large": H + "    return sum(x ** 1e7 + y)\n",
    "np-inf": H + "    return s * np.inf\n",
    "a-shape-attribute": H + "    k = x * 2.0\n    return sum(k) / k.shape[0]\n",
    "another-attribute": H + "    return sum(x.real)\n",
    "no-return": H + "    k = s * 2.0\n",
    "a-bare-return": H + "    k = s * 2.0\n    return\n",
    "a-fuse-helper-of-a-vector": (
        "@fuse\ndef h(u: Vector[n]) -> Scalar:\n    return u\n\n\n"
        + H
        + "    return s\n"
    ),
    "a-fuse-helper-of-a-vector-value": (
        "@fuse\ndef h(u: Scalar) -> Vector[n]:\n    return u\n\n\n"
        + H
        + "    return s\n"
    ),
    "a-fuse-helper-with-wrt": (
        "@fuse\n@wrt(u)\ndef h(u: Scalar) -> Scalar:\n    return u\n\n\n"
        + H
        + "    return s\n"
    ),
    "a-method": H + "    return sum(x.dot(y) + (x // 2))\n",
    "a-method-of-an-expression": H + "    k = (x * s).sum(axis=0)\n    return k\n",
    "a-method-in-a-loop": H + "    h = s\n    for t in range(n):\n"
    "        h = h + W[t].mean()\n    return h\n",
    "another-module": H + "    return math.exp(s)\n",
    "max-of-two": H + "    return max(s, 0.0)\n",
    "a-loop-over-a-list-then-a-mismatch": H + "    h = x\n    for t in [1, 2]:\n"
    "        h = h * s\n    return sum(x + y)\n",
    "a-loop-over-an-array": H + "    k = s\n    for v in x:\n        k = k + v\n"
    "    return k\n",
    "a-loop-over-a-list-as-e": H
    + "    k = s\n    for e in [1, 2]:\n        k = k * s\n"
    "    return k\n",
    "np-min-of-two": H + "    return sum(np.min(x, y))\n",
    "max-of-two-after-a-statement": H + "    k = x * s\n    return sum(max(k, 0.5))\n",
    "a-call-of-a-call": H + "    return exp(s)(s)\n",
    "after-a-dimension-expression": (
        "def f(x: Vector[2 * n - 1], y: Vector[n]) -> Scalar:\n    return sum(y // 2)\n"
    ),
    "a-float-parameter": "def f(x: float, y: Vector[m]) -> Scalar:\n    return x\n",
    "an-ndarray-parameter": "def f(x: Vector[n], y: np.ndarray) -> Scalar:\n    return x\n",
    "an-unannotated-parameter": "def f(x: Vector[n], y) -> Scalar:\n    return sum(x)\n",
    "a-float-return": "def f(x: Vector[n]) -> float:\n    return sum(x)\n",
    "a-matrix-of-one-dimension": "def f(x: Vector[n], W: Matrix[n]) -> Scalar:\n"
    "    return sum(x)\n",
    "a-vector-of-two-dimensions": (
        "def f(x: Vector[n, m], y: Vector[m]) -> Scalar:\n    return sum(x + y)\n"
    ),
    "a-vector-in-parentheses": "def f(x: Vector(n)) -> Scalar:\n    return sum(x)\n",
    "a-default": "def f(x: Scalar = 1.0) -> Scalar:\n    return x\n",
    "a-type-before-an-unknown-function": (
        "def f(x: float, y: Vector[m]) -> Scalar:\n    return foo(x)\n"
    ),
    "a-type-before-an-unknown-name": (
        "def f(x: float, y: Vector[m]) -> Scalar:\n    return yy\n"
    ),
    "an-unknown-name-before-an-unknown-function": H + "    k = yy * 2.0\n"
    "    return foo(x)\n",
    "a-refusal-a-statement-before-an-unknown-name": H
    + "    k = x // 2\n    return yy\n",
    "a-return-before-the-end-holding-an-unknown-name": H + "    return yy\n"
    "    return s\n",
    "a-return-in-a-loop": H + "    h = x\n    for t in range(n):\n        return yy\n"
    "    return s\n",
    "a-reserved-function-name": (
        "def print(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x // y)\n"
    ),
    "a-fuse-helper-named-as-an-operation": (
        "@fuse\ndef relu(u: Scalar) -> Scalar:\n    return u\n\n\n"
        + H
        + "    return s\n"
    ),
    "a-function-defined-twice": H + "    return s\n\n\n" + H + "    return s // 2\n",
    "a-constant-named-as-an-operation": "exp = 2.0\n\n\n" + H + "    return s\n",
    "a-module-constant-not-finite": "C = 1e999\n\n\n" + H + "    return s * C\n",
    "in-the-second-function": H + "    return s\n\n\n"
    "def g(x: Vector[n]) -> Scalar:\n    return sum(x // 2)\n",
    "refused-before-an-unknown-name": H + "    return sum((x // 2) + yy)\n",
    "refused-before-an-unknown-function": H + "    return sum((x, 2) + foo(x))\n",
    "an-unknown-name-before-a-refusal": H + "    return sum(yy + (x // 2))\n",
    "a-mismatch-before-a-refusal": H + "    k = x + y\n    return k // 2\n",
    "an-ellipsis-after-a-stepped-slice": H + "    return sum(W[::2, ...] + y)\n",
    # a statement refused by its form stops the unknown-function check too
    "an-augmented-power-before-an-unknown-function": H + "    k = s\n    k **= 2\n"
    "    return foo(k)\n",
    "a-chained-assignment-before-an-unknown-function": H + "    a = b = s\n"
    "    return foo(s)\n",
    "a-stepped-slice-then-a-refusal": H + "    k = x[::2]\n    k2 = x // 2\n"
    "    return yy\n",
    # an item assignment into a parameter no statement rebinds (loops.lower_setitem)
    "an-item-assignment-into-a-parameter": H + "    x[0] = s\n    return sum(x)\n",
    "an-item-multiplied-into-a-parameter": H + "    W[0, :] *= s\n    return s\n",
    "into-a-parameter-in-a-loop": H + "    for t in range(n):\n        x[t] = s\n"
    "    return sum(x + y)\n",
    "into-a-parameter-in-a-nested-loop": H + "    for t in range(n):\n"
    "        for u in range(2):\n            W[t, u] += s\n    return s\n",
    "into-a-parameter-before-an-unknown-name": H + "    x[0] = s\n    return yy\n",
    "into-a-parameter-before-an-unknown-function": H + "    x[0] = s\n"
    "    return foo(x)\n",
    "into-a-parameter-with-an-unknown-index": H + "    x[qq] = s\n    return s\n",
    # a literal that is no number in an index, read item by item (indexing.index_items)
    "an-ellipsis-in-an-index": H + "    return sum(W[..., 0] + x)\n",
    "an-ellipsis-after-an-int": H + "    return sum(W[0, ...] + y)\n",
    "an-ellipsis-after-new-axis": H + "    return sum(x[None, ...])\n",
    "an-ellipsis-of-a-scalar": H + "    return s[...]\n",
    "an-ellipsis-in-an-item-assignment": H + "    h = zeros((n, d))\n"
    "    h[..., 0] = x\n    return sum(h)\n",
    "an-ellipsis-in-a-loop": H + "    for t in range(n):\n        s = s + W[t, ...]\n"
    "    return s\n",
    "a-bool-index": H + "    return sum(W[True, 0] + y)\n",
    "a-string-index": H + "    return sum(x['a'])\n",
    "an-ellipsis-before-an-unknown-name": H + "    return sum(W[..., yy])\n",
    "an-ellipsis-before-an-unknown-function": H + "    return sum(W[..., foo(x)])\n",
    "an-ellipsis-a-statement-before-an-unknown-name": H + "    k = x[...]\n"
    "    return yy\n",
    # a comparison as an index: NumPy's boolean mask (index_refusals.mask_error)
    "a-boolean-mask": H + "    return sum(x[x > 0.0] + y)\n",
    "a-boolean-mask-after-an-int": H + "    return sum(W[0, W[0] > s])\n",
    "a-boolean-mask-in-an-item-assignment": H + "    h = zeros((n,))\n"
    "    h[x > 0.0] = 1.0\n    return sum(h)\n",
    "a-boolean-mask-holding-an-unknown-name": H + "    return sum(x[x > yy])\n",
    "a-boolean-mask-before-an-unknown-name": H + "    k = x[x > 0.0]\n    return yy\n",
    "a-boolean-mask-before-an-unknown-function": H
    + "    return sum(x[x > 0.0]) + foo(s)\n",
    # an axis the frontend refuses (arguments.read_axis, shape_rules.norm_axis), moved
    # from test_shape_precheck.py's files left to the frontend
    "axis-out-of-range": H + "    return sum(sum(W, axis=2) + y)\n",
    "repeated-axis": H + "    return sum(sum(W, axis=(1, -1)) + y)\n",
    "axis-of-a-scalar": H + "    return sum(sum(s, axis=0) + y)\n",
    "axis-empty": H + "    return sum(sum(W, axis=()) + y)\n",
    "axis-out-of-range-of-a-mean": H + "    return sum(mean(W, axis=-3))\n",
    "axis-out-of-range-with-keepdims": H
    + "    return sum(max(W, axis=2, keepdims=True))\n",
    # keepdims read after the axis (arguments.read_bool's words)
    "axis-out-of-range-keepdims-no-bool": H
    + "    return sum(sum(W, axis=5, keepdims=1))\n",
    "keepdims-no-bool": H + "    return sum(mean(W, axis=1, keepdims=1) + y)\n",
    # clip's arguments, read by the frontend's own call_names.clip_arguments
    "clip-a-bound-twice": H + "    return sum(clip(x, 0.0, a_min=1.0) + y)\n",
    "clip-an-unknown-keyword": H + "    return sum(clip(x, 1.0, foo=2.0) + y)\n",
    "clip-no-bound": H + "    return sum(clip(x, None, None) + y)\n",
    "clip-four-arguments": H + "    return sum(clip(x, 0.0, 1.0, 2.0) + y)\n",
    "softmax-axis-out-of-range": H + "    return sum(softmax(W, axis=2))\n",
    "log-softmax-axis-out-of-range": H + "    return sum(log_softmax(W, axis=-3))\n",
    "logsumexp-axis-out-of-range": H + "    return sum(logsumexp(W, axis=3))\n",
    "axis-of-a-norm-out-of-range": H + "    return sum(norm(W, axis=5))\n",
    "axis-out-of-range-of-an-empty-max": H + "    return sum(max(W[:0], axis=3))\n",
    "axis-out-of-range-in-a-loop": H + "    for t in range(n):\n"
    "        s = s + sum(x, axis=1)\n    return s\n",
    # a value carried through a loop that changes shape (loop_reads.carried_shape_error)
    "a-loop-carrying-another-shape": H + "    h = zeros((n,))\n    for t in range(n):\n"
    "        h = sum(h)\n    return sum(x + y)\n",
    "a-loop-carrying-a-product": H + "    h = x\n    for t in range(n):\n"
    "        h = W.T @ h\n    return sum(h)\n",
    "a-loop-carrying-a-scalar-into-a-vector": H + "    h = s\n    for t in range(n):\n"
    "        h = h * x\n        k = h\n    return sum(h)\n",
    "a-loop-carrying-two-the-first-changes": H + "    h = s\n    g = x\n"
    "    for t in range(n):\n        g = g @ W\n        h = h * x\n    return s\n",
    "a-nested-loop-carrying-another-shape": H + "    h = x\n    for t in range(n):\n"
    "        for u in range(d):\n            h = W.T @ h\n    return sum(h)\n",
    "a-loop-carrying-another-shape-then-a-mismatch": H + "    h = x\n"
    "    for t in range(n):\n        h = W.T @ h\n    return sum(x + y)\n",
    # the square matrices np.linalg takes (ops/inverse.py, core/shape_rules.py)
    "inv-of-a-scalar": H + "    return np.linalg.inv(s)\n",
    "inv-of-a-vector": H + "    return sum(inv(x))\n",
    "det-of-a-rectangle": H + "    return det(W)\n",
    "cholesky-of-a-slice": "def f(A: Matrix[n, n]) -> Scalar:\n"
    "    return sum(cholesky(A[1:]))\n",
    "det-of-a-stack-then-a-mismatch": "def f(A: Tensor[k, n, n], v: Vector[m]) -> Scalar:\n"
    "    return sum(det(A) + v)\n",
    "inv-then-a-product": "def f(A: Matrix[n, n], v: Vector[m]) -> Scalar:\n"
    "    return sum(inv(A) @ v)\n",
    "a-stepped-slice-then-a-refusal-then-an-unknown-name": H + "    k = x[1:-3:2]\n"
    "    k2 = x // 2\n    return yy\n",
    "an-ellipsis-after-a-stepped-slice-far-from-the-end": H
    + "    return sum(W[:-3:2, ...] + y)\n",
    "a-dimension-only-in-an-expression": (
        "def f(x: Vector[q + 1], y: Vector[m]) -> Scalar:\n    return sum(y // 2)\n"
    ),
    "a-positional-axis-then-a-mismatch": H + "    return sum(sum(W, 1) + y)\n",
    "axis-by-position-out-of-range": H + "    return sum(np.max(W, 2))\n",
    "a-positional-axis-and-keepdims-then-a-mismatch": H
    + "    return sum(mean(W, 0, keepdims=True) + y)\n",
    "a-positional-softmax-axis-then-a-mismatch": H
    + "    return sum(log_softmax(W, 0) + y)\n",
    "an-axis-by-position-and-by-keyword": H + "    return sum(sum(W, 1, axis=0) + y)\n",
    "a-dimension-divided-by-zero": (
        "def f(x: Vector[n // 0], y: Vector[n]) -> Scalar:\n    return sum(y // 2)\n"
    ),
    # an Index value's index: a literal other than an int or None, as the frontend
    # words it for an integer array (index_refusals.OF_INDEX)
    "an-ellipsis-in-an-index-of-an-index": (
        "def f(x: Vector[n], i: Index[k]) -> Scalar:\n    return sum(x[i[...]])\n"
    ),
    "a-float-in-an-index-of-an-index": (
        "def f(x: Vector[n], i: Index[k, 2]) -> Scalar:\n    return sum(x[i[:, 0.5]])\n"
    ),
}


#: an axis that is no int literal, or one too large (``arguments.read_axis``), in
#: each reduction the check reads, and an exponent past the limit: the line, the
#: refused item and the words (the messages the frontend and the check share, written
#: here)
NOT_INT = "axis must be an integer or a tuple of integers"
EXPONENT = "exponent too large (limit 1e+06)"
UNPACKING = "'*' and '**' arguments are not supported"
NOT_EXPRESSION = (
    "expected an integer literal or an expression of dimension names with + - * //"
    " (n - 1, n // 2)"
)
MASK = (
    "a boolean mask `[x > 0]` is not supported: the length it keeps depends on the"
    " values; keep the shape and zero the rest: `where(x > 0, ..., 0.0)`"
)
REFUSED_ITEMS = [
    ("    return sum(sum(W, axis=n) + y)", "n", NOT_INT),
    ("    return sum(mean(W, axis=1e-400))", "1e-400", NOT_INT),
    ("    return sum(max(W, axis=(0, 1.5)))", "1.5", NOT_INT),
    ("    return sum(var(W, axis=(5, 1.5)))", "1.5", NOT_INT),
    ("    return sum(softmax(W, axis=None))", "None", NOT_INT),
    ("    return sum(norm(W, None, 1.5))", "1.5", NOT_INT),
    ("    return sum(logsumexp(W, axis=True))", "True", NOT_INT),
    ("    return sum(min(W, axis=(0, -2**40)))", "-2**40", NOT_INT),
    ("    return sum(norm(W[:0], axis=1.5))", "1.5", NOT_INT),
    ("    return sum(sum(W, axis=99999999999))", "99999999999", "index too large"),
    # by position (the fuzz's `log_softmax(scores, axisа1)`); a keyword given twice, or
    # by position and by keyword
    ("    return sum(sum(W, n) + y)", "n", NOT_INT),
    ("    return sum(log_softmax(W, axs1))", "axs1", NOT_INT),
    (
        "    return sum(mean(W, 1, keepdims=Tru) + yy)",
        "Tru",
        "keepdims must be True or False",
    ),
    (
        "    return sum(max(W, axis=1, keepdims=yes, keepdims=True))",
        "keepdims",
        "keyword argument repeated: 'keepdims'",
    ),
    ("    return sum(foo(W, a=1, a=2) + yy)", "a", "keyword argument repeated: 'a'"),
    # NumPy's other names read as the language's (np.amax is max; np.average is mean
    # without its weights)
    (
        "    return sum(np.average(W, weights=W) + yy)",
        "weights",
        "average() with weights: write the weighted mean, `sum(w * x, axis) / sum(w, axis)`",
    ),
    (
        "    return sum(np.amax(W, axs=1)) + yy",
        "axs",
        "max() got an unexpected keyword 'axs'",
    ),
    (
        "    return sum(np.amax(W, 1, 2) + yy)",
        "np.amax",
        "max() takes an array and optionally an axis",
    ),
    (
        "    return sum(sum(W, 1, axis=0) + yy)",
        "axis",
        "sum() got multiple values for argument 'axis'",
    ),
    (
        "    return sum(norm(W, None, 1, axis=0))",
        "axis",
        "norm() got multiple values for argument 'axis'",
    ),
    (
        "    return sum(softmax(W, (0, 1)) + yy)",
        "softmax",
        "softmax() takes a single axis",
    ),
    (
        "    return sum(softmax(s) + y)",
        "softmax",
        "softmax() needs an array, not a scalar",
    ),
    (
        "    return sum(log_softmax(s, axis=0) + y)",
        "log_softmax",
        "log_softmax() needs an array, not a scalar",
    ),
    (
        "    return sum(mean(W, axis=(0, -99999999999)))",
        "-99999999999",
        "index too large",
    ),
    ("    return sum(log_softmax(W, axis=-1e99))", "-1e99", NOT_INT),
    (
        "    return sum(log_softmax(W, axis=-2147483648))",
        "-2147483648",
        "index too large",
    ),
    # a signed exponent past the limit, which the frontend folds and refuses after the
    # power's operands (an unsigned one is refused before them)
    ("    return sum(x ** -1e7 + y)", "-1e7", EXPONENT),
    ("    return sum(x ** +1e7 + y)", "+1e7", EXPONENT),
    ("    return sum(s ** -1e308 * x)", "-1e308", EXPONENT),
    ("    return sum(2.0 ** -(1e7) + y)", "-(1e7)", EXPONENT),
    # or one folded past it, as the frontend folds constants (9 ** 9 is 387420489.0)
    ("    return sum(x) * 0.9**9**9", "9**9", EXPONENT),
    ("    return sum(x ** (3 ** (9 ** 9)))", "9 ** 9", EXPONENT),
    ("    return sum(x ** (10 ** 400) + y)", "10 ** 400", EXPONENT),
    ("    return sum(x ** (1 / 0) + y)", "1 / 0", EXPONENT),
    ("    return sum(x ** (1e3 * 1e3 + 1) + y)", "1e3 * 1e3 + 1", EXPONENT),
    # a `*` or `**` argument of a built-in function, refused once the function is known
    ("    return mean( * log(x) + y)", "mean(", UNPACKING),
    ("    return sum(tan(**.1 * sum(x)) + y)", "tan(", UNPACKING),
    ("    return sum(maximum(0, * - x) + y)", "maximum(", UNPACKING),
    ("    return sum(np.amax(*x) + y)", "np.amax(", UNPACKING),
    ("    return sum(np.average(*x) + y)", "np.average(", UNPACKING),
    ("    return sum(x * y, **k)", "sum(", UNPACKING),
    # a slice's bounds (an int literal or an expression of the dimensions and loop
    # variables), then its step (an int literal, not 0)
    ("    return sum(W[:, -1e308 * d :])", "1e308", NOT_EXPRESSION),
    ("    return sum(x[:9**9**9])", "9**9**9", NOT_EXPRESSION),
    ("    return sum(W[:, 2 * d : 0.0 * d])", "0.0", NOT_EXPRESSION),
    ("    return sum(x[None:3])", "None", NOT_EXPRESSION),
    ("    return sum(x[:+n])", "+n", NOT_EXPRESSION),
    ("    return sum(x[1.5:n // 0])", "1.5", NOT_EXPRESSION),
    (
        "    return sum(x[:n // 0])",
        "0",
        "a dimension is floor-divided by a positive integer",
    ),
    ("    return sum(x[:-100000000000000000000])", "-1000", "index too large"),
    ("    return sum(x[::1.5])", "1.5", "slice bounds must be integer literals"),
    ("    return sum(x[::n])", "n", "slice bounds must be integer literals"),
    ("    return sum(x[:2:99999999999])", "99999999999", "index too large"),
    ("    return sum(x[::0])", "::0", "slice step cannot be zero"),
    ("    return sum(x[x > 0, :1.5])", "x > 0", MASK),
]


@pytest.mark.parametrize("line, item, words", REFUSED_ITEMS)
def test_an_axis_or_exponent_the_frontend_refuses_early(line, item, words):
    """Reported before the compiler, as the frontend reports it (a huge axis was
    reported as out of range before, at the axis keyword)."""
    assert_reported(H + line + "\n", 2, item, words)


def assert_reported(text: str, number: int, item: str, words: str) -> None:
    """The frontend and the check both report ``words`` at the last ``item`` of line
    ``number`` of ``text``, that line quoted."""
    line = text.splitlines()[number - 1]
    column = line.rindex(item) + 1
    want = f"f.grad:{number}:{column}: error: {words}\n    {line}\n    {' ' * (column - 1)}^"
    assert frontend_report(text) == want
    assert early_report(text) == want


#: a signature whose dimensions the frontend refuses: the signature, the refused
#: item (its last occurrence) and the words (shared by the frontend and the check)
FORM = (
    "a dimension is a positive integer, a name or an expression of them with + - * //"
)
NAMED = "has the name of a dimension; rename one"
POSITIVE = "; a dimension is positive"
REFUSED_SIGNATURES = [
    # what the frontend cannot differentiate, once it has read the signature
    (
        "def f(i: Index[n]) -> Scalar:",
        "def f",
        "function 'f' has no float input to differentiate",
    ),
    (
        "def f(x: Vector[n]) -> Index[n]:",
        "Index[n]",
        "the return type must be a float type",
    ),
    # the frontend reads a repeated name before the parameter's type
    ("def f(x: Vector[n], x: float) -> Scalar:", "x: float", "duplicate parameter 'x'"),
    (
        "def f(x: Vector[n], y: Scalar, x: Vectr[n]) -> Scalar:",
        "x: V",
        "duplicate parameter 'x'",
    ),
    ("def f(x: Matrix[n,:h], y: Vector[m]) -> Scalar:", ":h", FORM),
    ("def f(x: Matrix[n, 0], y: Vector[m]) -> Scalar:", "0", FORM),
    ("def f(x: Vector[1.5], y: Vector[m]) -> Scalar:", "1.5", FORM),
    ("def f(x: Vector[True], y: Vector[m]) -> Scalar:", "True", FORM),
    ("def f(x: Vector[2147483648], y: Vector[m]) -> Scalar:", "2147483648", FORM),
    ("def f(x: Vector[n.T], y: Vector[m]) -> Scalar:", "n.T", FORM),
    ("def f(x: Vector[n], y: Matrix[m, None]) -> Scalar:", "None", FORM),
    ("def f(x: Vector[n], y: Vector[m]) -> Vector[1.5]:", "1.5", FORM),
    ("def f(x: Vector[n], y: Vector[m]) -> Vector[0]:", "0", FORM),
    (
        "def f(x: Vector[n], y: Vector[m]) -> Vector[:n]:",
        ":n",
        "expected an integer literal or an expression of dimension names with + - * //"
        " (n - 1, n // 2)",
    ),
    (
        "def f(x: Vector[n], y: Vector[m]) -> Vector[+n]:",
        "+n",
        "expected an integer literal or an expression of dimension names with + - * //"
        " (n - 1, n // 2)",
    ),
    (
        "def f(x: Vector[-3], y: Vector[m]) -> Scalar:",
        "-3",
        "dimension -3 is -3" + POSITIVE,
    ),
    (
        "def f(x: Vector[2 - 5], y: Vector[m]) -> Scalar:",
        "2 - 5",
        "dimension 2 - 5 is -3" + POSITIVE,
    ),
    (
        "def f(x: Vector[4 // 2 - 2], y: Vector[m]) -> Scalar:",
        "4 // 2 - 2",
        "dimension 4 // 2 - 2 is 0" + POSITIVE,
    ),
    (
        "def f(x: Vector[n], y: Vector[m]) -> Vector[y]:",
        "y: ",
        "parameter 'y' " + NAMED,
    ),
    ("def f(x: Vector[n], n: Scalar) -> Scalar:", "n: ", "parameter 'n' " + NAMED),
    (
        "def f(x: Matrix[m, x], y: Vector[m]) -> Scalar:",
        "x: ",
        "parameter 'x' " + NAMED,
    ),
]


@pytest.mark.parametrize("signature, item, words", REFUSED_SIGNATURES)
def test_a_signature_the_frontend_refuses_early(signature, item, words):
    """Reported before the compiler, as the frontend reports it (the check stopped at
    a dimension that was no name or expression, at one of no name and at a parameter
    named as a dimension)."""
    assert_reported(signature + "\n    return sum(x)\n", 1, item, words)


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_early_reports_are_the_frontends(key):
    text = REFUSED[key]
    want = frontend_report(text)
    assert want is not None
    assert early_report(text) == want


LEFT_TO_THE_FRONTEND = {
    # the frontend meets another error first, or refuses after reading the operands
    "a-folded-exponent": "C = 1e7\n\n\n" + H + "    return sum(x ** C + y)\n",
    "a-power-of-a-constant-it-does-not-fold": H
    + "    return sum(x ** (pi * 1e7) + y)\n",
    "a-dimension-that-cancels": (
        "def f(x: Vector[n - n], y: Vector[n]) -> Scalar:\n    return sum(y // 2)\n"
    ),
    "a-dimension-named-as-a-constant": (
        "def f(x: Vector[pi], y: float) -> Scalar:\n    return sum(x)\n"
    ),
    "an-index-by-floor-division": H
    + "    k = x[n // 2 - 1] * 1\n    return sum(k // 2)\n",
    # a parameter rebound before (its item assignment is no error) or after (it is)
    "into-a-parameter-rebound-after": H + "    x[0] = s\n    x = x * 2.0\n"
    "    return sum(x // 2)\n",
    "an-ellipsis-after-more-indices-than-axes": H + "    return sum(x[0, 1, ...])\n",
    # the index's error, not the later name (refusals.index_literals stops the check)
    "a-float-index-a-statement-before-an-unknown-name": H + "    k = x[1.5]\n"
    "    return yy\n",
}


@pytest.mark.parametrize("key", sorted(LEFT_TO_THE_FRONTEND))
def test_the_rest_is_left_to_the_frontend(key):
    text = LEFT_TO_THE_FRONTEND[key]
    assert frontend_report(text) is not None
    assert early_report(text) is None


def test_the_newcomer_messages_as_the_frontend():
    """Of test_error_messages.py's files, every early report is the frontend's, and
    every one is early (the one not counted is a syntax error, which ``read_python``
    reports before either check)."""
    early = 0
    for row in MESSAGES:
        text = row.values[0]
        try:
            got = early_report(text)
        except Exception as exc:  # a syntax error: read_python's, the same either way
            assert "SyntaxError" not in type(exc).__name__, exc
            continue
        if got is not None:
            early += 1
            assert got == frontend_report(text), row.id
    assert early == len(MESSAGES) - 1, early


#: lines the mutation writes into a function body (``P``: one of its float parameters)
REFUSED_LINES = [
    "k9 = P // 2",
    "k9 = (P, P)",
    "k9 = [P]",
    "k9 = not P",
    "k9 = P ** 1e7",
    "k9 = P * True",
    "k9 = P.shape",
    "k9 = lambda u: u",
    "k9 = P if P else P",
    "P ** 2",
    "import math",
    "while P:\n    k9 = P",
    "if P:\n    k9 = P",
    "a9, b9 = P, P",
    "k9 = a9 = P",
    "k9 **= 2",
    "k9: float = 1.0",
    "return P",
    "k9 = np.inf * P",
    "k9 = P % 2",
    "k9 = P.sum()",
    "k9 = math.exp(P)",
    "k9 = max(P, 0.0)",
    "for q9 in P:\n    k9 = P",
    "P[0] = 1.0",
    "k9 = P[..., 0]",
    "k9 = P[P > 0.0]",
]


def mutated(seed: int) -> str | None:
    """The generator's formula of ``seed`` with one or two refused lines written before
    statements of an exported function (in a loop body too); None if it has none."""
    r = random.Random(seed)
    text = G.generate(seed).text
    tree = ast.parse(text)
    fns = [
        f
        for f in tree.body
        if isinstance(f, ast.FunctionDef)
        and not any(isinstance(d, ast.Name) for d in f.decorator_list)
    ]
    if not fns:
        return None
    fn = r.choice(fns)
    spots = [s for s in ast.walk(fn) if isinstance(s, ast.stmt) and s is not fn]
    spots = [s for s in spots if not isinstance(s, ast.Expr)]  # not the docstring
    floats = [a.arg for a in fn.args.args if getattr(a.annotation, "id", "") != "Index"]
    if not spots or not floats:
        return None
    lines = text.splitlines(keepends=True)
    for at in sorted(
        r.sample(spots, min(len(spots), r.choice([1, 2]))), key=lambda s: -s.lineno
    ):
        pad = " " * at.col_offset
        line = r.choice(REFUSED_LINES).replace("P", r.choice(floats))
        lines.insert(at.lineno - 1, "".join(pad + p + "\n" for p in line.split("\n")))
    return "".join(lines)


def test_the_generators_formulas_with_a_refused_line():
    """1,200 formulas with one refused line each: every early report is the frontend's,
    and more than 80% are early (the others are behind something the check does not
    read, or the frontend meets another error first)."""
    early, total = early_as_the_frontend(mutated, range(1200))
    assert total > 1000 and early > 0.8 * total, (early, total)


def early_as_the_frontend(make, seeds) -> tuple[int, int]:
    """How many of the files ``make(seed)`` makes are answered early, and how many it
    makes; each early report asserted equal to the frontend's."""
    early = total = 0
    for seed in seeds:
        text = make(seed)
        if text is None:
            continue
        total += 1
        got = early_report(text)
        if got is not None:
            early += 1
            assert got == frontend_report(text), (seed, text)
    return early, total


#: annotations the mutation writes for a parameter or the return
BAD_TYPES = [
    "float",
    "np.ndarray",
    "Vectr[n]",
    "Matrix[n]",
    "Scalar[n]",
    "Tensor",
    "list",
]


def retyped(seed: int) -> str | None:
    """The generator's formula of ``seed`` with the annotation of one parameter or return
    of an exported function replaced by one that is no type (``BAD_TYPES``)."""
    r = random.Random(seed)
    text = G.generate(seed).text
    tree = ast.parse(text)
    fns = [f for f in tree.body if isinstance(f, ast.FunctionDef)]
    fns = [f for f in fns if not any(isinstance(d, ast.Name) for d in f.decorator_list)]
    if not fns:
        return None
    fn = r.choice(fns)
    anns = [a.annotation for a in fn.args.args] + [fn.returns]
    ann = r.choice(anns)
    lines = text.splitlines(keepends=True)
    line = lines[ann.lineno - 1]
    bad = r.choice(BAD_TYPES)
    lines[ann.lineno - 1] = line[: ann.col_offset] + bad + line[ann.end_col_offset :]
    return "".join(lines)


def test_the_generators_formulas_with_an_annotation_that_is_no_type():
    """600 formulas with one annotation that is no type: every early report is the
    frontend's, and more than 80% are early."""
    early, total = early_as_the_frontend(retyped, range(600))
    assert total > 500 and early > 0.8 * total, (early, total)


def test_the_command_line_reports_it_without_the_compiler(tmp_path):
    text = REFUSED["a-while-loop"]
    assert_answered_early(text, frontend_report(text), tmp_path)


def test_the_command_line_reports_the_items_and_signatures_without_the_compiler(
    tmp_path,
):
    """One of each kind of ``REFUSED_ITEMS`` and ``REFUSED_SIGNATURES``, and a mismatch
    after ``swish_sum`` (beside the ``@fuse`` function ``swish``), through ``gradc
    compile`` and ``gradc check`` with no heavy module loaded."""
    lines = {line: words for line, _, words in REFUSED_ITEMS}
    picked = [
        next(line for line in lines if lines[line] == w) for w in set(lines.values())
    ]
    texts = [H + line + "\n" for line in sorted(picked)]
    texts += [s + "\n    return sum(x)\n" for s, _, _ in REFUSED_SIGNATURES[:3]]
    texts.append(
        "@fuse\ndef swish(x: Scalar) -> Scalar:\n    return x * sigmoid(x)\n\n\n"
        "def swish_sum(x: Vector[n]) -> Scalar:\n    return sum(swish(x))\n\n\n"
        + H
        + "    return sum(x + y)\n"
    )
    for text in texts:
        assert_answered_early(text, frontend_report(text), tmp_path)
