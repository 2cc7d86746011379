"""conv2d, max_pool2d and avg_pool2d on the Array API target (issue 15): strided,
padded, overlapping and gapped windows and ties, their gradients, tangents (``--jvp``,
``--hvp``) on every library against the NumPy target's, float32 kept, windows read as
strided slices (no sliding_window_view: not in the standard), and the calls as written."""

from __future__ import annotations

import numpy as np
import pytest
from xp_cases import LIBRARIES, as_tuple, require, run, to_library

from gradc import compile_source, load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NETS = """
def overlapping(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 2]) -> Scalar:
    y = tanh(conv2d(x, w, stride=2, pad=1))
    return sum(max_pool2d(y, 3, stride=1) ** 2) + sum(avg_pool2d(y, 2, stride=1) ** 3)


def gapped(x: Tensor[N, C, H, W]) -> Scalar:
    return sum(sin(max_pool2d(x, 2, stride=3))) + sum(avg_pool2d(x * x, 3, stride=2) ** 2)


def single(x: Tensor[N, C, H, W], w: Tensor[F, C, 1, 1]) -> Scalar:
    y = conv2d(x, w)
    return sum(max_pool2d(y, 1) * y) + sum(avg_pool2d(y, 1) ** 2)


def ties(x: Tensor[N, C, H, W]) -> Scalar:
    return sum(max_pool2d(x, 2, stride=1) ** 2) + sum(max_pool2d(x, 3, stride=2) * 3)
"""

rng = np.random.default_rng(15)
INPUTS = {
    "overlapping": [
        rng.standard_normal((2, 2, 9, 8)),
        rng.standard_normal((3, 2, 3, 2)),
    ],
    "gapped": [rng.standard_normal((2, 3, 9, 8))],
    "single": [rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 1, 1))],
    # halves in [-1, 1]: most windows hold ties, which share the gradient equally
    "ties": [np.round(rng.uniform(-1, 1, (2, 2, 7, 6)) * 2) / 2],
}


@pytest.fixture(scope="module")
def modules():
    return (
        load_source(NETS, jvp=True, hvp=True),
        load_source(NETS, target="array-api", jvp=True, hvp=True),
    )


def close(got, want, rtol):
    got, want = np.asarray(got), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = max(1.0, float(np.max(np.abs(want))))
    assert float(np.max(np.abs(got - want))) <= rtol * scale


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", list(INPUTS))
def test_values_gradients_and_tangents_equal_the_numpy_target(modules, library, name):
    require(library)
    ref, m = modules
    x = INPUTS[name]
    t = [np.cos(a + 1.0) for a in x]  # a direction
    args = [to_library(library, a) for a in x + t]
    k = len(x)

    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    v, g = run(library, getattr(m, f"{name}_value_and_grad"), args[:k])
    close(v, want_v, 1e-12)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        close(got, want, 1e-12)
    for kind in ("jvp", "hvp"):
        want = getattr(ref, f"{name}_{kind}")(*x, *t)
        got = run(library, getattr(m, f"{name}_{kind}"), args)
        for a, b in zip(as_tuple(got), as_tuple(want), strict=True):
            for c, d in zip(as_tuple(a), as_tuple(b), strict=True):
                close(c, d, 1e-12)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", list(INPUTS))
def test_float32_stays_float32(modules, library, name):
    require(library)
    ref, m = modules
    x = INPUTS[name]
    want_v, want_g = getattr(ref, f"{name}_value_and_grad")(*x)
    args = [to_library(library, a.astype(np.float32)) for a in x]
    v, g = run(library, getattr(m, f"{name}_value_and_grad"), args)
    assert v.dtype == np.float32
    close(v, want_v, 1e-5)
    for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
        assert got.dtype == np.float32
        close(got, want, 1e-5)


def test_ties_share_the_gradient_equally(modules):
    """A window of equal entries sends each an equal part of its gradient: the four 2x2
    windows of a constant 3x3 input a quarter of 2 * 0.5 each, its one 3x3 window a
    ninth of 3."""
    _, m = modules
    x = np.full((1, 1, 3, 3), 0.5)
    _, g = m.ties_value_and_grad(x)
    want = np.zeros((3, 3))
    for i in range(2):
        for j in range(2):
            want[i : i + 2, j : j + 2] += 2 * 0.5 / 4
    want += 3.0 / 9
    np.testing.assert_allclose(g[0, 0], want, rtol=1e-15)


def test_the_calls_are_as_written():
    text = compile_source(NETS, target="array-api")
    for line in (
        "    y_t1 = _im2col(xp, x, 3, 2, 2, 1)",
        "    y = xp.tanh(_conv2d(xp, y_t1, w))",
        "    out_t1 = _max_pool2d(xp, y, 3, 1)",
        "    out_t2 = _avg_pool2d(xp, y, 2, 1)",
        "    d_y = _avg_pool2d_grad(xp, 3.0 * out_t2**2, (H - 1) // 2 + 1, W // 2 + 1, 2, 1)",
        "    d_y += _max_pool2d_grad(xp, 2.0 * out_t1, y, out_t1, 3, 1)",
        "    y_g1 = xp.permute_dims(d_y * (1.0 - y**2), (1, 0, 2, 3))",
        "    d_w = _conv2d_dw(xp, y_g1, y_t1)",
        "    d_x = _col2im(xp, _conv2d_dcols(xp, y_g1, w), H, W, 2, 1)",
    ):
        assert line + "\n" in text
    # the windows are strided slices: no sliding_window_view, no pad (not standard)
    assert "stride_tricks" not in text and "pad(" not in text
    assert "_at_add(out, index, cols[:, i, j, ...])" in text
