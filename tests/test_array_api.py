"""--target array-api (SPEC §2.2, issue 20): every example's module runs unchanged on NumPy,
array-api-strict, PyTorch, JAX (also under jax.jit) and Dask, with the NumPy target's
values and gradients; float32 in gives float32 out; the module never names numpy."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from xp_cases import (
    CASE_IDS,
    CASES,
    EXAMPLES,
    LIBRARIES,
    as_tuple,
    load,
    point,
    require,
    run,
    to_library,
)

from gradc import compile_file, compile_source, load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def close(got, want, rtol: float) -> None:
    """Norm-wise: max |got - want| <= rtol * max(1, max |want|), and the same shape."""
    got, want = np.asarray(got), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    assert float(np.max(np.abs(got - want), initial=0.0)) <= rtol * scale


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(("path", "name", "params"), CASES, ids=CASE_IDS)
def test_values_and_gradients_equal_the_numpy_target(library, path, name, params):
    require(library)
    ref, m = load(path, "numpy"), load(path, "array-api")
    x = point(params)
    args = [to_library(library, a) for a in x]
    if not hasattr(ref, f"{name}_value_and_grad"):
        # an array-valued function (rnn's rnn_step): f alone, no gradients
        close(run(library, getattr(m, name), args), getattr(ref, name)(*x), 1e-12)
        return
    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    v, g = run(library, getattr(m, f"{name}_value_and_grad"), args)
    close(v, want_v, 1e-12)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        close(got, want, 1e-12)
    # f, f_grad, and f_forward then f_backward with the seed 1.0 agree with them
    close(run(library, getattr(m, name), args), want_v, 1e-12)
    for got, want in zip(
        as_tuple(run(library, getattr(m, f"{name}_grad"), args)), as_tuple(want_g)
    ):
        close(got, want, 1e-12)

    def forward_backward(*a):
        value, cache = getattr(m, f"{name}_forward")(*a)
        return value, getattr(m, f"{name}_backward")(1.0, cache)

    v, g = run(library, forward_backward, args)
    close(v, want_v, 1e-12)
    for got, want in zip(as_tuple(g), as_tuple(want_g)):
        close(got, want, 1e-12)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(("path", "name", "params"), CASES, ids=CASE_IDS)
def test_float32_inputs_give_float32_values_and_gradients(library, path, name, params):
    require(library)
    ref, m = load(path, "numpy"), load(path, "array-api")
    x = point(params, seed=1)
    x32 = [
        a.astype(np.float32) if getattr(a, "dtype", None) == np.float64 else a
        for a in x
    ]
    if not hasattr(ref, f"{name}_value_and_grad"):  # an array-valued function: f
        v = run(library, getattr(m, name), [to_library(library, a) for a in x32])
        assert v.dtype == np.float32
        close(v, getattr(ref, name)(*x), 1e-5)
        return
    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    f = getattr(m, f"{name}_value_and_grad")
    v, g = run(library, f, [to_library(library, a) for a in x32])
    assert v.dtype == np.float32
    close(v, want_v, 1e-5)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        assert got.dtype == np.float32
        close(got, want, 1e-5)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_module_never_names_numpy(path):
    """Its only import outside the standard library is array_api_compat; no ``np.`` or
    ``numpy`` anywhere in its text, and no NumPy method (``.dot(``, ``.sum(``, ``.copy(``)
    but in the reductions that only NumPy's namespace is given."""
    text = compile_file(path.relative_to(path.parent.parent), target="array-api")
    assert not re.search(r"\bnumpy\b|\bnp\.", text)
    # NumPy's methods are called only by the reductions of _with_methods (NumPy only)
    functions = re.sub(r"\ndef _(sum|max|min|any)\(.*?\n\n", "\n", text, flags=re.S)
    assert not re.search(r"(?<!\bxp)\.(dot|sum|max|min|any|copy|astype)\(", functions)
    imports = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imports |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.module.split(".")[0])
    assert imports <= {"array_api_compat", "math", "importlib"}  # importlib: erf's shim
    assert "import array_api_compat" in text


CONSTANTS = """
THIRD = 0.3333333333333333


def f(x: Vector[n], s: Scalar) -> Scalar:
    return sum(pi * x**2 + e * sin(x) * THIRD + sqrt(2) * exp(s) * sigmoid(x) / 3)
"""


@pytest.mark.parametrize("library", LIBRARIES)
def test_constants_never_upcast(library):
    """pi, e and /3 are Python floats in the text (weak scalars), sqrt(2) the root of a
    0-d array of the inputs' dtype (a number, which no namespace function takes), a
    Scalar given as a Python float becomes a 0-d array of the inputs' dtype
    (``exp(s)``): float32 stays float32 on every library, and the values are the NumPy
    target's."""
    require(library)
    text = compile_source(CONSTANTS, target="array-api")
    assert "3.141592653589793" in text
    assert "xp.sqrt(xp.asarray(2.0, dtype=dtype, device=device))" in text
    assert "np." not in text
    m, ref = load_source(CONSTANTS, target="array-api"), load_source(CONSTANTS)
    x = np.linspace(-1.0, 1.0, 5)
    want_v, want_g = ref.f_value_and_grad(x, 0.5)
    v, g = run(
        library, m.f_value_and_grad, [to_library(library, x.astype(np.float32)), 0.5]
    )
    assert v.dtype == np.float32 and all(a.dtype == np.float32 for a in g)
    close(v, want_v, 1e-5)
    for got, want in zip(g, want_g):
        close(got, want, 1e-5)
