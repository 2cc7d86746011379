"""The CS231n backpropagation lecture's own numbers, from examples/lecture.grad.

Lecture: https://cs231n.github.io/optimization-2/ ("Backpropagation, Intuitions").
"""

import math
from pathlib import Path

import numpy as np
import pytest

import gradc

ROOT = Path(__file__).resolve().parents[1]
LECTURE = "examples/lecture.grad"

# A chain of a few float64 operations evaluated in another order than the closed form may
# differ from it by a few units in the last place; 1e-14 relative is "exact" to rounding.
EXACT = 1e-14


@pytest.fixture(scope="module")
def lecture():
    text = (ROOT / LECTURE).read_text()
    return gradc.load_source(text, filename=LECTURE)


# --- f(x, y, z) = (x + y) * z ---------------------------------------------------------------


def test_mul_add_value_and_gradients(lecture):
    assert lecture.mul_add(-2.0, 5.0, -4.0) == -12.0
    dx, dy, dz = lecture.mul_add_grad(-2.0, 5.0, -4.0)
    # df/dz = q = 3, df/dq = z = -4, df/dx = df/dy = -4
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)
    for g in (dx, dy, dz):
        assert np.shape(g) == ()


def test_mul_add_forward_backward(lecture):
    value, cache = lecture.mul_add_forward(-2.0, 5.0, -4.0)
    assert value == -12.0
    assert tuple(lecture.mul_add_backward(1.0, cache)) == (-4.0, -4.0, 3.0)
    # upstream gradient scales linearly
    assert tuple(lecture.mul_add_backward(2.0, cache)) == (-8.0, -8.0, 6.0)
    value, grads = lecture.mul_add_value_and_grad(-2.0, 5.0, -4.0)
    assert value == -12.0 and tuple(grads) == (-4.0, -4.0, 3.0)


# --- the 2-d sigmoid neuron --------------------------------------------------------------------

W = (2.0, -3.0, -3.0)
X = (-1.0, -2.0)


def neuron_args():
    # parameter order of examples/lecture.grad: w0, x0, w1, x1, w2
    return (W[0], X[0], W[1], X[1], W[2])


def test_neuron_value(lecture):
    f = lecture.neuron(*neuron_args())
    assert round(f, 2) == 0.73  # the lecture's number
    closed = 1.0 / (1.0 + math.exp(-1.0))  # w . [x, 1] = 1 at this point
    assert f == pytest.approx(closed, rel=EXACT, abs=0)


def test_neuron_gradients(lecture):
    dw0, dx0, dw1, dx1, dw2 = lecture.neuron_grad(*neuron_args())
    # the lecture's numbers, to its 2 decimals
    assert [round(g, 2) for g in (dw0, dw1, dw2)] == [-0.20, -0.39, 0.20]
    assert [round(g, 2) for g in (dx0, dx1)] == [0.39, -0.59]
    # and the closed form: ds/dz = s (1 - s); dw = s(1-s) [x0, x1, 1]; dx = s(1-s) [w0, w1]
    s = 1.0 / (1.0 + math.exp(-1.0))
    ds = s * (1.0 - s)
    np.testing.assert_allclose(
        [dw0, dw1, dw2], [ds * X[0], ds * X[1], ds], rtol=EXACT, atol=0
    )
    np.testing.assert_allclose([dx0, dx1], [ds * W[0], ds * W[1]], rtol=EXACT, atol=0)


def test_neuron_forward_backward_matches_grad(lecture):
    value, cache = lecture.neuron_forward(*neuron_args())
    assert value == pytest.approx(lecture.neuron(*neuron_args()), rel=EXACT, abs=0)
    grads = lecture.neuron_backward(3.0, cache)
    np.testing.assert_allclose(
        grads, 3.0 * np.array(lecture.neuron_grad(*neuron_args())), rtol=EXACT, atol=0
    )


# --- f(W, x) = ||W x||^2 -----------------------------------------------------------------------


def test_sq_norm_lecture_numbers(lecture):
    # the lecture's vectorised example
    Wm = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])
    q = Wm @ x  # [0.22, 0.26]
    f = lecture.sq_norm(Wm, x)
    assert round(f, 3) == 0.116
    dW, dx = lecture.sq_norm_grad(Wm, x)
    np.testing.assert_array_equal(np.round(dW, 3), [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_array_equal(np.round(dx, 3), [-0.112, 0.636])
    np.testing.assert_allclose(f, np.sum(q**2), rtol=1e-12)
    np.testing.assert_allclose(dW, 2.0 * np.outer(q, x), rtol=1e-12)
    np.testing.assert_allclose(dx, 2.0 * Wm.T @ q, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_sq_norm_closed_form(lecture, n):
    rng = np.random.default_rng(231 + n)
    Wm = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    q = Wm @ x
    value, (dW, dx) = lecture.sq_norm_value_and_grad(Wm, x)
    np.testing.assert_allclose(value, np.sum(q**2), rtol=1e-12)
    assert dW.shape == (n, n) and dx.shape == (n,)
    np.testing.assert_allclose(dW, 2.0 * np.outer(q, x), rtol=1e-12)
    np.testing.assert_allclose(dx, 2.0 * Wm.T @ q, rtol=1e-12)
