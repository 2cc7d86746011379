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
    )
    return "\n".join(ln.strip() for ln in lines if not any(c in ln for c in checks))


def fd_check(mod, args: list, wrt: list[int]) -> None:
    """``f_value_and_grad`` and ``f_backward`` of ``mod`` against central differences."""
    value, grads = mod.f_value_and_grad(*args)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    fd = central_diff_grad(mod.f, args, wrt)
    assert_fd_close(grads, fd, scale=abs(float(value)))
    out, cache = mod.f_forward(*args)
    back = mod.f_backward(1.0, cache)
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
            "d_θ = 2.0 * (λ * θ)",
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
