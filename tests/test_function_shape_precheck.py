"""What a function's annotations declare, checked on the syntax tree before SymPy is
imported (``frontend/function_shapes.py``, read by ``statement_shapes.py`` and
``operand_shapes.py``): a returned value of another shape than the return annotation's;
a call of a function the file defines above (its number of arguments, each argument's
shape against its parameter's annotation with the dimension names bound in order, and
the call's value, the declared return with those names put in); and the arrays
``stack`` and ``concatenate`` join.

Each report is the one the frontend gives when it lowers the file (message, line,
column, quoted line), and ``gradc.compile_source`` gives it too; where the check does
not follow the sizes (a name bound to an int, an expression compared with another size,
a concatenation's length of names), it reports nothing and the frontend decides. Over
the language generator's formulas with a dimension of a parameter renamed, it reports
what the frontend reports, and nearly every such error of these kinds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import gradc
from gradc.errors import FormulaError
from tests.test_shape_precheck import precheck_report, renamed
from tests.test_startup import assert_answered_early
from tests.test_value_name_precheck import frontend_report

sys.path.insert(0, str(Path(__file__).resolve().parent))

import language_gen as G  # noqa: E402

#: a helper of one vector and one whose matrix's columns are its value's size
HV = "def h(u: Vector[n]) -> Vector[n]:\n    return u * u\n\n\n"
HM = "def h(u: Vector[a], w: Matrix[a, b]) -> Vector[b]:\n    return u @ w\n\n\n"
F = "def f(x: Vector[n], y: Vector[m], W: Matrix[n, m]) -> Scalar:\n"

REPORTED = {
    # returns of another shape than declared (the frontend checks after the body)
    "a-vector-returned-as-a-scalar": "def f(x: Vector[n]) -> Scalar:\n    return x\n",
    "a-sum-returned-as-a-vector": "def f(x: Vector[n]) -> Vector[n]:\n    return sum(x)\n",
    "a-transpose-returned": "def f(W: Matrix[n, d]) -> Matrix[n, d]:\n    return W.T\n",
    "a-slice-returned": "def f(x: Vector[n]) -> Vector[n]:\n    return x[1:]\n",
    "a-return-of-its-own-name": "def f(x: Vector[n]) -> Vector[k]:\n    return x * 2.0\n",
    "a-literal-size-returned": "def f(x: Vector[n]) -> Vector[3]:\n    return x\n",
    "a-helpers-return-first": (
        "def g(x: Vector[n]) -> Scalar:\n    return x\n\n\n"
        "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x + y)\n"
    ),
    "a-return-after-a-loop": (
        "def f(x: Vector[n], W: Matrix[n, n]) -> Scalar:\n    h = x\n"
        "    for t in range(3):\n        h = tanh(W @ h)\n    return h\n"
    ),
    # calls of a function the file defines above
    "given-a-keyword": HV + F + "    return sum(h(u=x) + x)\n",
    "given-two-for-one": HV + F + "    return sum(h(x, y))\n",
    "given-none": HV + F + "    return sum(h())\n",
    "a-fuse-helper-given-two": (
        "@fuse\ndef h(u: Scalar) -> Scalar:\n    return u * u\n\n\n"
        + F
        + "    return sum(h(x, y))\n"
    ),
    "an-argument-of-another-rank": HV + F + "    return sum(h(W))\n",
    "an-argument-of-a-literal-size": (
        "def h(u: Vector[3]) -> Vector[3]:\n    return u * u\n\n\n"
        + F
        + "    return sum(h(x))\n"
    ),
    "a-name-bound-twice": (
        "def h(u: Vector[k], v: Vector[k]) -> Vector[k]:\n    return u * v\n\n\n"
        + F
        + "    return sum(h(x, y))\n"
    ),
    "a-matrix-of-the-wrong-orientation": HM + F + "    return sum(h(x, W.T))\n",
    "the-value-bound-to-the-arguments": HM + F + "    return sum(h(x, W) + x)\n",
    "the-value-of-a-slice": HV + F + "    return sum(h(x[1:]) + y)\n",
    "the-value-in-a-matmul": HM + F + "    return x @ h(x, W)\n",
    "the-value-returned": (
        HM + "def f(x: Vector[n], W: Matrix[n, m]) -> Vector[n]:\n    return h(x, W)\n"
    ),
    "a-helper-of-a-helper": (
        HV
        + "def g(v: Vector[k], M: Matrix[k, j]) -> Vector[j]:\n    return h(v) @ M\n\n\n"
        + F
        + "    return sum(g(x, W) * x)\n"
    ),
    "names-swapped-by-the-call": (
        "def h(u: Vector[m], v: Vector[n]) -> Vector[n]:\n    return v * sum(u)\n\n\n"
        + F
        + "    return sum(h(x, y) + x)\n"
    ),
    "in-a-loop": (
        HV + F + "    z = x\n    for t in range(3):\n        z = h(z) + W[t]\n"
        "    return sum(z)\n"
    ),
    # stack and concatenate
    "stack-of-two-sizes": F + "    return sum(stack((x, y), axis=1))\n",
    "stack-then-a-mismatch": F + "    return sum(stack([x, x], axis=1) + y)\n",
    "stack-by-position": F + "    return sum(stack([x, x], 1) + y)\n",
    "stack-past-its-axes": F + "    return sum(stack([x, x], axis=2))\n",
    "stack-of-scalars": F + "    return sum(np.stack([sum(x), sum(y), 1.0]) + y)\n",
    "concatenate-of-two-ranks": F + "    return sum(concatenate([W, x]))\n",
    "concatenate-of-other-rows": F + "    return sum(concatenate([W, W.T], axis=1))\n",
    "concatenate-from-the-end": F + "    return sum(concatenate([x, y], axis=-2))\n",
    "concatenate-of-literal-lengths": (
        F + "    return sum(concatenate([W[:, :2], W[:, :3]], axis=1) @ y)\n"
    ),
    "a-return-of-a-dimension-expression": (
        "def f(x: Vector[n]) -> Vector[n - 1]:\n    return x[2:]\n"
    ),
    "a-concatenation-of-names": F + "    return sum(concatenate([x, y]) + y)\n",
}


@pytest.mark.parametrize("key", sorted(REPORTED))
def test_the_check_reports_what_the_frontend_reports(key):
    text = REPORTED[key]
    want = frontend_report(text)
    assert want is not None
    assert precheck_report(text) == want
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="f.grad")
    assert info.value.report() == want


LEFT_TO_THE_FRONTEND = {
    # each is the frontend's to decide: the check reports nothing
    "a-name-bound-to-an-int": (
        "def h(u: Vector[k]) -> Vector[k]:\n    return u * u\n\n\n"
        "def f(x: Vector[3], y: Vector[m]) -> Scalar:\n    return sum(h(x) + y)\n"
    ),
    "an-expression-against-a-literal": (
        "def h(u: Vector[3]) -> Vector[3]:\n    return u * u\n\n\n"
        + F
        + "    return sum(h(x[1:]))\n"
    ),
    "a-helper-with-an-index": (
        "def h(u: Vector[n], i: Index[n]) -> Vector[n]:\n    return u * u\n\n\n"
        "def f(x: Vector[n], y: Vector[m], i: Index[n]) -> Scalar:\n"
        "    return sum(h(x, i) + y)\n"
    ),
    "a-helper-with-a-dimension-expression": (
        "def h(u: Vector[k], v: Vector[k - 1]) -> Vector[k]:\n    return u * u\n\n\n"
        + F
        + "    return sum(h(x, x[1:]) + y)\n"
    ),
    "stack-along-a-tuple": F + "    return sum(stack([x, x], axis=(0, 1)))\n",
    "stack-of-no-array": F + "    return sum(stack([]) + y)\n",
    "stack-of-no-list": F + "    return sum(stack(x) + y)\n",
    "stack-given-another-keyword": F + "    return sum(stack([x, x], out=x) + y)\n",
    "a-concatenation-of-scalars": F
    + "    return sum(concatenate([sum(x), 1.0]) + y)\n",
}


@pytest.mark.parametrize("key", sorted(LEFT_TO_THE_FRONTEND))
def test_the_check_leaves_the_rest_to_the_frontend(key):
    assert precheck_report(LEFT_TO_THE_FRONTEND[key]) is None


def test_a_stack_along_a_tuple_of_axes_is_refused():
    """``stack([a, b], axis=(0, 1))``: NumPy refuses a tuple; the frontend took its first
    axis after sorting before."""
    want = frontend_report(LEFT_TO_THE_FRONTEND["stack-along-a-tuple"])
    assert "stack() joins along one axis, an integer" in want, want


#: the frontend's words for the errors of this file's concern
KINDS = (
    "returns shape",
    "(): argument",
    "positional argument",
    "stack:",
    "concatenate:",
)


def test_the_generators_formulas_with_a_dimension_renamed():
    """300 formulas of the language generator (helpers, ``stack``, ``concatenate`` and
    returns of every rank among them), each dimension of a parameter renamed in turn:
    every report of the check is the frontend's, and the check reports nearly every
    error of this file's kinds (the ones it leaves are behind a dimension expression
    in an annotation: ``Matrix[Q, Q * Q]``, ``max_pool2d``'s sizes)."""
    reported = errors = 0
    for seed in range(300):
        text = G.generate(seed).text
        for k in range(6):
            wrong = renamed(text, k)
            if wrong is None:
                break
            want = frontend_report(wrong)
            errors += want is not None and any(w in want for w in KINDS)
            got = precheck_report(wrong)
            if got is not None:
                assert got == want, (seed, k, wrong)
                reported += any(w in got for w in KINDS)
    assert errors > 40 and reported > 0.9 * errors, (reported, errors)


def test_the_command_line_reports_it_without_the_compiler(tmp_path):
    text = REPORTED["the-value-bound-to-the-arguments"]
    assert_answered_early(text, frontend_report(text), tmp_path)
    text = REPORTED["an-argument-of-another-rank"]
    assert_answered_early(text, frontend_report(text), tmp_path)
