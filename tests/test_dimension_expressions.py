"""Dimension expressions, symbolic reshape sizes and indexed Index values (SPEC section 1).

Three families the language oracle found refused although the contract allows them:

1. dimension expressions in parameter annotations (``Matrix[D, 4 * H]``,
   ``Tensor[N, F, H - 2, W - 2]``, ``Vector[n // 2]``);
2. ``reshape`` with symbolic sizes (``reshape(x, (N, C * H * W))``, ``(N, -1)``);
3. basic indexing of ``Index`` values and ``arange`` (``i[:, None]``, ``arange(m)[:, None]``,
   ``i[1:]``, ``i[::-1]``) to build broadcasting index arrays.

Every expected value is NumPy written here; every expected gradient is central finite
differences (float64) of that NumPy function. Each formula is compiled fused and unfused.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc.cli import points as evaluate
from gradc.errors import FormulaError
from gradc.frontend import text as frontend
from tests.buildcheck import check, modules
from tests.gradcheck import central_diff_grad

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_language_oracle as oracle  # noqa: E402

RNG = np.random.default_rng(2026)


def rand(*shape):
    return RNG.standard_normal(shape)


def error_of(src):
    """The FormulaError compiling ``src`` raises, as its text."""
    with pytest.raises(FormulaError) as info:
        gradc.load_source(src)
    return str(info.value)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- item 1: dimension expressions in parameter annotations -------------------------------

LSTM = """
def f(x: Matrix[N, D], prev_h: Matrix[N, H], prev_c: Matrix[N, H], Wx: Matrix[D, 4 * H],
      Wh: Matrix[H, 4 * H], b: Vector[4 * H]) -> Scalar:
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    o = sigmoid(a[:, 2 * H : 3 * H])
    g = tanh(a[:, 3 * H :])
    c = f * prev_c + i * g
    return sum(o * tanh(c))
"""


def lstm_ref(x, prev_h, prev_c, Wx, Wh, b):
    """CS231n's lstm_step_forward, summed."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    c = f * prev_c + i * g
    return np.sum(o * np.tanh(c))


def test_lstm_stacked_gates():
    N, D, H = 2, 3, 4
    args = (
        rand(N, D),
        rand(N, H),
        rand(N, H),
        rand(D, 4 * H),
        rand(H, 4 * H),
        rand(4 * H),
    )
    check(LSTM, lstm_ref, *args)


VALID = """
def f(y: Tensor[N, F, H - 2, W - 2], z: Tensor[N, F, H, W]) -> Scalar:
    return sum(y * z[:, :, 1 : H - 1, 1 : W - 1] ** 2)
"""


def test_valid_convolution_shape():
    y, z = rand(2, 3, 2, 3), rand(2, 3, 4, 5)
    check(VALID, lambda y, z: np.sum(y * z[:, :, 1:-1, 1:-1] ** 2), y, z)


HALF = """
def f(x: Vector[n], h: Vector[n // 2], u: Vector[n - 1]) -> Vector[n // 2]:
    return x[1::2] * h + u[::2][: n // 2] * 0.0 + sin(h)
"""


@pytest.mark.parametrize("n", [4, 5])
def test_floor_division_dimension_equals_slice_length(n):
    """``x[1::2]`` of a ``Vector[n]`` has ``n // 2`` elements: the same size as a
    parameter annotated ``Vector[n // 2]``."""
    x, h, u = rand(n), rand(n // 2), rand(n - 1)

    def ref(x, h, u):
        return x[1::2] * h + u[::2][: n // 2] * 0.0 + np.sin(h)

    seed = rand(n // 2)
    fd = central_diff_grad(
        lambda x, h, u: np.sum(seed * ref(x, h, u)), (x, h, u), [0, 1, 2]
    )
    for mod in modules(HALF):
        np.testing.assert_allclose(mod.f(x, h, u), ref(x, h, u), rtol=1e-12, atol=1e-12)
        grads = mod.f_backward(seed, mod.f_forward(x, h, u)[1])
        for got, want in zip(grads, fd):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


LATER = """
def f(W: Matrix[D, 4 * H], x: Vector[D], h: Vector[H]) -> Scalar:
    return sum(tanh(x @ W) * concatenate([h, h, h, h]))
"""


def test_name_bound_by_a_later_parameter():
    """``W`` comes before the ``h`` whose shape gives ``H``; its check waits for it."""
    W, x, h = rand(3, 8), rand(3), rand(2)
    check(
        LATER, lambda W, x, h: np.sum(np.tanh(x @ W) * np.concatenate([h] * 4)), W, x, h
    )


def test_runtime_shape_errors_print_python_arithmetic():
    mods = modules(LATER) + modules(VALID) + modules(HALF)
    for mod in mods[:2]:
        with pytest.raises(ValueError) as info:
            mod.f(rand(3, 6), rand(3), rand(2))
        assert str(info.value) == (
            "f: parameter 'W' has shape (3, 6), expected (D, 4 * H) = (3, 8)"
        )
    for mod in mods[2:4]:
        with pytest.raises(ValueError) as info:
            mod.f(rand(2, 3, 2, 2), rand(2, 3, 4, 5))
        assert str(info.value) == (
            "f: parameter 'y' has shape (2, 3, 2, 2), expected (N, F, H - 2, W - 2) = "
            "(2, 3, 2, 3)"
        )
    for mod in mods[4:]:
        with pytest.raises(ValueError) as info:
            mod.f(rand(5), rand(3), rand(4))
        assert str(info.value) == (
            "f: parameter 'h' has shape (3,), expected (n // 2,) = (2,)"
        )


INLINED = """
def gates(a: Matrix[N, 4 * H], c: Matrix[N, H]) -> Matrix[N, H]:
    return sigmoid(a[:, :H]) * c + tanh(a[:, 3 * H :])

def f(a: Matrix[B, 4 * K], c: Matrix[B, K]) -> Scalar:
    return sum(gates(a, c) ** 2)
"""


def test_inlined_function_with_dimension_expressions():
    a, c = rand(2, 12), rand(2, 3)

    def ref(a, c):
        return np.sum((sigmoid(a[:, :3]) * c + np.tanh(a[:, 9:])) ** 2)

    check(INLINED, ref, a, c)


def test_inlined_call_checks_its_expressions():
    src = """
def gates(a: Matrix[N, 4 * H], c: Matrix[N, H]) -> Matrix[N, H]:
    return a[:, :H] * c

def f(a: Matrix[B, 3 * K], c: Matrix[B, K]) -> Scalar:
    return sum(gates(a, c))
"""
    text = error_of(src)
    assert ":6:22: error: gates(): argument 'a' has shape (B, 3 * K), expected " in text
    assert "Matrix[N, 4 * H]" in text


def test_name_only_inside_expressions_is_a_located_error():
    text = error_of(
        "def f(x: Vector[2 * k], y: Vector[n]) -> Scalar:\n    return sum(x)\n"
    )
    assert text.startswith(
        "<string>:1:21: error: dimension 'k' appears only inside an expression; it must "
        "also stand alone as a dimension of some parameter (as in Vector[k]) so that its "
        "size is read from a shape"
    )
    text = error_of("def f(x: Matrix[n, m - 1]) -> Scalar:\n    return sum(x)\n")
    assert "1:20: error: dimension 'm' appears only inside an expression" in text


def test_non_positive_constant_dimension_is_a_located_error():
    text = error_of("def f(x: Vector[2 - 2]) -> Scalar:\n    return sum(x)\n")
    assert "1:17: error: dimension 2 - 2 is 0; a dimension is positive" in text
    text = error_of(
        "def f(x: Vector[n], y: Vector[n / 2]) -> Scalar:\n    return sum(x)\n"
    )
    assert (
        "1:31: error: expected an integer literal or an expression of dimension names"
        in text
    )


def test_constant_in_dimension_expression_is_a_located_error():
    text = error_of(
        "K = 2\ndef f(x: Vector[n], y: Vector[K * n]) -> Scalar:\n    return sum(x)\n"
    )
    assert (
        "<string>:2:31: error: 'K' is a constant; a dimension expression is made of "
        "dimension names and integer literals" in text
    )


def test_check_draws_sizes_that_keep_expressions_positive():
    """gradc check draws the plain names and computes the expressions; ``H - 5`` needs
    ``H >= 6``, and sizes given with --dims that cannot fit are reported."""
    src = (
        "def f(y: Tensor[N, H - 5, 2 * W - 7], z: Matrix[H, W]) -> Scalar:\n"
        "    return sum(y ** 2) + sum(z)\n"
    )
    fn = frontend.parse(src)[0]
    point = evaluate.draw_point(fn, np.random.default_rng(0))
    d = point.dims
    assert d["H"] - 5 >= 1 and 2 * d["W"] - 7 >= 1
    assert np.shape(point.inputs["y"]) == (d["N"], d["H"] - 5, 2 * d["W"] - 7)
    assert np.shape(point.inputs["z"]) == (d["H"], d["W"])
    with pytest.raises(evaluate.InputError) as info:
        evaluate.draw_point(fn, np.random.default_rng(0), dims={"H": 3})
    assert "the dimension H - 5 of a parameter must be at least 1" in str(info.value)


# --- item 2: reshape with symbolic sizes ----------------------------------------------------

AFFINE = """
def f(x: Tensor[N, C, H, W], w: Matrix[C * H * W, K], b: Vector[K]) -> Matrix[N, K]:
    return reshape(x, (N, {sizes})) @ w + b
"""


@pytest.mark.parametrize("sizes", ["C * H * W", "-1"])
def test_affine_forward_flatten(sizes):
    """CS231n's affine_forward: x.reshape(N, -1) @ w + b (upstream gradient random)."""
    x, w, b = rand(2, 3, 2, 2), rand(12, 4), rand(4)

    def ref(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b

    seed = rand(2, 4)
    fd = central_diff_grad(lambda *a: np.sum(seed * ref(*a)), (x, w, b), [0, 1, 2])
    for mod in modules(AFFINE.format(sizes=sizes)):
        np.testing.assert_allclose(mod.f(x, w, b), ref(x, w, b), rtol=1e-12)
        grads = mod.f_backward(seed, mod.f_forward(x, w, b)[1])
        for got, want in zip(grads, fd):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_reshape_product_of_repeated_names():
    """Language oracle seed 1095: reshape(x, (R * Q * R, 1))."""
    src = """
def f(x: Tensor[R, Q, R]) -> Scalar:
    t = reshape(x, (R * Q * R, 1,))
    t -= cos(t)
    return sum(t * t)
"""
    x = rand(2, 3, 2)

    def ref(x):
        t = x.reshape(-1, 1)
        t = t - np.cos(t)
        return np.sum(t * t)

    check(src, ref, x)


def test_reshape_size_errors():
    head = "def f(x: Vector[n]) -> Scalar:\n"
    text = error_of(head + "    return sum(reshape(x, (-1, -1)))\n")
    assert "2:32: error: only one dimension can be -1" in text
    text = error_of(head + "    return sum(reshape(x, (2, -1)))\n")
    assert "2:27: error: cannot reshape (n,) into (2, -1)" in text
    text = error_of(head + "    return sum(reshape(x, (n - n, -1)))\n")
    assert (
        "2:28: error: reshape size n - n is 0; sizes are positive (or a single -1)"
        in text
    )
    text = error_of(head + "    return sum(reshape(x, (n + 1,)))\n")
    assert "2:16: error: reshape: cannot reshape (n,) into (n + 1,)" in text
    text = error_of(head + "    return sum(reshape(x, (n * 1.5,)))\n")
    assert (
        "2:32: error: expected an integer literal or an expression of dimension names"
        in text
    )


# --- item 3: Index values indexed -----------------------------------------------------------


def test_outer_index_with_repeats():
    """Language oracle seeds 248/328: X[i[:, None], j[None, :]], indices repeating (the
    gradient must add every gathered copy)."""
    src = """
def f(X: Matrix[m, n], i: Index[p], j: Index[q], w: Matrix[p, q]) -> Scalar:
    return sum(sin(X[i[:, None], j[None, :]]) * w)
"""
    X, w = rand(3, 4), rand(3, 3)
    i, j = np.array([0, 2, 0]), np.array([1, 1, 3])
    check(
        src,
        lambda X, i, j, w: np.sum(np.sin(X[i[:, None], j[None, :]]) * w),
        X,
        i,
        j,
        w,
    )


def test_arange_column_with_index_row():
    """Language oracle seeds 327/925/552: X[arange(m)[:, None], j]; j repeats."""
    src = """
def f(X: Matrix[m, n], j: Index[q]) -> Scalar:
    return sum(X[arange(m)[:, None], j] ** 3)
"""
    X, j = rand(3, 4), np.array([2, 0, 2, 2])
    check(src, lambda X, j: np.sum(X[np.arange(3)[:, None], j] ** 3), X, j)


def test_arange_literal_column():
    src = """
def f(X: Matrix[m, n], j: Index[q]) -> Scalar:
    return sum(exp(X[arange(2)[:, None], j]))
"""
    X, j = rand(3, 4), np.array([3, 3, 1])
    check(src, lambda X, j: np.sum(np.exp(X[np.arange(2)[:, None], j])), X, j)


def test_sliced_and_reversed_index():
    src = """
def f(X: Matrix[m, n], i: Index[m]) -> Scalar:
    return sum(X[i[1:]] ** 2) + sum(X[i[::-1], 0] * X[arange(m)[::-1], 1])
"""
    X, i = rand(3, 2), np.array([1, 1, 2])

    def ref(X, i):
        return np.sum(X[i[1:]] ** 2) + np.sum(X[i[::-1], 0] * X[np.arange(3)[::-1], 1])

    check(src, ref, X, i)


def test_scalar_index_given_an_axis():
    src = """
def f(X: Matrix[m, n], i: Index[p], s: Index) -> Scalar:
    return sum(X[i[0], s[None]] ** 2) + sum(X[i[:1, None]] ** 3)
"""
    X, i, s = rand(3, 4), np.array([2, 0]), 1

    def ref(X, i, s):
        return np.sum(X[i[0], np.array(s)[None]] ** 2) + np.sum(X[i[:1, None]] ** 3)

    check(src, ref, X, i, s)


AR = np.arange


@pytest.mark.parametrize(
    "index, gather, unique",
    [
        (
            "arange(m)[:, None], arange(n)[None, ::-1]",
            lambda X, i, j: X[AR(3)[:, None], AR(3)[None, ::-1]],
            True,
        ),
        (
            "arange(m)[:, None], arange(m)[:, None]",
            lambda X, i, j: X[AR(3)[:, None], AR(3)[:, None]],
            True,
        ),
        (
            "arange(m)[:, None], j[None, :]",
            lambda X, i, j: X[AR(3)[:, None], j[None, :]],
            False,
        ),
        ("i[:, None], arange(n)", lambda X, i, j: X[i[:, None], AR(3)], False),
        (
            "arange(1)[:, None], j[None, :]",
            lambda X, i, j: X[AR(1)[:, None], j[None, :]],
            False,
        ),
    ],
)
def test_scatter_uniqueness(index, gather, unique):
    """A plain assignment scatters the gradient only where no element can be gathered
    twice; the gradient agrees with finite differences either way (i and j repeat)."""
    X, i, j = rand(3, 3), np.array([1, 1, 0]), np.array([2, 2, 0])
    src = f"""
def f(X: Matrix[m, n], i: Index[p], j: Index[q]) -> Scalar:
    return sum(cos(X[{index}]) ** 3)
"""
    check(src, lambda X, i, j: np.sum(np.cos(gather(X, i, j)) ** 3), X, i, j)
    for text in (
        gradc.compile_source(src),
        gradc.compile_source(src, fuse=False),
    ):
        assert ("np.add.at(" not in text) == unique


def test_index_range_checks_name_the_parameter():
    src = """
def f(X: Matrix[m, n], i: Index[p]) -> Scalar:
    return sum(X[i[1:, None]])
"""
    for mod in modules(src):
        with pytest.raises(ValueError) as info:
            mod.f(rand(3, 2), np.array([0, 7]))
        assert str(info.value) == "f: parameter 'i' holds index 7, outside [-3, 3)"


def test_arange_longer_than_its_axis_names_the_parameter():
    src = """
def f(X: Matrix[P, R], j: Index[q]) -> Scalar:
    return sum(X[arange(2)[:, None], j])
"""
    for mod in modules(src):
        with pytest.raises(ValueError) as info:
            mod.f(rand(1, 3), np.array([0]))
        assert str(info.value) == (
            "f: parameter 'X' has shape (1, 3), expected (P, R) with P >= 2 (an arange "
            "index on line 3 needs it)"
        )


def test_index_value_errors():
    head = "def f(X: Matrix[m, n], i: Index[p], j: Index[p]) -> Scalar:\n"
    text = error_of(head + "    return sum(X[i[j]])\n")
    assert (
        "2:20: error: an Index value or arange(n) is indexed only with integers, slices "
        "and None (i[:, None], i[1:])" in text
    )
    text = error_of(head + "    return sum(X * i[:, None])\n")
    assert (
        "2:20: error: an Index value can only be used to index an array (or be indexed: "
        "i[:, None])" in text
    )
    text = error_of(head + "    return sum(X + arange(n))\n")
    assert (
        "2:20: error: arange(n) can only be used as an index or indexed "
        "(arange(n)[:, None])" in text
    )


# --- the language oracle's seeds of these families ------------------------------------------

ORACLE_SEEDS = (774, 928, 945, 1103, 281, 660, 1095, 327, 925, 552, 248, 328)


@pytest.mark.parametrize("seed", ORACLE_SEEDS)
def test_language_oracle_seed(seed):
    oracle.check_formula(seed, oracle.Stats())
