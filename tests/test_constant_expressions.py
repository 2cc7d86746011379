"""Expressions of number literals alone (``(0.0 * -2.0) ** -1``, ``-2.0 / 0 ** 0.5``,
``log(0.0) * 2``), which the compiler folds where it can and leaves to the target's
library at run time elsewhere: never an exception where NumPy gives a number, and the
number NumPy gives, in the value and in the gradient. A generator the language corpus
lacked (its formulas read inputs everywhere). Its first expressions found: a negative
zero made a positive one (the hash-consing of constants compared ``-0.0 == 0.0``: ``1 /
-0.0`` gave ``+inf``); Python floats raising ``ZeroDivisionError``, ``OverflowError``
or giving a complex number in the emitted code (a power of constants left to run time,
``abs`` of a constant not folded); ``2.0 ** (0.0 / 0.0)`` an internal error; on the
Array API target ``math.log(0.0)`` and ``math.exp(1000.0)`` raising; fused gradients
that SymPy evaluated where NumPy gives NaN (``log(-1)`` as ``I*pi``, ``0 * log(-1)``,
``tanh(-0.0) * s`` and ``s / oo`` as 0) or another number (a subnormal constant read as
its decimal: ``log(1e-320)``; ``log1p`` of a constant written ``log(1.000125)``, 5e-13
off in the scalar build); and a fused gradient SymPy wrote with an integer too long for
Python to print, an internal error.

The oracle is NumPy's float64 ufuncs applied to the same tree here (``np.power`` for
``**``, whose value for ``-inf`` to a fractional power the compiler follows; ``np.float64``'s
own ``**`` differs there), not gradc's folding or printing. Not held: a fused gradient
where SymPy's algebra itself over- or underflows (``(0.5 / s) ** 1e6`` written ``0.5**1e6
* s**-1e6``), which no seed here builds.
"""

from __future__ import annotations

import random
import re
import warnings

import numpy as np
import pytest

import gradc
from gradc.errors import FormulaError

#: the literals: signed zeros and ones, halves, the ends of the float range, subnormals
ATOMS = [
    "0", "0.0", "-0.0", "1", "-1", "2", "0.5", "3", "1e308", "1e-308", "9", "400",
    "1e6", "-2.0", "1e-320", "7", "-0.5",
]  # fmt: skip
BINARY = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
}
#: every one-input function with a NumPy twin of the same name (``erf``, ``sigmoid``,
#: ``softplus`` and ``relu`` have none: their helpers' values are checked elsewhere)
UNARY = [
    "sqrt", "log", "exp", "tanh", "log1p", "abs", "expm1", "sin", "cos", "tan",
    "arcsinh", "arctan", "sinh", "cosh", "square", "sign", "log2", "log10", "arcsin",
    "arccos", "arccosh", "arctanh",
]  # fmt: skip
F = np.float64


def expression(r: random.Random, depth: int) -> tuple[str, np.float64]:
    """A random tree of ``ATOMS``, ``BINARY`` and ``UNARY``: its text and NumPy's float64
    value of it."""
    if depth == 0 or r.random() < 0.3:
        a = r.choice(ATOMS)
        return (f"({a})" if a.startswith("-") else a), F(float(a))
    with np.errstate(all="ignore"):
        if r.random() < 0.2:
            fn = r.choice(UNARY)
            text, v = expression(r, depth - 1)
            return f"{fn}({text})", F(getattr(np, fn)(v))
        op = r.choice(sorted(BINARY))
        (ta, va), (tb, vb) = expression(r, depth - 1), expression(r, depth - 1)
        return f"({ta} {op} {tb})", F(BINARY[op](va, vb))


def same(got, want, rtol: float) -> bool:
    """Equal NaN where NumPy's is NaN; else within ``rtol`` (infinities equal)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return bool(np.allclose(got, want, rtol=rtol, atol=0.0, equal_nan=True))


#: NumPy's arrays and the Array API target on them, ``sum(x * C)``; and the scalar
#: build, ``x * C`` on Python floats (``math``, NumPy's value where it raises)
CASES = [(seed, fuse, target) for seed in range(4) for fuse in (True, False) for target in ("numpy", "array-api", "scalar")]  # fmt: skip


@pytest.mark.parametrize(("seed", "fuse", "target"), CASES)
def test_constant_expressions_as_numpy_gives_them(seed, fuse, target):
    r = random.Random(7919 * seed + 1)
    x = -2.0 if target == "scalar" else np.array([1.0, -2.0, 0.25])
    checked = 0
    for _ in range(60):
        text, c = expression(r, 3)
        src = f"def f(x: Vector[n]) -> Scalar:\n    return sum(x * {text})\n"
        if target == "scalar":
            src = f"def f(x: Scalar) -> Scalar:\n    return x * {text}\n"
        try:
            module = gradc.load_source(
                src, fuse=fuse, target="numpy" if target == "scalar" else target
            )
        except FormulaError:
            continue  # an exponent past the limit: a located error, not a value
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value, grad = module.f_value_and_grad(x)
            want = np.sum(x * c)
        # the scalar build calls Python's math (C's libm), NumPy its own: ulps apart
        rtol = 1e-14 if target == "scalar" else 1e-15
        assert same(value, want, rtol), (text, value, want)
        assert same(grad, np.full(np.shape(x), c), rtol), (text, grad, c)
        checked += 1
    assert checked >= 40  # of 60: an exponent past the limit is a located error


@pytest.mark.parametrize("fuse", [True, False])
def test_a_negative_zero_keeps_its_sign(fuse):
    """``1 / -0.0`` is ``-inf``: the constant ``-0.0`` is not the ``0.0`` made before it
    (the literal ``0.0`` that ``-`` negates)."""
    for text in ("1 / -0.0", "1 / (0.0 * -1.0)", "(-0.0) ** -1", "0.0 * 2 + 1 / -0.0"):
        src = f"def f(x: Vector[n]) -> Scalar:\n    return sum(x * ({text}))\n"
        with np.errstate(all="ignore"):
            _, grad = gradc.load_source(src, fuse=fuse).f_value_and_grad(np.ones(2))
        assert np.all(grad == -np.inf), (text, grad)


@pytest.mark.parametrize("fuse", [True, False])
def test_nan_and_inf_constants_reach_the_gradient(fuse):
    """A constant NaN or infinity reaches the gradient as NumPy computes it: SymPy, which
    derives the fused gradients, takes its symbols finite and evaluates ``log(-1)``. A
    number it evaluates (``3 ** 0.5``) is NumPy's to the last digits."""
    cases = [
        ("0.0 * log(-1.0)", np.nan, 0.0),
        ("tanh(log(-0.5))", np.nan, 0.0),
        ("1e308 ** exp(1e6) / (7 + 400 * 1e308)", np.nan, 0.0),
        ("exp(3 * 1e308) * -0.0", np.nan, 0.0),
        ("exp(1000.0) * 0.5", np.inf, 0.0),
        ("(3 ** 0.5) ** 7", np.power(np.power(F(3.0), F(0.5)), F(7.0)), 1e-15),
    ]
    for text, c, rtol in cases:
        src = f"def f(x: Vector[n]) -> Scalar:\n    return sum(x * ({text}))\n"
        with np.errstate(all="ignore"):
            _, grad = gradc.load_source(src, fuse=fuse).f_value_and_grad(np.ones(2))
        assert same(grad, np.full(2, c), rtol), (text, grad)


def test_a_gradient_sympy_writes_with_too_long_an_integer_is_left_unfused():
    """``log1p(1e-308 ** -1)``: a simplified form of the fused gradient held an integer
    past Python's ``int`` printing limit, an internal error (before this round too)."""
    src = (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    return sum(x * (log1p(1e-308 ** -1) * (3 * 7 - 1 ** 1e6)))\n"
    )
    c = np.log1p(F(1e308)) * F(20.0)
    value, grad = gradc.load_source(src).f_value_and_grad(np.ones(2))
    assert same(value, 2 * c, 1e-15) and same(grad, np.full(2, c), 1e-15)


def test_the_seeds_reach_every_function_and_operator():
    """The trees of ``test_constant_expressions_as_numpy_gives_them`` call each of
    ``UNARY`` and ``BINARY`` at least once (a family the generator cannot build is one
    the test cannot check)."""
    texts = []
    for seed in range(4):
        r = random.Random(7919 * seed + 1)
        texts += [expression(r, 3)[0] for _ in range(60)]
    for fn in UNARY:  # sin( is not arcsin(
        assert any(re.search(rf"\b{fn}\(", t) for t in texts), fn
    for op in BINARY:
        assert any(f" {op} " in t for t in texts), op
