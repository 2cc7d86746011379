"""``f_hessian`` of one vector input through convolution and pooling (SPEC §2.1, issues
#17 and #19): the n unit tangents pushed together through ``f_hvp``'s conv and pool
nodes in one batched pass, the batch axis folded into the images (or the kernel's
filters or channels: ``ops/conv_batching.py``). Each case is checked against (a)
``f_hvp`` along each unit vector, (b) Richardson-extrapolated central differences of
``f_grad`` in float64 (``second_order.fd_hvp``), (c) symmetry; the emitted
``f_hessian`` has no loop over the unit vectors. The registry test lists the operations
with no batching rule, each for its reason."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import second_order as S

import gradc
from gradc.core.ir import Builder
from gradc.core.prim import PRIMS
from gradc.passes.batching import RULES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def check(m, name: str, args: list, pos: int) -> np.ndarray:
    """``f_hessian`` against f_hvp along each unit vector, differences of f_grad and
    its transpose; returns it."""
    H = getattr(m, f"{name}_hessian")(*args)
    n = np.size(args[pos])
    assert H.shape == (n, n)
    hvp = getattr(m, f"{name}_hvp")
    rows = np.stack([hvp(*args, e) for e in np.eye(n)])
    np.testing.assert_allclose(H, rows, rtol=1e-12, atol=1e-12)
    grad = getattr(m, f"{name}_grad")
    fd = np.stack([S.fd_hvp(grad, args, [pos], [e], 1e-4)[0] for e in np.eye(n)])
    scale = max(1.0, float(np.max(np.abs(fd))))
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12 * scale)
    assert np.any(np.abs(H) > 1e-3)  # a Hessian the batched pass had to compute
    return H


def hessian_source(text: str, name: str = "f") -> str:
    """The emitted ``<name>_hessian`` function's text."""
    at = text.index(f"\ndef {name}_hessian(")
    return text[at:].split("\n\n\ndef ")[0]


def one_pass(text: str, name: str = "f") -> None:
    """``f_hessian`` calls neither ``f_hvp`` nor a loop over the unit vectors."""
    source = hessian_source(text, name)
    assert "for " not in source
    assert f"{name}_hvp(" not in source
    assert "np.eye(" in source


def one_input(text: str, name: str, wrt: str) -> str:
    """An example's formula with ``name`` differentiated with respect to ``wrt`` only."""
    head = f"def {name}("
    at = text.index(head)
    before = text[:at]
    before = before[: before.rstrip().rindex("@wrt(")]
    return before + f"@wrt({wrt})\n" + text[at:]


# a bias vector through a conv, its output convolved again (the tangent's windows)
BIAS = """
@wrt(b)
def f(b: Vector[F], x: Tensor[N, C, H, W], w: Tensor[F, C, 3, 3],
      w2: Tensor[2, F, 2, 2]) -> Scalar:
    y = tanh(conv2d(x, w, stride={s}, pad={p}) + b[:, None, None])
    z = conv2d(y, w2, stride=1, pad={p})
    return sum(z * z * y[:, :1, :1, :1])
"""

# the vector is the kernel (flattened): a batched kernel, its gradient batched
KERNEL = """
@wrt(v)
def f(v: Vector[18], x: Tensor[2, 2, 5, 5]) -> Scalar:
    w = reshape(v, (1, 2, 3, 3))
    y = conv2d(x, w, stride={s}, pad={p})
    return sum(tanh(y) ** 2) + sum(y) ** 2
"""

# the vector is the image (flattened): batched windows, their gradient added back
IMAGE = """
@wrt(u)
def f(u: Vector[72], w: Tensor[3, 2, 3, 3]) -> Scalar:
    x = reshape(u, (1, 2, 6, 6))
    y = conv2d(x, w, stride={s}, pad={p})
    return sum(sin(y) * y) + sum(max_pool2d(y, 2, stride=1) ** 3)
"""

# both factors of the conv depend on the vector: a product of two batched values
BOTH = """
@wrt(v)
def f(v: Vector[8], x: Tensor[1, 2, 4, 4]) -> Scalar:
    w = reshape(v, (1, 2, 2, 2))
    y = conv2d(x * v[0], w, stride={s}, pad={p})
    return sum(y * y * y)
"""

# max pooling, ties kept when the bias moves (x has equal entries in each window)
MAX_TIES = """
@wrt(b)
def f(b: Vector[2], x: Tensor[2, 2, 4, 4], w: Tensor[2, 2, 3, 3]) -> Scalar:
    p = max_pool2d(x * (1.0 + b[0]) + b[:, None, None], 2)
    q = max_pool2d(tanh(conv2d(x, w, pad=1) + b[:, None, None]), 2, stride=1)
    return sum(p * p * p) + sum(tanh(p)) + sum(q * q * q)
"""

AVG = """
@wrt(b)
def f(b: Vector[2], x: Tensor[2, 2, 5, 5], w: Tensor[2, 2, 3, 3]) -> Scalar:
    y = sin(conv2d(x, w, stride=2, pad=1) + b[:, None, None])
    return sum(avg_pool2d(y * y, 2, stride=1) ** 3) + sum(avg_pool2d(x * b[0], 3) ** 2)
"""


def bias_args(rng):
    return [
        rng.normal(size=3),
        rng.normal(size=(2, 2, 5, 5)),
        rng.normal(size=(3, 2, 3, 3)) * 0.5,
        rng.normal(size=(2, 3, 2, 2)),
    ]


def tied(rng, shape):
    """Entries repeated in pairs along the last axis: every 2x2 window has a tie."""
    half = rng.normal(size=(*shape[:-1], shape[-1] // 2))
    return np.repeat(half, 2, axis=-1)


FORMULAS = [
    ("bias", BIAS, bias_args),
    (
        "kernel",
        KERNEL,
        lambda r: [r.normal(size=18) * 0.5, r.normal(size=(2, 2, 5, 5))],
    ),
    ("image", IMAGE, lambda r: [r.normal(size=72), r.normal(size=(3, 2, 3, 3)) * 0.5]),
    ("both", BOTH, lambda r: [r.normal(size=8) * 0.7, r.normal(size=(1, 2, 4, 4))]),
]


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("case", FORMULAS, ids=[c[0] for c in FORMULAS])
def test_conv_hessian(case, stride, pad, fuse):
    _, text, make = case
    text = text.format(s=stride, p=pad)
    m = gradc.load_source(text, fuse=fuse, hvp=True)
    check(m, "f", make(np.random.default_rng(stride + 2 * pad)), 0)
    one_pass(gradc.compile_source(text, fuse=fuse, hvp=True))


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_max_pool_ties(fuse):
    """Ties share the tangent, as they share the gradient; the ties stay when the bias
    moves, so the differences see the same convention."""
    rng = np.random.default_rng(1)
    x = tied(rng, (2, 2, 4, 4))
    args = [rng.normal(size=2) * 0.3, x, rng.normal(size=(2, 2, 3, 3)) * 0.4]
    m = gradc.load_source(MAX_TIES, fuse=fuse, hvp=True)
    check(m, "f", args, 0)
    one_pass(gradc.compile_source(MAX_TIES, fuse=fuse, hvp=True))


def test_avg_pool():
    m = gradc.load_source(AVG, hvp=True)
    rng = np.random.default_rng(2)
    args = [
        rng.normal(size=2),
        rng.normal(size=(2, 2, 5, 5)),
        rng.normal(size=(2, 2, 3, 3)),
    ]
    check(m, "f", args, 0)
    one_pass(gradc.compile_source(AVG, hvp=True))


def convnet_args(rng, F=2, C=1, H=4, W=4, D=3, M=3, N=2):
    return [
        rng.normal(size=(F, C, 7, 7)) * 0.3,
        rng.normal(size=F) * 0.3,
        rng.normal(size=(F * (H // 2) * (W // 2), D)) * 0.5,
        rng.normal(size=D) * 0.3,
        rng.normal(size=(D, M)) * 0.5,
        rng.normal(size=M) * 0.3,
        rng.normal(size=(N, C, H, W)),
        np.array([0, 2]),
        0.1,
    ]


def lenet_args(rng, F1=2, F2=2, D=3, N=1):
    return [
        rng.normal(size=(F1, 1, 5, 5)) * 0.2,
        rng.normal(size=F1) * 0.3,
        rng.normal(size=(F2, F1, 5, 5)) * 0.2,
        rng.normal(size=F2) * 0.3,
        rng.normal(size=(F2 * 4 * 4, D)) * 0.3,
        rng.normal(size=D) * 0.3,
        rng.normal(size=(D, 10)) * 0.3,
        rng.normal(size=10) * 0.3,
        rng.normal(size=(N, 1, 28, 28)),
        np.array([3]),
    ]


EXAMPLE_CASES = [
    ("convnet.grad", "convnet_loss", "b1", convnet_args, 1),
    ("lenet.grad", "lenet_loss", "b1", lenet_args, 1),
    ("lenet.grad", "lenet_loss", "b2", lenet_args, 3),
]


@pytest.mark.parametrize(
    "case", EXAMPLE_CASES, ids=[f"{c[1]}-{c[2]}" for c in EXAMPLE_CASES]
)
def test_example_hessian(case):
    """The examples' networks, one bias vector differentiated (symbolic sizes: the
    images N folded with the unit vectors' F as F * N)."""
    file, name, wrt, make, pos = case
    text = one_input((EXAMPLES / file).read_text(), name, wrt)
    m = gradc.load_source(text, hvp=True)
    check(m, name, make(np.random.default_rng(7)), pos)
    one_pass(gradc.compile_source(text, hvp=True), name)


def test_batched_conv_text():
    """The batch axis is folded into the images: the tangent's windows of F * N images,
    one ``_conv2d`` for all of them, split back after; a fold of an unfold is no
    reshape at all (the gradient's filter-major copy goes to ``_conv2d_dcols`` as it
    is: the transposes cancel, a reshape of a reshape is one)."""
    text = gradc.compile_source(BIAS.format(s=1, p=0), hvp=True)
    hess = hessian_source(text)
    for line in [
        "    v_b = np.eye(F)\n",
        "    z_t1 = _im2col(np.reshape(t_y, (F * N, F, H - 2, W - 2)), 2, 2, 1, 0)\n",
        "    t_z = np.reshape(_conv2d(z_t1, w2), (F, N, 2, H - 3, W - 3))\n",
        "    z_t3 = np.reshape(t_d_z, (F * N, 2, H - 3, W - 3))\n",
        "    z_t2 = np.ascontiguousarray(z_t3.transpose(1, 0, 2, 3))\n",
        "    z_t5 = _col2im(_conv2d_dcols(z_t2, w2), H - 2, W - 2, 1, 0)\n",
        "    z_t4 = np.reshape(z_t5, (F, N, F, H - 2, W - 2))\n",
    ]:
        assert line in hess


@pytest.mark.parametrize("case", FORMULAS, ids=[c[0] for c in FORMULAS])
def test_array_api_hessian(case):
    """The same batched conv nodes on the Array API target, run on array-api-strict."""
    xps = pytest.importorskip("array_api_strict")
    _, text, make = case
    text = text.format(s=2, p=1)
    m = gradc.load_source(text, target="array-api", hvp=True)
    ref = gradc.load_source(text, hvp=True)
    args = make(np.random.default_rng(0))
    H = m.f_hessian(*(xps.asarray(a) for a in args))
    np.testing.assert_allclose(
        np.asarray(H), ref.f_hessian(*args), rtol=1e-12, atol=1e-12
    )


# a product whose two factors are both batched (no f_hessian makes one: a tangent rule
# takes one tangent at a time), as the rule's einsum against per-row tensordots
PRODUCTS = {
    "conv2d": (
        [(2, 3, 3, 2, 4, 5), (4, 2, 3, 3)],
        lambda c, w: np.tensordot(w, c, axes=([1, 2, 3], [0, 1, 2])).transpose(
            1, 0, 2, 3
        ),
    ),
    "conv2d_dcols": (
        [(4, 2, 4, 5), (4, 2, 3, 3)],
        lambda g, w: np.tensordot(w, g, axes=([0], [0])),
    ),
    "conv2d_dw": (
        [(4, 2, 4, 5), (2, 3, 3, 2, 4, 5)],
        lambda g, c: np.tensordot(g, c, axes=([1, 2, 3], [3, 4, 5])),
    ),
}


@pytest.mark.parametrize("op", sorted(PRODUCTS))
def test_both_factors_batched(op):
    shapes, product = PRODUCTS[op]
    b = Builder()
    xs = [b.emit("param", name=f"x{k}", shape=s) for k, s in enumerate(shapes)]
    zs = [b.emit("param", name=f"z{k}", shape=(3, *s)) for k, s in enumerate(shapes)]
    node = b[b.emit(op, *xs)]
    out = b[PRIMS[op].batch(b, node, zs, [True, True])]
    assert out.op == "einsum" and out.shape == (3, *node.shape)
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(3, *s)) for s in shapes]
    want = np.stack([product(*(v[k] for v in values)) for k in range(3)])
    np.testing.assert_allclose(np.einsum(out.attr("spec"), *values), want, rtol=1e-12)


#: operations with no batching rule, each for its reason: leaves and constructors take
#: no argument, so no batched argument ever reaches them (``input_ref`` only inside a
#: fused body); ``pack`` is a temporary of fusing a loop body that no result reads
UNBATCHABLE = {
    "arange": "a leaf",
    "const": "a leaf",
    "dim": "a leaf",
    "param": "a leaf",
    "input_ref": "a fused body's input: no arguments",
    "eye": "no arguments",
    "tri": "no arguments",
    "ones": "no arguments",
    "zeros": "no arguments",
    "pack": "a temporary of fusion, read by no result",
    # made after f_hessian's batching, by ``passes/scalarise``
    "tolist": "made after batching",
    "element": "made after batching",
    "array_of": "made after batching",
}


def test_every_operation_batches():
    """Every operation with arguments has a batching rule (its own, the elementwise
    one, or the pass's for loops) but those listed in ``UNBATCHABLE``. The pipeline
    registers the last of them (the loops' rules, ``input_ref``) as it loads: loaded
    here, so the test holds when it runs alone."""
    importlib.import_module("gradc.pipeline")
    missing = sorted(
        name
        for name, p in PRIMS.items()
        if p.batch is None and not p.elementwise and name not in RULES
    )
    assert missing == sorted(UNBATCHABLE)
