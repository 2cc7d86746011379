"""Forward mode and second derivatives (SPEC §2.1): ``f_jvp``, ``f_hvp``, ``f_hessp`` and
``f_hessian``, compiled with ``--jvp``/``--hvp`` (API ``jvp=True``, ``hvp=True``).

Oracles, none sharing code with gradc: central differences of ``f`` (the tangent) and
of ``f_grad`` (the Hessian-vector product), SymPy's second derivatives of the examples'
hand-scalarised formulas (``test_examples_oracles``), SciPy's own Rosenbrock Hessian and
the closed-form Hessian of logistic regression. The language oracle runs every random
formula through the same checks (``tests/second_order.py``).
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import second_order as S
import sympy as sp
from test_examples_oracles import EXAMPLES, SEEDS, _point, _symbolise

import gradc

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def load(relpath: str, fuse: bool = True):
    return gradc.load_source(
        (ROOT / relpath).read_text(), filename=relpath, fuse=fuse, jvp=True, hvp=True
    )


def params(examples):
    return [
        pytest.param(ex, s, fuse, id=f"{ex.id}-seed{s}-{'fused' if fuse else 'nofuse'}")
        for ex in examples
        for s in SEEDS
        for fuse in (True, False)
    ]


def fd_directional(f, args, wrt, dirs, h=1e-6):
    """Central difference of ``f`` along ``dirs`` (one per position in ``wrt``)."""
    plus = S.moved(args, list(wrt), dirs, h)
    minus = S.moved(args, list(wrt), dirs, -h)
    return (np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * h)


@pytest.mark.parametrize(("ex", "seed", "fuse"), params(EXAMPLES))
def test_example_jvp_against_differences(ex, seed, fuse):
    mod = load(ex.file, fuse)
    args = _point(ex, seed)
    dirs = S.directions(np.random.default_rng(seed), args, list(ex.wrt))
    value, tangent = getattr(mod, ex.func + "_jvp")(*args, *dirs)
    f = getattr(mod, ex.func)
    assert value == pytest.approx(float(f(*args)), rel=1e-13)
    want = fd_directional(f, args, ex.wrt, dirs)
    assert tangent == pytest.approx(float(want), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize(("ex", "seed", "fuse"), params(EXAMPLES))
def test_example_hvp_against_differences_of_the_gradient(ex, seed, fuse):
    mod = load(ex.file, fuse)
    args = _point(ex, seed)
    why = S.check_hvp(mod, ex.func, args, list(ex.wrt), np.random.default_rng(seed))
    assert why is None, why


def sympy_hvp(ex, args, dirs):
    """H v of the example's hand-scalarised formula by SymPy: the gradient of
    ``grad(f) . v``, one symbol per entry."""
    sym_args, flat_syms, flat_vals = _symbolise(ex, args)
    expr = ex.sym(*sym_args)
    entries = [np.atleast_1d(sym_args[p]).ravel() for p in ex.wrt]
    vs = [np.ravel(d) for d in dirs]
    directional = sp.Add(
        *(
            sp.diff(expr, s) * float(v)
            for es, d in zip(entries, vs)
            for s, v in zip(es, d)
        )
    )
    outputs = [sp.diff(directional, s) for es in entries for s in es]
    # max(0, t)'' is a DiracDelta: 0 away from the kinks, where the points are
    modules = [{"DiracDelta": lambda *a: 0.0}, "numpy"]
    values = sp.lambdify(flat_syms, outputs, modules=modules)(*flat_vals)
    out, offset = [], 0
    for p in ex.wrt:
        size = int(np.size(args[p]))
        out.append(
            np.array(values[offset : offset + size], dtype=float).reshape(
                np.shape(args[p])
            )
        )
        offset += size
    return out


SMALL = [ex for ex in EXAMPLES if sum(np.size(a) for a in _point(ex, 0)) <= 30]


@pytest.mark.parametrize(("ex", "seed", "fuse"), params(SMALL))
def test_example_hvp_against_sympy(ex, seed, fuse):
    mod = load(ex.file, fuse)
    args = _point(ex, seed)
    dirs = S.directions(np.random.default_rng(seed + 5), args, list(ex.wrt))
    got = S.as_list(getattr(mod, ex.func + "_hvp")(*args, *dirs), len(ex.wrt))
    want = sympy_hvp(ex, args, dirs)
    for g, w, p in zip(got, want, ex.wrt, strict=True):
        assert g.shape == np.shape(args[p])
        np.testing.assert_allclose(
            g,
            w,
            rtol=1e-9,
            atol=1e-9 * max(1.0, float(np.max(np.abs(w)))),
            err_msg=f"{ex.id}: H v for {ex.names[p]}",
        )


@pytest.mark.parametrize(("ex", "seed", "fuse"), params(EXAMPLES))
def test_example_hessian_is_symmetric_and_matches_hvp(ex, seed, fuse):
    mod = load(ex.file, fuse)
    hessian = getattr(mod, ex.func + "_hessian", None)
    args = _point(ex, seed)
    if hessian is None:  # emitted for exactly one differentiated input, () or (n,)
        assert len(ex.wrt) > 1 or np.ndim(args[ex.wrt[0]]) > 1
        pytest.skip(f"{ex.id}: no f_hessian (inputs {ex.wrt})")
    H = np.asarray(hessian(*args))
    v = np.random.default_rng(seed).normal(size=np.shape(args[ex.wrt[0]]))
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12 * np.abs(H).max())
    hv = getattr(mod, ex.func + "_hvp")(*args, v)
    np.testing.assert_allclose(H @ v, hv, rtol=1e-10, atol=1e-10 * np.abs(hv).max())


# ----------------------------------------------------------------------------- SciPy


def iterations(hessp, n=30):
    x0 = np.linspace(-1.2, 1.2, n)
    res = scipy.optimize.minimize(
        scipy.optimize.rosen,
        x0,
        jac=scipy.optimize.rosen_der,
        hessp=hessp,
        method="trust-krylov",
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(n), atol=1e-6)
    return res.nit


def test_rosenbrock_trust_krylov_like_scipy():
    mod = load("examples/rosenbrock.grad")
    ours = iterations(mod.rosen_hessp)
    theirs = iterations(scipy.optimize.rosen_hess_prod)
    assert abs(ours - theirs) <= 2, (ours, theirs)
    x = np.random.default_rng(0).uniform(-2, 2, 30)
    p = np.random.default_rng(1).normal(size=30)
    np.testing.assert_allclose(
        mod.rosen_hessp(x, p), scipy.optimize.rosen_hess_prod(x, p), rtol=1e-13
    )
    np.testing.assert_allclose(
        mod.rosen_hessian(x), scipy.optimize.rosen_hess(x), rtol=1e-13, atol=1e-12
    )


def logistic_data(n=40, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.normal(size=d)))).astype(float)
    return rng.normal(size=d), X, y, 0.05


def test_logistic_hessian_is_its_closed_form():
    mod = load("examples/logistic.grad")
    w, X, y, lam = logistic_data()
    p = 1 / (1 + np.exp(-X @ w))
    want = X.T @ np.diag(p * (1 - p)) @ X / len(y) + 2 * lam * np.eye(len(w))
    np.testing.assert_allclose(
        mod.logistic_newton_hessian(w, X, y, lam), want, rtol=1e-12
    )
    v = np.random.default_rng(3).normal(size=len(w))
    np.testing.assert_allclose(
        mod.logistic_newton_hessp(w, v, X, y, lam), want @ v, rtol=1e-12
    )


def test_logistic_newton_cg_with_hessp_args():
    mod = load("examples/logistic.grad")
    w0, X, y, lam = logistic_data(n=200, d=6, seed=2)
    res = scipy.optimize.minimize(
        mod.logistic_newton_value_and_grad,
        np.zeros_like(w0),
        jac=True,
        hessp=mod.logistic_newton_hessp,
        args=(X, y, lam),
        method="Newton-CG",
    )
    assert res.success, res.message
    assert np.abs(mod.logistic_newton_grad(res.x, X, y, lam)).max() < 1e-6
    assert res.nit <= 10


# ----------------------------------------------------------------------------- conventions


CONVENTIONS = """
def relu_sq(x: Vector[n]) -> Scalar:
    return sum(relu(x) * x)

def absolute(x: Vector[n]) -> Scalar:
    return sum(abs(x))

def guarded(x: Vector[n]) -> Scalar:
    return sum(where(x > 0, x * log(x), 0))

def guarded_sqrt(x: Vector[n]) -> Scalar:
    return sum(where(x > 0, sqrt(x) ** 3, 0.0))
"""


@pytest.mark.parametrize("fuse", [True, False])
def test_second_derivatives_at_kinks(fuse):
    mod = gradc.load_source(CONVENTIONS, fuse=fuse, jvp=True, hvp=True)
    x = np.array([-1.0, 0.0, 2.0])
    v = np.array([1.0, 1.0, 1.0])
    # relu(x) * x = x**2 for x > 0: H = diag(2 [x > 0]), and relu''(0) = 0
    np.testing.assert_array_equal(mod.relu_sq_hessian(x), np.diag([0.0, 0.0, 2.0]))
    # abs'' = 0 everywhere, at 0 too
    np.testing.assert_array_equal(mod.absolute_hvp(x, v), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(mod.absolute_hessian(x), np.zeros((3, 3)))
    # where never leaks the untaken branch's NaN or inf into an HVP: (x log x)'' = 1 / x
    hv = mod.guarded_hvp(x, v)
    np.testing.assert_allclose(hv, [0.0, 0.0, 0.5], rtol=1e-15)
    np.testing.assert_allclose(
        mod.guarded_hessian(x), np.diag([0.0, 0.0, 0.5]), rtol=1e-15
    )
    _, t = mod.guarded_jvp(x, v)
    assert np.isfinite(t)
    # (x ** 1.5)'' = 0.75 / sqrt(x), and 0 where the branch is not taken (x = 0 included)
    hv = mod.guarded_sqrt_hvp(x, v)
    np.testing.assert_allclose(hv, [0.0, 0.0, 0.75 / np.sqrt(2.0)], rtol=1e-14)


def test_scalar_build_second_derivatives_against_sympy():
    src = """
def s(a: Scalar, b: Scalar) -> Scalar:
    return exp(a * b) + sin(a) / b + sigmoid(a - b)

@wrt(a)
def one(a: Scalar, b: Scalar) -> Scalar:
    return tanh(a * b) * a
"""
    mod = gradc.load_source(src, jvp=True, hvp=True)
    a, b = sp.symbols("a b")
    f = sp.exp(a * b) + sp.sin(a) / b + 1 / (1 + sp.exp(-(a - b)))
    at = {a: 0.3, b: 0.7}
    H = sp.hessian(f, (a, b)).subs(at)
    u, w = 0.4, -1.3
    ha, hb = mod.s_hvp(0.3, 0.7, u, w)
    assert isinstance(ha, float) and isinstance(hb, float)
    assert ha == pytest.approx(float(H[0, 0] * u + H[0, 1] * w), rel=1e-13)
    assert hb == pytest.approx(float(H[1, 0] * u + H[1, 1] * w), rel=1e-13)
    value, t = mod.s_jvp(0.3, 0.7, u, w)
    assert value == pytest.approx(float(f.subs(at)), rel=1e-14)
    assert t == pytest.approx(
        float(sp.diff(f, a).subs(at) * u + sp.diff(f, b).subs(at) * w), rel=1e-13
    )
    g = sp.tanh(a * b) * a
    h = mod.one_hessian(0.3, 0.7)
    assert isinstance(h, float)
    assert h == pytest.approx(float(sp.diff(g, a, 2).subs(at)), rel=1e-13)
    assert mod.one_hessp(0.3, 2.0, 0.7) == pytest.approx(2 * h, rel=1e-14)


def test_jvp_of_array_output_and_input_checks():
    src = """
def layer(W: Matrix[m, n], x: Vector[n]) -> Vector[m]:
    return tanh(W @ x)
"""
    mod = gradc.load_source(src, jvp=True, hvp=True)
    assert not hasattr(mod, "layer_hvp")  # second order: scalar functions only
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    tW, tx = rng.normal(size=(3, 4)), rng.normal(size=4)
    value, t = mod.layer_jvp(W, x, tW, tx)
    np.testing.assert_allclose(value, np.tanh(W @ x), rtol=1e-15)
    want = (1 - np.tanh(W @ x) ** 2) * (tW @ x + W @ tx)
    np.testing.assert_allclose(t, want, rtol=1e-13)
    with pytest.raises(ValueError, match="t_x"):
        mod.layer_jvp(W, x, tW, np.ones(5))


def test_sympy_input_second_derivatives():
    x, y = sp.symbols("x y")
    expr = sp.exp(x * y) + x**3 * sp.log(y)
    mod = gradc.load_sympy(expr, [x, y], wrt=[x], hvp=True, jvp=True)
    got = mod.f_hessian(0.5, 2.0)
    assert got == pytest.approx(
        float(sp.diff(expr, x, 2).subs({x: 0.5, y: 2.0})), rel=1e-13
    )


def test_flags_change_nothing_else():
    text = (ROOT / "examples/twolayer.grad").read_text()
    plain = gradc.compile_source(text, filename="examples/twolayer.grad")
    both = gradc.compile_source(
        text, filename="examples/twolayer.grad", jvp=True, hvp=True
    )
    assert both.startswith(
        plain.rstrip("\n").rsplit("\n\n\ndef twolayer_loss_grad", 1)[0]
    )
    for name in ("_jvp", "_hvp", "_hessp", "_hessian"):
        assert f"def twolayer_loss{name}(" not in plain
    assert "def twolayer_loss_jvp(" in both and "def twolayer_loss_hvp(" in both
    # four differentiated inputs: no f_hessp (SciPy's x is one input), no f_hessian
    assert "def twolayer_loss_hessp(" not in both
    assert "def twolayer_loss_hessian(" not in both


# forward mode does not go through loops yet (a located error, tests/test_loops.py)
EXAMPLE_FILES = sorted(
    p for p in (ROOT / "examples").glob("*.grad") if "\n    for " not in p.read_text()
)


def test_emitted_second_order_code_is_reviewable(tmp_path):
    """Deterministic, ruff-clean, every statement citing its formula line, tangents named
    ``t_``/``v_``, the Hessian one batched pass (np.eye, no Python loop)."""
    paths = []
    for ex in EXAMPLE_FILES:
        out = tmp_path / (ex.stem + ".py")
        cmd = [
            sys.executable,
            str(ROOT / "cli.py"),
            "compile",
            "--jvp",
            "--hvp",
            str(ex.relative_to(ROOT)),
            "-o",
            str(out),
        ]
        subprocess.run(cmd, check=True, cwd=ROOT)
        again = gradc.compile_file(ex.relative_to(ROOT), jvp=True, hvp=True)
        assert out.read_text() == again
        paths.append(out)
    for cmd in (
        ["ruff", "check", "--no-cache"],
        ["ruff", "format", "--check", "--no-cache"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", *cmd, *map(str, paths)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert r.returncode == 0, r.stdout + r.stderr
    rosen = (tmp_path / "rosenbrock.py").read_text()
    body = rosen[rosen.index("def rosen_hessian(") :]
    assert "np.eye(n)" in body and "for " not in body.split('"""')[2]
    hvp = rosen[rosen.index("def rosen_hvp(") : rosen.index("def rosen_hessp(")]
    assert "v_x" in hvp and "# line 6: " in hvp
    assert "def rosen_hessp(x, p):" in rosen and "return rosen_hvp(x, p)" in rosen


BATCHING = """
@wrt(x)
def rows(x: Vector[k], S: Tensor[s, k, m]) -> Scalar:
    return sum(tanh(x @ S) ** 2)

@wrt(x)
def columns(x: Vector[k], S: Tensor[s, m, k]) -> Scalar:
    return sum(sin(S @ x) * (S @ x))

@wrt(x)
def gathered(x: Vector[n], W: Tensor[n, a, b], i: Index[k], j: Index[k]) -> Scalar:
    T = x[:, None, None] * W
    return sum(T[i, :, j] ** 3)

@wrt(x)
def stacked(x: Vector[n], W: Matrix[n, n]) -> Scalar:
    h = concatenate([x * x, W @ x])
    return logsumexp(stack([h, exp(h)], axis=1)) + mean(softmax(outer(x, x), axis=0) * W)
"""


@pytest.mark.parametrize("fuse", [True, False])
def test_hessian_batches_every_product_and_gather(fuse):
    """f_hessian's one batched pass through a vector times a stack of matrices, a stack
    times a vector, a gather whose gathered axes NumPy puts first, concatenate, stack,
    outer and softmax: against differences of f_grad and f_hvp."""
    mod = gradc.load_source(BATCHING, fuse=fuse, hvp=True)
    rng = np.random.default_rng(4)
    cases = {
        "rows": (rng.normal(size=4), rng.normal(size=(3, 4, 5))),
        "columns": (rng.normal(size=4), rng.normal(size=(3, 5, 4))),
        "gathered": (
            rng.normal(size=4),
            rng.normal(size=(4, 2, 3)),
            np.array([0, 3, 1, 3]),
            np.array([2, 0, 1, 1]),
        ),
        "stacked": (rng.normal(size=3), rng.normal(size=(3, 3))),
    }
    for name, args in cases.items():
        H = getattr(mod, f"{name}_hessian")(*args)
        v = rng.normal(size=np.shape(args[0]))
        hv = getattr(mod, f"{name}_hvp")(*args, v)
        np.testing.assert_allclose(H @ v, hv, rtol=1e-12, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12, err_msg=name)
        fd = S.fd_hvp(getattr(mod, f"{name}_grad"), list(args), [0], [v], 1e-6)[0]
        np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-6, err_msg=name)


CONV = """
@wrt(x, w)
def pooled(x: Tensor[2, 2, 5, 6], w: Tensor[3, 2, 3, 3]) -> Scalar:
    h = tanh(conv2d(x, w, stride=2, pad=1))
    return sum(max_pool2d(h, 2, stride=1) ** 2) + sum(avg_pool2d(h * h, 2) * h[:, :, :1, :1])
"""


def convnet_args(rng, N=2, C=2, H=6, W=6, F=3, D=5, M=4):
    return [
        0.3 * rng.normal(size=(F, C, 7, 7)),
        0.1 * rng.normal(size=F),
        0.3 * rng.normal(size=(F * (H // 2) * (W // 2), D)),
        0.1 * rng.normal(size=D),
        0.3 * rng.normal(size=(D, M)),
        0.1 * rng.normal(size=M),
        rng.normal(size=(N, C, H, W)),
        rng.integers(0, M, size=N),
        0.05,
    ]


@pytest.mark.parametrize("fuse", [True, False])
def test_convolution_and_pooling_second_order(fuse):
    """Tangents through conv2d (bilinear), im2col and col2im (linear), max_pool2d (the
    mean over each window's maxima; overlapping windows here) and avg_pool2d: f_jvp and
    f_hvp against differences, on a formula and on the CS231n convnet example."""
    rng = np.random.default_rng(7)
    mod = gradc.load_source(CONV, fuse=fuse, jvp=True, hvp=True)
    args = [rng.normal(size=(2, 2, 5, 6)), 0.5 * rng.normal(size=(3, 2, 3, 3))]
    dirs = S.directions(rng, args, [0, 1])
    value = mod.pooled(*args)
    dd = fd_directional(mod.pooled, args, (0, 1), dirs)
    assert S.check_jvp(mod, "pooled", args, [0, 1], dirs, value, dd) is None
    why = S.check_hvp(mod, "pooled", args, [0, 1], rng)
    assert why is None, why
    net = load("examples/convnet.grad", fuse)
    args = convnet_args(rng)
    wrt = list(range(6))
    dirs = S.directions(rng, args, wrt)
    value = net.convnet_loss(*args)
    dd = fd_directional(net.convnet_loss, args, wrt, dirs)
    assert S.check_jvp(net, "convnet_loss", args, wrt, dirs, value, dd) is None
    why = S.check_hvp(net, "convnet_loss", args, wrt, rng)
    assert why is None, why


# A sum of an indexed part with a constant local gradient: its adjoint adds a scalar into
# the part (``d_x[1:] += -2.0 * g``, NumPy broadcasting it). Batched for ``f_hessian``, the
# scalar became one value per tangent, (k,), added into (k, len): a ValueError at run
# time (a named size) or in the scalar build's compile (a literal one), for every part but
# the whole vector; the language oracle's empty-slice family found it (x[2:2], seed 983).
PART_HESSIAN = """\
def f(x: Vector[{dim}]) -> Scalar:
    s = sum(-(x[{part}]) * 2.0) + sum(x * x)
    return s * s
"""
PARTS = {
    "1:": np.s_[1:],
    ":-1": np.s_[:-1],
    "3:1": np.s_[3:1],
    "2:2": np.s_[2:2],
    "::2": np.s_[::2],
    "1:3": np.s_[1:3],
    "1": 1,
    "-1": -1,
    ":": np.s_[:],
}


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "nofuse"])
@pytest.mark.parametrize("dim", ["4", "n"])
@pytest.mark.parametrize("part", PARTS)
def test_hessian_of_a_sum_of_an_indexed_part(part, dim, fuse):
    mod = gradc.load_source(
        PART_HESSIAN.format(dim=dim, part=part), fuse=fuse, jvp=True, hvp=True
    )
    x = np.array([0.3, -0.7, 1.1, 0.4])
    picked = np.zeros(4)
    picked[PARTS[part]] = 1.0
    # f = s ** 2 with s = -2 sum(x[part]) + x . x: H = 2 grad(s) grad(s)^T + 2 s (2 I)
    s = -2.0 * picked @ x + x @ x
    grad_s = -2.0 * picked + 2.0 * x
    want = 2.0 * np.outer(grad_s, grad_s) + 4.0 * s * np.eye(4)
    np.testing.assert_allclose(mod.f_hessian(x), want, rtol=1e-13, atol=1e-13)
    for k, v in enumerate(np.eye(4)):
        np.testing.assert_allclose(mod.f_hvp(x, v), want[k], rtol=1e-13, atol=1e-13)
