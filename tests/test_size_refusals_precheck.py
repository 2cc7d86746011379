"""Sizes and literals the frontend refuses inside a function's body, found on the
syntax tree before SymPy is imported (issue 16): a slice bound, a size of ``zeros``,
``ones``, ``np.full`` or ``reshape`` that is no dimension expression (a value's name, a
constant, a float, ``n // 0``), and a window's size, stride or padding that is no int
literal of its least value (``max_pool2d(X, 0)``, ``conv2d(X, K, pad=-1)``).

The frontend reads the names of the parameters' and the return's annotations and the
loop variables (inside their loop) as dimensions; any other name in a size is "not a
dimension of the parameters". Each report must be the frontend's own (``lower_module``
without the checks), and the API's; a misspelt name the frontend meets first is
reported instead, and the forms it accepts compile.
"""

from __future__ import annotations

import pytest

import gradc
from tests.test_syntax_precheck import assert_reported_early, early_report

H = "def f(x: Vector[n], W: Matrix[n, d], w: Scalar) -> Scalar:\n"
C = "def f(X: Tensor[b, c, h, v], K: Tensor[k, c, 3, 3]) -> Scalar:\n"
LOOP = "    u = x\n    for t in range(3):\n        u = u * w\n"

#: each file, and the words of the error the frontend reports first
CASES = {
    "a-slice-to-a-value": (H + "    s = w\n    return sum(x[0:s])\n", "'s' is not a"),
    "a-slice-to-a-parameter": (H + "    return sum(x[0:w])\n", "'w' is not a"),
    "a-slice-to-a-constant": (
        "C = 3\n\n\n" + H + "    return sum(x[0:C])\n",
        "'C' is not a",
    ),
    "a-slice-to-pi": (H + "    return sum(x[0:pi])\n", "'pi' is not a"),
    "a-slice-to-a-loop-variable-after-its-loop": (
        H + LOOP + "    return sum(x[0:t] * u)\n",
        "'t' is not a",
    ),
    "a-slice-to-a-float": (H + "    return sum(x[0:1.5])\n", "expected an integer"),
    "a-slice-to-a-float-times-a-dimension": (
        H + "    return sum(W[:, 0.5 * d :])\n",
        "expected an integer",
    ),
    "a-slice-floor-divided-by-zero": (
        H + "    return sum(x[: n // 0])\n",
        "floor-divided by a positive integer",
    ),
    "a-slice-before-a-later-name": (
        H + "    y = x[0:s]\n    return sum(y) * qq\n",
        "'s' is not a",
    ),
    "a-name-before-the-slice": (
        H + "    return sum(qq * x[0:s])\n",
        "unknown name 'qq'",
    ),
    "zeros-of-a-value": (H + "    return sum(zeros((n, s)))\n", "'s' is not a"),
    "zeros-of-a-list": (H + "    return sum(zeros([n]))\n", "expected an integer"),
    "ones-of-a-float": (H + "    return sum(ones((n, 2.0)))\n", "expected an integer"),
    "full-of-a-value-before-its-fill": (
        H + "    return sum(np.full((n, s), qq))\n",
        "'s' is not a",
    ),
    "reshape-to-a-value": (H + "    return sum(reshape(W, (s, d)))\n", "reshape sizes"),
    "reshape-to-zero": (H + "    return sum(reshape(W, (0, d)))\n", "reshape sizes"),
    "reshape-to-two-free-sizes": (
        H + "    return sum(reshape(W, (-1, -1)))\n",
        "only one dimension can be -1",
    ),
    "reshape-to-a-product-with-a-value": (
        H + "    return sum(reshape(W, (n * s, d)))\n",
        "'s' is not a",
    ),
    "reshape-to-a-huge-literal": (
        H + "    return sum(reshape(W, (n, 100000000000000)))\n",
        "index too large",
    ),
    "reshape-of-a-misspelt-input-first": (
        H + "    return sum(reshape(WW, (s, d)))\n",
        "unknown name 'WW'",
    ),
    "a-pool-of-size-zero": (C + "    return sum(max_pool2d(X, 0))\n", "at least 1"),
    "a-pool-of-a-float-size": (
        C + "    return sum(avg_pool2d(X, 1.5))\n",
        "must be an integer literal",
    ),
    "a-pool-of-a-named-size": (
        C + "    return sum(max_pool2d(X, size=s))\n",
        "must be an integer literal, not 's'",
    ),
    "a-pool-of-stride-zero": (
        C + "    return sum(max_pool2d(X, 2, stride=0))\n",
        "stride must be at least 1",
    ),
    "a-convolution-of-a-float-stride": (
        C + "    return sum(conv2d(X, K, stride=0.5))\n",
        "stride must be an integer literal",
    ),
    "a-convolution-of-a-negative-padding-by-keyword": (
        C + "    return sum(conv2d(x=X, w=K, pad=-1))\n",
        "pad must be at least 0",
    ),
    "a-convolution-of-a-huge-stride": (
        C + "    return sum(conv2d(X, K, 100000000000000))\n",
        "index too large",
    ),
}

#: files of the same forms that compile
ACCEPTED = {
    "a-slice-to-a-dimension-the-return-declares": (
        "def f(x: Vector[n]) -> Vector[m]:\n    return x[0:m]\n"
    ),
    "a-slice-to-a-loop-variable-in-its-loop": (
        H + "    u = zeros((n,))\n    for t in range(3):\n        u[0:t] = x[0:t]\n"
        "    return sum(u)\n"
    ),
    "zeros-of-a-dimension-the-return-declares": (
        "def f(x: Vector[n]) -> Vector[m]:\n    return zeros((m,)) + sum(x)\n"
    ),
    "reshape-of-a-product": H + "    return sum(reshape(W, (n * d,)))\n",
    "a-pool-and-a-convolution": C
    + "    return sum(max_pool2d(conv2d(X, K, 1, 1), 2))\n",
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_the_report_is_the_frontends(key):
    assert_reported_early(*CASES[key])


@pytest.mark.parametrize("key", sorted(ACCEPTED))
def test_the_accepted_forms_compile(key):
    text = ACCEPTED[key]
    assert early_report(text) is None
    assert "def f_backward(" in gradc.compile_source(text, filename="f.grad")
