"""Batch-major layout and a diagonal folded into matrix products (issue 16, GMM large):
``passes/layout.py``, ``rewrite/diagonal.py``, ``rewrite/shape_ops.transpose_of_new_axes``
and the helpers that read arrays in memory order (``_sum_strided``, ``_vdot_last``).

An outer broadcast a stack of matrix products reads along a later axis is made with that
axis first and read through a transposed view; ``a * x + einsum(L, x)`` becomes
``einsum(L + diag(a), x)``. Checked: the emitted text; values and gradients against
NumPy written here in the formula's order and against central differences, for every
outer operation, batch position and operand order, and the fold's family (matrix letter
order, operand, product and addend orders); where the rules must not fire; the
helpers on every memory order of 2-4 dimensional arrays (views, Fortran order, negative
strides, axes of one and zero elements) against NumPy's sums.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(2611)

# ADBench's Q_k (x_n - mu_k) as the GMM case writes it
GMM_Q = """
@wrt(means, q, L)
def f(means: Matrix[K, D], q: Matrix[K, D], L: Tensor[K, D, D], x: Matrix[N, D]) -> Scalar:
    Qdiags = exp(q)
    xcentered = x[:, None, :] - means[None, :, :]
    Lx = Qdiags * xcentered + einsum("ijk,mik->mij", L, xcentered)
    return sum(logsumexp(-0.5 * sum(Lx**2, axis=2), axis=1))
"""


def gmm_inputs(n=7, k=3, d=4):
    return [
        RNG.standard_normal((k, d)),
        0.3 * RNG.standard_normal((k, d)),
        np.tril(0.4 * RNG.standard_normal((k, d, d)), -1),
        RNG.standard_normal((n, d)),
    ]


def gmm_as_written(means, q, L, x):
    xc = x[:, None, :] - means[None, :, :]
    lx = np.exp(q) * xc + np.einsum("ijk,mik->mij", L, xc)
    inner = -0.5 * (lx**2).sum(axis=2)
    m = inner.max(axis=1, keepdims=True)
    return float((np.log(np.exp(inner - m).sum(axis=1)) + m[:, 0]).sum())


def test_the_outer_broadcast_is_made_batch_major_and_the_diagonal_folded():
    vg = function_text(gradc.compile_source(GMM_Q), "f_value_and_grad")
    # (K, D, N) in memory: x's copy transposed (N x D, small), the broadcast in C order
    assert (
        "xcentered_t1 = np.ascontiguousarray(x.T)[None, :, :] - means[:, :, None]\n"
        "    xcentered = xcentered_t1.transpose(2, 0, 1)\n"
    ) in vg, vg
    # each component's product is Q_k @ (x - mu_k)^T, its result (K, D, N) too
    assert "Lx_t3 = Lx_t4 @ xcentered.transpose(1, 2, 0)\n" in vg, vg
    assert "Lx = Lx_t3.transpose(2, 0, 1)\n" in vg, vg
    assert "L + np.where(np.eye(D) == _one, Qdiags[:, :, None], _zero)" in vg, vg
    # one BLAS product per component computes Lx; no second pass adds Qdiags * xcentered
    assert "Qdiags * xcentered" not in vg.split("d_")[0], vg
    assert "optimize=True" not in vg, vg


@pytest.mark.parametrize("n,k,d", [(7, 3, 4), (600, 5, 2), (300, 4, 10)])
def test_values_and_gradients_match_the_formula(n, k, d):
    mod = gradc.load_source(GMM_Q)
    args = gmm_inputs(n, k, d)
    assert mod.f(*args) == pytest.approx(gmm_as_written(*args), rel=1e-12)
    check_gradients(mod, "f", args, [0, 1, 2])


def test_inputs_of_any_layout_give_the_same_values():
    mod = gradc.load_source(GMM_Q)
    args = gmm_inputs(600, 5, 3)
    value, grads = mod.f_value_and_grad(*args)
    fortran = [np.asfortranarray(a) for a in args]
    reversed_rows = [a[::-1][::-1] for a in args]
    for other in (fortran, reversed_rows):
        v, g = mod.f_value_and_grad(*other)
        assert v == pytest.approx(value, rel=1e-13)
        for a, b in zip(g, grads):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


# every outer operation, the batch axis at each later position, both operand orders
OUTER = """
@wrt(u, v, W)
def f(u: Matrix[A, C], v: Matrix[B, C], W: Tensor[B, C, E]) -> Scalar:
    t = u[:, None, :] {op} v[None, :, :]
    return sum(einsum({spec}) ** 2)
"""
SPECS = {
    # t is (A, B, C); batch b at position 1, contracted c
    "tW": ('"abc,bce->abe", t, W', lambda t, W: np.einsum("abc,bce->abe", t, W)),
    "Wt": ('"bce,abc->bae", W, t', lambda t, W: np.einsum("bce,abc->bae", W, t)),
    "out": ('"abc,bce->bea", t, W', lambda t, W: np.einsum("abc,bce->bea", t, W)),
}
OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("spec", SPECS)
def test_every_outer_operation_and_operand_order(op, spec):
    text, einsum = SPECS[spec]
    source = OUTER.format(op=op, spec=text)
    vg = function_text(gradc.compile_source(source), "f_value_and_grad")
    assert f"np.ascontiguousarray(u.T)[None, :, :] {op} v[:, :, None]" in vg, vg
    assert ".transpose(2, 0, 1)" in vg, vg
    mod = gradc.load_source(source)
    a, b, c, e = 9, 4, 3, 5
    u = RNG.standard_normal((a, c))
    v = RNG.uniform(0.5, 2.0, (b, c))  # a divisor away from 0
    W = RNG.standard_normal((b, c, e))
    t = OPS[op](u[:, None, :], v[None, :, :])
    assert mod.f(u, v, W) == pytest.approx(float((einsum(t, W) ** 2).sum()), rel=1e-12)
    check_gradients(mod, "f", [u, v, W], [0, 1, 2])


LEADING = """
@wrt(u)
def f(u: Matrix[B, C], v: Matrix[A, C], W: Tensor[B, C, E]) -> Scalar:
    t = u[:, None, :] - v[None, :, :]
    return sum(einsum("bac,bce->bae", t, W) ** 2)
"""

# literal sizes: the summed axis (50) is longer than the free one (3); the batch leads
LITERAL = """
@wrt(u)
def f(u: Matrix[4, 50], v: Matrix[3, 50], W: Tensor[4, 50, 2]) -> Scalar:
    t = u[:, None, :] - v[None, :, :]
    return sum(einsum("bac,bce->bae", t, W) ** 2)
"""

NAMED_INDEX = """
@wrt(u)
def f(u: Matrix[A, C], v: Matrix[B, C], W: Tensor[B, C, E]) -> Scalar:
    ue = u[:, None, :]
    t = ue - v[None, :, :]
    return sum(einsum("abc,bce->abe", t, W) ** 2)
"""


def test_a_leading_batch_axis_still_takes_the_summed_axis_before_the_free_one():
    vg = function_text(gradc.compile_source(LEADING), "f_value_and_grad")
    t = "t = (u[:, :, None] - np.ascontiguousarray(v.T)[None, :, :]).swapaxes(1, 2)\n"
    assert t in vg, vg
    # the product keeps the free axis innermost: (W_b^T @ t_b^T)^T
    assert "out_t1 = (W.swapaxes(1, 2) @ t.swapaxes(1, 2)).swapaxes(1, 2)\n" in vg, vg
    mod = gradc.load_source(LEADING)
    u, v = RNG.standard_normal((4, 3)), RNG.standard_normal((6, 3))
    W = RNG.standard_normal((4, 3, 2))
    t = u[:, None, :] - v[None, :, :]
    want = float((np.einsum("bac,bce->bae", t, W) ** 2).sum())
    assert mod.f(u, v, W) == pytest.approx(want, rel=1e-12)
    check_gradients(mod, "f", [u, v, W], [0])


def test_no_relayout_where_literal_sizes_or_a_named_operand_say_so():
    for source, line in (
        (LITERAL, "t = u[:, None, :] - v[None, :, :]\n"),
        (NAMED_INDEX, "t = ue - v[None, :, :]\n"),
    ):
        vg = function_text(gradc.compile_source(source), "f_value_and_grad")
        assert line in vg, vg
        assert "ascontiguousarray" not in vg, vg


def test_other_targets_keep_the_formula_layout():
    numba = gradc.compile_source(GMM_Q, target="numba")
    vg = function_text(numba, "f_value_and_grad")
    assert "xcentered = x[:, None, :] - means[None, :, :]\n" in vg, vg
    assert "np.eye" not in numba


# ---------------------------------------------------------------------------
# the diagonal folded into the products: where it must not fire

SCALED_READ_TWICE = """
@wrt(a)
def f(a: Matrix[K, D], L: Tensor[K, D, D], x: Tensor[N, K, D]) -> Scalar:
    s = a * x
    return sum((s + einsum("ijk,mik->mij", L, x)) ** 2) + sum(s)
"""

ROW_SCALE = """
@wrt(a)
def f(a: Vector[D], L: Tensor[K, D, D], x: Tensor[N, K, D]) -> Scalar:
    return sum((a * x + einsum("ijk,mik->mij", L, x)) ** 2)
"""

OPERANDS_SWAPPED = """
@wrt(a, L)
def f(a: Matrix[K, D], L: Tensor[K, D, D], x: Tensor[N, K, D]) -> Scalar:
    return sum((einsum("mik,ijk->mij", x, L) + x * a) ** 2)
"""


def fold_inputs(n=5, k=3, d=4):
    return (
        RNG.standard_normal((k, d)),
        RNG.standard_normal((k, d, d)),
        RNG.standard_normal((n, k, d)),
    )


def test_the_fold_needs_the_scaling_read_only_there_and_varying_along_the_matrices():
    for source in (SCALED_READ_TWICE, ROW_SCALE):
        assert "np.eye" not in gradc.compile_source(source)
    a, L, x = fold_inputs()
    mod = gradc.load_source(ROW_SCALE)
    a1 = a[0]
    want = float(((a1 * x + np.einsum("ijk,mik->mij", L, x)) ** 2).sum())
    assert mod.f(a1, L, x) == pytest.approx(want, rel=1e-12)


def test_the_fold_with_operands_in_either_order():
    source = gradc.compile_source(OPERANDS_SWAPPED)
    assert "L + np.where(np.eye(D) == _one, a[:, :, None], _zero)" in source, source
    mod = gradc.load_source(OPERANDS_SWAPPED)
    a, L, x = fold_inputs()
    want = float(((np.einsum("mik,ijk->mij", x, L) + x * a) ** 2).sum())
    assert mod.f(a, L, x) == pytest.approx(want, rel=1e-12)
    check_gradients(mod, "f", [a, L, x], [0, 1])


LINEAR_FOLD = """
@wrt(a)
def f(a: Matrix[K, D], L: Tensor[K, D, D], x: Tensor[N, K, D]) -> Scalar:
    y = einsum("mik,ijk->mij", x, L) + x * a
    return sum(y[:, :, 1])
"""


def test_the_fold_is_guarded_by_a_bound():
    vg = function_text(gradc.compile_source(LINEAR_FOLD), "f_value_and_grad")
    head = next(ln.strip() for ln in vg.splitlines() if "_magnitude" in ln)
    # n * |x| * (|L| + |a|): every entry, product and partial sum of both orders is below
    assert head == "if D * _magnitude(x) * (_magnitude(L) + _magnitude(a)) < 1e300:", vg
    fast, slow = vg.split(head)[1].split("else:")
    assert "np.eye(D)" in fast and "x * a" in slow.split("return")[0], vg


def test_where_folding_overflows_or_cancels_an_overflow_the_formula_order_runs():
    mod = gradc.load_source(LINEAR_FOLD)
    a, L, x = fold_inputs()
    a, L = a.copy(), L.copy()
    # L_jj + a_j overflows, the formula's a_j x_j + L_jj x_j (|x| < 1) does not
    a[0, 1], L[0, 1, 1], x = 1.5e308, 1.5e308, 1e-3 * x
    want = (np.einsum("mik,ijk->mij", x, L) + x * a)[:, :, 1].sum()
    assert np.isfinite(want)
    assert mod.f(a, L, x) == want  # the formula's order, bit for bit
    # the formula overflows (inf - inf = nan) where folding first would cancel to 0
    a[0, 1], L[0, 1, 1], x = 1e308, -1e308, 1e3 * x
    x[:, 0, 1] = 2.0  # both terms overflow at every point, whatever the draw: inf - inf
    with np.errstate(over="ignore", invalid="ignore"):
        want = (np.einsum("mik,ijk->mij", x, L) + x * a)[:, :, 1].sum()
        assert np.isnan(want)
        assert np.isnan(mod.f(a, L, x))


def test_the_fold_keeps_nan_and_inf():
    mod = gradc.load_source(OPERANDS_SWAPPED)
    a, L, x = fold_inputs()
    for k, v in ((0, np.inf), (1, np.nan)):
        a2 = a.copy()
        a2[k, 1] = v
        want = ((np.einsum("mik,ijk->mij", x, L) + x * a2) ** 2).sum()
        np.testing.assert_equal(mod.f(a2, L, x), want)


# ---------------------------------------------------------------------------
# new axes moved by a transpose are an index

MOVED = """
def f(x: Matrix[N, D]) -> Tensor[D, N, D]:
    return transpose(x[:, None, :], (1, 0, 2)) * 2.0 + transpose(x[None, :, :], (2, 1, 0))
"""


def test_a_transpose_moving_only_new_axes_is_an_index():
    fwd = function_text(gradc.compile_source(MOVED), "f_forward")
    # the first transpose is x[None, :, :] (one node with the second's operand); the
    # second reorders x's own axes and stays a transpose
    assert "out_t1 = x[None, :, :]\n" in fwd, fwd
    assert "out = out_t1 * _two + out_t1.swapaxes(0, 2)\n" in fwd, fwd
    mod = gradc.load_source(MOVED)
    x = RNG.standard_normal((3, 2))
    want = np.transpose(x[:, None, :], (1, 0, 2)) * 2.0 + np.transpose(
        x[None, :, :], (2, 1, 0)
    )
    np.testing.assert_array_equal(mod.f(x), want)


# ---------------------------------------------------------------------------
# the helpers on every memory order


@pytest.fixture(scope="module")
def helpers():
    mod = gradc.load_source(GMM_Q)
    for name in ("_sum_strided", "_sum_leading", "_sum_trailing", "_vdot_last"):
        assert hasattr(mod, name), name
    return mod


def layouts(shape):
    """``shape``-shaped float64 arrays laid out every way: each axis order in memory, a
    reversed axis, every second element."""
    n = int(np.prod(shape))
    for order in itertools.permutations(range(len(shape))):
        mem = RNG.standard_normal([shape[k] for k in order])
        yield mem.transpose(np.argsort(order))
    yield np.asfortranarray(RNG.standard_normal(shape))
    yield RNG.standard_normal(shape)[::-1]
    yield RNG.standard_normal((*shape[:-1], 2 * shape[-1]))[..., ::2]
    yield np.arange(n, dtype=np.float64).reshape(shape)


SHAPES = [
    (40, 30),
    (1, 2000),
    (2000, 1),
    (12, 11, 10),
    (9, 1, 200),
    (6, 5, 4, 30),
    (0, 50),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_sums_in_memory_order_match_numpy(helpers, shape):
    for x in layouts(shape):
        nd = x.ndim
        for k in range(1, nd + 1):
            lead = tuple(range(k))
            trail = tuple(range(nd - k, nd))
            axis = 0 if k == 1 else lead
            got = helpers._sum_leading(x, axis)
            np.testing.assert_allclose(got, x.sum(lead), rtol=1e-12, atol=1e-12)
            kept = helpers._sum_leading(x, axis, keepdims=True)
            assert kept.shape == x.sum(lead, keepdims=True).shape
            axis = -1 if k == 1 else tuple(range(-k, 0))
            got = helpers._sum_trailing(x, axis)
            np.testing.assert_allclose(got, x.sum(trail), rtol=1e-12, atol=1e-12)
            kept = helpers._sum_trailing(x, axis, keepdims=True)
            assert kept.shape == x.sum(trail, keepdims=True).shape
        for axes in itertools.chain.from_iterable(
            itertools.combinations(range(nd), r) for r in range(1, nd + 1)
        ):
            got = helpers._sum_strided(x, axes)
            np.testing.assert_allclose(got, x.sum(axes), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(600, 2), (300, 5, 3), (40, 30, 8), (7, 3), (0, 4)])
def test_rows_of_products_in_memory_order_match_numpy(helpers, shape):
    for a, b in zip(layouts(shape), layouts(shape)):
        got = helpers._vdot_last(a, b)
        np.testing.assert_allclose(got, (a * b).sum(-1), rtol=1e-12, atol=1e-12)
        assert got.shape == shape[:-1]


# f_hvp and f_hessian read the laid-out values and the guarded fold too
MEAN_SHIFT = """
@wrt(mu)
def f(
    mu: Vector[D], q: Matrix[K, D], L: Tensor[K, D, D], x: Matrix[N, D], m: Matrix[K, D]
) -> Scalar:
    xc = x[:, None, :] - (m + mu[None, :])[None, :, :]
    Lx = exp(q) * xc + einsum("ijk,mik->mij", L, xc)
    return sum(logsumexp(-0.5 * sum(Lx**2, axis=2), axis=1))
"""


def test_hvp_and_hessian_against_differences_of_the_gradient():
    source = gradc.compile_source(MEAN_SHIFT, hvp=True)
    assert "np.ascontiguousarray(x.T)[None, :, :]" in function_text(source, "f_hvp")
    mod = gradc.load_source(MEAN_SHIFT, hvp=True)
    k, d, n = 3, 4, 50
    mu, q, L, x, m = (
        RNG.standard_normal(d),
        0.3 * RNG.standard_normal((k, d)),
        np.tril(0.4 * RNG.standard_normal((k, d, d)), -1),
        RNG.standard_normal((n, d)),
        RNG.standard_normal((k, d)),
    )
    rest = (q, L, x, m)
    eps = 1e-6
    numeric = np.stack(
        [
            (mod.f_grad(mu + eps * e, *rest) - mod.f_grad(mu - eps * e, *rest))
            / (2 * eps)
            for e in np.eye(d)
        ]
    )
    hessian = mod.f_hessian(mu, *rest)
    np.testing.assert_allclose(
        hessian, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max()
    )
    v = RNG.standard_normal(d)
    np.testing.assert_allclose(
        mod.f_hvp(mu, *rest, v), hessian @ v, rtol=1e-12, atol=1e-12
    )


# the fold's family: matrices (i, j, k) or (i, k, j), either einsum operand order, either
# product order, either addend first
FOLD_FAMILY = """
@wrt(a, L)
def f(a: Matrix[K, D], L: Tensor[K, D, D], x: Tensor[N, K, D]) -> Scalar:
    y = {y}
    return sum(y * y)
"""


def fold_cases():
    for mat, ops, mul, first in itertools.product(
        ("ijk", "ikj"), ("Lx", "xL"), ("a * x", "x * a"), ("scaled", "product")
    ):
        spec = f"{mat},mik->mij" if ops == "Lx" else f"mik,{mat}->mij"
        args = "L, x" if ops == "Lx" else "x, L"
        product = f'einsum("{spec}", {args})'
        y = f"{mul} + {product}" if first == "scaled" else f"{product} + {mul}"
        yield pytest.param(y, spec, id=f"{mat}-{ops}-{mul.replace(' * ', '')}-{first}")


@pytest.mark.parametrize("y,spec", list(fold_cases()))
def test_the_fold_family_against_numpy_and_differences(y, spec):
    source = FOLD_FAMILY.format(y=y)
    assert "np.where(np.eye(D) == _one" in gradc.compile_source(source), source
    mod = gradc.load_source(source)
    a, L, x = fold_inputs()
    ops = (L, x) if spec.startswith("i") else (x, L)
    want = np.einsum(spec, *ops) + a * x
    assert mod.f(a, L, x) == pytest.approx(float((want * want).sum()), rel=1e-12)
    check_gradients(mod, "f", [a, L, x], [0, 1])
