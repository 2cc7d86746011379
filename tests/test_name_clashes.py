"""Names the emitted module defines cannot be taken twice .

* An exported function's name can be one that gradc generates for another
function (``g`` and ``g_forward``, ``f`` and ``f_grad``): a FormulaError at the
  clashing ``def`` (FILE:LINE:COL, naming the generated name), whichever comes first.
* ``compile_sympy(name=...)`` refuses names that are not identifiers, are
keywords, or shadow what the module uses (builtins it calls, ``np``, ``math``,
  helpers, generated names), with a FormulaError; valid names still compile, and the
  module's values agree with the SymPy expression evaluated by SymPy.
"""

from __future__ import annotations

import keyword

import numpy as np
import pytest
import sympy as sp

import gradc
from gradc import FormulaError

SCALAR = "(x: Scalar) -> Scalar:\n    return x * x\n"


def two(first: str, second: str) -> str:
    return f"def {first}{SCALAR}\n\ndef {second}{SCALAR}"


@pytest.mark.parametrize(
    "first, second, generated",
    [
        ("g", "g_forward", "g_forward"),
        ("g_forward", "g", "g_forward"),
        ("f", "f_grad", "f_grad"),
        ("f_grad", "f", "f_grad"),
        ("f", "f_backward", "f_backward"),
        ("f", "f_value_and_grad", "f_value_and_grad"),
        ("a", "a_value_and", "a_value_and_grad"),  # both would generate it
        ("f_value", "f_value_and_grad", None),  # no clash: both compile
    ],
)
def test_exported_name_against_generated_names(first, second, generated):
    text = two(first, second)
    if generated is None:
        module = gradc.load_source(text, filename="m.grad")
        assert module.f_value_and_grad(3.0) == 9.0  # the formula function
        assert module.f_value_value_and_grad(3.0) == (9.0, 6.0)
        return
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="m.grad")
    message = str(info.value)
    assert message.startswith("m.grad:5:1: error:"), message  # the second def
    assert f"'{generated}'" in message, message


def test_reproduction_g_and_g_forward_no_longer_miscompiles():
    """The reported bug: ``g(2.0)`` failed with TypeError; now the file is refused up front."""
    with pytest.raises(FormulaError, match="g_forward"):
        gradc.load_source(two("g", "g_forward"))


def test_fused_helper_may_have_a_generated_looking_name():
    """A ``@fuse`` function is inlined, never emitted: ``g_grad`` then ``g`` is fine."""
    text = (
        "@fuse\ndef g_grad(x: Scalar) -> Scalar:\n    return x * x\n\n\n"
        "def g(x: Scalar) -> Scalar:\n    return g_grad(x) + x\n"
    )
    module = gradc.load_source(text)
    assert module.g_value_and_grad(2.0) == (6.0, 5.0)


# ---------------------------------------------------------------- compile_sympy names

x = sp.Symbol("x")
EXPR = x**2 + sp.sin(x)


@pytest.mark.parametrize(
    "name",
    [
        "import",
        "None",
        "True",
        "lambda",
        "match",  # a soft keyword
        "isinstance",
        "float",
        "tuple",
        "math",
        "np",
        "numpy",
        "cache",
        "_scalar",
        "_shape_error",
        "_sigmoid",
        "_private",
        "2f",
        "f-g",
        "",
        "f g",
        "f\n",
    ],
)
def test_compile_sympy_refuses_bad_names(name):
    with pytest.raises(FormulaError, match="name"):
        gradc.compile_sympy(EXPR, [x], name=name)


def test_compile_sympy_refuses_every_keyword_and_non_string():
    for name in keyword.kwlist + keyword.softkwlist:
        with pytest.raises(FormulaError):
            gradc.compile_sympy(EXPR, [x], name=name)
    with pytest.raises(FormulaError):
        gradc.compile_sympy(EXPR, [x], name=3)


@pytest.mark.parametrize("name", ["f", "loss", "energy_2", "d_value", "value"])
def test_compile_sympy_accepts_good_names(name):
    module = gradc.load_sympy(EXPR, [x], name=name)
    value, grad = getattr(module, name + "_value_and_grad")(0.7)
    assert value == pytest.approx(float(EXPR.subs(x, 0.7)), rel=1e-15)
    assert grad == pytest.approx(float(sp.diff(EXPR, x).subs(x, 0.7)), rel=1e-15)


@pytest.mark.parametrize("param", ["grads", "cache", "np", "float"])
def test_parameter_named_like_a_local_in_a_check_message(param):
    """The size check a slice needs names the parameter's shape in an f-string: the
    renamed parameter is renamed there too (found by the language oracle, seed 7149: a
    parameter ``grads`` gave ``NameError: grads_`` instead of the ValueError)."""
    src = f"def f({param}: Matrix[Q, S]) -> Scalar:\n    return sum({param}[-2:10:2, :] ** 2)\n"
    module = gradc.load_source(src, jvp=True, hvp=True)
    for fn in (module.f, module.f_grad, module.f_value_and_grad):
        with pytest.raises(
            ValueError, match=rf"parameter '{param}' has shape \(3, 4\)"
        ):
            fn(np.ones((3, 4)))
    assert module.f_grad(np.ones((11, 2))).shape == (11, 2)
