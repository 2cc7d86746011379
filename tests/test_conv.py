"""conv2d, max_pool2d and avg_pool2d (issue 19): values and gradients against naive loop
implementations written here (the loops live only in the tests, as CS231n's
``conv_forward_naive``/``conv_backward_naive``) and against central finite differences;
ties in a max-pool window; the located errors; the emitted spellings; the examples."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad

import gradc
from gradc.core.ir import Node
from gradc.core.prim import PRIMS

ROOT = Path(__file__).resolve().parent.parent

# --- naive loop implementations (independent of gradc) ---------------------------------------


def conv_naive(x, w, stride, pad):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad : pad + h, pad : pad + wd] = x
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(n):
        for k in range(f):
            for r in range(oh):
                for s in range(ow):
                    patch = xp[
                        i, :, r * stride : r * stride + kh, s * stride : s * stride + kw
                    ]
                    out[i, k, r, s] = np.sum(patch * w[k])
    return out


def conv_backward_naive(dout, x, w, stride, pad):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad : pad + h, pad : pad + wd] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    _, _, oh, ow = dout.shape
    for i in range(n):
        for k in range(f):
            for r in range(oh):
                for s in range(ow):
                    rows = slice(r * stride, r * stride + kh)
                    cols = slice(s * stride, s * stride + kw)
                    dw[k] += dout[i, k, r, s] * xp[i, :, rows, cols]
                    dxp[i, :, rows, cols] += dout[i, k, r, s] * w[k]
    return dxp[:, :, pad : pad + h, pad : pad + wd], dw


def pool_naive(x, size, stride, kind):
    """The pooled value and, for an upstream ``dout``, the input gradient (ties in a max
    window share the window's gradient equally)."""
    n, c, h, w = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(n):
        for k in range(c):
            for r in range(oh):
                for s in range(ow):
                    win = x[
                        i,
                        k,
                        r * stride : r * stride + size,
                        s * stride : s * stride + size,
                    ]
                    out[i, k, r, s] = win.max() if kind == "max" else win.mean()
    return out


def pool_backward_naive(dout, x, size, stride, kind):
    dx = np.zeros_like(x)
    n, c, oh, ow = dout.shape
    for i in range(n):
        for k in range(c):
            for r in range(oh):
                for s in range(ow):
                    rows = slice(r * stride, r * stride + size)
                    cols = slice(s * stride, s * stride + size)
                    win = x[i, k, rows, cols]
                    if kind == "max":
                        ties = win == win.max()
                        dx[i, k, rows, cols] += ties * dout[i, k, r, s] / ties.sum()
                    else:
                        dx[i, k, rows, cols] += dout[i, k, r, s] / (size * size)
    return dx


# --- formulas ----------------------------------------------------------------------------------


@functools.cache
def conv_module(stride: int, pad: int, literal_shapes: tuple | None = None):
    """``sum(conv2d(x, w, stride, pad) * g)``: its gradient for x and w is the backward of
    conv2d for the upstream gradient g."""
    if literal_shapes is None:
        xs, ws = "N, C, H, W", "F, C, KH, KW"
        out = "N, F, (H + 2 * {p} - KH) // {s} + 1, (W + 2 * {p} - KW) // {s} + 1"
    else:
        (n, c, h, w), (f, _, kh, kw) = literal_shapes
        xs, ws = f"{n}, {c}, {h}, {w}", f"{f}, {c}, {kh}, {kw}"
        out = f"{n}, {f}, {(h + 2 * pad - kh) // stride + 1}, {(w + 2 * pad - kw) // stride + 1}"
    out = out.format(p=pad, s=stride)
    src = (
        f"@wrt(x, w)\n"
        f"def f(x: Tensor[{xs}], w: Tensor[{ws}], g: Tensor[{out}]) -> Scalar:\n"
        f"    y = conv2d(x, w, stride={stride}, pad={pad})\n"
        f"    return sum(y * g)\n"
        f"\n\n"
        f"def conv(x: Tensor[{xs}], w: Tensor[{ws}]) -> Tensor[{out}]:\n"
        f"    return conv2d(x, w, {stride}, {pad})\n"
    )
    return gradc.load_source(src, filename="<conv>")


CONV_CASES = [
    # (stride, pad, kernel (KH, KW), input (H, W))
    (s, p, (k, k), hw)
    for s in (1, 2)
    for p in (0, 1, 2)
    for k in (1, 3, 5)
    for hw in ((7, 9),)
    if hw[0] + 2 * p >= k
] + [(1, 1, (3, 2), (5, 8)), (2, 0, (2, 3), (9, 6)), (2, 2, (5, 1), (4, 3))]


@pytest.mark.parametrize("stride, pad, kernel, hw", CONV_CASES)
def test_conv2d_matches_naive_loops(stride, pad, kernel, hw):
    rng = np.random.default_rng(hash((stride, pad, kernel, hw)) % 2**32)
    x = rng.standard_normal((2, 3) + hw)
    w = rng.standard_normal((4, 3) + kernel)
    want = conv_naive(x, w, stride, pad)
    g = rng.standard_normal(want.shape)
    mod = conv_module(stride, pad)
    np.testing.assert_allclose(mod.conv(x, w), want, rtol=1e-12, atol=1e-12)
    dx, dw = mod.f_grad(x, w, g)
    want_dx, want_dw = conv_backward_naive(g, x, w, stride, pad)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-12, atol=1e-12)
    assert dx.shape == x.shape and dw.shape == w.shape


@pytest.mark.parametrize(
    "stride, pad, kernel, hw",
    [(1, 0, (3, 3), (5, 6)), (2, 1, (3, 3), (6, 5)), (2, 2, (5, 5), (4, 7))],
)
def test_conv2d_against_finite_differences(stride, pad, kernel, hw):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 2) + hw)
    w = rng.standard_normal((3, 2) + kernel)
    shapes = (x.shape, w.shape)
    mod = conv_module(stride, pad, shapes)
    g = rng.standard_normal(mod.conv(x, w).shape)
    numeric = central_diff_grad(mod.f, [x, w, g], [0, 1])
    assert_fd_close(list(mod.f_grad(x, w, g)), numeric, scale=mod.f(x, w, g))


@functools.cache
def pool_module(kind: str, size: int, stride: int | None):
    arg = f", stride={stride}" if stride is not None else ""
    s = size if stride is None else stride
    out = f"N, C, (H - {size}) // {s} + 1, (W - {size}) // {s} + 1"
    src = (
        f"@wrt(x)\n"
        f"def f(x: Tensor[N, C, H, W], g: Tensor[{out}]) -> Scalar:\n"
        f"    return sum({kind}_pool2d(x, {size}{arg}) * g)\n"
        f"\n\n"
        f"def pool(x: Tensor[N, C, H, W]) -> Tensor[{out}]:\n"
        f"    return {kind}_pool2d(x, size={size}{arg})\n"
    )
    return gradc.load_source(src, filename="<pool>")


POOL_CASES = [
    (kind, size, stride, hw)
    for kind in ("max", "avg")
    for size, stride in ((2, None), (3, None), (2, 1), (3, 2), (2, 3), (1, None))
    for hw in ((6, 7), (5, 4))
]


@pytest.mark.parametrize("kind, size, stride, hw", POOL_CASES)
def test_pool_matches_naive_loops(kind, size, stride, hw):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3) + hw)
    s = size if stride is None else stride
    mod = pool_module(kind, size, stride)
    want = pool_naive(x, size, s, kind)
    np.testing.assert_allclose(mod.pool(x), want, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(want.shape)
    want_dx = pool_backward_naive(g, x, size, s, kind)
    np.testing.assert_allclose(mod.f_grad(x, g), want_dx, rtol=1e-12, atol=1e-12)
    numeric = central_diff_grad(mod.f, [x, g], [0])
    assert_fd_close([mod.f_grad(x, g)], numeric, scale=mod.f(x, g))


@pytest.mark.parametrize("size, stride", [(2, None), (3, 1), (2, 1), (3, 2)])
def test_max_pool_ties_share_the_gradient_equally(size, stride):
    rng = np.random.default_rng(11)
    x = rng.integers(0, 3, size=(2, 2, 7, 6)).astype(float)  # many ties in every window
    s = size if stride is None else stride
    mod = pool_module("max", size, stride)
    g = rng.standard_normal(pool_naive(x, size, s, "max").shape)
    got = mod.f_grad(x, g)
    np.testing.assert_allclose(
        got, pool_backward_naive(g, x, size, s, "max"), rtol=1e-12, atol=1e-12
    )
    # a window of four equal entries: a quarter of the gradient each (SPEC, README "Conventions")
    flat = np.ones((1, 1, 2, 2))
    one = pool_module("max", 2, None).f_grad(flat, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(one, np.full((1, 1, 2, 2), 0.25))
    # the total gradient of each window is its upstream gradient
    if stride is None:
        np.testing.assert_allclose(got.sum(), g.sum())


def test_max_pool_kinks_are_its_ties():
    """``gradc check`` keeps its points away from ties in a window (the record's kinks)."""
    prim = PRIMS["max_pool2d"]
    node = Node("max_pool2d", (0,), attrs=(("size", 2), ("stride", 2)))
    x = np.array([[[[1.0, 3.0, 0.5, 0.0], [2.5, 0.0, 0.25, 0.75]]]])
    assert prim.kinks(node, 1, lambda k: x, {}) == 0.25  # min(3 - 2.5, 0.75 - 0.5)
    x[0, 0, 1, 0] = 3.0
    assert prim.kinks(node, 1, lambda k: x, {}) == 0.0
    assert PRIMS["avg_pool2d"].kinks is None and PRIMS["conv2d"].kinks is None


# --- located errors ------------------------------------------------------------------------


def error_of(src):
    with pytest.raises(gradc.FormulaError) as exc:
        gradc.compile_source(src, filename="net.grad")
    return str(exc.value)


def test_kernel_larger_than_padded_input():
    src = (
        "def f(x: Tensor[2, 1, 2, 4], w: Tensor[1, 1, 5, 5]) -> Scalar:\n"
        "    return sum(conv2d(x, w, pad=0))\n"
    )
    msg = error_of(src)
    assert msg.startswith(
        "net.grad:2:16: error: conv2d: a kernel of size 5 is larger than the input's 2"
    )
    assert "return sum(conv2d(x, w, pad=0))" in msg
    assert "padded by 1" in error_of(src.replace("pad=0", "pad=1"))
    gradc.compile_source(src.replace("pad=0", "pad=2"))  # 2 + 4 >= 5 and 4 + 4 >= 5


def test_pool_window_larger_than_input():
    src = "def f(x: Tensor[1, 1, 3, 4]) -> Scalar:\n    return sum(max_pool2d(x, 4))\n"
    assert error_of(src).startswith(
        "net.grad:2:16: error: pooling: a window of size 4 is larger than the input's 3"
    )


@pytest.mark.parametrize(
    "call, bad, what",
    [
        ("conv2d(x, w, stride=s)", "s)", "stride"),
        ("conv2d(x, w, 1, P)", "P)", "pad"),
        ("conv2d(x, w, stride=1.0)", "1.0", "stride"),
        ("conv2d(x, w, pad=H)", "H)", "pad"),
        ("max_pool2d(x, K)", "K)", "size"),
        ("avg_pool2d(x, 2, stride=1 + 1)", "1 + 1", "stride"),
        ("avg_pool2d(x, size=s)", "s)", "size"),
    ],
)
def test_non_literal_attributes(call, bad, what):
    line = f"    return sum({call})"
    src = (
        "P = 1\nK = 2\n\n"
        "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3], s: Scalar) -> Scalar:\n"
        f"{line}\n"
    )
    msg = error_of(src)
    name = call.split("(")[0]
    col = line.rindex(bad) + 1
    want = f"net.grad:5:{col}: error: {name}(): {what} must be an integer literal"
    assert msg.startswith(want), msg


@pytest.mark.parametrize(
    "call, message",
    [
        ("conv2d(x, w, stride=0)", "conv2d(): stride must be at least 1, not 0"),
        ("conv2d(x, w, pad=-1)", "conv2d(): pad must be at least 0, not -1"),
        ("max_pool2d(x, 0)", "max_pool2d(): size must be at least 1, not 0"),
        ("conv2d(x, w, 1, 0, 2)", "conv2d() takes x, w and optionally stride and pad"),
        ("conv2d(x)", "conv2d() takes x, w and optionally stride and pad"),
        (
            "max_pool2d(x, 2, kernel=2)",
            "max_pool2d() got an unexpected keyword 'kernel'",
        ),
        (
            "conv2d(x, w[:, :2])",
            "conv2d: kernel of shape (F, 2, 3, 3) does not fit an input of C",
        ),
        ("conv2d(w[0], w)", "conv2d expects a Tensor[N, C, H, W], not (C, 3, 3)"),
    ],
)
def test_bad_calls(call, message):
    src = f"def f(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3]) -> Scalar:\n    return sum({call})\n"
    assert message in error_of(src)


def test_cli_exit_2_on_a_located_error(tmp_path):
    bad = tmp_path / "bad.grad"
    bad.write_text(
        "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3]) -> Scalar:\n"
        "    return sum(conv2d(x, w, stride=S))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "compile", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert (
        f"{bad}:2:36: error: conv2d(): stride must be an integer literal" in proc.stderr
    )
    assert "Traceback" not in proc.stderr


# --- emitted code -------------------------------------------------------------------------


def test_emitted_spellings():
    src = (
        "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, KH, KW]) -> Scalar:\n"
        "    y = conv2d(x, w, stride=2, pad=1)\n"
        "    return sum(max_pool2d(relu(y), 2) ** 2) + sum(avg_pool2d(y, 3, stride=1))\n"
    )
    code = gradc.compile_source(src, filename="net.grad")
    for line in [
        "    y_t1 = _im2col(x, KH, KW, 2, 1)",
        "    y = _conv2d(y_t1, w)",
        "    y_g1 = np.ascontiguousarray(d_y.transpose(1, 0, 2, 3))",
        "    d_w = _conv2d_dw(y_g1, y_t1)",
        "    d_x = _col2im(_conv2d_dcols(y_g1, w), H, W, 2, 1)",
    ]:
        assert line + "\n" in code, line
    assert "_max_pool2d(out_t1, 2, 2)" in code
    assert "_avg_pool2d(y, 3, 1)" in code
    assert "np.add.at" not in code
    # loops only in the helpers, over the taps of a kernel or window
    bodies = code[code.index("\ndef f(") :]
    assert not re.search(r"^\s*for ", bodies, re.M)


def test_forward_and_backward_share_the_windows():
    src = "@wrt(w)\ndef f(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3]) -> Scalar:\n    return sum(conv2d(x, w) ** 2)\n"
    code = gradc.compile_source(src, filename="net.grad")
    assert code.count("_im2col(") == 3  # the helper, f_forward, f_value_and_grad
    assert (
        "Cache: w, out_t1, out_t2." in code
        or "out_t1" in code.split("Cache:")[1].split("\n")[0]
    )
    assert "_col2im" not in code  # x is not differentiated: no input gradient


def test_activity_analysis_drops_the_unneeded_gradient():
    head = "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3]) -> Scalar:\n"
    body = "    return sum(avg_pool2d(conv2d(x, w, 2, 1), 2) ** 2)\n"
    only_x = gradc.compile_source("@wrt(x)\n" + head + body)
    assert "_col2im(" in only_x and "_conv2d_dw(" not in only_x
    only_w = gradc.compile_source("@wrt(w)\n" + head + body)
    assert "_conv2d_dw(" in only_w and "_col2im(" not in only_w
    assert "_conv2d_dcols(" not in only_w


def test_stability_rewrites_and_fusion_around_conv():
    src = (
        "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3], b: Vector[F]) -> Scalar:\n"
        "    s = sigmoid(conv2d(x, w, pad=1) + b[:, None, None])\n"
        "    return -sum(log(max_pool2d(s, 2)))\n"
    )
    code = gradc.compile_source(src, filename="net.grad")
    # log of a pooled sigmoid is not rewritten (the pool sits between), but the sigmoid
    # stays the stable helper, fused with the bias add
    assert "s = _sigmoid(_conv2d(s_t1, w) + b[:, None, None])" in code
    src2 = src.replace("log(max_pool2d(s, 2))", "max_pool2d(log(s), 2)")
    code2 = gradc.compile_source(src2, filename="net.grad")
    # log(sigmoid(t)) -> -softplus(-t), its exp shared with the backward's sigmoid(-t)
    assert "np.log(_sigmoid" not in code2 and "np.log1p(out_t2)" in code2
    assert "out_t2 = np.exp(-np.abs(s_t2))" in code2
    rng = np.random.default_rng(2)
    args = [
        rng.standard_normal((2, 2, 5, 4)) * 3,
        rng.standard_normal((3, 2, 3, 3)),
        rng.standard_normal(3),
    ]
    for text in (src, src2):
        fused = gradc.load_source(text).f_value_and_grad(*args)
        plain = gradc.load_source(text, fuse=False).f_value_and_grad(*args)
        np.testing.assert_allclose(fused[0], plain[0], rtol=1e-12)
        for a, b in zip(fused[1], plain[1], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
        numeric = central_diff_grad(gradc.load_source(text).f, args, [0, 1, 2])
        assert_fd_close(list(fused[1]), numeric, scale=fused[0])


def test_runtime_shape_error_names_the_parameter():
    mod = conv_module(1, 0)
    with pytest.raises(ValueError, match="parameter 'w'"):
        mod.conv(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)))


def test_runtime_kernel_larger_than_padded_input():
    src = (
        "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, KH, KW]) -> Scalar:\n"
        "    return sum(max_pool2d(conv2d(x, w, pad=1), 3, stride=2))\n"
    )
    mod = gradc.load_source(src, filename="net.grad")
    x, w = np.ones((1, 2, 3, 6)), np.ones((1, 2, 6, 3))
    want = (
        "f: parameter 'x' has shape (1, 2, 3, 6), expected (N, C, H, W) with "
        "H + 2 >= KH (a conv2d kernel on line 2 needs it)"
    )
    with pytest.raises(ValueError, match=re.escape(want)):
        mod.f(x, w)
    with pytest.raises(
        ValueError, match=re.escape("with H >= KH (a max_pool2d window")
    ):
        mod.f(np.ones((1, 2, 4, 6)), np.ones((1, 2, 5, 3)))
    x, w = np.ones((1, 2, 5, 6)), np.ones((1, 2, 5, 3))  # H + 2 = 7 >= 5; 3 >= 3
    want = pool_naive(conv_naive(x, w, 1, 1), 3, 2, "max").sum()
    assert mod.f(x, w) == want


def test_runtime_window_check_names_the_input_the_size_is_read_from():
    mod = gradc.load_source(
        (ROOT / "examples" / "convnet.grad").read_text(), filename="convnet.grad"
    )
    args = [np.ones((2, 3, 7, 7)), np.ones(2), np.ones((0, 4)), np.ones(4)]
    args += [np.ones((4, 3)), np.ones(3), np.ones((1, 3, 1, 6)), np.zeros(1, int), 0.1]
    want = "convnet_loss: parameter 'X' has shape (1, 3, 1, 6), expected (N, C, H, W) with H >= 2"
    with pytest.raises(ValueError, match=re.escape(want)):
        mod.convnet_loss(*args)


# --- the tools ----------------------------------------------------------------------------

TOOLS_SRC = (
    "def f(x: Tensor[1, 1, 3, 3], w: Tensor[1, 1, 2, 2]) -> Scalar:\n"
    "    y = conv2d(x, w)\n"
    "    return sum(max_pool2d(y, 2))\n"
)


def run_cli(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_graph_shows_the_conv_node_and_its_shapes(tmp_path):
    path = tmp_path / "net.grad"
    path.write_text(TOOLS_SRC)
    proc = run_cli("graph", str(path), "--function", "f")
    assert proc.returncode == 0, proc.stderr
    dot = proc.stdout
    assert 'label=<conv<br/><font point-size="9" color="#57606a">y</font>>' in dot
    assert "label=<im2col>" in dot and "label=<maxpool>" in dot
    # the wires carry the shapes: the windows, the kernel, the convolution's result
    for shape in ("(1, 2, 2, 1, 2, 2)", "(1, 1, 2, 2)", "(1, 1, 1, 1)"):
        assert f">{shape} ‖·‖" in dot, shape


def test_explain_walks_through_conv_and_pool(tmp_path):
    path = tmp_path / "net.grad"
    path.write_text(TOOLS_SRC)
    proc = run_cli(
        "explain",
        str(path),
        "--function",
        "f",
        "--at",
        "x=[[[[1,2,3],[4,5,6],[7,8,9]]]],w=[[[[1,0],[0,-1]]]]",
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "y = _conv2d(%2, w)" in text and "[conv2d, line 2]" in text
    assert "%4 = _max_pool2d(y, 2, 2)" in text and "[max_pool2d, line 3]" in text
    # y = [[-4, -4], [-4, -4]]: a four-way tie, a quarter of the gradient each (norm
    # 0.5); d_w = the windows' sum / 4 = [[3, 4], [6, 7]] (norm sqrt(110))
    assert "to y: downstream ∂out/∂y = d_y = (1, 1, 2, 2) ‖·‖ = 0.5\n" in text
    assert "∂out/∂w = (1, 1, 2, 2) ‖·‖ = 10.4881\n" in text


def test_check_draws_sizes_that_fit_the_windows(tmp_path):
    path = tmp_path / "net.grad"
    path.write_text(
        "def f(x: Tensor[N, C, H, W], w: Tensor[F, C, KH, KW]) -> Scalar:\n"
        "    return sum(max_pool2d(conv2d(x, w, pad=1), 3, stride=2))\n"
    )
    proc = run_cli("check", str(path), "--dims", "KH=6,KW=5")  # H and W grow to fit
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "H=6" in proc.stdout and "W=5" in proc.stdout
    proc = run_cli("check", str(path), "--dims", "H=3,KH=5")
    assert proc.returncode == 2
    assert (
        "f: a max_pool2d window needs H >= KH, but the sizes are H=3, KH=5"
        in proc.stderr
    )


@pytest.mark.parametrize("example", ["convnet", "lenet"])
def test_check_passes_on_the_examples(example):
    proc = run_cli("check", f"examples/{example}.grad", "--seed", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "match finite differences" in proc.stdout


# --- the examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["convnet", "lenet"])
def test_example_gradients(example):
    mod = gradc.load_source(
        (ROOT / "examples" / f"{example}.grad").read_text(), filename=f"{example}.grad"
    )
    rng = np.random.default_rng(5)
    if example == "convnet":
        n, c, h, w, f, k, hid, cls = 2, 3, 8, 6, 3, 7, 5, 4
        args = [
            rng.standard_normal((f, c, k, k)) * 0.3,
            rng.standard_normal(f) * 0.1,
            rng.standard_normal((f * (h // 2) * (w // 2), hid)) * 0.3,
            rng.standard_normal(hid) * 0.1,
            rng.standard_normal((hid, cls)) * 0.3,
            rng.standard_normal(cls) * 0.1,
            rng.standard_normal((n, c, h, w)),
            rng.integers(0, cls, size=n),
            0.05,
        ]
        fn, wrt = mod.convnet_loss, [0, 1, 2, 3, 4, 5]
        vg = mod.convnet_loss_value_and_grad
    else:
        n = 2
        args = [
            rng.standard_normal((4, 1, 5, 5)) * 0.3,
            rng.standard_normal(4) * 0.1,
            rng.standard_normal((6, 4, 5, 5)) * 0.2,
            rng.standard_normal(6) * 0.1,
            rng.standard_normal((6 * 4 * 4, 10)) * 0.2,
            rng.standard_normal(10) * 0.1,
            rng.standard_normal((10, 10)) * 0.3,
            rng.standard_normal(10) * 0.1,
            rng.standard_normal((n, 1, 28, 28)),
            rng.integers(0, 10, size=n),
        ]
        fn, wrt = mod.lenet_loss, list(range(8))
        vg = mod.lenet_loss_value_and_grad
    value, grads = vg(*args)
    np.testing.assert_allclose(value, fn(*args))
    numeric = central_diff_grad(fn, args, wrt)
    assert_fd_close(list(grads), numeric, scale=value)
