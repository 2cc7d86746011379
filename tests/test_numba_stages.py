"""--target numba: a one-dimensional run calling three or more vectorised helpers is a
driver and one numba function per stage of at most two calls, run a block of 1024
elements at a time, the values a later stage reads passed through scratch rows
(``backend/numba_stages.py``). The stages as emitted; values and gradients equal the
NumPy target's across block boundaries (every emitted function of the chain, with
``--jvp --hvp``) and central differences'; a run that would carry a boolean between
stages, a two-dimensional run and a run of two calls stay one loop."""

from __future__ import annotations

import functools
import os
import re
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad
from numba_cases import ROOT, close, needs_numba
from test_numba_whole_forward import cache_dir, spy

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CHAIN = (ROOT / "bench" / "cases" / "elementwise.grad").read_text()
# softplus counts two calls: stages [softplus], [tanh, sigmoid], [exp, sigmoid(w x)]
FIVE = (
    "def f(x: Vector[n], w: Scalar) -> Scalar:\n"
    "    return sum(softplus(w * x) * tanh(x) + sigmoid(x) * exp(-x))\n"
)
# the comparison, computed in the first stage, would be read in the second
CARRIED_BOOL = (
    "def f(x: Vector[n]) -> Scalar:\n"
    "    return sum(where(exp(x) > 1.5, tanh(x), sigmoid(x)) + log1p(x * x))\n"
)
TWO_D = (
    "def f(X: Matrix[n, m]) -> Scalar:\n"
    "    return sum(tanh(X) * sigmoid(X) + exp(-X * X))\n"
)
TWO_CALLS = "def f(x: Vector[n]) -> Scalar:\n    return sum(tanh(x) * sigmoid(x) + x)\n"
HELPER = re.compile(r"_v(?:exp|expm1|log|log1p|tanh|sigmoid|softplus)\(")


@functools.cache
def module(source: str, target: str):
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        return load_source(source, target=target, jvp=True, hvp=True)


def function(text: str, name: str) -> str:
    return text.split(f"\ndef {name}(")[1].split("\n\n\n")[0]


def test_the_chains_kernel_is_a_driver_and_two_stages():
    text = compile_source(CHAIN, target="numba")
    first = function(text, "_elementwise_value_and_grad_k1_s1")
    second = function(text, "_elementwise_value_and_grad_k1_s2")
    assert "_elementwise_value_and_grad_k1_s3" not in text
    assert len(HELPER.findall(first)) == 2 and len(HELPER.findall(second)) == 2
    # the first stage stores what the second reads; the second returns its sum
    assert "c4[i0] = v_5" in first and "c4_ = c4[i0]" in second
    assert "\n    return total" in second and "\n    return" not in first
    driver = function(text, "_elementwise_value_and_grad_k1")
    for line in (
        "carried = np.empty((4, 1024))",
        "for start in range(0, n0, 1024):",
        "stop = min(start + 1024, n0)",
        "c1 = carried[0, : stop - start]",
        "_elementwise_value_and_grad_k1_s1(x[start:stop], c1, c2, c3, c4)",
        "return total, out",
    ):
        assert line in driver
    assert not HELPER.search(driver)
    plain = '@numba.njit(cache=True, error_model="numpy")'
    assert plain + "\ndef _elementwise_value_and_grad_k1(x):" in text
    fma = '@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})'
    assert fma + "\ndef _elementwise_value_and_grad_k1_s2(" in text


def test_softplus_counts_two_calls():
    text = compile_source(FIVE, target="numba")
    stages = [
        function(text, f"_f_value_and_grad_k1_s{k}")
        for k in (1, 2, 3)
        if f"def _f_value_and_grad_k1_s{k}(" in text
    ]
    assert [len(HELPER.findall(s)) for s in stages] == [1, 2, 2]
    assert "_vsoftplus(" in stages[0]


@pytest.mark.parametrize("source", [CARRIED_BOOL, TWO_D, TWO_CALLS])
def test_these_runs_stay_one_loop(source):
    text = compile_source(source, target="numba")
    assert "def _f_value_and_grad_k1(" in text
    assert "_k1_s1" not in text and "carried" not in text


@pytest.mark.parametrize("n", [1, 2, 1023, 1024, 1025, 2049, 5000])
def test_the_chain_equals_the_numpy_target_across_blocks(n, monkeypatch):
    ref, m = module(CHAIN, "numpy"), module(CHAIN, "numba")
    calls = spy(m, "_elementwise_value_and_grad_k1", monkeypatch)  # the driver
    rng = np.random.default_rng(n)
    x, t = rng.normal(scale=2.0, size=n), rng.normal(size=n)
    v, g = m.elementwise_value_and_grad(x)
    want_v, want_g = ref.elementwise_value_and_grad(x)
    assert len(calls) == 1
    close(v, want_v)
    close(g, want_g)
    value, cache = m.elementwise_forward(x)
    close(value, want_v)
    close(m.elementwise_backward(-1.5, cache), -1.5 * want_g)
    for got, want in zip(m.elementwise_jvp(x, t), ref.elementwise_jvp(x, t)):
        close(got, want)
    close(m.elementwise_hvp(x, t), ref.elementwise_hvp(x, t))
    if n <= 1025:
        close(m.elementwise_hessian(x), ref.elementwise_hessian(x))


@pytest.mark.parametrize("source", [FIVE, CARRIED_BOOL, TWO_D, TWO_CALLS])
def test_values_and_gradients_equal_the_numpy_target(source):
    ref, m = module(source, "numpy"), module(source, "numba")
    rng = np.random.default_rng(3)
    shapes = {FIVE: [(2500,), ()], TWO_D: [(60, 50)]}.get(source, [(2500,)])
    x = [rng.normal(size=s) if s else 0.8 for s in shapes]
    v, g = m.f_value_and_grad(*x)
    want_v, want_g = ref.f_value_and_grad(*x)
    close(v, want_v)
    if not isinstance(g, tuple):
        g, want_g = (g,), (want_g,)
    for got, want in zip(g, want_g, strict=True):
        close(got, want)


def test_stages_against_finite_differences():
    m = module(FIVE, "numba")
    rng = np.random.default_rng(7)
    x = [rng.normal(size=1500), 0.8]  # two blocks
    v, (gx, gw) = m.f_value_and_grad(*x)
    assert_fd_close([gx, gw], central_diff_grad(m.f, x, [0, 1]), scale=v)
