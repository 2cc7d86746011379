"""Hand-written NumPy fast layers for the convolution benchmark, as CS231n's
``fast_layers.py`` and ``layer_utils.py`` write them (im2col, then one matmul; pooling by
reshape when the windows tile the input), in NumPy alone (no Cython): the im2col
columns come from ``sliding_window_view``, col2im adds one strided slice per kernel tap.

``three_layer_convnet(params, X, y, reg)`` is CS231n's ``ThreeLayerConvNet.loss``:
conv - relu - 2x2 max pool - affine - relu - affine - softmax, returning the loss and the
gradients of W1, b1, W2, b2, W3, b3 (ties in a pooling window share the gradient
equally, gradc's convention).
"""

from __future__ import annotations

import numpy as np


def im2col(x, kh, kw, stride, pad):
    """(C * kh * kw, N * OH * OW) columns of the zero-padded x."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    oh, ow = win.shape[2:4]
    cols = np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3))
    return cols.reshape(c * kh * kw, n * oh * ow), oh, ow


def col2im(dcols, x_shape, kh, kw, stride, pad, oh, ow):
    n, c, h, w = x_shape
    d = dcols.reshape(c, kh, kw, n, oh, ow)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += d[
                :, i, j
            ].transpose(1, 0, 2, 3)
    return dxp[:, :, pad : pad + h, pad : pad + w]


def conv_forward(x, w, b, stride, pad):
    f, c, kh, kw = w.shape
    cols, oh, ow = im2col(x, kh, kw, stride, pad)
    out = w.reshape(f, -1).dot(cols) + b[:, None]
    out = out.reshape(f, x.shape[0], oh, ow).transpose(1, 0, 2, 3)
    return out, (x.shape, w, cols, stride, pad, oh, ow)


def conv_backward(dout, cache, need_dx=True):
    x_shape, w, cols, stride, pad, oh, ow = cache
    f, c, kh, kw = w.shape
    db = dout.sum(axis=(0, 2, 3))
    dout_r = dout.transpose(1, 0, 2, 3).reshape(f, -1)
    dw = dout_r.dot(cols.T).reshape(w.shape)
    dx = None
    if need_dx:
        dcols = w.reshape(f, -1).T.dot(dout_r)
        dx = col2im(dcols, x_shape, kh, kw, stride, pad, oh, ow)
    return dx, dw, db


def max_pool_forward(x, size):
    """2x2/2 pooling by reshape (the windows tile x: H and W divisible by size)."""
    n, c, h, w = x.shape
    xr = x.reshape(n, c, h // size, size, w // size, size)
    out = xr.max(axis=(3, 5))
    return out, (xr, out)


def max_pool_backward(dout, cache):
    xr, out = cache
    mask = xr == out[:, :, :, None, :, None]
    share = dout / mask.sum(axis=(3, 5))
    dxr = mask * share[:, :, :, None, :, None]
    n, c, oh, s, ow, _ = xr.shape
    return dxr.reshape(n, c, oh * s, ow * s)


def three_layer_convnet(params, X, y, reg):
    W1, b1, W2, b2, W3, b3 = params
    pad = (W1.shape[2] - 1) // 2
    conv, conv_cache = conv_forward(X, W1, b1, 1, pad)
    a1 = np.maximum(conv, 0.0)
    pool, pool_cache = max_pool_forward(a1, 2)
    flat = pool.reshape(X.shape[0], -1)
    h = np.maximum(flat.dot(W2) + b2, 0.0)
    scores = h.dot(W3) + b3
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = X.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dW3 = h.T.dot(dscores) + reg * W3
    db3 = dscores.sum(axis=0)
    dh = dscores.dot(W3.T)
    dh[h <= 0] = 0
    dW2 = flat.T.dot(dh) + reg * W2
    db2 = dh.sum(axis=0)
    dpool = dh.dot(W2.T).reshape(pool.shape)
    da1 = max_pool_backward(dpool, pool_cache)
    da1[a1 <= 0] = 0
    _, dW1, db1 = conv_backward(da1, conv_cache, need_dx=False)
    dW1 += reg * W1
    return loss, (dW1, db1, dW2, db2, dW3, db3)
