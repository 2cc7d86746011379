"""Sizes written as expressions of one dimension name, read on the syntax tree before
SymPy is imported (``frontend/size_forms.py``): a parameter's annotation
(``Vector[n - 1]``, ``Matrix[D, 4 * H]``, ``Tensor[N, C, (H - 2) // 2 + 1, W]``) and a
stepped slice's length (``x[:-3:2]`` is ``n // 2 - 1``) are compared as the frontend
writes them, SymPy's canonical form: ``1 + n`` and ``n + 1`` are one size, an integer
is taken out of a floor where the divisor divides it, a fraction stays in it.

Over a grid of such annotations and slices, every report is the frontend's (message,
line, column), and every mismatch the frontend reports is reported. A length joined from
several names (``m + n``) is written as the compiler prints the sum.
"""

from __future__ import annotations

import ast
import itertools

import numpy as np
import pytest
import sympy

from gradc.core.shapes import format_shape
from gradc.frontend.size_forms import annotated_size, sum_written
from tests.test_call_shape_precheck import counted_as_the_frontend
from tests.test_shape_precheck import precheck_report
from tests.test_syntax_precheck import early_report
from tests.test_value_name_precheck import frontend_report


def one_name_forms():
    """Expressions of ``n`` in the forms ``annotated_size`` reads, each way round."""
    for a in (-3, -1, 1, 2, 5):
        yield f"n + {a}"
        yield f"{a} + n"
        yield f"n - {a}"
        yield f"{abs(a) + 1} * n"
        yield f"n * {abs(a) + 1}"
    for a, k, c in itertools.product((-5, -2, 0, 1, 3), (1, 2, 3), (-1, 0, 2)):
        yield f"(n + {a}) // {k} + {c}"
        yield f"({a} + n) // {k} - {c}"
        yield f"(n + 0 - {abs(a)}) // {k} + 1"
    yield "n // 2"
    yield "(2 * n - 1) // 1"


#: forms it does not read: none is reported (the frontend reads them, or refuses them)
OTHER_FORMS = ("2 * n // 2", "n * n", "-n + 7", "(n // 2) * 2", "n // 2 // 2", "3 - n")


@pytest.mark.parametrize("form", sorted(set(one_name_forms())))
def test_an_annotated_size_as_the_frontend_writes_it(form):
    text = (
        f"def f(x: Vector[n], y: Vector[{form}], z: Vector[m]) -> Scalar:\n"
        "    return sum(y + z)\n"
    )
    want = frontend_report(text)
    assert precheck_report(text) == want
    written = annotated_size(ast.parse(form, mode="eval").body, {"n"})
    assert f"shapes ({written},) and (m,) do not broadcast" in want


@pytest.mark.parametrize("form", OTHER_FORMS)
def test_other_sizes_are_left_to_the_frontend(form):
    assert annotated_size(ast.parse(form, mode="eval").body, {"n"}) is None
    text = (
        f"def f(x: Vector[n], y: Vector[{form}], z: Vector[m]) -> Scalar:\n"
        "    return sum(y + z)\n"
    )
    assert precheck_report(text) is None


def grid():
    """Slices and annotated sizes side by side: ``x[a]`` of ``Vector[n]`` beside ``y``
    of ``Vector[form]``; a mismatch or not, as the sizes are equal or not."""
    slices = ("1:", ":-1", "::2", "1::2", ":-3:2", "2::3", ":-4:2", "::-1", "1:-1:2")
    forms = ("n - 1", "n // 2", "(n + 1) // 2", "n // 2 - 1", "(n - 1) // 2", "n")
    for a, form in itertools.product(slices, forms):
        yield (
            f"def f(x: Vector[n], y: Vector[{form}]) -> Scalar:\n"
            f"    return sum(x[{a}] * y)\n"
        )
        yield f"def f(x: Vector[n]) -> Vector[{form}]:\n    return x[{a}]\n"


def test_slices_beside_annotated_sizes_as_the_frontend():
    """Every file of the grid: the check's report is the frontend's, and where the
    frontend refuses a file (the sizes differ), the check reports it."""
    refused = 0
    for text in grid():
        want = frontend_report(text)
        assert precheck_report(text) == want, text
        refused += want is not None
    assert refused > 80, refused  # of 108


#: a parameter's dimension expressions: plain, a name standing alone nowhere, a
#: constant, a floor division by no positive int, a float, a power, a literal too large
PARAMETER_FORMS = (
    "n - 1", "q - 1", "n + q", "pi * n", "K * n", "n // 0", "n // k", "n // -2",
    "n - 1.5", "n ** 2", "n - 10000000000", "n // 10000000000", "-q", "(q + 1) // 2",
)  # fmt: skip
#: return annotations: plain, of a name that is no dimension (alone: a new one), of a
#: constant, and the refused forms above
RETURN_FORMS = (
    "Scalar", "Vector[n]", "Vector[q - 1]", "Vector[n - q]", "Matrix[k, k - 1]",
    "Vector[pi - n]", "Vector[n // 0]", "Vector[n - 1.5]", "Vector[10000000000 - n]",
)  # fmt: skip


def signature_files():
    for form, returned, wrt, constant in itertools.product(
        PARAMETER_FORMS, RETURN_FORMS, ("", "@wrt(x)\n"), ("", "K = 2\n\n\n")
    ):
        yield (
            f"{constant}{wrt}def f(x: Vector[n], y: Vector[{form}], z: Vector[m])"
            f" -> {returned}:\n    return sum(x) + sum(z)\n"
        )


def test_dimension_expressions_the_frontend_refuses_early():
    """A name inside a parameter's expression that stands alone in no annotation, a
    constant inside one, a floor division by no positive int, a node of no dimension
    expression, a literal too large, and a return's name that is no dimension: each
    reported before SymPy is imported (``dimension_refusals.py``), as the frontend
    reports it (the full early check, names and shapes: ``early_report``)."""
    refused, reported = counted_as_the_frontend(signature_files(), early_report)
    assert refused > 450 and reported > refused - 10, (reported, refused)  # 500, 496


NAMES = ["n", "m", "N", "M", "n_1", "n1", "nA", "a", "B", "d_k", "x2", "x10", "λ", "Ab"]


def test_a_sum_of_names_is_written_as_the_compiler_prints_it():
    """``sum_written`` of names and ints against SymPy's sum of the same symbols as
    ``core/shapes.format_shape`` prints it (the compiler's messages): names ordered by
    their text (capitals first, ``x10`` before ``x2``), each with its count, the int
    last, over 2,000 random sums."""
    rng = np.random.default_rng(1204)
    for _ in range(2000):
        names = [str(s) for s in rng.choice(NAMES, size=rng.integers(1, 6))]
        c = int(rng.integers(-3, 4))
        symbols = {s: sympy.Symbol(s, integer=True, positive=True) for s in names}
        total = sum((symbols[s] for s in names), sympy.Integer(c))
        assert f"({sum_written([*names, c])},)" == format_shape((total,)), (names, c)
