"""A dead temporary written in place (issue 16; ``Emitter.reusable`` in backend/emit.py,
the spellings in backend/memory.py): an elementwise statement computed from a temporary
that nothing reads afterwards writes into its array (``t *= r``, ``np.exp(t, out=t)``,
``d = np.multiply(t, r, out=t)``), as hand-written NumPy does (``dscores = probs;
dscores /= N``). Never into an input, a returned or cached value, a view, a value read
later, a value named after the formula, or a smaller array a broadcast would grow; on
the NumPy target and the numba target's NumPy statements (never in a numba kernel). Each test asserts the emitted spelling, gradients against central
finite differences, or that no result shares memory with an input or another result
and that the inputs (and the cache, through ``f_backward``) are left unchanged.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import gradc
from tests.numba_cases import needs_numba
from tests.test_performance_rewrites import check_gradients, function_text
from tests.test_results_memory import assert_owned, exported, random_inputs

ROOT = Path(__file__).resolve().parent.parent
BENCH_CASES = sorted((ROOT / "bench" / "cases").glob("*.grad"))
EXAMPLES = sorted((ROOT / "examples").glob("*.grad"))
RNG = np.random.default_rng(1616)
SOFTMAX_PROBS = (ROOT / "bench/cases/softmax_probs.grad").read_text()
TWOLAYER = (ROOT / "examples/twolayer.grad").read_text()


def body(text: str, start: str) -> list[str]:
    """The stripped lines of an emitted function from the line ``start`` on."""
    lines = [line.strip() for line in text.split("\n")]
    return lines[lines.index(start) :]


# ---------------------------------------------------------------------------
# The spelling


def test_softmax_probs_exp_and_gradient_are_written_into_the_shifted_scores():
    # the picked entries are gathered first (``Emitter.hoist``): then nothing reads the
    # shifted scores after the exp, which writes into them; the gradient into the exp
    source = gradc.compile_source((ROOT / "bench/cases/softmax_probs.grad").read_text())
    vg = function_text(source, "softmax_probs_value_and_grad")
    assert body(vg, "# line 7: return -mean(log(p[arange(N), y]))")[:9] == [
        "# line 7: return -mean(log(p[arange(N), y]))",
        "out_t1 = scores - _max_shift(scores, axis=1, keepdims=True)",
        "out_t2 = out_t1[np.arange(N), y]",
        "np.exp(out_t1, out=out_t1)",
        "out_t3 = _sum_trailing(out_t1, keepdims=True)",
        "out = -((out_t2 - np.log(out_t3)[:, 0]).sum() / N)",
        "d_scores = np.multiply(out_t1, 1.0 / N / out_t3, out=out_t1)",
        "d_scores[np.arange(N), y] += -1.0 / N",
        "return out, d_scores",
    ]
    # f_forward caches the exp (out_t1) for f_backward: not written after the exp
    forward = function_text(source, "softmax_probs_forward")
    backward = function_text(source, "softmax_probs_backward")
    assert forward.count("out=") == 1 and "out=" not in backward
    assert "cache = (y, out_t1, out_t3, N, C)" in forward


def test_log_softmax_is_written_into_the_shifted_scores():
    source = gradc.compile_source((ROOT / "examples/twolayer.grad").read_text())
    forward = function_text(source, "twolayer_loss_forward")
    line = (
        "log_probs = np.subtract(log_probs_t1, np.log(log_probs_t3), out=log_probs_t1)"
    )
    assert line in forward


LATER = """
def later(x: Matrix[n, m]) -> Scalar:
    a = exp(x) * 2.0
    b = exp(x) * a
    return sum(b)
"""


def test_a_temporary_read_later_is_not_written():
    # b reads a_t1 but d_x reads it after: b gets an array of its own; d_x, the last
    # reader, writes into a_t1
    vg = function_text(gradc.compile_source(LATER), "later_value_and_grad")
    assert body(vg, "a_t1 = np.exp(x)")[:8] == [
        "a_t1 = np.exp(x)",
        "a = a_t1 * _two",
        "# line 4: b = exp(x) * a",
        "b = a_t1 * a",
        "# line 5: return sum(b)",
        "out = b.sum()",
        "# line 3: a = exp(x) * 2.0",
        "d_x = np.multiply(_two * a, a_t1, out=a_t1)",
    ]
    mod = gradc.load_source(LATER)
    x = RNG.uniform(-1.0, 1.0, (3, 4))
    check_gradients(mod, "later", [x], [0])
    value, d_x = mod.later_value_and_grad(x)
    np.testing.assert_allclose(d_x, 4.0 * np.exp(2.0 * x), rtol=1e-13)


GROW = """
@wrt(A)
def grow(A: Matrix[n, m], v: Vector[m], B: Matrix[n, m]) -> Scalar:
    s = sum(exp(v))
    big = exp(v) * B
    return s * sum(big * A)
"""


def test_a_smaller_temporary_is_not_grown_by_a_broadcast():
    # s_t1 (m,) is dead after big, but big is (n, m): a new array
    vg = function_text(gradc.compile_source(GROW), "grow_value_and_grad")
    assert "big = s_t1 * B" in vg and "out=" not in vg
    mod = gradc.load_source(GROW)
    args = [
        RNG.uniform(-1, 1, (3, 4)),
        RNG.uniform(-1, 1, 4),
        RNG.uniform(-1, 1, (3, 4)),
    ]
    check_gradients(mod, "grow", args, [0])


BROADCAST_INTO = """
def into(A: Matrix[n, m], v: Vector[m], w: Vector[m]) -> Scalar:
    small = exp(v) * w
    big = exp(v) * A
    return sum(big * big) + sum(small * small)
"""


def test_a_broadcast_operand_goes_into_a_temporary_of_the_full_shape():
    # d_v = d_small_t1 * small_t1, both (m,): written into small_t1, dead by then; the
    # (n, m) statements read small_t1 before, and big is not written into it
    vg = function_text(gradc.compile_source(BROADCAST_INTO), "into_value_and_grad")
    assert "big = small_t1 * A" in vg
    assert "d_v = np.multiply(d_small_t1, small_t1, out=small_t1)" in vg
    assert vg.count("out=") == 1
    mod = gradc.load_source(BROADCAST_INTO)
    args = [RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4), RNG.uniform(-1, 1, 4)]
    check_gradients(mod, "into", args, [0, 1, 2])


RETURNED = """
def returned(x: Matrix[n, m], v: Vector[m]) -> Matrix[n, m]:
    a = exp(x * 3.0)
    return a - v
"""


def test_a_returned_or_cached_value_is_not_written():
    source = gradc.compile_source(RETURNED)
    assert "out=" not in source and "*=" not in source
    mod = gradc.load_source(RETURNED)
    x, v = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4)
    out = mod.returned(x, v)
    np.testing.assert_allclose(out, np.exp(3.0 * x) - v, rtol=1e-14)
    assert_owned([out], [x, v], "returned")


def test_the_array_api_target_allocates():
    source = gradc.compile_source(
        (ROOT / "bench/cases/softmax_probs.grad").read_text(), target="array-api"
    )
    vg = function_text(source, "softmax_probs_value_and_grad")
    assert "out=" not in vg


@needs_numba
def test_the_numba_targets_numpy_statements_write_in_place_its_kernels_never():
    # the statements that stay NumPy (inputs above the whole kernel's size) reuse dead
    # temporaries as the NumPy target's do; numba's ufuncs take no out=
    source = gradc.compile_source(
        (ROOT / "bench/cases/softmax_probs.grad").read_text(), target="numba"
    )
    forward = function_text(source, "softmax_probs_forward")
    assert "np.exp(out_t1, out=out_t1)" in forward, forward
    kernels = [b for b in source.split("\n\n\n") if b.lstrip().startswith("@numba")]
    assert kernels and not any("out=" in k for k in kernels)


@needs_numba
@pytest.mark.parametrize("source", [SOFTMAX_PROBS, TWOLAYER], ids=["probs", "twolayer"])
def test_the_numba_target_in_place_owns_memory_and_matches_numpy(source, monkeypatch):
    # inputs of 160 on every axis: above the whole kernels' size tests, so the NumPy
    # statements run (the whole kernels are spied on: never called), and they do write
    # in place (the module's text outside the kernels)
    statements = [
        b
        for b in gradc.compile_source(source, target="numba").split("\n\n\n")
        if not b.lstrip().startswith("@numba")
    ]
    assert any("out=" in b for b in statements)
    numba_mod = gradc.load_source(source, target="numba")
    numpy_mod = gradc.load_source(source)
    name = exported(numpy_mod)[0]
    called = []
    for kind in ("value_and_grad", "forward"):  # (backward: a loop, up to 1024 x 512)
        kernel = f"_{name}_{kind}_kernel"
        if hasattr(numba_mod, kernel):
            monkeypatch.setattr(numba_mod, kernel, lambda *a, k=kind: called.append(k))
    inputs = big_inputs(numpy_mod, name)
    kept = snapshot(inputs)
    got = getattr(numba_mod, name + "_value_and_grad")(*inputs)
    want = getattr(numpy_mod, name + "_value_and_grad")(*inputs)
    assert_owned([got], inputs, name)
    assert_same(kept, inputs, name)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    for g, w in zip(got[1] if isinstance(got[1], tuple) else [got[1]],
                    want[1] if isinstance(want[1], tuple) else [want[1]]):  # fmt: skip
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    value, cache = getattr(numba_mod, name + "_forward")(*inputs)
    cached = snapshot(cache)
    getattr(numba_mod, name + "_backward")(1.5, cache)
    assert_same(cached, cache, name + "_backward (its cache)")
    assert not called, called


# ---------------------------------------------------------------------------
# Gradients


def test_softmax_probs_gradients():
    mod = gradc.load_source((ROOT / "bench/cases/softmax_probs.grad").read_text())
    scores = RNG.standard_normal((6, 4))
    y = RNG.integers(0, 4, 6)
    check_gradients(mod, "softmax_probs", [scores, y], [0])
    value, d_scores = mod.softmax_probs_value_and_grad(scores, y)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(6), y] -= 1.0
    np.testing.assert_allclose(d_scores, p / 6, rtol=1e-12, atol=1e-15)


def test_softmax_example_gradients():
    mod = gradc.load_source((ROOT / "examples/softmax.grad").read_text())
    W, X = RNG.standard_normal((5, 3)), RNG.standard_normal((7, 5))
    y = RNG.integers(0, 3, 7)
    check_gradients(mod, "softmax_loss", [W, X, y, 0.1], [0])


# ---------------------------------------------------------------------------
# Memory: no result aliases an input or another result; inputs and cache unchanged


def big_inputs(mod, name: str) -> list:
    """Inputs for ``name`` with every dimension 160 (above the numba target's whole
    kernels, so its NumPy statements run); Index inputs in range."""
    inputs = []
    for value in random_inputs(mod, name, RNG):
        if isinstance(value, np.ndarray):
            shape = (160,) * value.ndim
            kind = value.dtype.kind
            value = (
                RNG.integers(0, 160, shape)
                if kind == "i"
                else RNG.uniform(0.5, 1.5, shape)
            )
        inputs.append(value)
    return inputs


def snapshot(values) -> list:
    return [copy.deepcopy(v) for v in values]


def assert_same(before, after, what: str) -> None:
    for k, (b, a) in enumerate(zip(before, after)):
        if isinstance(b, np.ndarray):
            assert np.array_equal(a, b, equal_nan=True), f"{what}: input {k} changed"
        else:
            assert a == b or (a != a and b != b), f"{what}: input {k} changed"


def check_function(mod, name: str) -> None:
    inputs = random_inputs(mod, name, RNG)
    kept = snapshot(inputs)
    assert_owned([getattr(mod, name)(*inputs)], inputs, name)
    assert_same(kept, inputs, name)
    value, cache = getattr(mod, name + "_forward")(*inputs)
    assert_owned([value], inputs, name + "_forward")
    assert_same(kept, inputs, name + "_forward")
    cached = snapshot(cache)
    seed = RNG.uniform(0.5, 1.5, np.shape(value)) if np.ndim(value) else 1.5
    grads = getattr(mod, name + "_backward")(seed, cache)
    assert_owned([grads], [*inputs, seed], name + "_backward")
    assert_same(cached, cache, name + "_backward (its cache)")
    if hasattr(mod, name + "_value_and_grad"):
        both = getattr(mod, name + "_value_and_grad")(*inputs)
        assert_owned([both], inputs, name + "_value_and_grad")
        assert_same(kept, inputs, name + "_value_and_grad")
        assert_owned([getattr(mod, name + "_grad")(*inputs)], inputs, name + "_grad")
        assert_same(kept, inputs, name + "_grad")


@pytest.mark.parametrize("path", BENCH_CASES + EXAMPLES, ids=lambda p: p.stem)
def test_results_own_memory_and_inputs_stay(path):
    mod = gradc.load_source(path.read_text(), filename=str(path))
    for name in exported(mod):
        check_function(mod, name)


@pytest.mark.parametrize("source", [LATER, GROW, BROADCAST_INTO, RETURNED])
def test_tricky_cases_own_memory_and_inputs_stay(source):
    mod = gradc.load_source(source)
    for name in exported(mod):
        check_function(mod, name)
