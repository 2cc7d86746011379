"""Unknown names found on the syntax tree before SymPy is imported (issue 16: a
``FILE:LINE:COL`` error in under 0.3 s; ``frontend/value_names.py``).

Each message is the one the frontend gives when it lowers the file (``lower_module``
called directly, without the check); the check never reports a name the frontend would
accept: not in the examples, the bench cases or 2,000 formulas of the language oracle's
generator, and where it reports a misspelt name in those formulas (each name in turn),
it reports what the frontend reports. The command line gives the report without
importing SymPy, NumPy or the compiler.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import gradc
from gradc.core.prim import surface_names
from gradc.errors import FormulaError
from gradc.frontend.call_forms import FORM_NAMES, VALUES
from gradc.frontend.scope import CONSTANTS
from gradc.frontend.source import read_python
from gradc.frontend.text import lower_module
from gradc.frontend.type_names import FLOAT_TYPES
from gradc.frontend.value_names import CONSTANT_NAMES, TYPE_NAMES, unknown_names
from tests.test_startup import assert_answered_early

sys.path.insert(0, str(Path(__file__).resolve().parent))

import language_gen as G  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
H = "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
H2 = "def f(x: Vector[n], w: Scalar, i: Index[k]) -> Scalar:\n"
#: a loop filling an array by item assignment (an RNN's hidden states)
FILLED = (
    "def f(x: Tensor[N, T, D], W: Matrix[D, H], i: Index[N]) -> Scalar:\n"
    "    hs = zeros((N, T, H))\n    for t in range(T):\n"
)
FUSED = "@fuse\ndef swish(x: Scalar) -> Scalar:\n    return x * sigmoid(xx)\n\n\n"
M = "def f(x: Vector[n], w: Scalar, X: Tensor[b, c, h, v], K: Tensor[d, c, 3, 3]) -> Scalar:\n"


def test_the_copies_are_the_frontends_tables():
    assert set(CONSTANT_NAMES) == set(CONSTANTS)
    assert set(TYPE_NAMES) == set(FLOAT_TYPES) | {"Index"}
    assert {f: set(n) for f, n in FORM_NAMES.items()} == {
        f: set(surface_names(f)) for f in FORM_NAMES
    }


@pytest.mark.parametrize("form", ["unary", "binary", "where"])
def test_the_argument_counts_are_the_frontends(form):
    """``call_forms.VALUES`` copies how many arguments each elementwise function takes:
    tied here to the frontend, which refuses one fewer and one more (its arity error,
    before the misspelt name after it), where the check stops."""
    k = VALUES[form]
    for name in sorted(FORM_NAMES[form]):
        for count in (k - 1, k + 1):
            first = "x > 0" if form == "where" else "x"
            args = ", ".join([first, "x", "x", "x"][:count])
            text = H + f"    y = {name}({args})\n    return sum(y) * qq\n"
            want = frontend_report(text)
            assert want is not None and "positional argument" in want, (name, want)
            assert precheck_report(text) is None, (name, count)


def frontend_report(text: str) -> str | None:
    """The error the frontend meets lowering ``text`` (the check not run first), or
    None if it lowers it."""
    tree, src = read_python(text, "f.grad")
    try:
        lower_module(tree, src, True)
    except FormulaError as exc:
        return exc.report()
    return None


def precheck_report(text: str) -> str | None:
    tree, src = read_python(text, "f.grad")
    error = unknown_names(tree, src)
    return None if error is None else error.report()


REPORTED = {
    # an index item whose first name is misspelt is that name's error
    "a-misspelt-array-as-an-index-item": H + "    y = x[captions[:, 0]]\n"
    "    return sum(y) * w\n",
    "a-misspelt-name-in-an-index-expression": FILLED
    + "        hs[:, t, :] = x[:, T - 1 - tt, :] @ W\n    return sum(hs)\n",
    # an item assignment's index is read before its value
    "in-an-item-assignments-index": FILLED
    + "        hs[:, tt, :] = x[:, t, :] @ W\n    return sum(hs)\n",
    "in-an-item-assignments-index-before-the-value": FILLED
    + "        hs[:, t + qq, :] = x[:, tt, :] @ W\n    return sum(hs)\n",
    "a-dimensions-case-in-an-item-assignments-index": FILLED
    + "        hs[:, n, :] = x[:, t, :] @ W\n    return sum(hs)\n",
    # a @fuse helper's misspelt body, met at its call, after an Index array's item that
    # is no error
    "a-fuse-body-after-an-index-arrays-int-item": FUSED
    + H2
    + "    return sum(x[i[0]]) + sum(swish(x)) * w\n",
    # an Index array's item of a loop variable is no error: the name after it is
    "after-an-index-arrays-item-of-a-loop-variable": H2 + "    s = 0.0\n"
    "    for t in range(k):\n        s = s + sum(x[i[t - 1]]) * qq\n    return s\n",
    "name": H + "    return sum(xx * x) * w\n",
    "did-you-mean": H + "    y = x * w\n    return sum(yy)\n",
    "case": H + "    return sum(X) * w\n",
    "second-statement": H + "    y = exp(x)\n    z = y * lam\n    return sum(z)\n",
    "in-a-call": H + "    return sum(maximum(x, zero)) * w\n",
    "in-a-comparison": H + "    return sum(where(x > thresh, x, 0.0)) * w\n",
    "transposed": H + "    return sum(xs.T) * w\n",
    "subscripted": H + "    return xs[0] * w\n",
    "in-a-loop": (
        "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
        "    s = w\n"
        "    for t in range(3):\n"
        "        s = s * ww\n"
        "    return s\n"
    ),
    "loop-variable-hint": (
        "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
        "    s = w\n"
        "    for step in range(3):\n"
        "        s = s * stepp\n"
        "    return s\n"
    ),
    "augmented": H + "    s = w\n    s += ww\n    return s\n",
    "second-function": (
        "def g(x: Vector[n]) -> Scalar:\n    return sum(x)\n\n\n"
        "def f(y: Vector[n]) -> Scalar:\n    return g(y) + sum(x)\n"
    ),
    "with-constants-and-docstrings": (
        '"""A file."""\n\nEPS = 1e-5\n\n\n'
        "@wrt(x)\n"
        'def f(x: Vector[n], w: Scalar) -> Scalar:\n    """Doc."""\n'
        "    return sum(log(x + EPSS)) * w\n"
    ),
    "a-dimension-misspelt": H + "    return sum(x) / nn * w\n",
    "a-builtin": H + "    return sum(x) / len * w\n",
    # past a shape the frontend reads as sizes (``call_arguments.py``): the check
    # stopped at every statement holding one, the array a loop fills among them
    "after-a-created-array": H + "    s = zeros((n, 3))\n    return sum(s + ww)\n",
    "after-ones-of-one-size": H + "    s = ones(n)\n    return sum(s * ww)\n",
    "after-a-full-array": H + "    s = np.full((n,), 2.0)\n    return sum(s) * ww\n",
    "in-a-full-fill": H + "    return sum(np.full((n, 2), ww))\n",
    "after-a-reshape": H + "    r = reshape(x, (n, 1))\n    return sum(r) * ww\n",
    "after-a-reshape-of-expressions": H
    + "    r = reshape(x, (1 * n // 1, 1))\n    return sum(r) * ww\n",
    "after-a-created-array-of-expressions": H
    + "    s = zeros((n + 1, 2 * n // 3))\n    return sum(s) * ww\n",
    "in-a-reshaped-value": H + "    return sum(reshape(xx, (-1, 1))) * w\n",
    "in-a-stack": H + "    s = stack([x, xx], axis=0)\n    return sum(s) * w\n",
    "in-a-concatenation": H + "    return sum(concatenate([x, 2 * xs])) * w\n",
    # an operation's name as a value is the frontend's other error; `np`, `arange` and
    # the types are unknown names (the check had counted them as known)
    "an-operation-as-a-value": H + "    return sum(x) * softmax\n",
    "an-operation-compared": H + "    return sum(where(x >= tanh, x, 0.0)) * w\n",
    "np-as-a-value": H + "    return sum(np ** 2) * w\n",
    "numpy-subscripted": H + "    return sum(numpy[:, None]) * w\n",
    "arange-as-a-value": H + "    return sum(x * arange) * w\n",
    "a-type-as-a-value": H + "    return sum(x) * Scalar\n",
    "a-type-in-a-loop": H
    + "    s = w\n    for t in range(n):\n        s = s + Vector\n    return s\n",
    # before an unknown function further on in the statement (the checks used to
    # report the function)
    "before-an-unknown-function": H + "    y = qq + sum(foo(x))\n    return y\n",
    # past calls whose literals the frontend reads (``call_forms.py``)
    "after-literal-arguments": M
    + "    y = sum(max_pool2d(X, 2, stride=1)) + sum(conv2d(X, K, 1, pad=1))\n"
    "    z = sum(x, 0) + mean(x, axis=(0,), keepdims=True) + var(x, ddof=1)\n"
    "    return y + sum(z) + logsumexp(softmax(x, -1)) * norm(x, axis=0) * ww\n",
    "after-an-arange-index": H + "    y = x[arange(n)] * x[arange(3)][0]\n"
    "    return sum(y) * ww\n",
    "after-a-call-of-a-fuse-function": "@fuse\ndef g(u: Scalar) -> Scalar:\n    return u * sigmoid(u)\n\n\n"
    + H
    + "    y = sum(g(x))\n    return y * ww\n",
    # a name the statements before it do not assign (the check had counted any name
    # the function assigns anywhere), a loop's own names after it
    "used-before-assigned": H + "    y = z * w\n    z = x\n    return sum(y)\n",
    "a-loop-variable-after-the-loop": H
    + "    s = w\n    for t in range(3):\n        s = s * w\n    return s * t\n",
    "a-loop-name-after-the-loop": H
    + "    s = w\n    for t in range(3):\n        u = s * w\n    return s * u\n",
    "after-a-slice-of-dimensions": H
    + "    y = x[1 : n - 1 : 2]\n    return sum(y) * ww\n",
    "in-a-loop-filling-an-array": (
        "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
        "    hs = zeros((n,))\n"
        "    h = w\n"
        "    for t in range(n):\n"
        "        h = tanh(h * x[t] + ww)\n"
        "        hs[t] = h\n"
        "    return sum(hs)\n"
    ),
}


@pytest.mark.parametrize("key", sorted(REPORTED))
def test_precheck_reports_what_the_frontend_reports(key):
    text = REPORTED[key]
    want = frontend_report(text)
    assert want is not None and ("unknown name" in want or "call it" in want), want
    assert precheck_report(text) == want
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="f.grad")
    assert info.value.report() == want


LEFT_TO_THE_FRONTEND = {
    # each is an error the frontend meets first, or no error at all
    # an item of an integer array's index that is no integer expression: the frontend
    # refuses the item before it reads the name in it
    "in-an-index-arrays-index": H2 + "    return sum(x[i[qq]]) * w\n",
    "in-arange-s-index": H + "    return sum(x[arange(n)[qq]]) * w\n",
    # or refuses such an item before the unknown name or function after it: a dimension
    # that names no loop variable, a float
    "after-an-index-arrays-item-of-a-dimension": H2 + "    return sum(x[i[n]]) * qq\n",
    "a-function-after-an-index-arrays-float-item": H2
    + "    return sum(x[i[-1.5]]) + foo(x)\n",
    "a-function-after-arange-s-item-of-a-dimension": H
    + "    return sum(x[arange(n)[n - 1]]) + foo(x)\n",
    # an item assignment's index the frontend refuses before it reads the value (each
    # was reported as the value's misspelt name)
    "in-the-value-after-a-float-item": FILLED
    + "        hs[1.5, t, :] = x[:, t, :] @ W + yy\n    return sum(hs)\n",
    "in-the-value-after-a-dimension-item": FILLED
    + "        hs[:, N, :] = yy\n    return sum(hs)\n",
    "in-the-value-after-an-index-array-item": FILLED
    + "        hs[i, t, :] = yy\n    return sum(hs)\n",
    "in-the-value-of-a-product-into-an-item": FILLED
    + "        hs[:, t, :] *= yy\n    return sum(hs)\n",
    "in-the-value-after-a-slice-of-no-dimension": FILLED
    + "        hs[:, t, :qq] = yy\n    return sum(hs)\n",
    # refused in a statement before the one of the misspelt name (each was reported as
    # the misspelling): an Index array's item, an index past 2**31, a built-in called
    # with nothing, the file's function called with another number of arguments
    "a-statement-after-an-index-arrays-item-of-a-dimension": H2
    + "    y = x[i[n]]\n    return sum(y) * qq\n",
    "a-statement-after-an-index-too-large": H + "    y = x[10000000000]\n"
    "    return sum(y) * qq\n",
    "a-statement-after-a-built-in-called-with-nothing": H + "    y = transpose()\n"
    "    return sum(x) * qq\n",
    "a-statement-after-a-call-of-another-arity": "def g(a: Vector[n]) -> Vector[n]:\n"
    "    return a * 2.0\n\n\n" + H + "    y = g(x, x)\n    return sum(y) * qq\n",
    # an index of a float array that is no integer (a value, a dimension naming no loop
    # variable) and a built-in given no argument by position, a statement before
    "a-statement-after-a-float-arrays-item-of-a-value": H + "    y = x[w]\n"
    "    return sum(y) * qq\n",
    "a-statement-after-a-float-arrays-item-of-a-dimension": H + "    y = x[n - 1]\n"
    "    return sum(y) * qq\n",
    "a-statement-after-a-built-in-given-keywords-only": H + "    y = dot(x=x)\n"
    "    return sum(x) * qq\n",
    # a @fuse helper's misspelt body, met at its call, after such an item
    "a-fuse-body-after-an-index-arrays-item-of-a-dimension": FUSED
    + H2
    + "    return sum(x[i[n]]) + sum(swish(x))\n",
    "in-a-slice": H + "    return sum(x[:m]) * w\n",
    # the loop's own errors, before its body is read: its variable already a value, a
    # dimension or a constant, or assigned in the body; a range the frontend refuses
    "a-loop-variable-already-a-value": H
    + "    t = w\n    for t in range(3):\n        y = qq\n    return w\n",
    "a-loop-variable-named-as-a-dimension": H
    + "    for n in range(3):\n        y = qq\n    return w\n",
    "a-loop-variable-named-as-a-parameter": H
    + "    for x in range(3):\n        y = qq\n    return w\n",
    "a-nested-loop-reusing-its-variable": H
    + "    for t in range(3):\n        for t in range(2):\n            y = qq\n"
    "    return w\n",
    "a-loop-assigning-its-variable": H
    + "    for t in range(3):\n        t = qq\n    return w\n",
    "a-loop-of-a-zero-step": H
    + "    for t in range(0, 3, 0):\n        y = qq\n    return w\n",
    "a-loop-bound-of-a-value": H
    + "    for t in range(w):\n        y = qq\n    return w\n",
    "a-loop-bound-of-a-loop-variable": H
    + "    for t in range(n):\n        for u in range(t):\n            y = qq\n"
    "    return w\n",
    # the loop's own error, before its body is read: 'g' is read before it is assigned
    "read-before-assigned-in-a-loop": H
    + "    s = w\n    for t in range(3):\n        y = g * qq\n        g = s\n    return s\n",
    "in-a-keyword": H + "    return sum(x, axis=k) * w\n",
    "an-attribute": H + "    return sum(x) * math.pi * w\n",
    "in-a-shape": H + "    return sum(reshape(x, (m, 2))) * w\n",
    # a shape the frontend refuses before the names after it (``plain_sizes``)
    "a-created-shape-of-a-value": H + "    s = zeros((n, w))\n    return sum(s) * qq\n",
    "a-created-shape-of-a-float": H
    + "    s = zeros((n, 2.0))\n    return sum(s) * qq\n",
    "a-created-shape-of-minus-one": H + "    s = ones((-1,))\n    return sum(s) * qq\n",
    "a-created-shape-of-zero": H + "    s = ones((n, 0))\n    return sum(s) * qq\n",
    "a-created-shape-too-large": H + "    s = ones(2147483648)\n    return qq\n",
    "an-empty-created-shape": H + "    s = ones(())\n    return sum(s) * qq\n",
    "a-created-array-of-two-arguments": H + "    s = zeros((n,), 2)\n    return qq\n",
    "a-created-array-with-a-keyword": H + "    s = zeros(n, dtype=w)\n    return qq\n",
    "two-free-reshape-sizes": H
    + "    r = reshape(x, (-1, -1))\n    return sum(r) * qq\n",
    "a-reshape-size-that-may-be-0": H
    + "    r = reshape(x, (n - 1 + 1, 1))\n    return sum(r) * qq\n",
    "a-reshape-floor-of-literals": H
    + "    r = reshape(x, (n, 2 // 2))\n    return sum(r) * qq\n",
    # a slice the frontend refuses, or one it may (a bound of a value's name)
    "a-float-slice-bound": H + "    y = x[: 0.5 * n]\n    return sum(y) * qq\n",
    "a-zero-slice-step": H + "    y = x[::0]\n    return sum(y) * qq\n",
    "a-slice-bound-of-a-value": H
    + "    k = w\n    y = x[:k]\n    return sum(y) * qq\n",
    # a function of the file as a value: worded by where it is defined
    "a-function-of-the-file-as-a-value": "def g(u: Scalar) -> Scalar:\n    return u\n\n\n"
    + H
    + "    return w * g + qq\n",
    # literal arguments the frontend refuses, before the names after them
    "a-window-of-0": M + "    y = max_pool2d(X, 0)\n    return sum(y) * qq\n",
    "a-stride-of-a-name": M + "    y = avg_pool2d(X, 2, w)\n    return sum(y) * qq\n",
    "a-padding-below-0": M + "    y = conv2d(X, K, pad=-1)\n    return sum(y) * qq\n",
    "an-input-by-keyword": M + "    y = conv2d(x=X, w=K)\n    return sum(y) * qq\n",
    "an-unknown-keyword": H + "    y = sum(x, axs=0)\n    return y * qq\n",
    "too-many-arguments": H + "    y = sum(x, 0, True)\n    return y * qq\n",
    "pairwise-max": H + "    y = max(x, w)\n    return sum(y) * qq\n",
    "a-float-axis": H + "    y = sum(x, axis=0.0)\n    return y * qq\n",
    "keepdims-not-a-bool": H
    + "    y = sum(x, axis=0, keepdims=1)\n    return sum(y) * qq\n",
    "a-softmax-over-all-axes": H
    + "    y = softmax(x, axis=None)\n    return sum(y) * qq\n",
    "a-scan-over-two-axes": H
    + "    y = cumsum(x, axis=(0, 0))\n    return sum(y) * qq\n",
    "a-negative-ddof": H + "    y = var(x, ddof=-1)\n    return y * qq\n",
    "an-order-of-a-norm": H + "    y = norm(x, 1)\n    return y * qq\n",
    "the-size-of-a-window-misspelt": M
    + "    y = max_pool2d(X, sz)\n    return sum(y) * w\n",
    "a-constant-defined-twice": "C = 1.0\nC = 2.0\n\n\n" + H + "    return w * qq\n",
    "a-function-defined-twice": "def f(x: Scalar) -> Scalar:\n    return x\n\n\n"
    + H
    + "    return w * qq\n",
    "arange-as-a-value": H + "    y = x * arange(n)\n    return sum(y) * qq\n",
    "arange-of-an-expression": H + "    y = x[arange(n - 1)]\n    return sum(y) * qq\n",
    "arange-of-a-value": H + "    y = x[arange(w)]\n    return sum(y) * qq\n",
    "an-exponent-past-the-limit-once-folded": H
    + "    y = x ** (10.0**7)\n    return sum(y) * qq\n",
    "a-function-named-as-an-operation": "def softplus(u: Scalar) -> Scalar:\n"
    "    return u\n\n\n" + H + "    return w * qq\n",
    # a @fuse body the check does not clear, lowered where the function is called
    "where-of-two-arguments": H + "    y = where(x > 0, x)\n    return sum(y) * qq\n",
    "where-of-a-value": H + "    y = where(x, x, 0.0)\n    return sum(y) * qq\n",
    "a-floor-division-in-an-index": H2 + "    y = x[i // 2]\n    return sum(y) * qq\n",
    "a-function-of-no-argument": H + "    y = sigmoid()\n    return y * qq\n",
    "two-arguments-of-one": H + "    y = exp(x, x)\n    return sum(y) * qq\n",
    "a-keyword-of-maximum": H
    + "    y = maximum(x, w, out=x)\n    return sum(y) * qq\n",
    "a-fuse-body-with-a-call-of-no-argument": "@fuse\ndef g(u: Scalar) -> Scalar:\n    return u * sigmoid()\n\n\n"
    + H
    + "    y = sum(g(x))\n    return y * qq\n",
    "an-empty-stack": H + "    s = stack([])\n    return sum(s) * qq\n",
    "conditional-expression": H + "    return w if q > 0 else w\n",
    "unsupported-statement-first": H + "    if w > 0:\n        w = 1\n    return qq\n",
    "no-return": H + "    y = qq\n",
    "a-bare-return-first": H + "    return\n    return qq\n",
    "fuse-body": "@fuse\ndef g(x):\n    return qq * x\n\n\n" + H + "    return w\n",
    "bad-loop": H + "    for t in enumerate(x):\n        w = qq\n    return w\n",
    "star-args": "def f(*x) -> Scalar:\n    return x\n",
    "tuple-unpacking": H + "    a, b = w, w\n    return a\n",
    "chained-assignment": H + "    a = b = w\n    return a + qq\n",
    "power-assignment": H + "    s = w\n    s **= 2\n    return s + qq\n",
    "no-annotation": "def f(x) -> Scalar:\n    return x\n",
    "unknown-type": "def f(x: Vectr[n]) -> Scalar:\n    return sum(xx)\n",
    "duplicate-parameter": "def f(x: Scalar, x: Scalar) -> Scalar:\n    return xx\n",
    "default": "def f(x: Scalar, y: Scalar = 1.0) -> Scalar:\n    return xx\n",
    "known": (
        "EPS = 1e-3\n\n\n"
        "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
        "    s = w * pi * e * np.pi * EPS\n"
        "    for t in range(n):\n"
        "        s = s + x[t] * n\n"
        "    return s + sum(x.T) + u\n"
        "    u = 1.0\n"
    ),
}


@pytest.mark.parametrize("key", sorted(LEFT_TO_THE_FRONTEND))
def test_precheck_leaves_other_first_errors_to_the_frontend(key):
    assert precheck_report(LEFT_TO_THE_FRONTEND[key]) is None


def test_a_bare_return_before_the_last_is_the_frontends_located_error():
    """The parser fuzz found the check failing (AttributeError) on a ``return`` without a
    value that is not the last statement; the compiler reports it, located."""
    text = H + "    y = w * 2.0\n    return\n    return y + qq\n"
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="f.grad")
    assert info.value.report().startswith(
        "f.grad:3:5: error: 'return' must be the last"
    )


def formula_files() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.grad")) + sorted(
        (ROOT / "bench" / "cases").glob("*.grad")
    )


@pytest.mark.parametrize("path", formula_files(), ids=lambda p: p.name)
def test_no_report_on_the_examples_and_bench_cases(path):
    assert precheck_report(path.read_text()) is None


def misspelt(text: str, k: int) -> str | None:
    """``text`` with the k-th name read as a value in a function body (in source order;
    not a called function's) misspelt by a trailing ``q``; None past the last."""
    tree = ast.parse(text)
    called = {
        id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)
    }  # unknown functions: tests/test_name_precheck.py
    names = [
        n
        for fn in tree.body
        if isinstance(fn, ast.FunctionDef)
        for s in fn.body
        for n in ast.walk(s)
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and id(n) not in called
    ]
    names.sort(key=lambda n: (n.lineno, n.col_offset))
    if k >= len(names):
        return None
    return misspelt_at(text, names[k])


def test_the_generators_formulas_no_report_and_each_misspelling_as_the_frontend():
    """2,000 formulas of every family: none reported; then in the first 300, each name
    read in a body misspelt in turn: where the check reports, the frontend reports the
    same (message, line, column, hint), and the check reports most of them."""
    reported = mutated = 0
    for seed in range(2000):
        text = G.generate(seed).text
        assert precheck_report(text) is None, (seed, precheck_report(text))
        if seed >= 300:
            continue
        for k in range(6):
            wrong = misspelt(text, k)
            if wrong is None:
                break
            mutated += 1
            got = precheck_report(wrong)
            if got is not None:
                reported += 1
                assert got == frontend_report(wrong), (seed, k, wrong)
    assert reported > 0.6 * mutated, (reported, mutated)


def misspelt_at(text: str, name: ast.Name) -> str:
    """``text`` with the name at ``name``'s place misspelt by a trailing ``q``."""
    lines = text.split("\n")
    line = lines[name.lineno - 1]
    end = name.end_col_offset
    lines[name.lineno - 1] = line[:end] + "q" + line[end:]
    return "\n".join(lines)


def test_every_call_argument_misspelt_as_the_frontend():
    """``SHAPE_CALLS`` and ``call_values`` copy which arguments of a call are values (not
    shapes, axes or sizes): tied here to the frontend by behaviour. In 1,000 generated
    formulas (every operation, every argument form), each name inside a call's
    positional arguments misspelt in turn: every report equal to the frontend's."""
    reported = 0
    for seed in range(1000):
        text = G.generate(seed).text
        tree = ast.parse(text)
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        called = {id(c.func) for c in calls}
        for call in calls:
            for arg in call.args:
                for n in ast.walk(arg):
                    if not isinstance(n, ast.Name) or id(n) in called:
                        continue
                    wrong = misspelt_at(text, n)
                    got = precheck_report(wrong)
                    if got is not None:
                        reported += 1
                        assert got == frontend_report(wrong), (seed, n.id, wrong)
    assert reported > 1000, reported


def test_unknown_name_reported_before_a_shape_error():
    # names are resolved before shapes, as unknown functions are
    text = (
        "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n"
        "    total = x + y\n"
        "    return sum(totl)\n"
    )
    with pytest.raises(FormulaError, match="unknown name 'totl'; did you mean `total`"):
        gradc.compile_source(text)


def test_command_line_answers_without_the_compiler(tmp_path):
    text = REPORTED["did-you-mean"]
    assert_answered_early(text, frontend_report(text), tmp_path)
