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


def tree(r: random.Random, depth: int, atoms: list[str]) -> tuple:
    """A random tree of ``atoms``, ``BINARY`` and ``UNARY``: ``(atom,)``, ``(fn, arg)`` or
    ``(op, left, right)``."""
    if depth == 0 or r.random() < 0.3:
        return (r.choice(atoms),)
    if r.random() < 0.2:
        return r.choice(UNARY), tree(r, depth - 1, atoms)
    op = r.choice(sorted(BINARY))
    return op, tree(r, depth - 1, atoms), tree(r, depth - 1, atoms)


def text(t: tuple) -> str:
    """The formula text of the tree ``t``."""
    if len(t) == 1:
        return f"({t[0]})" if t[0].startswith("-") else t[0]
    if len(t) == 2:
        return f"{t[0]}({text(t[1])})"
    return f"({text(t[1])} {t[0]} {text(t[2])})"


def value(t: tuple, env: dict[str, float]) -> np.float64:
    """NumPy's float64 value of the tree ``t``, its names read from ``env``."""
    with np.errstate(all="ignore"):
        if len(t) == 1:
            return F(env[t[0]] if t[0] in env else float(t[0]))
        if len(t) == 2:
            return F(getattr(np, t[0])(value(t[1], env)))
        return F(BINARY[t[0]](value(t[1], env), value(t[2], env)))


def expression(r: random.Random, depth: int) -> tuple[str, np.float64]:
    """A random tree of ``ATOMS``, ``BINARY`` and ``UNARY``: its text and NumPy's float64
    value of it."""
    t = tree(r, depth, ATOMS)
    return text(t), value(t, {})


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


# ----------------------------------------------------------------------------
# Expressions of dimensions and constants: Python numbers where the code runs

#: the literals and two dimensions
DIM_ATOMS = ATOMS + ["n"] * 6 + ["m"] * 3

DIM_CASES = [(seed, fuse, target) for seed in range(4) for fuse in (True, False) for target in ("numpy", "array-api")]  # fmt: skip


def divides_by(t: tuple, name: str) -> bool:
    """Whether the tree ``t`` divides by a subtree that reads the dimension ``name``."""
    if len(t) == 1:
        return False
    if t[0] == "/" and re.search(rf"\b{name}\b", text(t[2])):
        return True
    return any(divides_by(u, name) for u in t[1:])


def dimension_expressions_hold(seed: int, fuse: bool, target: str, count: int) -> int:
    """Build ``count`` formulas ``sum(x * C) + sum(y)``, ``C`` a tree of ``DIM_ATOMS``
    reading ``n`` and ``m`` (``x: Vector[n]``, ``y: Vector[m]``), and check each at ``n``
    0-3 and ``m`` 0 or 2 against NumPy's value of the tree with ``n`` and ``m`` as
    float64: no exception but a mean's ``ValueError`` where it divides by an empty
    dimension, never a complex number, the gradient NumPy's ``C`` to 1e-15 and the value
    its ``sum(x * C)`` to 1e-13 (the compiler computes it ``C * sum(x)``, ulps apart;
    where ``C`` is not finite, ``inf * sum(x)`` is not NumPy's ``sum(x * inf)``, and
    where it is subnormal it keeps fewer digits: the value is not compared there). The
    number checked."""
    r = random.Random(104729 * seed + 3)
    checked = 0
    for _ in range(count):
        t = tree(r, 3, DIM_ATOMS)
        src = (
            "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n"
            f"    return sum(x * {text(t)}) + sum(y)\n"
        )
        try:
            module = gradc.load_source(src, fuse=fuse, target=target)
        except FormulaError:
            continue  # an exponent past the limit: a located error, not a value
        for n, m in [(n, m) for n in range(4) for m in (0, 2)]:
            c = value(t, {"n": float(n), "m": float(m)})
            x, y = np.linspace(-1.0, 1.0, n) + 0.25, np.ones(m)
            where = (text(t), n, m)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    v, (gx, gy) = module.f_value_and_grad(x, y)
                except ValueError as e:  # a division by an empty dimension, as a mean's
                    empty = [d for d, size in (("n", n), ("m", m)) if size == 0]
                    assert "must be positive" in str(e), where
                    assert any(divides_by(t, d) for d in empty), (where, e)
                    continue
                want = np.sum(x * c) + np.sum(y)
            assert np.isrealobj(v) and np.isrealobj(gx), (where, v, gx)
            assert same(gx, np.full(n, c), 1e-15) and same(gy, np.ones(m), 0.0), where
            if np.isfinite(c) and (c == 0 or abs(c) >= np.finfo(F).tiny):
                assert same(v, want, 1e-13), (where, v, want)
            checked += 1
    return checked


@pytest.mark.parametrize(("seed", "fuse", "target"), DIM_CASES)
def test_dimension_expressions_as_numpy_gives_them(seed, fuse, target):
    """A dimension in a float expression is a Python int where the code runs: ``(n - 2)
    ** 0.5`` was a complex number at ``n = 1``, ``1.0 / n``, ``d_out / (n - 1)`` and
    ``(9 * n) ** -0.5`` raised ``ZeroDivisionError``, ``m ** 400`` became an int NumPy's
    ``arcsin`` refused. Now NumPy's numbers (``div_emit``, ``pow_emit``), or, where it
    divides by an empty dimension, a mean's ``ValueError``."""
    assert dimension_expressions_hold(seed, fuse, target, 40) >= 8 * 28


@pytest.mark.parametrize("fuse", [True, False])
def test_dimension_expressions_on_the_numba_target(fuse):
    pytest.importorskip("numba", reason="the numba target needs numba (extra 'numba')")
    assert dimension_expressions_hold(7, fuse, "numba", 40) >= 8 * 28


def test_a_division_by_a_dimension_is_a_mean_s():
    """``sum(x) / n`` is ``mean(x)``: the input checks refuse ``n = 0`` with the same
    ``ValueError`` (also where a rewrite made a mean a division: ``mean(r ** 2)`` as
    ``r.dot(r) / n``, which raised ``ZeroDivisionError``), and the gradient divides by
    ``n`` as an int. A divisor computed from a dimension (``n - 1``) may be 0 and is
    NumPy's float: a sample variance of one element is NaN, as NumPy's ``ddof=1``."""
    for body in ("sum(x) / n", "mean(x ** 2)", "sum(x * x) / n * 0.5"):
        src = f"def f(x: Vector[n]) -> Scalar:\n    return {body}\n"
        for checks in (True, False):  # --no-checks: the caller guarantees n >= 1
            code = gradc.compile_source(src, checks=checks)
            assert "/ n\n" in code and "np.float64(n)" not in code, (body, checks)
        with pytest.raises(ValueError, match="n must be positive"):
            gradc.load_source(src).f_value_and_grad(np.zeros(0))
    # a mean over every axis divides by the product of the dimensions, checked whole
    src = "def f(X: Matrix[n, d]) -> Scalar:\n    return mean(X ** 2)\n"
    code = gradc.compile_source(src)
    assert "d_out / (d * n)" in code and "float64(d" not in code
    src = (
        "def f(x: Vector[n]) -> Scalar:\n    return sum((x - mean(x)) ** 2) / (n - 1)\n"
    )
    with np.errstate(all="ignore"):
        v, grad = gradc.load_source(src).f_value_and_grad(np.array([3.0]))
    assert np.isnan(v) and np.isnan(grad).all()


def test_the_dimension_seeds_reach_every_function_and_operator():
    """The trees of ``test_dimension_expressions_as_numpy_gives_them`` read ``n`` and
    ``m``, divide by a dimension and raise one to a power."""
    texts = []
    for seed in sorted({seed for seed, _, _ in DIM_CASES}):
        r = random.Random(104729 * seed + 3)
        texts += [text(tree(r, 3, DIM_ATOMS)) for _ in range(40)]
    for fn in UNARY:
        assert any(re.search(rf"\b{fn}\(", t) for t in texts), fn
    assert any(re.search(r"/ \(?[nm]\b", t) for t in texts)
    assert any(re.search(r"\b[nm]\)* \*\* ", t) for t in texts)
