"""--target array-api: input errors name the function and the parameter (read from
shapes and dtypes, never by converting), lazy inputs stay lazy, the command line and the
API take the target, and the emitted text is as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from xp_cases import ROOT, require, to_library

from gradc import FormulaError, compile_file, compile_source, load_source, load_sympy
from gradc.backend import unspelled

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SOFTMAX = (ROOT / "examples" / "softmax.grad").read_text()
LOGISTIC = ROOT / "examples" / "logistic.grad"


@pytest.fixture(scope="module")
def softmax():
    return load_source(SOFTMAX, filename="softmax.grad", target="array-api")


def softmax_inputs(n=6, d=4, c=3):
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal((d, c)),
        rng.standard_normal((n, d)),
        rng.integers(0, c, n),
        0.1,
    ]


@pytest.mark.parametrize("library", ["numpy", "torch", "dask", "jax"])
def test_a_wrong_shape_names_the_function_and_parameter(softmax, library):
    require(library)
    W, X, y, reg = softmax_inputs()
    args = [to_library(library, a) for a in (W, X[:, :3], y, reg)]
    message = "softmax_loss: parameter 'X' has shape (6, 3), expected (N, D) = (6, 4)"
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        softmax.softmax_loss_value_and_grad(*args)
    args = [to_library(library, a) for a in (W, X, y[None], reg)]
    with pytest.raises(ValueError, match="parameter 'y' has shape"):
        softmax.softmax_loss(*args)


def test_wrong_kinds_name_the_parameter(softmax):
    W, X, y, reg = softmax_inputs()
    with pytest.raises(
        TypeError, match="parameter 'X' must be an array of real floats, not int64"
    ):
        softmax.softmax_loss(W, X.astype(np.int64), y, reg)
    with pytest.raises(
        TypeError, match="parameter 'X' must be an array of real floats, not list"
    ):
        softmax.softmax_loss(W, X.tolist(), y, reg)
    with pytest.raises(
        TypeError, match="parameter 'y' must be an array of integers, not float64"
    ):
        softmax.softmax_loss(W, X, y.astype(float), reg)
    with pytest.raises(
        ValueError, match=r"parameter 'reg' has shape \(1,\), expected \(\)"
    ):
        softmax.softmax_loss(W, X, y, np.array([0.1]))


PICKED = """
def f(X: Matrix[3, 4], i: Index, j: Index, w: Vector[4]) -> Vector[4]:
    return X[i, :]


def g(X: Matrix[3, 4], i: Index, j: Index, w: Vector[4]) -> Scalar:
    return sum(X[i, :] * w) + X[j, i] * X[i, j]
"""


@pytest.mark.parametrize(
    "library", ["numpy", "array_api_strict", "torch", "dask", "jax"]
)
def test_a_scalar_index_may_be_a_python_int(library):
    """An ``Index`` of shape () given as a Python int, as Scalars take Python numbers (it
    was a TypeError, found by the language oracle): kept as an int (the standard's basic
    indexing, which every library has), so ``X[i, :]`` is a view and is copied on return
    (it shared memory with ``X``)."""
    require(library)
    xp_mod = load_source(PICKED, target="array-api")
    np_mod = load_source(PICKED)
    rng = np.random.default_rng(1)
    X, w = rng.standard_normal((3, 4)), rng.standard_normal(4)
    for i, j in [(1, 2), (-1, 0)]:
        args = [to_library(library, X), i, j, to_library(library, w)]
        got = xp_mod.f(*args)
        np.testing.assert_array_equal(np.asarray(got), X[i, :])
        if library in ("numpy", "torch"):
            assert not np.shares_memory(np.asarray(got), np.asarray(args[0]))
        value, grads = xp_mod.g_value_and_grad(*args)
        want_value, want_grads = np_mod.g_value_and_grad(X, i, j, w)
        assert float(value) == want_value
        for a, b in zip(grads, want_grads):
            np.testing.assert_array_equal(np.asarray(a), b)
    with pytest.raises(TypeError, match="parameter 'i' must be an array of integers"):
        xp_mod.f(to_library(library, X), True, 0, to_library(library, w))


def test_python_numbers_alone_are_refused_with_the_reason():
    m = load_source(
        (ROOT / "examples" / "lecture.grad").read_text(), target="array-api"
    )
    with pytest.raises(TypeError, match="mul_add: the array-api module needs an array"):
        m.mul_add(1.0, 2.0, 3.0)
    assert float(m.mul_add(np.asarray(-2.0), 5.0, -4.0)) == -12.0


def test_dask_inputs_stay_lazy_until_compute(softmax):
    """The call builds a graph and computes nothing (a scheduler that raises is never
    called); dask.compute(value, grads) then runs it once."""
    require("dask")
    import dask

    args = [to_library("dask", a) for a in softmax_inputs()]

    def refuse(*_, **__):
        raise AssertionError("the emitted code computed a Dask value")

    with dask.config.set(scheduler=refuse):
        value, grad = softmax.softmax_loss_value_and_grad(*args)
    assert isinstance(value, dask.array.Array) and isinstance(grad, dask.array.Array)
    value, grad = dask.compute(value, grad)
    ref = load_source(SOFTMAX).softmax_loss_value_and_grad(*softmax_inputs())
    np.testing.assert_allclose(value, ref[0], rtol=1e-12)
    np.testing.assert_allclose(grad, ref[1], rtol=1e-12)


def test_the_emitted_lines_are_as_written():
    text = compile_file(LOGISTIC.relative_to(ROOT), target="array-api")
    for line in [
        "import array_api_compat",
        '    xp, dtype, device = _namespace("logistic_loss", w, b, X, y, lam)',
        '    w = _array(xp, w, "logistic_loss", "w", 1, "(d,)")',
        '    b = _scalar(xp, b, "logistic_loss", "b", dtype, device)',
        "    p = _sigmoid(xp, xp.matmul(X, w) + b)",
        "    data_t4 = xp.sum(y * xp.log(data_t1) + data_t2 * xp.log(data_t3 + 1e-12)) / n",
        "    cache = (xp, dtype, device, w, X, y, lam, p, data_t1, data_t2, data_t3, n)",
        "    d_w -= xp.matmul(p_g1, X)",
        "    return _cast(xp, d_w, dtype), _cast(xp, d_b, dtype)",
        "    return out, (_cast(xp, d_w, w), _cast(xp, d_b, dtype))",
    ]:
        assert f"{line}\n" in text
    softmax = compile_source(SOFTMAX, target="array-api")
    for line in [
        "    data_loss = -(xp.sum(_pick(xp, log_probs, y)) / N)",
        "    d_scores_2 += _one_hot(xp, y, C, -1.0 / N, dtype, device)",
        "    out = data_loss + reg * xp.sum(W * W)",
        "    scores_t3 = xp.sum(xp.astype(scores_t2, dtype), axis=1, keepdims=True)",
    ]:
        assert f"{line}\n" in softmax
    rosen = compile_file("examples/rosenbrock.grad", target="array-api")
    for line in [
        "    d_x = xp.zeros((n,), dtype=dtype, device=device)",
        "    d_x = _at_set(d_x, slice(None, -1), 2.0 * out_t1 - 400.0 * out_t1 * out_t2 - 2.0)",
        "    d_x = _at_add(d_x, slice(1, None), 200.0 * out_t2)",
    ]:
        assert f"{line}\n" in rosen


def test_no_checks_binds_the_namespace_and_checks_nothing():
    require("torch")
    import torch

    m = load_source(SOFTMAX, target="array-api", checks=False)
    W, X, y, reg = softmax_inputs()
    v, g = m.softmax_loss_value_and_grad(
        *(to_library("torch", a) for a in (W, X, y, reg))
    )
    ref = load_source(SOFTMAX).softmax_loss_value_and_grad(W, X, y, reg)
    assert isinstance(g, torch.Tensor)
    np.testing.assert_allclose(g.numpy(), ref[1], rtol=1e-12)


def test_sympy_input_takes_the_target():
    x, y = sympy.symbols("x y")
    m = load_sympy(sympy.exp(x) * y, [x, y], target="array-api")
    v, (dx, dy) = m.f_value_and_grad(np.asarray(0.5, np.float32), 2.0)
    assert v.dtype == np.float32 and dx.dtype == np.float32
    np.testing.assert_allclose(dx, 2 * np.exp(0.5), rtol=1e-6)


def test_an_op_without_an_array_api_spelling_is_a_located_error(monkeypatch):
    # every op has an Array API spelling since erf's shim: erf is made one without
    spellable = unspelled.xp_spellable
    monkeypatch.setattr(
        unspelled, "xp_spellable", lambda op: op != "erf" and spellable(op)
    )
    text = "def f(x: Vector[n]) -> Scalar:\n    return sum(erf(x))\n"
    with pytest.raises(FormulaError) as err:
        compile_source(text, filename="e.grad", target="array-api")
    assert str(err.value).startswith("e.grad:2:")
    assert "'erf' has no Array API spelling yet (--target array-api)" in str(err.value)


def test_unknown_targets_are_refused():
    # (numba is built since issue 21: tests/test_numba_target.py)
    with pytest.raises(FormulaError, match="unknown target 'cupy'"):
        compile_source("def f(x: Scalar) -> Scalar:\n    return x\n", target="cupy")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_target(tmp_path: Path):
    out = tmp_path / "logistic.py"
    proc = run_cli(
        "compile", "--target", "array-api", "examples/logistic.grad", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == compile_file("examples/logistic.grad", target="array-api")
    proc = run_cli("compile", "--target", "cupy", "examples/logistic.grad")
    assert proc.returncode == 2
    assert "invalid choice: 'cupy'" in proc.stderr
    assert "Traceback" not in proc.stderr
