"""--target numba's compiled loops (issue 21, backend/numba_loop_kernels.py): a formula
loop, the reverse loop of its gradient and the loops of f_jvp and f_hvp are each one
``@numba.njit`` function holding the whole ``for``, called where the loop's arrays are
small and C-contiguous (the NumPy loop in the ``else``); values and gradients equal the
NumPy target's (1e-12) and finite differences; a loop numba cannot spell keeps the NumPy
loop and says so."""

from __future__ import annotations

import functools
import os
from unittest import mock

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad
from numba_cases import ROOT, as_tuple, cache_dir, close, needs_numba
from test_array_api_loops import CUMULATIVE
from test_loop_hessian import ACCUMULATE, CELL, CONSTANT_START, RECURRENCE
from test_loop_second_order import HESSP, SCALAR
from test_loops import ELEMENTWISE, NESTED, STEPPED
from test_numba_layout import ruff

from gradc import compile_source, load_source, lower_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

LOOP_EXAMPLES = ["rnn", "lstm", "oscillator", "captioning"]
# a capture read by rows, its gradient scattered into (np.add.at in the NumPy loop):
# the kernel returns what the reverse loop's printer reads after the body
ROWS = """
def f(x: Tensor[T, n, m], w: Vector[m]) -> Scalar:
    h = zeros((n,))
    for t in range(T):
        h = tanh(sum(x[t] * w, axis=1) + h * 0.5)
    return sum(h * h)
"""
CORPUS = {
    "rows": ROWS,
    "nested": NESTED,
    "stepped": STEPPED,
    "elementwise": ELEMENTWISE,
    "recurrence": RECURRENCE,
    "cell": CELL,
    "accumulate": ACCUMULATE,
    "constant_start": CONSTANT_START,
    "hessp": HESSP,
    "scalar": SCALAR,
    "cumulative": CUMULATIVE,
}
SOURCES = {
    **{k: (ROOT / "examples" / f"{k}.grad").read_text() for k in LOOP_EXAMPLES},
    **CORPUS,
}
SIZES = {"N": 3, "T": 4, "D": 3, "H": 5, "V": 6, "W": 4, "n": 5, "m": 3}


@functools.cache
def load(key: str, target: str):
    """The module of ``key`` (with f_jvp and f_hvp) on ``target``, once a session."""
    with mock.patch.dict(os.environ, {"GRADC_CACHE_DIR": cache_dir()}):
        # an example as numba_cases.load names it: the same text, so the same module
        # file and numba cache as test_numba_target's
        name = f"examples/{key}.grad" if key in LOOP_EXAMPLES else "<string>"
        return load_source(
            SOURCES[key], filename=name, target=target, jvp=True, hvp=True
        )


def size(d, sizes) -> int:
    if isinstance(d, int):
        return d
    return int(d.subs({s: sizes.get(s.name, 4) for s in d.free_symbols}))


def inputs(fn, sizes=SIZES, seed=0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for p in fn.params:
        node = fn.nodes[p.node]
        shape = tuple(size(d, sizes) for d in node.shape)
        if node.dtype == "int":
            out.append(rng.integers(0, 2, size=shape))
        elif not shape:
            out.append(float(rng.uniform(0.2, 0.9)))
        else:
            out.append(rng.standard_normal(shape) * 0.5)
    return out


CASES = [
    (key, fn.name)
    for key, src in SOURCES.items()
    for fn in lower_source(src)
    if fn.nodes[fn.output].shape == () and any(n.op == "loop" for n in fn.nodes)
]


def fn_of(key: str, name: str):
    return next(fn for fn in lower_source(SOURCES[key]) if fn.name == name)


def test_the_rnn_loops_are_kernels_holding_the_for():
    text = compile_source(SOURCES["rnn"], target="numba")
    forward = text[text.index("def _rnn_loss_forward_k2(") :]
    assert forward.startswith(
        "def _rnn_loss_forward_k2(h0, x, Wx, Wh, b, hs, T, N, H):\n"
        "    h_2 = h0\n"
        "    h_tape_2 = np.zeros((T, N, H))\n"
        "    for t in range(T):\n"
        "        # line 15: h = rnn_step(x[:, t, :], h, Wx, Wh, b)\n"
        "        h_t1 = np.ascontiguousarray(x[:, t, :]).dot(Wx)\n"
        "        h_t2 = h_2.dot(Wh)\n"
        "        h_2 = _rnn_loss_forward_k1(h_t1, h_t2, b)\n"
        "        h_tape_2[t] = h_2\n"
        "        # line 16: hs[:, t, :] = h\n"
        "        hs[:, t, :] = h_2\n"
        "    return hs, h_tape_2\n"
    )
    body = text[text.index("def rnn_loss_forward(") :]
    assert (
        "    # numba: the loop as one compiled function, _rnn_loss_forward_k2\n"
        "    if (\n"
        "        D * N + H * N + H**2 + D * H <= 16384\n"
        "        and h0.flags.c_contiguous\n"
    ) in body
    assert (
        "        hs, h_tape = _rnn_loss_forward_k2(h0, x, Wx, Wh, b, hs, T, N, H)\n"
        in body
    )
    assert "    else:  # large or strided arrays: NumPy\n        h = h0\n" in body
    backward = text[text.index("def _rnn_loss_backward_k2(") :]
    assert "    for t in range(T - 1, -1, -1):\n" in backward
    assert "        h_prev_2 = h_tape[t - 1] if t > 0 else h0\n" in backward


def test_the_loops_of_jvp_and_hvp_are_kernels():
    text = compile_source(SOURCES["rnn"], target="numba", jvp=True, hvp=True)
    for kind in ("jvp", "hvp"):
        body = text[text.index(f"def rnn_loss_{kind}(") :]
        body = body.split("\n\n\n")[0]
        assert "# numba: the loop as one compiled function, _rnn_loss_" in body


def test_a_loop_numba_cannot_spell_stays_numpy_and_says_so():
    """captioning's body gathers rows by an index array (W_embed[captions[:, t]]),
    whose gradient is added at them with np.add.at: no numba spelling."""
    text = compile_source(SOURCES["captioning"], target="numba")
    note = "    # numba: this loop stays NumPy: '{}' has no numba spelling\n"
    assert text.count(note.format("getitem")) == 2  # forward, value_and_grad
    assert text.count(note.format("scatter")) == 2  # their reverse loops
    assert "def _captioning_loss_forward_k" not in text


def test_a_gradient_added_at_repeated_rows_stays_numpy_and_says_so():
    """d_W gets rows y[t] (repeats possible: np.add.at, which numba has not): the
    reverse loop stays NumPy and the module says why."""
    src = (
        "def f(W: Matrix[V, n], y: Index[T, N], h0: Vector[n]) -> Scalar:\n"
        "    h = h0\n"
        "    for t in range(T):\n"
        "        h = tanh(sum(W[y[t]], axis=0) + h)\n"
        "    return sum(h * h)\n"
    )
    text = compile_source(src, target="numba")
    body = text[text.index("def f_backward(") :]
    assert (
        "    # numba: this loop stays NumPy: 'scatter' has no numba spelling\n"
    ) in body
    assert "        np.add.at(d_W, y[t], np.broadcast_to(h_g1[None], (N, n)))\n" in body


@pytest.mark.parametrize(("key", "name"), CASES, ids=[f"{k}.{n}" for k, n in CASES])
def test_values_and_gradients_equal_numpy_and_finite_differences(key, name):
    fn = fn_of(key, name)
    x = inputs(fn)
    ref, m = load(key, "numpy"), load(key, "numba")
    want = getattr(ref, f"{name}_value_and_grad")(*x)
    got = getattr(m, f"{name}_value_and_grad")(*x)
    close(got[0], want[0])
    for a, b in zip(as_tuple(got[1]), as_tuple(want[1]), strict=True):
        close(a, b)
    value, cache = getattr(m, f"{name}_forward")(*x)
    close(value, want[0])
    back = getattr(m, f"{name}_backward")(1.0, cache)
    for a, b in zip(as_tuple(back), as_tuple(want[1]), strict=True):
        close(a, b)
    wrt = [k for k, p in enumerate(fn.params) if p.name in {w.name for w in fn.wrt}]
    fd = central_diff_grad(getattr(m, name), x, wrt)
    assert_fd_close(list(as_tuple(getattr(m, f"{name}_grad")(*x))), fd)


@pytest.mark.parametrize(("key", "name"), CASES, ids=[f"{k}.{n}" for k, n in CASES])
def test_jvp_and_hvp_equal_numpy(key, name):
    fn = fn_of(key, name)
    x = inputs(fn)
    ref, m = load(key, "numpy"), load(key, "numba")
    wrt = [k for k, p in enumerate(fn.params) if p.name in {w.name for w in fn.wrt}]
    rng = np.random.default_rng(5)
    tangents = [rng.standard_normal(np.shape(x[k])) for k in wrt]
    tangents = [t if np.ndim(t) else float(t) for t in tangents]
    for kind in ("jvp", "hvp"):
        if not hasattr(ref, f"{name}_{kind}"):
            continue
        want = as_tuple(getattr(ref, f"{name}_{kind}")(*x, *tangents))
        got = as_tuple(getattr(m, f"{name}_{kind}")(*x, *tangents))
        for a, b in zip(got, want, strict=True):
            close(a, b)


def test_large_and_strided_inputs_run_the_numpy_loop_with_equal_results():
    """Above the step limit (H = 128: H ** 2 > 16384 alone) and with a
    Fortran-ordered h0, the else branch: the same values as the NumPy target's."""
    fn = fn_of("rnn", "rnn_loss")
    ref, m = load("rnn", "numpy"), load("rnn", "numba")
    for sizes in ({**SIZES, "H": 128}, SIZES):
        x = inputs(fn, sizes, seed=7)
        x[1] = np.asfortranarray(x[1])  # h0
        want = ref.rnn_loss_value_and_grad(*x)
        got = m.rnn_loss_value_and_grad(*x)
        close(got[0], want[0])
        for a, b in zip(got[1], want[1], strict=True):
            close(a, b)


@pytest.mark.parametrize("key", list(CORPUS))
def test_emitted_modules_are_ruff_clean(key):
    """Each corpus formula with --jvp --hvp (the examples: test_numba_layout); B007
    aside: a formula's loop variable unused in its body (hessp), on the NumPy target
    too."""
    text = compile_source(SOURCES[key], target="numba", jvp=True, hvp=True)
    checked = ruff("check", "--quiet", "--ignore", "B007", text=text)
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--check", text=text)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
