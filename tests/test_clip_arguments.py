"""``clip`` takes ``np.clip``'s arguments: a bound may be None or left out (no bound), and
the bounds may be given by NumPy's keywords (``a_min``/``a_max``, NumPy 2.1's
``min``/``max``), so ``np.clip(p, EPS, None)`` before a ``log`` pastes in.

A single bound compiles to ``where(x < lo, lo, x)`` (``x > hi`` for an upper one): NumPy's
value, NaN included, and clip's gradient convention (README "Conventions": at its bound
the gradient passes through to ``x``). Values are checked against ``np.clip`` called with
the same arguments, gradients against central finite differences of it (float64), fused
and ``fuse=False``; the array, all-Scalar and numba builds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gradcheck import central_diff_grad

import gradc
from gradc.errors import FormulaError

FUSE = [True, False]

# gradc's arguments after x, NumPy's keyword arguments (lo, hi as inputs of the formula)
FORMS = [
    ("lo, None", {"a_min": "lo", "a_max": None}),
    ("None, hi", {"a_min": None, "a_max": "hi"}),
    ("lo, hi", {"a_min": "lo", "a_max": "hi"}),
    ("a_min=lo, a_max=None", {"a_min": "lo", "a_max": None}),
    ("a_min=lo, a_max=hi", {"a_min": "lo", "a_max": "hi"}),
    ("min=lo", {"min": "lo"}),
    ("max=hi", {"max": "hi"}),
    ("min=lo, max=hi", {"min": "lo", "max": "hi"}),
    ("lo, a_max=hi", {"a_min": "lo", "a_max": "hi"}),
    ("None, max=hi", {"max": "hi"}),
]


def numpy_clip(x, lo, hi, kw):
    """``np.clip(x, **kw)`` with the names ``lo`` and ``hi`` in ``kw`` bound."""
    return np.clip(x, **{k: {"lo": lo, "hi": hi}.get(v, v) for k, v in kw.items()})


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("args, kw", FORMS)
def test_numpy_argument_forms(args, kw, fuse):
    """Value and gradients (x and both bounds) of ``sum(u * clip(x, ...) ** 2)``."""
    src = (
        "def f(x: Vector[n], lo: Scalar, hi: Scalar, u: Vector[n]) -> Scalar:\n"
        f"    return sum(u * clip(x, {args}) ** 2)\n"
    )
    rng = np.random.default_rng(5)
    x = rng.uniform(-2.0, 2.0, 40)
    u = rng.standard_normal(40)
    lo, hi = -0.7, 0.9
    for i, bound in enumerate((lo, hi)):  # no point on a kink
        x[np.abs(x - bound) < 1e-3] += 0.01 * (i + 1)

    def ref(x, lo, hi, u):
        return np.sum(u * numpy_clip(x, lo, hi, kw) ** 2)

    m = gradc.load_source(src, fuse=fuse)
    value, grads = m.f_value_and_grad(x, lo, hi, u)
    np.testing.assert_allclose(value, ref(x, lo, hi, u), rtol=1e-14)
    fd = central_diff_grad(ref, [x, lo, hi, u], [0, 1, 2])
    for got, want in zip(grads[:3], fd):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fuse", FUSE)
def test_one_bound_at_the_bound_and_at_nan(fuse):
    """At ``x == lo`` the gradient passes through to ``x`` (clip's convention) and none
    goes to ``lo``; a NaN stays NaN, as in ``np.clip``."""
    src = (
        "def f(x: Vector[n], lo: Scalar) -> Scalar:\n"
        "    return sum(np.clip(x, lo, None) * 3.0)\n"
    )
    m = gradc.load_source(src, fuse=fuse)
    x = np.array([-1.0, 0.5, 2.0])
    _, (gx, glo) = m.f_value_and_grad(x, 0.5)
    np.testing.assert_array_equal(gx, [0.0, 3.0, 3.0])
    assert glo == 3.0  # only from x[0], below the bound
    with np.errstate(invalid="ignore"):
        assert np.isnan(m.f(np.array([np.nan, 1.0]), 0.5))


def test_all_scalar_and_numba_builds():
    """The all-Scalar (``math``) build and the numba target agree with NumPy."""
    src = "def f(x: Scalar, hi: Scalar) -> Scalar:\n    return clip(x, max=hi) * x\n"
    m = gradc.load_source(src)
    for x, hi in [(2.0, 1.5), (-3.0, 1.5), (1.5, 1.5)]:
        value, (gx, ghi) = m.f_value_and_grad(x, hi)
        assert value == np.clip(x, None, hi) * x
        assert gx == (hi if x > hi else 2 * x)
        assert ghi == (x if x > hi else 0.0)
    pytest.importorskip("numba", reason="numba is the numba target's own library")
    vec = "def f(x: Vector[n]) -> Scalar:\n    return sum(clip(x, a_min=0.0, a_max=None) ** 2)\n"
    nb = gradc.load_source(vec, target="numba")
    x = np.array([-1.0, 0.0, 2.0])
    value, gx = nb.f_value_and_grad(x)
    assert value == 4.0
    np.testing.assert_array_equal(gx, [0.0, 0.0, 4.0])


def test_the_code_reads_as_the_bound():
    """One bound is one comparison and one ``np.where``; no infinite bound is built."""
    src = (
        "EPS = 1e-12\n\n\n@wrt(p)\n"
        "def f(p: Vector[n], y: Vector[n]) -> Scalar:\n"
        "    return -mean(y * log(np.clip(p, EPS, None)))\n"
    )
    code = gradc.compile_source(src)
    assert "np.where(out_t1, 1e-12, p)" in code, code
    assert "inf" not in code.split("def f(")[1], code


@pytest.mark.parametrize(
    "call, message",
    [
        ("clip(x)", "clip() without a bound is its input: write `x`"),
        ("clip(x, None, None)", "clip() without a bound is its input: write `x`"),
        ("clip(x, a_max=None)", "clip() without a bound is its input: write `x`"),
        ("clip(x, 0.0, a_min=1.0)", "clip() got its bound 'a_min' twice"),
        ("clip(x, min=0.0, a_min=1.0)", "clip() got its bound 'a_min' twice"),
        (
            "clip(x, 0.0, 1.0, 2.0)",
            "clip() takes an array and two bounds, got 4 arguments",
        ),
        ("clip(x, lo=0.0)", "clip() got an unexpected keyword 'lo'"),
    ],
)
def test_refusals(call, message):
    src = f"def f(x: Vector[n]) -> Scalar:\n    return sum({call})\n"
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "guard", ["np.clip(p, EPS, None)", "where(p < EPS, EPS, p)", "clip(p, EPS, 1.0)"]
)
def test_a_clipped_log_warns_about_nothing(guard):
    """``log(clip(p, EPS, None))`` at ``p = 0`` (what the clip is for): the gradient is 0
    there, and computing it divides by no zero (no FP warning, under errstate raise).
    Before, a rule that knows a ``where``'s condition inside its branches turned the
    gradient's ``g / where(p < EPS, EPS, p)`` into ``g / p``."""
    src = (
        "EPS = 1e-12\n\n\n"
        "def f(p: Vector[n], y: Vector[n]) -> Scalar:\n"
        f"    return -mean(y * log({guard}))\n"
    )
    p, y = np.array([0.0, 0.5, 1e-20]), np.array([1.0, 1.0, 2.0])
    for fuse in FUSE:
        m = gradc.load_source(src, fuse=fuse)
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            value, (gp, gy) = m.f_value_and_grad(p, y)
        clipped = np.clip(p, 1e-12, None)
        np.testing.assert_allclose(value, -np.mean(y * np.log(clipped)), rtol=1e-15)
        np.testing.assert_allclose(gp, [0.0, -1.0 / 3 / 0.5, 0.0], rtol=1e-15)
        np.testing.assert_allclose(gy, -np.log(clipped) / 3, rtol=1e-15)
