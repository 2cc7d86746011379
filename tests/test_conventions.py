"""The subgradient conventions of SPEC section 1, each pinned at the non-differentiable point.

Minimum-norm subgradient (PyTorch's rule): relu'(0) = 0, abs'(0) = 0, norm at 0 gives 0, ties in
maximum/minimum/max/min share the gradient equally, clip at its bounds passes it through, and
the branch that `where` does not take never leaks NaN or inf into a gradient.
"""

import numpy as np
import pytest

import gradc


def load(text):
    return gradc.load_source(text, filename="<conventions>")


def grad_of(src, *args):
    return load(src).f_grad(*args)


def assert_exact(got, want):
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    assert np.all(np.isfinite(got)), got
    np.testing.assert_array_equal(got, want)


# --- relu and abs at 0 -----------------------------------------------------------------------


def test_relu_at_zero_scalar():
    src = "def f(x: Scalar) -> Scalar:\n    return relu(x)\n"
    assert_exact(grad_of(src, 0.0), 0.0)
    assert_exact(grad_of(src, 2.0), 1.0)
    assert_exact(grad_of(src, -2.0), 0.0)


def test_relu_at_zero_vector():
    src = "def f(x: Vector[4]) -> Scalar:\n    return sum(relu(x))\n"
    assert_exact(grad_of(src, np.array([0.0, 1.0, -1.0, -0.0])), [0.0, 1.0, 0.0, 0.0])


def test_relu_at_zero_upstream():
    mod = load("def f(x: Matrix[2, 2]) -> Matrix[2, 2]:\n    return relu(x)\n")
    _, cache = mod.f_forward(np.array([[0.0, 3.0], [-3.0, 0.0]]))
    assert_exact(
        mod.f_backward(np.array([[5.0, 7.0], [11.0, 13.0]]), cache), [[0, 7], [0, 0]]
    )


def test_abs_at_zero():
    src = "def f(x: Vector[3]) -> Scalar:\n    return sum(abs(x))\n"
    assert_exact(grad_of(src, np.array([0.0, 2.0, -2.0])), [0.0, 1.0, -1.0])
    assert_exact(grad_of("def f(x: Scalar) -> Scalar:\n    return abs(x)\n", 0.0), 0.0)


# --- norm at 0 ---------------------------------------------------------------------------------


def test_norm_at_zero():
    src = "def f(x: Vector[3]) -> Scalar:\n    return norm(x)\n"
    value, grad = load(src).f_value_and_grad(np.zeros(3))
    assert value == 0.0
    assert_exact(grad, np.zeros(3))


def test_norm_at_zero_matrix():
    src = "def f(x: Matrix[2, 3]) -> Scalar:\n    return norm(x)\n"
    assert_exact(grad_of(src, np.zeros((2, 3))), np.zeros((2, 3)))


def test_norm_axis_with_a_zero_row():
    src = "def f(x: Matrix[2, 2]) -> Scalar:\n    return sum(norm(x, axis=1))\n"
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(
        grad_of(src, x), [[0.0, 0.0], [0.6, 0.8]], rtol=1e-15, atol=0
    )


# --- ties share equally ------------------------------------------------------------------------

MAXIMUM2 = "def f(x: Scalar, y: Scalar) -> Scalar:\n    return {op}(x, y)\n"


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_binary_tie_shares_equally(op):
    gx, gy = grad_of(MAXIMUM2.format(op=op), 1.5, 1.5)
    assert (gx, gy) == (0.5, 0.5)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_binary_tie_elementwise(op):
    src = f"def f(x: Vector[3], y: Vector[3]) -> Scalar:\n    return sum({op}(x, y))\n"
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 5.0, -5.0])
    gx, gy = grad_of(src, x, y)
    if op == "maximum":
        assert_exact(gx, [0.5, 0.0, 1.0])
        assert_exact(gy, [0.5, 1.0, 0.0])
    else:
        assert_exact(gx, [0.5, 1.0, 0.0])
        assert_exact(gy, [0.5, 0.0, 1.0])


def test_maximum_with_constant_tie():
    # maximum(x, 0) is not relu: at x == 0 it is a tie of two arguments, shared equally
    src = "def f(x: Vector[3]) -> Scalar:\n    return sum(maximum(x, 0))\n"
    assert_exact(grad_of(src, np.array([0.0, 1.0, -1.0])), [0.5, 1.0, 0.0])


def test_max_reduction_tie():
    src = "def f(x: Vector[3]) -> Scalar:\n    return max(x)\n"
    assert_exact(grad_of(src, np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5])


def test_min_reduction_tie():
    src = "def f(x: Vector[3]) -> Scalar:\n    return min(x)\n"
    assert_exact(grad_of(src, np.array([1.0, 1.0, 3.0])), [0.5, 0.5, 0.0])


def test_max_three_way_tie():
    src = "def f(x: Vector[4]) -> Scalar:\n    return max(x)\n"
    got = grad_of(src, np.array([2.0, 2.0, -1.0, 2.0]))
    np.testing.assert_allclose(got, [1 / 3, 1 / 3, 0.0, 1 / 3], rtol=1e-15, atol=0)


def test_max_axis_ties_per_row():
    src = "def f(x: Matrix[2, 3]) -> Vector[2]:\n    return max(x, axis=1)\n"
    mod = load(src)
    x = np.array([[1.0, 3.0, 3.0], [4.0, 0.0, 2.0]])
    value, cache = mod.f_forward(x)
    assert_exact(value, [3.0, 4.0])
    assert_exact(mod.f_backward(np.array([2.0, 10.0]), cache), [[0, 1, 1], [10, 0, 0]])


def test_min_axis0_keepdims_ties():
    src = "def f(x: Matrix[2, 2]) -> Matrix[1, 2]:\n    return min(x, axis=0, keepdims=True)\n"
    mod = load(src)
    _, cache = mod.f_forward(np.array([[1.0, 0.0], [1.0, 5.0]]))
    assert_exact(
        mod.f_backward(np.array([[4.0, 6.0]]), cache), [[2.0, 6.0], [2.0, 0.0]]
    )


# --- clip at its bounds ------------------------------------------------------------------------


def test_clip_at_bounds_passes_gradient():
    src = "def f(x: Vector[5]) -> Scalar:\n    return sum(clip(x, -1.0, 1.0))\n"
    x = np.array([-1.0, 1.0, 0.0, -2.0, 2.0])
    assert_exact(grad_of(src, x), [1.0, 1.0, 1.0, 0.0, 0.0])


def test_clip_at_bounds_scalar():
    src = "def f(x: Scalar) -> Scalar:\n    return clip(x, 0, 2)\n"
    assert_exact(grad_of(src, 0.0), 1.0)
    assert_exact(grad_of(src, 2.0), 1.0)


# --- where never leaks the untaken branch ------------------------------------------------------


def test_where_log_at_zero():
    src = "def f(x: Scalar) -> Scalar:\n    return where(x > 0, log(x), 0)\n"
    mod = load(src)
    # the forward pass may evaluate log(0) in the untaken branch; only the results matter
    with np.errstate(all="ignore"):
        value, grad = mod.f_value_and_grad(0.0)
    assert value == 0.0
    assert_exact(grad, 0.0)
    np.testing.assert_allclose(mod.f_grad(2.0), 0.5, rtol=1e-15)


def test_where_log_vector():
    src = "def f(x: Vector[3]) -> Scalar:\n    return sum(where(x > 0, log(x), 0))\n"
    with np.errstate(all="ignore"):
        got = grad_of(src, np.array([0.0, 2.0, -1.0]))
    assert_exact(got, [0.0, 0.5, 0.0])


def test_where_sqrt_negative_branch():
    src = "def f(x: Vector[3]) -> Scalar:\n    return sum(where(x >= 0, sqrt(x), -x))\n"
    with np.errstate(all="ignore"):
        got = grad_of(src, np.array([-4.0, 4.0, -1.0]))
    assert_exact(got, [-1.0, 0.25, -1.0])


def test_where_division_by_zero_branch():
    src = "def f(x: Vector[2]) -> Scalar:\n    return sum(where(x < 0, 1 / x, x))\n"
    with np.errstate(all="ignore"):
        got = grad_of(src, np.array([0.0, -2.0]))
    assert_exact(got, [1.0, -0.25])
