"""Second derivatives through loops (SPEC §1.1, §2.1): ``f_hvp`` of every loop example
against Richardson-extrapolated central differences of ``f_grad`` (``second_order.py``),
its symmetry ``<u, H v> = <H u, v>``, and against the same formula unrolled by hand
(``test_loops.unrolled``: no loop in it, so ``f_hvp`` is forward over reverse there)
compiled with ``--hvp``, fused and unfused; ``f_hessp`` and ``f_hessian`` (a Scalar
input, or one vector: ``test_loop_hessian.py``) where emitted."""

from __future__ import annotations

import re

import numpy as np
import pytest
import second_order as S
from test_loops import CASES, EXAMPLES, NESTED, STEPPED, as_list, sizes, unrolled

import gradc


def agree_with_unrolled(m, flat, name: str, args: list, positions: list, seed: int):
    """``f_hvp`` of the loop and of the unrolled formula along the same vectors."""
    vs = S.directions(np.random.default_rng(seed), args, positions)
    got = as_list(getattr(m, f"{name}_hvp")(*args, *vs), len(positions))
    want = as_list(getattr(flat, f"{name}_hvp")(*args, *vs), len(positions))
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_example_hvp(case, fuse):
    file, name, make, wrt = case
    text = (EXAMPLES / file).read_text()
    m = gradc.load_source(text, fuse=fuse, hvp=True)
    args = make(np.random.default_rng(3))
    assert S.check_hvp(m, name, args, wrt, np.random.default_rng(1)) is None
    flat = unrolled(text, sizes(text, name, args))
    assert "for " not in flat
    u = gradc.load_source(flat, fuse=fuse, hvp=True)
    agree_with_unrolled(m, u, name, args, wrt, 5)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_nested_loops_hvp(fuse):
    m = gradc.load_source(NESTED, fuse=fuse, hvp=True)
    rng = np.random.default_rng(1)
    args = [rng.normal(size=(3, 4)) * 0.5, rng.normal(size=4)]
    assert S.check_hvp(m, "f", args, [0, 1], np.random.default_rng(2)) is None
    flat = gradc.load_source(unrolled(NESTED, {"m": 3, "n": 4}), fuse=fuse, hvp=True)
    agree_with_unrolled(m, flat, "f", args, [0, 1], 4)


# one Matrix input differentiated: f_hessp (SciPy's order), no f_hessian
HESSP = """
@wrt(W)
def f(W: Matrix[n, n], x: Vector[n]) -> Scalar:
    h = x
    for t in range(3):
        h = tanh(W @ h + x)
    return sum(h * h)
"""


def test_hessp_through_a_loop():
    m = gradc.load_source(HESSP, hvp=True)
    rng = np.random.default_rng(7)
    args = [rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4)]
    m.f_hessp(args[0], args[0], args[1])  # exists, in SciPy's order
    assert not hasattr(m, "f_hessian")
    assert S.check_hvp(m, "f", args, [0], np.random.default_rng(2)) is None
    flat = gradc.load_source(unrolled(HESSP, {}), hvp=True)
    agree_with_unrolled(m, flat, "f", args, [0], 3)


# a Scalar input differentiated: f_hessian is f_hvp along 1.0
SCALAR = """
@wrt(a)
def g(a: Scalar, y: Vector[n]) -> Scalar:
    h = a
    for i in range(n):
        h = tanh(h * y[i] + a)
    return h * h
"""


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_scalar_hessian_through_a_loop(fuse):
    m = gradc.load_source(SCALAR, fuse=fuse, hvp=True)
    args = [0.4, np.array([0.5, -1.1, 0.8, 0.3])]
    assert S.check_hvp(m, "g", args, [0], np.random.default_rng(2)) is None
    h = m.g_hessian(*args)
    fd = S.fd_hvp(m.g_grad, args, [0], [1.0], 1e-4)[0]
    assert np.ndim(h) == 0
    assert h == pytest.approx(float(fd), rel=1e-6)
    flat = gradc.load_source(unrolled(SCALAR, {"n": 4}), fuse=fuse, hvp=True)
    assert h == pytest.approx(flat.g_hessian(*args), rel=1e-10)


def test_steps_and_offsets_hvp():
    """Reverse and strided ranges, a loop over a carried array: one vector input, so
    f_hessian too (its tangents pushed together through the loops,
    ``test_loop_hessian.py``)."""
    m = gradc.load_source(STEPPED, filename="s.grad", hvp=True)
    x = np.array([0.3, -1.2, 0.7, 2.0, -0.4])
    assert S.check_hvp(m, "f", [x], [0], np.random.default_rng(2)) is None
    assert m.f_hessian(x).shape == (5, 5)
    # the same loops with two inputs, both differentiated: f_hvp (no f_hessian)
    text = STEPPED.replace("def f(x: Vector[n])", "def f(x: Vector[n], y: Vector[n])")
    text = text.replace("return c + sum(h)", "return c + sum(h * y)")
    m = gradc.load_source(text, hvp=True)
    x = np.array([0.3, -1.2, 0.7, 2.0, -0.4])
    y = np.array([1.0, 0.5, -0.3, 0.8, 1.7])
    assert S.check_hvp(m, "f", [x, y], [0, 1], np.random.default_rng(2)) is None
    flat = gradc.load_source(unrolled(text, {"n": 5}), hvp=True)
    agree_with_unrolled(m, flat, "f", [x, y], [0, 1], 3)


def test_rnn_hvp_is_one_forward_and_one_reverse_loop():
    """The hvp of the RNN: one forward loop carrying h and its tangent t_h, one reverse
    loop carrying their gradients; the docstring says so."""
    text = gradc.compile_source((EXAMPLES / "rnn.grad").read_text(), hvp=True)
    hvp = text[text.index("def rnn_loss_hvp") :]
    hvp = hvp.split("\ndef ")[0]
    assert hvp.count("\n    for t in range(T):\n") == 1
    assert hvp.count("\n    for t in reversed(range(T)):\n") == 1
    assert "    t_h = v_h0\n" in hvp
    assert "        d_h, d_t_h = " in hvp
    assert (
        "    Reverse over forward, through the loops: the gradients of the derivative\n"
        in hvp
    )


@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_one_loop_each_way(case):
    """The value after the loop is read off the tangent loop, which carries it too: the
    oscillator's loss reads its positions (2 (xs - observed) . t_xs), yet one forward
    loop runs, and one reverse loop."""
    file, name, _, _ = case
    text = gradc.compile_source((EXAMPLES / file).read_text(), hvp=True)
    hvp = text[text.index(f"def {name}_hvp") :].split("\ndef ")[0]
    assert len(re.findall(r"\n    for \w+ in range\(", hvp)) == 1
    assert len(re.findall(r"\n    for \w+ in reversed\(range\(", hvp)) == 1


# A carried value and an input that is not differentiated meet in one fused region of a
# loop body (``h = tanh(h * w)`` with ``@wrt(x)``): the reverse loop wrote the tangent's
# gradient under its variable (``d_t_h = d_t_h * h_t1 * w``), then a later statement read
# the old value through a product printed inside it, for h's gradient. f_hvp and
# f_hessian were 25% off, on every target, fused only; the language oracle found it
# (seed 167335, a loop-compare formula).
CARRIED_WITH_CONSTANT = """
@wrt(x)
def f(x: Vector[n], w: Vector[n]) -> Scalar:
    h = x * 0.5
    for t in range({k}):
        h = {step}
    return sum(cos(h))
"""
STEPS = {
    "tanh(h * w)": lambda h, w: np.tanh(h * w),
    "sin(h * w) + 1.0": lambda h, w: np.sin(h * w) + 1.0,
    "tanh(h * w) * w": lambda h, w: np.tanh(h * w) * w,
}


def second_differences(step, k: int, x, w):
    """The diagonal of the Hessian of sum(cos(h_k(x))), an elementwise chain (so the
    diagonal is all of it), by central second differences of NumPy written here,
    Richardson-extrapolated."""

    def entries(x):
        h = x * 0.5
        for _ in range(k):
            h = step(h, w)
        return np.cos(h)

    def at(d):
        return (entries(x + d) - 2.0 * entries(x) + entries(x - d)) / d**2

    return (4.0 * at(5e-4) - at(1e-3)) / 3.0


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("step", sorted(STEPS))
def test_hvp_of_a_carried_value_times_a_constant_input(step, k, fuse):
    text = CARRIED_WITH_CONSTANT.format(k=k, step=step)
    m = gradc.load_source(text, fuse=fuse, hvp=True)
    x, w = np.array([0.7, -1.2, 0.4]), np.array([-0.35, 1.13, 0.8])
    want = second_differences(STEPS[step], k, x, w)
    np.testing.assert_allclose(m.f_hessian(x, w), np.diag(want), rtol=1e-6, atol=1e-9)
    v = np.array([0.3, 0.8, -0.5])
    np.testing.assert_allclose(m.f_hvp(x, w, v), want * v, rtol=1e-6, atol=1e-9)
    assert S.check_hvp(m, "f", [x, w], [0], np.random.default_rng(1)) is None
