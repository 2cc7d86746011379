"""NumPy code pasted in: formulas written with ``np.`` as people write NumPy.

Each text is a formula's return expression and, unchanged, a NumPy expression: the module
gradc compiles from it must give NumPy's value on the same text (evaluated here by Python
over NumPy, no gradc code), and a gradient that equals central differences of that
NumPy value. The texts come from a sweep of common NumPy spellings (2026-12-02); the ones
gradc refuses are checked to be located errors that say what to write.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import central_diff_grad

import gradc
from gradc.errors import FormulaError
from tests.test_startup import assert_answered_early

HEAD = (
    "def f(x: Vector[4], M: Matrix[3, 4], A: Matrix[4, 4], T: Tensor[2, 3, 4], "
    "s: Scalar) -> Scalar:\n"
)
NAMES = ("x", "M", "A", "T", "s")

COMPILED = [
    # NumPy's inverse and hyperbolic functions, logarithms in base 2 and 10
    "np.sum(np.arcsin(x / 4) * np.arccos(np.tanh(x) / 2))",
    "np.sum(np.arctan(M) @ x) + np.sum(np.arcsinh(3 * x))",
    "np.sum(np.sinh(x) * np.cosh(x) - np.sinh(2 * x) / 2) + np.cosh(s)",
    "np.sum(np.log2(np.abs(x) + 1)) + np.sum(np.log10(M * M + 0.5))",
    "np.sum(np.arctan(x) - np.arctan2(x, np.ones_like(x)))",
    "np.log10(s * s + 1) * np.arcsinh(s)",
    # np.logaddexp: the logistic loss as NumPy code writes it, and a pair
    "np.mean(np.logaddexp(0, -(M @ x)))",
    "np.sum(np.logaddexp(x, x[::-1] * s) * np.logaddexp(M, 0.5))",
    # np.flip: the slices with step -1
    "np.sum(np.flip(x) * x) + np.sum(np.flip(M, axis=1) * M)",
    "np.sum(np.flip(T, (0, 2)) * T) + np.flip(M, 0)[0] @ x + np.sum(np.flip(s) * s)",
    # NumPy's shape functions: indexing and transposes; the diagonal a gather
    "np.sum(np.expand_dims(x, 0) * M) + np.sum(np.expand_dims(M, (0, 2)) ** 2)",
    "np.sum(np.squeeze(M[None, :, None], axis=(0, 2)) * M) + np.sum(np.squeeze(T[:, :1]))",
    "np.sum(np.swapaxes(T, 0, 2)[0] * M[:, :2]) + np.sum(np.swapaxes(M, -1, 0) @ M)",
    "np.sum(np.moveaxis(T, 0, -1)[:, :, 0] * M) + np.sum(np.moveaxis(T, (0, 1), (2, 0)) ** 2)",
    "np.diag(A) @ x + np.trace(A) * s + np.trace(A @ A.T)",
    # np.newaxis for None
    "np.sum(x[np.newaxis, :] * M)",
    "np.sum(x[:, np.newaxis] * A)",
    "np.sum((M[:, np.newaxis, :] - M[np.newaxis, :, :]) ** 2)",
    "np.sum(T[:, numpy.newaxis, 0] * x)",
    # sizes read off the parameters: X.shape[0], len(x), X.shape, X.ndim, X.size
    "np.sum(M**2) / M.shape[0] + np.sum(x) / len(x) + M.ndim + A.size * s",
    "np.sum(np.reshape(T, (T.shape[0], -1)) ** 2) / T.shape[-1]",
    "np.sum((np.zeros(M.shape) + M) * x) + np.sum(x[: x.shape[0] // 2])",
    # creation: np.ones, np.full, np.full_like (a fill that is a value has a gradient)
    "np.sum(np.ones((3, 4)) * M) + np.ones(4) @ x + np.sum(np.full(4, 2.0) * x)",
    "np.sum(np.full((3, 4), s) * M) + np.sum(np.full_like(x, s * s) ** 2)",
    "np.sum((M.T @ M - np.eye(4)) ** 2) + np.sum((A + s * np.identity(4)) ** 3)",
    # NumPy's other names: amax, amin, fabs, average, reciprocal, float_power
    "np.amax(x) + np.sum(np.amin(T, axis=(0, 2), keepdims=True)) + np.sum(np.amax(M, 1))",
    "np.average(x) + np.sum(np.average(M, axis=0)) + np.sum(np.fabs(M) * np.reciprocal(x + 2))",
    "np.sum(np.float_power(np.abs(x) + 0.5, 1.5)) + np.float_power(s, x[0])",
    # joining: hstack (a bias column, a scalar among vectors), vstack, column_stack
    "np.sum(np.hstack([M, np.ones((3, 1))]) @ np.hstack([x, s]) ** 2)",
    "np.sum(np.hstack([M, M]) ** 2) + np.sum(np.hstack((x, x, s)) * np.hstack([x, x, 1.0]))",
    "np.sum(np.vstack([M, x, x]) ** 2) + np.sum(np.vstack([s, x[0]]) * 3)",
    "np.sum(np.column_stack([M[:, 0], M]) ** 3) + np.sum(np.column_stack([x, x]) @ x[:2])",
    # ravel, diff (order n, along an axis), inner and vdot
    "np.ravel(M) @ np.ravel(M.T) + np.sum(np.ravel(T) ** 3) + np.sum(np.ravel(s))",
    "np.sum(np.diff(x) ** 2) + np.sum(np.diff(x, 2) ** 2) + np.sum(np.diff(M, axis=0) ** 2)",
    "np.sum(np.diff(T, n=2, axis=1) ** 2) + np.sum(np.diff(T, 0) * T)",
    "np.sum((x - np.roll(x, 1)) ** 2) + np.sum(np.roll(M, -2, axis=1) * M) + np.sum(np.roll(T, 7) * T)",
    "np.inner(x, x) + np.sum(np.inner(M, x)) + np.sum(np.inner(x, M) ** 2) + np.sum(np.inner(M, M))",
    "np.vdot(x, x) + np.vdot(M, M) + np.vdot(A, A @ A) + np.vdot(s, s) + np.sum(np.inner(s, M))",
    # repeats, Kronecker and tensor products, angles, exp2, inverse hyperbolic functions
    "np.sum(np.tile(x, (3, 1)) * M) + np.sum(np.tile(M, 2) ** 2) + np.sum(np.tile(x, (2, 3, 1)) * np.tile(T, 1))",
    "np.sum(np.repeat(x, 3) ** 2) + np.sum(np.repeat(M, 2, axis=0) * np.repeat(M, 2, 0)) + np.sum(np.repeat(T, 2, axis=-1) ** 3)",
    "np.sum(np.kron(M, A) ** 2) + np.sum(np.kron(x, M) * np.kron(M, x)) + np.sum(np.kron(x, x) ** 3) + np.sum(np.kron(s, x))",
    "np.tensordot(M, M) + np.sum(np.tensordot(T, M, axes=([1, 2], [0, 1]))) + np.sum(np.tensordot(M, A, 1) ** 2)",
    "np.sum(np.tensordot(x, x, 0) * A) + np.sum(np.tensordot(T, A, axes=([2], [1])) ** 2)",
    "np.sum(np.sin(np.deg2rad(180 * x)) + np.radians(x) * np.degrees(x) + np.rad2deg(x)) + np.sum(np.exp2(M))",
    "np.sum(np.absolute(M) * M) + np.sum(np.arctanh(x) * np.arccosh(2 + x))",
    # spellings that compiled before, as a baseline (a few to a formula)
    "np.sum(M, 0) @ x + np.dot(x, A) @ x + np.linalg.norm(M, 'fro') + np.linalg.norm(x, 2)",
    "np.std(x, ddof=1) + np.sum(np.var(M, axis=0, ddof=1)) + np.sum(np.mean(T, axis=(0, 1)))",
    "np.einsum('ij,ij->', M, M) + np.einsum('i,i', x, x) + np.sum(np.maximum(1 - x * M, 0))"
    " + np.sum(M - np.max(M, axis=1)[:, None])",
    "np.sum(M / np.linalg.norm(M, axis=1, keepdims=True)) - np.sum(np.log(1.0 / (1.0 + np.exp(-x))))"
    " + np.sum(np.clip(x, None, 0.5) * x) + np.sum(np.reshape(M, (-1, 3)) ** 2 * x[:3])",
]


def numpy_value(text: str, values: dict) -> float:
    """The text as NumPy code (its own oracle: only ``np``, ``numpy`` and the inputs)."""
    return float(
        eval(text, {"np": np, "numpy": np, **values})
    )  # test text, not user text


def inputs() -> dict:
    rng = np.random.default_rng(7)
    return {
        "x": rng.uniform(-0.9, 0.9, 4),
        "M": rng.standard_normal((3, 4)),
        "A": rng.standard_normal((4, 4)),
        "T": rng.standard_normal((2, 3, 4)),
        "s": 0.6,
    }


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
@pytest.mark.parametrize("text", COMPILED)
def test_value_and_gradient_are_numpys(text, fuse):
    mod = gradc.load_source(HEAD + f"    return {text}\n", fuse=fuse)
    values = inputs()
    value, grads = mod.f_value_and_grad(*values.values())
    np.testing.assert_allclose(value, numpy_value(text, values), rtol=1e-12, atol=1e-14)

    def along(*args):
        return numpy_value(text, dict(zip(NAMES, args)))

    fds = central_diff_grad(along, list(values.values()), range(len(NAMES)))
    for name, grad, fd in zip(NAMES, grads, fds):
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8, err_msg=name)


REFUSED = [
    ("np.sum(np.asin(x))", "unknown function 'np.asin'; did you mean `arcsin`?"),
    ("np.sum(np.acos(x))", "did you mean `arccos`?"),
    ("np.sum(np.atan(x))", "did you mean `arctan`?"),
    ("np.sum(np.atan2(x, x))", "did you mean `arctan2`?"),
    ("np.sum(x[np.newaxis, np.newaxis, :, np.newaxis])", None),
    ("np.sum(x[np.nan])", "'np.nan' is not a formula constant"),
    ("np.sum(x) / x.shape[0]", None),
    ("np.max(x, initial=0)", "max() got an unexpected keyword 'initial'"),
    ("np.sum(x[..., 0])", "`...` is not supported"),
    ("np.sum(np.flip(M, 2))", "axis 2 is out of range for an array of 2 dimensions"),
    ("np.sum(np.flip(M, 0, axis=1))", "flip() takes an array and optionally an axis"),
    ("np.sum(np.expand_dims(x))", "expand_dims() needs the axis of the new dimension"),
    ("np.sum(np.squeeze(M, axis=1))", "axis 1 of (3, 4) has length 4, not 1"),
    (
        "np.sum(np.swapaxes(T, 0, 3))",
        "axis 3 is out of range for an array of 3 dimensions",
    ),
    ("np.sum(np.moveaxis(T, (0, 1), 2))", "as many of each"),
    ("np.sum(np.diag(M))", "diag() takes a square matrix, not (3, 4)"),
    ("np.sum(np.diag(x))", "diag of a vector, a matrix, is not supported"),
    ("np.sum((x * 2).shape[0] * x)", "sizes are dimension names"),
    ("M.shape[2] * s", "'M' has 2 dimensions: M.shape[2] is out of range"),
    ("len(s) * s", "unknown function 'len'"),
    ("np.average(x, weights=x)", "average() with weights: write the weighted mean"),
    ("np.sum(np.full(4, x))", "full() fills with a scalar, not an array of shape (4,)"),
    ("np.sum(np.hstack(x))", "hstack() takes a list of arrays: hstack([a, b])"),
    (
        "np.sum(np.vstack([M, T]))",
        "vstack(): shapes (3, 4) and (2, 3, 4) do not join along axis 0",
    ),
    ("np.sum(np.hstack([M, A]))", "hstack(): shapes (3, 4) and (4, 4) do not join"),
    ("np.sum(np.column_stack([x, T]))", "column_stack(): shapes (4,) and (2, 3, 4)"),
    ("np.sum(np.diff(x, -1))", "diff(): n is a non-negative integer"),
    ("np.sum(np.roll(x, s))", "roll() takes an array and an integer shift"),
    ("np.sum(np.eye((4, 4)) @ x)", "eye() takes one size: eye(n)"),
    ("np.diff(s)", "diff() of a scalar: it needs an array"),
    ("np.sum(np.inner(T, x))", "inner() of arrays with more than 2 dimensions"),
    ("np.vdot(x, M)", "do not align"),
    ("np.sum(np.ones(0) * s)", "sizes are positive"),
    ("np.sum(np.amax(x, initial=0))", "max() got an unexpected keyword 'initial'"),
    ("np.sum(np.tile(x, x))", "'x' is not a dimension of the parameters"),
    ("np.sum(np.repeat(x, (2, 1)))", "repeat() takes an array and one count"),
    ("np.sum(np.repeat(M, 2, axis=2))", "axis 2 is out of range"),
    ("np.sum(np.tensordot(M, x, 3))", "tensordot(): axes=3 for arrays of 2 and 1"),
    ("np.sum(np.tensordot(M, A, axes=([1], [0, 1])))", "the lists of axes differ"),
    ("np.sum(np.tensordot(M, A, axes=([1, 1], [0, 1])))", "axis 1 is repeated"),
    ("np.sum(np.tensordot(M, A, axes=[1]))", "axes is an int or a pair of lists"),
    (
        "np.sum(np.tensordot(M, M, axes=1))",
        "tensordot(): shapes (3, 4) and (3, 4) do not align: axis 1 of the first has "
        "length 4, axis 0 of the second 3",
    ),
    ("np.sum(np.tensordot(M))", "tensordot() takes two arrays"),
]


@pytest.mark.parametrize("text, message", REFUSED)
def test_refused_with_a_located_error_or_numpys_value(text, message):
    src = HEAD + f"    return {text}\n"
    if message is None:  # compiles: NumPy's value
        mod = gradc.load_source(src)
        values = inputs()
        assert mod.f(*values.values()) == pytest.approx(numpy_value(text, values))
        return
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src)
    first = str(err.value).splitlines()[0]
    assert first.startswith("<string>:2:"), first
    assert message in first, first


def test_logaddexp_of_zero_is_softplus():
    """``np.logaddexp(0, z)`` compiles to softplus (four passes, where NumPy's logaddexp
    is a scalar loop), with its value and a finite gradient far out (z = +-800)."""
    src = "def f(z: Vector[n]) -> Scalar:\n    return np.sum(np.logaddexp(0, z))\n"
    text = gradc.compile_source(src)
    assert "logaddexp" not in text.split('"""')[-1], text  # below the docstrings
    z = np.array([-800.0, -1.0, 0.0, 2.0, 800.0])
    value, grad = gradc.load_source(src).f_value_and_grad(z)
    np.testing.assert_allclose(value, np.sum(np.logaddexp(0, z)), rtol=1e-15)
    np.testing.assert_allclose(grad, 1 / (1 + np.exp(-z)), rtol=1e-15)


@pytest.mark.parametrize(
    "build",
    [{}, {"fuse": False}, {"target": "numba"}],
    ids=["numpy", "unfused", "numba"],
)
def test_logaddexp_of_two_masked_entries_keeps_a_finite_gradient(build):
    """Log-space sums meet logaddexp(-inf, -inf): NumPy's value -inf, and half the
    gradient to each side (as at any tie), where sigmoid(a - b) would be nan and poison
    every gradient upstream; the same in the scalar build."""
    inf = np.inf
    src = "def f(a: Vector[n], b: Vector[n]) -> Scalar:\n    return np.sum(np.logaddexp(a, b) * 0.0 + np.logaddexp(a, 1.0))\n"
    a, b = np.array([-inf, inf, 0.0, -inf]), np.array([-inf, inf, 0.0, 3.0])
    with np.errstate(invalid="ignore"):  # the value's inf * 0.0 is nan, as in NumPy
        value, (da, db) = gradc.load_source(src, **build).f_value_and_grad(a, b)
    assert np.all(np.isfinite(da)) and np.all(np.isfinite(db)), (da, db)
    np.testing.assert_allclose(db, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(da, 1 / (1 + np.exp(-(a - 1.0))))
    scalar = "def f(a: Scalar, b: Scalar) -> Scalar:\n    return np.logaddexp(a, b)\n"
    m = gradc.load_source(scalar, **build)
    for x, y, want in [(-inf, -inf, -inf), (inf, inf, inf), (0.0, 0.0, np.log(2.0))]:
        v, (gx, gy) = m.f_value_and_grad(x, y)
        assert v == want and (gx, gy) == (0.5, 0.5), (x, y, v, gx, gy)


def test_a_reassigned_parameter_keeps_the_error():
    """``x.shape`` reads the annotation only while ``x`` is the parameter: once the
    function assigns ``x`` (which may change its shape), it is the frontend's error."""
    src = HEAD + "    x = x[1:]\n    return np.sum(x) / x.shape[0]\n"
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src)
    assert "<string>:3:" in str(err.value) and "'.shape'" in str(err.value)


def test_len_of_a_parameter_assigned_into_reports_the_assignment(tmp_path):
    """An item assignment rebinds no name: ``len(x)`` of such a parameter is still its
    first dimension, so the error is the assignment into the parameter, where it stands
    (it said "unknown function 'len'" before), early as the compiler words it."""
    src = HEAD + "    k = len(x)\n    x[0] = 1.0\n    return np.sum(x) * k\n"
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src)
    assert "<string>:3:5:" in str(err.value), err.value
    assert "cannot assign into parameter 'x'" in str(err.value)
    assert_answered_early(
        src, err.value.report().replace("<string>", "f.grad"), tmp_path
    )


def test_squeeze_of_named_lengths_needs_the_axis():
    """NumPy's ``squeeze(x)`` also drops an axis whose named length is 1 when called, a
    shape the compiler cannot know: without ``axis`` it is an error that says so."""
    src = "def f(X: Matrix[n, m]) -> Scalar:\n    return np.sum(np.squeeze(X[None]))\n"
    with pytest.raises(FormulaError, match="give the axis"):
        gradc.load_source(src)
    src = (
        "def f(X: Matrix[n, m]) -> Scalar:\n    return np.sum(np.squeeze(X[None], 0))\n"
    )
    X = np.arange(6.0).reshape(1, 6)  # n = 1: the named axis stays, as written
    value, grad = gradc.load_source(src).f_value_and_grad(X)
    assert value == 15.0 and grad.shape == (1, 6)


def test_diag_of_a_square_matrix_with_named_sides():
    """``diag`` and ``trace`` of ``Matrix[n, n]``: the gather ``A[arange(n), arange(n)]``,
    whose gradient puts the upstream gradient on the diagonal and 0 elsewhere."""
    src = "def f(A: Matrix[n, n], w: Vector[n]) -> Scalar:\n    return np.diag(A) @ w + np.trace(A) ** 2\n"
    A, w = np.arange(9.0).reshape(3, 3), np.array([1.0, -2.0, 0.5])
    value, (dA, dw) = gradc.load_source(src).f_value_and_grad(A, w)
    assert value == pytest.approx(np.diag(A) @ w + np.trace(A) ** 2)
    np.testing.assert_allclose(dA, np.diag(w) + 2 * np.trace(A) * np.eye(3))
    np.testing.assert_allclose(dw, np.diag(A))
    with pytest.raises(FormulaError, match="square matrix"):
        gradc.load_source("def f(A: Matrix[n, m]) -> Scalar:\n    return np.trace(A)\n")


def test_numpys_other_spellings_leave_the_bare_names_to_the_formula():
    """``np.average``, ``np.diff``, ``np.hstack`` and the other spellings are taken with
    the ``np.`` prefix only, as ``np.multiply`` is: a file may define its own ``average``
    and ``diff`` and call both; the bare name of one it does not define is an error that
    says to write NumPy's."""
    src = (
        "def average(x: Vector[n]) -> Scalar:\n    return sum(x) / 2.0\n\n\n"
        "def diff(a: Vector[n], b: Vector[n]) -> Vector[n]:\n    return a - b\n\n\n"
        "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n"
        "    return average(diff(x, y)) + np.average(np.diff(x)) + np.sum(np.hstack([x, y]))\n"
    )
    x, y = np.array([1.0, 2.0, 4.0]), np.array([0.5, 0.25, 1.0])
    want = np.sum(x - y) / 2 + np.average(np.diff(x)) + np.sum(np.hstack([x, y]))
    assert gradc.load_source(src).f(x, y) == pytest.approx(want, rel=1e-15)
    with pytest.raises(FormulaError, match=r"write NumPy's `np.hstack\(...\)`"):
        gradc.load_source(HEAD + "    return np.sum(hstack([x, x]))\n")
