"""The emitted code as a reviewer reads it (issue 15): ``d_`` names only for adjoints,
the user's parameter names in every signature, the spellings a person would write, and
the notes of fused nodes next to the backward statement they explain.

Each test asserts the exact emitted text and checks the gradients of its formula against
central finite differences in float64 (tests/gradcheck.py) or NumPy written here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradcheck import assert_fd_close, central_diff_grad

from gradc import compile_source, compile_sympy, import_module_source, load_source

RNG = np.random.default_rng(15)


def function_text(source: str, name: str) -> str:
    """The statements of one emitted function (after its docstring, up to the next
    top-level ``def``), without the input checks."""
    body = source.split(f"\ndef {name}(", 1)[1].split("\ndef ", 1)[0]
    if '"""' in body:
        body = body.split('"""', 2)[2]
    lines = [ln for ln in body.strip("\n").splitlines() if ln.strip()]
    checks = (
        "_array(",
        "_float64(",
        "_scalar(",
        "_index(",
        "np.float64(",
        "isinstance(",
        "__class__ is not float",  # the math build's one class test (and its comment)
        "# inputs not all Python floats",
        # the NumPy build's one test of every array (and its comment)
        "is not _ndarray",
        "is not _float64_dtype",
        ".ndim != ",
        "# arrays not all float64 ndarrays",
    )
    lines = [ln for ln in lines if ln.strip() not in ("if (", "):")]
    return "\n".join(ln.strip() for ln in lines if not any(c in ln for c in checks))


def fd_check(mod, args: list, wrt: list[int], name: str = "f") -> None:
    """``<name>_value_and_grad`` and ``<name>_backward`` of ``mod`` against central
    differences of ``<name>``."""
    value, grads = getattr(mod, name + "_value_and_grad")(*args)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    fd = central_diff_grad(getattr(mod, name), args, wrt)
    assert_fd_close(grads, fd, scale=abs(float(value)))
    out, cache = getattr(mod, name + "_forward")(*args)
    back = getattr(mod, name + "_backward")(1.0, cache)
    back = list(back) if isinstance(back, tuple) else [back]
    assert_fd_close(back, fd, scale=abs(float(value)))


# ------------------------------------------------------------ 1. d_ names only adjoints

THETA = """\
def f(θ: Vector[n], λ: Scalar) -> Scalar:
    return λ * (θ @ θ)
"""


def test_a_forward_value_that_is_also_an_adjoint_keeps_its_forward_name():
    # with the seed 1, d_λ of λ * (θ @ θ) is θ @ θ itself: one node, named as the forward
    src = compile_source(THETA)
    assert function_text(src, "f_value_and_grad") == "\n".join(
        [
            "# line 2: return λ * (θ @ θ)",
            "out_t1 = θ.dot(θ)",
            "out = λ * out_t1",
            # 2.0 * λ is exact and finite below the bound: one pass over θ
            "d_θ = 2.0 * λ * θ if abs(λ) < 5e299 else _two * (λ * θ)",
            "return out, (d_θ, out_t1)",
        ]
    )
    mod = load_source(THETA)
    theta = RNG.standard_normal(4)
    fd_check(mod, [theta, 0.7], [0, 1])
    _, (g_theta, g_lam) = mod.f_value_and_grad(theta, 0.7)
    np.testing.assert_allclose(g_theta, 2 * 0.7 * theta)
    np.testing.assert_allclose(g_lam, theta @ theta)


def test_sympy_forward_values_are_not_named_like_adjoints():
    x, y, z = sympy.symbols("x y z")
    expr = sympy.sin(z) * sympy.tanh(x * y)
    src = compile_sympy(expr, [x, y, z], fuse=False)
    mod = import_module_source(src, "reviewer_sympy")
    text = function_text(src, "f_value_and_grad")
    assert text == "\n".join(
        [
            "try:",
            "# line 1: SymPy expression",
            "out_t1 = math.sin(z)",
            "out_t2 = math.tanh(x * y)",
            "out = out_t1 * out_t2",
            "out_g1 = out_t1 * (1.0 - out_t2**2)",
            "d_x = out_g1 * y",
            "d_y = out_g1 * x",
            "d_z = out_t2 * math.cos(z)",
            "except (ArithmeticError, ValueError):  # where NumPy gives inf or nan",
            "return _f_value_and_grad_numpy(x, y, z)",
            "return out, (d_x, d_y, d_z)",
        ]
    )
    args = [0.3, -0.8, 1.1]
    fd_check(mod, args, [0, 1, 2])
    grads = [sympy.diff(expr, s).subs(dict(zip([x, y, z], args))) for s in (x, y, z)]
    np.testing.assert_allclose(mod.f_grad(*args), [float(g) for g in grads])


# ------------------------------------------------- 2. the user's names in signatures

# Python builtins and the names a generated module binds or its bodies use
SHADOWING = [
    "np", "math", "numpy", "sum", "abs", "float", "isinstance", "len", "max", "ValueError",
    "ArithmeticError", "cache", "grads", "self", "_result", "_array", "_float64",
    "_scalar", "_numeric", "_shape_error", "f_forward", "f_value_and_grad", "_np",
]  # fmt: skip


def test_parameter_named_np_keeps_its_name_and_numpy_is_read_through_an_alias():
    text = "def f(np: Vector[n], cache: Scalar) -> Scalar:\n    return cache * sum(exp(np))\n"
    src = compile_source(text)
    assert "import numpy as np\n\n# names that parameters of the same name hide" in src
    assert "\n_np = np\n" in src
    assert function_text(src, "f_forward") == "\n".join(
        [
            "# line 2: return cache * sum(exp(np))",
            "out_t1 = _np.exp(np)",
            "out_t2 = out_t1.sum()",
            "out = cache * out_t2",
            "cache_ = (cache, out_t1, out_t2)",
            "return out, cache_",
        ]
    )
    assert "def f_value_and_grad(np, cache):" in src
    assert "def f_backward(d_out, cache):" in src  # its own parameters, unchanged
    mod = load_source(text)
    v = RNG.standard_normal(3)
    value, (g_np, g_cache) = mod.f_value_and_grad(np=v, cache=0.5)
    np.testing.assert_allclose(value, 0.5 * np.exp(v).sum())
    np.testing.assert_allclose(g_np, 0.5 * np.exp(v))
    np.testing.assert_allclose(g_cache, np.exp(v).sum())
    fd_check(mod, [v, 0.5], [0, 1])


def keyword_calls(mod, name: str, args: dict, fallbacks: bool) -> list:
    """The values and gradients of every function taking the inputs, called by keyword."""
    out = [mod.f(**args), mod.f_forward(**args)[0], *mod.f_value_and_grad(**args)]
    out.append(mod.f_grad(**args))
    if fallbacks:
        out.append(mod._f_forward_numpy(**args)[0])
        out += mod._f_value_and_grad_numpy(**args)
    return out


@pytest.mark.parametrize("name", SHADOWING)
def test_keyword_call_with_a_shadowing_parameter_name_numpy_build(name):
    text = f"def f({name}: Vector[n], w: Scalar) -> Scalar:\n    return w * sum(exp({name}))\n"
    src = compile_source(text)
    for fname in ("f", "f_forward", "f_value_and_grad", "f_grad"):
        assert f"\ndef {fname}({name}, w):" in src
    mod = import_module_source(src, "reviewer_kw_" + name.strip("_"))
    v = RNG.standard_normal(3)
    value, fwd, value2, (g_v, g_w), (g_v2, g_w2) = keyword_calls(
        mod, name, {name: v, "w": 0.5}, False
    )
    for got in (value, fwd, value2):
        np.testing.assert_allclose(got, 0.5 * np.exp(v).sum())
    for got in (g_v, g_v2):
        np.testing.assert_allclose(got, 0.5 * np.exp(v))
    for got in (g_w, g_w2):
        np.testing.assert_allclose(got, np.exp(v).sum())
    fd_check(mod, [v, 0.5], [0, 1])


@pytest.mark.parametrize("name", SHADOWING)
def test_keyword_call_with_a_shadowing_parameter_name_scalar_build(name):
    # the math build: isinstance/float checks, math.exp, try/except, NumPy fallbacks
    text = f"def f({name}: Scalar, w: Scalar) -> Scalar:\n    return exp({name}) * w / {name}\n"
    src = compile_source(text)
    assert "import math" in src
    for fname in ("f", "f_forward", "f_value_and_grad", "f_grad", "_f_forward_numpy"):
        assert f"\ndef {fname}({name}, w):" in src
    mod = import_module_source(src, "reviewer_kw_scalar_" + name.strip("_"))
    x, w = 0.7, 1.3
    value = np.exp(x) * w / x
    grad = (np.exp(x) * w * (x - 1) / x**2, np.exp(x) / x)
    results = keyword_calls(mod, name, {name: x, "w": w}, True)
    v1, v2, v3, g3, g4, v5, v6, g6 = results
    for got in (v1, v2, v3, v5, v6):
        np.testing.assert_allclose(got, value)
    for got in (g3, g4, g6):
        np.testing.assert_allclose(got, grad)
    # the fallback the try hands the inputs to, reached by overflow
    big = mod.f_value_and_grad(**{name: 1e4, "w": w})
    assert big[0] == np.inf
    fd_check(mod, [x, w], [0, 1])


# ---------------------------------------------------------------- 3. clumsy spellings


def test_adding_a_negative_constant_is_a_subtraction():
    text = "def f(x: Vector[n], c: Scalar) -> Scalar:\n    return sum(x + -2.0) + c + -1.0\n"
    src = compile_source(text)
    lines = function_text(src, "f_forward").splitlines()
    assert "out = (x - _two).sum() + c - 1.0" in lines
    code = [ln for ln in src.splitlines() if "return sum(x + -2.0)" not in ln]
    assert not [ln for ln in code if "+ -" in ln]
    mod = load_source(text)
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(mod.f(x, 0.3), np.sum(x - 2.0) + 0.3 - 1.0)
    fd_check(mod, [x, 0.3], [0, 1])


def test_negated_keepdims_sum_under_a_reshape_is_a_plain_sum():
    # the SVM's d_correct: reshape(-sum(g, axis=1, keepdims=True), (N,)) is -sum(g, axis=1)
    src = (Path(__file__).resolve().parent.parent / "examples" / "svm.grad").read_text()
    out = compile_source(src)
    assert "np.reshape(" not in out
    assert "    d_correct = -_sum_trailing(d_margins_t1)\n" in out
    mod = load_source(src)
    N, D, C = 5, 4, 3
    W = RNG.standard_normal((D, C))
    X = RNG.standard_normal((N, D))
    y = RNG.integers(0, C, N)
    fd_check(mod, [W, X, y, 0.1], [0], "svm_loss")
    # NumPy reference of the hinge loss gradient (CS231n)
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1.0)
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = 0
    mask[np.arange(N), y] = -mask.sum(axis=1)
    ref = X.T @ mask / N + 2 * 0.1 * W
    np.testing.assert_allclose(mod.svm_loss_grad(W, X, y, 0.1), ref, atol=1e-12)


def test_constants_meet_across_a_product():
    text = "def f(W: Matrix[n, k], reg: Scalar) -> Scalar:\n    return 0.5 * reg * sum(W * W)\n"
    src = compile_source(text)
    assert function_text(src, "f_backward").splitlines()[1:] == [
        "# line 2: return 0.5 * reg * sum(W * W)",
        "out_g1 = 0.5 * d_out",
        "# fused mul: d/dreg = 0.5*sum(W * W)",
        "d_reg = out_g1 * out_t1",
        "# fused mul: d/d(sum(W * W)) = 0.5*reg",
        "d_out_t1 = out_g1 * reg",
        # d_out * reg may overflow where 0.5 * d_out * reg * W * 2.0 does not (|W| < 1):
        # the constants meet under the bound (reassociation.scalar_meets_constant)
        "d_W = d_out * reg * W if abs(d_out_t1) < 5e299 else _two * (d_out_t1 * W)",
        "return d_W, d_reg",
    ]
    assert function_text(src, "f_value_and_grad").endswith(
        "d_W = reg * W\nreturn out, (d_W, d_reg)"
    )
    mod = load_source(text)
    W = RNG.standard_normal((3, 2))
    _, (g_W, g_reg) = mod.f_value_and_grad(W, 0.3)
    np.testing.assert_allclose(g_W, 0.3 * W)
    np.testing.assert_allclose(g_reg, 0.5 * np.sum(W * W))
    fd_check(mod, [W, 0.3], [0, 1])


# ------------------------------------------------------- 4. notes of fused nodes


def test_a_local_gradient_note_sits_over_the_backward_statement_that_reads_it():
    # with the seed 1, d/dz of 0.5*z*z is z itself: the note goes with d_x += z * cos(x),
    # not over the forward's z = np.sin(x)
    text = (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    z = sin(x)\n"
        "    return sum(0.5 * z * z + x)\n"
    )
    src = compile_source(text)
    assert function_text(src, "f_value_and_grad") == "\n".join(
        [
            "n = len(x)",
            "# line 2: z = sin(x)",
            "z = np.sin(x)",
            "# line 3: return sum(0.5 * z * z + x)",
            "out = (_half * z * z + x).sum()",
            "d_x = np.full((n,), 1.0)",
            "# line 2: z = sin(x)",
            "# fused add: d/dz = 1.0*z",
            "d_x += z * np.cos(x)",
            "return out, d_x",
        ]
    )
    assert "# fused" not in function_text(src, "f_forward")
    mod = load_source(text)
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(mod.f_grad(x), np.sin(x) * np.cos(x) + 1.0)
    fd_check(mod, [x], [0])


def test_notes_name_things_as_the_formula_does():
    # t is named: its sum is not taken before the scale (rewrite/scaled_sums.py), so the
    # backward's product with x[0] keeps its note
    text = (
        "def h(x: Vector[n], w: Matrix[n, k]) -> Scalar:\n"
        "    t = log(x[1:] * x[:-1] + 2) * x[0]\n"
        "    return sum(t) + sum(log(sum(w * w, axis=1)) * x)\n"
    )
    src = compile_source(text)
    notes = sorted({ln.strip() for ln in src.splitlines() if "# fused" in ln})
    assert notes == [
        "# fused mul: d/d(x[0]) = log(x[1:]*x[:-1] + 2)",
        "# fused mul: d/dx = log(sum(w * w, axis=1))",
    ]
    for word in ("getitem", "(sum)", "axis=(1,)"):
        assert word not in src
    mod = load_source(text)
    x = RNG.uniform(0.5, 1.5, 4)
    w = RNG.standard_normal((4, 2))
    fd_check(mod, [x, w], [0, 1], "h")


# --------------------------------------- constant arrays summed: a count, not a pass

COUNTED = """
def f(x: Vector[n], s: Scalar) -> Scalar:
    return sum(x + s)

def g(z: Matrix[n, k], c: Vector[n]) -> Scalar:
    return sum(z * reshape(c, (n, 1)) - c[:, None])
"""


def test_a_summed_constant_array_is_a_count():
    """``np.full((n,), 1.0).sum()`` is ``n``: d sum(x + s)/ds = n, and the gradient of
    ``-c[:, None]`` summed over k columns is ``-k`` in every entry."""
    text = compile_source(COUNTED)
    assert "d_s = d_out * n\n" in text  # f_backward
    assert "d_s = 1.0 * n\n" in text  # f_value_and_grad, a float
    assert "np.full((n, k), -1.0).sum(axis=1)" not in text
    assert "d_c = np.full((n,), -(d_out * k))\n" in text
    assert "d_c = np.full((n,), -1.0 * k)\n" in text
    mod = load_source(COUNTED)
    rng = np.random.default_rng(3)
    x, s = rng.standard_normal(5), 0.7
    value, (gx, gs) = mod.f_value_and_grad(x, s)
    assert type(gs) is float and gs == 5.0
    np.testing.assert_array_equal(gx, np.ones(5))
    fd_check(mod, [x, s], [0, 1])
    z, c = rng.standard_normal((4, 3)), rng.standard_normal(4)
    value, (gz, gc) = mod.g_value_and_grad(z, c)
    np.testing.assert_allclose(value, np.sum(z * c[:, None] - c[:, None]), rtol=1e-14)
    np.testing.assert_allclose(gz, np.broadcast_to(c[:, None], (4, 3)), rtol=0)
    np.testing.assert_allclose(gc, z.sum(axis=1) - 3.0, rtol=1e-14)
    fd_check(mod, [z, c], [0, 1], name="g")
