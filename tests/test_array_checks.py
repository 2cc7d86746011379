"""The NumPy target's checks of float array inputs (issue 16: ``ridge`` 32x8 within 1.25x
hand-written code): one test of every array's class, dtype and rank, and only if one is
not exactly a float64 ndarray of its rank, every array through ``_array``; the sizes are
compared after, whichever way the arrays came in.

Checked: the emitted text (one test, the conversions under it, ``Index`` inputs and
Scalars where they were), that every kind of array input the conversions accept gives
the numbers of float64 ndarrays, that every error still names its parameter, and the
order of two errors (a conversion's before a size's: README.md, "Choices").
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradc

RIDGE = (
    "@wrt(w)\n"
    "def ridge(w: Vector[d], X: Matrix[n, d], y: Vector[n], lam: Scalar) -> Scalar:\n"
    "    return 0.5 * norm(X @ w - y) ** 2 + lam * norm(w) ** 2\n"
)
PICKED = (
    "@wrt(S)\n"
    "def picked(S: Matrix[n, c], y: Index[n], t: Vector[c]) -> Scalar:\n"
    "    return sum(S[arange(n), y]) + sum(S @ t)\n"
)


def function_lines(text: str, name: str) -> list[str]:
    """The stripped lines of the body of the emitted function ``name``, after its
    docstring."""
    body = text.split(f"\ndef {name}(")[1].split("\n\n\ndef ")[0]
    lines = [ln.strip() for ln in body.splitlines()]
    return lines[lines.index('"""', 1) + 1 :]


def test_one_test_of_every_array_then_each_converted_then_the_sizes():
    lines = function_lines(gradc.compile_source(RIDGE), "ridge_value_and_grad")
    tests = [
        f"or {v}{test}"
        for v, rank in (("w", 1), ("X", 2), ("y", 1))
        for test in (
            ".__class__ is not _ndarray",
            ".dtype is not _float64_dtype",
            f".ndim != {rank}",
        )
    ]
    tests[0] = tests[0].removeprefix("or ")  # the first operand
    assert lines[:23] == [
        "# arrays not all float64 ndarrays of their ranks: each converted",
        "if (",
        *tests,
        "):",
        'w = _array(w, "ridge", "w", 1, "(d,)")',
        'X = _array(X, "ridge", "X", 2, "(n, d)")',
        'y = _array(y, "ridge", "y", 1, "(n,)")',
        "d = len(w)",
        "n = X.shape[0]",
        "if X.shape[1] != d:",
        'raise _shape_error("ridge", "X", X.shape, "(n, d)", (n, d))',
        "if len(y) != n:",
        'raise _shape_error("ridge", "y", y.shape, "(n,)", (n,))',
        "if not isinstance(lam, float):",
        'lam = _scalar(lam, "ridge", "lam")',
    ], lines[:23]


def test_an_index_input_keeps_its_own_conversion_in_place():
    lines = function_lines(gradc.compile_source(PICKED), "picked_value_and_grad")
    converted = [ln for ln in lines if re.match(r"\w+ = _(array|index)\(", ln)]
    assert converted == [
        'S = _array(S, "picked", "S", 2, "(n, c)")',
        't = _array(t, "picked", "t", 1, "(c,)")',
        'y = _index(y, "picked", "y", 1, "(n,)")',
    ]
    tests = lines[2 : lines.index("):")]
    assert "or t.ndim != 1" in tests and not any("y." in t for t in tests), tests
    # the Index input's conversion is after the arrays', with the size checks
    assert lines.index(converted[2]) > lines.index("):") + 2


def ridge_module():
    return gradc.import_module_source(gradc.compile_source(RIDGE), "array_checks_ridge")


def ridge_point():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 3))
    return rng.standard_normal(3), X, rng.standard_normal(5), 0.25


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a.tolist(),  # a list: not an ndarray
        lambda a: a.astype(np.float32).astype(np.float64).astype(np.float32),
        lambda a: np.round(a * 4).astype(np.int64),  # ints
        lambda a: a.astype(">f8"),  # float64 of the other byte order
        lambda a: np.asfortranarray(a),  # an ndarray of NumPy's float64: as it is
        lambda a: a[::-1][::-1],  # a view
    ],
    ids=["list", "float32", "int64", "big-endian", "fortran", "view"],
)
@pytest.mark.parametrize("which", [0, 1, 2])
def test_every_accepted_array_gives_the_numbers_of_its_float64_array(convert, which):
    mod = ridge_module()
    point = list(ridge_point())
    point[which] = convert(point[which])
    plain = [np.array(a, dtype=np.float64) if i < 3 else a for i, a in enumerate(point)]
    value, d_w = mod.ridge_value_and_grad(*point)
    want_value, want_d_w = mod.ridge_value_and_grad(*plain)
    assert value == want_value
    np.testing.assert_array_equal(d_w, want_d_w)
    # against the formula's own algebra: X^T (X w - y) + 2 lam w
    w, X, y, lam = plain
    np.testing.assert_allclose(d_w, X.T @ (X @ w - y) + 2 * lam * w, rtol=1e-13)


@pytest.mark.parametrize(
    ("which", "bad", "error", "message"),
    [
        (
            0,
            np.ones((3, 1)),
            ValueError,
            "parameter 'w' has shape (3, 1), expected (d,)",
        ),
        (1, np.ones(5), ValueError, "parameter 'X' has shape (5,), expected (n, d)"),
        (1, np.ones((5, 4)), ValueError, "parameter 'X' has shape (5, 4), expected"),
        (2, np.ones(4), ValueError, "parameter 'y' has shape (4,), expected (n,)"),
        (2, [[1.0]] * 5, ValueError, "parameter 'y' has shape (5, 1), expected (n,)"),
        (1, np.array([["a"] * 3] * 5), TypeError, "parameter 'X' must be numeric"),
        (0, "abc", TypeError, "parameter 'w' must be numeric, not str"),
        (2, np.ones(5, dtype=complex), TypeError, "parameter 'y' must be numeric"),
    ],
)
def test_each_bad_array_is_named(which, bad, error, message):
    mod = ridge_module()
    for fast in (True, False):  # the others float64 arrays, or lists
        point = list(ridge_point())
        if not fast:
            point = [a.tolist() if i < 3 else a for i, a in enumerate(point)]
        point[which] = bad
        with pytest.raises(error, match=re.escape(message)):
            mod.ridge_value_and_grad(*point)
        with pytest.raises(error, match=re.escape(message)):
            mod.ridge_forward(*point)


def test_a_conversion_error_is_reported_before_an_earlier_size_error():
    # X of the wrong width and y of the wrong rank: every array is converted (and its
    # rank checked) before the sizes are compared, so y is the one named
    mod = ridge_module()
    w, X, y, lam = ridge_point()
    with pytest.raises(ValueError, match="parameter 'y' has shape"):
        mod.ridge_value_and_grad(w, X[:, :2], y[:, None], lam)
    with pytest.raises(ValueError, match="parameter 'X' has shape"):
        mod.ridge_value_and_grad(w, X[:, :2], y, lam)
