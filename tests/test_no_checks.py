"""``--no-checks`` (API ``checks=False``, SPEC §2): the emitted functions validate nothing.

On valid inputs (float64 arrays of the declared shapes, floats) the unchecked module gives
the checked module's values and gradients bit for bit, and both match NumPy written here
and central finite differences. The unchecked text calls none of the input helpers; the
scalar build keeps its NumPy fallbacks (they are about values, not validation); the
checked default still raises a ValueError naming the parameter.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

import gradc
from tests.gradcheck import as_grad_list, assert_fd_close, central_diff_grad

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "bench" / "cases"

INPUT_HELPERS = ("_array(", "_scalar(", "_index(", "_float64(", "_shape_error")


def both(name: str):
    """The checked and the unchecked module of ``bench/cases/<name>.grad``."""
    text = (CASES / f"{name}.grad").read_text()
    return gradc.load_source(text), gradc.load_source(text, checks=False)


def points(name: str):
    """Valid inputs of each case (float64 arrays, floats, int64 labels)."""
    rng = np.random.default_rng(0)
    if name == "neuron":
        return [2.0, -1.0, -3.0, -2.0, -3.0]
    if name == "logreg":
        X = rng.standard_normal((7, 3))
        y = (rng.random(7) > 0.5).astype(np.float64)
        return [rng.standard_normal(3), 0.3, X, y, 0.1]
    if name == "softmax_loss":
        W = rng.standard_normal((4, 3))
        X = rng.standard_normal((6, 4))
        return [W, X, np.array([0, 2, 1, 1, 0, 2]), 0.05]
    return [rng.standard_normal(6)]  # rosenbrock


WRT = {
    "neuron": [0, 1, 2, 3, 4],
    "logreg": [0, 1],
    "softmax_loss": [0],
    "rosenbrock": [0],
}


@pytest.mark.parametrize("name", sorted(WRT))
def test_unchecked_values_and_gradients_equal_the_checked_ones(name):
    checked, unchecked = both(name)
    args = points(name)
    f = getattr(checked, name + "_value_and_grad")
    g = getattr(unchecked, name + "_value_and_grad")
    value, grads = f(*args)
    value_u, grads_u = g(*args)
    n = len(WRT[name])
    assert value_u == value
    for a, b in zip(as_grad_list(grads_u, n), as_grad_list(grads, n)):
        assert np.array_equal(a, b)
    # forward, backward and the value function agree too
    out, cache = getattr(unchecked, name + "_forward")(*args)
    assert out == value == getattr(unchecked, name)(*args)
    back = getattr(unchecked, name + "_backward")(1.0, cache)
    for a, b in zip(as_grad_list(back, n), as_grad_list(grads, n)):
        assert np.array_equal(a, b)
    numeric = central_diff_grad(getattr(unchecked, name), args, WRT[name])
    assert_fd_close(as_grad_list(grads_u, n), numeric)


def test_unchecked_neuron_is_the_lecture_numbers():
    _, unchecked = both("neuron")
    value, grads = unchecked.neuron_value_and_grad(2.0, -1.0, -3.0, -2.0, -3.0)
    assert value == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-15)
    expected = [-0.19661193324148185, 0.3932238664829637, -0.3932238664829637]
    assert list(grads[:3]) == pytest.approx(expected, rel=1e-12)


def test_unchecked_softmax_loss_against_numpy():
    _, unchecked = both("softmax_loss")
    W, X, y, reg = points("softmax_loss")
    value, dW = unchecked.softmax_loss_value_and_grad(W, X, y, reg)
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.log(probs[np.arange(n), y]).mean() + reg * np.sum(W * W)
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    expected = X.T @ dscores / n + 2 * reg * W
    assert value == pytest.approx(loss, rel=1e-13)
    assert np.allclose(dW, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(WRT))
def test_unchecked_text_calls_no_input_helper(name):
    text = gradc.compile_file(CASES / f"{name}.grad", checks=False)
    for helper in INPUT_HELPERS:
        assert helper not in text, helper
    assert "isinstance(" not in text
    assert "raise " not in text
    doc = text.split('"""')[1]
    assert "Compiled with --no-checks: the functions validate nothing." in doc


def test_unchecked_prologue_binds_dimensions_and_python_floats():
    # b and lam are only added and multiplied: Python floats, as the checked build
    # keeps them (tests/test_python_floats.py has the forms that take np.float64)
    text = gradc.compile_file(CASES / "logreg.grad", checks=False)
    body = text.split("def logreg_value_and_grad(")[1]
    lines = [ln.strip() for ln in body.splitlines()]
    start = lines.index('"""', 1) + 1
    assert lines[start : start + 3] == [
        "b = float(b)",
        "n, _ = X.shape",
        "lam = float(lam)",
    ]


def test_unchecked_scalar_build_reads_floats_and_imports_no_numpy():
    text = gradc.compile_file(CASES / "add_mul.grad", checks=False)
    assert "import numpy" not in text
    body = text.split("def add_mul_value_and_grad(x, y, z):")[1]
    assert body.split('"""')[2].lstrip().startswith("# line")


def test_unchecked_scalar_build_keeps_its_numpy_fallbacks():
    src = "def f(x: Scalar) -> Scalar:\n    return 1 / x + log(x)\n"
    text = gradc.compile_source(src, checks=False)
    assert (
        "    except (ArithmeticError, ValueError):  # where NumPy gives inf or nan"
        in (text)
    )
    assert "return _f_value_and_grad_numpy(x)" in text
    checked = gradc.load_source(src)
    unchecked = gradc.load_source(src, checks=False)
    with np.errstate(all="ignore"):
        for x in [0.0, -1.0, 2.0]:
            a = checked.f_value_and_grad(x)
            b = unchecked.f_value_and_grad(x)
            assert np.array_equal(np.array(a), np.array(b), equal_nan=True)
        assert math.isnan(unchecked.f(0.0))  # inf + -inf, as NumPy gives


def test_checked_default_still_raises_naming_the_parameter():
    checked, unchecked = both("rosenbrock")
    bad = np.ones((2, 3))
    with pytest.raises(ValueError, match="rosenbrock: parameter 'x'"):
        checked.rosenbrock_value_and_grad(bad)
    checked, _ = both("logreg")
    w, b, X, y, lam = points("logreg")
    with pytest.raises(ValueError, match="logreg: parameter 'y' has shape"):
        checked.logreg_value_and_grad(w, b, X, y[:3], lam)
    checked, _ = both("neuron")
    with pytest.raises(TypeError, match="neuron: parameter 'x0' must be numeric"):
        checked.neuron_value_and_grad(1.0, "a", 1.0, 1.0, 1.0)


def test_sympy_entry_points_take_checks():
    x, y = sympy.symbols("x y", real=True)
    expr = sympy.sin(x) * y + x**2
    text = gradc.compile_sympy(expr, [x, y], checks=False)
    assert "isinstance(" not in text and "Compiled with --no-checks" in text
    mod = gradc.load_sympy(expr, [x, y], checks=False)
    value, (dx, dy) = mod.f_value_and_grad(0.5, 2.0)
    assert value == pytest.approx(math.sin(0.5) * 2.0 + 0.25, rel=1e-15)
    assert dx == pytest.approx(math.cos(0.5) * 2.0 + 1.0, rel=1e-15)
    assert dy == pytest.approx(math.sin(0.5), rel=1e-15)


def test_cli_flag_writes_the_unchecked_module(tmp_path):
    path = CASES / "softmax_loss.grad"
    run = [sys.executable, str(ROOT / "cli.py"), "compile", str(path)]
    out = subprocess.run(
        run + ["--no-checks"], capture_output=True, text=True, check=True
    ).stdout
    assert out == gradc.compile_file(path, checks=False)
    out = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert out == gradc.compile_file(path)


def test_a_parameter_named_np_still_reads_numpy():
    """--no-checks drops ``import numpy`` when nothing reads it; a parameter named ``np``
    makes the bodies read NumPy through ``_np``, so the import (and the alias) stay, and
    keyword calls use the user's name."""
    src = "def f(np: Scalar, y: Scalar) -> Scalar:\n    return sum(np * y)\n"
    text = gradc.compile_source(src, checks=False)
    assert "import numpy as np\n" in text and "_np = np\n" in text
    mod = gradc.import_module_source(text, "gradc_np_param")
    value, (d_np, d_y) = mod.f_value_and_grad(np=2.0, y=3.0)
    assert (value, d_np, d_y) == (6.0, 3.0, 2.0)
