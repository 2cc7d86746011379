"""Candidate NumPy spellings of convolution and pooling, timed side by side: the
measurements behind the helpers gradc emits (bench/README.md, "Convolution").

    python bench/conv_spellings.py            # one thread, as bench/run.py

Each row: the median of 7 interleaved repeats (a batch of at least 0.1 s each), in ms,
and the ratio to the first candidate of its group; every candidate is checked against
the first.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import gc  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

swv = np.lib.stride_tricks.sliding_window_view


def windows(x, kh, kw, stride):
    return swv(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def padded(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x


# --- conv forward: (x, w, stride, pad) -> (N, F, OH, OW) -----------------------------------


def conv_im2col_cfirst(x, w, s, p):
    """gradc's: columns (C, KH, KW, N, OH, OW), w (F, CKK) @ cols."""
    f, c, kh, kw = w.shape
    cols = np.ascontiguousarray(
        windows(padded(x, p), kh, kw, s).transpose(1, 4, 5, 0, 2, 3)
    )
    n, oh, ow = cols.shape[3:]
    out = w.reshape(f, -1).dot(cols.reshape(c * kh * kw, -1))
    return out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3)


def conv_im2col_nfirst(x, w, s, p):
    """Columns (N, OH, OW, C, KH, KW), cols @ w^T."""
    f, c, kh, kw = w.shape
    cols = np.ascontiguousarray(
        windows(padded(x, p), kh, kw, s).transpose(0, 2, 3, 1, 4, 5)
    )
    n, oh, ow = cols.shape[:3]
    out = cols.reshape(-1, c * kh * kw).dot(w.reshape(f, -1).T)
    return out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)


def conv_einsum(x, w, s, p):
    """np.einsum over the windows (a view), optimize=True."""
    win = windows(padded(x, p), w.shape[2], w.shape[3], s)
    return np.einsum("nchwij,fcij->nfhw", win, w, optimize=True)


def conv_tensordot(x, w, s, p):
    """np.tensordot of the windows with the kernel."""
    win = windows(padded(x, p), w.shape[2], w.shape[3], s)
    return np.tensordot(win, w, axes=((1, 4, 5), (1, 2, 3))).transpose(0, 3, 1, 2)


def layer_transposed(cols, w, b):
    """The matmul's (F, N, OH, OW) result read as (N, F, OH, OW) by a transposed view,
    then the bias and relu (the next line of a convnet)."""
    c, kh, kw, n, oh, ow = cols.shape
    out = w.reshape(w.shape[0], -1).dot(cols.reshape(c * kh * kw, -1))
    y = out.reshape(-1, n, oh, ow).transpose(1, 0, 2, 3)
    return np.maximum(y + b[:, None, None], 0.0)


def layer_c_order(cols, w, b):
    """gradc's ``_conv2d``: the same result copied to C order, then the bias and relu."""
    c, kh, kw, n, oh, ow = cols.shape
    out = w.reshape(w.shape[0], -1).dot(cols.reshape(c * kh * kw, -1))
    y = np.ascontiguousarray(out.reshape(-1, n, oh, ow).transpose(1, 0, 2, 3))
    return np.maximum(y + b[:, None, None], 0.0)


# --- col2im: window-shaped gradients (C, KH, KW, N, OH, OW) -> (N, C, H, W) ---------------------


def col2im_slices(d, h, w, s, p):
    """gradc's: one strided slice-add per kernel tap into a padded zero array."""
    c, kh, kw, n, oh, ow = d.shape
    out = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            rows, cols = (
                slice(i, i + s * (oh - 1) + 1, s),
                slice(j, j + s * (ow - 1) + 1, s),
            )
            out[:, :, rows, cols] += d[:, i, j].transpose(1, 0, 2, 3)
    return out[:, :, p : p + h, p : p + w]


def col2im_add_at(d, h, w, s, p):
    """np.add.at with the index arrays of every window entry (CS231n's col2im_indices)."""
    c, kh, kw, n, oh, ow = d.shape
    out = np.zeros((n, c, h + 2 * p, w + 2 * p))
    i = np.arange(kh)[:, None, None, None] + s * np.arange(oh)[None, None, :, None]
    j = np.arange(kw)[None, :, None, None] + s * np.arange(ow)[None, None, None, :]
    i, j = np.broadcast_arrays(i, j)  # (KH, KW, OH, OW)
    vals = d.transpose(3, 0, 1, 2, 4, 5)  # (N, C, KH, KW, OH, OW)
    np.add.at(out, (slice(None), slice(None), i, j), vals)
    return out[:, :, p : p + h, p : p + w]


# --- max pooling -----------------------------------------------------------------------------


def maxpool_windows(x, k, s):
    """gradc's: the strided windows' max."""
    return windows(x, k, k, s).max(axis=(4, 5))


def maxpool_reshape(x, k, s):
    """CS231n's reshape (windows that tile x only)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))


def maxgrad_slices(g, x, out, k, s):
    """gradc's for windows that overlap or leave gaps: mask of the windows' maxima,
    shared among ties, one slice-add per tap."""
    at_max = windows(x, k, k, s) == out[:, :, :, :, None, None]
    share = g / at_max.sum(axis=(4, 5))
    oh, ow = out.shape[2:]
    dx = np.zeros(x.shape)
    for i in range(k):
        for j in range(k):
            rows, cols = (
                slice(i, i + s * (oh - 1) + 1, s),
                slice(j, j + s * (ow - 1) + 1, s),
            )
            dx[:, :, rows, cols] += np.where(at_max[:, :, :, :, i, j], share, 0.0)
    return dx


def maxgrad_reshape(g, x, out, k, s):
    """CS231n's reshape backward, ties shared: gradc's where the windows tile x."""
    n, c, h, w = x.shape
    xr = x.reshape(n, c, h // k, k, w // k, k)
    mask = xr == out[:, :, :, None, :, None]
    share = g / mask.sum(axis=(3, 5))
    return (mask * share[:, :, :, None, :, None]).reshape(x.shape)


def avgpool_windows(x, k, s):
    return windows(x, k, k, s).sum(axis=(4, 5)) / (k * k)


def avgpool_mean(x, k, s):
    return windows(x, k, k, s).mean(axis=(4, 5))


def batch(fn, k):
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        return (time.perf_counter() - t0) / k
    finally:
        gc.enable()


def compare(title, candidates, args, repeats=7):
    want = candidates[0](*args)
    for fn in candidates[1:]:
        np.testing.assert_allclose(fn(*args), want, rtol=1e-10, atol=1e-10)
    ks = [
        max(1, int(0.1 / max(batch(lambda f=f: f(*args), 1), 1e-9))) for f in candidates
    ]
    times = [[] for _ in candidates]
    for r in range(repeats):
        order = list(range(len(candidates)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for c in order:
            times[c].append(batch(lambda f=candidates[c]: f(*args), ks[c]))
    print(title)
    base = statistics.median(times[0])
    for fn, t in zip(candidates, times, strict=True):
        m = statistics.median(t)
        print(f"  {fn.__name__:<22} {m * 1e3:9.3f} ms  {m / base:5.2f}")


def main() -> int:
    rng = np.random.default_rng(0)
    for n, c, hw, f, k, s, p in [
        (8, 3, 32, 32, 7, 1, 3),
        (64, 3, 32, 32, 7, 1, 3),
        (64, 16, 32, 32, 3, 1, 1),
        (16, 8, 28, 16, 5, 2, 2),
    ]:
        x = rng.standard_normal((n, c, hw, hw))
        w = rng.standard_normal((f, c, k, k))
        shape = f"N={n} C={c} {hw}x{hw} F={f} {k}x{k} stride {s} pad {p}"
        compare(
            f"conv forward, {shape}",
            [conv_im2col_cfirst, conv_im2col_nfirst, conv_einsum, conv_tensordot],
            (x, w, s, p),
        )
        oh = (hw + 2 * p - k) // s + 1
        cols = np.ascontiguousarray(
            windows(padded(x, p), k, k, s).transpose(1, 4, 5, 0, 2, 3)
        )
        b = rng.standard_normal(f)
        compare(
            f"conv result order, then bias and relu, {shape}",
            [layer_c_order, layer_transposed],
            (cols, w, b),
        )
        d = rng.standard_normal((c, k, k, n, oh, oh))
        compare(f"col2im, {shape}", [col2im_slices, col2im_add_at], (d, hw, hw, s, p))
    for n, c, hw in [(8, 32, 32), (64, 32, 32)]:
        x = rng.standard_normal((n, c, hw, hw))
        out = maxpool_windows(x, 2, 2)
        g = rng.standard_normal(out.shape)
        shape = f"N={n} C={c} {hw}x{hw}, 2x2 stride 2"
        compare(f"max pool, {shape}", [maxpool_windows, maxpool_reshape], (x, 2, 2))
        compare(
            f"max pool gradient, {shape}",
            [maxgrad_slices, maxgrad_reshape],
            (g, x, out, 2, 2),
        )
        compare(f"avg pool, {shape}", [avgpool_windows, avgpool_mean], (x, 2, 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
