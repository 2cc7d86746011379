"""Input values the emitted checks report by function and parameter.

* an ``Index`` input outside the axis it indexes: a ValueError naming the function and
  the parameter (NumPy raised a bare IndexError); in-range negative indices count from
  the end, as in NumPy, and give NumPy's values and gradients (written out here);
* a dimension of 0 under ``mean``/``max``/``min``: a ValueError (``mean`` raised
  ZeroDivisionError in ``value_and_grad``, ``max`` NumPy's reduction error);
* a Python int too large for float64 (``10 ** 400``): OverflowError naming the
  function and parameter (it said "must be numeric, not int").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import gradc

ROOT = Path(__file__).resolve().parent.parent

PICK = "def pick(x: Vector[n], y: Index[m]) -> Scalar:\n    return sum(x[y])\n"
ROWS = (
    "def rows(X: Matrix[n, c], y: Index[n]) -> Scalar:\n"
    "    return sum(X[arange(n), y] ** 2)\n"
)


def every_entry(module, name: str, *args):
    """Call ``name``, ``name_forward``, ``name_value_and_grad`` and ``name_grad``."""
    for suffix in ("", "_forward", "_value_and_grad", "_grad"):
        yield lambda s=suffix: getattr(module, name + s)(*args)


@pytest.mark.parametrize("y", [[0, 3], [5], [-4], [0, 1, 2, -4]])
def test_index_out_of_range_names_function_and_parameter(y):
    module = gradc.load_source(PICK)
    for call in every_entry(module, "pick", np.arange(3.0), np.array(y)):
        with pytest.raises(
            ValueError, match=r"pick: parameter 'y' holds index -?\d+, "
        ):
            call()


PICK_2D = "def pick2(x: Vector[n], y: Index[m, k]) -> Scalar:\n    return sum(x[y])\n"


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "uint64"])
@pytest.mark.parametrize("count", [0, 1, 31, 32, 33, 100])
@pytest.mark.parametrize("shape", ["1-D", "2-D"])
def test_index_range_check_either_side_of_32_values(count, dtype, shape):
    """Up to 32 values are checked in a Python list, more by their minimum and maximum
    (``_out_of_range``): the same verdict either way, for every integer dtype and rank,
    with one bad value anywhere; the rule [-5, 5) is applied here value by value."""
    module = gradc.load_source(PICK if shape == "1-D" else PICK_2D)
    name = "pick" if shape == "1-D" else "pick2"
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    rng = np.random.default_rng(count)
    signed = dtype.startswith("int")
    good = rng.integers(-5 if signed else 0, 5, count).astype(dtype)
    bads = [5, 6, 100] + ([-6, -7, -100] if signed else [255])
    for bad in [None, *bads] if count else [None]:
        y = good.copy()
        if bad is not None:
            y[rng.integers(count)] = bad
        y = y.reshape(-1, 1) if shape == "2-D" else y
        outside = [int(v) for v in y.ravel() if not -5 <= int(v) < 5]
        if not outside:
            value, grad = getattr(module, name + "_value_and_grad")(x, y)
            assert value == x[y].sum()
            continue
        with pytest.raises(ValueError) as info:
            getattr(module, name)(x, y)
        message = f"{name}: parameter 'y' holds index {outside[0]}, outside [-5, 5)"
        assert str(info.value) == message


def test_index_in_range_including_negative_counts_from_the_end():
    module = gradc.load_source(PICK)
    x, y = np.array([1.0, 2.0, 4.0]), np.array([-1, 0, -3, 2])
    value, grad = module.pick_value_and_grad(x, y)
    assert value == x[y].sum()
    expected = np.zeros(3)
    np.add.at(expected, y, 1.0)
    np.testing.assert_array_equal(grad, expected)


def test_index_is_checked_against_the_axis_it_indexes():
    """``X[arange(n), y]``: y indexes the columns (c = 5), not the rows (n = 2)."""
    module = gradc.load_source(ROWS)
    X = np.arange(10.0).reshape(2, 5)
    value, grad = module.rows_value_and_grad(X, np.array([4, 0]))
    assert value == X[0, 4] ** 2 + X[1, 0] ** 2
    expected = np.zeros((2, 5))
    expected[0, 4], expected[1, 0] = 2 * X[0, 4], 2 * X[1, 0]
    np.testing.assert_array_equal(grad, expected)
    with pytest.raises(
        ValueError, match=r"rows: parameter 'y' holds index 5, outside \[-5, 5\)"
    ):
        module.rows(X, np.array([5, 0]))


def test_softmax_example_rejects_a_label_out_of_range():
    module = gradc.load_source((ROOT / "examples" / "softmax.grad").read_text())
    W, X = np.zeros((4, 3)), np.ones((2, 4))
    with pytest.raises(ValueError, match="softmax_loss: parameter 'y' holds index 3"):
        module.softmax_loss_value_and_grad(W, X, np.array([0, 3]), 0.1)
    value = module.softmax_loss(W, X, np.array([0, 2]), 0.1)
    assert value == pytest.approx(np.log(3.0), rel=1e-15)


@pytest.mark.parametrize(
    "body, shape, dim",
    [
        ("mean(x)", "Vector[n]", "n"),
        ("max(x)", "Vector[n]", "n"),
        ("min(x) + sum(x)", "Vector[n]", "n"),
        ("sum(mean(x, axis=1))", "Matrix[m, n]", "n"),
        ("logsumexp(x)", "Vector[n]", "n"),
        ("norm(x)", "Vector[n]", "n"),
        ("sum(softmax(x))", "Vector[n]", "n"),
        ("sum(log_softmax(x, axis=1))", "Matrix[m, n]", "n"),
    ],
)
def test_reduction_over_an_empty_axis(body, shape, dim):
    module = gradc.load_source(f"def f(x: {shape}) -> Scalar:\n    return {body}\n")
    x = np.ones((2, 0)) if shape.startswith("Matrix") else np.ones(0)
    for call in every_entry(module, "f", x):
        with pytest.raises(
            ValueError, match=rf"f: parameter 'x' has shape .*{dim} must be"
        ):
            call()


@pytest.mark.parametrize("body", ["mean(x[1:])", "max(x[1:])", "logsumexp(x[1:])"])
@pytest.mark.parametrize("length", [0, 1])
def test_reduction_over_a_slice_that_is_empty(body, length):
    """``x[1:]`` of a vector of 0 or 1 elements is empty: named, never a value. At
    length 0 the size ``n - 1`` is negative (the check was ``n - 1 == 0``, so ``mean``
    returned -0.0 and ``max`` raised NumPy's unnamed error); the slice's own check
    (``n >= 1``, as NumPy would clamp it) now comes first there."""
    module = gradc.load_source(f"def f(x: Vector[n]) -> Scalar:\n    return {body}\n")
    need = r"n >= 1 \(a slice on line 2 needs it\)" if length == 0 else "n - 1 must be"
    for call in every_entry(module, "f", np.ones(length)):
        with pytest.raises(ValueError, match=rf"f: parameter 'x' has shape .*{need}"):
            call()


def test_empty_axis_that_no_mean_reduces_is_fine():
    """``sum`` of an empty vector is 0, its gradient empty (no check there)."""
    module = gradc.load_source("def f(x: Vector[n]) -> Scalar:\n    return sum(x)\n")
    value, grad = module.f_value_and_grad(np.ones(0))
    assert value == 0.0
    assert grad.shape == (0,)


@pytest.mark.parametrize(
    "source, args, param",
    [
        ("def f(x: Scalar) -> Scalar:\n    return x * 2\n", (10**400,), "x"),
        ("def f(x: Vector[n]) -> Scalar:\n    return sum(x)\n", ([1, 10**400],), "x"),
    ],
)
def test_int_too_large_for_float64(source, args, param):
    module = gradc.load_source(source)
    for call in every_entry(module, "f", *args):
        with pytest.raises(OverflowError, match=f"f: parameter '{param}' .*too large"):
            call()


def test_large_int_that_fits_converts_as_numpy_does():
    module = gradc.load_source("def f(x: Scalar) -> Scalar:\n    return x * 2\n")
    assert module.f(10**300) == float(np.asarray(10**300, dtype=np.float64) * 2)
    np.testing.assert_array_equal(
        gradc.load_source("def g(x: Vector[n]) -> Vector[n]:\n    return 2 * x\n").g(
            [1, 10**300]
        ),
        2.0 * np.asarray([1, 10**300], dtype=np.float64),
    )
    assert module.f(np.int64(2**62)) == 2.0**63


def test_non_numeric_still_a_type_error():
    module = gradc.load_source("def f(x: Scalar) -> Scalar:\n    return x * 2\n")
    with pytest.raises(TypeError, match="f: parameter 'x' must be numeric, not str"):
        module.f("1")


@pytest.mark.parametrize(
    "value, held",
    [
        (np.array([1j, 2.0]), "complex128 values"),
        ([1j, 2.0], "complex128 values"),
        (["a", "b"], "str values"),
        ([None, 1.0], "object values"),
        (np.zeros(2, dtype="datetime64[s]"), "datetime64[s] values"),
    ],
)
def test_a_non_numeric_array_names_what_it_holds(value, held):
    """An array or list of complex numbers, strings or objects: the message says what it
    holds (it said "not ndarray" or "not list", which are accepted types)."""
    module = gradc.load_source("def f(x: Vector[n]) -> Scalar:\n    return sum(x)\n")
    with pytest.raises(
        TypeError, match=rf"f: parameter 'x' must be numeric, not {re.escape(held)}$"
    ):
        module.f(value)


def test_index_too_large_for_int64():
    module = gradc.load_source(PICK)
    with pytest.raises(
        OverflowError, match="pick: parameter 'y' .*too large for int64"
    ):
        module.pick(np.ones(3), [0, 10**30])
