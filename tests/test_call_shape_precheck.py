"""Calls read on the syntax tree before SymPy is imported by their records' shape rules:
``max_pool2d``, ``avg_pool2d`` and ``conv2d`` (``frontend/pool_shapes.py``: the number
of windows along an axis written as the record's rule gives it and the frontend's
messages write it), ``var`` and ``std`` (a reduction's axes, then ``ddof``) and ``outer``
(``frontend/operand_shapes.py``). Every file of a grid of inputs and argument forms is
reported exactly as the frontend reports it (message, line, column), and none the
frontend compiles.
"""

from __future__ import annotations

import itertools

import pytest

from gradc.core.shapes import dim_symbol, format_shape
from gradc.frontend.pool_shapes import kernel_windows, windows
from gradc.frontend.shape_reading import Mismatch
from gradc.ops.conv import out_size
from tests.test_shape_precheck import H, precheck_report
from tests.test_startup import assert_answered_early
from tests.test_value_name_precheck import frontend_report


@pytest.mark.parametrize("size", range(1, 9))
@pytest.mark.parametrize("stride", range(1, 9))
def test_windows_are_written_as_the_record_gives_them(size, stride):
    want = format_shape((out_size(dim_symbol("H"), size, stride, 0),))
    assert f"({windows('H', size, stride, None)},)" == want
    for h in range(size, size + 10):
        assert windows(h, size, stride, None) == out_size(h, size, stride, 0)
    with pytest.raises(Mismatch, match=f"window of size {size} is larger"):
        windows(size - 1, size, stride, None)


@pytest.mark.parametrize("stride", range(1, 5))
@pytest.mark.parametrize("pad", range(0, 4))
def test_kernel_positions_are_written_as_the_record_gives_them(stride, pad):
    for k in range(1, 8):
        want = format_shape((out_size(dim_symbol("H"), k, stride, pad),))
        assert f"({kernel_windows('H', k, stride, pad, None)},)" == want
        for h in range(max(k - 2 * pad, 0), k + 10):
            assert kernel_windows(h, k, stride, pad, None) == out_size(
                h, k, stride, pad
            )
        if k - 2 * pad > 1:
            with pytest.raises(Mismatch, match=f"kernel of size {k} is larger"):
                kernel_windows(k - 2 * pad - 1, k, stride, pad, None)


#: inputs: named, some literal sizes, too small for the larger windows, of rank 2
INPUTS = (
    "Tensor[N, C, H, W]",
    "Tensor[N, C, 7, W]",
    "Tensor[N, C, 3, 2]",
    "Matrix[H, W]",
    "Tensor[1, C, H, 5]",
)


def calls(op: str, size: int, stride: int):
    """The ways to write a pooling call: stride left out, by keyword, by position, and
    the size by keyword."""
    yield f"{op}(x, {size})"
    yield f"{op}(x, {size}, stride={stride})"
    yield f"{op}(x, {size}, {stride})"
    yield f"{op}(x, size={size}, stride={stride})"


def grid():
    for shape, op, size, stride in itertools.product(
        INPUTS, ("max_pool2d", "avg_pool2d"), range(1, 7), range(1, 5)
    ):
        for call in calls(op, size, stride):
            yield f"def f(x: {shape}, y: Vector[m]) -> Scalar:\n    return sum({call} + y)\n"


def refused_as_the_frontend(files) -> int:
    """The number of ``files`` the frontend refuses, each of which the check reports as
    the frontend does; the check reports none of the others."""
    refused = 0
    for text in files:
        want = frontend_report(text)
        assert precheck_report(text) == want, text
        refused += want is not None
    return refused


def counted_as_the_frontend(files, report=precheck_report) -> tuple[int, int]:
    """``(refused, reported)``: how many of ``files`` the frontend refuses and how many
    ``report`` (the shape check, or the whole early check) reports, each report the
    frontend's."""
    refused = reported = 0
    for text in files:
        want, got = frontend_report(text), report(text)
        assert got is None or got == want, text
        refused += want is not None
        reported += got is not None
    return refused, reported


def test_a_grid_of_pooling_calls_as_the_frontend():
    """Every file of the grid that the frontend refuses, the check reports the same; it
    reports none that the frontend compiles (where the last size comes out as 1, which
    broadcasts with y's ``m``)."""
    assert refused_as_the_frontend(grid()) > 800  # of 960


def test_the_command_line_reports_it_without_the_compiler(tmp_path):
    text = "def f(x: Tensor[N, C, H, W], y: Vector[m]) -> Scalar:\n"
    text += "    return sum(max_pool2d(x, 2) + y)\n"
    want = frontend_report(text)
    assert "(N, C, H // 2, W // 2) and (m,) do not broadcast" in want
    assert_answered_early(text, want, tmp_path)


#: values of ``H``'s parameters: whole, a vector, a Scalar, literal sizes 1 and 0
MOMENT_INPUTS = ("W", "x", "s", "W[:, :1]", "W[:1, :1]", "W[:2]", "x[:1]", "x[:0]")
#: the keywords: axes in and out of range, keepdims, ddof of every kind
MOMENT_KEYWORDS = (
    "", ", axis=0", ", axis=1", ", axis=-1", ", axis=(0, 1)", ", axis=2", ", axis=()",
    ", keepdims=True", ", axis=0, keepdims=True", ", keepdims=1", ", ddof=1",
    ", axis=1, ddof=1", ", ddof=2", ", ddof=-1", ", ddof=1.0", ", ddof=True",
    ", axis=0, ddof=1, keepdims=True", ", axis=5, ddof=-1",
)  # fmt: skip


def moment_and_outer_files():
    for name, x, keywords in itertools.product(
        ("var", "std", "np.var", "np.std"), MOMENT_INPUTS, MOMENT_KEYWORDS
    ):
        yield H + f"    return sum({name}({x}{keywords}) + y)\n"
    for a, b in itertools.product(("x", "y", "W", "s", "x[:3]"), repeat=2):
        yield H + f"    return sum(np.outer({a}, {b}) + y)\n"
        yield H + f"    return sum(outer({a}, {b}) @ y)\n"


def test_var_std_and_outer_as_the_frontend():
    """Every file the frontend refuses (an axis out of range, ``ddof`` below 0 or not
    below the number of elements, operands that do not fit, ``outer`` of a matrix), the
    check reports the same; none that the frontend compiles."""
    assert refused_as_the_frontend(moment_and_outer_files()) > 400  # of 626


#: ``solve``'s operands: square matrices and a stack of them, right-hand sides of every
#: rank, and values that are neither
SOLVE_HEADER = (
    "def f(A: Matrix[n, n], B: Matrix[n, k], T: Tensor[s, n, n], v: Vector[n],"
    " u: Vector[m], R: Matrix[m, n], S: Tensor[s, n, k], q: Scalar) -> Scalar:\n"
)
SOLVE_OPERANDS = ("A", "B", "T", "v", "u", "R", "S", "q", "R.T", "A[0]")


def solve_files():
    for a, b, call, tail in itertools.product(
        SOLVE_OPERANDS, SOLVE_OPERANDS, ("solve", "np.linalg.solve"), ("", " + u")
    ):
        yield SOLVE_HEADER + f"    return sum({call}({a}, {b}){tail})\n"


def test_solve_as_the_frontend():
    """``solve(a, b)`` by the record's rule (``core/shape_rules.solved_with``): a
    matrix that is not square, a right-hand side that does not fit, and what follows."""
    assert refused_as_the_frontend(solve_files()) > 300  # of 400


#: NumPy's operator functions and their arguments (``operator_calls.py``)
OPERATORS = (
    "add", "subtract", "multiply", "divide", "true_divide", "power", "float_power",
    "matmul", "negative",
)  # fmt: skip
OPERANDS = ("x", "y", "W", "s", "x, y", "W, y", "x, W", "W, x", "y, s", "x, x", "W, W")


def operator_files():
    for op, args, prefix in itertools.product(OPERATORS, OPERANDS, ("np", "numpy")):
        yield H + f"    return sum({prefix}.{op}({args}) + y)\n"


def test_numpy_operator_functions_as_the_operators():
    """``np.multiply(a, b)`` read as ``a * b``, as the frontend lowers it; a call with
    another number of arguments is the frontend's error (the check reads none)."""
    reported = 0
    for text in operator_files():
        got = precheck_report(text)
        if got is not None:
            assert got == frontend_report(text), text
            reported += 1
    assert reported > 80, reported  # of 198


def diagonal_files():
    values = (
        "W",
        "x",
        "s",
        "W.T @ W",
        "W[:2, :2]",
        "W[:2, :3]",
        "W @ W.T",
        "W[1:, 1:]",
    )
    for name, value, tail in itertools.product(
        ("diag", "trace", "np.diag", "np.trace"), values, ("", " + y")
    ):
        yield H + f"    return sum({name}({value}){tail})\n"


def test_diag_and_trace_as_the_frontend():
    """``diag`` and ``trace`` of a square matrix (``core/shape_rules.not_square``'s
    words for anything else, a vector's ``diag`` with its own note)."""
    assert refused_as_the_frontend(diagonal_files()) > 30  # of 64


#: ``reshape``'s inputs and sizes: products of names (``C * H * W``), one ``-1`` solved
#: or not, sizes of another product, and the forms the check leaves (two ``-1``, a size
#: below 1, a sum, a name twice)
RESHAPE_HEADER = (
    "def f(X: Matrix[n, d], T: Tensor[N, C, H, W], x: Vector[n], y: Vector[m],"
    " Z: Matrix[3, n], a: Matrix[N, a2], s: Scalar) -> Scalar:\n"
)
RESHAPE_VALUES = ("X", "T", "x", "Z", "a", "s", "X.T", "X[1:]", "Z[:2]")
RESHAPE_SIZES = (
    "(N, C * H * W)", "(N, -1)", "(-1, N)", "(W * H * C, N)", "(-1,)", "-1", "(2, -1)",
    "(3, -1)", "(d, n)", "(n, n)", "(m, -1)", "(2 * n, -1)", "(C, N * H, W)",
    "(n * d,)", "(1, -1)", "(-1, -1)", "(0, -1)", "(n, 3)", "(a2, N)", "(N * a2,)",
    "(1,)", "(3 * n,)", "(n * 3,)", "(n - 1, -1)",
)  # fmt: skip


def reshape_files():
    for value, sizes, tail in itertools.product(
        RESHAPE_VALUES, RESHAPE_SIZES, ("", " + y", " @ x")
    ):
        yield RESHAPE_HEADER + f"    return sum(reshape({value}, {sizes}){tail})\n"


def test_reshape_as_the_frontend():
    """``reshape`` by its sizes' products (``reshape_shapes.py``): a ``-1`` the other
    sizes do not divide, sizes of another product, the reshaped value's sizes written
    as SymPy prints them (``C * H * W``, ``H * N``, ``3 * n``) in what follows. The
    files it leaves are the frontend's own errors about the sizes' forms (two ``-1``,
    a size below 1) and sizes of a name twice or of an expression (``n - 1``)."""
    refused, reported = counted_as_the_frontend(reshape_files())
    assert refused > 550 and reported > 400, (reported, refused)  # 589, 424


#: the arrays ``np.hstack``, ``np.vstack`` and ``np.column_stack`` join: matrices,
#: vectors and scalars of named and literal sizes (the bias column of the README's
#: ``np.hstack([X, np.ones((n, 1))])`` among them)
STACKS_HEADER = (
    "def f(X: Matrix[n, d], Y: Matrix[m, d], x: Vector[n], y: Vector[m], s: Scalar,"
    " A: Matrix[2, 3], B: Matrix[2, 4], u: Vector[3], T: Tensor[2, 3, 4]) -> Scalar:\n"
)
STACKED = (
    "[X, X]", "[X, Y]", "[x, x]", "[x, y]", "[X, x]", "[x, X]", "[s, s]", "[s, x]",
    "[A, B]", "[A, A]", "[u, u]", "[A, u]", "[u, s]", "[T, T]", "(A, B)",
    "[A, np.ones((2, 1))]", "[X, np.ones((n, 1))]", "[X, np.ones((m, 1))]",
)  # fmt: skip


def stacks_files():
    for name, arrays, tail in itertools.product(
        ("np.hstack", "np.vstack", "np.column_stack"), STACKED, ("", " + y", " + u")
    ):
        yield STACKS_HEADER + f"    return sum({name}({arrays}){tail})\n"


def test_hstack_vstack_and_column_stack_as_the_frontend():
    """The arrays joined as ``numpy_calls.call_stacks`` joins them (a vector a row or a
    column, a scalar a vector of one), ``not_joined``'s words where they do not fit,
    and the joined length written as the frontend writes it (``d + 1``, ``2 * n``, ``m
    + n``)."""
    refused, reported = counted_as_the_frontend(stacks_files())
    assert refused > 120 and reported > refused - 10, (reported, refused)


JOINED_HEADER = (
    "def f(a: Vector[m], b: Vector[n], c: Vector[k], v: Vector[M], y: Vector[p], "
    "X: Matrix[r, m], Y: Matrix[r, n], Z: Matrix[n, m]) -> Scalar:\n"
)
JOINED = [
    "[a, b]",
    "[b, a]",
    "[a, b, a]",
    "[v, a]",
    "[a, c, v]",
    "[a, b, c, b]",
    "[a, a]",
]
JOINED_TAILS = [
    "",
    " + y",
    " + a",
    " + concatenate([b, a])",
    " + concatenate([a, b, a])",
    " + concatenate([a, b])[1:]",
    " + concatenate([b, a])[1:-1]",
    " + concatenate([a, b, a])[:3]",
    " + concatenate([a, b])[1:][1:]",
]


def joined_files():
    for call, joined, tail in itertools.product(
        ("concatenate", "np.hstack", "np.concatenate"), JOINED, JOINED_TAILS
    ):
        yield JOINED_HEADER + f"    return sum({call}({joined}){tail})\n"
    tails = [" + a", " + b", " + concatenate([a, b])", " + concatenate([a, a, b])"]
    for joined, tail in itertools.product(["[X, Y]", "[Y, X]", "[X, Y, X]"], tails):
        yield JOINED_HEADER + f"    return sum(concatenate({joined}, axis=1){tail})\n"
        yield JOINED_HEADER + f"    return sum(np.hstack({joined}){tail})\n"
    for joined in ["[X, Z]", "[Z, X]", "[X, Z, X]"]:
        yield JOINED_HEADER + f"    return sum(np.vstack({joined}) + a)\n"
    returns = JOINED_HEADER.replace("-> Scalar", "-> Vector[m]")
    for joined in JOINED:
        yield returns + f"    return concatenate({joined})\n"


def test_joined_lengths_of_several_names_as_the_frontend():
    """A length joined from several names is written as SymPy prints the sum (names by
    their text, each with its count, the int last: ``m + n``, ``M + a + k``, ``2 * m +
    n``), so a mismatch after it, or a return of it, is reported as the frontend
    reports it, and a slice of the joined axis is sliced like a name (``m + n - 1``);
    the files it leaves slice an axis already cut (``[1:][1:]``)."""
    refused, reported = counted_as_the_frontend(joined_files())
    assert refused > 175 and reported >= refused - 21, (reported, refused)  # 184, 163


#: conv2d's inputs and kernels: named and literal sizes, other channels, a cut axis, a
#: kernel larger than a literal input, a named kernel, other ranks
CONV_INPUTS = (
    "Tensor[N, C, H, W]",
    "Tensor[N, D, n - 1, W]",
    "Tensor[N, C, 8, 8]",
    "Tensor[N, 3, 5, 7]",
    "Matrix[N, C]",
    "Tensor[N, D, H, W]",
    "Tensor[N, 3, 2, 2]",
)
CONV_KERNELS = (
    "Tensor[F, C, 3, 3]",
    "Tensor[F, C, 5, 5]",
    "Tensor[F, 3, 2, 4]",
    "Tensor[F, D, 3, 3]",
    "Tensor[F, C, K, K]",
    "Matrix[F, C]",
    "Tensor[F, C, 1, 1]",
)
CONV_CALLS = (
    "conv2d(x, w)",
    "conv2d(x, w, stride=2)",
    "conv2d(x, w, pad=1)",
    "conv2d(x, w, 2, 1)",
    "conv2d(x, w, stride=3, pad=2)",
    "conv2d(x=x, w=w, pad=2)",
    "conv2d(x, w, stride=s)",
)


def conv_files():
    for x, w, call, tail in itertools.product(
        CONV_INPUTS, CONV_KERNELS, CONV_CALLS, ("", " + b")
    ):
        yield (
            f"def f(x: {x}, w: {w}, b: Tensor[N, F, H, W], s: Scalar) -> Scalar:\n"
            f"    return sum({call}{tail})\n"
        )


def test_conv2d_as_the_frontend():
    """The kernel's rank, the input's, each axis's positions (an int, Mismatch where the
    kernel is larger than a literal input, a name's in SymPy's form), then the channels,
    in the frontend's order and words; the files it leaves: a stride that is no
    literal, a named kernel's sizes (two names) after its channels."""
    refused, reported = counted_as_the_frontend(conv_files())
    assert refused > 600 and reported >= refused - 96, (reported, refused)  # 618, 522
