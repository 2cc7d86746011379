"""NumPy code pasted in: formulas written with ``np.`` as people write NumPy.

Each text is a formula's return expression and, unchanged, a NumPy expression: the module
gradc compiles from it must give NumPy's value on the same text (evaluated here by Python
over NumPy, no gradc code), and a gradient that equals central differences of that
NumPy value. The texts come from a sweep of common NumPy spellings (2026-12-02); the ones
gradc refuses are checked to be located errors that say what to write.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import central_diff_grad

import gradc
from gradc.errors import FormulaError

HEAD = (
    "def f(x: Vector[4], M: Matrix[3, 4], A: Matrix[4, 4], T: Tensor[2, 3, 4], "
    "s: Scalar) -> Scalar:\n"
)
NAMES = ("x", "M", "A", "T", "s")

COMPILED = [
    # NumPy's inverse and hyperbolic functions, logarithms in base 2 and 10
    "np.sum(np.arcsin(x / 4) * np.arccos(np.tanh(x) / 2))",
    "np.sum(np.arctan(M) @ x) + np.sum(np.arcsinh(3 * x))",
    "np.sum(np.sinh(x) * np.cosh(x) - np.sinh(2 * x) / 2) + np.cosh(s)",
    "np.sum(np.log2(np.abs(x) + 1)) + np.sum(np.log10(M * M + 0.5))",
    "np.sum(np.arctan(x) - np.arctan2(x, np.ones_like(x)))",
    "np.log10(s * s + 1) * np.arcsinh(s)",
    # np.newaxis for None
    "np.sum(x[np.newaxis, :] * M)",
    "np.sum(x[:, np.newaxis] * A)",
    "np.sum((M[:, np.newaxis, :] - M[np.newaxis, :, :]) ** 2)",
    "np.sum(T[:, numpy.newaxis, 0] * x)",
    # spellings that compiled before, as a baseline
    "np.sum(M, 0) @ x",
    "np.dot(x, A) @ x",
    "np.linalg.norm(M, 'fro') + np.linalg.norm(x, 2)",
    "np.std(x, ddof=1) + np.sum(np.var(M, axis=0, ddof=1))",
    "np.sum(np.mean(T, axis=(0, 1)))",
    "np.einsum('ij,ij->', M, M) + np.einsum('i,i', x, x)",
    "np.sum(np.maximum(1 - x * M, 0))",
    "np.sum(M - np.max(M, axis=1)[:, None])",
    "np.sum(M / np.linalg.norm(M, axis=1, keepdims=True))",
    "-np.sum(np.log(1.0 / (1.0 + np.exp(-x))))",
    "np.sum(np.clip(x, None, 0.5) * x)",
    "np.sum(np.reshape(M, (-1, 3)) ** 2 * x[:3])",
]


def numpy_value(text: str, values: dict) -> float:
    """The text as NumPy code (its own oracle: only ``np``, ``numpy`` and the inputs)."""
    return float(
        eval(text, {"np": np, "numpy": np, **values})
    )  # test text, not user text


def inputs() -> dict:
    rng = np.random.default_rng(7)
    return {
        "x": rng.uniform(-0.9, 0.9, 4),
        "M": rng.standard_normal((3, 4)),
        "A": rng.standard_normal((4, 4)),
        "T": rng.standard_normal((2, 3, 4)),
        "s": 0.6,
    }


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
@pytest.mark.parametrize("text", COMPILED)
def test_value_and_gradient_are_numpys(text, fuse):
    mod = gradc.load_source(HEAD + f"    return {text}\n", fuse=fuse)
    values = inputs()
    value, grads = mod.f_value_and_grad(*values.values())
    np.testing.assert_allclose(value, numpy_value(text, values), rtol=1e-12, atol=1e-14)

    def along(*args):
        return numpy_value(text, dict(zip(NAMES, args)))

    fds = central_diff_grad(along, list(values.values()), range(len(NAMES)))
    for name, grad, fd in zip(NAMES, grads, fds):
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8, err_msg=name)


REFUSED = [
    ("np.sum(np.asin(x))", "unknown function 'np.asin'; did you mean `arcsin`?"),
    ("np.sum(np.acos(x))", "did you mean `arccos`?"),
    ("np.sum(np.atan(x))", "did you mean `arctan`?"),
    ("np.sum(np.atan2(x, x))", "did you mean `arctan2`?"),
    ("np.sum(x[np.newaxis, np.newaxis, :, np.newaxis])", None),
    ("np.sum(x[np.nan])", "'np.nan' is not a formula constant"),
    ("np.sum(x) / x.shape[0]", "in `x: Vector[n]`, write `n`"),
    ("np.max(x, initial=0)", "max() got an unexpected keyword 'initial'"),
    ("np.sum(x[..., 0])", "`...` is not supported"),
]


@pytest.mark.parametrize("text, message", REFUSED)
def test_refused_with_a_located_error_or_numpys_value(text, message):
    src = HEAD + f"    return {text}\n"
    if message is None:  # compiles: NumPy's value
        mod = gradc.load_source(src)
        values = inputs()
        assert mod.f(*values.values()) == pytest.approx(numpy_value(text, values))
        return
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src)
    first = str(err.value).splitlines()[0]
    assert first.startswith("<string>:2:"), first
    assert message in first, first
