"""The oracle is not trusted blindly: tests/reference.py against hand-computed values.

Every expected value below is written out by hand (closed forms, small sums) or with a
direct NumPy call on literal arrays; none comes from gradc.
"""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import language_gen as G
import reference as R

X = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
V = np.array([3.0, -4.0])


def val(
    body: str,
    params: str = "x: Matrix[2, 3]",
    args=(X,),
    ret: str = "Scalar",
    prelude: str = "",
):
    """Value of a one-line function ``f`` with this body."""
    text = f"{prelude}\ndef f({params}) -> {ret}:\n    return {body}\n"
    return R.FormulaReference(text).value("f", list(args))


# (body, params, args, expected) — each expected value computed by hand
CASES = [
    ("x + 1", "x: Scalar", (2.0,), 3.0),
    ("x - y", "x: Scalar, y: Scalar", (2.0, 5.0), -3.0),
    ("x * y", "x: Scalar, y: Scalar", (2.0, 5.0), 10.0),
    ("x / y", "x: Scalar, y: Scalar", (2.0, 5.0), 0.4),
    ("x ** y", "x: Scalar, y: Scalar", (2.0, 3.0), 8.0),
    ("-x", "x: Scalar", (2.0,), -2.0),
    ("exp(x)", "x: Scalar", (1.0,), math.e),
    ("log(x)", "x: Scalar", (math.e,), 1.0),
    ("log1p(x)", "x: Scalar", (math.e - 1,), 1.0),
    ("expm1(x)", "x: Scalar", (0.0,), 0.0),
    ("sqrt(x)", "x: Scalar", (9.0,), 3.0),
    ("square(x)", "x: Scalar", (-3.0,), 9.0),
    ("abs(x)", "x: Scalar", (-3.0,), 3.0),
    ("sin(x)", "x: Scalar", (math.pi / 2,), 1.0),
    ("cos(x)", "x: Scalar", (0.0,), 1.0),
    ("tan(x)", "x: Scalar", (math.pi / 4,), 1.0),
    ("tanh(x)", "x: Scalar", (0.0,), 0.0),
    ("sigmoid(x)", "x: Scalar", (0.0,), 0.5),
    ("softplus(x)", "x: Scalar", (0.0,), math.log(2.0)),
    ("softplus(x)", "x: Scalar", (-800.0,), 0.0),
    ("relu(x)", "x: Scalar", (-2.0,), 0.0),
    ("relu(x)", "x: Scalar", (2.0,), 2.0),
    ("maximum(x, y)", "x: Scalar, y: Scalar", (1.0, 2.0), 2.0),
    ("minimum(x, y)", "x: Scalar, y: Scalar", (1.0, 2.0), 1.0),
    ("clip(x, -1, 1)", "x: Scalar", (3.0,), 1.0),
    ("clip(x, 2, 1)", "x: Scalar", (0.0,), 1.0),  # NumPy: lo > hi gives hi
    ("where(x > 0, log(x), 0)", "x: Scalar", (0.0,), 0.0),
    ("where(x <= 0, 1, 2)", "x: Scalar", (0.0,), 1.0),
    ("pi + e", "x: Scalar", (0.0,), math.pi + math.e),
    ("sum(x)", "x: Matrix[2, 3]", (X,), 5.5),
    ("mean(x)", "x: Matrix[2, 3]", (X,), 5.5 / 6),
    ("max(x)", "x: Matrix[2, 3]", (X,), 4.0),
    ("min(x)", "x: Matrix[2, 3]", (X,), -2.0),
    ("norm(v)", "v: Vector[2]", (V,), 5.0),
    ("logsumexp(v)", "v: Vector[2]", (np.array([0.0, 0.0]),), math.log(2.0)),
    ("logsumexp(v)", "v: Vector[2]", (np.array([1000.0, 1000.0]),), 1000 + math.log(2)),
    ("dot(v, v)", "v: Vector[2]", (V,), 25.0),
    ("v @ v", "v: Vector[2]", (V,), 25.0),
    ("K * v[0]", "v: Vector[2]", (V,), 6.0),
    ("v[-1]", "v: Vector[2]", (V,), -4.0),
]


@pytest.mark.parametrize("body, params, args, expected", CASES)
def test_scalar_values(body, params, args, expected):
    got = val(body, params, args, prelude="K = 2")
    assert np.shape(got) == ()
    assert abs(float(got) - expected) <= 1e-12 * max(1.0, abs(expected))


def test_reductions_with_axis_and_keepdims():
    assert np.array_equal(val("sum(x, axis=0)", ret="Vector[3]"), [1.5, 2.0, 2.0])
    assert np.array_equal(val("sum(x, axis=-1)", ret="Vector[2]"), [2.0, 3.5])
    assert np.array_equal(
        val("max(x, axis=1, keepdims=True)", ret="Matrix[2, 1]"), [[3.0], [4.0]]
    )
    assert np.array_equal(val("min(x, axis=(0, 1))"), -2.0)
    assert np.array_equal(val("mean(x, axis=(0,))", ret="Vector[3]"), [0.75, 1, 1])
    assert np.allclose(
        val("norm(x, axis=0)", ret="Vector[3]"),
        [math.sqrt(1.25), math.sqrt(20), math.sqrt(10)],
        rtol=1e-14,
    )
    lse = val("logsumexp(x, axis=0, keepdims=True)", ret="Matrix[1, 3]")
    hand = [
        [
            math.log(math.e + math.exp(0.5)),
            math.log(math.exp(-2) + math.exp(4)),
            math.log(math.exp(3) + math.exp(-1)),
        ]
    ]
    assert lse.shape == (1, 3) and np.allclose(lse, hand, rtol=1e-14)


def test_softmax_and_log_softmax():
    v = np.array([0.0, math.log(3.0)])
    sm = val("softmax(v)", "v: Vector[2]", (v,), "Vector[2]")
    assert np.allclose(sm, [0.25, 0.75], rtol=1e-14)
    lsm = val("log_softmax(v, axis=0)", "v: Vector[2]", (v,), "Vector[2]")
    assert np.allclose(lsm, [math.log(0.25), math.log(0.75)], rtol=1e-14)
    big = val(
        "log_softmax(v)", "v: Vector[2]", (np.array([1000.0, 1000.0]),), "Vector[2]"
    )
    assert np.allclose(big, [-math.log(2), -math.log(2)], rtol=1e-14)


def test_matmul_batched_and_broadcast():
    a = np.arange(8.0).reshape(2, 2, 2)
    b = np.array([[1.0, 0.0], [0.0, 2.0]])
    got = val("a @ b", "a: Tensor[2, 2, 2], b: Matrix[2, 2]", (a, b), "Tensor[2, 2, 2]")
    assert np.array_equal(got, [[[0, 2], [2, 6]], [[4, 10], [6, 14]]])
    w = np.array([1.0, 1.0])
    got = val("w @ a", "w: Vector[2], a: Tensor[2, 2, 2]", (w, a), "Matrix[2, 2]")
    assert np.array_equal(got, [[2, 4], [10, 12]])


def test_shapes_and_indexing():
    assert np.array_equal(val("x.T", ret="Matrix[3, 2]"), X.T)
    t = np.arange(24.0).reshape(2, 3, 4)
    got = val("transpose(t, (2, 0, 1))", "t: Tensor[2, 3, 4]", (t,), "Tensor[4, 2, 3]")
    assert got[3, 1, 2] == t[1, 2, 3]
    assert val("reshape(x, (3, -1))", ret="Matrix[3, 2]")[2, 1] == -1.0
    assert val("x[1, :]", ret="Vector[3]").tolist() == [0.5, 4.0, -1.0]
    assert val("x[:, ::-2]", ret="Matrix[2, 2]").tolist() == [[3.0, 1.0], [-1.0, 0.5]]
    assert val("x[0, -9:9]", ret="Vector[3]").tolist() == [1.0, -2.0, 3.0]
    assert val("x[None, 0]", ret="Matrix[1, 3]").shape == (1, 3)
    idx = np.array([1, 1, 0])
    got = val("x[0, i]", "x: Matrix[2, 3], i: Index[3]", (X, idx), "Vector[3]")
    assert got.tolist() == [-2.0, -2.0, 1.0]
    got = val(
        "x[arange(2), i]", "x: Matrix[2, 3], i: Index[2]", (X, idx[:2]), "Vector[2]"
    )
    assert got.tolist() == [-2.0, 4.0]
    got = val(
        "x[arange(2)[:, None], i]",
        "x: Matrix[2, 3], i: Index[2]",
        (X, idx[:2]),
        "Matrix[2, 2]",
    )
    assert got.tolist() == [[-2.0, -2.0], [4.0, 4.0]]
    got = val("concatenate((v, v), axis=0)", "v: Vector[2]", (V,), "Vector[4]")
    assert got.tolist() == [3.0, -4.0, 3.0, -4.0]
    got = val("stack((v, v), axis=1)", "v: Vector[2]", (V,), "Matrix[2, 2]")
    assert got.tolist() == [[3.0, 3.0], [-4.0, -4.0]]
    got = val("outer(v, v)", "v: Vector[2]", (V,), "Matrix[2, 2]")
    assert got.tolist() == [[9.0, -12.0], [-12.0, 16.0]]


def test_conv_and_pooling():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2))
    got = val(
        "conv2d(x, w, stride=2)",
        "x: Tensor[1, 1, 4, 4], w: Tensor[1, 1, 2, 2]",
        (x, w),
        "Tensor[1, 1, 2, 2]",
    )
    assert got[0, 0].tolist() == [[10.0, 18.0], [42.0, 50.0]]
    got = val(
        "conv2d(x, w, pad=1)",
        "x: Tensor[1, 1, 4, 4], w: Tensor[1, 1, 2, 2]",
        (x, w),
        "Tensor[1, 1, 5, 5]",
    )
    assert (
        got.shape == (1, 1, 5, 5) and got[0, 0, 0, 0] == 0.0 and got[0, 0, 1, 1] == 10
    )
    got = val("max_pool2d(x, 2)", "x: Tensor[1, 1, 4, 4]", (x,), "Tensor[1, 1, 2, 2]")
    assert got[0, 0].tolist() == [[5.0, 7.0], [13.0, 15.0]]
    got = val(
        "avg_pool2d(x, 2, stride=1)",
        "x: Tensor[1, 1, 4, 4]",
        (x,),
        "Tensor[1, 1, 3, 3]",
    )
    assert got[0, 0, 0].tolist() == [2.5, 3.5, 4.5]


def test_statements_helpers_and_loops():
    text = """
C = -2

@fuse
def sq(u: Scalar) -> Scalar:
    return u * u

def twice(u: Vector[n]) -> Vector[n]:
    return 2 * u

def f(v: Vector[n], i: Index[3]) -> Vector[n]:
    t = twice(v)
    t = t + 1
    t *= C
    h = zeros_like(v)
    for k in range(2):
        h[i] += sq(t[i])
    return h
"""
    ref = R.FormulaReference(text)
    assert ref.exported() == ["twice", "f"]
    got = ref.value("f", [np.array([0.0, 1.0]), np.array([1, 1, 0])])
    # t = -2 * (2 v + 1) = [-2, -6]; h[i] += t[i]**2 is NumPy's buffered update:
    # the repeated index 1 gets one add per iteration: h = 2 * [4, 36]
    assert got.tolist() == [8.0, 72.0]


def test_wrt_and_param_kinds():
    text = (
        "@wrt(b)\ndef f(a: Vector[n], b: Scalar, i: Index) -> Scalar:\n    return b\n"
    )
    ref = R.FormulaReference(text)
    assert ref.wrt("f") == [1]
    assert ref.param_kinds("f") == ["float", "float", "index"]
    ref = R.FormulaReference(text.replace("@wrt(b)\n", ""))
    assert ref.wrt("f") == [0, 1]


def test_kinks_are_recorded():
    ref = R.FormulaReference(
        "def f(x: Vector[2]) -> Scalar:\n    return sum(relu(x)) + max(x)\n"
    )
    _, rec = ref.run("f", [np.array([1e-9, 2.0])])
    assert R.near_kink(rec) and R.kink_kinds(rec) == {"relu"}
    _, rec = ref.run("f", [np.array([1.0, 1.0])])
    assert R.kink_kinds(rec) == {"max"}
    _, rec = ref.run("f", [np.array([1.0, 2.0])])
    assert not R.near_kink(rec)


def test_reference_grad_matches_closed_forms():
    ref = R.FormulaReference(
        "def f(x: Vector[3], y: Scalar) -> Scalar:\n"
        "    return sum(sin(x) * y) + logsumexp(x)\n"
    )
    x, y = np.array([0.3, -1.2, 2.0]), 1.7
    gx, gy = R.reference_grad(ref, "f", [x, y])
    soft = np.exp(x) / np.sum(np.exp(x))
    assert np.allclose(gx, np.cos(x) * y + soft, rtol=1e-9, atol=0)
    assert abs(gy - np.sum(np.sin(x))) <= 1e-9


def test_reference_grad_of_array_output_with_cotangent():
    ref = R.FormulaReference(
        "def f(a: Matrix[2, 2], v: Vector[2]) -> Vector[2]:\n    return a @ v\n"
    )
    a, v, c = (
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        np.array([0.5, -1.0]),
        np.array([2.0, 3.0]),
    )
    ga, gv = R.reference_grad(ref, "f", [a, v], cotangent=c)
    assert np.allclose(ga, np.outer(c, v), rtol=1e-10)
    assert np.allclose(gv, a.T @ c, rtol=1e-10)
    dd = R.directional_derivative(ref, "f", [a, v], [np.ones((2, 2)), np.zeros(2)])
    assert np.allclose(dd, [-0.5, -0.5], rtol=1e-10)


def test_directional_derivative_is_extrapolated():
    """The difference along a direction is Richardson-extrapolated from steps h and h/2:
    exp(20 x) has a fifth derivative of 3.2e6 exp(20 x), which leaves 3e-10 of relative
    error in the finer fourth-order estimate and less than 1e-11 after extrapolation
    (the oracle's f_jvp check, rtol 1e-6 of a small tangent, failed on such an error at
    seed 30574, where gradc's tangent was right to 1e-15)."""
    ref = R.FormulaReference("def f(x: Scalar) -> Scalar:\n    return exp(20.0 * x)\n")
    dd = R.directional_derivative(ref, "f", [0.1], [1.0])
    assert float(dd) == pytest.approx(20.0 * math.exp(2.0), rel=1e-11)


def test_reference_grad_is_extrapolated_at_a_stationary_point():
    """The gradient by differences is extrapolated the same way: seed 154564 of the
    language oracle sums 16 products of a few units to t = 27, near a stationary point
    of t cos t, so the gradient is 3e-3 where its terms are about 30; the finer estimate
    alone was 1e-8 off the gradient written out below, above rtol 1e-6 of its scale (the
    oracle reported gradc's right gradient as wrong)."""
    formula = G.generate(154564)
    x1, x2, x3, x4 = formula.args
    t = np.sum(x4 * (-x1 * x2 / x3))
    u = t * np.cos(t)
    by_hand = (np.tanh(u) + u * (1.0 - np.tanh(u) ** 2) + 1.0) * (
        np.cos(t) - t * np.sin(t)
    )
    ref = R.FormulaReference(formula.text)
    (g, *_) = R.reference_grad(ref, "f", formula.args)
    want = by_hand * (-x4 * x2 / x3)
    checked = np.isfinite(g)
    assert checked.sum() >= 4
    scale = np.abs(want).max()
    assert np.abs(g[checked] - want[checked]).max() <= 1e-7 * scale


def test_reference_grad_skips_stencils_across_kinks():
    ref = R.FormulaReference("def f(x: Vector[2]) -> Scalar:\n    return sum(abs(x))\n")
    (g,) = R.reference_grad(ref, "f", [np.array([1e-5, -2.0])])
    assert np.isnan(g[0]) and g[1] == pytest.approx(-1.0, rel=1e-12)


def test_frozen_where_removes_the_untaken_branch():
    ref = R.FormulaReference(
        "def f(x: Vector[2]) -> Scalar:\n    return sum(where(x > 0, log(x), 2 * x))\n"
    )
    x = np.array([0.0, 0.5])
    (g,) = R.reference_grad(ref, "f", [x])
    assert np.isnan(g[0])  # the stencil crosses the condition
    (g,) = R.reference_grad(ref, "f", [x], frozen=True)
    assert g[0] == pytest.approx(2.0, rel=1e-12) and g[1] == pytest.approx(
        2.0, rel=1e-9
    )


def test_pow_of_zero_base_with_input_exponent():
    ref = R.FormulaReference(
        "def f(x: Scalar, p: Scalar) -> Scalar:\n    return x ** p\n"
    )
    gx, gp = R.reference_grad(ref, "f", [0.0, 2.5])
    _, rec = ref.run("f", [0.0, 2.5])
    assert not R.near_kink(rec)  # the base at 0 guards only the stencils that cross it
    assert np.isnan(gx) and gp == 0.0


def test_reference_does_not_import_gradc():
    tree = ast.parse(Path(R.__file__).read_text())
    names = {
        a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    names |= {
        n.module.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not names & {"gradc", "compiler", "cli"}


def test_generator_is_deterministic_and_tracks_shapes():
    """One seed is one formula, and the reference value has the annotated rank."""
    for seed in range(200):
        a, b = G.generate(seed), G.generate(seed)
        assert a.text == b.text and a.families == b.families
        assert all(np.array_equal(x, y) for x, y in zip(a.args, b.args))
        ret = a.text.split("def f(")[1].split("->")[1].split(":\n")[0].strip()
        rank = 0 if ret == "Scalar" else len(ret.split("[")[1].split(","))
        value = R.FormulaReference(a.text).value("f", a.args)
        assert np.ndim(value) == rank, (seed, a.text)


def test_clamped_slices_are_the_ones_numpy_clamps_or_empties():
    """``x[:7]`` of 3 elements and ``x[3:1]`` are recorded; ``x[1:3]``, ``x[-3:]`` not."""
    assert R.clamped_slices((3,), (slice(None, 7),)) == [(0, slice(None, 7))]
    assert R.clamped_slices((5,), (slice(3, 1),)) == [(0, slice(3, 1))]
    assert R.clamped_slices((3, 4), (None, 0, slice(-5, None))) == [
        (1, slice(-5, None))
    ]
    assert R.clamped_slices((3,), (slice(1, 3),)) == []
    assert R.clamped_slices((3,), (slice(-3, None, -1),)) == []
    # a negative step starts at most at n - 1: x[2:-2:-2] of 2 elements starts at 1
    assert R.clamped_slices((2,), (slice(2, -2, -2),)) == [(0, slice(2, -2, -2))]
    assert R.clamped_slices((3,), (slice(None, -4, -1),)) == []
