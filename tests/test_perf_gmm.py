"""ADBench's GMM objective (bench/cases/gmm.grad, issue 16): the batched products of its
``einsum("ijk,mik->mij", L, x)`` and their adjoints spelled ``@`` on transposed views
(measured in bench/README.md, "The GMM objective").

Each test asserts the emitted spelling and checks values against NumPy written here and
gradients against central finite differences in float64 (``tests/gradcheck.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gradc
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(1616)
GMM = Path(__file__).resolve().parent.parent / "bench" / "cases" / "gmm.grad"

QX = """
@wrt(L, xc)
def f(L: Tensor[K, D, D], xc: Tensor[N, K, D], w: Tensor[N, K, D]) -> Scalar:
    return sum(w * einsum("ijk,mik->mij", L, xc))
"""


def test_batched_einsum_and_its_adjoints_are_matmuls():
    # einsum("ijk,mik->mij", L, x): for each i, x[:, i, :] @ L[i].T; the adjoints are
    # d_L[i] = w[:, i, :].T @ x[:, i, :] and d_x[:, i, :] = w[:, i, :] @ L[i]
    vg = function_text(gradc.compile_source(QX), "f_value_and_grad")
    body = vg.split("# line 4: ")[1]
    assert body.strip().splitlines()[1:] == [
        "    out = _vdot(w, (xc.swapaxes(0, 1) @ L.swapaxes(1, 2)).swapaxes(0, 1))",
        "    d_L = w.transpose(1, 2, 0) @ xc.swapaxes(0, 1)",
        "    d_xc = (w.swapaxes(0, 1) @ L).swapaxes(0, 1)",
        "    return out, (d_L, d_xc)",
    ], vg
    mod = gradc.load_source(QX)
    L, xc = RNG.standard_normal((3, 4, 4)), RNG.standard_normal((5, 3, 4))
    w = RNG.standard_normal((5, 3, 4))
    expect = np.sum(w * np.einsum("ijk,mik->mij", L, xc))
    assert mod.f(L, xc, w) == pytest.approx(expect, rel=1e-13)
    check_gradients(mod, "f", [L, xc, w], [0, 1])


@pytest.mark.parametrize(
    "spec, shapes, spelled",
    [
        # batch leading, already matmul's layout: no transpose
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], "a @ b"),
        # the output's last letter belongs to the first operand: the product swapped
        ("bij,bjk->bki", [(2, 3, 4), (2, 4, 5)], "b.swapaxes(1, 2) @ a.swapaxes(1, 2)"),
        # the batch letter last everywhere
        ("ijb,jkb->kib", [(3, 4, 2), (4, 5, 2)], "(a.transpose(2, 0, 1) @ b.transpose(2, 0, 1)).swapaxes(0, 2)"),
        # two batch letters, the batch last in the output
        ("pqij,pqjk->ikpq", [(2, 3, 4, 5), (2, 3, 5, 6)], "(a @ b).transpose(2, 3, 0, 1)"),
    ],
)  # fmt: skip
def test_batched_einsum_spellings(spec, shapes, spelled):
    a, b = (RNG.standard_normal(s) for s in shapes)
    want = np.einsum(spec, a, b)
    w = RNG.standard_normal(want.shape)
    kinds = {2: "Matrix", 3: "Tensor", 4: "Tensor"}
    dims = "ABCDEFGH"
    letters = {}
    for sub, s in zip(spec.split("->")[0].split(","), shapes):
        letters.update(zip(sub, s))
    names = {c: dims[k] for k, c in enumerate(sorted(letters))}

    def annot(sub):
        return f"{kinds[len(sub)]}[{', '.join(names[c] for c in sub)}]"

    ins, out = spec.split("->")[0].split(","), spec.split("->")[1]
    src = (
        f"def f(a: {annot(ins[0])}, b: {annot(ins[1])}, w: {annot(out)}) -> Scalar:\n"
        f'    return sum(w * einsum("{spec}", a, b))\n'
    )
    text = function_text(gradc.compile_source(src), "f_value_and_grad")
    assert f"_vdot(w, {spelled})\n" in text or f"= {spelled}\n" in text, text
    mod = gradc.load_source(src)
    assert mod.f(a, b, w) == pytest.approx(np.sum(w * want), rel=1e-12)
    check_gradients(mod, "f", [a, b, w], [0, 1, 2])


def test_a_batched_einsum_too_long_for_the_line_is_split():
    # (x @ y).swapaxes(0, 1) overflows 88 columns, x @ y alone does not: the product
    # becomes a statement of its own (passes/layout.py: product_order), still BLAS's @
    names = "matrices_of_k", "points_centred_xc"
    src = (
        f"def f({names[0]}: Tensor[K, D, D], {names[1]}: Tensor[N, K, D]) -> Scalar:\n"
        f'    return sum(einsum("ijk,mik->mij", {names[0]}, {names[1]}) ** 2)\n'
    )
    text = function_text(gradc.compile_source(src), "f_value_and_grad")
    product = f"out_t1 = {names[1]}.swapaxes(0, 1) @ {names[0]}.swapaxes(1, 2)\n"
    assert product in text and "out_t2 = out_t1.swapaxes(0, 1)\n" in text, text
    assert "optimize=True" not in text, text
    mod = gradc.load_source(src)
    L, xc = RNG.standard_normal((3, 2, 2)), RNG.standard_normal((4, 3, 2))
    want = (np.einsum("ijk,mik->mij", L, xc) ** 2).sum()
    assert mod.f(L, xc) == pytest.approx(want, rel=1e-13)
    check_gradients(mod, "f", [L, xc], [0, 1])


def test_a_product_too_long_even_alone_takes_numpys_blas_path():
    # the product alone overflows the line: einsum(optimize=True), NumPy's BLAS path
    names = "stack_of_matrices_with_a_long_name", "points_with_a_rather_long_name"
    src = (
        f"def f({names[0]}: Tensor[K, D, D], {names[1]}: Tensor[N, K, D]) -> Scalar:\n"
        f'    return sum(einsum("ijk,mik->mij", {names[0]}, {names[1]}))\n'
    )
    text = function_text(gradc.compile_source(src), "f_value_and_grad")
    assert f'np.einsum("ijk,mik->imj", {", ".join(names)}, optimize=True)' in text
    mod = gradc.load_source(src)
    L, xc = RNG.standard_normal((3, 2, 2)), RNG.standard_normal((4, 3, 2))
    assert mod.f(L, xc) == pytest.approx(np.einsum("ijk,mik->", L, xc), rel=1e-13)
    check_gradients(mod, "f", [L, xc], [0, 1])


@pytest.mark.parametrize(
    "spec",
    ["ik,kj->ij", "bij,bij->bi", "bij,bjk->bk", "bi,bj->bij", "bij,bjk,bkl->bil"],
)
def test_other_einsums_stay_einsum(spec):
    # no batch letter, no summed letter, a letter summed inside one operand, three operands
    assert gradc.ops.linalg.batched_product(spec) is None


def gmm_inputs(N, D, K):
    return [
        RNG.standard_normal(K),
        RNG.standard_normal((K, D)),
        0.1 * RNG.standard_normal((K, D)),
        np.tril(0.3 * RNG.standard_normal((K, D, D)), k=-1),
        RNG.standard_normal((N, D)),
        1.0,
        0.5,
    ]


def gmm_reference(alphas, means, q, L, x, gamma, m):
    """ADBench's objective in NumPy, one component at a time (the Wishart prior without
    its constant), independent of gradc's spelling."""
    N, D = x.shape
    inner = np.empty((N, len(alphas)))
    for k in range(len(alphas)):
        Q = np.diag(np.exp(q[k])) + L[k]
        z = (x - means[k]) @ Q.T
        inner[:, k] = alphas[k] + q[k].sum() - 0.5 * (z * z).sum(axis=1)
    top = inner.max(axis=1)
    slse = np.sum(np.log(np.exp(inner - top[:, None]).sum(axis=1)) + top)
    lse_a = np.log(np.exp(alphas - alphas.max()).sum()) + alphas.max()
    prior = 0.5 * gamma**2 * (np.sum(np.exp(2 * q)) + np.sum(L * L)) - m * q.sum()
    return -0.5 * N * D * np.log(2 * np.pi) + slse - N * lse_a + prior


@pytest.mark.parametrize("N, D, K", [(7, 3, 4), (6, 2, 5)])
def test_gmm_bench_case(N, D, K):
    mod = gradc.load_source(GMM.read_text())
    args = gmm_inputs(N, D, K)
    assert mod.gmm(*args) == pytest.approx(gmm_reference(*args), rel=1e-12)
    check_gradients(mod, "gmm", args, [0, 1, 2, 3])


ROWS = """
def f(X: Tensor[N, K, D], G: Tensor[N, K, D], a: Matrix[N, K]) -> Scalar:
    s = sum(X**2, axis=2)
    return sum(a * s) + sum(sum(G * X, axis=0) ** 2)
"""


def test_sums_of_products_along_an_axis_are_einsums():
    # sum(a * b, axis=k) -> einsum("abc,abc->..", a, b), sum(a ** 2, axis=k) likewise
    source = gradc.compile_source(ROWS)
    fwd = function_text(source, "f")
    assert "s = _vdot_last(X, X)" in source, source  # along the last axis: the helper
    assert 'np.einsum("abc,abc->bc", G, X)' in source, source
    assert ".sum(axis" not in function_text(source, "f_forward"), source
    mod = gradc.load_source(ROWS)
    X, G = RNG.standard_normal((5, 3, 4)), RNG.standard_normal((5, 3, 4))
    a = RNG.standard_normal((5, 3))
    expect = np.sum(a * (X**2).sum(axis=2)) + np.sum((G * X).sum(axis=0) ** 2)
    assert mod.f(X, G, a) == pytest.approx(expect, rel=1e-13), fwd
    check_gradients(mod, "f", [X, G, a], [0, 1, 2])


@pytest.mark.parametrize("target", ["numba", "array-api"])
def test_sums_of_products_along_an_axis_stay_sums_on_other_targets(target):
    # a rule of the ``numpy`` phase: the numba kernels read the sum, the Array API has
    # no einsum of its own
    source = gradc.compile_source(ROWS, target=target)
    assert '"abc,abc->ab"' not in source and '"abc,abc->bc"' not in source, source


def test_a_product_read_twice_or_kept_dims_keeps_its_sum():
    # the backward reads X * X's factor only, but q = X * G is read by two sums; keepdims
    # and a vector's sum (vdot already) are left alone
    src = """
def f(X: Matrix[N, D], G: Matrix[N, D]) -> Scalar:
    q = X * G
    return sum(sum(q, axis=1) ** 2) + sum(sum(X * X, axis=1, keepdims=True) * G)
"""
    source = gradc.compile_source(src)
    assert "q = X * G" in source and "_sum_trailing(q)" in source, source
    assert "_sum_trailing(X * X, keepdims=True)" in source, source
    check_gradients(
        gradc.load_source(src),
        "f",
        [RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))],
        [0, 1],
    )


SHARED = """
@wrt(X)
def f(X: Matrix[N, D], a: Vector[D], W: Matrix[D, D]) -> Scalar:
    Y = a * X + X @ W
    return sum(Y ** 2)
"""


def test_a_doubled_adjoint_read_twice_is_not_doubled_again():
    # small_factor_first leaves a * (2 Y) alone when 2 Y is read elsewhere too: one pass
    # over it, where (a * Y) * 2.0 is two (GMM's d_xcentered = d_Lxcentered * Qdiags)
    vg = function_text(gradc.compile_source(SHARED), "f_value_and_grad")
    assert [line.strip() for line in vg.strip().splitlines()][-6:] == [
        "out = _vdot(Y, Y)",
        "d_Y = _two * Y",
        "# line 4: Y = a * X + X @ W",
        "d_X = d_Y * a",
        "d_X += d_Y.dot(W.T)",
        "return out, d_X",
    ], vg
    mod = gradc.load_source(SHARED)
    X, a, W = (RNG.standard_normal(s) for s in [(5, 3), (3,), (3, 3)])
    assert mod.f(X, a, W) == pytest.approx(np.sum((a * X + X @ W) ** 2), rel=1e-13)
    check_gradients(mod, "f", [X, a, W], [0])


SCALED = """
@wrt(X)
def f(X: Tensor[N, K, D], a: Matrix[N, K]) -> Scalar:
    return sum(logsumexp(a - 0.5 * sum(X**2, axis=2), axis=1))
"""


def test_a_power_of_two_folds_into_the_small_factors_constant():
    # (-0.5 * d)[:, :, None] * X * 2.0 -> (-d)[:, :, None] * X: one pass over X, not two
    vg = function_text(gradc.compile_source(SCALED), "f_value_and_grad")
    assert [line.strip() for line in vg.strip().splitlines()][-3:] == [
        "out = (np.log(out_t3) + out_t2).sum()",
        "d_X = (-(out_t1 * (_one / out_t3)[:, None]))[:, :, None] * X",
        "return out, d_X",
    ], vg
    mod = gradc.load_source(SCALED)
    X, a = RNG.standard_normal((6, 3, 2)), RNG.standard_normal((6, 3))
    inner = a - 0.5 * (X**2).sum(axis=2)
    top = inner.max(axis=1, keepdims=True)
    expect = np.sum(np.log(np.exp(inner - top).sum(axis=1)) + top[:, 0])
    assert mod.f(X, a) == pytest.approx(expect, rel=1e-13)
    check_gradients(mod, "f", [X, a], [0])


@pytest.mark.parametrize(
    "shape",
    [(200, 2), (600, 2), (600, 8), (600, 9), (3, 700, 3), (0, 4), (600, 0), (1, 1)],
)
def test_vdot_last_on_both_sides_of_its_threshold(shape):
    # rows of at most 8, 512 rows or more: the products, then BLAS with ones; else einsum
    vdot_last = gradc.load_source(ROWS)._vdot_last
    a, b = RNG.standard_normal(shape), RNG.standard_normal(shape)
    expect = np.einsum("...i,...i->...", a, b)
    got = vdot_last(a, b)
    assert got.shape == expect.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expect, rtol=1e-13, atol=1e-13)
    # transposed and strided inputs, inf and nan where the products have them
    if a.size >= 4 and shape[-1] > 1:
        at = np.ascontiguousarray(np.swapaxes(a, 0, -1)).swapaxes(0, -1)
        np.testing.assert_allclose(vdot_last(at, b), expect, rtol=1e-13, atol=1e-13)
        a[(0,) * a.ndim] = np.inf
        b[(1,) * (b.ndim - 1) + (0,)] = np.nan
        with np.errstate(invalid="ignore"):
            want = np.einsum("...i,...i->...", a, b)
            have = vdot_last(a, b)
        np.testing.assert_array_equal(np.isnan(have), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(have), np.isinf(want))
