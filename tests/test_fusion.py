"""Fusion and stability: fused and unfused modules agree; stable ops stay finite and exact.

- Fused (default) and ``fuse=False`` modules agree to rho <= 1e-10, with
  rho = |a - b| / max(1, |a| + |b|), on every example and on a random corpus.
- The stability suite evaluates the recognised and stable primitives at extreme
  inputs and compares values and gradients with mpmath at 50 digits (rho <= 1e-12).
"""

from __future__ import annotations

import random
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from gradc import compile_source, load_source
from gradc.symbolic import body

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.grad"))
RHO_FUSED = 1e-10
RHO_STABLE = 1e-12


def rho(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    assert np.array_equal(np.isfinite(a), np.isfinite(b)), (a, b)
    if not both.any():
        return 0.0
    a, b = a[both], b[both]
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b))))


def as_list(grads):
    return list(grads) if isinstance(grads, tuple) else [grads]


# ---------------------------------------------------------------- examples

EXAMPLE_POINTS = {
    "mul_add": lambda r: [r.normal(), r.normal(), r.normal()],
    "neuron": lambda r: list(r.normal(size=5)),
    "sq_norm": lambda r: [r.normal(size=(4, 4)), r.normal(size=4)],
    "softmax_loss": lambda r: [
        r.normal(size=(5, 3)),
        r.normal(size=(6, 5)),
        r.integers(0, 3, size=6),
        0.1,
    ],
    "svm_loss": lambda r: [
        r.normal(size=(5, 3)),
        r.normal(size=(6, 5)),
        r.integers(0, 3, size=6),
        0.1,
    ],
    "twolayer_loss": lambda r: [
        r.normal(size=(5, 4)),
        r.normal(size=4),
        r.normal(size=(4, 3)),
        r.normal(size=3),
        r.normal(size=(6, 5)),
        r.integers(0, 3, size=6),
        0.05,
    ],
    "logistic_loss": lambda r: [
        r.normal(size=4),
        0.3,
        r.normal(size=(6, 4)),
        r.integers(0, 2, size=6).astype(float),
        0.1,
    ],
    "logistic_newton": lambda r: [
        r.normal(size=4),
        r.normal(size=(6, 4)),
        r.integers(0, 2, size=6).astype(float),
        0.1,
    ],
    "swish_sum": lambda r: [r.normal(size=7)],
    "rosen": lambda r: [r.normal(size=6)],
    "convnet_loss": lambda r: [
        r.normal(size=(2, 3, 7, 7)) * 0.3,
        r.normal(size=2),
        r.normal(size=(2 * 3 * 2, 4)),
        r.normal(size=4),
        r.normal(size=(4, 3)),
        r.normal(size=3),
        r.normal(size=(2, 3, 6, 5)),
        r.integers(0, 3, size=2),
        0.05,
    ],
    "lenet_loss": lambda r: [
        r.normal(size=(2, 1, 5, 5)) * 0.3,
        r.normal(size=2),
        r.normal(size=(3, 2, 5, 5)) * 0.3,
        r.normal(size=3),
        r.normal(size=(3 * 4 * 4, 4)) * 0.3,
        r.normal(size=4),
        r.normal(size=(4, 10)),
        r.normal(size=10),
        r.normal(size=(2, 1, 28, 28)),
        r.integers(0, 10, size=2),
    ],
    "rnn_step": lambda r: [
        r.normal(size=(3, 4)),
        r.normal(size=(3, 2)),
        r.normal(size=(4, 2)),
        r.normal(size=(2, 2)),
        r.normal(size=2),
    ],
    "rnn_loss": lambda r: [
        r.normal(size=(2, 3, 4)),
        r.normal(size=(2, 3)),
        r.normal(size=(4, 3)) * 0.5,
        r.normal(size=(3, 3)) * 0.5,
        r.normal(size=3),
        r.normal(size=(2, 3, 3)),
    ],
    "lstm_loss": lambda r: [
        r.normal(size=(2, 3, 4)),
        r.normal(size=(2, 2)),
        r.normal(size=(4, 8)) * 0.5,
        r.normal(size=(2, 8)) * 0.5,
        r.normal(size=8),
        r.normal(size=(2, 3, 2)),
    ],
    "captioning_loss": lambda r: [
        r.integers(0, 5, size=(2, 3)),
        r.integers(0, 5, size=(2, 3)),
        np.ones((2, 3)),
        r.normal(size=(2, 3)),
        r.normal(size=(5, 4)),
        r.normal(size=(4, 3)) * 0.5,
        r.normal(size=(3, 3)) * 0.5,
        r.normal(size=3),
        r.normal(size=(3, 5)),
        r.normal(size=5),
    ],
    "oscillator_fit": lambda r: [1.2, 0.3, 0.5, -0.1, r.normal(size=5)],
}


def example_functions():
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        fused = load_source(text, filename=path.name)
        unfused = load_source(text, filename=path.name, fuse=False)
        for name, point in EXAMPLE_POINTS.items():
            if hasattr(fused, name + "_value_and_grad"):
                yield pytest.param(fused, unfused, name, point, id=name)


def test_every_example_function_is_covered():
    covered = {p.id for p in example_functions()}
    exported = set()
    for path in EXAMPLES:
        module = load_source(path.read_text(encoding="utf-8"), filename=path.name)
        exported |= {
            k[: -len("_value_and_grad")]
            for k in vars(module)
            if k.endswith("_value_and_grad")
        }
    assert exported == covered


@pytest.mark.parametrize(
    ("fused", "unfused", "name", "point"), list(example_functions())
)
def test_fused_and_unfused_examples_agree(fused, unfused, name, point):
    for seed in range(3):
        args = point(np.random.default_rng(seed))
        v1, g1 = getattr(fused, name + "_value_and_grad")(*args)
        v2, g2 = getattr(unfused, name + "_value_and_grad")(*args)
        assert rho(v1, v2) <= RHO_FUSED
        for a, b in zip(as_list(g1), as_list(g2), strict=True):
            assert rho(a, b) <= RHO_FUSED


def test_fusion_changes_the_code():
    text = (ROOT / "examples" / "lecture.grad").read_text(encoding="utf-8")
    assert compile_source(text) != compile_source(text, fuse=False)


def test_neuron_backward_reads_like_the_lecture():
    text = (ROOT / "generated" / "lecture.py").read_text(encoding="utf-8")
    backward = text.split("def neuron_backward", 1)[1].split("\ndef ", 1)[0]
    # The sigmoid is one node whose local gradient reuses its output f: s * (1 - s).
    assert "d_s = d_f * f * (1.0 - f)" in backward
    unfused = compile_source(
        (ROOT / "examples" / "lecture.grad").read_text(), fuse=False
    )
    # Unfused, the backward walks the gates one by one (through the cached exp(-s)).
    assert (
        "(1.0 - f)"
        not in unfused.split("def neuron_backward", 1)[1].split("\ndef ", 1)[0]
    )


def test_fused_notes_name_unnamed_inputs_by_a_short_expression():
    text = (
        "@wrt(w, b)\n"
        "def f(w: Vector[d], b: Scalar, X: Matrix[n, d], y: Vector[n]) -> Scalar:\n"
        "    return -mean(y * log(sigmoid(X @ w + b)))\n"
    )
    src = compile_source(text)
    assert "# fused mul: local gradients share y*(sigmoid((X @ w) + b) - 1)" in src, src
    assert "(matmul)" not in src


# ---------------------------------------------------------------- random corpus

UNARY = [
    "exp({})",
    "tanh({})",
    "sigmoid({})",
    "sin({})",
    "log(1 + {} ** 2)",
    "softplus({})",
    "sqrt(1 + {} ** 2)",
    "cos({})",
    "log1p({} ** 2)",
    "expm1({})",
]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1 + {} ** 2)"]


def random_expr(rng: random.Random, depth: int, names: list[str]) -> str:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(names + ["0.5", "2"])
    if rng.random() < 0.5:
        return "(" + rng.choice(UNARY).format(random_expr(rng, depth - 1, names)) + ")"
    a, b = random_expr(rng, depth - 1, names), random_expr(rng, depth - 1, names)
    return "(" + rng.choice(BINARY).format(a, b) + ")"


def random_formula(seed: int) -> str:
    rng = random.Random(seed)
    lines = ["def f(x: Vector[n], y: Vector[n], s: Scalar) -> Scalar:"]
    names = ["x", "y", "s"]
    for k in range(rng.randint(1, 3)):
        lines.append(f"    t{k} = {random_expr(rng, 3, names)}")
        names.append(f"t{k}")
    lines.append(f"    return sum({random_expr(rng, 2, names)} + 0 * x)")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(40))
def test_fused_and_unfused_agree_on_random_formulas(seed):
    text = random_formula(seed)
    fused, unfused = load_source(text), load_source(text, fuse=False)
    r = np.random.default_rng(seed)
    args = [r.normal(size=5), r.normal(size=5), float(r.normal())]
    with np.errstate(all="ignore"):
        v1, g1 = fused.f_value_and_grad(*args)
        v2, g2 = unfused.f_value_and_grad(*args)
    assert rho(v1, v2) <= RHO_FUSED, text
    for a, b in zip(g1, g2, strict=True):
        assert rho(a, b) <= RHO_FUSED, text


# ---------------------------------------------------------------- stability suite

mpmath.mp.dps = 50
# +-800: exp overflows; -700 / -709.5 / -745: either side of the scalar sigmoid's switch to
# exp(x) and of exp's overflow and underflow; 37, 18, 33.3: 1 - sigmoid cancels.
POINTS = [
    800.0,
    -800.0,
    37.0,
    -37.0,
    18.0,
    33.3,
    1e-300,
    -1e-300,
    -700.0,
    -709.5,
    -745.0,
]


def m_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


SCALAR_CASES = {
    "log(sigmoid(x))": lambda x: mpmath.log(m_sigmoid(x)),
    "log(1 - sigmoid(x))": lambda x: mpmath.log(1 - m_sigmoid(x)),
    "log(1 + exp(x))": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "sigmoid(x)": m_sigmoid,
    "softplus(x)": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "1 / (1 + exp(-x))": m_sigmoid,
}


def reference(f, x: float) -> tuple[float, float]:
    """Value and derivative at enough digits that no cancellation (1 - sigmoid(800)) hurts."""
    with mpmath.workdps(1000):
        xm = mpmath.mpf(x)
        return float(f(xm)), float(mpmath.diff(f, xm))


@pytest.mark.parametrize("formula", list(SCALAR_CASES))
def test_stable_scalar_functions(formula):
    module = load_source(f"def f(x: Scalar) -> Scalar:\n    return {formula}\n")
    for x in POINTS:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            value, grad = module.f_value_and_grad(x)
        want_v, want_g = reference(SCALAR_CASES[formula], x)
        assert np.isfinite(value) and np.isfinite(grad), (formula, x, value, grad)
        assert rho(value, want_v) <= RHO_STABLE, (formula, x, value, want_v)
        assert rho(grad, want_g) <= RHO_STABLE, (formula, x, grad, want_g)


def m_logsumexp(v):
    return mpmath.log(sum(mpmath.exp(t) for t in v))


VECTOR_CASES = {
    "logsumexp(x)": (m_logsumexp, None),
    "log(sum(exp(x)))": (m_logsumexp, None),
    "softmax(x)[0]": (lambda v: mpmath.exp(v[0]) / sum(mpmath.exp(t) for t in v), None),
    "log_softmax(x)[1]": (lambda v: v[1] - m_logsumexp(v), None),
    "log(softmax(x))[1]": (lambda v: v[1] - m_logsumexp(v), None),
    "-log_softmax(x * 1e4)[2]": (
        lambda v: -(v[2] * 10**4 - m_logsumexp([t * 10**4 for t in v])),
        None,
    ),
    "sum(sigmoid(x))": (lambda v: sum(m_sigmoid(t) for t in v), None),
    "sum(softplus(x))": (lambda v: sum(mpmath.log(1 + mpmath.exp(t)) for t in v), None),
    "sum(log(sigmoid(x)))": (lambda v: sum(mpmath.log(m_sigmoid(t)) for t in v), None),
    "logsumexp(x * 1e4) - x[2] * 1e4": (
        lambda v: m_logsumexp([t * 10**4 for t in v]) - v[2] * 10**4,
        None,
    ),
}


def vector_points():
    for x in POINTS:
        yield [x, 0.0, -x / 2]
    yield [1.0, -1.0, 0.5]
    yield [-1.0, 1.0, 1.0]


@pytest.mark.parametrize("formula", list(VECTOR_CASES))
def test_stable_vector_functions(formula):
    f, _ = VECTOR_CASES[formula]
    module = load_source(f"def f(x: Vector[3]) -> Scalar:\n    return {formula}\n")
    for v in vector_points():
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            value, grad = module.f_value_and_grad(np.array(v))
        with mpmath.workdps(1000):
            xm = [mpmath.mpf(t) for t in v]
            want_v = float(f(xm))
            want_g = [
                float(
                    mpmath.diff(
                        lambda t, k=k, xm=xm: f(xm[:k] + [t] + xm[k + 1 :]), xm[k]
                    )
                )
                for k in range(3)
            ]
        assert np.all(np.isfinite(grad)) and np.isfinite(value), (
            formula,
            v,
            value,
            grad,
        )
        assert rho(value, want_v) <= RHO_STABLE, (formula, v, value, want_v)
        assert rho(grad, want_g) <= RHO_STABLE, (formula, v, grad, want_g)


# ------------------------------------------- SymPy's simplify on a local gradient

# tests/language_gen.py, seed 10214: the local gradient of line 2 holds
# 1 / sqrt(tanh(2 - x3 + 0.5) + 1.5), on which sympy.simplify ran for minutes (its
# trigsimp expands tanh of a sum); gradc.symbolic.body.simplified holds the argument
TANH_OF_A_SUM = """\
def f(x1: Scalar, x2: Scalar, x3: Scalar) -> Scalar:
    t4 = sqrt((1.5 + tanh(((2.0) - (x3)) + (relu(0.5)))))
    t4 *= cos(t4)
    t5 = t4
    return t5 * tanh(t5) + t5
"""


def trig_calls_of_compound_arguments(expr) -> list:
    """The trigonometric and hyperbolic calls in ``expr`` whose argument is no symbol."""
    kinds = (
        sympy.functions.elementary.trigonometric.TrigonometricFunction,
        sympy.functions.elementary.hyperbolic.HyperbolicFunction,
    )
    return [
        e
        for e in sympy.preorder_traversal(expr)
        if isinstance(e, kinds) and not e.args[0].is_Symbol
    ]


def test_simplify_never_sees_a_trig_call_of_a_sum(monkeypatch):
    seen = []
    real = sympy.simplify

    def guarded(expr, *args, **kwargs):
        bad = trig_calls_of_compound_arguments(expr)
        assert not bad, f"sympy.simplify given {bad}: its trigsimp has no bound there"
        seen.append(expr)
        return real(expr, *args, **kwargs)

    monkeypatch.setattr(sympy, "simplify", guarded)
    body.local_gradient.cache_clear()
    compile_source(TANH_OF_A_SUM)
    held = [e for e in seen if any(s.name.startswith("_u") for s in e.free_symbols)]
    assert held, "no local gradient of the formula held an argument"
    # the held argument is put back: the result is the same function of a0, a1
    a0, a1 = sympy.symbols("a0 a1", real=True)
    d = 1 / sympy.sqrt(sympy.tanh(a1 - a0 + 2) + sympy.Float(1.5))
    s = body.simplified(d)
    assert not any(sym.name.startswith("_u") for sym in s.free_symbols)
    for p, q in [(0.3, -1.2), (2.0, 0.5), (-4.0, 3.0)]:
        point = {a0: p, a1: q}
        assert abs(float(s.subs(point)) - float(d.subs(point))) <= 1e-14


def test_tanh_of_a_sum_gradient_by_finite_differences():
    for fuse in (True, False):
        mod = load_source(TANH_OF_A_SUM, fuse=fuse)
        for x3 in (-2.0, 0.3, 1.7, 4.0):
            args = [0.4, -0.8, x3]
            g = mod.f_grad(*args)
            h = 1e-6
            fd = (mod.f(0.4, -0.8, x3 + h) - mod.f(0.4, -0.8, x3 - h)) / (2 * h)
            assert g[0] == 0.0 and g[1] == 0.0
            assert abs(g[2] - fd) <= 1e-7 * max(1.0, abs(fd)), (fuse, x3, g, fd)


def test_a_large_integer_power_is_neither_expanded_nor_simplified():
    """The parser fuzz's ``(x[1:] - x[:-1] ** 2) ** 21_000`` compiled for minutes: SymPy's
    ``expand`` multiplies a power of a sum out term by term (``body.small_powers``).
    Above ``MAX_EXPANDED_POWER`` the local gradient is taken as differentiated (and
    factored); value and gradient match NumPy and the derivative written by hand, at
    points where every base is near 1 so that the 2001st power stays finite."""
    a0, a1 = sympy.symbols("a0 a1")
    assert body.small_powers((a0 - a1**2) ** body.MAX_EXPANDED_POWER)
    assert not body.small_powers(2 * (a0 - a1**2) ** (body.MAX_EXPANDED_POWER + 1))
    text = (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    return sum((x[1:] - x[:-1] ** 2) ** 2001 + (1 - x[:-1]) ** 2)\n"
    )
    x = [0.3]
    for step in (1.0001, 0.9999, 1.00005, 0.99995):
        x.append(x[-1] ** 2 + step)
    x = np.array(x)
    r = x[1:] - x[:-1] ** 2
    value = np.sum(r**2001 + (1 - x[:-1]) ** 2)
    grad = np.zeros_like(x)
    grad[1:] += 2001 * r**2000
    grad[:-1] += 2001 * r**2000 * (-2 * x[:-1]) - 2 * (1 - x[:-1])
    for fuse in (True, False):
        got_value, got_grad = load_source(text, fuse=fuse).f_value_and_grad(x)
        np.testing.assert_allclose(got_value, value, rtol=1e-12)
        np.testing.assert_allclose(got_grad, grad, rtol=1e-12, atol=1e-12)
