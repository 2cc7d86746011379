"""``f_hessian`` of one vector input through loops (SPEC §2.1, issue #17): the n unit
tangents pushed together through ``f_hvp``'s forward and reverse loops in one batched
pass (``passes/loop_batching.py``), checked on each loop example (one vector input
differentiated) and on small loop formulas against (a) ``f_hvp`` along each unit vector,
(b) Richardson-extrapolated central differences of ``f_grad`` in float64
(``second_order.fd_hvp``), (c) symmetry, and (secondary) the same formula unrolled by
hand, which ``f_hessian`` batches without loops. The emitted ``f_hessian`` runs as many
``for`` statements as ``f_hvp``: one pass, no loop over the unit vectors."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import second_order as S
from test_loops import (
    EXAMPLES,
    NESTED,
    STEPPED,
    captioning_args,
    lstm_args,
    oscillator_args,
    rnn_args,
    sizes,
    unrolled,
)

import gradc
from gradc.core.prim import PRIMS


def one_input(text: str, name: str, wrt: str) -> str:
    """An example's formula with ``name`` differentiated with respect to ``wrt`` only."""
    head = f"def {name}("
    at = text.index(head)
    before = text[:at]
    if before.rstrip().endswith(")") and "@wrt(" in before.splitlines()[-1]:
        before = before[: before.rstrip().rindex("@wrt(")]
    return before + f"@wrt({wrt})\n" + text[at:]


def oscillator_p(rng):
    """The oscillator's inputs with its stiffness and damping as one vector ``p``."""
    k, c, x0, v0, observed = oscillator_args(rng)
    return [np.array([k, c]), x0, v0, observed]


OSCILLATOR_P = (
    (EXAMPLES / "oscillator.grad")
    .read_text()
    .replace("@wrt(k, c)", "@wrt(p)")
    .replace("k: Scalar, c: Scalar,", "p: Vector[2],")
    .replace("    x = x0\n", "    k = p[0]\n    c = p[1]\n    x = x0\n")
)


# example (or formula), function, differentiated input, argument maker, its position
EXAMPLE_CASES = [
    ("rnn.grad", "rnn_loss", "b", rnn_args, 4),
    ("lstm.grad", "lstm_loss", "b", lstm_args, 4),
    ("captioning.grad", "captioning_loss", "b", captioning_args, 7),
    ("captioning.grad", "captioning_loss", "b_vocab", captioning_args, 9),
    ("oscillator.grad", "oscillator_fit", "observed", oscillator_args, 4),
]

# h = tanh(w * h + x[t]) over a vector w: the tangent starts at zeros, h unbatched
RECURRENCE = """
@wrt(w)
def f(w: Vector[n], x: Matrix[T, n]) -> Scalar:
    h = zeros(n)
    for t in range(T):
        h = tanh(w * h + x[t])
    return sum(h * h)
"""

# an RNN cell on a vector state, differentiated at its start
CELL = """
@wrt(h0)
def f(h0: Vector[n], W: Matrix[n, n], x: Matrix[T, n]) -> Scalar:
    h = h0
    for t in range(T):
        h = tanh(W @ h + x[t])
    return sum(h * h) + sum(h0 * h)
"""

# item assignment with +=, the carried array's value before the loop unbatched
ACCUMULATE = """
@wrt(w)
def f(w: Vector[n], x: Matrix[T, n]) -> Scalar:
    acc = zeros((T, n))
    h = w
    for t in range(T):
        h = sin(h * x[t]) + w
        acc[t] += h * h
        acc[t] += exp(0.1 * h) * x[t]
    return sum(acc * x)
"""

# a Scalar carried value that starts as a constant: its tangent is broadcast
CONSTANT_START = """
@wrt(w)
def f(w: Vector[n], x: Matrix[T, n]) -> Scalar:
    s = 1.0
    for t in range(T):
        s = s * tanh(sum(w * x[t])) + 0.1 * s * s
    return s * s + sum(w * w) * s
"""

NESTED_X = "@wrt(x)\n" + NESTED.lstrip()


def small(rng, n=4, T=3):
    return [rng.normal(size=n) * 0.7, rng.normal(size=(T, n))]


def cell(rng, n=3, T=4):
    return [rng.normal(size=n), rng.normal(size=(n, n)) * 0.6, rng.normal(size=(T, n))]


FORMULA_CASES = [
    ("recurrence", RECURRENCE, "f", small, 0),
    ("cell", CELL, "f", cell, 0),
    ("accumulate", ACCUMULATE, "f", small, 0),
    ("constant-start", CONSTANT_START, "f", small, 0),
    (
        "nested",
        NESTED_X,
        "f",
        lambda r: [r.normal(size=(3, 4)) * 0.5, r.normal(size=4)],
        1,
    ),
    ("stepped", STEPPED, "f", lambda r: [r.normal(size=5)], 0),
    ("oscillator-p", OSCILLATOR_P, "oscillator_fit", oscillator_p, 0),
]


def check(m, name: str, args: list, pos: int) -> np.ndarray:
    """``f_hessian`` against f_hvp along each unit vector, differences of f_grad and
    its transpose; returns it."""
    H = getattr(m, f"{name}_hessian")(*args)
    n = np.size(args[pos])
    assert H.shape == (n, n)
    hvp = getattr(m, f"{name}_hvp")
    rest = len(args) * [None]
    rest[pos] = 0
    rows = np.stack([hvp(*args, e) for e in np.eye(n)])
    np.testing.assert_allclose(H, rows, rtol=1e-12, atol=1e-12)
    grad = getattr(m, f"{name}_grad")
    fd = np.stack([S.fd_hvp(grad, args, [pos], [e], 1e-4)[0] for e in np.eye(n)])
    scale = max(1.0, float(np.max(np.abs(fd))))
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12 * scale)
    return H


def loops_in(text: str, name: str) -> int:
    """The ``for`` statements of the emitted function ``name``."""
    source = text[text.index(f"\ndef {name}(") :].split("\ndef ")[1]
    return len(re.findall(r"^\s+for \w+ in ", source, flags=re.M))


def one_pass(text: str, name: str) -> None:
    """``f_hessian`` runs the loops ``f_hvp`` runs (no loop over the unit vectors)."""
    assert loops_in(text, f"{name}_hessian") == loops_in(text, f"{name}_hvp")


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize(
    "case", EXAMPLE_CASES, ids=[f"{c[1]}-{c[2]}" for c in EXAMPLE_CASES]
)
def test_example_hessian(case, fuse):
    file, name, wrt, make, pos = case
    text = one_input((EXAMPLES / file).read_text(), name, wrt)
    m = gradc.load_source(text, fuse=fuse, hvp=True)
    args = make(np.random.default_rng(3))
    check(m, name, args, pos)
    text = gradc.compile_source(text, fuse=fuse, hvp=True)
    one_pass(text, name)
    # the oscillator's loop does not depend on the observations (a constant Hessian)
    assert loops_in(text, f"{name}_hvp") == (0 if wrt == "observed" else 2)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("case", FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_formula_hessian(case, fuse):
    _, text, name, make, pos = case
    m = gradc.load_source(text, fuse=fuse, hvp=True)
    args = make(np.random.default_rng(5))
    H = check(m, name, args, pos)
    emitted = gradc.compile_source(text, fuse=fuse, hvp=True)
    one_pass(emitted, name)
    assert loops_in(emitted, f"{name}_hvp") >= 2
    flat = unrolled(text, sizes(text, name, args))
    assert "for " not in flat
    u = gradc.load_source(flat, fuse=fuse, hvp=True)
    np.testing.assert_allclose(
        H, getattr(u, f"{name}_hessian")(*args), rtol=1e-9, atol=1e-12
    )


def test_recurrence_text():
    """The unit tangents start as np.eye(n), the tangent carried as an (n, n) stack and
    taped trip count first; h, and the gradient of its tangent, stay unbatched."""
    text = gradc.compile_source(RECURRENCE, hvp=True)
    hess = text[text.index("\ndef f_hessian(") :]
    for line in [
        "    v_w = np.eye(n)\n",
        "    t_h = np.zeros((n, n))\n",
        "    h_prev_tape = np.zeros((T, n))\n",
        "    t_h_prev_tape = np.zeros((T, n, n))\n",
        "        t_h = (_one - h_2**2) * (v_w * h + t_h * w)\n",
        "    d_t_h = _two * h\n",
        "    d_h = _two * t_h\n",
        "    d_w = np.zeros((n, n))\n",
        "        d_w += h_g3\n",
        "    return d_w\n",
    ]:
        assert line in hess


# a convolution inside a body: its im2col batched with the images (conv_batching)
CONV = """
@wrt(w)
def f(w: Vector[2], x: Tensor[1, 1, 4, 4], k: Tensor[1, 1, 2, 2]) -> Scalar:
    s = 0.0
    for t in range(2):
        y = conv2d(x * w[t], k)
        s = s + sum(y * y * y)
    return s
"""


def conv_args(rng):
    return [
        rng.normal(size=2),
        rng.normal(size=(1, 1, 4, 4)),
        rng.normal(size=(1, 1, 2, 2)),
    ]


def test_conv_in_a_body():
    """A conv inside a loop body is batched there too (one pass)."""
    m = gradc.load_source(CONV, hvp=True)
    check(m, "f", conv_args(np.random.default_rng(4)), 0)
    one_pass(gradc.compile_source(CONV, hvp=True), "f")


def test_unbatched_operation_in_a_body_is_located(monkeypatch):
    """An operation with no batching rule (im2col's taken away here): the located error
    names it and points at its line in the body (not at the loop); the same loop with
    two inputs differentiated gets f_hvp."""
    monkeypatch.setitem(
        PRIMS, "im2col", dataclasses.replace(PRIMS["im2col"], batch=None)
    )
    with pytest.raises(gradc.FormulaError) as info:
        gradc.compile_source(CONV, filename="c.grad", hvp=True)
    err = info.value
    assert "f_hessian of 'f' cannot push its tangents together" in str(err)
    assert "'im2col' has no batching rule" in str(err)
    assert (err.line, err.col) == (6, 9)
    m = gradc.load_source(CONV.replace("@wrt(w)", "@wrt(w, k)"), hvp=True)
    args = conv_args(np.random.default_rng(4))
    assert S.check_hvp(m, "f", args, [0, 2], np.random.default_rng(2)) is None


@pytest.mark.parametrize("case", FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_array_api_hessian(case):
    """The same batched loops on the Array API target, run on array-api-strict."""
    xps = pytest.importorskip("array_api_strict")
    _, text, name, make, pos = case
    m = gradc.load_source(text, target="array-api", hvp=True)
    ref = gradc.load_source(text, hvp=True)
    args = make(np.random.default_rng(5))
    strict = [xps.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    got = np.asarray(getattr(m, f"{name}_hessian")(*strict))
    np.testing.assert_allclose(got, getattr(ref, f"{name}_hessian")(*args), rtol=1e-12)
