"""NumPy functions the language lacks say what to write instead (issue 16, a newcomer's
first hour): ``call_names.ALTERNATIVES``. The message is the same from the syntax-tree
check, the frontend, with or without ``np.``, and on the command line; each form it
suggests compiles and gives NumPy's numbers, and its gradient matches central differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradc
from gradc.frontend.call_names import ALTERNATIVES, CALL_NAMES
from tests.test_name_precheck import frontend_report, precheck_report

H = "def f(x: Vector[n], A: Matrix[n, n]) -> Scalar:\n"


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
@pytest.mark.parametrize("prefix", ["", "np."])
def test_the_message_says_what_to_write(name, prefix):
    text = H + f"    return sum({prefix}{name}(x))\n"
    want = frontend_report(text)
    assert f"unknown function '{prefix}{name}'; {ALTERNATIVES[name]}" in want, want
    assert precheck_report(text) == want


def test_no_alternative_shadows_a_function_of_the_language():
    assert not set(ALTERNATIVES) & set(CALL_NAMES)


RNG = np.random.default_rng(1605)
X = np.array([0.5, 2.0, 1.5, 3.0, 0.75])
SIGNED = np.array([-0.5, 2.0, -1.5, 3.0, 0.75])
WITH_NAN = np.array([0.5, np.nan, 1.5, 3.0, np.nan])
A = RNG.standard_normal((6, 3))
B = RNG.standard_normal(6)

# name -> (the suggested form as a formula, its inputs, NumPy's value)
WRITTEN = {
    "prod": (
        "def f(x: Vector[n]) -> Scalar:\n    p = 1.0\n    for i in range(n):\n"
        "        p = p * x[i]\n    return p\n",
        [SIGNED],
        np.prod(SIGNED),
    ),
    "prod (x > 0)": (
        "def f(x: Vector[n]) -> Scalar:\n    return exp(sum(log(x)))\n",
        [X],
        np.prod(X),
    ),
    "nansum": (
        "def f(x: Vector[n]) -> Scalar:\n    return sum(where(x == x, x, 0.0))\n",
        [WITH_NAN],
        np.nansum(WITH_NAN),
    ),
    "nanmean": (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    return sum(where(x == x, x, 0.0)) / sum(where(x == x, 1.0, 0.0))\n",
        [WITH_NAN],
        np.nanmean(WITH_NAN),
    ),
    "nan_to_num": (
        "def f(x: Vector[n], c: Vector[n]) -> Scalar:\n"
        "    return sum(where(x == x, x, 0.0) * c)\n",
        [WITH_NAN, X],
        np.sum(np.nan_to_num(WITH_NAN) * X),
    ),
    "hypot": (
        "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n"
        "    return sum(sqrt(x ** 2 + y ** 2))\n",
        [X, SIGNED],
        np.sum(np.hypot(X, SIGNED)),
    ),
    "cbrt": (
        "def f(x: Vector[n]) -> Scalar:\n    return sum(sign(x) * abs(x) ** (1 / 3))\n",
        [SIGNED],
        np.sum(np.cbrt(SIGNED)),
    ),
    "heaviside": (
        "def f(x: Vector[n]) -> Scalar:\n    return sum(where(x > 0, 1.0, 0.0) * x)\n",
        [SIGNED],
        np.sum(np.heaviside(SIGNED, 0.0) * SIGNED),
    ),
    "fmax": (
        "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n    return sum(maximum(x, y))\n",
        [X, SIGNED],
        np.sum(np.fmax(X, SIGNED)),
    ),
    "fmin": (
        "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n    return sum(minimum(x, y))\n",
        [X, SIGNED],
        np.sum(np.fmin(X, SIGNED)),
    ),
    "slogdet": (
        "def f(A: Matrix[n, n]) -> Scalar:\n    return log(abs(det(A)))\n",
        [A[:3]],
        np.linalg.slogdet(A[:3])[1],
    ),
    "lstsq": (
        "def f(A: Matrix[m, n], b: Vector[m], c: Vector[n]) -> Scalar:\n"
        "    return sum(solve(A.T @ A, A.T @ b) * c)\n",
        [A, B, X[:3]],
        np.linalg.lstsq(A, B, rcond=None)[0] @ X[:3],
    ),
    "pinv": (
        "def f(A: Matrix[m, n]) -> Scalar:\n    return sum(solve(A.T @ A, A.T) * A.T)\n",
        [A],
        np.sum(np.linalg.pinv(A) * A.T),
    ),
}


def central_differences(fn, args: list, k: int, h: float = 1e-6) -> np.ndarray:
    """d fn / d args[k] by central differences (float64)."""
    out = np.zeros_like(args[k])
    for j in np.ndindex(args[k].shape):
        up, down = [a.copy() for a in args], [a.copy() for a in args]
        up[k][j] += h
        down[k][j] -= h
        out[j] = (fn(*up) - fn(*down)) / (2 * h)
    return out


@pytest.mark.parametrize("key", sorted(WRITTEN))
def test_each_suggested_form_gives_numpys_value_and_a_gradient(key):
    name = key.split()[0]
    text, args, want = WRITTEN[key]
    assert name in ALTERNATIVES
    mod = gradc.load_source(text)
    args = [a.copy() for a in args]
    assert mod.f(*args) == pytest.approx(want, rel=1e-12)
    if np.isnan(args[0]).any():
        return  # differences through nan are nan
    grads = mod.f_grad(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(
            g, central_differences(mod.f, args, k), rtol=1e-6, atol=1e-8
        )
