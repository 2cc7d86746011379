"""Shapes and indexing follow NumPy: matmul of every rank, scatters that
accumulate, slice lengths, step slices on symbolic dimensions, advanced-index placement.

Every expected value is NumPy written here; every expected gradient is central finite
differences (float64) of that NumPy function. Each formula is compiled fused and unfused.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

import gradc
from gradc.core import printer
from gradc.errors import FormulaError
from tests.buildcheck import check, modules
from tests.gradcheck import central_diff_grad

RNG = np.random.default_rng(13)


def rand(*shape):
    return RNG.standard_normal(shape)


# --- @ has NumPy's matmul semantics for every rank -------------------------------------


def annotation(shape):
    dims = ", ".join(shape)
    return {0: "Scalar", 1: f"Vector[{dims}]", 2: f"Matrix[{dims}]"}.get(
        len(shape), f"Tensor[{dims}]"
    )


def operand_shapes(ra, rb):
    """Shapes (as dimension names) of ``a`` and ``b`` with ranks ``ra``, ``rb`` that ``@`` accepts."""
    batch = ["B", "C"]
    sa = ["k"] if ra == 1 else batch[: ra - 2][::-1] + ["m", "k"]
    sb = ["k"] if rb == 1 else batch[: rb - 2][::-1] + ["k", "n"]
    return sa, sb


SIZES = {"B": 2, "C": 3, "m": 4, "k": 3, "n": 2}


@pytest.mark.parametrize("ra", [1, 2, 3, 4])
@pytest.mark.parametrize("rb", [1, 2, 3, 4])
def test_matmul_every_rank_pair(ra, rb):
    sa, sb = operand_shapes(ra, rb)
    src = (
        f"def f(a: {annotation(sa)}, b: {annotation(sb)}) -> Scalar:\n"
        "    return sum(sin(a @ b))\n"
    )
    a = rand(*(SIZES[d] for d in sa))
    b = rand(*(SIZES[d] for d in sb))
    check(src, lambda a, b: np.sum(np.sin(a @ b)), a, b)


def test_matmul_value_shape_of_stack_with_its_transpose():
    src = (
        "def f(T: Tensor[2, m, n]) -> Tensor[2, m, m]:\n"
        "    return T @ transpose(T, (0, 2, 1))\n"
    )
    T = rand(2, 3, 4)
    for mod in modules(src):
        out = mod.f(T)
        assert out.shape == (2, 3, 3)
        np.testing.assert_allclose(out, T @ T.transpose(0, 2, 1), rtol=1e-14)
    scalar = (
        "def f(T: Tensor[2, m, n]) -> Scalar:\n"
        "    return sum(sin(T @ transpose(T, (0, 2, 1))))\n"
    )
    check(scalar, lambda T: np.sum(np.sin(T @ T.transpose(0, 2, 1))), T)


def test_matmul_stack_times_matrix_reported_example():
    src = (
        "def f(T: Tensor[2, m, n], W: Matrix[n, k]) -> Scalar:\n"
        "    return sum(sin(T @ W))\n"
    )
    check(src, lambda T, W: np.sum(np.sin(T @ W)), rand(2, 3, 4), rand(4, 5))


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((1, 3, 4), (2, 4, 5)),
        ((2, 3, 4), (1, 4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((3, 4), (2, 2, 4, 5)),
        ((4,), (2, 1, 4, 5)),
        ((2, 1, 3, 4), (4,)),
    ],
)
def test_matmul_batch_axes_broadcast(sa, sb):
    src = (
        f"def f(a: {annotation([str(d) for d in sa])}, b: {annotation([str(d) for d in sb])})"
        " -> Scalar:\n    return sum(sin(a @ b))\n"
    )
    check(src, lambda a, b: np.sum(np.sin(a @ b)), rand(*sa), rand(*sb))


def test_matmul_nonscalar_output_backward():
    src = "def f(v: Vector[k], S: Tensor[B, k, n]) -> Matrix[B, n]:\n    return v @ S\n"
    v, S, g = rand(3), rand(2, 3, 4), rand(2, 4)
    for mod in modules(src):
        out, cache = mod.f_forward(v, S)
        np.testing.assert_allclose(out, v @ S, rtol=1e-14)
        dv, dS = mod.f_backward(g, cache)
        np.testing.assert_allclose(dv, np.einsum("bkn,bn->k", S, g), rtol=1e-12)
        np.testing.assert_allclose(dS, v[None, :, None] * g[:, None, :], rtol=1e-12)


@pytest.mark.parametrize(
    "sa, sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4))]
)
def test_dot_is_np_dot_up_to_two_dimensions(sa, sb):
    src = (
        f"def f(a: {annotation([str(d) for d in sa])}, b: {annotation([str(d) for d in sb])})"
        " -> Scalar:\n    return sum(sin(dot(a, b)))\n"
    )
    check(src, lambda a, b: np.sum(np.sin(np.dot(a, b))), rand(*sa), rand(*sb))


def test_dot_of_a_stack_is_refused_with_a_pointer_to_matmul():
    src = "def f(a: Tensor[2, 3, 4], b: Matrix[4, 5]) -> Scalar:\n    return sum(dot(a, b))\n"
    with pytest.raises(FormulaError, match=r"<string>:2:.*use @"):
        gradc.load_source(src)


def test_outer_of_vectors():
    src = "def f(a: Vector[m], b: Vector[n]) -> Scalar:\n    return sum(sin(outer(a, b)))\n"
    check(src, lambda a, b: np.sum(np.sin(np.outer(a, b))), rand(3), rand(4))


# --- a scatter accumulates wherever indices may repeat ---------------------------------


def test_scatter_of_broadcast_arange_accumulates_reported_example():
    src = "def f(X: Matrix[a, b], y: Index[k]) -> Scalar:\n    return sum(sin(X[arange(1), y]))\n"
    X, y = rand(3, 4), np.array([1, 1, 2, 1, 0])
    check(src, lambda X, y: np.sum(np.sin(X[np.arange(1), y])), X, y)
    want = np.zeros((3, 4))
    np.add.at(want, (0, y), np.cos(X[0, y]))
    for mod in modules(src):
        np.testing.assert_allclose(mod.f_grad(X, y), want, rtol=1e-14)
        assert abs(mod.f_grad(X, y)[0, 1] - 3 * np.cos(X[0, 1])) < 1e-12


INDEXINGS = [
    # (formula index, NumPy index, extra Index parameters)
    ("X[arange(n), y]", lambda X, y, z: X[np.arange(X.shape[0]), y], "y: Index[n]"),
    ("X[arange(1), y]", lambda X, y, z: X[np.arange(1), y], "y: Index[k]"),
    ("X[y, arange(1)]", lambda X, y, z: X[y, np.arange(1)], "y: Index[k]"),
    ("X[arange(n)]", lambda X, y, z: X[np.arange(X.shape[0])], "y: Index[k]"),
    ("X[y]", lambda X, y, z: X[y], "y: Index[k]"),
    ("X[:, y]", lambda X, y, z: X[:, y], "y: Index[k]"),
    ("X[y, y]", lambda X, y, z: X[y, y], "y: Index[k]"),
    ("X[1, y]", lambda X, y, z: X[1, y], "y: Index[k]"),
    ("X[y, 2]", lambda X, y, z: X[y, 2], "y: Index[k]"),
    ("X[arange(n), 2]", lambda X, y, z: X[np.arange(X.shape[0]), 2], "y: Index[k]"),
    (
        "X[z, arange(2)]",
        lambda X, y, z: X[z, np.arange(2)],
        "y: Index[k], z: Index[k, 2]",
    ),
    (
        "X[z, arange(2)]",
        lambda X, y, z: X[z, np.arange(2)],
        "y: Index[k], z: Index[k, 1]",
    ),
    ("X[None, y]", lambda X, y, z: X[None, y], "y: Index[k]"),
    ("X[::-1][y, 1:]", lambda X, y, z: X[::-1][y, 1:], "y: Index[k]"),
    ("X[1:, None][y]", lambda X, y, z: X[1:, None][y], "y: Index[k]"),
]


@pytest.mark.parametrize("text, ref, params", INDEXINGS)
def test_scatter_mixes_of_ints_slices_none_arrays_arange(text, ref, params):
    src = f"def f(X: Matrix[n, m], {params}) -> Scalar:\n    return sum(sin({text}))\n"
    X = rand(4, 4)
    y = np.array([1, 1, 2, 1])  # repeats; also as long as n for X[arange(n), y]
    z = np.array([[0, 0], [2, 0], [0, 3], [0, 0]])
    if "z: Index[k, 1]" in params:
        z = z[:, :1]
    args = (X, y, z) if "z:" in params else (X, y)
    check(src, lambda X, y, z=z: np.sum(np.sin(ref(X, y, z))), *args)


# --- a slice never has a length NumPy would not give ------------------------------------


SHORT_SLICES = [
    ("mean(x[:3])", lambda x: np.mean(x[:3]), 3),
    ("mean(x[-3:])", lambda x: np.mean(x[-3:]), 3),
    ("sum(x - mean(x[:4]))", lambda x: np.sum(x - np.mean(x[:4])), 4),
    ("sum(sin(x[2:]))", lambda x: np.sum(np.sin(x[2:])), 2),
    ("sum(sin(x[1:-1]))", lambda x: np.sum(np.sin(x[1:-1])), 2),
    ("mean(x[3::-1])", lambda x: np.mean(x[3::-1]), 4),
    ("mean(x[:-3:-1])", lambda x: np.mean(x[:-3:-1]), 2),
]


@pytest.mark.parametrize("text, ref, least", SHORT_SLICES)
def test_slice_on_symbolic_dim_is_numpy_or_refused(text, ref, least):
    src = f"def f(x: Vector[n]) -> Scalar:\n    return {text}\n"
    for size in range(least, least + 3):
        check(src, ref, rand(size))
    for mod in modules(src):
        for size in range(least):  # also an empty x, where NumPy clamps the slice
            with pytest.raises(
                ValueError,
                match=rf"f: parameter 'x' has shape \({size},\).*"
                rf"n >= {least}",
            ):
                mod.f(rand(size))
            with pytest.raises(ValueError, match=rf"n >= {least}"):
                mod.f_grad(rand(size))


CROSSED_SLICES = [
    ("sum(x[3:1]) + sum(x * x)", lambda x: np.sum(x[3:1]) + np.sum(x * x)),
    ("sum(sin(x[-1:-3])) + sum(x)", lambda x: np.sum(np.sin(x[-1:-3])) + np.sum(x)),
    (
        "sum(x[1:3:-1] * 2.0) + sum(cos(x))",
        lambda x: np.sum(x[1:3:-1] * 2.0) + np.sum(np.cos(x)),
    ),
    ("sum(x[4:2:2]) + sum(x ** 3)", lambda x: np.sum(x[4:2:2]) + np.sum(x**3)),
]


@pytest.mark.parametrize("text, ref", CROSSED_SLICES)
def test_slice_whose_bounds_cross_is_empty_for_every_size(text, ref):
    """Int bounds whose stop is at or before the start (in the step's direction) select
    no element whatever the size, as in NumPy (the compiler used to fail with a
    traceback, taking the length as negative)."""
    src = f"def f(x: Vector[n]) -> Scalar:\n    return {text}\n"
    for size in (0, 1, 2, 5):
        check(src, ref, rand(size))


def test_slice_times_fixed_vector_refuses_short_input():
    src = "def f(x: Vector[n], w: Vector[3]) -> Scalar:\n    return sum(x[0:3] * w)\n"
    check(src, lambda x, w: np.sum(x[0:3] * w), rand(5), rand(3))
    for mod in modules(src):
        with pytest.raises(
            ValueError, match=r"f: parameter 'x' has shape \(2,\).*n >= 3"
        ):
            mod.f_value_and_grad(rand(2), rand(3))
        with pytest.raises(ValueError, match=r"n >= 3"):
            mod.f_forward(rand(2), rand(3))


def test_slice_of_an_empty_input_is_refused_naming_it():
    """A named dimension may be 0 at run time: ``x[:1]`` and ``x[1:]`` of an empty
    ``Vector[n]`` would be clamped by NumPy (to no element, where the shapes compiled
    after it say 1 and n - 1), so the input checks refuse it; ``x[::2]`` (length
    ``(n + 1) // 2``, 0 at n = 0) needs no check."""
    one = "def f(x: Vector[n], w: Vector[1]) -> Scalar:\n    return sum(x[:1] * w)\n"
    rest = "def f(x: Vector[n]) -> Scalar:\n    return sum(x[1:] * x[:-1])\n"
    halves = "def f(x: Vector[n]) -> Scalar:\n    return sum(x[::2] * 3.0)\n"
    for mod in modules(one):
        with pytest.raises(ValueError, match=r"parameter 'x' has shape \(0,\).*n >= 1"):
            mod.f_value_and_grad(rand(0), rand(1))
    for mod in modules(rest):
        with pytest.raises(ValueError, match=r"parameter 'x' has shape \(0,\).*n >= 1"):
            mod.f_value_and_grad(rand(0))
    check(halves, lambda x: np.sum(x[::2] * 3.0), rand(0))
    check(halves, lambda x: np.sum(x[::2] * 3.0), rand(5))


def test_reported_example_mean_of_first_three():
    src = "def f(x: Vector[n]) -> Scalar:\n    return mean(x[:3])\n"
    for mod in modules(src):
        with pytest.raises(ValueError, match="n >= 3"):
            mod.f_value_and_grad(np.array([1.0, 2.0]))
        value, grad = mod.f_value_and_grad(np.array([1.0, 2.0, 4.0, 8.0]))
        assert value == 7.0 / 3.0
        np.testing.assert_array_equal(grad, [1 / 3, 1 / 3, 1 / 3, 0.0])


LITERAL_SLICES = [
    ("x[::-1]", lambda x: x[::-1]),
    ("x[5:0:-2]", lambda x: x[5:0:-2]),
    ("x[-10:10]", lambda x: x[-10:10]),
    ("x[-10:10:3]", lambda x: x[-10:10:3]),
    ("x[10:-10:-3]", lambda x: x[10:-10:-3]),
    ("x[3:1]", lambda x: x[3:1]),
    ("x[-2::-2]", lambda x: x[-2::-2]),
    ("x[:-10:-1]", lambda x: x[:-10:-1]),
    ("x[1:100]", lambda x: x[1:100]),
    ("x[::4]", lambda x: x[::4]),
    ("x[-1:-6:-1]", lambda x: x[-1:-6:-1]),
    ("x[7:]", lambda x: x[7:]),
]


@pytest.mark.parametrize("text, part", LITERAL_SLICES)
def test_slice_on_literal_dim_clamps_as_numpy(text, part):
    src = f"def f(x: Vector[5]) -> Scalar:\n    return sum(sin({text}) * {text})\n"
    check(src, lambda x: np.sum(np.sin(part(x)) * part(x)), rand(5))


def test_slice_on_literal_dim_matrix_axes():
    src = "def f(X: Matrix[4, 5]) -> Scalar:\n    return sum(sin(X[::-2, 7:1:-2]))\n"
    check(src, lambda X: np.sum(np.sin(X[::-2, 7:1:-2])), rand(4, 5))


# --- step slices on symbolic dimensions, printed as integer arithmetic ------------------


STEP_SLICES = [
    ("v[::2]", lambda v: v[::2]),
    ("v[1::2]", lambda v: v[1::2]),
    ("v[::3]", lambda v: v[::3]),
    ("v[2::3]", lambda v: v[2::3]),
    ("v[:-1]", lambda v: v[:-1]),
    ("v[1:-1:2]", lambda v: v[1:-1:2]),
    ("v[::-2]", lambda v: v[::-2]),
    ("v[-2::-3]", lambda v: v[-2::-3]),
    ("v[:0:-2]", lambda v: v[:0:-2]),
]


@pytest.mark.parametrize("text, part", STEP_SLICES)
def test_step_slice_on_symbolic_dim(text, part):
    src = f"def f(v: Vector[n]) -> Scalar:\n    return mean(sin({text})) + sum({text} ** 2)\n"
    for size in (4, 5, 6, 7):
        check(
            src, lambda v: np.mean(np.sin(part(v))) + np.sum(part(v) ** 2), rand(size)
        )


def test_step_slice_module_text_is_integer_arithmetic():
    src = "def f(v: Vector[n]) -> Scalar:\n    return mean(v[::2]) + mean(v[1::3])\n"
    text = gradc.compile_source(src)
    assert "ceiling" not in text and "floor" not in text
    assert "(n + 1) // 2" in text
    for mod in modules(src):
        v = rand(7)
        np.testing.assert_allclose(
            mod.f(v), np.mean(v[::2]) + np.mean(v[1::3]), rtol=1e-14
        )


def test_step_slice_result_shape_flows_on():
    src = (
        "def f(v: Vector[n]) -> Scalar:\n"
        "    a = v[::2]\n"
        "    return sum(a * a[::-1]) + mean(concatenate([a, v[1::2]]))\n"
    )

    def ref(v):
        a = v[::2]
        return np.sum(a * a[::-1]) + np.mean(np.concatenate([a, v[1::2]]))

    for size in (4, 5):
        check(src, ref, rand(size))


DIM_BOUNDS = [
    ("v[1:n-1:2]", lambda v: v[1 : len(v) - 1 : 2], 2),
    ("v[n // 2:]", lambda v: v[len(v) // 2 :], 1),
    ("v[:n - 1]", lambda v: v[: len(v) - 1], 1),
    ("v[n - 2::-1]", lambda v: v[len(v) - 2 :: -1], 2),
    ("v[1:2 * (n // 2):2]", lambda v: v[1 : 2 * (len(v) // 2) : 2], 1),
]


@pytest.mark.parametrize("text, part, least", DIM_BOUNDS)
def test_slice_bounds_from_dimension_names(text, part, least):
    src = f"def f(v: Vector[n]) -> Scalar:\n    return sum(sin({text})) + sum({text} ** 2)\n"
    for size in range(max(least, 2), 7):
        check(src, lambda v: np.sum(np.sin(part(v))) + np.sum(part(v) ** 2), rand(size))


def test_slice_bound_of_another_dimension_is_checked():
    src = (
        "def f(x: Vector[n], w: Vector[m]) -> Scalar:\n    return sum(sin(x[:m]) * w)\n"
    )
    check(src, lambda x, w: np.sum(np.sin(x[: len(w)]) * w), rand(5), rand(3))
    for mod in modules(src):
        with pytest.raises(ValueError, match=r"parameter 'x' has shape \(2,\).*n >= m"):
            mod.f_grad(rand(2), rand(3))


@pytest.mark.parametrize("bound", ["k", "n // 0", "n / 2", "x"])
def test_slice_bound_that_is_not_a_dimension_expression_is_a_located_error(bound):
    src = f"def f(x: Vector[n]) -> Scalar:\n    return sum(x[:{bound}])\n"
    with pytest.raises(FormulaError, match=r"<string>:2:\d+: error: "):
        gradc.load_source(src)


@pytest.mark.parametrize("fuse", [True, False])
def test_emitted_slices_and_sizes_are_ruff_clean(tmp_path, fuse):
    src = (
        "def f(v: Vector[n], X: Matrix[m, n]) -> Scalar:\n"
        "    a = v[1:n-1:2] * v[:n - 1:2][: (n - 1) // 2]\n"
        "    b = reshape(X, (-1,))[::3]\n"
        "    return mean(a) + mean(b) + sum(v[n // 2:])\n"
    )
    path = tmp_path / "m.py"
    path.write_text(gradc.compile_source(src, fuse=fuse))
    for cmd in (["check"], ["format", "--check", "--diff"]):
        done = subprocess.run(
            ["ruff", *cmd, "--isolated", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    mod = gradc.load_source(src, fuse=fuse)
    v, X = rand(7), rand(2, 7)
    a = v[1:6:2] * v[:6:2][:3]
    want = np.mean(a) + np.mean(X.reshape(-1)[::3]) + np.sum(v[3:])
    np.testing.assert_allclose(mod.f(v, X), want, rtol=1e-14)


# --- advanced-index placement, transpose axes, dimensions named e or pi ----------------


ADVANCED = [
    ("T[0, :, y]", lambda T, y: T[0, :, y]),
    ("T[y, None, y]", lambda T, y: T[y, None, y]),
    ("T[0, None, y]", lambda T, y: T[0, None, y]),
    ("T[:, 0, y]", lambda T, y: T[:, 0, y]),
    ("T[y, :, 0]", lambda T, y: T[y, :, 0]),
    ("T[None, 0, :, y]", lambda T, y: T[None, 0, :, y]),
    ("T[0, y]", lambda T, y: T[0, y]),
    ("T[y, 0, None]", lambda T, y: T[y, 0, None]),
    ("T[None, y, 0]", lambda T, y: T[None, y, 0]),
    ("T[0, 1, y]", lambda T, y: T[0, 1, y]),
    ("T[1, :, 2]", lambda T, y: T[1, :, 2]),
    ("T[y, :, arange(4)]", lambda T, y: T[y, :, np.arange(4)]),
]


@pytest.mark.parametrize("text, part", ADVANCED)
def test_advanced_indices_separated_by_a_slice_go_first(text, part):
    T, y = rand(2, 3, 4), np.array([0, 1, 1, 0])
    src = f"def f(T: Tensor[a, m, k], y: Index[4]) -> Scalar:\n    return sum(sin({text}))\n"
    check(src, lambda T, y: np.sum(np.sin(part(T, y))), T, y)
    # the shape flows on: weight the result by a NumPy array of NumPy's shape
    shape = part(T, y).shape
    W = rand(*shape)
    names = ", ".join(str(d) for d in shape)
    typed = (
        f"def f(T: Tensor[2, 3, 4], y: Index[4], W: Tensor[{names}]) -> Scalar:\n"
        f"    return sum(sin({text}) * W)\n"
    )
    check(typed, lambda T, y, W: np.sum(np.sin(part(T, y)) * W), T, y, W)


def test_reported_example_int_slice_array_shape():
    src = "def f(T: Tensor[a, m, k], y: Index[k]) -> Matrix[k, m]:\n    return T[0, :, y]\n"
    T, y = rand(2, 3, 4), np.array([3, 0, 0, 1])
    for mod in modules(src):
        np.testing.assert_array_equal(mod.f(T, y), T[0, :, y])
        out, cache = mod.f_forward(T, y)
        g = rand(4, 3)
        want = np.zeros_like(T)
        np.add.at(want, (0, slice(None), y), g)
        np.testing.assert_array_equal(mod.f_backward(g, cache), want)


@pytest.mark.parametrize(
    "axes, bad", [("(2, 3)", "2"), ("(0, 2)", "2"), ("(-3, 0)", "-3")]
)
def test_transpose_axes_out_of_range_is_a_located_error(axes, bad):
    src = f"def f(X: Matrix[a, b]) -> Scalar:\n    return sum(transpose(X, {axes}))\n"
    col = src.splitlines()[1].index(axes) + 2 + (axes.index(bad) - 1)
    with pytest.raises(
        FormulaError, match=rf"<string>:2:{col}: error: axis {bad} is out of range"
    ):
        gradc.load_source(src)


@pytest.mark.parametrize("axes", ["(0, 0)", "(0,)", "(1, 0, 2)"])
def test_transpose_axes_not_a_permutation_is_a_located_error(axes):
    src = f"def f(X: Matrix[a, b]) -> Scalar:\n    return sum(transpose(X, {axes}))\n"
    with pytest.raises(FormulaError, match=r"<string>:2:\d+: error: (transpose|axis)"):
        gradc.load_source(src)


def test_transpose_negative_axes_as_numpy():
    src = "def f(T: Tensor[a, b, c]) -> Scalar:\n    return sum(sin(transpose(T, (-1, 0, -2)) * W))\n"
    src = src.replace("T: Tensor[a, b, c]", "T: Tensor[2, 3, 4], W: Tensor[4, 2, 3]")
    check(
        src,
        lambda T, W: np.sum(np.sin(np.transpose(T, (-1, 0, -2)) * W)),
        rand(2, 3, 4),
        rand(4, 2, 3),
    )


@pytest.mark.parametrize("name", ["e", "pi", "EPS"])
def test_dimension_named_like_a_constant_is_a_located_error(name):
    src = (
        f"EPS = 1e-12\n\n\ndef f(x: Vector[{name}]) -> Scalar:\n"
        f"    return sum(x) * {name}\n"
    )
    with pytest.raises(
        FormulaError, match=rf"<string>:4:17: error: .*'{name}'.*constant"
    ):
        gradc.load_source(src)


def test_constants_e_and_pi_keep_their_values():
    src = "def f(x: Vector[n]) -> Scalar:\n    return sum(x) * e + pi * mean(x)\n"
    check(src, lambda x: np.sum(x) * np.e + np.pi * np.mean(x), rand(3))


def test_parameter_named_like_a_dimension_is_a_located_error():
    src = "def f(n: Scalar, x: Vector[n]) -> Scalar:\n    return sum(x) * n\n"
    with pytest.raises(FormulaError, match=r"<string>:1:7: error: parameter 'n'"):
        gradc.load_source(src)


# --- the command line on these formulas ----------------------------------------------------------


CLI = str(Path(__file__).resolve().parents[1] / "cli.py")


def run_cli(tmp_path, text, *args):
    path = tmp_path / "f.grad"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, CLI, *args[:1], str(path), *args[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )


def test_cli_check_and_explain_step_slice(tmp_path):
    text = "def f(v: Vector[n]) -> Scalar:\n    return mean(v[::2])\n"
    done = run_cli(tmp_path, text, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run_cli(
        tmp_path, text, "explain", "--function", "f", "--at", "v=[1,2,4,8,16]"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "7" in done.stdout  # mean of 1, 4, 16


def test_cli_refuses_a_point_too_small_for_a_slice(tmp_path):
    text = "def f(x: Vector[n]) -> Scalar:\n    return mean(x[:3])\n"
    for args in (
        ("explain", "--function", "f", "--at", "x=[1,2]"),
        ("check", "--dims", "n=2"),
    ):
        done = run_cli(tmp_path, text, *args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "n >= 3" in done.stderr and "Traceback" not in done.stderr
    assert run_cli(tmp_path, text, "check").returncode == 0


RETURNS = [
    ("Vector[(n + 1) // 2]", "sin(v[::2])", lambda v: np.sin(v[::2])),
    ("Vector[n // 2]", "sin(v[1::2])", lambda v: np.sin(v[1::2])),
    ("Vector[n - 1]", "v[1:] * v[:-1]", lambda v: v[1:] * v[:-1]),
    ("Vector[-(-n // 3)]", "v[::-3] ** 2", lambda v: v[::-3] ** 2),
]


@pytest.mark.parametrize("annotation, body, ref", RETURNS)
def test_return_annotated_with_a_size_expression(annotation, body, ref):
    src = f"def f(v: Vector[n]) -> {annotation}:\n    return {body}\n"
    for size in (4, 5, 6):
        v = rand(size)
        g = rand(len(ref(v)))
        want = central_diff_grad(lambda v, g=g: np.sum(ref(v) * g), (v,), [0])[0]
        for mod in modules(src):
            out, cache = mod.f_forward(v)
            np.testing.assert_allclose(out, ref(v), rtol=1e-14)
            np.testing.assert_allclose(
                mod.f_backward(g, cache), want, rtol=1e-6, atol=1e-8
            )
            with pytest.raises(ValueError, match=r"f_backward: parameter 'd_out'"):
                mod.f_backward(rand(len(ref(v)) + 1), cache)


def test_even_and_odd_halves_concatenate_to_the_whole_length():
    src = (
        "def f(v: Vector[n], w: Vector[n]) -> Scalar:\n"
        "    return sum(sin(concatenate([v[::2], v[1::2]]) * w))\n"
    )

    def ref(v, w):
        return np.sum(np.sin(np.concatenate([v[::2], v[1::2]]) * w))

    for size in (3, 4, 5):
        check(src, ref, rand(size), rand(size))


DIM_EXPRESSIONS = [
    "-P*floor((P + 1)/2) + 3*floor((P + 1)/2)",
    "-floor((P + 1)/2)",
    "-2*floor(P/2)",
    "-(P + 1)*floor(P/3)",
    "3 - floor((P + 1)/2)",
    "-ceiling(Q/3)",
    "-P*ceiling(Q/3) + floor(P/2)",
    "floor(P/2) - ceiling(Q/3)",
    "-floor(P/2)*ceiling(Q/3)",
    "P - Q*floor((P + 2)/3)",
]


@pytest.mark.parametrize("text", DIM_EXPRESSIONS)
def test_dimension_arithmetic_prints_as_python_integer_arithmetic(text):
    """A negated floor division keeps its parentheses (``-((P + 1) // 2)``: unary minus
    binds tighter than ``//``); checked against SymPy's own value at every small size."""
    p, q = sympy.symbols("P Q", integer=True, positive=True)
    expr = sympy.sympify(text, locals={"P": p, "Q": q})  # test-authored text only
    code = printer.dim(expr, {})
    for pv in range(9):
        for qv in range(9):
            want = int(expr.subs({p: pv, q: qv}))
            assert eval(code, {"P": pv, "Q": qv}) == want, (code, pv, qv)  # noqa: S307
