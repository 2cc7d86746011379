"""Rewrites that make formulas written the way people write them run like hand-written
NumPy (issue 16; measured in bench/README.md, "Formulas as people write them").

Each test asserts the emitted spelling and checks the gradients against central finite
differences in float64 (``tests/gradcheck.py``) and the value against NumPy written here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradc
from tests.gradcheck import as_grad_list, assert_fd_close, central_diff_grad

RNG = np.random.default_rng(16)


def function_text(source: str, name: str) -> str:
    """The text of the emitted function ``name`` (up to the next top-level def)."""
    match = re.search(rf"^def {name}\(.*?(?=^def |\Z)", source, re.S | re.M)
    assert match, name
    return match.group(0)


def check_gradients(mod, name: str, args: list, wrt: list[int]) -> None:
    f = getattr(mod, name)
    value, grads = getattr(mod, f"{name}_value_and_grad")(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    numeric = central_diff_grad(f, args, wrt)
    assert_fd_close(as_grad_list(grads, len(wrt)), numeric, scale=abs(value))


# ---------------------------------------------------------------------------
# a. Mirrored stable calls collected (symbolic/collect.py, collected_body)

LOGREG = """
@wrt(w, b)
def logreg(w: Vector[d], b: Scalar, X: Matrix[n, d], y: Vector[n]) -> Scalar:
    z = X @ w + b
    p = 1 / (1 + exp(-z))
    return -mean(y * log(p) + (1 - y) * log(1 - p))
"""


def test_logistic_regression_has_one_softplus_and_one_sigmoid_pass():
    source = gradc.compile_source(LOGREG)
    vg = function_text(source, "logreg_value_and_grad")
    assert vg.count("_softplus(") == 1 and vg.count("_sigmoid(") == 1, vg
    assert "out = -((z * y - _softplus(z)).sum() / n)" in vg
    assert "(y - _sigmoid(z))" in vg


def test_logistic_regression_collected_value_and_gradients():
    mod = gradc.load_source(LOGREG)
    X = RNG.standard_normal((9, 4))
    w = RNG.standard_normal(4)
    y = RNG.integers(0, 2, 9).astype(float)
    z = X @ w + 0.3
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert mod.logreg(w, 0.3, X, y) == pytest.approx(expected, rel=1e-12)
    check_gradients(mod, "logreg", [w, 0.3, X, y], [0, 1])
    # margins of +-800: softplus(z) - y z stays finite, the gradient is sigmoid(z) - y
    zs = np.array([800.0, -800.0, 800.0, -800.0])
    ys = np.array([1.0, 0.0, 0.0, 1.0])
    value, (gw, gb) = mod.logreg_value_and_grad(np.array([1.0]), 0.0, zs[:, None], ys)
    assert value == pytest.approx(400.0, rel=1e-12)  # mean of 0, 800, 800, 0
    np.testing.assert_allclose(gw, [np.mean((np.array([1, 0, 1, 0]) - ys) * zs)])
    assert gb == pytest.approx(0.0, abs=1e-12)


def test_mirrored_sigmoid_pair_collects():
    src = "def f(x: Vector[n], t: Vector[n]) -> Scalar:\n"
    src += "    return sum(t * sigmoid(x) + (1 - t) * sigmoid(-x))\n"
    source = gradc.compile_source(src)
    fwd = function_text(source, "f_forward")
    assert fwd.count("_sigmoid(") == 1, fwd
    mod = gradc.load_source(src)
    x, t = RNG.standard_normal(7), RNG.random(7)
    s = 1 / (1 + np.exp(-x))
    assert mod.f(x, t) == pytest.approx(np.sum(t * s + (1 - t) * (1 - s)), rel=1e-12)
    check_gradients(mod, "f", [x, t], [0, 1])
