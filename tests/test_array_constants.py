"""Float constants meeting arrays as module-level 0-d arrays on the NumPy target (issue
16): NumPy converts a Python float operand of ``x + 1.0`` into an array on every call
(about 0.2 us), and ``x + _one``, with ``_one = np.array(1.0)``, gives the same float64
array without it (``core.names.ARRAY_CONSTANTS``, ``ops.spelling.array_constants``,
``Prim.constant_operands``).

Checked: the emitted text (a fused body's entries on arrays take the names, those on
scalars keep the literals; the numba and Array API targets keep them all); the names
reserved (a formula's own ``_one`` is renamed, a parameter ``_one`` keeps its name in
the signature); and, over the language generator's formulas whose module changes,
every function at the formula's point, at zeros and at extreme values, against the
module built with the literals, bit for bit, exceptions included."""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc.core.names import ARRAY_CONSTANT_VALUES, ARRAY_CONSTANTS

sys.path.insert(0, str(Path(__file__).parent))
import language_gen as G  # noqa: E402
from test_scalar_where import builds_agree, same  # noqa: E402

NEURON = """
@wrt(x, s)
def f(x: Vector[n], s: Scalar) -> Scalar:
    p = sigmoid(2.0 * x)
    return sum(p * (1.0 - p) * (1.0 - s) + 0.5 * x / s)
"""


def both_builds(text: str, monkeypatch, **kw) -> tuple[str, str]:
    """The module as emitted, and with every constant a Python float literal (before)."""
    kw = {"jvp": True, "hvp": True, **kw}
    now = gradc.compile_source(text, **kw)
    with monkeypatch.context() as m:
        for k in list(ARRAY_CONSTANTS):
            m.delitem(ARRAY_CONSTANTS, k)
        before = gradc.compile_source(text, **kw)
    return now, before


def function_text(src: str, name: str) -> str:
    return src.split(f"\ndef {name}(")[1].split("\n\n\n")[0]


def test_constants_meeting_arrays_are_the_modules_0d_arrays(monkeypatch):
    now, before = both_builds(NEURON, monkeypatch)
    assert "\n# 0.0, 0.5, 1.0 and 2.0 as 0-d arrays, for operations with arrays" in now
    for name, value in ARRAY_CONSTANT_VALUES.items():
        assert f"\n{name} = np.array({value})\n" in now
        assert name not in function_text(before, "f_value_and_grad")
    vg = function_text(now, "f_value_and_grad")
    # on the array x: the names; 1.0 - s, a Python float's arithmetic, keeps the literal
    assert "p = _sigmoid(_two * x)" in vg, vg
    assert "_one - p" in vg and "(1.0 - s)" in vg, vg
    assert "_one - s" not in vg and "_half" in vg, vg
    mods = [
        gradc.import_module_source(t, f"ac_n{i}") for i, t in enumerate((now, before))
    ]
    x = np.random.default_rng(0).normal(size=7)
    got, want = (m.f_value_and_grad(x, 0.3) for m in mods)
    assert same(got, want)
    # and the gradient itself, against central differences in float64
    h = 1e-6
    fd = [
        (mods[0].f(x + h * e, 0.3) - mods[0].f(x - h * e, 0.3)) / (2 * h)
        for e in np.eye(7)
    ]
    np.testing.assert_allclose(got[1][0], fd, rtol=1e-7, atol=1e-9)
    fs = (mods[0].f(x, 0.3 + h) - mods[0].f(x, 0.3 - h)) / (2 * h)
    np.testing.assert_allclose(got[1][1], fs, rtol=1e-7)


def test_a_scalar_function_and_other_targets_keep_the_literals():
    scalar = "def g(a: Scalar, b: Scalar) -> Scalar:\n    return (1.0 - a) * 2.0 * b\n"
    text = gradc.compile_source(scalar)
    assert "_one" not in text and "(1.0 - a) * 2.0 * b" in text
    for target in ("numba", "array-api"):
        text = gradc.compile_source(NEURON, target=target)
        assert "_one" not in text and "_two" not in text, target


def test_the_names_are_reserved():
    text = """
def f(_one: Vector[n], x: Vector[n]) -> Scalar:
    _two = 2.0 * x
    return sum(_one * _two * (1.0 - x))
"""
    src = gradc.compile_source(text)
    mod = gradc.import_module_source(src, "ac_reserved")
    assert "def f_value_and_grad(_one, x):" in src
    a, x = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    value, (d_a, d_x) = mod.f_value_and_grad(a, x)
    assert value == np.sum(a * 2.0 * x * (1.0 - x))
    np.testing.assert_array_equal(d_a, 2.0 * x * (1.0 - x))
    np.testing.assert_allclose(d_x, a * (2.0 - 4.0 * x), rtol=1e-15)
    assert mod._one.tolist() == 1.0 and mod._two.tolist() == 2.0


CHUNKS = [(lo, lo + 60) for lo in range(0, 720, 120)]


@pytest.mark.parametrize("chunk", CHUNKS, ids=lambda c: f"seeds{c[0]}-{c[1]}")
def test_the_0d_constants_give_the_numbers_of_the_literals(chunk, monkeypatch):
    found = builds_agree(chunk, lambda text: both_builds(text, monkeypatch), "ac")
    # about two formulas in five have a constant meeting an array in their functions
    assert found >= 15, f"only {found} formulas of seeds {chunk} change"


def test_the_helpers_give_the_numbers_of_the_literals():
    """``_sigmoid`` and ``_softplus`` read ``_one`` and ``_zero``: the values of
    ``1.0 / (1.0 + np.exp(-x))`` and ``np.maximum(x, 0.0) + ...`` bit for bit, on arrays,
    0-d arrays and floats, at extreme values too, and no warning."""
    text = "def f(x: Vector[n], s: Scalar) -> Scalar:\n    return sum(sigmoid(x) * s)\n"
    sigmoid = gradc.import_module_source(gradc.compile_source(text), "ac_sig")._sigmoid
    softplus = helper_of_a_generated_formula("_softplus")
    assert "return _one / (_one + np.exp(-x))" in inspect.getsource(sigmoid)
    assert "np.maximum(x, _zero)" in inspect.getsource(softplus)
    x = np.array([-800.0, -745.0, -709.5, -30.0, -1e-300, 0.0, 0.5, 36.0, 800.0])
    x = np.concatenate([x, np.random.default_rng(1).normal(scale=20.0, size=200)])
    with np.errstate(over="ignore"):
        sig = 1.0 / (1.0 + np.exp(-x))
    soft = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert same(sigmoid(x), sig) and same(softplus(x), soft)
        for k, v in enumerate(x[:12]):
            for arg in (float(v), np.float64(v), np.array(v)):
                got = (sigmoid(arg), softplus(arg))
                assert same(got, (sig[k], soft[k])), (arg, got)
                assert type(got[0]) is np.float64 and type(got[1]) is np.float64


def helper_of_a_generated_formula(name: str):
    """The helper ``name`` of the module of the first generator formula that calls it
    (``_softplus`` is called where softplus meets no sigmoid of the same argument,
    scalarised elements among them)."""
    for seed in range(600):
        try:
            src = gradc.compile_source(G.generate(seed).text)
        except Exception:  # noqa: BLE001, S112 - refusals are another test's concern
            continue
        if f" {name}(" in src:
            return getattr(gradc.import_module_source(src, f"ac_helper{seed}"), name)
    raise AssertionError(f"no formula of seeds 0-599 calls {name}")
