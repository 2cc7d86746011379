"""Optional peers for the benchmark: JAX jit(value_and_grad), PyTorch eager autograd, HIPS autograd.

Nothing is imported at module level: each peer is imported on first use, and a peer
that is not installed is skipped with a printed note.  Every peer gets its inputs
already converted to its own array type (JAX device arrays in float64, torch tensors
with ``requires_grad``), so only the value-and-gradient computation is timed; the
conversion of its results back to NumPy for the gradient check happens outside the
timed region.  JAX runs in float64 (``jax_enable_x64``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

PEERS = ("jax", "torch", "autograd")

_state: dict[str, Any] = {}


def load(name: str) -> tuple[bool, str]:
    """Import a peer lazily; return (available, version-or-reason)."""
    if name in _state:
        mod = _state[name]
        return (
            mod is not None,
            getattr(mod, "__version__", "?") if mod else _state[name + "!"],
        )
    try:
        if name == "jax":
            mod = importlib.import_module("jax")
            mod.config.update("jax_enable_x64", True)
            importlib.import_module("jax.numpy")
            importlib.import_module("jax.scipy.special")
        elif name == "torch":
            mod = importlib.import_module("torch")
            threads = os.environ.get("GRADC_BENCH_THREADS")
            if threads:
                mod.set_num_threads(int(threads))
        elif name == "autograd":
            mod = importlib.import_module("autograd")
            importlib.import_module("autograd.numpy")
            importlib.import_module("autograd.scipy.special")
        else:
            raise ValueError(f"unknown peer {name!r}")
    except ImportError as exc:
        _state[name] = None
        _state[name + "!"] = f"not installed ({exc.name or exc})"
        return False, _state[name + "!"]
    _state[name] = mod
    version = getattr(mod, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(name)
        except Exception:  # noqa: BLE001
            version = "?"
        mod.__version__ = version
    return True, version


# ---------------------------------------------------------------------------
# The formulas, written once for the NumPy-like APIs (jax.numpy, autograd.numpy).


def _numpy_like_formulas(xp, logsumexp, sigmoid, relu) -> dict[str, Callable[..., Any]]:
    def log_softmax(s):
        return s - logsumexp(s, axis=1, keepdims=True)

    def add_mul(x, y, z):
        return (x + y) * z

    def neuron(w0, x0, w1, x1, w2):
        return 1.0 / (1.0 + xp.exp(-(w0 * x0 + w1 * x1 + w2)))

    def norm_sq(W, x):
        return xp.sum(xp.dot(W, x) ** 2)

    def logreg(w, b, X, y, lam):
        p = sigmoid(xp.dot(X, w) + b)
        data = -xp.mean(y * xp.log(p + 1e-12) + (1 - y) * xp.log(1 - p + 1e-12))
        return data + lam * xp.sum(w**2)

    def softmax_loss(W, X, y, reg):
        logp = log_softmax(xp.dot(X, W))
        return -xp.mean(logp[xp.arange(X.shape[0]), y]) + reg * xp.sum(W * W)

    def two_layer(W1, b1, W2, b2, X, y, reg):
        h = relu(xp.dot(X, W1) + b1)
        logp = log_softmax(xp.dot(h, W2) + b2)
        loss = -xp.mean(logp[xp.arange(X.shape[0]), y])
        return loss + reg * (xp.sum(W1 * W1) + xp.sum(W2 * W2))

    def elementwise(x):
        return xp.sum(xp.tanh(sigmoid(x) * xp.exp(-(x**2))) + xp.log(1 + x**2))

    def rosenbrock(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    # the cases written as people write them (bench/cases/*.grad, bench/natural.py)
    def logreg_user(w, b, X, y):
        p = 1 / (1 + xp.exp(-(xp.dot(X, w) + b)))
        return -xp.mean(y * xp.log(p) + (1 - y) * xp.log(1 - p))

    def logreg_softplus(w, b, X, y):
        z = xp.dot(X, w) + b
        return xp.mean(xp.logaddexp(0.0, z) - y * z)

    def mse(w, b, X, y):
        r = xp.dot(X, w) + b - y
        return xp.mean(r**2)

    def ridge(w, X, y, lam):
        return (
            0.5 * xp.linalg.norm(xp.dot(X, w) - y) ** 2 + lam * xp.linalg.norm(w) ** 2
        )

    def softmax_hand(W, X, y, reg):
        scores = xp.dot(X, W)
        exp_scores = xp.exp(scores - xp.max(scores, axis=1, keepdims=True))
        probs = exp_scores / xp.sum(exp_scores, axis=1, keepdims=True)
        loss = -xp.mean(xp.log(probs[xp.arange(X.shape[0]), y]))
        return loss + reg * xp.sum(W * W)

    def softmax_lse(W, X, y):
        scores = xp.dot(X, W)
        return xp.mean(logsumexp(scores, axis=1) - scores[xp.arange(X.shape[0]), y])

    def huber(r, delta):
        a = xp.abs(r)
        return xp.sum(xp.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)))

    def batchnorm(x, gamma, beta, t):
        xc = x - xp.mean(x, axis=0)
        xhat = xc / xp.sqrt(xp.mean(xc**2, axis=0) + 1e-5)
        return xp.sum((gamma * xhat + beta) * t)

    def layernorm(x, gamma, beta, t):
        xc = x - xp.mean(x, axis=1, keepdims=True)
        xhat = xc / xp.sqrt(xp.mean(xc**2, axis=1, keepdims=True) + 1e-5)
        return xp.sum((gamma * xhat + beta) * t)

    def softmax(s):
        return xp.exp(log_softmax(s))

    def softmax_probs(scores, y):
        p = softmax(scores)
        return -xp.mean(xp.log(p[xp.arange(scores.shape[0]), y]))

    def attention(Q, K, V, T):
        A = softmax(xp.dot(Q, K.T) * 0.125)
        return xp.sum(xp.dot(A, V) * T)

    def neuron_vec(w, x):
        return 1 / (1 + xp.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))

    def neuron_dot(w, x):
        return 1 / (1 + xp.exp(-(xp.dot(w[0:2], x) + w[2])))

    def gmm(alphas, means, q, L, x, wishart_gamma, wishart_m):
        # ADBench's formulation (its PyTorch port, einsum for Q x), as bench/cases/gmm.grad
        N, D = x.shape
        Qdiags = xp.exp(q)
        sum_qs = xp.sum(q, axis=1)
        xcentered = x[:, None, :] - means[None, :, :]
        Lxcentered = Qdiags * xcentered + xp.einsum("ijk,mik->mij", L, xcentered)
        inner_term = alphas + sum_qs - 0.5 * xp.sum(Lxcentered**2, axis=2)
        slse = xp.sum(logsumexp(inner_term, axis=1))
        frobenius = xp.sum(Qdiags**2, axis=1) + xp.sum(L**2, axis=(1, 2))
        prior = xp.sum(0.5 * wishart_gamma**2 * frobenius - wishart_m * sum_qs)
        const = -N * D * 0.5 * 1.8378770664093453
        return const + slse - N * logsumexp(alphas) + prior

    return {
        "add_mul": add_mul,
        "neuron": neuron,
        "norm_sq": norm_sq,
        "logreg": logreg,
        "softmax_loss": softmax_loss,
        "two_layer": two_layer,
        "elementwise": elementwise,
        "rosenbrock": rosenbrock,
        "logreg_user": logreg_user,
        "logreg_softplus": logreg_softplus,
        "mse": mse,
        "ridge": ridge,
        "softmax_hand": softmax_hand,
        "softmax_lse": softmax_lse,
        "huber": huber,
        "batchnorm": batchnorm,
        "layernorm": layernorm,
        "softmax_probs": softmax_probs,
        "attention": attention,
        "neuron_vec": neuron_vec,
        "neuron_dot": neuron_dot,
        "gmm": gmm,
    }


def _torch_formulas(torch) -> dict[str, Callable[..., Any]]:
    def add_mul(x, y, z):
        return (x + y) * z

    def neuron(w0, x0, w1, x1, w2):
        return 1.0 / (1.0 + torch.exp(-(w0 * x0 + w1 * x1 + w2)))

    def norm_sq(W, x):
        return torch.sum((W @ x) ** 2)

    def logreg(w, b, X, y, lam):
        p = torch.sigmoid(X @ w + b)
        data = -torch.mean(
            y * torch.log(p + 1e-12) + (1 - y) * torch.log(1 - p + 1e-12)
        )
        return data + lam * torch.sum(w**2)

    def softmax_loss(W, X, y, reg):
        logp = torch.log_softmax(X @ W, dim=1)
        return -torch.mean(logp[torch.arange(X.shape[0]), y]) + reg * torch.sum(W * W)

    def two_layer(W1, b1, W2, b2, X, y, reg):
        h = torch.relu(X @ W1 + b1)
        logp = torch.log_softmax(h @ W2 + b2, dim=1)
        loss = -torch.mean(logp[torch.arange(X.shape[0]), y])
        return loss + reg * (torch.sum(W1 * W1) + torch.sum(W2 * W2))

    def elementwise(x):
        return torch.sum(
            torch.tanh(torch.sigmoid(x) * torch.exp(-(x**2))) + torch.log(1 + x**2)
        )

    def rosenbrock(x):
        return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    def logreg_user(w, b, X, y):
        p = 1 / (1 + torch.exp(-(X @ w + b)))
        return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))

    def logreg_softplus(w, b, X, y):
        z = X @ w + b
        return torch.mean(torch.nn.functional.softplus(z) - y * z)

    def mse(w, b, X, y):
        r = X @ w + b - y
        return torch.mean(r**2)

    def ridge(w, X, y, lam):
        return 0.5 * torch.linalg.norm(X @ w - y) ** 2 + lam * torch.linalg.norm(w) ** 2

    def softmax_hand(W, X, y, reg):
        scores = X @ W
        exp_scores = torch.exp(scores - torch.max(scores, dim=1, keepdim=True).values)
        probs = exp_scores / torch.sum(exp_scores, dim=1, keepdim=True)
        loss = -torch.mean(torch.log(probs[torch.arange(X.shape[0]), y]))
        return loss + reg * torch.sum(W * W)

    def softmax_lse(W, X, y):
        scores = X @ W
        picked = scores[torch.arange(X.shape[0]), y]
        return torch.mean(torch.logsumexp(scores, dim=1) - picked)

    def huber(r, delta):
        a = torch.abs(r)
        return torch.sum(torch.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)))

    def batchnorm(x, gamma, beta, t):
        xc = x - torch.mean(x, dim=0)
        xhat = xc / torch.sqrt(torch.mean(xc**2, dim=0) + 1e-5)
        return torch.sum((gamma * xhat + beta) * t)

    def layernorm(x, gamma, beta, t):
        xc = x - torch.mean(x, dim=1, keepdim=True)
        xhat = xc / torch.sqrt(torch.mean(xc**2, dim=1, keepdim=True) + 1e-5)
        return torch.sum((gamma * xhat + beta) * t)

    def softmax_probs(scores, y):
        p = torch.softmax(scores, dim=1)
        return -torch.mean(torch.log(p[torch.arange(scores.shape[0]), y]))

    def attention(Q, K, V, T):
        A = torch.softmax(Q @ K.T * 0.125, dim=1)
        return torch.sum((A @ V) * T)

    def neuron_vec(w, x):
        return 1 / (1 + torch.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))

    def neuron_dot(w, x):
        return 1 / (1 + torch.exp(-(torch.dot(w[0:2], x) + w[2])))

    def gmm(alphas, means, q, L, x, wishart_gamma, wishart_m):
        N, D = x.shape
        Qdiags = torch.exp(q)
        sum_qs = torch.sum(q, dim=1)
        xcentered = x[:, None, :] - means[None, :, :]
        Lxcentered = Qdiags * xcentered + torch.einsum("ijk,mik->mij", L, xcentered)
        inner_term = alphas + sum_qs - 0.5 * torch.sum(Lxcentered**2, dim=2)
        slse = torch.sum(torch.logsumexp(inner_term, dim=1))
        frobenius = torch.sum(Qdiags**2, dim=1) + torch.sum(L**2, dim=(1, 2))
        prior = torch.sum(0.5 * wishart_gamma**2 * frobenius - wishart_m * sum_qs)
        const = -N * D * 0.5 * 1.8378770664093453
        return const + slse - N * torch.logsumexp(alphas, dim=0) + prior

    return {
        "add_mul": add_mul,
        "neuron": neuron,
        "norm_sq": norm_sq,
        "logreg": logreg,
        "softmax_loss": softmax_loss,
        "two_layer": two_layer,
        "elementwise": elementwise,
        "rosenbrock": rosenbrock,
        "logreg_user": logreg_user,
        "logreg_softplus": logreg_softplus,
        "mse": mse,
        "ridge": ridge,
        "softmax_hand": softmax_hand,
        "softmax_lse": softmax_lse,
        "huber": huber,
        "batchnorm": batchnorm,
        "layernorm": layernorm,
        "softmax_probs": softmax_probs,
        "attention": attention,
        "neuron_vec": neuron_vec,
        "neuron_dot": neuron_dot,
        "gmm": gmm,
    }


# ---------------------------------------------------------------------------
# Builders: peer, case, inputs -> (call, extract)
#   call()          runs value-and-gradient to completion (timed)
#   extract(result) -> (float value, tuple of NumPy gradients) (not timed)


def _jax(case_name: str, inputs: tuple, wrt: tuple[int, ...]):
    jax = _state["jax"]
    jnp = importlib.import_module("jax.numpy")
    special = importlib.import_module("jax.scipy.special")
    fns = _numpy_like_formulas(jnp, special.logsumexp, jax.nn.sigmoid, jax.nn.relu)
    vg = jax.jit(jax.value_and_grad(fns[case_name], argnums=wrt))
    args = []
    for a in inputs:
        if isinstance(a, np.ndarray):
            args.append(jax.device_put(a))
        else:
            args.append(jnp.asarray(a, dtype=jnp.float64))
    args = tuple(args)

    def call():
        return jax.block_until_ready(vg(*args))

    def extract(result):
        value, grads = result
        return float(value), tuple(np.asarray(g) for g in grads)

    return call, extract


def _torch(case_name: str, inputs: tuple, wrt: tuple[int, ...]):
    torch = _state["torch"]
    fn = _torch_formulas(torch)[case_name]
    args = []
    for i, a in enumerate(inputs):
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(np.array(a, copy=True))
        elif i in wrt:
            t = torch.tensor(a, dtype=torch.float64)
        else:
            t = a  # a non-differentiated Python float
        if i in wrt:
            t.requires_grad_(True)
        args.append(t)
    args = tuple(args)
    wrt_tensors = tuple(args[i] for i in wrt)
    grad = torch.autograd.grad

    def call():
        loss = fn(*args)
        return loss, grad(loss, wrt_tensors)

    def extract(result):
        loss, grads = result
        return float(loss.detach()), tuple(g.detach().numpy() for g in grads)

    return call, extract


def _autograd(case_name: str, inputs: tuple, wrt: tuple[int, ...]):
    autograd = _state["autograd"]
    anp = importlib.import_module("autograd.numpy")
    special = importlib.import_module("autograd.scipy.special")

    def sigmoid(x):
        return 1.0 / (1.0 + anp.exp(-x))

    def relu(x):
        return anp.maximum(0.0, x)

    fn = _numpy_like_formulas(anp, special.logsumexp, sigmoid, relu)[case_name]
    vg = autograd.value_and_grad(fn, wrt if len(wrt) > 1 else wrt[0])
    args = tuple(inputs)

    def call():
        return vg(*args)

    def extract(result):
        value, grads = result
        if len(wrt) == 1:
            grads = (grads,)
        return float(value), tuple(np.asarray(g, dtype=np.float64) for g in grads)

    return call, extract


_BUILDERS = {"jax": _jax, "torch": _torch, "autograd": _autograd}


def build(peer: str, case_name: str, inputs: tuple, wrt: tuple[int, ...]):
    """(call, extract) for one peer, case and set of inputs; the peer must be loaded."""
    ok, why = load(peer)
    if not ok:
        raise RuntimeError(f"{peer}: {why}")
    return _BUILDERS[peer](case_name, inputs, wrt)
