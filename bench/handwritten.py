"""Benchmark cases: input generators and hand-written NumPy forward / value-and-gradient.

Each hand-written value-and-gradient is written the way the CS231n notes teach it:
a vectorised forward pass that keeps its intermediates, then a backward pass that
walks the circuit gate by gate in reverse (``dscores = probs; dscores[range(N), y]
-= 1; ...``).  The scalar lecture circuits use plain Python floats and ``math``, as
in the lecture notes.  Gradients follow gradc's convention: one array (or float)
when one input is differentiated, else a tuple in parameter order.

``python bench/handwritten.py --selfcheck`` compares every hand-written gradient with
central finite differences of the hand-written forward in float64 (small, non-square
sizes) and checks that forward and value_and_grad return the same value.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from natural import (
    attention_fwd,
    attention_vg,
    batchnorm_fwd,
    batchnorm_vg,
    gen_attention,
    gen_gmm,
    gen_huber,
    gen_logreg_user,
    gen_mse,
    gen_neuron_vec,
    gen_norm,
    gen_ridge,
    gen_softmax_lse,
    gen_softmax_probs,
    gmm_fwd,
    gmm_vg,
    huber_fwd,
    huber_vg,
    layernorm_fwd,
    layernorm_vg,
    logreg_user_fwd,
    logreg_user_vg,
    mse_fwd,
    mse_vg,
    neuron_vec_fwd,
    neuron_vec_vg,
    ridge_fwd,
    ridge_vg,
    softmax_lse_fwd,
    softmax_lse_vg,
    softmax_probs_fwd,
    softmax_probs_vg,
)

# ---------------------------------------------------------------------------
# (x + y) z  and the sigmoid neuron: the backpropagation lecture's circuits.


def add_mul_fwd(x, y, z):
    return (x + y) * z


def add_mul_vg(x, y, z):
    q = x + y
    f = q * z
    dz = q
    dq = z
    dx = 1.0 * dq
    dy = 1.0 * dq
    return f, (dx, dy, dz)


def neuron_fwd(w0, x0, w1, x1, w2):
    dot = w0 * x0 + w1 * x1 + w2
    return 1.0 / (1.0 + math.exp(-dot))


def neuron_vg(w0, x0, w1, x1, w2):
    dot = w0 * x0 + w1 * x1 + w2
    f = 1.0 / (1.0 + math.exp(-dot))
    ddot = (1 - f) * f
    return f, (x0 * ddot, w0 * ddot, x1 * ddot, w1 * ddot, 1.0 * ddot)


# ---------------------------------------------------------------------------
# ||W x||^2


def norm_sq_fwd(W, x):
    q = W.dot(x)
    return np.sum(q**2)


def norm_sq_vg(W, x):
    q = W.dot(x)
    f = np.sum(q**2)
    dq = 2.0 * q
    dW = np.outer(dq, x)
    dx = W.T.dot(dq)
    return f, (dW, dx)


# ---------------------------------------------------------------------------
# Logistic regression with L2 (same formula as bench/cases/logreg.grad).

EPS = 1e-12


def logreg_fwd(w, b, X, y, lam):
    p = 1.0 / (1.0 + np.exp(-(X.dot(w) + b)))
    data = -np.mean(y * np.log(p + EPS) + (1 - y) * np.log(1 - p + EPS))
    return data + lam * np.sum(w * w)


def logreg_vg(w, b, X, y, lam):
    n = X.shape[0]
    z = X.dot(w) + b
    p = 1.0 / (1.0 + np.exp(-z))
    data = -np.mean(y * np.log(p + EPS) + (1 - y) * np.log(1 - p + EPS))
    loss = data + lam * np.sum(w * w)
    # d(cross-entropy)/dz = p - y (EPS only guards the logs).
    dz = (p - y) / n
    dw = X.T.dot(dz) + 2 * lam * w
    db = np.sum(dz)
    return loss, (dw, db)


# ---------------------------------------------------------------------------
# CS231n softmax_loss_vectorized.


def softmax_loss_fwd(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    return loss + reg * np.sum(W * W)


def softmax_loss_vg(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    dW = X.T.dot(dscores) + 2 * reg * W
    return loss, dW


# ---------------------------------------------------------------------------
# CS231n two-layer net (assignment 1, TwoLayerNet.loss).


def two_layer_fwd(W1, b1, W2, b2, X, y, reg):
    N = X.shape[0]
    h = np.maximum(0, X.dot(W1) + b1)
    scores = h.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    return loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))


def two_layer_vg(W1, b1, W2, b2, X, y, reg):
    N = X.shape[0]
    h = np.maximum(0, X.dot(W1) + b1)
    scores = h.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dW2 = h.T.dot(dscores) + 2 * reg * W2
    db2 = np.sum(dscores, axis=0)
    dh = dscores.dot(W2.T)
    dh[h <= 0] = 0
    dW1 = X.T.dot(dh) + 2 * reg * W1
    db1 = np.sum(dh, axis=0)
    return loss, (dW1, db1, dW2, db2)


# ---------------------------------------------------------------------------
# sum(tanh(sigmoid(x) * exp(-x**2)) + log(1 + x**2))


def elementwise_fwd(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return np.sum(np.tanh(s * np.exp(-(x**2))) + np.log(1 + x**2))


def elementwise_vg(x):
    x2 = x**2
    s = 1.0 / (1.0 + np.exp(-x))
    e = np.exp(-x2)
    t = np.tanh(s * e)
    onepx2 = 1 + x2
    f = np.sum(t + np.log(onepx2))
    du = 1 - t**2  # through tanh
    ds = du * e  # into the sigmoid
    de = du * s  # into exp(-x^2)
    dx = ds * s * (1 - s) + de * e * (-2 * x) + 2 * x / onepx2
    return f, dx


# ---------------------------------------------------------------------------
# Rosenbrock (as scipy.optimize.rosen / rosen_der).


def rosenbrock_fwd(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_vg(x):
    xm = x[:-1]
    r = x[1:] - xm**2
    f = np.sum(100.0 * r**2 + (1 - xm) ** 2)
    dx = np.zeros_like(x)
    dx[1:] = 200.0 * r
    dx[:-1] += -400.0 * xm * r - 2 * (1 - xm)
    return f, dx


# ---------------------------------------------------------------------------
# Input generators (seeded; one call per case and size).


def gen_add_mul(dims, rng):
    return (-2.0, 5.0, -4.0)  # the lecture's values


def gen_neuron(dims, rng):
    return (2.0, -1.0, -3.0, -2.0, -3.0)  # w = [2, -3, -3], x = [-1, -2]


def gen_norm_sq(dims, rng):
    n = dims["n"]
    return (rng.standard_normal((n, n)) / math.sqrt(n), rng.standard_normal(n))


def gen_logreg(dims, rng):
    n, d = dims["n"], dims["d"]
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / math.sqrt(d)
    y = rng.integers(0, 2, n).astype(np.float64)
    return (w, 0.1, X, y, 1e-3)


def gen_softmax_loss(dims, rng):
    N, D, C = dims["N"], dims["D"], dims["C"]
    W = 0.01 * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return (W, X, y, 1e-3)


def gen_two_layer(dims, rng):
    N, D, H, C = dims["N"], dims["D"], dims["H"], dims["C"]
    W1 = rng.standard_normal((D, H)) * math.sqrt(2.0 / D)
    b1 = 0.01 * rng.standard_normal(H)
    W2 = rng.standard_normal((H, C)) * math.sqrt(1.0 / H)
    b2 = 0.01 * rng.standard_normal(C)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return (W1, b1, W2, b2, X, y, 1e-3)


def gen_vector(dims, rng):
    return (rng.standard_normal(dims["n"]),)


# ---------------------------------------------------------------------------
# The case table.


@dataclass(frozen=True)
class Size:
    label: str
    dims: dict
    quick: bool = True  # part of the --quick profile


@dataclass(frozen=True)
class Case:
    name: str  # also the .grad file stem and the exported function
    params: tuple[str, ...]
    wrt: tuple[int, ...]  # indices of the differentiated parameters
    gen: Callable[[dict, np.random.Generator], tuple]
    fwd: Callable[..., Any]
    vg: Callable[..., Any]
    sizes: tuple[Size, ...]
    check_dims: dict = field(default_factory=dict)  # small, non-square: self-check

    def inputs(self, dims: dict, seed: int = 0) -> tuple:
        return self.gen(dims, np.random.default_rng(seed))


#: the sizes of every logistic regression case (logreg, logreg_user, logreg_softplus), and
#: of the least-squares ones (mse, ridge)
LOGREG_SIZES = (
    Size("32x8", {"n": 32, "d": 8}),
    Size("10000x100", {"n": 10000, "d": 100}),
    Size("200000x50", {"n": 200000, "d": 50}, quick=False),
)


#: the sizes of the softmax losses (softmax_loss, softmax_hand, softmax_lse)
SOFTMAX_SIZES = (
    Size("16x32x10", {"N": 16, "D": 32, "C": 10}),
    Size("500x3073x10", {"N": 500, "D": 3073, "C": 10}),
    Size("4096x512x100", {"N": 4096, "D": 512, "C": 100}, quick=False),
)


#: the CS231n softmax loss (softmax_loss_vectorized); softmax_hand writes it as its notes do
SOFTMAX_LOSS = Case(
    "softmax_loss",
    ("W", "X", "y", "reg"),
    (0,),
    gen_softmax_loss,
    softmax_loss_fwd,
    softmax_loss_vg,
    SOFTMAX_SIZES,
    {"N": 6, "D": 5, "C": 4},
)


#: logistic regression with a hand-rolled sigmoid and log(p), log(1 - p)
LOGREG_USER = Case(
    "logreg_user",
    ("w", "b", "X", "y"),
    (0, 1),
    gen_logreg_user,
    logreg_user_fwd,
    logreg_user_vg,
    LOGREG_SIZES,
    {"n": 7, "d": 3},
)


CASES: tuple[Case, ...] = (
    Case(
        "add_mul",
        ("x", "y", "z"),
        (0, 1, 2),
        gen_add_mul,
        add_mul_fwd,
        add_mul_vg,
        (Size("scalar", {}),),
    ),
    Case(
        "neuron",
        ("w0", "x0", "w1", "x1", "w2"),
        (0, 1, 2, 3, 4),
        gen_neuron,
        neuron_fwd,
        neuron_vg,
        (Size("scalar", {}),),
    ),
    Case(
        "norm_sq",
        ("W", "x"),
        (0, 1),
        gen_norm_sq,
        norm_sq_fwd,
        norm_sq_vg,
        (
            Size("n=2", {"n": 2}),
            Size("n=64", {"n": 64}),
            Size("n=1024", {"n": 1024}, quick=False),
        ),
        {"n": 5},
    ),
    Case(
        "logreg",
        ("w", "b", "X", "y", "lam"),
        (0, 1),
        gen_logreg,
        logreg_fwd,
        logreg_vg,
        LOGREG_SIZES,
        {"n": 7, "d": 3},
    ),
    SOFTMAX_LOSS,
    Case(
        "two_layer",
        ("W1", "b1", "W2", "b2", "X", "y", "reg"),
        (0, 1, 2, 3),
        gen_two_layer,
        two_layer_fwd,
        two_layer_vg,
        (
            Size("8x16x16x4", {"N": 8, "D": 16, "H": 16, "C": 4}),
            Size("256x3072x100x10", {"N": 256, "D": 3072, "H": 100, "C": 10}),
            Size(
                "4096x1024x512x10",
                {"N": 4096, "D": 1024, "H": 512, "C": 10},
                quick=False,
            ),
        ),
        {"N": 5, "D": 7, "H": 6, "C": 3},
    ),
    Case(
        "elementwise",
        ("x",),
        (0,),
        gen_vector,
        elementwise_fwd,
        elementwise_vg,
        (Size("n=100", {"n": 100}), Size("n=1e6", {"n": 1_000_000})),
        {"n": 9},
    ),
    Case(
        "rosenbrock",
        ("x",),
        (0,),
        gen_vector,
        rosenbrock_fwd,
        rosenbrock_vg,
        (Size("n=10", {"n": 10}), Size("n=1e6", {"n": 1_000_000})),
        {"n": 7},
    ),
    # Formulas as people write them (bench/natural.py, issue 16).
    LOGREG_USER,
    # the same loss written stably, mean(softplus(z) - y z): the same hand-written NumPy
    replace(LOGREG_USER, name="logreg_softplus"),
    Case(
        "mse",
        ("w", "b", "X", "y"),
        (0, 1),
        gen_mse,
        mse_fwd,
        mse_vg,
        LOGREG_SIZES,
        {"n": 7, "d": 3},
    ),
    Case(
        "ridge",
        ("w", "X", "y", "lam"),
        (0,),
        gen_ridge,
        ridge_fwd,
        ridge_vg,
        LOGREG_SIZES,
        {"n": 7, "d": 3},
    ),
    # the same loss written out as CS231n's notes do (shift, exp, normalise, pick)
    replace(SOFTMAX_LOSS, name="softmax_hand"),
    Case(
        "softmax_lse",
        ("W", "X", "y"),
        (0,),
        gen_softmax_lse,
        softmax_lse_fwd,
        softmax_lse_vg,
        SOFTMAX_SIZES,
        {"N": 6, "D": 5, "C": 4},
    ),
    Case(
        "softmax_probs",
        ("scores", "y"),
        (0,),
        gen_softmax_probs,
        softmax_probs_fwd,
        softmax_probs_vg,
        (
            Size("16x10", {"N": 16, "C": 10}),
            Size("2048x1000", {"N": 2048, "C": 1000}),
        ),
        {"N": 6, "C": 4},
    ),
    Case(
        "huber",
        ("r", "delta"),
        (0,),
        gen_huber,
        huber_fwd,
        huber_vg,
        (Size("n=100", {"n": 100}), Size("n=1e6", {"n": 1_000_000})),
        {"n": 9},
    ),
    Case(
        "batchnorm",
        ("x", "gamma", "beta", "t"),
        (0, 1, 2),
        gen_norm,
        batchnorm_fwd,
        batchnorm_vg,
        (Size("64x100", {"N": 64, "D": 100}), Size("1024x512", {"N": 1024, "D": 512})),
        {"N": 5, "D": 3},
    ),
    Case(
        "layernorm",
        ("x", "gamma", "beta", "t"),
        (0, 1, 2),
        gen_norm,
        layernorm_fwd,
        layernorm_vg,
        (Size("64x100", {"N": 64, "D": 100}), Size("1024x512", {"N": 1024, "D": 512})),
        {"N": 5, "D": 3},
    ),
    Case(
        "attention",
        ("Q", "K", "V", "T"),
        (0, 1, 2),
        gen_attention,
        attention_fwd,
        attention_vg,
        (
            Size("16x16x8", {"N": 16, "M": 16, "d": 8, "c": 8}),
            Size("256x256x64", {"N": 256, "M": 256, "d": 64, "c": 64}),
        ),
        {"N": 5, "M": 4, "d": 3, "c": 2},
    ),
    Case(
        "gmm",
        ("alphas", "means", "q", "L", "x", "wishart_gamma", "wishart_m"),
        (0, 1, 2, 3),
        gen_gmm,
        gmm_fwd,
        gmm_vg,
        (
            Size("D2K5N1000", {"N": 1000, "D": 2, "K": 5}),
            Size("D10K25N10000", {"N": 10000, "D": 10, "K": 25}),
        ),
        {"N": 7, "D": 3, "K": 4},
    ),
)

# the neuron over Vector[3] and Vector[2] (issue 16, small literal dimensions), written
# w[0] * x[0] + w[1] * x[1] + w[2] (neuron_vec) and dot(w[0:2], x) + w[2] (neuron_dot)
CASES += tuple(
    Case(
        name,
        ("w", "x"),
        (0, 1),
        gen_neuron_vec,
        neuron_vec_fwd,
        neuron_vec_vg,
        (Size("3+2", {}),),
    )
    for name in ("neuron_vec", "neuron_dot")
)

CASES_BY_NAME = {c.name: c for c in CASES}


def as_tuple(grads) -> tuple:
    """gradc's gradient convention -> a tuple of arrays/floats."""
    return grads if isinstance(grads, tuple) else (grads,)


def float_elements(inputs) -> int:
    """Number of float elements over all inputs (Index arrays not counted)."""
    total = 0
    for a in inputs:
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                total += a.size
        elif isinstance(a, float):
            total += 1
    return total


# ---------------------------------------------------------------------------
# Self-check against central finite differences.


def _fd_grad(f: Callable[..., Any], args: list, i: int) -> Any:
    """Central differences of f w.r.t. args[i] (float or float array), float64."""
    x = args[i]
    if isinstance(x, float):
        h = 1e-6 * max(1.0, abs(x))
        hi = list(args)
        lo = list(args)
        hi[i] = x + h
        lo[i] = x - h
        return (float(f(*hi)) - float(f(*lo))) / (2 * h)
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    for k in range(flat.size):
        h = 1e-6 * max(1.0, abs(flat[k]))
        xp = flat.copy()
        xm = flat.copy()
        xp[k] += h
        xm[k] -= h
        hi = list(args)
        lo = list(args)
        hi[i] = xp.reshape(x.shape)
        lo[i] = xm.reshape(x.shape)
        g.reshape(-1)[k] = (float(f(*hi)) - float(f(*lo))) / (2 * h)
    return g


def rel_err(a, b) -> float:
    """max|a - b| / max|b|: the norm-wise relative error used throughout the bench."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    if scale == 0.0:
        return diff
    return diff / scale


def selfcheck(rtol: float = 1e-6, seed: int = 0) -> bool:
    ok = True
    for case in CASES:
        dims_list = [case.check_dims] if case.check_dims else []
        dims_list.append(case.sizes[0].dims)
        for dims in dims_list:
            args = list(case.inputs(dims, seed))
            # copies: the hand-written code must not modify its inputs
            before = [np.copy(a) for a in args]
            value, grads = case.vg(
                *[np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
            )
            grads = as_tuple(grads)
            fwd_value = case.fwd(*args)
            same_value = math.isclose(
                float(value), float(fwd_value), rel_tol=1e-12, abs_tol=1e-300
            )
            unchanged = all(np.array_equal(a, b) for a, b in zip(args, before))
            errs = []
            for gi, i in enumerate(case.wrt):
                fd = _fd_grad(case.fwd, args, i)
                errs.append(rel_err(grads[gi], fd))
                if np.shape(grads[gi]) != np.shape(args[i]):
                    errs[-1] = math.inf
            good = same_value and unchanged and max(errs) <= rtol
            ok &= good
            label = ",".join(f"{k}={v}" for k, v in dims.items()) or "scalar"
            print(
                f"{'ok  ' if good else 'FAIL'} {case.name:15s} {label:22s} "
                f"max rel err vs FD {max(errs):.1e}"
                + ("" if same_value else "  [forward value differs]")
                + ("" if unchanged else "  [inputs modified]")
            )
    print("selfcheck:", "all ok" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--selfcheck", action="store_true", help="check against finite differences"
    )
    args = ap.parse_args(argv)
    if not args.selfcheck:
        ap.print_help()
        return 0
    return 0 if selfcheck() else 1


if __name__ == "__main__":
    sys.exit(main())
