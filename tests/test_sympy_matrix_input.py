"""SymPy input with ``MatrixSymbol``s: matrix products, sums, transposes, Hadamard products,
element access, traces and ``applyfunc``, checked against NumPy written here, central finite
differences (``tests/gradcheck.py``) and SymPy's own ``diff`` of the expression written out
on a small instance."""

import numpy as np
import pytest
import sympy as sp

import gradc
from gradc import FormulaError
from tests.gradcheck import assert_fd_close, central_diff_grad

RTOL = 1e-12

W = sp.MatrixSymbol("W", 3, 4)
x = sp.MatrixSymbol("x", 4, 1)
y = sp.MatrixSymbol("y", 3, 1)
A = sp.MatrixSymbol("A", 4, 4)
a = sp.Symbol("a")

rng = np.random.default_rng(15)
Wv = rng.standard_normal((3, 4))
xv = rng.standard_normal((4, 1))
yv = rng.standard_normal((3, 1))
Av = rng.standard_normal((4, 4))


def grads_of(mod, args, name="f"):
    value, grads = getattr(mod, name + "_value_and_grad")(*args)
    return value, list(grads) if isinstance(grads, tuple) else [grads]


def check_fd(mod, args, name="f"):
    """The gradient of every input against central differences of the module's value."""
    f = getattr(mod, name)
    value, grads = grads_of(mod, args, name)
    wrt = list(range(len(args)))
    assert_fd_close(grads, central_diff_grad(f, args, wrt), scale=abs(value))


# --- least squares: (W x - y)^T (W x - y), a 1x1 result returned as a Scalar ----------------


@pytest.fixture(scope="module")
def least_squares():
    r = W * x - y
    return gradc.load_sympy(r.T * r, [W, x, y])


def test_least_squares_value_is_a_float(least_squares):
    r = Wv @ xv - yv
    value = least_squares.f(Wv, xv, yv)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, (r.T @ r).item(), rtol=RTOL)


def test_least_squares_gradient_against_numpy(least_squares):
    r = Wv @ xv - yv
    dW, dx, dy = least_squares.f_grad(Wv, xv, yv)
    assert dW.shape == (3, 4) and dx.shape == (4, 1) and dy.shape == (3, 1)
    np.testing.assert_allclose(dW, 2 * r @ xv.T, rtol=RTOL)
    np.testing.assert_allclose(dx, 2 * Wv.T @ r, rtol=RTOL)
    np.testing.assert_allclose(dy, -2 * r, rtol=RTOL)
    check_fd(least_squares, [Wv, xv, yv])


def test_column_vector_takes_shape_n_by_1_only(least_squares):
    """A ``MatrixSymbol("x", 4, 1)`` takes a (4, 1) array; a (4,) one is refused (NumPy
    would broadcast ``W @ x - y`` of shapes (3,) and (3, 1) to (3, 3) silently)."""
    with pytest.raises(ValueError, match=r"'x'.*\(4, 1\)"):
        least_squares.f(Wv, xv.ravel(), yv)


def test_module_documents_matrix_annotations():
    src = gradc.compile_sympy((W * x - y).T * (W * x - y), [W, x, y])
    assert "Inputs: W: Matrix[3, 4], x: Matrix[4, 1], y: Matrix[3, 1] -> Scalar." in src
    assert src == gradc.compile_sympy((W * x - y).T * (W * x - y), [W, x, y])


# --- quadratic form, trace, scalar times matrix, wrt ----------------------------------------


def test_quadratic_form_and_trace_against_numpy():
    expr = a * x.T * A * x  # a 1x1 matrix: the result is its one element
    mod = gradc.load_sympy(expr, [a, x, A])
    value, (da, dx, dA) = grads_of(mod, [1.7, xv, Av])
    np.testing.assert_allclose(value, 1.7 * (xv.T @ Av @ xv).item(), rtol=RTOL)
    np.testing.assert_allclose(da, (xv.T @ Av @ xv).item(), rtol=RTOL)
    np.testing.assert_allclose(dx, 1.7 * (Av + Av.T) @ xv, rtol=RTOL)
    np.testing.assert_allclose(dA, 1.7 * xv @ xv.T, rtol=RTOL)
    check_fd(mod, [1.7, xv, Av])


def test_trace_of_a_matrix_and_of_a_product():
    B = sp.MatrixSymbol("B", 4, 3)
    Bv = rng.standard_normal((4, 3))
    mod = gradc.load_sympy(sp.Trace(A) + 3 * sp.Trace(W * B), [A, W, B])
    value, (dA, dW, dB) = grads_of(mod, [Av, Wv, Bv])
    np.testing.assert_allclose(value, np.trace(Av) + 3 * np.trace(Wv @ Bv), rtol=RTOL)
    np.testing.assert_allclose(dA, np.eye(4), rtol=RTOL)
    np.testing.assert_allclose(dW, 3 * Bv.T, rtol=RTOL)
    np.testing.assert_allclose(dB, 3 * Wv.T, rtol=RTOL)
    check_fd(mod, [Av, Wv, Bv])


def test_matrix_power_and_trace_of_it():
    mod = gradc.load_sympy(sp.Trace(A**3), [A])
    value, (dA,) = grads_of(mod, [Av])
    np.testing.assert_allclose(value, np.trace(Av @ Av @ Av), rtol=RTOL)
    np.testing.assert_allclose(dA, 3 * (Av @ Av).T, rtol=RTOL)


def test_wrt_a_matrix_only():
    mod = gradc.load_sympy((W * x - y).T * (W * x - y), [W, x, y], wrt=[W])
    dW = mod.f_grad(Wv, xv, yv)
    np.testing.assert_allclose(dW, 2 * (Wv @ xv - yv) @ xv.T, rtol=RTOL)


# --- elementwise: Hadamard products and powers, applyfunc, element access ------------------


def test_hadamard_applyfunc_and_elements_against_numpy():
    H = sp.HadamardProduct(W, W.applyfunc(sp.exp))
    expr = (
        sp.Trace(H.T * W) + W[1, 2] * sp.sin(x[3, 0]) + sp.Trace(sp.HadamardPower(A, 2))
    )
    mod = gradc.load_sympy(expr, [W, x, A])
    Hv = Wv * np.exp(Wv)
    value, (dW, dx, dA) = grads_of(mod, [Wv, xv, Av])
    want = np.sum(Hv * Wv) + Wv[1, 2] * np.sin(xv[3, 0]) + np.sum(np.diag(Av) ** 2)
    np.testing.assert_allclose(value, want, rtol=RTOL)
    dW_want = (2 * Wv + Wv**2) * np.exp(Wv)
    dW_want[1, 2] += np.sin(xv[3, 0])
    np.testing.assert_allclose(dW, dW_want, rtol=RTOL)
    dx_want = np.zeros((4, 1))
    dx_want[3, 0] = Wv[1, 2] * np.cos(xv[3, 0])
    np.testing.assert_allclose(dx, dx_want, rtol=RTOL)
    np.testing.assert_allclose(dA, np.diag(2 * np.diag(Av)), rtol=RTOL)
    check_fd(mod, [Wv, xv, Av])


def test_applyfunc_of_a_lambda_over_inputs():
    """``applyfunc(lambda t: ...)``: the body is lowered elementwise, any scalar inputs in it
    broadcast."""
    expr = sp.Trace(W.applyfunc(lambda t: sp.tanh(a * t) + t**2).T * W)
    mod = gradc.load_sympy(expr, [a, W])
    value, (da, dW) = grads_of(mod, [0.6, Wv])
    np.testing.assert_allclose(
        value, np.sum((np.tanh(0.6 * Wv) + Wv**2) * Wv), rtol=RTOL
    )
    check_fd(mod, [0.6, Wv])


def test_applyfunc_compiles_deterministically():
    """Each ``applyfunc`` makes a new ``Dummy``; the module (and its hash) do not show it."""
    first = gradc.compile_sympy(sp.Trace(A.applyfunc(sp.exp)), [A])
    second = gradc.compile_sympy(sp.Trace(A.applyfunc(sp.exp)), [A])
    assert first == second


def test_matrix_result_backward_against_numpy():
    """A matrix-valued expression returns its matrix: ``f`` and ``f_backward`` (the VJP)."""
    b = sp.MatrixSymbol("b", 3, 1)
    bv = rng.standard_normal((3, 1))
    mod = gradc.load_sympy((W * x + b).applyfunc(sp.tanh), [W, x, b])
    out, cache = mod.f_forward(Wv, xv, bv)
    t = np.tanh(Wv @ xv + bv)
    np.testing.assert_allclose(out, t, rtol=RTOL)
    assert out.shape == (3, 1)
    u = rng.standard_normal((3, 1))
    dW, dx, db = mod.f_backward(u, cache)
    g = u * (1 - t**2)
    np.testing.assert_allclose(dW, g @ xv.T, rtol=RTOL)
    np.testing.assert_allclose(dx, Wv.T @ g, rtol=RTOL)
    np.testing.assert_allclose(db, g, rtol=RTOL)


# --- against SymPy's own derivative, on a 2x2 instance written out ------------------------


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_against_sympy_diff_of_the_explicit_expression(fuse):
    P = sp.MatrixSymbol("P", 2, 2)
    Q = sp.MatrixSymbol("Q", 2, 2)
    v = sp.MatrixSymbol("v", 2, 1)
    c = sp.Symbol("c")
    r = P * v - c * Q.T * v
    expr = (
        sp.Trace(r.T * sp.HadamardProduct(P, Q.applyfunc(sp.exp)) * r)
        + sp.Trace(P * Q.T) * P[0, 1]
    )
    mod = gradc.load_sympy(expr, [c, P, Q, v], fuse=fuse)
    points = np.random.default_rng(2).standard_normal(10)
    Pv, Qv, vv = points[:4].reshape(2, 2), points[4:8].reshape(2, 2), points[8:, None]
    cv = 0.8
    explicit = expr.subs({M: M.as_explicit() for M in (P, Q, v)}).doit()
    assert not explicit.has(sp.MatMul, sp.Trace)
    entries = [c] + [
        M[i, j] for M in (P, Q, v) for i in range(M.rows) for j in range(M.cols)
    ]
    ref = sp.lambdify(
        [c, P, Q, v], [explicit] + [sp.diff(explicit, e) for e in entries]
    )
    want = ref(cv, Pv, Qv, vv)
    value, (dc, dP, dQ, dv) = grads_of(mod, [cv, Pv, Qv, vv])
    np.testing.assert_allclose(value, want[0], rtol=RTOL)
    got = np.concatenate([[dc], dP.ravel(), dQ.ravel(), dv.ravel()])
    np.testing.assert_allclose(got, want[1:], rtol=1e-11)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_inverse_and_determinant_against_sympy_diff_of_the_explicit_expression(fuse):
    """``Inverse`` (``P.I``, ``P**-2``) is ``inv`` and ``Determinant`` is ``det``: value
    and gradient against SymPy's ``diff`` of the expression written out entry by entry
    (SymPy's own inverse and determinant of a 3x3 matrix of symbols)."""
    P = sp.MatrixSymbol("P", 3, 3)
    Q = sp.MatrixSymbol("Q", 3, 3)
    v = sp.MatrixSymbol("v", 3, 1)
    expr = (
        sp.Trace(P.I * Q.T) * sp.Determinant(P)
        + (v.T * P**-2 * v)[0, 0]
        + sp.Determinant(Q * P)
    )
    mod = gradc.load_sympy(expr, [P, Q, v], fuse=fuse)
    rng = np.random.default_rng(4)
    Pv = rng.uniform(-0.3, 0.3, (3, 3)) + 1.5 * np.eye(3)
    Qv, vv = rng.standard_normal((3, 3)), rng.standard_normal((3, 1))
    explicit = expr.subs({M: M.as_explicit() for M in (P, Q, v)}).doit()
    assert not explicit.has(sp.Inverse, sp.Determinant, sp.MatMul)
    entries = [M[i, j] for M in (P, Q, v) for i in range(M.rows) for j in range(M.cols)]
    ref = sp.lambdify([P, Q, v], [explicit] + [sp.diff(explicit, e) for e in entries])
    want = ref(Pv, Qv, vv)
    value, (dP, dQ, dv) = grads_of(mod, [Pv, Qv, vv])
    np.testing.assert_allclose(value, want[0], rtol=1e-12)
    got = np.concatenate([dP.ravel(), dQ.ravel(), dv.ravel()])
    np.testing.assert_allclose(got, want[1:], rtol=1e-10, atol=1e-12)


# --- symbolic shapes and the text formula -------------------------------------------------

n = sp.Symbol("n", integer=True)
X = sp.MatrixSymbol("X", n, 3)
w = sp.MatrixSymbol("w", 3, 1)
t = sp.MatrixSymbol("t", n, 1)
lam = sp.Symbol("lam")

RIDGE_TEXT = """
def f(X: Matrix[n, 3], w: Matrix[3, 1], t: Matrix[n, 1], lam: Scalar) -> Scalar:
    r = X @ w - t
    return (r.T @ r)[0, 0] / n + lam * (w.T @ w)[0, 0]
"""


def ridge():
    r = X * w - t
    return r.T * r / n + lam * w.T * w


def test_symbolic_dimension_is_a_dimension_of_the_module():
    src = gradc.compile_sympy(ridge(), [X, w, t, lam])
    assert "Inputs: X: Matrix[n, 3], w: Matrix[3, 1], t: Matrix[n, 1],\n" in src
    assert '        X = _array(X, "f", "X", 2, "(n, 3)")\n' in src
    assert "\n    n = X.shape[0]\n    if X.shape[1] != 3:\n" in src


@pytest.mark.parametrize("rows", [5, 8])
def test_symbolic_dimension_values_against_numpy_and_the_text_formula(rows):
    Xv = rng.standard_normal((rows, 3))
    tv = rng.standard_normal((rows, 1))
    wv = rng.standard_normal((3, 1))
    args = [Xv, wv, tv, 0.3]
    mod = gradc.load_sympy(ridge(), [X, w, t, lam])
    text = gradc.load_source(RIDGE_TEXT)
    r = Xv @ wv - tv
    value, (dX, dw, dt, dlam) = grads_of(mod, args)
    np.testing.assert_allclose(
        value, (r.T @ r).item() / rows + 0.3 * (wv.T @ wv).item()
    )
    np.testing.assert_allclose(dw, 2 * Xv.T @ r / rows + 0.6 * wv, rtol=RTOL)
    text_value, text_grads = grads_of(text, args)
    np.testing.assert_allclose(value, text_value, rtol=RTOL)
    for got, want in zip([dX, dw, dt, dlam], text_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL)
    check_fd(mod, args)


def test_symbolic_dimension_mismatch_is_reported():
    mod = gradc.load_sympy(ridge(), [X, w, t, lam])
    with pytest.raises(ValueError, match="'t'"):
        mod.f(np.ones((5, 3)), np.ones((3, 1)), np.ones((4, 1)), 0.1)


# --- errors -----------------------------------------------------------------------------


def error_of(expr, inputs):
    with pytest.raises(FormulaError) as info:
        gradc.compile_sympy(expr, inputs)
    return info.value


def test_unsupported_operation_is_named_where_it_sits():
    err = error_of(sp.Trace(sp.Adjoint(A) * A.T), [A])
    assert err.message == "unsupported matrix operation Adjoint in Adjoint(A)"
    assert err.filename == "<sympy>" and err.line == 1
    assert err.source_line == "Trace(Adjoint(A)*A.T)"
    assert err.col == err.source_line.index("Adjoint(A)") + 1


def test_identity_is_named():
    err = error_of((x.T * (A + sp.Identity(4)) * x), [A, x])
    assert err.message == "unsupported matrix operation Identity in I"


def test_matrix_symbol_not_among_the_inputs():
    err = error_of(x.T * A * x, [x])
    assert err.message.startswith("matrix symbol A is not among the inputs (x), in ")


def test_symbolic_element_index_is_refused():
    i = sp.Symbol("i", integer=True)
    err = error_of(W[i, 0] * a, [W, a])
    assert err.message == "element index i is not a constant integer in W[i, 0]"


def test_dimension_that_is_not_a_name_or_integer():
    V = sp.MatrixSymbol("V", n + 1, 1)
    err = error_of(sp.Trace(V.T * V), [V])
    assert err.message == (
        "dimension n + 1 of MatrixSymbol V is an expression whose names do not all "
        "stand alone as a dimension of an input"
    )


def test_dimension_named_like_an_input():
    nn = sp.Symbol("n")
    err = error_of(sp.Trace(X.T * X) * nn, [X, nn])
    assert err.message == "input n has the name of a dimension of X; rename one"


def test_explicit_matrix_is_named_on_one_line():
    B = sp.MatrixSymbol("B", 2, 2)
    err = error_of(sp.Trace(sp.Matrix([[1, 2], [3, 4]]) * B), [B])
    assert err.message == (
        "unsupported matrix operation ImmutableDenseMatrix in Matrix([[1, 2],[3, 4]])"
    )
    assert err.source_line == "Trace(Matrix([[1, 2],[3, 4]])*B)"
    assert err.col == 7


def test_transposed_sum_is_the_transpose_of_the_shared_value():
    """SymPy writes ``(W*x - y).T`` as ``x.T*W.T - y.T``; it is lowered as the transpose of
    ``W*x - y``, computed once, as the formula ``r = W @ x - y; (r.T @ r)[0, 0]`` does.
    (W 5x4: more than the 16 elements a scalarised function holds, so NumPy code.)"""
    W, x, y = (sp.MatrixSymbol(n, *s) for n, s in zip("Wxy", [(5, 4), (4, 1), (5, 1)]))
    r = W * x - y
    assert (r.T * r).args[0] == x.T * W.T - y.T
    src = gradc.compile_sympy(r.T * r, [W, x, y])
    forward = src.split("def f_forward")[1].split("cache = ")[0]
    assert (
        "    out_t1 = W.dot(x) - y\n"
        "    out_t2 = out_t1.T\n"
        "    out = out_t2.dot(out_t1)[0, 0]\n"
    ) in forward
    assert forward.count(".dot(") == 2


def test_product_of_three_is_ordered_by_cost():
    """SymPy flattens ``A*(B*v)`` to ``A*B*v``; the product is taken in the order of fewest
    multiplications, ``A @ (B @ v)``, not ``(A @ B) @ v``."""
    B = sp.MatrixSymbol("B", 4, 4)
    v = sp.MatrixSymbol("v", 4, 1)
    assert A * (B * v) == sp.MatMul(A, B, v)
    src = gradc.compile_sympy(A * (B * v), [A, B, v])
    assert "    out_t1 = B.dot(v)\n    out = A.dot(out_t1)\n" in src
    mod = gradc.load_sympy(A * B * v, [A, B, v])
    Bv, vv = rng.standard_normal((4, 4)), rng.standard_normal((4, 1))
    out, cache = mod.f_forward(Av, Bv, vv)
    np.testing.assert_allclose(out, Av @ (Bv @ vv), rtol=RTOL)
    u = rng.standard_normal((4, 1))
    dA, dB, dv = mod.f_backward(u, cache)
    np.testing.assert_allclose(dA, u @ (Bv @ vv).T, rtol=RTOL)
    np.testing.assert_allclose(dB, Av.T @ u @ vv.T, rtol=RTOL)
    np.testing.assert_allclose(dv, Bv.T @ Av.T @ u, rtol=RTOL)
