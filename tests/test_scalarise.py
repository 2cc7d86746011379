"""Small literal dimensions (issue 16): a function whose arrays all have literal shapes of at
most ``MAX_ELEMENTS`` elements is rebuilt on scalars (``passes/scalarise.py``) and emitted
as Python floats and ``math``: the array inputs checked, read once as lists, the gradients
made again as fresh float64 arrays. Checked here: the emitted text of the lecture's neuron
over ``Vector[3]`` and ``Vector[2]``; gradients against NumPy written here and central
finite differences; what is left alone (a named dimension, a larger array, an array output,
an operation the pass does not expand, the Array API target); the API (shapes, dtype,
fresh arrays, errors naming the parameter); ``--jvp``/``--hvp``, ``--no-checks`` and the
numba target on such functions.
"""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from gradcheck import as_grad_list, assert_fd_close, central_diff_grad

import gradc
from gradc.passes.literal_shapes import MAX_ELEMENTS

NEURON = """
def neuron_vec(w: Vector[3], x: Vector[2]) -> Scalar:
    z = w[0] * x[0] + w[1] * x[1] + w[2]
    return 1 / (1 + exp(-z))
"""

NEURON_VG = '''def neuron_vec_value_and_grad(w, x):
    """Value of ``neuron_vec`` and its gradients with respect to w, x.

    Inputs: w: Vector[3], x: Vector[2] -> Scalar.
    """
    # inputs not all floats and float64 arrays of their shapes: each converted
    if (
        w.__class__ is not _ndarray
        or w.dtype is not _float64_dtype
        or w.shape != (3,)
        or x.__class__ is not _ndarray
        or x.dtype is not _float64_dtype
        or x.shape != (2,)
    ):
        w = _array(w, "neuron_vec", "w", 1, "(3,)")
        if len(w) != 3:
            raise _shape_error("neuron_vec", "w", w.shape, "(3,)", (3,))
        x = _array(x, "neuron_vec", "x", 1, "(2,)")
        if len(x) != 2:
            raise _shape_error("neuron_vec", "x", x.shape, "(2,)", (2,))
    # line 2: def neuron_vec(w: Vector[3], x: Vector[2]) -> Scalar:
    w_list = w.tolist()
    w_0 = w_list[0]
    w_1 = w_list[1]
    w_2 = w_list[2]
    x_list = x.tolist()
    x_0 = x_list[0]
    x_1 = x_list[1]
    # line 3: z = w[0] * x[0] + w[1] * x[1] + w[2]
    z = w_0 * x_0 + w_1 * x_1 + w_2
    # line 4: return 1 / (1 + exp(-z))
    out = 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else math.exp(z)
    d_z = out * (1.0 - out)
    # line 3: z = w[0] * x[0] + w[1] * x[1] + w[2]
    d_w = np.array([d_z * x_0, d_z * x_1, d_z])
    d_x = np.array([d_z * w_0, d_z * w_1])
    return out, (d_w, d_x)


'''

NEURON_BACKWARD = """    w_0, w_1, x_0, x_1, out = cache
    if not isinstance(d_out, float):
        d_out = _scalar(d_out, "neuron_vec_backward", "d_out")
    # line 4: return 1 / (1 + exp(-z))
    d_z = d_out * out * (1.0 - out)
    # line 3: z = w[0] * x[0] + w[1] * x[1] + w[2]
    d_w = np.array([d_z * x_0, d_z * x_1, d_z])
    d_x = np.array([d_z * w_0, d_z * w_1])
    return d_w, d_x
"""


def function_text(source: str, name: str) -> str:
    """The text of the emitted function ``name`` (up to the next top-level def)."""
    match = re.search(rf"^def {name}\(.*?(?=^def |\Z)", source, re.S | re.M)
    assert match, name
    return match.group(0)


#: a scalarised function reads each array parameter once as a list (``w_list =
#: w.tolist()``); the Index range check's helper reads a few values as a list too
READ_AS_LIST = re.compile(r"^ +\w+_list = \w+\.tolist\(\)$", re.M)


def scalarised(source: str) -> bool:
    """Whether the emitted module reads its arrays as lists and makes no NumPy temporaries."""
    return READ_AS_LIST.search(source) is not None and "np.zeros" not in source


def test_neuron_vec_emitted_text():
    source = gradc.compile_source(NEURON)
    assert function_text(source, "neuron_vec_value_and_grad") == NEURON_VG
    assert function_text(source, "neuron_vec_backward").endswith(
        NEURON_BACKWARD + "\n\n"
    )


def test_neuron_dot_emits_the_same_statements():
    text = """
def neuron_dot(w: Vector[3], x: Vector[2]) -> Scalar:
    z = dot(w[0:2], x) + w[2]
    return 1 / (1 + exp(-z))
"""
    body = function_text(gradc.compile_source(text), "neuron_dot_value_and_grad")
    expected = NEURON_VG.replace("neuron_vec", "neuron_dot").replace(
        "w[0] * x[0] + w[1] * x[1] + w[2]", "dot(w[0:2], x) + w[2]"
    )
    assert body == expected


def test_neuron_vec_values_are_the_lectures():
    mod = gradc.load_source(NEURON)
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    value, (dw, dx) = mod.neuron_vec_value_and_grad(w, x)
    # the backprop notes: f = 0.73, dw = [-0.2, -0.39, 0.2], dx = [0.39, -0.59]
    f = 1.0 / (1.0 + np.exp(-(2.0 * -1.0 + -3.0 * -2.0 - 3.0)))
    assert value == pytest.approx(f, rel=1e-15)
    np.testing.assert_allclose(dw, np.array([-1.0, -2.0, 1.0]) * (1 - f) * f, 1e-15)
    np.testing.assert_allclose(dx, np.array([2.0, -3.0]) * (1 - f) * f, rtol=1e-15)
    assert type(value) is float


# (formula, arguments, value in NumPy, gradients in NumPy), every input differentiated
def _matvec_grads(W, x, t):
    h = np.tanh(W @ x)
    g = (1 - h**2) * t
    return [np.outer(g, x), W.T @ g, h]


def _where_grads(x, y):
    pos = x > 0
    return [
        np.where(pos, y, np.where(x > y, 1.0, 0.0)),
        np.where(pos, x, np.where(x > y, 0.0, 1.0)),
    ]


RNG = np.random.default_rng(16)
CASES = {
    "dot": (
        "def f(a: Vector[3], b: Vector[3]) -> Scalar:\n    return dot(a, b) ** 2\n",
        [RNG.standard_normal(3), RNG.standard_normal(3)],
        lambda a, b: np.dot(a, b) ** 2,
        lambda a, b: [2 * np.dot(a, b) * b, 2 * np.dot(a, b) * a],
    ),
    "matmul_2x3": (
        "def f(W: Matrix[2, 3], x: Vector[3], t: Vector[2]) -> Scalar:\n"
        "    return sum(tanh(W @ x) * t)\n",
        [RNG.standard_normal((2, 3)), RNG.standard_normal(3), RNG.standard_normal(2)],
        lambda W, x, t: np.sum(np.tanh(W @ x) * t),
        _matvec_grads,
    ),
    "matrix_matrix": (
        "def f(A: Matrix[2, 3], B: Matrix[3, 2]) -> Scalar:\n"
        "    return sum((A @ B) ** 2)\n",
        [RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))],
        lambda A, B: np.sum((A @ B) ** 2),
        lambda A, B: [2 * (A @ B) @ B.T, 2 * A.T @ (A @ B)],
    ),
    "sum_axis": (
        "def f(X: Matrix[2, 3]) -> Scalar:\n    return sum(exp(sum(X, axis=0)))\n",
        [0.5 * RNG.standard_normal((2, 3))],
        lambda X: np.sum(np.exp(X.sum(axis=0))),
        lambda X: [np.broadcast_to(np.exp(X.sum(axis=0)), (2, 3))],
    ),
    "indexing": (
        "def f(x: Vector[4]) -> Scalar:\n"
        "    return x[0] * x[3] + sum(log(1 + x[1:3] ** 2))\n",
        [RNG.standard_normal(4)],
        lambda x: x[0] * x[3] + np.sum(np.log(1 + x[1:3] ** 2)),
        lambda x: [
            np.array(
                [x[3], 2 * x[1] / (1 + x[1] ** 2), 2 * x[2] / (1 + x[2] ** 2), x[0]]
            )
        ],
    ),
    "where_maximum": (
        "def f(x: Vector[4], y: Vector[4]) -> Scalar:\n"
        "    return sum(where(x > 0, x * y, maximum(x, y)))\n",
        [np.array([0.5, -1.0, 2.0, -0.3]), np.array([1.5, -2.0, 0.7, 0.4])],
        lambda x, y: np.sum(np.where(x > 0, x * y, np.maximum(x, y))),
        _where_grads,
    ),
    "exp_log_tanh_mean": (
        "def f(x: Vector[3], c: Scalar) -> Scalar:\n"
        "    return mean(log(1 + exp(c * x)) + tanh(x))\n",
        [RNG.standard_normal(3), 0.7],
        lambda x, c: np.mean(np.log(1 + np.exp(c * x)) + np.tanh(x)),
        lambda x, c: [
            (c / (1 + np.exp(-c * x)) + 1 - np.tanh(x) ** 2) / 3,
            np.sum(x / (1 + np.exp(-c * x))) / 3,
        ],
    ),
    "broadcast_outer": (
        "def f(u: Vector[2], v: Vector[3]) -> Scalar:\n"
        "    return sum(sin(u[:, None] * v) + outer(u, v))\n",
        [RNG.standard_normal(2), RNG.standard_normal(3)],
        lambda u, v: np.sum(np.sin(u[:, None] * v) + np.outer(u, v)),
        lambda u, v: [
            np.cos(u[:, None] * v) @ v + v.sum(),
            u @ np.cos(u[:, None] * v) + u.sum(),
        ],
    ),
    "einsum": (
        "def f(A: Matrix[2, 3], B: Matrix[3, 2]) -> Scalar:\n"
        '    return sum(einsum("ij,jk->ik", A, B) ** 2) + einsum("ij,ji->", A, B)\n',
        [RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))],
        lambda A, B: np.sum((A @ B) ** 2) + np.trace(A @ B),
        lambda A, B: [2 * (A @ B) @ B.T + B.T, 2 * A.T @ (A @ B) + A.T],
    ),
    "concatenate_stack": (
        "def f(x: Vector[3], y: Vector[2]) -> Scalar:\n"
        "    return sum(concatenate([x, y]) ** 2) + sum(stack([x, x * x]) * 3)\n",
        [RNG.standard_normal(3), RNG.standard_normal(2)],
        lambda x, y: (
            np.sum(np.concatenate([x, y]) ** 2) + np.sum(np.stack([x, x * x]) * 3)
        ),
        lambda x, y: [2 * x + 3 + 6 * x, 2 * y],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_against_numpy_and_finite_differences(case):
    text, args, value_fn, grads_fn = CASES[case]
    source = gradc.compile_source(text)
    assert scalarised(source), case
    mod = gradc.load_source(text)
    wrt = list(range(len(args)))
    value, grads = mod.f_value_and_grad(*args)
    grads = as_grad_list(grads, len(wrt))
    assert value == pytest.approx(value_fn(*args), rel=1e-13)
    expected = grads_fn(*args)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
    assert_fd_close(grads, central_diff_grad(mod.f, args, wrt), scale=abs(value))
    # forward and backward apart give the same
    value2, cache = mod.f_forward(*args)
    assert value2 == value
    for g, h in zip(grads, as_grad_list(mod.f_backward(1.0, cache), len(wrt))):
        np.testing.assert_array_equal(g, h)


@pytest.mark.parametrize(
    "text",
    [
        "def f(x: Vector[n]) -> Scalar:\n    return x[0] * x[1]\n",  # a named dimension
        f"def f(x: Vector[{MAX_ELEMENTS + 1}]) -> Scalar:\n    return sum(x * x)\n",
        "def f(X: Matrix[4, 5]) -> Scalar:\n    return sum(X * X)\n",  # 20 elements
        "def f(x: Vector[3]) -> Vector[3]:\n    return x * x\n",  # an array output
        "def f(x: Vector[3]) -> Scalar:\n    return max(x)\n",  # not expanded
        "def f(x: Vector[3], y: Index) -> Scalar:\n    return x[y]\n",  # an Index value
        "def f(x: Vector[3]) -> Scalar:\n    return x[0] + sum(x[2:1])\n",  # empty
    ],
)
def test_left_as_numpy(text):
    source = gradc.compile_source(text)
    assert READ_AS_LIST.search(source) is None
    assert "import math" not in source


def test_at_the_threshold_scalarised():
    text = f"def f(x: Vector[{MAX_ELEMENTS}]) -> Scalar:\n    return sum(x * x)\n"
    mod = gradc.load_source(text)
    assert scalarised(gradc.compile_source(text))
    x = np.arange(MAX_ELEMENTS, dtype=np.float64)
    np.testing.assert_array_equal(mod.f_grad(x), 2 * x)


def test_results_are_fresh_float64_arrays():
    mod = gradc.load_source(NEURON)
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    dw, dx = mod.neuron_vec_grad(w, x)
    dw2, dx2 = mod.neuron_vec_grad(w, x)
    for g, shape in ((dw, (3,)), (dx, (2,))):
        assert type(g) is np.ndarray and g.dtype == np.float64 and g.shape == shape
        assert g.flags.owndata and g.flags.writeable
    assert dw is not dw2 and not np.shares_memory(dw, dw2)
    assert not np.shares_memory(dw, w) and not np.shares_memory(dx, x)
    # Python lists, ints and float32 are converted as for any array input
    value, (lw, lx) = mod.neuron_vec_value_and_grad([2, -3, -3], [-1, -2])
    np.testing.assert_array_equal(lw, dw)
    assert lw.dtype == np.float64
    f32 = mod.neuron_vec_grad(w.astype(np.float32), x.astype(np.float32))
    np.testing.assert_array_equal(f32[0], dw)
    # the fast test passes a strided float64 array; a byte-swapped one, and one whose
    # float64 dtype is not NumPy's own object (unpickled), take the converting path
    swapped = mod.neuron_vec_grad(w.astype(">f8"), np.array([-1.0, 0.0, -2.0])[::2])
    np.testing.assert_array_equal(swapped[0], dw)
    np.testing.assert_array_equal(swapped[1], dx)
    assert swapped[0].dtype == np.float64 and swapped[0].dtype.isnative
    unpickled = pickle.loads(pickle.dumps(w))
    assert unpickled.dtype is not np.dtype(np.float64)
    np.testing.assert_array_equal(mod.neuron_vec_grad(unpickled, x)[0], dw)


def test_mixed_scalar_and_array_inputs():
    text = (
        "def f(w: Vector[2], b: Scalar) -> Scalar:\n    return tanh(w[0] * b + w[1])\n"
    )
    source = gradc.compile_source(text)
    assert "    or b.__class__ is not float\n" in source
    mod = gradc.load_source(text)
    w = np.array([0.3, -0.2])
    for b in (0.5, np.float64(0.5), np.float32(0.5), np.array(0.5)):
        value, (dw, db) = mod.f_value_and_grad(w, b)
        t = np.tanh(0.3 * 0.5 - 0.2)
        assert value == pytest.approx(t, rel=1e-15) and type(value) is float
        np.testing.assert_allclose(dw, (1 - t * t) * np.array([0.5, 1.0]), rtol=1e-14)
        assert db == pytest.approx((1 - t * t) * 0.3, rel=1e-14)
    with pytest.raises(ValueError, match="f: parameter 'b' has shape \\(2,\\)"):
        mod.f(w, np.ones(2))


@pytest.mark.parametrize(
    "w, x, param, seen",
    [
        (np.ones(4), np.ones(2), "w", r"\(4,\)"),
        (np.ones(3), np.ones((2, 1)), "x", r"\(2, 1\)"),
        (np.ones((3, 1)), np.ones(2), "w", r"\(3, 1\)"),
        (1.0, np.ones(2), "w", r"\(\)"),
    ],
)
def test_wrong_shapes_name_the_parameter(w, x, param, seen):
    mod = gradc.load_source(NEURON)
    for fn in (mod.neuron_vec, mod.neuron_vec_value_and_grad, mod.neuron_vec_grad):
        with pytest.raises(
            ValueError, match=rf"neuron_vec: parameter '{param}'.*{seen}"
        ):
            fn(w, x)


def test_math_overflow_falls_back_to_numpy():
    # math.exp(1000) raises OverflowError; NumPy gives inf, and so must the function
    text = "def f(x: Vector[2]) -> Scalar:\n    return exp(x[0]) * x[1]\n"
    mod = gradc.load_source(text)
    assert scalarised(gradc.compile_source(text))
    x = np.array([1000.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, grad = mod.f_value_and_grad(x)
        expected = np.exp(x[0]) * x[1]
    assert value == expected and type(value) is float
    assert type(grad) is np.ndarray and grad.dtype == np.float64 and grad.shape == (2,)
    np.testing.assert_array_equal(grad, [np.inf, np.inf])


def test_no_checks():
    mod = gradc.load_source(NEURON, checks=False)
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    checked = gradc.load_source(NEURON).neuron_vec_value_and_grad(w, x)
    value, (dw, dx) = mod.neuron_vec_value_and_grad(w, x)
    assert value == checked[0]
    np.testing.assert_array_equal(dw, checked[1][0])
    np.testing.assert_array_equal(dx, checked[1][1])


SECOND = (
    "def f(W: Matrix[2, 3], x: Vector[3]) -> Scalar:\n"
    "    return sum(tanh(W @ x) ** 2) + sum(x ** 3)\n"
)


def _second_value(W, x):
    return np.sum(np.tanh(W @ x) ** 2) + np.sum(x**3)


def test_jvp_and_hvp_scalarised():
    mod = gradc.load_source(SECOND, jvp=True, hvp=True)
    assert scalarised(gradc.compile_source(SECOND, jvp=True, hvp=True))
    W, x = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    tW, tx = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    value, d_value = mod.f_jvp(W, x, tW, tx)
    h = 1e-6
    fd = _second_value(W + h * tW, x + h * tx) - _second_value(W - h * tW, x - h * tx)
    assert value == pytest.approx(_second_value(W, x), rel=1e-13)
    assert d_value == pytest.approx(fd / (2 * h), rel=1e-7, abs=1e-9)
    hW, hx = mod.f_hvp(W, x, tW, tx)
    gp = as_grad_list(mod.f_grad(W + h * tW, x + h * tx), 2)
    gm = as_grad_list(mod.f_grad(W - h * tW, x - h * tx), 2)
    for got, a, b in zip((hW, hx), gp, gm):
        assert type(got) is np.ndarray and got.dtype == np.float64
        np.testing.assert_allclose(got, (a - b) / (2 * h), rtol=1e-6, atol=1e-8)


def test_hessian_of_a_small_vector():
    text = "def f(x: Vector[3]) -> Scalar:\n    return sum(x ** 3) * x[0]\n"
    mod = gradc.load_source(text, hvp=True)
    assert scalarised(gradc.compile_source(text, hvp=True))
    x = np.array([0.5, -1.0, 2.0])
    hess = mod.f_hessian(x)
    # f = x0 * s, s = sum(x**3): d2f/dx0^2 = 6 x0^2 + 6 x0^2 ... written out:
    expected = np.diag(6 * x * x[0])
    expected[0, :] += 3 * x**2
    expected[:, 0] += 3 * x**2
    assert hess.shape == (3, 3) and hess.dtype == np.float64
    np.testing.assert_allclose(hess, expected, rtol=1e-13)


def test_hessian_through_a_batched_matmul():
    # f_hessian pushes 4 tangents at once: (4, 2, 2) @ (2, 2) in its graph
    text = (
        "def f(x: Vector[4]) -> Scalar:\n"
        "    return sum(reshape(x, (2, 2)) @ reshape(x, (2, 2)))\n"
    )
    assert scalarised(gradc.compile_source(text, hvp=True))
    mod = gradc.load_source(text, hvp=True)
    x = RNG.standard_normal(4)
    # f = sum_ij sum_k X_ik X_kj: d2f / dX_ab dX_cd = [b == c] + [d == a]
    expected = np.zeros((4, 4))
    for a in range(2):
        for b in range(2):
            for c in range(2):
                for d in range(2):
                    expected[2 * a + b, 2 * c + d] = (b == c) + (d == a)
    np.testing.assert_array_equal(mod.f_hessian(x), expected)


@pytest.mark.parametrize("target", ["numba", "array-api"])
def test_other_targets(target):
    pytest.importorskip("numba" if target == "numba" else "array_api_compat")
    source = gradc.compile_source(NEURON, target=target)
    # numba: the scalar build, as for all-Scalar functions; array-api: left as arrays
    # (it keeps the inputs' dtype and library)
    assert scalarised(source) == (target == "numba")
    mod = gradc.load_source(NEURON, target=target)
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    value, (dw, dx) = mod.neuron_vec_value_and_grad(w, x)
    expected = gradc.load_source(NEURON).neuron_vec_value_and_grad(w, x)
    assert value == pytest.approx(expected[0], rel=1e-15)
    np.testing.assert_allclose(dw, expected[1][0], rtol=1e-15)
    np.testing.assert_allclose(dx, expected[1][1], rtol=1e-15)


EDGE_CASES = [
    # (body over x: Vector[2] and p: Scalar, x, p): where Python floats raise, NumPy gives
    # inf or nan, and the scalarised function the same as the NumPy build (a named size)
    ("sum(x ** p)", [0.0, 2.0], -1.0),
    ("sum(x ** p)", [-8.0, 2.0], 1.0 / 3.0),
    ("sum(log(x) * p)", [0.0, -1.0], 2.0),
    ("sum(sqrt(x) + exp(x * p))", [-1.0, 800.0], 2.0),
    ("sum(where(x > 0, 1 / x, p))", [0.0, 4.0], 3.0),
]


@pytest.mark.parametrize("body, x, p", EDGE_CASES)
def test_edge_values_as_numpy(body, x, p):
    head = "def f(x: Vector[{}], p: Scalar) -> Scalar:\n    return " + body + "\n"
    small = gradc.load_source(head.format(2))
    assert scalarised(gradc.compile_source(head.format(2)))
    named = gradc.load_source(head.format("n"))
    x = np.array(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got, want = small.f_value_and_grad(x, p), named.f_value_and_grad(x, p)
    np.testing.assert_array_equal(got[0], want[0])
    assert type(got[0]) is float
    for g, w in zip(got[1], want[1]):
        np.testing.assert_array_equal(g, w)
        assert np.asarray(g).dtype == np.float64 and np.shape(g) == np.shape(w)


RUFF_CASES = {
    "hessian_3x3": ("def f(x: Vector[3]) -> Scalar:\n    return sum(x ** 3) * x[0]\n"),
    "matrix_2x8": (
        "def f(W: Matrix[2, 8], v: Vector[8]) -> Scalar:\n"
        "    return sum(tanh(W @ v)) + sum(v * v * v)\n"
    ),
    "long_names": (
        "def f(a_very_long_parameter_name: Vector[16]) -> Scalar:\n"
        "    return sum(a_very_long_parameter_name * sin(a_very_long_parameter_name))\n"
    ),
}


@pytest.mark.parametrize("case", sorted(RUFF_CASES))
def test_long_arrays_are_ruff_clean(tmp_path, case):
    """The gradients made of many elements are split as ruff formats them."""
    source = gradc.compile_source(RUFF_CASES[case], hvp=case == "hessian_3x3")
    assert scalarised(source)
    assert "np.array(\n" in source
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    ruff = shutil.which("ruff")
    assert ruff, "ruff is not installed"
    for cmd in (["check"], ["format", "--check", "--diff"]):
        run = subprocess.run(
            [ruff, *cmd, "--isolated", str(path)], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stdout + run.stderr
