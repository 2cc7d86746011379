"""Hand-written NumPy for the cases written the way people write formulas (issue 16).

Each formula in ``bench/cases/`` named here is spelled as a user types it (a
hand-rolled sigmoid, ``log(p)`` and ``log(1 - p)``, logsumexp minus the picked
score, a Huber loss from ``where`` and ``abs``); the NumPy below is what a careful
engineer writes for the same loss: the stable textbook form, one pass per
transcendental, intermediates kept for the backward.
"""

from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------
# Logistic regression: mean(softplus(z) - y z), gradient (sigmoid(z) - y) / n.


def logreg_user_fwd(w, b, X, y):
    z = X.dot(w) + b
    sp = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))  # softplus(z), stable
    return np.mean(sp - y * z)


def logreg_user_vg(w, b, X, y):
    n = X.shape[0]
    z = X.dot(w) + b
    e = np.exp(-np.abs(z))  # one exp serves softplus and sigmoid
    sp = np.maximum(z, 0.0) + np.log1p(e)  # softplus(z) = -log(1 - p)
    loss = np.mean(sp - y * z)
    p = np.where(z >= 0.0, 1.0, e) / (1.0 + e)  # sigmoid(z)
    dz = (p - y) / n
    return loss, (dz.dot(X), dz.sum())


def gen_logreg_user(dims, rng):
    n, d = dims["n"], dims["d"]
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / math.sqrt(d)
    y = rng.integers(0, 2, n).astype(np.float64)
    return (w, 0.1, X, y)


# ---------------------------------------------------------------------------
# Least squares, mean(r ** 2) with r = X w + b - y: gradient 2 r / n through X; and
# ridge, 0.5 ||X w - y||^2 + lam ||w||^2: gradient X^T r + 2 lam w.


def mse_fwd(w, b, X, y):
    r = X.dot(w) + b - y
    return r.dot(r) / X.shape[0]


def mse_vg(w, b, X, y):
    n = X.shape[0]
    r = X.dot(w) + b - y
    dr = (2.0 / n) * r
    return r.dot(r) / n, (dr.dot(X), dr.sum())


def gen_mse(dims, rng):
    n, d = dims["n"], dims["d"]
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / math.sqrt(d)
    return (w, 0.1, X, X.dot(rng.standard_normal(d)) + 0.1 * rng.standard_normal(n))


def ridge_fwd(w, X, y, lam):
    r = X.dot(w) - y
    return 0.5 * r.dot(r) + lam * w.dot(w)


def ridge_vg(w, X, y, lam):
    r = X.dot(w) - y
    return 0.5 * r.dot(r) + lam * w.dot(w), r.dot(X) + (2.0 * lam) * w


def gen_ridge(dims, rng):
    w, _, X, y = gen_mse(dims, rng)
    return (w, X, y, 1e-2)


# ---------------------------------------------------------------------------
# Softmax cross-entropy: mean(logsumexp(scores) - scores[i, y_i]).


def softmax_lse_fwd(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    m = scores.max(axis=1, keepdims=True)
    lse = np.log(np.exp(scores - m).sum(axis=1)) + m[:, 0]
    return np.mean(lse - scores[np.arange(N), y])


def softmax_lse_vg(W, X, y):
    N = X.shape[0]
    scores = X.dot(W)
    m = scores.max(axis=1, keepdims=True)
    e = np.exp(scores - m)
    s = e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(s[:, 0]) + m[:, 0] - scores[np.arange(N), y])
    dscores = e / s
    dscores[np.arange(N), y] -= 1.0
    dscores /= N
    return loss, X.T.dot(dscores)


def gen_softmax_lse(dims, rng):
    N, D, C = dims["N"], dims["D"], dims["C"]
    W = 0.01 * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return (W, X, y)


# ---------------------------------------------------------------------------
# Huber loss: quadratic within delta, linear outside.


def huber_fwd(r, delta):
    a = np.abs(r)
    return np.sum(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)))


def huber_vg(r, delta):
    a = np.abs(r)
    small = a <= delta
    loss = np.sum(np.where(small, 0.5 * r * r, delta * (a - 0.5 * delta)))
    return loss, np.where(small, r, delta * np.sign(r))


def gen_huber(dims, rng):
    return (2.0 * rng.standard_normal(dims["n"]), 1.0)


# ---------------------------------------------------------------------------
# Batch normalisation (training mode) and layer normalisation, read out by sum(out * t):
# the backward in its compact form (CS231n batchnorm_backward_alt).

NORM_EPS = 1e-5


def batchnorm_fwd(x, gamma, beta, t):
    mu = x.mean(axis=0)
    xc = x - mu
    xhat = xc / np.sqrt((xc * xc).mean(axis=0) + NORM_EPS)
    return np.sum((gamma * xhat + beta) * t)


def batchnorm_vg(x, gamma, beta, t):
    mu = x.mean(axis=0)
    xc = x - mu
    inv = 1.0 / np.sqrt((xc * xc).mean(axis=0) + NORM_EPS)
    xhat = xc * inv
    loss = np.sum((gamma * xhat + beta) * t)
    dxhat = t * gamma
    dx = inv * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return loss, (dx, (t * xhat).sum(axis=0), t.sum(axis=0))


def layernorm_fwd(x, gamma, beta, t):
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    xhat = xc / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + NORM_EPS)
    return np.sum((gamma * xhat + beta) * t)


def layernorm_vg(x, gamma, beta, t):
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    inv = 1.0 / np.sqrt((xc * xc).mean(axis=1, keepdims=True) + NORM_EPS)
    xhat = xc * inv
    loss = np.sum((gamma * xhat + beta) * t)
    dxhat = t * gamma
    dx = inv * (
        dxhat
        - dxhat.mean(axis=1, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)
    )
    return loss, (dx, (t * xhat).sum(axis=0), t.sum(axis=0))


def gen_norm(dims, rng):
    N, D = dims["N"], dims["D"]
    x = 3.0 + 2.0 * rng.standard_normal((N, D))
    gamma = 1.0 + 0.1 * rng.standard_normal(D)
    beta = 0.1 * rng.standard_normal(D)
    return (x, gamma, beta, rng.standard_normal((N, D)))


# ---------------------------------------------------------------------------
# Softmax loss Caffe-style: probabilities, then -mean(log p[i, y_i]); the backward of the
# Caffe layer (SoftmaxWithLoss): (p - onehot(y)) / N.


def softmax_probs_fwd(scores, y):
    N = scores.shape[0]
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(N), y]))


def softmax_probs_vg(scores, y):
    N = scores.shape[0]
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), y]))
    dscores = p  # p is not needed after this
    dscores[np.arange(N), y] -= 1.0
    dscores /= N
    return loss, dscores


def gen_softmax_probs(dims, rng):
    N, C = dims["N"], dims["C"]
    return (rng.standard_normal((N, C)), rng.integers(0, C, N))


# ---------------------------------------------------------------------------
# Scaled dot-product attention read out against T: A = softmax(Q K^T s), sum((A V) * T);
# the softmax backward dS = A * (dA - rowsum(dA * A)).

ATTENTION_SCALE = 0.125


def attention_fwd(Q, K, V, T):
    S = Q.dot(K.T) * ATTENTION_SCALE
    A = np.exp(S - S.max(axis=1, keepdims=True))
    A /= A.sum(axis=1, keepdims=True)
    return np.sum(A.dot(V) * T)


def attention_vg(Q, K, V, T):
    S = Q.dot(K.T) * ATTENTION_SCALE
    A = np.exp(S - S.max(axis=1, keepdims=True))
    A /= A.sum(axis=1, keepdims=True)
    loss = np.vdot(A.dot(V), T)
    dA = T.dot(V.T)
    dV = A.T.dot(T)
    dS = A * (dA - (dA * A).sum(axis=1, keepdims=True))
    dS *= ATTENTION_SCALE
    return loss, (dS.dot(K), dS.T.dot(Q), dV)


def gen_attention(dims, rng):
    N, M, d, c = dims["N"], dims["M"], dims["d"], dims["c"]
    return (
        rng.standard_normal((N, d)),
        rng.standard_normal((M, d)),
        rng.standard_normal((M, c)),
        rng.standard_normal((N, c)),
    )


# ---------------------------------------------------------------------------
# The lecture's 2-d sigmoid neuron over w = [w0, w1, w2], x = [x0, x1]: its code on Python
# lists and floats (the backprop notes), the inputs read once as lists and the gradients
# returned as NumPy arrays, as gradc's API returns them. neuron_dot is the same neuron.


def neuron_vec_fwd(w, x):
    w, x = w.tolist(), x.tolist()
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    return 1.0 / (1 + math.exp(-dot))


def neuron_vec_vg(w, x):
    w, x = w.tolist(), x.tolist()
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - f) * f
    dx = [w[0] * ddot, w[1] * ddot]
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]
    return f, (np.array(dw), np.array(dx))


def gen_neuron_vec(dims, rng):
    return (np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0]))  # the lecture's values


# ---------------------------------------------------------------------------
# ADBench's Gaussian mixture objective: Q_k = diag(exp(q_k)) + L_k, z_kn = Q_k (x_n - mu_k),
# sum_n logsumexp_k(alpha_k + sum(q_k) - |z_kn|^2 / 2) - N logsumexp(alpha) + the Wishart
# prior without its constant. Laid out component-major (K, N, D) so each Q_k z is one BLAS
# product; the backward by hand: the responsibilities w = softmax_k(inner) give
# d_z = -w z, d_Q_k = -sum_n w z xc^T, d_mu_k = Q_k^T sum_n w z.

GMM_LOG_2PI = 1.8378770664093453


def _gmm_forward(alphas, means, q, L, x):
    N, D = x.shape
    Qdiags = np.exp(q)
    Q = L + Qdiags[:, :, None] * np.eye(D)  # (K, D, D)
    xc = x[None, :, :] - means[:, None, :]  # (K, N, D)
    z = np.matmul(xc, Q.transpose(0, 2, 1))  # z[k, n] = Q_k xc[k, n]
    inner = (alphas + q.sum(axis=1))[:, None] - 0.5 * np.einsum("knd,knd->kn", z, z)
    return N, D, Qdiags, Q, xc, z, inner


def _gmm_prior(Qdiags, q, L, wishart_gamma, wishart_m):
    frob = np.einsum("kd,kd->", Qdiags, Qdiags) + np.vdot(L, L)
    return 0.5 * wishart_gamma**2 * frob - wishart_m * q.sum()


def _lse(a):
    m = a.max()
    return math.log(np.exp(a - m).sum()) + m


def gmm_fwd(alphas, means, q, L, x, wishart_gamma, wishart_m):
    N, D, Qdiags, _, _, _, inner = _gmm_forward(alphas, means, q, L, x)
    m = inner.max(axis=0)
    slse = np.sum(np.log(np.exp(inner - m).sum(axis=0)) + m)
    const = -0.5 * N * D * GMM_LOG_2PI
    prior = _gmm_prior(Qdiags, q, L, wishart_gamma, wishart_m)
    return const + slse - N * _lse(alphas) + prior


def gmm_vg(alphas, means, q, L, x, wishart_gamma, wishart_m):
    N, D, Qdiags, Q, xc, z, inner = _gmm_forward(alphas, means, q, L, x)
    m = inner.max(axis=0)
    e = np.exp(inner - m)  # (K, N)
    s = e.sum(axis=0)
    ma = alphas.max()
    ea = np.exp(alphas - ma)
    sa = ea.sum()
    const = -0.5 * N * D * GMM_LOG_2PI
    prior = _gmm_prior(Qdiags, q, L, wishart_gamma, wishart_m)
    loss = const + np.sum(np.log(s) + m) - N * (math.log(sa) + ma) + prior
    w = e / s  # responsibilities, d loss / d inner
    wk = w.sum(axis=1)
    Gz = w[:, :, None] * z  # -d loss / d z
    dQ = -np.matmul(Gz.transpose(0, 2, 1), xc)  # (K, D, D)
    g2 = wishart_gamma**2
    d_alphas = wk - ea * (N / sa)
    d_means = np.einsum("kij,ki->kj", Q, Gz.sum(axis=1))
    d_q = (
        np.diagonal(dQ, axis1=1, axis2=2) * Qdiags
        + (wk - wishart_m)[:, None]
        + g2 * Qdiags * Qdiags
    )
    d_L = dQ + g2 * L
    return loss, (d_alphas, d_means, d_q, d_L)


def gen_gmm(dims, rng):
    N, D, K = dims["N"], dims["D"], dims["K"]
    L = np.tril(0.3 * rng.standard_normal((K, D, D)), k=-1)
    return (
        rng.standard_normal(K),
        rng.standard_normal((K, D)),
        0.1 * rng.standard_normal((K, D)),
        L,
        rng.standard_normal((N, D)),
        1.0,
        0.5,  # ADBench's data has m = 0; 0.5 keeps the term in the check
    )
