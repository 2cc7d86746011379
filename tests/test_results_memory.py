"""Results own their memory (SPEC §2).

A value or gradient returned by ``f``, ``f_forward`` (the value, not the cache),
``f_backward``, ``f_grad`` or ``f_value_and_grad`` is never one of the caller's input
arrays (the upstream gradient given to ``f_backward`` included), nor a view of one,
nor shared with another result, and every returned array is writable, so
``w -= lr * g`` style in-place updates are safe. Checked with ``np.shares_memory``
on every example in ``examples/`` and on formulas whose results are views
(``.T``, reshape, slices, ``[:, None]``, ``np.broadcast_to``) or parameters.
The expected numbers of the SGD steps are written out by hand.
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import numpy as np
import pytest

import gradc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.grad"))
INPUTS = re.compile(r"Inputs: (.*?) -> ", re.S)
PARAM = re.compile(r"(\w+): (Scalar|Vector|Matrix|Tensor|Index)(?:\[([^\]]*)\])?")


def parse_inputs(doc: str) -> list[tuple[str, str, list[str]]]:
    """(name, kind, dimension texts) of each input, read from a docstring's ``Inputs:``."""
    text = " ".join(INPUTS.search(doc).group(1).split())
    return [
        (m[1], m[2], [d.strip() for d in m[3].split(",")] if m[3] else [])
        for m in PARAM.finditer(text)
    ]


def dim_sizes(params) -> dict[str, int]:
    """Sizes 3, 4, 5, ... for the dimension names, in order of appearance."""
    sizes: dict[str, int] = {}
    for _, _, dims in params:
        for d in dims:
            if d.isidentifier() and d not in sizes:
                sizes[d] = 3 + len(sizes)
    return sizes


DIM_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
}


def size(d: str | ast.AST, sizes: dict[str, int]) -> int:
    """A dimension text (a literal, a name, or an expression of them with ``+ - * //``
    and parentheses: ``F * (H // 2) * (W // 2)``) evaluated."""
    node = ast.parse(d, mode="eval").body if isinstance(d, str) else d
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return sizes[node.id]
    return DIM_OPS[type(node.op)](size(node.left, sizes), size(node.right, sizes))


def random_inputs(module, name: str, rng) -> list:
    """Inputs of the right shapes for ``name``, read from its docstring (Index inputs 0)."""
    params = parse_inputs(getattr(module, name).__doc__)
    sizes = dim_sizes(params)
    out = []
    for _, kind, dims in params:
        shape = tuple(size(d, sizes) for d in dims)
        if kind == "Index":
            out.append(np.zeros(shape, dtype=np.int64))
        elif kind == "Scalar":
            out.append(float(rng.uniform(0.5, 1.5)))
        else:
            out.append(rng.uniform(0.5, 1.5, size=shape))
    return out


def arrays(result) -> list[np.ndarray]:
    """The arrays in a result (a value, a tuple of gradients, or (value, gradients))."""
    if isinstance(result, tuple):
        return [a for r in result for a in arrays(r)]
    return [result] if isinstance(result, np.ndarray) else []


def assert_owned(results: list, inputs: list, what: str) -> None:
    """No result array shares memory with an input or with another result; all writable."""
    outs = [a for r in results for a in arrays(r)]
    ins = [a for a in inputs if isinstance(a, np.ndarray)]
    for k, a in enumerate(outs):
        assert a.flags.writeable, f"{what}: result {k} is read-only"
        for j, x in enumerate(ins):
            assert not np.shares_memory(a, x), f"{what}: result {k} shares input {j}"
        for j, b in enumerate(outs[:k]):
            assert not np.shares_memory(a, b), (
                f"{what}: results {j} and {k} share memory"
            )


def check_module(module, names: list[str], rng) -> None:
    """Every emitted function of every exported ``names`` returns memory of its own."""
    for name in names:
        inputs = random_inputs(module, name, rng)
        assert_owned([getattr(module, name)(*inputs)], inputs, name)
        value, cache = getattr(module, name + "_forward")(*inputs)
        assert_owned([value], inputs, name + "_forward")
        seed = rng.uniform(0.5, 1.5, size=np.shape(value)) if np.ndim(value) else 1.5
        grads = getattr(module, name + "_backward")(seed, cache)
        assert_owned([grads], [*inputs, seed], name + "_backward")
        if hasattr(module, name + "_grad"):
            assert_owned(
                [getattr(module, name + "_grad")(*inputs)], inputs, name + "_grad"
            )
            both = getattr(module, name + "_value_and_grad")(*inputs)
            assert_owned([both], inputs, name + "_value_and_grad")


def exported(module) -> list[str]:
    """The exported formula functions: those with an ``_forward``."""
    return sorted(n[: -len("_forward")] for n in dir(module) if n.endswith("_forward"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_results_own_memory(path):
    module = gradc.load_source(path.read_text(), filename=str(path))
    check_module(module, exported(module), np.random.default_rng(0))


FORMULAS = {
    "sum_uv": "def f(u: Vector[n], v: Vector[n]) -> Scalar:\n    return sum(u * v)\n",
    "add": "def f(a: Vector[n], b: Vector[n]) -> Vector[n]:\n    return a + b\n",
    "add_t": "def f(a: Matrix[n, n], b: Matrix[n, n]) -> Matrix[n, n]:\n    return a + b.T\n",
    "matvec_w": "@wrt(w)\ndef f(w: Matrix[m, n], x: Vector[n]) -> Vector[m]:\n"
    "    return w @ x\n",
    "dot_w": "@wrt(w)\ndef f(w: Vector[n], x: Vector[n]) -> Scalar:\n    return w @ x\n",
    "sum": "def f(x: Vector[n]) -> Scalar:\n    return sum(x)\n",
    "sum_rows": "def f(x: Matrix[m, n]) -> Scalar:\n    return sum(sum(x, axis=1) ** 2)\n",
    "row_sums": "def f(x: Matrix[m, n]) -> Vector[m]:\n    return sum(x, axis=1)\n",
    "transpose": "def f(x: Matrix[m, n]) -> Matrix[n, m]:\n    return x.T\n",
    "reshape": "def f(x: Matrix[m, n]) -> Matrix[n, m]:\n    return reshape(x, (n, m))\n",
    "slice": "def f(x: Vector[n]) -> Vector[2]:\n    return x[1:3]\n",
    "column": "def f(x: Matrix[m, n]) -> Vector[m]:\n    return x[:, 0]\n",
    "new_axis": "def f(x: Vector[n]) -> Matrix[n, 1]:\n    return x[:, None]\n",
    "identity": "def f(x: Vector[n]) -> Vector[n]:\n    return x\n",
    "identity_scalar": "def f(x: Scalar) -> Scalar:\n    return x\n",
    "value_is_grad": "def f(x: Scalar, v: Vector[n]) -> Scalar:\n"
    "    return exp(x) + sum(v)\n",
    "two_views": "def f(a: Matrix[n, n], b: Matrix[n, n]) -> Matrix[n, n]:\n"
    "    return a.T + b\n",
    "same_grad": "def f(a: Vector[n], b: Vector[n], c: Vector[n]) -> Scalar:\n"
    "    return sum(exp(a + b + c))\n",
    "fused_identity": "@fuse\ndef ident(x: Scalar) -> Scalar:\n    return x\n\n\n"
    "def f(x: Vector[n]) -> Vector[n]:\n    return ident(x)\n",
    # np.einsum of one operand may return a view of it (oracle seeds 4711, 5537)
    "einsum_transpose": "def f(x: Matrix[m, n]) -> Matrix[n, m]:\n"
    '    return einsum("ij->ji", x)\n',
    "einsum_transpose_grad": "def f(x: Matrix[n, n], y: Matrix[n, n]) -> Scalar:\n"
    '    return sum(einsum("ij->ji", x) * y)\n',
    # a reversal and its adjoint (xp.flip on the Array API target: a view)
    "flip": "def f(x: Vector[n]) -> Vector[n]:\n    return flip(x)\n",
    "flip_columns": "def f(x: Matrix[m, n]) -> Matrix[m, n]:\n    return x[:, ::-1]\n",
    "cumsum": "def f(x: Matrix[m, n]) -> Matrix[m, n]:\n    return cumsum(x, axis=1)\n",
}


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
@pytest.mark.parametrize("key", sorted(FORMULAS))
def test_formula_results_own_memory(key, fuse):
    module = gradc.load_source(FORMULAS[key], fuse=fuse)
    check_module(module, ["f"], np.random.default_rng(1))


@pytest.mark.parametrize("key", sorted(k for k in FORMULAS if k != "identity_scalar"))
def test_array_api_results_own_memory(key):
    """The same on the Array API target, given NumPy arrays (an all-scalar function
    there needs an array among its inputs, README)."""
    module = gradc.load_source(FORMULAS[key], target="array-api")
    check_module(module, ["f"], np.random.default_rng(1))


def test_sgd_step_on_sum_uv():
    """The reported reproduction: u -= lr * gu; v -= lr * gv with the true gradients."""
    module = gradc.load_source(FORMULAS["sum_uv"])
    u, v = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    gu, gv = module.f_grad(u, v)
    u -= 0.1 * gu
    v -= 0.1 * gv
    np.testing.assert_array_equal(u, [1.0 - 0.3, 2.0 - 0.4])
    np.testing.assert_array_equal(v, [3.0 - 0.1, 4.0 - 0.2])


def test_scaling_a_gradient_leaves_the_data_alone():
    """``gw *= 0.5`` for ``w @ x`` with ``@wrt(w)`` must not halve ``x``."""
    module = gradc.load_source(FORMULAS["dot_w"])
    w, x = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    gw = module.f_grad(w, x)
    gw *= 0.5
    np.testing.assert_array_equal(x, [3.0, 4.0])
    np.testing.assert_array_equal(gw, [1.5, 2.0])


def test_backward_of_add_returns_two_arrays():
    """The backward of ``a + b`` is ``d_out`` twice: two copies, neither the seed."""
    module = gradc.load_source(FORMULAS["add"])
    a, b = np.ones(3), np.ones(3)
    _, cache = module.f_forward(a, b)
    seed = np.array([1.0, 2.0, 3.0])
    da, db = module.f_backward(seed, cache)
    da += 1.0
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(db, [1.0, 2.0, 3.0])


def test_broadcast_gradient_is_writable():
    """The gradient of ``sum(sum(x, axis=1) ** 2)`` is a broadcast: it must be writable."""
    module = gradc.load_source(FORMULAS["sum_rows"])
    x = np.arange(6.0).reshape(2, 3)
    g = module.f_grad(x)
    g *= 0.5
    rows = x.sum(axis=1)
    np.testing.assert_array_equal(g, np.repeat(rows[:, None], 3, axis=1))


def test_no_copy_of_fresh_results():
    """A copy is added only where a result could alias: fresh products are not copied."""
    fresh = (
        "def f(u: Vector[n], v: Vector[n]) -> Vector[n]:\n    return u * v\n\n\n"
        "def g(W: Matrix[m, n], x: Vector[n]) -> Scalar:\n    return sum((W @ x) ** 2)\n"
    )
    assert ".copy()" not in gradc.compile_source(fresh)
    for path in EXAMPLES:
        assert ".copy()" not in gradc.compile_source(path.read_text())
