"""NumPy's functions for Python's operators: ``np.add``, ``np.subtract``, ``np.multiply``,
``np.divide``, ``np.true_divide``, ``np.power``, ``np.matmul`` and ``np.negative``, so
NumPy code that calls them pastes in. Each is the operator (the same syntax tree, so the
same emitted code); a bare ``multiply(a, b)`` is an unknown function whose message says
what to write, found by the name check before the compiler is imported too.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad

import gradc
from gradc.frontend.call_names import NUMPY_OPERATORS
from gradc.frontend.operator_calls import OPERATOR_SYNTAX
from tests.test_name_precheck import frontend_report, precheck_report

HEAD = "def f(x: Vector[n], y: Vector[n], M: Matrix[m, n]) -> Scalar:\n"

# NumPy's spelling, the operator's, and NumPy's own function for the value
PAIRS = [
    ("np.add(x, y)", "x + y"),
    ("np.subtract(x, 2.0)", "x - 2.0"),
    ("numpy.multiply(x, y)", "x * y"),
    ("np.divide(x, y + 3.0)", "x / (y + 3.0)"),
    ("np.true_divide(1.0, y + 3.0)", "1.0 / (y + 3.0)"),
    ("np.power(y + 3.0, 1.5)", "(y + 3.0) ** 1.5"),
    ("np.power(y + 3.0, x)", "(y + 3.0) ** x"),
    ("np.matmul(M, x)", "M @ x"),
    ("np.negative(x) * y", "-x * y"),
    ("np.add(x, np.negative(np.multiply(y, y)))", "x + -(y * y)"),
]


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("numpy_text, operator_text", PAIRS)
def test_the_function_is_the_operator(numpy_text, operator_text, fuse):
    """The same module as the operator's, NumPy's value, gradients by finite
    differences."""
    src = HEAD + f"    return sum({numpy_text})\n"
    code = gradc.compile_source(src, fuse=fuse)
    same = gradc.compile_source(HEAD + f"    return sum({operator_text})\n", fuse=fuse)

    def strip(text: str) -> str:
        """The module without the lines that quote the formula or its digest."""
        quoted = ("return sum(", "sha256")
        return "\n".join(
            line for line in text.splitlines() if not any(q in line for q in quoted)
        )

    assert strip(code) == strip(same)
    rng = np.random.default_rng(4)
    x, y, M = (
        rng.standard_normal(5),
        rng.standard_normal(5),
        rng.standard_normal((3, 5)),
    )
    m = gradc.load_source(src, fuse=fuse)
    names = {"np": np, "numpy": np, "x": x, "y": y, "M": M}
    want = np.sum(eval(numpy_text, names))  # noqa: S307 (the test's own text, NumPy's meaning)
    value, grads = m.f_value_and_grad(x, y, M)
    np.testing.assert_allclose(value, want, rtol=1e-14)
    assert_fd_close(list(grads), central_diff_grad(m.f, [x, y, M], [0, 1, 2]))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            "sum(multiply(x, y))",
            "unknown function 'multiply'; write the operator * or NumPy's `np.multiply(...)`",
        ),
        (
            "sum(negative(x))",
            "unknown function 'negative'; write the operator - or NumPy's `np.negative(...)`",
        ),
        ("sum(np.multiply(x))", "np.multiply() takes 2 positional arguments, got 1"),
        ("sum(np.add(x, y, out=x))", "np.add() got an unexpected keyword 'out'"),
        ("sum(np.matmul(x, M))", "do not align"),
    ],
)
def test_refusals(call, message):
    """A bare name, a wrong arity, NumPy's ``out=``, and the operator's own shape error."""
    with pytest.raises(gradc.FormulaError) as err:
        gradc.load_source(HEAD + f"    return {call}\n")
    assert message in str(err.value)


@pytest.mark.parametrize(
    "call", ["multiply(x, y)", "power(x, 2)", "np.multiplyy(x, y)"]
)
def test_the_name_check_says_what_the_frontend_says(call):
    """``unknown_names`` (the check on the syntax tree, before SymPy) reports what the
    compiler reports; ``np.multiply`` is known to it."""
    text = HEAD + f"    return sum({call})\n"
    assert precheck_report(text) == frontend_report(text)
    known = HEAD + "    return sum(np.multiply(x, y) + np.matmul(M, x)[0])\n"
    assert precheck_report(known) is None


def test_every_operator_has_its_syntax():
    """The name check's table and the frontend's syntax cover the same operators."""
    binary = {k for k in NUMPY_OPERATORS if k != "negative"}
    assert {NUMPY_OPERATORS[k] for k in binary} == set(OPERATOR_SYNTAX)
