"""``inv``, ``det``, ``solve`` and ``cholesky`` (NumPy's ``np.linalg``), ``np.tril`` and
``np.triu`` in formula files.

Gradients against SymPy's ``diff`` of the formula written out entry by entry (SymPy's own
inverse, determinant, ``LUsolve`` and ``cholesky`` of matrices of symbols, no gradc code); forward and
second derivatives against differences of the value and of ``f_grad``; the other targets
against the NumPy one; the emitted text of the rules; and the errors. The language oracle
(``tests/language_gen.fam_linalg``) reaches the stacks and right-hand sides at random.
"""

import numpy as np
import pytest
import sympy as sp

import cli
import gradc
from gradc import FormulaError
from tests import second_order as SO

RTOL = 1e-10


def compiled(text: str, **kw):
    return gradc.import_module_source(
        gradc.compile_source(text, **kw),
        "linalg_case",
        target=kw.get("target", "numpy"),
    )


def dominant(rng, shape) -> np.ndarray:
    """Square matrices (or a stack) strictly diagonally dominant: well-conditioned."""
    return rng.uniform(-0.3, 0.3, shape) + 1.5 * np.eye(shape[-1])


def lower_symmetric(A: sp.Matrix) -> sp.Matrix:
    """The symmetric matrix NumPy's cholesky factors: A's lower triangle, mirrored."""
    return sp.Matrix(A.rows, A.cols, lambda i, j: A[max(i, j), min(i, j)])


def symbols(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}"))


# Each case: the formula, its inputs' shapes, and the same function written with SymPy's
# matrices (one argument per input, a Matrix of symbols; a vector is a column).
CASES = {
    "inv": (
        "def f(A: Matrix[3, 3], W: Matrix[3, 3]) -> Scalar:\n"
        "    return sum(W * inv(A))\n",
        [(3, 3), (3, 3)],
        lambda A, W: sum(W.multiply_elementwise(A.inv())),
    ),
    "det": (
        "def f(A: Matrix[3, 3]) -> Scalar:\n    return np.linalg.det(A) ** 2\n",
        [(3, 3)],
        lambda A: A.det() ** 2,
    ),
    "solve_vector": (
        "def f(A: Matrix[3, 3], b: Vector[3]) -> Scalar:\n"
        "    x = solve(A, b)\n"
        "    return sum(x * x) + x[0]\n",
        [(3, 3), (3,)],
        lambda A, b: sum(v * v for v in A.LUsolve(b)) + A.LUsolve(b)[0],
    ),
    "solve_matrix": (
        "def f(A: Matrix[2, 2], B: Matrix[2, 3], W: Matrix[2, 3]) -> Scalar:\n"
        "    return sum(W * np.linalg.solve(A.T, B))\n",
        [(2, 2), (2, 3), (2, 3)],
        lambda A, B, W: sum(W.multiply_elementwise(A.T.LUsolve(B))),
    ),
    "inv_times_vector": (
        "def f(A: Matrix[3, 3], b: Vector[3], w: Vector[3]) -> Scalar:\n"
        "    Ainv = inv(A)\n"
        "    return sum(w * (Ainv @ b))\n",
        [(3, 3), (3,), (3,)],
        lambda A, b, w: (w.T * A.inv() * b)[0, 0],
    ),
    "outer_products": (
        "def f(X: Matrix[2, 3], u: Vector[3], v: Vector[2], Y: Matrix[2, 2]) -> Scalar:\n"
        "    return sum(tanh(X.T @ outer(v, u))) + sum((outer(v, v) @ Y) ** 2)\n",
        [(2, 3), (3,), (2,), (2, 2)],
        lambda X, u, v, Y: (
            sum(sp.tanh(e) for e in X.T * v * u.T) + sum(e**2 for e in v * v.T * Y)
        ),
    ),
    "cholesky": (
        "def f(A: Matrix[3, 3], W: Matrix[3, 3]) -> Scalar:\n"
        "    return sum(W * np.linalg.cholesky(A))\n",
        [(3, 3), (3, 3)],
        lambda A, W: sum(W.multiply_elementwise(lower_symmetric(A).cholesky(False))),
    ),
    "cholesky_loglik": (
        "def f(X: Matrix[3, 3], y: Vector[3]) -> Scalar:\n"
        "    L = cholesky(X)\n"
        "    z = solve(L, y)\n"
        "    return 0.5 * (z @ z) + sum(log(diag(L)))\n",
        [(3, 3), (3,)],
        lambda X, y: (
            sp.Rational(1, 2)
            * sum(v**2 for v in lower_symmetric(X).cholesky(False).LUsolve(y))
            + sum(sp.log(lower_symmetric(X).cholesky(False)[k, k]) for k in range(3))
        ),
    ),
    "triangles": (
        "def f(A: Matrix[3, 4], W: Matrix[3, 4]) -> Scalar:\n"
        "    return sum(W * np.tril(A, -1) ** 2) + sum(np.triu(A, k=1) * W)\n",
        [(3, 4), (3, 4)],
        lambda A, W: (
            sum(
                W[i, j] * A[i, j] ** 2 for i in range(3) for j in range(4) if j <= i - 1
            )
            + sum(A[i, j] * W[i, j] for i in range(3) for j in range(4) if j >= i + 1)
        ),
    ),
    "together": (
        "def f(A: Matrix[2, 2], b: Vector[2]) -> Scalar:\n"
        "    return log(det(A)) + b @ solve(A, b) + sum(tanh(inv(A @ A)))\n",
        [(2, 2), (2,)],
        lambda A, b: (
            sp.log(A.det())
            + (b.T * A.LUsolve(b))[0, 0]
            + sum(sp.tanh(v) for v in (A * A).inv())
        ),
    ),
}


def point(shapes, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [
        dominant(rng, s) if len(s) == 2 and s[0] == s[1] else rng.standard_normal(s)
        for s in shapes
    ]


def sympy_reference(fn, shapes, args):
    """The value and gradient of ``fn`` at ``args``, from SymPy's ``diff``."""
    mats = [
        symbols(f"a{k}", *(s if len(s) == 2 else (s[0], 1)))
        for k, s in enumerate(shapes)
    ]
    expr = fn(*mats)
    subs = {
        m[i, j]: float(np.reshape(a, m.shape)[i, j])
        for m, a in zip(mats, args)
        for i in range(m.rows)
        for j in range(m.cols)
    }
    value = float(expr.evalf(subs=subs))
    grads = [
        np.array(
            [[float(sp.diff(expr, m[i, j]).evalf(subs=subs)) for j in range(m.cols)]
             for i in range(m.rows)]
        ).reshape(s)
        for m, s in zip(mats, shapes)
    ]  # fmt: skip
    return value, grads


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_against_sympy_diff(case, fuse):
    text, shapes, fn = CASES[case]
    args = point(shapes, 1)
    value, grads = compiled(text, fuse=fuse).f_value_and_grad(*args)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    want_value, want = sympy_reference(fn, shapes, args)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    for got, ref in zip(grads, want):
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=1e-12)


STACKS = {
    "inv": "def f(A: Tensor[2, 3, 3], W: Tensor[2, 3, 3]) -> Scalar:\n"
    "    return sum(W * inv(A) ** 2)\n",
    "det": "def f(A: Tensor[2, 3, 3], w: Vector[2]) -> Scalar:\n"
    "    return sum(w * det(A) ** 2)\n",
    "solve_one_vector": "def f(A: Tensor[2, 3, 3], b: Vector[3]) -> Scalar:\n"
    "    return sum(solve(A, b) ** 2)\n",
    "solve_broadcast": "def f(A: Tensor[2, 1, 3, 3], B: Tensor[4, 3, 2]) -> Scalar:\n"
    "    return sum(sin(solve(A, B)))\n",
    "cholesky": "def f(A: Tensor[2, 3, 3], W: Tensor[2, 3, 3]) -> Scalar:\n"
    "    return sum(W * cholesky(A) ** 2)\n",
    "triangles": "def f(A: Tensor[2, 3, 4]) -> Scalar:\n"
    "    return sum(np.triu(A, -1) ** 3) + sum(sin(np.tril(A, 1)))\n",
}


def stack_args(case: str) -> list:
    rng = np.random.default_rng(3)
    shapes = {
        "inv": [(2, 3, 3), (2, 3, 3)],
        "det": [(2, 3, 3), (2,)],
        "solve_one_vector": [(2, 3, 3), (3,)],
        "solve_broadcast": [(2, 1, 3, 3), (4, 3, 2)],
        "cholesky": [(2, 3, 3), (2, 3, 3)],
        "triangles": [(2, 3, 4)],
    }[case]
    return [
        dominant(rng, s) if len(s) >= 2 and s[-1] == s[-2] else rng.standard_normal(s)
        for s in shapes
    ]


@pytest.mark.parametrize("case", sorted(STACKS))
def test_stacks_jvp_and_second_derivatives_against_differences(case):
    """``f_jvp`` against a Richardson difference of ``f``; ``f_hvp`` against differences
    of ``f_grad`` and its own symmetry; ``f_hessian`` symmetric with ``H v = f_hvp``."""
    mod = compiled(STACKS[case], jvp=True, hvp=True)
    args = stack_args(case)
    positions = list(range(len(args)))
    rng = np.random.default_rng(5)
    dirs = SO.directions(rng, args, positions)

    def central(h):
        plus = mod.f(*SO.moved(args, positions, dirs, h))
        return (plus - mod.f(*SO.moved(args, positions, dirs, -h))) / (2 * h)

    dd = (4 * central(5e-5) - central(1e-4)) / 3
    assert SO.check_jvp(mod, "f", args, positions, dirs, mod.f(*args), dd) is None
    assert SO.check_hvp(mod, "f", args, positions, rng) is None


def test_a_stack_is_each_matrix_on_its_own():
    """A stack's value and gradient are those of each matrix alone."""
    stacked = compiled(STACKS["solve_one_vector"])
    one = compiled(
        "def f(A: Matrix[3, 3], b: Vector[3]) -> Scalar:\n    return sum(solve(A, b) ** 2)\n"
    )
    A, b = stack_args("solve_one_vector")
    value, (dA, db) = stacked.f_value_and_grad(A, b)
    parts = [one.f_value_and_grad(A[k], b) for k in range(2)]
    np.testing.assert_allclose(value, sum(p[0] for p in parts), rtol=1e-13)
    for k in range(2):
        np.testing.assert_allclose(dA[k], parts[k][1][0], rtol=1e-12)
    np.testing.assert_allclose(db, parts[0][1][1] + parts[1][1][1], rtol=1e-12)


def test_a_matrix_times_an_outer_product_is_an_outer_product():
    """``X @ outer(u, v)`` is ``outer(X @ u, v)`` (a late rule): inv's adjoint
    ``Y^T G Y^T`` of ``inv(A) @ b`` with ``G = outer(w, b)`` makes no matrix product."""
    text = gradc.compile_source(CASES["inv_times_vector"][0])
    vg = text[text.index("def f_value_and_grad") : text.index("def f_grad")]
    assert "d_A = -_outer(Ainv.T.dot(w), b.dot(Ainv.T))" in vg
    assert ".dot(d_" not in vg
    named = {"[2, 3]": "[m, n]", "[3]": "[n]", "[2]": "[m]", "[2, 2]": "[m, m]"}
    text = CASES["outer_products"][0]
    for literal, name in named.items():
        text = text.replace(literal, name)
    text = gradc.compile_source(text)
    forward = text[text.index("def f_forward") : text.index("def f_backward")]
    assert "_outer(X.T.dot(v), u)" in forward
    assert "_outer(v, v.dot(Y))" in forward


def test_the_rules_solve_and_build_no_inverse():
    """``solve``'s adjoint is a solve with ``A.T`` and an outer product, no inverse."""
    text = gradc.compile_source(CASES["solve_vector"][0])
    backward = text[text.index("def f_backward") : text.index("def f_value_and_grad")]
    assert "np.linalg.solve(A.T, " in backward
    assert "inv" not in backward
    assert "_outer(" in backward


@pytest.mark.parametrize("target", ["array-api", "numba"])
def test_other_targets_agree_with_numpy(target):
    if target == "numba":
        pytest.importorskip("numba", reason="the numba target needs numba")
    else:
        pytest.importorskip("array_api_compat", reason="the Array API target needs it")
    text = CASES["together"][0]
    args = point(CASES["together"][1], 2)
    want_value, want = compiled(text).f_value_and_grad(*args)
    for hvp in (False, True):
        value, grads = compiled(text, target=target, hvp=hvp).f_value_and_grad(*args)
        np.testing.assert_allclose(value, want_value, rtol=1e-13)
        for got, ref in zip(grads, want):
            np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12)


@pytest.mark.parametrize("lib", ["array_api_strict", "torch"])
def test_array_api_namespaces(lib):
    mod_lib = pytest.importorskip(lib, reason=f"{lib} is an optional peer")
    pytest.importorskip("array_api_compat", reason="the Array API target needs it")
    case = "solve_broadcast"
    args = stack_args(case)
    want_value, want = compiled(STACKS[case]).f_value_and_grad(*args)
    mod = compiled(STACKS[case], target="array-api")
    value, grads = mod.f_value_and_grad(*[mod_lib.asarray(a) for a in args])
    np.testing.assert_allclose(float(value), want_value, rtol=1e-13)
    for got, ref in zip(grads, want):
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12)


def test_a_singular_matrix_raises_numpys_error():
    """NumPy's LinAlgError (a ValueError), as ``np.linalg.solve`` itself raises."""
    mod = compiled(CASES["solve_vector"][0])
    with pytest.raises(np.linalg.LinAlgError):
        mod.f_grad(np.ones((3, 3)), np.ones(3))


def error_of(text: str) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text)
    return info.value


def test_a_matrix_that_is_not_square_is_refused():
    err = error_of("def f(A: Matrix[n, m]) -> Scalar:\n    return det(A)\n")
    assert err.message == (
        "det: expects a square matrix or a stack of them (..., n, n), not (n, m)"
    )
    assert (err.line, err.col) == (2, 12)


def test_a_right_hand_side_that_does_not_fit_is_refused():
    err = error_of(
        "def f(A: Matrix[n, n], b: Vector[m]) -> Vector[n]:\n"
        "    return np.linalg.solve(A, b)\n"
    )
    assert err.message == (
        "solve: the right-hand side (m,) does not fit the matrices (n, n): it is (n,) "
        "or (..., n, k) with n = n"
    )


def test_another_linalg_function_is_an_unknown_function():
    err = error_of(
        "def f(A: Matrix[n, n]) -> Matrix[n, n]:\n    return np.linalg.pinv(A)\n"
    )
    assert err.message.startswith("unknown function 'np.linalg.pinv'")


def test_cholesky_reads_the_lower_triangle_as_numpy_does():
    """The upper triangle of ``A`` is not read: its gradient there is 0, and the lower
    one's off the diagonal counts twice (each entry stands for itself and its mirror)."""
    mod = compiled(CASES["cholesky"][0])
    A, W = point(CASES["cholesky"][1], 4)
    upper = A + np.triu(np.ones((3, 3)), 1) * 7.0
    assert mod.f(upper, W) == mod.f(A, W)
    _, (dA, _) = mod.f_value_and_grad(A, W)
    assert np.all(np.triu(dA, 1) == 0.0)


def test_a_triangle_outside_is_zero_also_for_inf_and_nan():
    """``np.tril``'s selection: inf and nan above the diagonal give 0, as in NumPy (a
    product with a mask would give nan)."""
    mod = compiled(
        "def f(A: Matrix[n, n]) -> Matrix[n, n]:\n    return np.tril(A) * 2.0\n"
    )
    A = np.array([[1.0, np.inf], [2.0, 3.0]])
    A2 = np.array([[1.0, np.nan], [2.0, 3.0]])
    for a in (A, A2):
        np.testing.assert_array_equal(mod.f(a), np.tril(a) * 2.0)


def test_a_triangle_of_a_vector_is_refused():
    err = error_of("def f(x: Vector[n]) -> Vector[n]:\n    return np.triu(x)\n")
    assert err.message == (
        "triu() of an array of 1 dimensions: it takes a matrix or a stack of them"
    )


def test_cholesky_of_a_matrix_that_is_not_square_is_refused():
    err = error_of("def f(A: Matrix[n, m]) -> Matrix[n, m]:\n    return cholesky(A)\n")
    assert err.message == (
        "cholesky: expects a square matrix or a stack of them (..., n, n), not (n, m)"
    )


def test_gradc_check_draws_matrices_it_can_invert(tmp_path, capsys):
    """``gradc check`` draws the matrix of ``inv``, ``det``, ``solve`` and ``cholesky``
    diagonally dominant (standard normal draws are not positive definite: cholesky
    raised)."""
    path = tmp_path / "linalg.grad"
    path.write_text(
        "def f(A: Matrix[n, n], B: Tensor[k, n, n], b: Vector[n]) -> Scalar:\n"
        "    L = cholesky(A)\n"
        "    return sum(L * inv(A.T)) + b @ solve(A, b) + sum(det(B)) + sum(cholesky(B))\n"
    )
    for seed in ("0", "1", "2"):
        assert cli.main(["check", str(path), "--seed", seed]) == 0
        assert "ok: 6 gradients of 1 function(s) match" in capsys.readouterr().out
