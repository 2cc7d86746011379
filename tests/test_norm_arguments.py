"""``norm`` takes ``np.linalg.norm``'s arguments: ``norm(x, ord=None, axis=None,
keepdims=False)``, so NumPy code pastes in with its meaning.

Before, the second positional argument was read as ``axis``, as for ``sum``:
``np.linalg.norm(M, 1)`` (NumPy: the largest column sum of ``|M|``, a number) compiled
to the 2-norms of ``M``'s rows, a vector. Now the orders that are the 2-norm over the
reduced axes (None; 2 over one axis; ``'fro'`` over two) compile, and every other order
is a located error that says what to write.

Values are checked against ``np.linalg.norm`` called with the same arguments, gradients
against central finite differences of it (float64), fused and ``fuse=False``.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import central_diff_grad

import gradc
from gradc.errors import FormulaError

FUSE = [True, False]

# (annotation, input shape, gradc's arguments after the array, NumPy's keyword arguments)
FORMS = [
    ("Vector[n]", (5,), "2", {"ord": 2}),
    ("Vector[n]", (5,), "2.0", {"ord": 2.0}),
    ("Vector[n]", (5,), "ord=2", {"ord": 2}),
    ("Vector[n]", (5,), "None", {}),
    ("Vector[n]", (5,), "None, 0, True", {"axis": 0, "keepdims": True}),
    ("Matrix[n, m]", (4, 3), "'fro'", {"ord": "fro"}),
    ("Matrix[n, m]", (4, 3), "ord='fro'", {"ord": "fro"}),
    ("Matrix[n, m]", (4, 3), "None, 1", {"axis": 1}),
    ("Matrix[n, m]", (4, 3), "2, 0", {"ord": 2, "axis": 0}),
    ("Matrix[n, m]", (4, 3), "2, -1, True", {"ord": 2, "axis": -1, "keepdims": True}),
    ("Matrix[n, m]", (4, 3), "ord=2, axis=1", {"ord": 2, "axis": 1}),
    (
        "Matrix[n, m]",
        (4, 3),
        "'fro', (0, 1), True",
        {"ord": "fro", "axis": (0, 1), "keepdims": True},
    ),
    ("Tensor[a, b, c]", (2, 3, 4), "'fro', (0, 2)", {"ord": "fro", "axis": (0, 2)}),
    ("Tensor[a, b, c]", (2, 3, 4), "None, (2, 1), False", {"axis": (2, 1)}),
]


def reduced_dims(ann: str, kw: dict) -> list[str]:
    """The dimension names of ``np.linalg.norm(x, **kw)`` for ``x: ann``."""
    dims = ann[ann.index("[") + 1 : -1].split(", ")
    axis = kw.get("axis")
    axes = range(len(dims)) if axis is None else np.atleast_1d(axis) % len(dims)
    if kw.get("keepdims"):
        return ["1" if k in axes else d for k, d in enumerate(dims)]
    return [d for k, d in enumerate(dims) if k not in axes]


@pytest.mark.parametrize("fuse", FUSE)
@pytest.mark.parametrize("ann, shape, args, kw", FORMS)
def test_numpy_argument_order(ann, shape, args, kw, fuse):
    """``norm(x, ...)`` is ``np.linalg.norm(x, ...)``: value and gradient of the sum of
    its entries weighted by ``u``."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    want = np.linalg.norm(x, **kw)
    u = rng.standard_normal(np.shape(want))
    u_type = (
        f"Tensor[{', '.join(reduced_dims(ann, kw))}]" if np.ndim(want) else "Scalar"
    )
    src = (
        f"def f(x: {ann}, u: {u_type}) -> Scalar:\n"
        f"    return sum(u * np.linalg.norm(x, {args}))\n"
    )
    m = gradc.load_source(src, fuse=fuse)
    value, (gx, _) = m.f_value_and_grad(x, u)

    def ref(x, u):
        return np.sum(u * np.linalg.norm(x, **kw))

    np.testing.assert_allclose(value, ref(x, u), rtol=1e-13)
    fd = central_diff_grad(ref, [x, u], [0])[0]
    np.testing.assert_allclose(gx, fd, rtol=1e-6, atol=1e-9)


def test_the_second_argument_is_ord_not_axis():
    """``np.linalg.norm(M, 1)`` is NumPy's matrix 1-norm; it no longer means the norms
    of ``M``'s rows (which ``norm(M, axis=1)`` still is)."""
    with pytest.raises(FormulaError) as err:
        gradc.load_source(
            "def f(M: Matrix[n, m]) -> Scalar:\n    return sum(np.linalg.norm(M, 1))\n"
        )
    assert "not ord=1 over 2 axes; write `max(sum(abs(M), axis=0))`" in str(err.value)
    m = gradc.load_source(
        "def f(M: Matrix[n, m]) -> Scalar:\n    return sum(norm(M, axis=1))\n"
    )
    M = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(m.f(M), np.sum(np.linalg.norm(M, axis=1)), rtol=1e-14)


@pytest.mark.parametrize(
    "call, col, hint",
    [
        ("norm(x, 1)", 20, "not ord=1 over 1 axis; write `sum(abs(x))`"),
        ("norm(x, np.inf)", 20, "not ord=np.inf over 1 axis; write `max(abs(x))`"),
        ("norm(x, -np.inf)", 20, "write `min(abs(x))`"),
        ("norm(x, ord=numpy.inf)", 24, "write `max(abs(x))`"),
        ("norm(x, 3)", 20, "write `sum(abs(x) ** 3) ** (1 / 3)`"),
        ("norm(x, 0)", 20, "not ord=0 over 1 axis"),
        ("norm(x, 'fro')", 20, "not ord='fro' over 1 axis; write `norm(x)`"),
        ("norm(M, 2)", 20, "not ord=2 over 2 axes"),
        ("norm(M, 'nuc')", 20, "not ord='nuc' over 2 axes"),
        ("norm(M, np.inf)", 20, "write `max(sum(abs(M), axis=1))`"),
        (
            "sum(norm(M, 1, 0))",
            24,
            "not ord=1 over 1 axis; write `sum(abs(M), axis=0)`",
        ),
        (
            "sum(norm(M, ord=3, axis=1, keepdims=True))",
            28,
            "write `sum(abs(M) ** 3, axis=1, keepdims=True) ** (1 / 3)`",
        ),
        ("norm(T, 'fro')", 20, "not ord='fro' over 3 axes"),
    ],
)
def test_other_orders_say_what_to_write(call, col, hint):
    """Each order NumPy has and gradc does not compute is a located error at the order,
    naming the 2-norm forms and, where it is a formula, what to write."""
    src = (
        "def f(x: Vector[n], M: Matrix[n, m], T: Tensor[2, 3, 4]) -> Scalar:\n"
        f"    return {call}\n"
    )
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src, filename="t.grad")
    text = str(err.value)
    assert text.startswith(f"t.grad:2:{col}: error: norm() computes the 2-norm"), text
    assert hint in text, text


@pytest.mark.parametrize("hint_call", ["norm(x, 1)", "norm(x, 3)", "norm(M, np.inf)"])
def test_what_the_error_says_to_write_is_numpys_norm(hint_call):
    """The formula an error suggests compiles, and equals NumPy's norm of that order."""
    src = (
        "def f(x: Vector[n], M: Matrix[n, m], T: Tensor[2, 3, 4]) -> Scalar:\n"
        f"    return {hint_call}\n"
    )
    with pytest.raises(FormulaError) as err:
        gradc.load_source(src)
    suggested = str(err.value).split("write `")[1].split("`")[0]
    m = gradc.load_source(src.replace(hint_call, suggested))
    rng = np.random.default_rng(3)
    x, M, T = rng.standard_normal(4), rng.standard_normal((4, 3)), np.zeros((2, 3, 4))
    order = {"norm(x, 1)": (x, 1), "norm(x, 3)": (x, 3), "norm(M, np.inf)": (M, np.inf)}
    a, p = order[hint_call]
    np.testing.assert_allclose(m.f(x, M, T), np.linalg.norm(a, p), rtol=1e-13)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            "norm(x, 2, 0, True, 1)",
            "norm() takes an array and optionally ord, axis and keepdims",
        ),
        ("norm(x, p=2)", "norm() got an unexpected keyword 'p'"),
        ("norm(x, None, 0, 1)", "keepdims must be True or False"),
        ("norm(x, None, 1)", "axis 1 is out of range for an array of 1 dimensions"),
    ],
)
def test_argument_errors(call, message):
    src = f"def f(x: Vector[n]) -> Scalar:\n    return {call}\n"
    with pytest.raises(
        FormulaError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        gradc.load_source(src)
