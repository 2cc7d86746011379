"""--target array-api with for loops and item assignment (SPEC §1.1 and §2.2): tapes and
local arrays made with ``xp.zeros(..., dtype=dtype, device=device)``, writes through the
``_at_set``/``_at_add`` shims (functional on JAX), a tape's row read with ``[t, ...]``,
copies with ``xp.asarray(a, copy=True)``; the loop examples themselves run on every
library in ``tests/test_array_api.py``."""

from __future__ import annotations

import numpy as np
import pytest
from xp_cases import LIBRARIES, require, run, to_library, to_numpy

from gradc import compile_source, load_source
from gradc.backend import unspelled
from gradc.errors import FormulaError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# a running update written into a copy of a parameter (y = x, then y[t] += ...)
CUMULATIVE = """\
@wrt(x, w)
def cumulative(x: Vector[n], w: Scalar) -> Scalar:
    y = x
    for t in range(1, n):
        y[t] += w * y[t - 1] * x[t]
    return sum(y * y)
"""

RNN_TEXT = """\
@wrt(h0, Wh)
def rnn(x: Tensor[N, T, H], h0: Matrix[N, H], Wh: Matrix[H, H]) -> Scalar:
    h = h0
    hs = zeros((N, T, H))
    for t in range(T):
        h = tanh(x[:, t, :] + h @ Wh)
        hs[:, t, :] = h
    return sum(hs * hs)
"""


def cumulative_numpy(x, w):
    """The value of CUMULATIVE written in NumPy."""
    y = x.copy()
    for t in range(1, len(y)):
        y[t] += w * y[t - 1] * x[t]
    return float(np.sum(y * y))


def test_loops_print_standard_functions_and_the_shims():
    text = compile_source(RNN_TEXT, target="array-api")
    forward = text[text.index("def rnn_value_and_grad") :]
    for line in (
        "    hs = xp.zeros((N, T, H), dtype=dtype, device=device)",
        "    h_tape = xp.zeros((T, N, H), dtype=dtype, device=device)",
        "        h_tape = _at_set(h_tape, (t, ...), h)",
        "        hs = _at_set(hs, (slice(None, None), t, slice(None, None)), h)",
        "    d_Wh = xp.zeros((H, H), dtype=dtype, device=device)",
        "        h_prev = h_tape[t - 1, ...] if t > 0 else h0",
        "        d_Wh += xp.matmul(h_prev.T, h_g1)",
    ):
        assert line + "\n" in forward, line
    assert "np." not in text and ".copy()" not in text


def test_a_copy_before_writing_into_a_parameter_is_xp_asarray():
    text = compile_source(CUMULATIVE, target="array-api")
    assert "    y = xp.asarray(x, copy=True)\n" in text
    assert "        y = _at_add(y, (t,), y_t1)\n" in text


@pytest.mark.parametrize("library", LIBRARIES)
def test_writes_into_a_copy_leave_the_input_alone(library):
    require(library)
    m = load_source(CUMULATIVE, target="array-api")
    ref = load_source(CUMULATIVE)
    x = np.array([0.5, -1.2, 0.8, 1.1, -0.3])
    xs = to_library(library, x)
    v, (d_x, d_w) = run(library, m.cumulative_value_and_grad, [xs, 0.7])
    want_v, (want_dx, want_dw) = ref.cumulative_value_and_grad(x, 0.7)
    assert abs(float(v) - cumulative_numpy(x, 0.7)) <= 1e-12
    assert np.allclose(d_x, want_dx, rtol=1e-12, atol=1e-12)
    assert abs(float(d_w) - want_dw) <= 1e-12
    assert np.array_equal(to_numpy(xs), x)  # the caller's array is unchanged


def test_an_unspelled_operation_in_a_loop_body_is_located_at_its_line(monkeypatch):
    # every op has an Array API spelling since erf's shim: erf is made one without
    spellable = unspelled.xp_spellable
    monkeypatch.setattr(
        unspelled, "xp_spellable", lambda op: op != "erf" and spellable(op)
    )
    text = """\
@wrt(x)
def f(x: Vector[n]) -> Scalar:
    s = 0.0
    for t in range(n):
        s += erf(x[t])
    return s
"""
    with pytest.raises(FormulaError) as e:
        compile_source(text, filename="f.grad", target="array-api")
    assert str(e.value).startswith("f.grad:5:")
    assert "'erf' has no Array API spelling" in str(e.value)
