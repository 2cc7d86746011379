"""The oracle's check of ``f_hvp`` (``second_order.check_hvp``) at a gradient that
cancels: language oracle seed 28552, ``t * tanh(t) + t`` at t = -8, whose gradient is
1e-5 of its terms. There the differences of ``f_grad`` are off by up to 1.8e-5 of a
Hessian computed with SymPy to 50 digits, which ``f_hvp`` matches to 1e-10: the check
holds the differences to their own error (``fd_error``), and a wrong ``f_hvp`` still
fails."""

from __future__ import annotations

import types

import mpmath
import numpy as np
import second_order as S
import sympy

import gradc

SOURCE = """
def f(x1: Matrix[2, 2], x2: Matrix[2, 2], x3: Scalar) -> Scalar:
    t4 = sum(x3 * (-(x1 * -(x2))), axis=None)
    t4 -= cos(t4)
    t5 = t4
    return t5 * tanh(t5) + t5
"""
X1 = np.array(
    [[1.243842268862769, 1.89883604880054], [0.44232937472877976, 1.7324992249809628]]
)
X2 = np.array(
    [[0.7899692518667968, 1.4516986246654762], [0.387539503589576, 1.1717476659545412]]
)
X3 = -1.486155001539443
ARGS = [X1, X2, X3]


def exact_hvp(v: list) -> list[float]:
    """H v of the formula at ARGS, from SymPy's second derivatives at 50 digits."""
    a, b, c = sympy.symbols("a0:4"), sympy.symbols("b0:4"), sympy.Symbol("c")
    t = c * sum(a[i] * b[i] for i in range(4))
    t = t - sympy.cos(t)
    f = t * sympy.tanh(t) + t
    names = [*a, *b, c]
    at = {
        s: sympy.Float(float(x), 50)
        for s, x in zip(names, [*X1.ravel(), *X2.ravel(), X3])
    }
    flat_v = [*np.ravel(v[0]), *np.ravel(v[1]), float(v[2])]
    rows = [[sympy.diff(f, s, r).subs(at).evalf(50) for r in names] for s in names]
    return [
        float(sum(mpmath.mpf(str(h)) * w for h, w in zip(row, flat_v))) for row in rows
    ]


def test_f_hvp_matches_the_exact_hessian_where_the_differences_do_not():
    mod = gradc.load_source(SOURCE, fuse=False, hvp=True)
    rng = np.random.default_rng(2)
    _, v = S.directions(rng, ARGS, [0, 1, 2]), S.directions(rng, ARGS, [0, 1, 2])
    want = exact_hvp(v)
    got = S.as_list(mod.f_hvp(*ARGS, *v), 3)
    flat = np.concatenate([np.ravel(g) for g in got])
    np.testing.assert_allclose(flat, want, rtol=1e-9)
    fd = S.fd_hvp(mod.f_grad, ARGS, [0, 1, 2], v, 1e-5 / 4)
    fd_flat = np.concatenate([np.ravel(g) for g in fd])
    assert np.max(np.abs(fd_flat - want)) > 1e-5 * 1e-4  # HVP_RTOL of the scale floor


def test_the_check_holds_the_differences_to_their_own_error(monkeypatch):
    mod = gradc.load_source(SOURCE, fuse=False, hvp=True)
    rng = lambda: np.random.default_rng(2)  # noqa: E731 - the same directions each call
    assert S.check_hvp(mod, "f", ARGS, [0, 1, 2], rng()) is None
    # a wrong f_hvp, 1e-3 off, still fails
    off = types.SimpleNamespace(
        f_grad=mod.f_grad,
        f_hvp=lambda *a: tuple(np.asarray(r) * 1.001 for r in mod.f_hvp(*a)),
    )
    assert S.check_hvp(off, "f", ARGS, [0, 1, 2], rng()).startswith("f_hvp")
    # without the differences' error, the right f_hvp failed here
    monkeypatch.setattr(S, "fd_error", lambda coarse, fine: 0.0)
    assert S.check_hvp(mod, "f", ARGS, [0, 1, 2], rng()).startswith("f_hvp")


# Language oracle seed 192,004: t * tanh(t) + t again, at t = -10.6, where the
# gradient's 1 + tanh(t) (1.3e-9) is quantised in steps of 1e-16 over a move of 2e-15.
# The differences at h and h / 4 agreed with each other (gap 1.7e-10) and were both
# 1.3e-9 off a Hessian of 2e-7 that f_hvp matches to 1e-12 (f_hessian to 4e-8 of it): the
# gap to a third step (4 h, 4e-11 off) bounds their error.
CANCELLING = """
@wrt(x1)
def f(x1: Scalar, x2: Scalar) -> Scalar:
    t3 = maximum(maximum(x1 + x2, 2.0), where(x2 > 0, clip(x2, -0.5, 0.75), (1.5 + tanh(0.5)) ** 3))
    t4 = t3 * x1 + clip(cos(t3), -0.5, 0.75)
    return t4 * tanh(t4) + t4
"""
AT = [-1.4378060269279835, -1.5018228155908608]


def exact_second_derivative() -> float:
    """d2f/dx1^2 at AT by SymPy at 50 digits (t3 is the constant (1.5 + tanh(0.5))**3
    there: x1 + x2 < 2 and x2 < 0)."""
    x = sympy.Symbol("x")
    c = (sympy.Rational(3, 2) + sympy.tanh(sympy.Rational(1, 2))) ** 3
    t = c * x + sympy.cos(c)
    f = t * sympy.tanh(t) + t
    return float(sympy.diff(f, x, 2).subs(x, sympy.Float(AT[0], 50)).evalf(50))


def test_three_steps_where_two_agree_by_chance(monkeypatch):
    mod = gradc.load_source(CANCELLING, hvp=True)
    exact = exact_second_derivative()
    np.testing.assert_allclose(float(mod.f_hessian(*AT)), exact, rtol=1e-7)
    rng = lambda: np.random.default_rng(6)  # noqa: E731 - the same directions each call
    assert S.check_hvp(mod, "f", AT, [0], rng()) is None
    # a wrong f_hvp, 5% off (1e-8 here), still fails
    off = types.SimpleNamespace(
        f_grad=mod.f_grad, f_hvp=lambda *a: np.asarray(mod.f_hvp(*a)) * 1.05
    )
    assert S.check_hvp(off, "f", AT, [0], rng()).startswith("f_hvp")
    # with the two steps h and h / 4 alone, the right f_hvp failed here
    monkeypatch.setattr(S, "STEP_FACTORS", (1.0, 0.25))
    assert S.check_hvp(mod, "f", AT, [0], rng()).startswith("f_hvp")
