"""A sum moved inside the linear maps constant along its axes, guarded (issue 16):
``rewrite/linear_sums.py`` makes ``guarded(bound < 1e300, fast, slow)`` and
``backend/branches.py`` prints it as ``if``/``else``.

GMM's ``d_means = -sum(d_Lx * Qdiags + einsum(d_Lx, L), axis=0)`` becomes
``-(sum(d_Lx, axis=0) * Qdiags + einsum(sum(d_Lx, axis=0), L))`` where the bound shows
neither order overflows. Checked: the emitted text; values against NumPy written here in
the formula's order; gradients against central differences; inputs for which summing
first overflows (or cancels an overflow the formula makes) take the formula's order,
bit for bit as NumPy; nan; ``f_backward``, ``f_hvp`` and ``f_hessian`` (batched: the
formula's order); the targets and scalar builds that keep the formula's order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import cli
import gradc
from tests.gradcheck import central_diff_grad
from tests.test_performance_rewrites import check_gradients, function_text

RNG = np.random.default_rng(1601)
BENCH_CASES = Path(__file__).resolve().parent.parent / "bench" / "cases"

# d_m = -sum(w * c + einsum("mij,ijk->mik", w, L), axis=0): w is the summed leaf
LINEAR = """
@wrt(m)
def f(
    m: Matrix[K, D],
    x: Matrix[N, D],
    L: Tensor[K, D, D],
    c: Matrix[K, D],
    w: Tensor[N, K, D],
) -> Scalar:
    xc = x[:, None, :] - m[None, :, :]
    return sum(w * (c * xc + einsum("ijk,mik->mij", L, xc)))
"""

# the same map with a square: its Hessian in m is constant, and f_hessian batches it
SQUARE = """
@wrt(v)
def f(v: Vector[D], x: Matrix[N, D], L: Matrix[D, D], c: Vector[D]) -> Scalar:
    xc = x - v[None, :]
    y = c * xc + einsum("jk,mk->mj", L, xc)
    return sum(y ** 2)
"""

# one product moved past: not worth a bound (one pass saved, one added)
ONE_PRODUCT = """
@wrt(m)
def f(m: Matrix[K, D], x: Matrix[N, D], c: Matrix[K, D], w: Tensor[N, K, D]) -> Scalar:
    xc = x[:, None, :] - m[None, :, :]
    return sum(w * (c * xc))
"""


def linear_inputs(n=6, k=3, d=4, scale=1.0):
    m, x = RNG.standard_normal((k, d)), RNG.standard_normal((n, d))
    L = np.tril(RNG.standard_normal((k, d, d)), -1)
    c = RNG.standard_normal((k, d))
    return [m, x, L, c, scale * RNG.standard_normal((n, k, d))]


def as_written(m, x, L, c, w):
    """d_m in the formula's order: the products over every point, then their sum."""
    return -(w * c + np.einsum("mij,ijk->mik", w, L)).sum(axis=0)


@pytest.fixture(scope="module")
def linear():
    return gradc.load_source(LINEAR)


def test_the_sum_moves_inside_under_a_bound():
    vg = function_text(gradc.compile_source(LINEAR), "f_value_and_grad")
    head = next(ln.strip() for ln in vg.splitlines() if ln.strip().startswith("if N"))
    branch = vg.split(head)[1]
    # a magnitude the forward pass computed already (the folded diagonal's bound,
    # rewrite/diagonal.py) is read by its name
    for name, value in re.findall(r"^ +(\w+) = (_magnitude\(\w+\))$", vg, re.M):
        head = re.sub(rf"\b{name}\b", value, head)
    # N * |w| * (|c| + D |L|): every partial result of both orders is below it
    for part in (
        "N * ",
        "_magnitude(w)",
        "_magnitude(c)",
        "_magnitude(L)",
        "< 1e300:",
    ):
        assert part in head, vg
    assert "e+" not in vg  # 1e300 as ruff format writes it (repr gives 1e+300)
    fast, slow = branch.split("else:")
    assert "_sum_leading(w)" in fast and "ij,ijk->ik" in fast, vg
    # the formula's order only in the else branch: the products over every point
    assert "w * c" not in fast and "(w.swapaxes(0, 1) @ L)" not in fast, vg
    assert "(w.swapaxes(0, 1) @ L).swapaxes(0, 1)" in slow, vg
    assert "_sum_leading(d_xc)" in slow, vg
    # the gradient's negation inside each branch (neg_into_guarded): d_m named in both
    assert "d_m = -(" in fast and "d_m = -_sum_leading(d_xc)" in slow, vg


def test_values_and_gradients(linear):
    args = linear_inputs()
    _, d_m = linear.f_value_and_grad(*args)
    np.testing.assert_allclose(d_m, as_written(*args), rtol=1e-12, atol=1e-13)
    check_gradients(linear, "f", args, [0])
    cache = linear.f_forward(*args)[1]
    np.testing.assert_array_equal(linear.f_backward(1.0, cache), d_m)


def test_where_summing_first_overflows_the_formulas_order_runs(linear):
    # each point's term is 1e307 * 1e-10: their sum is finite; sum(w) first is inf
    args = linear_inputs(n=100, k=2, d=3)
    args[2][:] = 0.0
    args[3][:] = 1e-10
    args[4][:] = 1e307
    with np.errstate(over="ignore"):
        assert np.isinf(args[4].sum(axis=0)).all()  # the other order would overflow
        _, d_m = linear.f_value_and_grad(*args)
    np.testing.assert_array_equal(d_m, as_written(*args))
    assert np.isfinite(d_m).all() and d_m[0, 0] == pytest.approx(-1e299, rel=1e-12)


def test_where_the_formula_overflows_summing_first_does_not_hide_it(linear):
    # w * c overflows at every point (+-inf, a nan sum); sum(w) first cancels to 0
    args = linear_inputs(n=4, k=1, d=2)
    args[2][:] = 0.0
    args[3][:] = 10.0
    args[4][:] = 1e308
    args[4][1::2] = -1e308
    assert (args[4].sum(axis=0) == 0.0).all()
    with np.errstate(over="ignore", invalid="ignore"):
        expect = as_written(*args)
        _, d_m = linear.f_value_and_grad(*args)
    assert np.isnan(expect).all()
    np.testing.assert_array_equal(d_m, expect)


def test_nan_reaches_the_gradient(linear):
    args = linear_inputs()
    args[4][2, 1, 0] = np.nan
    _, d_m = linear.f_value_and_grad(*args)
    np.testing.assert_array_equal(np.isnan(d_m), np.isnan(as_written(*args)))
    assert np.isnan(d_m[1, 0]) and np.isfinite(d_m[0]).all()


def test_large_finite_entries_agree_either_way(linear):
    # |w| ~ 1e160: the magnitude (a sum of squares) overflows, so the formula's order
    # runs; a smaller scale takes the moved sum; both agree with NumPy to rounding
    for scale in (1e160, 1e100):
        args = linear_inputs(scale=scale)
        _, d_m = linear.f_value_and_grad(*args)
        np.testing.assert_allclose(d_m, as_written(*args), rtol=1e-12)


def test_second_derivatives_and_the_batched_hessian():
    source = gradc.compile_source(SQUARE, hvp=True)
    assert "_magnitude(" in function_text(source, "f_value_and_grad")
    mod = gradc.load_source(SQUARE, hvp=True)
    v, x = RNG.standard_normal(4), RNG.standard_normal((7, 4))
    L, c = RNG.standard_normal((4, 4)), RNG.standard_normal(4)
    # y is affine in v, so the Hessian is 2 sum_n A^T A with A = -(diag(c) + L)
    A = -(np.diag(c) + L)
    expect = 2.0 * 7 * A.T @ A
    np.testing.assert_allclose(mod.f_hessian(v, x, L, c), expect, rtol=1e-12)
    t = RNG.standard_normal(4)
    np.testing.assert_allclose(mod.f_hvp(v, x, L, c, t), expect @ t, rtol=1e-12)

    def grad(v):
        return mod.f_value_and_grad(v, x, L, c)[1]

    numeric = central_diff_grad(lambda v: mod.f(v, x, L, c), [v], [0])[0]
    np.testing.assert_allclose(grad(v), numeric, rtol=1e-6, atol=1e-8)


def test_one_product_is_not_worth_a_bound():
    source = gradc.compile_source(ONE_PRODUCT)
    assert "_magnitude" not in source and "if N" not in source


@pytest.mark.parametrize("target", ["array-api", "numba"])
def test_other_targets_keep_the_formulas_order(target):
    if target == "numba":
        pytest.importorskip("numba", reason="the numba target's library")
    source = gradc.compile_source(LINEAR, target=target)
    assert "_magnitude" not in source


def test_scalar_build_keeps_the_formulas_order():
    # literal shapes small enough for Python floats: the scalar code sums as written
    tiny = LINEAR.replace("[K, D]", "[2, 2]").replace("[N, D]", "[3, 2]")
    tiny = tiny.replace("[K, D, D]", "[2, 2, 2]").replace("[N, K, D]", "[3, 2, 2]")
    source = gradc.compile_source(tiny)
    assert "_magnitude" not in source and "import numpy" in source
    mod = gradc.load_source(tiny)
    args = linear_inputs(n=3, k=2, d=2)
    np.testing.assert_allclose(
        mod.f_value_and_grad(*args)[1], as_written(*args), rtol=1e-12, atol=1e-13
    )


def test_gradc_check_evaluates_the_guard(tmp_path, capsys):
    path = tmp_path / "linear.grad"
    path.write_text(LINEAR)
    assert cli.main(["check", str(path)]) == 0
    assert "match finite differences" in capsys.readouterr().out


# the sum in the forward pass: f, f_forward, f_jvp and f_hvp hold guards too
FORWARD = """
@wrt(m, L, c)
def f(m: Matrix[K, D], x: Matrix[N, D], L: Tensor[K, D, D], c: Matrix[K, D]) -> Scalar:
    xc = x[:, None, :] - m[None, :, :]
    s = sum(c * xc + einsum("ijk,mik->mij", L, xc), axis=0)
    return sum(s * s)


@wrt(v)
def g(v: Vector[D], x: Matrix[N, D], L: Matrix[D, D], c: Vector[D]) -> Scalar:
    xc = x - v[None, :]
    s = sum(c * xc + einsum("jk,mk->mj", L, xc), axis=0)
    return sum(s * s) + sum(xc**2)
"""


def test_guards_in_every_function_of_a_forward_sum():
    source = gradc.compile_source(FORWARD, jvp=True, hvp=True)
    for name in ("f_forward", "f_value_and_grad", "f_jvp", "g_hvp"):
        assert "_magnitude(" in function_text(source, name), name
    mod = gradc.load_source(FORWARD, jvp=True, hvp=True)
    m, x = RNG.standard_normal((3, 4)), RNG.standard_normal((9, 4))
    L, c = RNG.standard_normal((3, 4, 4)), RNG.standard_normal((3, 4))
    xc = x[:, None, :] - m[None]
    s = (c * xc + np.einsum("ijk,mik->mij", L, xc)).sum(axis=0)
    value, grads = mod.f_value_and_grad(m, x, L, c)
    assert value == pytest.approx(np.sum(s * s), rel=1e-13)
    check_gradients(mod, "f", [m, x, L, c], [0, 2, 3])
    out, cache = mod.f_forward(m, x, L, c)
    assert out == value
    for got, want in zip(mod.f_backward(1.0, cache), grads):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    tangents = [RNG.standard_normal(a.shape) for a in (m, L, c)]
    _, jvp = mod.f_jvp(m, x, L, c, *tangents)
    expect = sum(np.vdot(gr, t) for gr, t in zip(grads, tangents))
    assert jvp == pytest.approx(expect, rel=1e-12)
    v, L2, c2 = (
        RNG.standard_normal(4),
        RNG.standard_normal((4, 4)),
        RNG.standard_normal(4),
    )
    H = mod.g_hessian(v, x, L2, c2)
    eps, eye = 1e-5, np.eye(4)
    numeric = [
        (mod.g_grad(v + eps * e, x, L2, c2) - mod.g_grad(v - eps * e, x, L2, c2)) / 2e-5
        for e in eye
    ]
    np.testing.assert_allclose(H, np.array(numeric), rtol=1e-6, atol=1e-6)
    t = RNG.standard_normal(4)
    np.testing.assert_allclose(
        mod.g_hvp(v, x, L2, c2, t), H @ t, rtol=1e-12, atol=1e-12
    )


# The family: d_m = -sum_n(F^T w) for F any sum of linear maps of xc, each with the
# NumPy of its adjoint applied to w (the formula's order: the maps at every point, then
# the sum), written here independently of gradc.
MAPS = {
    "c * xc": lambda w, a: a["c"] * w,
    "einsum('ijk,mik->mij', L, xc)": lambda w, a: np.einsum("mij,ijk->mik", w, a["L"]),
    "-(e * xc)": lambda w, a: -(a["e"] * w),
    "s * xc": lambda w, a: a["s"] * w,
    "einsum('jk,mik->mij', M, xc)": lambda w, a: np.einsum("mij,jk->mik", w, a["M"]),
}
PAIRS = [(p, q, op) for p in MAPS for q in MAPS if p < q for op in "+-"]


def family_source(p: str, q: str, op: str) -> str:
    return f"""
@wrt(m)
def f(
    m: Matrix[K, D], x: Matrix[N, D], w: Tensor[N, K, D], c: Matrix[K, D],
    e: Matrix[K, D], L: Tensor[K, D, D], M: Matrix[D, D], s: Scalar,
) -> Scalar:
    xc = x[:, None, :] - m[None, :, :]
    return sum(w * ({p.replace("'", '"')} {op} {q.replace("'", '"')}))
"""


def family_inputs(scale: float = 1.0, coef: float = 1.0, n: int = 6):
    k, d = 3, 4
    a = {
        "c": coef * RNG.standard_normal((k, d)),
        "e": coef * RNG.standard_normal((k, d)),
        "L": coef * RNG.standard_normal((k, d, d)),
        "M": coef * RNG.standard_normal((d, d)),
        "s": coef * 0.7,
    }
    m, x = RNG.standard_normal((k, d)), RNG.standard_normal((n, d))
    w = scale * (1.0 + RNG.random((n, k, d)))  # one sign: sum(w) first can overflow
    return [m, x, w, a["c"], a["e"], a["L"], a["M"], a["s"]], a


def family_reference(p, q, op, args, a):
    w = args[2]
    sign = 1.0 if op == "+" else -1.0
    return -(MAPS[p](w, a) + sign * MAPS[q](w, a)).sum(axis=0)


@pytest.mark.parametrize("p, q, op", PAIRS)
def test_every_pair_of_maps_moves_under_the_bound(p, q, op):
    src = family_source(p, q, op)
    assert "_magnitude(w)" in gradc.compile_source(src), src
    mod = gradc.load_source(src)
    args, a = family_inputs()
    _, d_m = mod.f_value_and_grad(*args)
    want = family_reference(p, q, op, args, a)
    np.testing.assert_allclose(d_m, want, rtol=1e-12, atol=1e-12)
    # entries near the top of the range, maps that shrink them: the formula's order is
    # finite, the sum of w over the points first is not
    args, a = family_inputs(scale=1e307, coef=1e-12, n=50)
    with np.errstate(over="ignore"):
        assert np.isinf(args[2].sum(axis=0)).all()
        _, d_m = mod.f_value_and_grad(*args)
    want = family_reference(p, q, op, args, a)
    assert np.isfinite(want).all()
    np.testing.assert_allclose(d_m, want, rtol=1e-12)


# ---------------------------------------------------------------------------
# A product of two arrays under scales constant along the summed axes: the einsum of
# the two, scaled afterwards (batch norm's d_v = sum(-0.5 * d_xhat * xhat / t, axis=0)),
# under count * |u| * |v| * max(1, |s|) * ...; sums that keep their axes (layer norm's)
# too. Each form in the formula's order is written here in NumPy.

PRODUCTS = {
    "s * u * v / c": lambda u, v, s, c: s * u * v / c,
    "u * v * c * s": lambda u, v, s, c: u * v * c * s,
    "-(u * v) * s / c": lambda u, v, s, c: -(u * v) * s / c,
    "u * (v * s) / c": lambda u, v, s, c: u * (v * s) / c,
}
# (the sum's arguments, the type of c, the axis the sum keeps or drops)
MODES = {
    "axis=0": ("axis=0", "Vector[D]", "Vector[D]", 0, False),
    "axis=1, keepdims=True": (
        "axis=1, keepdims=True",
        "Matrix[N, 1]",
        "Matrix[N, 1]",
        1,
        True,
    ),
}


def product_source(form: str, mode: str) -> str:
    call, c_type, out_type, _, _ = MODES[mode]
    return f"""
@wrt(u, v)
def f(u: Matrix[N, D], v: Matrix[N, D], s: Scalar, c: {c_type}) -> {out_type}:
    return sum({form}, {call})
"""


def product_inputs(mode: str, n: int = 7, d: int = 5, scale: float = 1.0):
    c_shape = (d,) if mode == "axis=0" else (n, 1)
    u = scale * RNG.standard_normal((n, d))
    v = scale * RNG.standard_normal((n, d))
    return [u, v, -0.5, 0.5 + RNG.random(c_shape)]


def product_reference(form: str, mode: str, args) -> np.ndarray:
    _, _, _, axis, keep = MODES[mode]
    return PRODUCTS[form](*args).sum(axis=axis, keepdims=keep)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("form", list(PRODUCTS))
def test_a_scaled_product_is_summed_as_an_einsum_under_the_bound(form, mode):
    src = product_source(form, mode)
    text = function_text(gradc.compile_source(src), "f_forward")
    fast = text.split("< 1e300:")[1].split("else:")[0]
    assert "_magnitude(u)" in text and "_magnitude(v)" in text, text
    assert (
        "np.einsum(" in fast or "_vdot_last(u, v)" in fast
    ) and "u * " not in fast, text
    mod = gradc.load_source(src)
    args = product_inputs(mode)
    np.testing.assert_allclose(
        mod.f(*args), product_reference(form, mode, args), rtol=1e-13
    )
    # the backward (a broadcast of the gradient, no sum) against the reference's VJP
    value, cache = mod.f_forward(*args)
    g = RNG.standard_normal(value.shape)
    grads = mod.f_backward(g, cache)
    u, v, s, c = args
    h = 1e-6
    for k in (0, 1):
        dx = RNG.standard_normal(args[k].shape)
        plus, minus = list(args), list(args)
        plus[k], minus[k] = args[k] + h * dx, args[k] - h * dx
        fd = (
            product_reference(form, mode, plus) - product_reference(form, mode, minus)
        ) / (2 * h)
        assert np.sum(grads[k] * dx) == pytest.approx(np.sum(g * fd), rel=1e-7)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("form", list(PRODUCTS))
def test_a_scaled_product_past_the_bound_runs_in_the_formulas_order(form, mode):
    mod = gradc.load_source(product_source(form, mode))
    # |u| * |v| near 1e302 (each magnitude finite, its squares too): past the bound,
    # so the formula's order runs, as NumPy writes it (fewer than 1,024 entries: NumPy's
    # own sum), bit for bit
    args = product_inputs(mode, scale=1e150)
    want = product_reference(form, mode, args)
    assert np.isfinite(want).all()
    np.testing.assert_array_equal(mod.f(*args), want)
    # scales that overflow every term in the formula's order (s and c or 1 / c large), with
    # u * v of alternating sign, which the einsum first would cancel to 0: the
    # formula's inf and nan stay
    args = product_inputs(mode)
    args[0][:] = 1.0
    args[1][:] = 1e10
    args[1][1::2] = -1e10
    args[2] = 1e300
    args[3] = np.full_like(args[3], 1e-300 if "/ c" in form else 1e300)
    with np.errstate(over="ignore", invalid="ignore"):
        want = product_reference(form, mode, args)
        got = mod.f(*args)
    assert not np.isfinite(want).any()
    np.testing.assert_array_equal(got, want)
    # nan reaches its own entries only
    args = product_inputs(mode)
    args[0][2, 3] = np.nan
    got, want = mod.f(*args), product_reference(form, mode, args)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got).sum() == 1
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-13)


@pytest.mark.parametrize("case", ["batchnorm", "layernorm"])
def test_normalisation_backward_reads_one_einsum(case):
    """Batch norm's and layer norm's d_v: the einsum of d_xhat and xhat under the bound;
    value and gradients against central differences, and the formula's order past it."""
    src = (BENCH_CASES / f"{case}.grad").read_text()
    vg = function_text(gradc.compile_source(src), f"{case}_value_and_grad")
    fast, slow = vg.split("< 1e300:")[1].split("else:")
    reader = (
        'np.einsum("ab,ab->b", d_xhat, xhat)'
        if case == "batchnorm"
        else "_vdot_last(d_xhat, xhat)"
    )
    assert reader in fast and "-0.5 * d_xhat * xhat / xhat_t1" in slow, vg
    mod = gradc.load_source(src)
    n, d = 6, 5
    args = [
        RNG.standard_normal((n, d)),
        RNG.standard_normal(d),
        RNG.standard_normal(d),
        RNG.standard_normal((n, d)),
    ]
    check_gradients(mod, case, args, [0, 1, 2])
    # an upstream of 1e300: past the bound; the same gradients, scaled
    big = [*args[:3], 1e300 * args[3]]
    _, grads = getattr(mod, f"{case}_value_and_grad")(*args)
    _, big_grads = getattr(mod, f"{case}_value_and_grad")(*big)
    for g, bg in zip(grads, big_grads):
        np.testing.assert_allclose(bg, 1e300 * g, rtol=1e-12, atol=1e288)
