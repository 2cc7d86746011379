"""The performance rewrites and spellings, one test each.

Every rewrite here is checked two ways: the emitted text shows it fired (the thing it
removes is gone), and the gradient still agrees with central finite differences in
float64 (tests/gradcheck.py), so a rewrite that fires but changes the value fails.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradcheck import assert_fd_close, central_diff_grad

from gradc import compile_source, load_source
from gradc.core.ir import Builder
from gradc.rewrite import make_rewriter

RNG = np.random.default_rng(8)


def function_text(source: str, name: str) -> str:
    """The text of one emitted function (up to the next top-level ``def``)."""
    return source.split(f"\ndef {name}(", 1)[1].split("\ndef ", 1)[0]


def check_gradients(text: str, args: list, wrt: list[int], fuse: bool = True) -> None:
    """value_and_grad of ``text`` against central differences of its value."""
    mod = load_source(text, fuse=fuse)
    value, grads = mod.f_value_and_grad(*args)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    fd = central_diff_grad(mod.f, args, wrt)
    assert_fd_close(grads, fd, scale=abs(float(value)))


def builder():
    b = Builder(rewrite=make_rewriter(fuse=True))
    x = b.emit("param", name="x", shape=(3,), dtype="float")
    y = b.emit("param", name="y", shape=(3,), dtype="float")
    s = b.emit("param", name="s", shape=(), dtype="float")
    return b, x, y, s


# ------------------------------------------------------------------ rewrites


def test_sub_flip_reuses_the_existing_difference():
    b, x, y, _ = builder()
    d = b.sub(x, y)
    flipped = b.sub(y, x)
    assert b[flipped].op == "neg" and b[flipped].args == (d,)


def test_sub_flip_in_rosenbrock_shares_the_forward_residual():
    text = (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    return sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)\n"
    )
    vg = function_text(compile_source(text), "f_value_and_grad")
    code = [ln.strip() for ln in vg.splitlines() if not ln.strip().startswith("#")]
    # one subtraction x[1:] - x[:-1]**2, read again by the backward (not recomputed flipped)
    assert sum(ln.count("x[1:] -") for ln in code) == 1, vg
    assert "d_x[:-1] = _two * out_t1 - 400.0 * out_t1 * out_t2 - _two" in code, vg
    check_gradients(text, [RNG.standard_normal(7)], [0])


def test_scalars_multiply_first():
    b, x, _, s = builder()
    e = b.mul(b.const(2.0), b.mul(b.const(3.0), x))  # 2 * (3 * x) -> 6 * x
    assert b[e].op == "mul"
    scalar, array = b[e].args
    assert b[array].op == "param" and b.is_const(scalar, 6.0)
    # 2 * (s * x) stays: 2 * s may overflow where 2 * (s * x) does not (see test_numerics.py)
    e = b.mul(b.const(2.0), b.mul(s, x))
    assert b[e].args[0] == b.const(2.0) and b[b[e].args[1]].op == "mul"
    text = "def f(w: Vector[n], lam: Scalar) -> Scalar:\n    return lam * sum(w ** 2)\n"
    vg = function_text(compile_source(text), "f_value_and_grad")
    assert "d_w = lam * (_two * w)" in vg, vg
    check_gradients(text, [RNG.standard_normal(4), 0.7], [0, 1])


def test_scalars_multiply_first_never_looks_through_a_named_value():
    text = (
        "def f(w: Vector[n], lam: Scalar) -> Scalar:\n"
        "    q = lam * w\n"
        "    return sum(3 * q + q * q)\n"
    )
    fwd = function_text(compile_source(text), "f_forward")
    assert "q = lam * w" in fwd and "3.0 * q" in fwd, fwd
    check_gradients(text, [RNG.standard_normal(4), 0.7], [0, 1])


def test_negation_moves_out_of_sums_and_products():
    b, x, y, _ = builder()
    total = b.emit("sum", b.neg(x), axis=None, keepdims=False)
    assert b[total].op == "neg" and b[b[total].args[0]].op == "sum"
    m = b.emit("param", name="M", shape=(3, 3), dtype="float")
    prod = b.emit("matmul", b.neg(x), m)
    assert b[prod].op == "neg" and b[b[prod].args[0]].op == "matmul"
    both = b.emit("matmul", b.neg(x), b.neg(y))  # (-a) @ (-c) is left alone here
    assert b[both].op == "matmul"


def test_negated_weight_gradient_accumulates_with_minus_equals():
    text = (
        "@wrt(w, b)\n"
        "def f(w: Vector[d], b: Scalar, X: Matrix[n, d], y: Vector[n]) -> Scalar:\n"
        "    return -mean(y * log(sigmoid(X @ w + b)))\n"
    )
    vg = function_text(compile_source(text), "f_value_and_grad")
    code = vg.split("# line 3")[1]
    # -(-mean(...)) cancels; softplus(-z) from the exp(-|z|) the gradient's sigmoid reads
    assert "out = y.dot(np.maximum(-out_t1, _zero) + np.log1p(out_t2)) / n" in code, vg
    assert "d_w = out_g1.dot(X)" in code and "+ -" not in code, vg
    X = RNG.standard_normal((6, 3))
    y = RNG.uniform(0, 1, 6)
    check_gradients(text, [RNG.standard_normal(3), 0.2, X, y], [0, 1])


def test_weight_gradient_is_the_gradient_transposed_times_the_data_transposed():
    # X^T g as (g^T X)^T, HIPS autograd's orientation: one BLAS call either way; which
    # is faster depends on the machine's BLAS kernels (bench/README, "The weight
    # gradient's orientation, by the worst case of two kinds of machine"). The gradient
    # of a transposed factor, X.T @ W, is X g, no transpose
    text = "def f(W: Matrix[d, c], X: Matrix[n, d]) -> Scalar:\n    return sum(tanh(X @ W))\n"
    vg = function_text(compile_source(text), "f_value_and_grad")
    assert re.search(r"d_W = \w+\.T\.dot\(X\)\.T\n", vg), vg
    flipped = text.replace("Matrix[n, d]", "Matrix[d, n]").replace("X @", "X.T @")
    vg = function_text(compile_source(flipped), "f_value_and_grad")
    assert re.search(r"d_W = X\.dot\(\w+\)\n", vg), vg
    check_gradients(
        flipped, [RNG.standard_normal((3, 2)), RNG.standard_normal((3, 5))], [0, 1]
    )
    check_gradients(
        text, [RNG.standard_normal((3, 2)), RNG.standard_normal((5, 3))], [0, 1]
    )


def test_sums_of_products_are_dot_products():
    # sum(2 * a ** 2 + b ** 2), mean(a * b): one BLAS dot per product (the backward reads
    # none of the products: d/dx = 4 x + y / n). Only between sums of squares and with
    # constant factors >= 1: sum(s * exp(y) - y) keeps its sum (see test_numerics.py)
    text = (
        "@wrt(x)\n"
        "def f(x: Vector[n], y: Vector[n], s: Scalar) -> Scalar:\n"
        "    return sum(2 * x ** 2 + y ** 2) + mean(x * y) + sum(s * exp(y) - y)\n"
    )
    fwd = function_text(compile_source(text), "f_forward")
    assert "2.0 * x.dot(x) + y.dot(y)" in fwd, fwd
    assert "x.dot(y) / n" in fwd and "(s * np.exp(y) - y).sum()" in fwd, fwd
    check_gradients(text, [RNG.standard_normal(5), RNG.standard_normal(5), 0.7], [0])


def test_a_product_the_backward_reads_keeps_its_sum():
    # swish = x * sigmoid(x) is read again by its local gradient: no second product
    text = "def f(x: Vector[n]) -> Scalar:\n    return sum(x * sigmoid(x))\n"
    vg = function_text(compile_source(text), "f_value_and_grad")
    assert ".sum()" in vg and ".dot(" not in vg, vg
    # a product the formula names keeps its line
    named = "def f(x: Vector[n]) -> Scalar:\n    q = x * x\n    return sum(q)\n"
    fwd = function_text(compile_source(named), "f_forward")
    assert "q = x * x" in fwd and "q.sum()" in fwd, fwd
    # sums along an axis are einsums (rewrite/contraction.py sum_of_products_along)
    rows = "def f(X: Matrix[n, m]) -> Scalar:\n    return max(sum(X * X, axis=1))\n"
    assert "_vdot_last(X, X)" in compile_source(rows)  # along the last axis
    check_gradients(text, [RNG.standard_normal(6)], [0])


@pytest.mark.parametrize("layout", ["C", "F", "mixed", "strided"])
def test_vdot_of_matrices_in_any_memory_order(layout):
    text = "def f(A: Matrix[n, m], B: Matrix[n, m]) -> Scalar:\n    return sum(A * B)\n"
    src = compile_source(text)
    assert "_vdot(A, B)" in function_text(src, "f_forward"), src
    mod = load_source(text)
    A, B = RNG.standard_normal((7, 5)), RNG.standard_normal((7, 5))
    if layout == "F":
        A, B = np.asfortranarray(A), np.asfortranarray(B)
    elif layout == "mixed":
        B = np.asfortranarray(B)
    elif layout == "strided":
        A, B = RNG.standard_normal((14, 5))[::2], RNG.standard_normal((7, 10))[:, ::2]
    assert mod.f(A, B) == pytest.approx((A * B).sum(), rel=1e-13, abs=1e-13)
    value, (dA, dB) = mod.f_value_and_grad(A, B)
    assert np.array_equal(dA, B) and np.array_equal(dB, A)


# ------------------------------------------------------------------ spellings


@pytest.mark.parametrize("fuse", [True, False])
def test_reductions_and_products_are_array_methods(fuse):
    text = (
        "def f(W: Matrix[n, n], x: Vector[n]) -> Scalar:\n"
        "    q = W @ x\n"
        "    return sum(q ** 2) + mean(x) + max(q) + sum(tanh(x))\n"
    )
    src = compile_source(text, fuse=fuse)
    fwd = function_text(src, "f_forward")
    assert "W.dot(x)" in fwd and "q.dot(q)" in fwd and "q.max()" in fwd, fwd
    assert "out_t2.sum()" in fwd, fwd  # out_t2 = tanh(x), cached for the backward
    assert "x.sum() / n" in fwd, fwd
    assert (
        "np.sum(" not in src
        and "np.mean(" not in src
        and " @ " not in src.split('"""')[-1]
    )
    check_gradients(
        text, [RNG.standard_normal((3, 3)), RNG.standard_normal(3)], [0, 1], fuse
    )


@pytest.mark.parametrize("shape", [(7,), (4, 5)])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_mean_as_sum_over_count_is_bitwise_np_mean(shape, axis):
    if axis == -1 and len(shape) == 1:
        axis = 0
    kind = "Vector[n]" if len(shape) == 1 else "Matrix[n, m]"
    ax = "" if axis is None else f", axis={axis}"
    out = (
        "Scalar"
        if axis is None or len(shape) == 1
        else ("Vector[m]" if axis == 0 else "Vector[n]")
    )
    mod = load_source(f"def f(x: {kind}) -> {out}:\n    return mean(x{ax})\n")
    x = RNG.standard_normal(shape) * 1e3
    assert np.array_equal(mod.f(x), np.mean(x, axis=axis))


def test_outer_products_are_the_outer_helper_and_bitwise_np_outer():
    # the lecture's 2 q x^T, and a user's outer(v, w)
    text = (
        "def f(W: Matrix[n, m], x: Vector[m], v: Vector[n]) -> Scalar:\n"
        "    q = W @ x\n"
        "    return sum(tanh(outer(v, q)))\n"
    )
    src = compile_source(text)
    assert "np.outer(" not in src
    assert "_outer(v, q)" in function_text(src, "f_forward")
    assert re.search(r"d_W = _outer\(\w+, x\)", src), src
    mod = load_source(
        "def f(v: Vector[n], w: Vector[m]) -> Matrix[n, m]:\n    return outer(v, w)\n"
    )
    v, w = RNG.standard_normal(5) * 1e3, RNG.standard_normal(4) * 1e-3
    assert np.array_equal(mod.f(v, w), np.outer(v, w))
    sq = load_source(
        "def f(W: Matrix[n, m], x: Vector[m]) -> Scalar:\n    return sum((W @ x) ** 2)\n"
    )
    W, x = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    assert np.array_equal(sq.f_grad(W, x)[0], np.outer(2.0 * W.dot(x), x))
    check_gradients(
        text,
        [RNG.standard_normal((3, 2)), RNG.standard_normal(2), RNG.standard_normal(3)],
        [0, 1, 2],
    )


# one shape per way _outer writes the products: few (x[:, None] * y), long rows
# (unbuffered), short rows (np.einsum), and the edges of each
OUTER_SHAPES = [
    (5, 4),
    (0, 3),
    (127, 256),
    (128, 256),
    (300, 128),
    (3000, 127),
    (4096, 10),
]


@pytest.mark.parametrize("m, n", OUTER_SHAPES)
def test_outer_helper_makes_np_outer_products_at_every_shape(m, n):
    mod = load_source(
        "def f(v: Vector[n], w: Vector[m]) -> Matrix[n, m]:\n    return outer(v, w)\n"
    )
    v, w = RNG.standard_normal(m) * 1e150, RNG.standard_normal(n) * 1e150
    if m and n:
        v[m // 2], w[n // 3], w[-1] = -0.0, np.inf, np.nan
    size = np.getbufsize()
    with np.errstate(invalid="ignore", over="ignore"):
        got, want = mod.f(v, w), np.outer(v, w)
    assert got.shape == (m, n) and got.dtype == np.float64
    assert got.flags.c_contiguous and got.flags.owndata
    # bitwise: the same values, nan where np.outer has nan, inf where it overflows
    assert np.array_equal(got, want, equal_nan=True)
    signed = m * n < 32768 or n >= 128  # the einsum rows read -0.0 as 0.0
    if signed:
        assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.getbufsize() == size


def test_outer_helper_restores_the_buffer_size_when_numpy_raises():
    mod = load_source(
        "def f(v: Vector[n], w: Vector[m]) -> Matrix[n, m]:\n    return outer(v, w)\n"
    )
    v, w = np.ones(300), np.ones(256)
    v[7], w[3] = np.inf, 0.0  # inf * 0: invalid
    size = np.getbufsize()
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        mod.f(v, w)
    assert np.getbufsize() == size
    with np.errstate(invalid="ignore"):
        assert np.isnan(mod.f(v, w)[7, 3])


def test_outer_helper_buffer_size_stays_in_its_thread():
    # NumPy keeps the buffer size per thread (a contextvar in NumPy 2): another thread
    # never sees the 16 that _outer sets while it writes unbuffered
    mod = load_source(
        "def f(v: Vector[n], w: Vector[m]) -> Matrix[n, m]:\n    return outer(v, w)\n"
    )
    v, w = RNG.standard_normal(256), RNG.standard_normal(256)
    want, size = np.outer(v, w), np.getbufsize()
    done, seen, equal = threading.Event(), set(), []

    def products():
        try:
            for _ in range(300):
                equal.append(np.array_equal(mod.f(v, w), want))
        finally:
            done.set()

    worker = threading.Thread(target=products)
    worker.start()
    seen.add(np.getbufsize())
    while not done.is_set():
        seen.add(np.getbufsize())
        done.wait(0.0001)  # let the worker run
    worker.join()
    assert equal == [True] * 300 and seen == {size}


def test_float_literals_except_whole_exponents():
    text = "def f(x: Vector[n]) -> Scalar:\n    return sum(2 * x ** 3 + 1 - x / 4)\n"
    src = compile_source(text)
    body = function_text(src, "f_value_and_grad")
    assert "x**3" in body and "x**3.0" not in body, body
    # 2.0 and 1.0 on an array: the module's 0-d arrays (tests/test_array_constants.py)
    assert "out = (_two * x**3 + _one - x / 4.0).sum()" in body, body
    assert "d_x = 6.0 * x**2 - 0.25" in body, body
    code = [ln for ln in body.splitlines() if ln.strip().startswith(("out =", "d_x ="))]
    assert len(code) == 2 and not any(
        re.search(r"[^\w.*]\d+ [*/+-] ", ln) for ln in code
    )
    check_gradients(text, [RNG.standard_normal(5)], [0])


def test_scalar_sigmoid_inline_on_a_name_and_a_call_on_a_long_line():
    short = "def f(s: Scalar) -> Scalar:\n    z = 2 * s\n    return sigmoid(z)\n"
    src = compile_source(short)
    assert "1.0 / (1.0 + math.exp(-z)) if z > -700.0 else math.exp(z)" in src
    assert "_sigmoid_scalar" not in src
    long_name = "a_rather_long_name_for_the_sigmoid_value_here"
    text = (
        "def f(abcdefghijklmnop: Scalar) -> Scalar:\n"
        f"    {long_name} = sigmoid(abcdefghijklmnop)\n"
        f"    return {long_name} * 2\n"
    )
    src = compile_source(text)
    assert f"{long_name} = _sigmoid_scalar(abcdefghijklmnop)" in src
    assert all(len(ln) <= 88 for ln in src.splitlines() if "_sigmoid_scalar(abc" in ln)

    def sigmoid(z):  # NumPy's own stable form, as a reference
        return float(np.exp(-np.logaddexp(0.0, -z)))

    for t, inner, outer in ((short, 2.0, 1.0), (text, 1.0, 2.0)):
        mod = load_source(t)
        for x in (-800.0, -372.5, -350.0, -349.9, -30.0, 0.0, 30.0, 800.0):
            v, g = mod.f_value_and_grad(x)
            s = sigmoid(inner * x)
            assert v == pytest.approx(outer * s, rel=1e-14, abs=0.0), (t, x, v)
            # s * (1 - s), the lecture's local gradient: 1 - s cancels for large x, so
            # there the error is absolute (one rounding of s near 1), not relative
            want = outer * inner * s * (1 - s)
            assert g == pytest.approx(want, rel=1e-12, abs=4e-16 * outer * inner), (
                t,
                x,
            )


# ------------------------------------------------------------------ performance passes


GENERATED = Path(__file__).resolve().parent.parent / "generated"


@pytest.mark.parametrize("path", sorted(GENERATED.glob("*.py")), ids=lambda p: p.stem)
def test_cache_holds_exactly_what_the_backward_reads(path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    backwards = [
        f
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and f.name.endswith("_backward")
    ]
    assert backwards
    for fn in backwards:
        unpack = next(
            s
            for s in fn.body
            if isinstance(s, ast.Assign)
            and isinstance(s.value, ast.Name)
            and s.value.id == "cache"
        )
        target = unpack.targets[0]
        cached = [
            e.id for e in (target.elts if isinstance(target, ast.Tuple) else [target])
        ]
        rest = fn.body[fn.body.index(unpack) + 1 :]
        read = {
            n.id
            for s in rest
            for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        assert set(cached) <= read, (fn.name, sorted(set(cached) - read))


def test_no_reduction_where_shapes_already_match():
    text = "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n    return sum(x * y + x)\n"
    vg = function_text(compile_source(text), "f_value_and_grad")
    assert vg.count(".sum(") == 1, vg  # the value's own sum only
    check_gradients(text, [RNG.standard_normal(4), RNG.standard_normal(4)], [0, 1])


def test_scatter_adds_avoid_np_add_at_unless_indices_can_repeat():
    src = (GENERATED / "softmax.py").read_text(encoding="utf-8")
    assert "np.add.at" not in src and "[np.arange(N), y] =" in src
    assert "d_x[1:] += " in (GENERATED / "rosenbrock.py").read_text(encoding="utf-8")
    text = "def f(x: Vector[n], k: Index[m]) -> Scalar:\n    return sum(x[k] ** 2)\n"
    assert "np.add.at(" in compile_source(text)  # k may repeat an index
    check_gradients(text, [RNG.standard_normal(4), np.array([0, 2, 2, 3, 0])], [0])


def test_all_scalar_formulas_are_plain_python():
    src = (GENERATED / "lecture.py").read_text(encoding="utf-8")
    neuron = function_text(src, "neuron_value_and_grad")
    assert "math.exp(" in neuron and "np." not in neuron, neuron


def test_scalar_inputs_checked_by_one_class_test():
    # the cheapest exact check: exact floats are used as they are, anything else
    # (np.float64, ints, 0-d arrays) goes through _scalar; arrays are refused
    # (tests/test_scalar_checks.py has the rest)
    text = "def f(w: Scalar, x: Scalar) -> Scalar:\n    return sigmoid(w * x)\n"
    vg = function_text(compile_source(text), "f_value_and_grad")
    assert "if w.__class__ is not float or x.__class__ is not float:" in vg, vg
    assert "type(" not in vg, vg
    mod = load_source(text)
    want = mod.f_value_and_grad(0.5, -2.0)
    for w, x in ((np.float64(0.5), -2.0), (np.array(0.5), -2), (0.5, np.float32(-2.0))):
        value, (dw, dx) = mod.f_value_and_grad(w, x)
        assert isinstance(value, float) and isinstance(dw, float), (w, x)
        assert (value, (dw, dx)) == want, (w, x)
    with pytest.raises(ValueError, match="'w' has shape \\(3,\\)"):
        mod.f_value_and_grad(np.ones(3), 1.0)
