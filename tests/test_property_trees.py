"""Property-based tests: random expression trees over the whole operation table.

Each random program (tests/strategies.py) is rendered as a formula file, compiled with
``gradc.load_source`` and checked at a random point against

* SymPy's ``diff`` of the same tree on scalarised symbols (``Vector[3]`` -> 3 symbols,
  ``Matrix[3, 3]`` -> 9), evaluated with 30 significant digits (rtol 1e-9), and
* fourth-order central finite differences of the compiled value in float64 (rtol 1e-6).

Points near a non-smooth branch (ties in max/maximum/where/clip/abs/relu, |norm| ~ 0), or
where a value is non-finite or larger than 1e4, are skipped with ``assume``.

Quick profile: runs in the default test run. Long profile (10,000 trees, then 2,000
SymPy-input expressions; about 40 minutes on 2 cores):
``GRADC_LONG=1 pytest -s -m long tests/test_property_trees.py --hypothesis-show-statistics``
(``-s`` shows a progress line every 500 trees). In the long profile a tree whose SymPy
oracle needs more than ``ORACLE_BUDGET_S`` is skipped and counted (``over_budget``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, note, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import strategies as S

import gradc

LONG = os.environ.get("GRADC_LONG") == "1"
ARG_ORDER = ("x", "y", "v", "w", "M", "k")
MAX_MAGNITUDE = 1e4
KINK_GAP = 1e-6
ORACLE_RTOL = 1e-9
FD_RTOL = 1e-6
FD_STEP = 1e-4

QUICK = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG_SETTINGS = settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
long_only = pytest.mark.skipif(
    not LONG, reason="long profile: set GRADC_LONG=1 and use -m long"
)


# ----------------------------------------------------------------------------- helpers


def numeric(prog: S.Program, inputs: dict):
    """Float64 value of the program, its kinks and every intermediate value."""
    ev = S.Evaluator(prog, "num")
    value = ev.run(inputs)
    return value, ev.kinks, ev.values


def assume_regular(prog: S.Program, inputs: dict):
    """Skip points that are non-finite, huge, or within KINK_GAP of a non-smooth branch."""
    value, kinks, values = numeric(prog, inputs)
    for v in values:
        assume(np.all(np.isfinite(v)))
        assume(np.all(np.abs(v) <= MAX_MAGNITUDE))
    for gap, _ in kinks:
        assume(np.all(np.abs(gap) > KINK_GAP))
    return value, kinks


def kink_signs(prog: S.Program, inputs: dict):
    """Sign pattern of every kink (None if the point is not regular)."""
    _value, kinks, values = numeric(prog, inputs)
    if not all(np.all(np.isfinite(v)) for v in values):
        return None
    return [branch.tolist() for _, branch in kinks]


def _to_float(expr) -> float:
    try:
        z = complex(expr)
    except (TypeError, ValueError):
        return float("nan")
    return z.real if abs(z.imag) <= 1e-25 * max(1.0, abs(z.real)) else float("nan")


def sympy_oracle(prog: S.Program, inputs: dict, cotangent=None):
    """SymPy value of the program and gradients of ``<cotangent, value>`` (or of the value,
    when it is a scalar) with respect to every ``wrt`` input, at ``inputs``."""
    syms = S.scalar_symbols()
    env = dict(syms)
    env["k"] = inputs["k"]
    out = S.Evaluator(prog, "sym").run(env)
    subs = {}
    for name, arr in syms.items():
        x = np.asarray(inputs[name], dtype=float)
        for i in np.ndindex(arr.shape):
            subs[arr[i]] = sp.Float(float(x[i]), 40)
    value = np.array([_to_float(e.xreplace(subs).evalf(30)) for e in out.reshape(-1)])
    value = value.reshape(out.shape)
    if cotangent is None:
        scalar = out[()]
    else:
        scalar = sp.Add.fromiter(
            sp.Float(float(c), 40) * e for c, e in zip(cotangent, out)
        )
    grads = {}
    for name in prog.wrt_names:
        arr = syms[name]
        g = np.empty(arr.shape)
        for i in np.ndindex(arr.shape):
            g[i] = _to_float(sp.diff(scalar, arr[i]).xreplace(subs).evalf(30))
        grads[name] = g
    return value, grads


def as_tuple(grads, names):
    """Gradients in the documented structure: one array, or a tuple in parameter order."""
    if len(names) == 1:
        assert not isinstance(grads, tuple), (
            "one wrt input: the gradient is not a tuple"
        )
        return (grads,)
    assert isinstance(grads, tuple), (
        f"several wrt inputs: expected a tuple, got {type(grads)}"
    )
    assert len(grads) == len(names)
    return grads


def close(actual, expected, rtol, scale) -> bool:
    actual = np.asarray(actual, dtype=float)
    return bool(
        np.all(np.abs(actual - expected) <= rtol * np.maximum(np.abs(expected), scale))
    )


def fd_gradient(fun, args: list, pos: int, prog, inputs_by_name, name):
    """Fourth-order central differences of ``fun`` along each entry of ``args[pos]``.

    An entry is NaN (not checked) when a stencil crosses a kink, or when the estimates
    with steps h and h/2 disagree for every h tried (the function varies too fast for
    differences in float64 to be trusted there; the SymPy oracle still checks it)."""
    base = np.asarray(args[pos], dtype=float)
    center = kink_signs(prog, inputs_by_name)

    def stencil(i, h):
        vals = []
        for step in (2, 1, -1, -2):
            x = base.copy()
            x[i] += step * h
            moved = x if base.shape else float(x)
            trial = dict(inputs_by_name)
            trial[name] = moved
            if kink_signs(prog, trial) != center:
                return None
            a = list(args)
            a[pos] = moved
            vals.append(float(fun(*a)))
        return (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)

    out = np.full(base.shape, np.nan)
    for i in np.ndindex(base.shape):
        for scale in (1.0, 1 / 16, 1 / 256):
            h = FD_STEP * scale * max(1.0, abs(base[i]))
            coarse, fine = stencil(i, h), stencil(i, h / 2)
            if coarse is None or fine is None:
                break
            if abs(coarse - fine) <= 0.1 * FD_RTOL * max(1.0, abs(fine)):
                out[i] = fine
                break
    return out


# ----------------------------------------------------------------------------- the check


# Long profile: a tree whose SymPy oracle takes longer than this is skipped and counted
# (SymPy's expressions grow fast on deep trees over 3x3 matrices; a few take hours).
ORACLE_BUDGET_S = 20.0
_PROGRESS = {"tried": 0, "checked": 0, "over_budget": 0, "t0": time.monotonic()}


class OracleTimeout(Exception):
    """The SymPy oracle ran over ``ORACLE_BUDGET_S``."""


@contextlib.contextmanager
def oracle_budget():
    """Long profile only: raise ``OracleTimeout`` in the body after ``ORACLE_BUDGET_S``."""
    if not LONG or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise OracleTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, ORACLE_BUDGET_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def report_progress(key: str) -> None:
    """Count ``key``; in the long profile print the counts every 500 trees tried
    (run pytest with ``-s`` to see them)."""
    _PROGRESS[key] += 1
    if LONG and key == "tried" and _PROGRESS["tried"] % 500 == 0:
        elapsed = time.monotonic() - _PROGRESS["t0"]
        counts = ", ".join(f"{k} {v}" for k, v in _PROGRESS.items() if k != "t0")
        print(f"[trees] {counts}, {elapsed:.0f} s", file=sys.__stderr__, flush=True)


def check_program(prog: S.Program, point_seed: int, fuse: bool) -> None:
    report_progress("tried")
    text = S.render_program(prog)
    note(text)
    inputs = S.random_inputs(point_seed)
    assume_regular(prog, inputs)
    vector_out = prog.ret.shape != ()
    cot = (
        np.random.default_rng(point_seed + 1).uniform(-1, 1, size=3)
        if vector_out
        else None
    )
    try:
        with oracle_budget():
            o_value, o_grads = sympy_oracle(prog, inputs, cot)
    except OracleTimeout:
        report_progress("over_budget")
        assume(False)
    assume(np.all(np.isfinite(o_value)))
    assume(all(np.all(np.isfinite(g)) for g in o_grads.values()))

    mod = gradc.load_source(text, filename="<random tree>", fuse=fuse)
    args = [inputs[n] for n in ARG_ORDER]
    names = prog.wrt_names
    vscale = max(1.0, float(np.max(np.abs(o_value))))
    gscale = max([1.0] + [float(np.max(np.abs(g))) for g in o_grads.values()])

    value = mod.f(*args)
    assert np.shape(value) == prog.ret.shape
    assert close(value, o_value, ORACLE_RTOL, vscale), (value, o_value)

    if vector_out:
        fwd_value, cache = mod.f_forward(*args)
        assert close(fwd_value, o_value, ORACLE_RTOL, vscale)
        grads = as_tuple(mod.f_backward(cot, cache), names)

        def objective(*a):
            return float(np.dot(cot, mod.f(*a)))

    else:
        v2, grads = mod.f_value_and_grad(*args)
        assert close(v2, o_value, ORACLE_RTOL, vscale)
        grads = as_tuple(grads, names)
        for g_a, g_b in zip(as_tuple(mod.f_grad(*args), names), grads):
            assert np.array_equal(np.asarray(g_a), np.asarray(g_b))
        _, cache = mod.f_forward(*args)
        back = as_tuple(mod.f_backward(1.0, cache), names)
        for g_a, g_b in zip(back, grads):
            assert close(g_a, np.asarray(g_b, dtype=float), 1e-12, gscale)
        objective = mod.f

    for name, g in zip(names, grads):
        shape = {n: s for n, s, _ in S.FLOAT_INPUTS}[name]
        assert np.shape(g) == shape, (
            f"gradient of {name}: shape {np.shape(g)}, want {shape}"
        )
        assert close(g, o_grads[name], ORACLE_RTOL, gscale), (name, g, o_grads[name])
        pos = ARG_ORDER.index(name)
        fd = fd_gradient(objective, args, pos, prog, inputs, name)
        mask = np.isfinite(fd)
        g = np.asarray(g, dtype=float)
        assert close(
            g[mask],
            fd[mask],
            FD_RTOL,
            max(1.0, float(np.max(np.abs(fd[mask]), initial=0))),
        ), (
            name,
            g,
            fd,
        )
    report_progress("checked")


# ----------------------------------------------------------------------------- tests


@settings(QUICK, max_examples=100)
@given(prog=S.programs(), point_seed=st.integers(0, 2**32 - 1), fuse=st.booleans())
def test_random_trees_quick(prog, point_seed, fuse):
    check_program(prog, point_seed, fuse)


@pytest.mark.long
@long_only
@LONG_SETTINGS
@seed(20_240_611)
@given(
    prog=S.programs(max_depth=5, max_stmts=8),
    point_seed=st.integers(0, 2**32 - 1),
    fuse=st.booleans(),
)
def test_random_trees_long(prog, point_seed, fuse):
    check_program(prog, point_seed, fuse)


def check_sympy_input(prog: S.Program, point_seed: int) -> None:
    """The same trees given to ``load_sympy`` as one SymPy expression (a DAG)."""
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    env = {"x": S._obj(x), "y": S._obj(y)}
    expr = S.Evaluator(prog, "sym").run(env)[()]
    note(f"expr = {expr}")
    inputs = S.random_inputs(point_seed)
    point = {"x": inputs["x"], "y": inputs["y"]}
    ev = S.Evaluator(prog, "num")
    ev.run(point)
    for v in ev.values:
        assume(np.all(np.isfinite(v)) and np.all(np.abs(v) <= MAX_MAGNITUDE))
    subs = {x: sp.Float(point["x"], 40), y: sp.Float(point["y"], 40)}
    o_value = _to_float(expr.xreplace(subs).evalf(30))
    o_grad = np.array(
        [_to_float(sp.diff(expr, s).xreplace(subs).evalf(30)) for s in (x, y)]
    )
    assume(np.isfinite(o_value) and np.all(np.isfinite(o_grad)))
    if not expr.free_symbols:
        return  # a constant expression: nothing to differentiate (SymPy folded it)
    mod = gradc.load_sympy(expr, [x, y])
    value, grads = mod.f_value_and_grad(point["x"], point["y"])
    assert close(value, o_value, ORACLE_RTOL, 1.0)
    grads = np.array([float(g) for g in as_tuple(grads, ("x", "y"))])
    scale = max(1.0, float(np.max(np.abs(o_grad))))
    assert close(grads, o_grad, ORACLE_RTOL, scale), (grads, o_grad)
    for i, name in enumerate(("x", "y")):
        h = FD_STEP * max(1.0, abs(point[name]))
        vals = []
        for step in (2, 1, -1, -2):
            p = dict(point)
            p[name] += step * h
            vals.append(float(mod.f(p["x"], p["y"])))
        fd = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
        assert close(grads[i], fd, FD_RTOL, max(1.0, abs(fd))), (name, grads[i], fd)


@settings(QUICK, max_examples=30)
@given(prog=S.scalar_programs(), point_seed=st.integers(0, 2**32 - 1))
def test_random_sympy_expressions_quick(prog, point_seed):
    check_sympy_input(prog, point_seed)


@pytest.mark.long
@long_only
@settings(LONG_SETTINGS, max_examples=2_000)
@seed(20_240_612)
@given(
    prog=S.scalar_programs(max_depth=4, max_stmts=5),
    point_seed=st.integers(0, 2**32 - 1),
)
def test_random_sympy_expressions_long(prog, point_seed):
    check_sympy_input(prog, point_seed)


# ----------------------------------------------------------------------------- the generator itself


def run_text_as_numpy(text: str, inputs: dict):
    """Run a formula's text as plain NumPy (test-side reference; the compiler never does)."""
    text = re.sub(r"^@wrt\(.*\)\n", "", text, flags=re.MULTILINE)
    ns = S.reference_namespace()
    exec(text, ns)  # noqa: S102 - test-only reference semantics of our own generated text
    with np.errstate(all="ignore"):
        return ns["f"](*[inputs[n] for n in ARG_ORDER])


@settings(QUICK, max_examples=25)
@given(prog=S.programs(), point_seed=st.integers(0, 2**32 - 1))
def test_generator_readings_agree(prog, point_seed):
    """The three readings of a random tree (text run as NumPy, the float64 evaluator and the
    SymPy evaluator) agree, so the oracle above describes the formula that was compiled."""
    text = S.render_program(prog)
    note(text)
    inputs = S.random_inputs(point_seed)
    value, _, values = numeric(prog, inputs)
    assume(
        all(
            np.all(np.isfinite(v)) and np.all(np.abs(v) <= MAX_MAGNITUDE)
            for v in values
        )
    )
    ref = run_text_as_numpy(text, inputs)
    assert np.shape(ref) == value.shape
    np.testing.assert_allclose(ref, value, rtol=1e-12, atol=1e-12)
    o_value, _ = sympy_oracle(prog, inputs, np.ones(3) if value.shape else None)
    assume(np.all(np.isfinite(o_value)))
    np.testing.assert_allclose(o_value, value, rtol=1e-9, atol=1e-9)


def test_generator_covers_the_operation_table():
    """A sample of 300 programs uses every operation family of the table."""
    found: set = set()

    def walk(node):
        stack = [node]
        while stack:
            n = stack.pop()
            key = n.op
            if n.op == "reduce":
                key = "reduce:" + n.params[0]
            elif n.op in ("softmax", "log_softmax", "index"):
                key = n.op
            found.add(key)
            stack.extend(n.args)

    @settings(max_examples=300, derandomize=True, database=None, deadline=None)
    @given(prog=S.programs())
    def collect(prog):
        for h in prog.helpers:
            walk(h.ret)
            for _, _, node in h.stmts:
                walk(node)
        for _, _, node in prog.stmts:
            walk(node)
        walk(prog.ret)
        if prog.helpers:
            found.add(
                "helper:fuse" if any(h.fuse for h in prog.helpers) else "helper:plain"
            )
        if any(aug for _, aug, _ in prog.stmts):
            found.add("augassign")

    collect()
    wanted = {
        "add", "sub", "mul", "div", "pow", "neg", "matmul", "dot", "outer", "exp", "log",
        "log1p", "expm1", "sqrt", "square", "abs", "sin", "cos", "tan", "tanh", "sigmoid",
        "arctanh", "arccosh", "cumsum",
        "softplus", "relu", "maximum", "minimum", "clip", "where", "reduce:sum", "reduce:mean",
        "reduce:max", "reduce:min", "reduce:logsumexp", "reduce:norm", "softmax", "log_softmax",
        "T", "transpose", "reshape", "index", "gather", "splice", "stack", "call", "const",
        "helper:fuse", "augassign",
    }  # fmt: skip
    assert wanted <= found, sorted(wanted - found)


# ----------------------------------------------------------------------------- regressions

# Small programs distilled from failures of the random-tree search (exploratory runs of
# the long profile); each is checked against the formula run as plain NumPy (value) and
# central differences of that NumPy function (gradient), so the check is independent of
# the compiler.
REGRESSIONS = [
    pytest.param(
        "def f(v: Vector[3], w: Vector[3], M: Matrix[3, 3]) -> Scalar:\n"
        "    return (sigmoid(sigmoid(w)) ** exp(w ** 0)) @ (v * (M[2, 0] + sum(M)))\n",
        (
            np.array([0.5, -1.0, 1.5]),
            np.array([0.3, 0.2, -0.7]),
            np.arange(9.0).reshape(3, 3) / 7,
        ),
        # value_and_grad printed its (seed-1) graph with the forward graph's shapes: a
        # scalar broadcast became a read-only np.broadcast_to view, then d_M[2, 0] += ...
        id="value-and-grad-printed-with-its-own-shapes",
    ),
    pytest.param(
        "@fuse\ndef g(p: Scalar, q: Scalar) -> Scalar:\n    return q * q\n\n\n"
        "def f(x: Scalar, v: Vector[3]) -> Scalar:\n    return sum(g(v, x))\n",
        (2.0, np.array([0.5, -1.0, 1.5])),
        id="fuse-result-broadcasts-over-unused-parameter",
    ),
    pytest.param(
        "@fuse\ndef g(p: Scalar) -> Scalar:\n    return 1.25\n\n\n"
        "def f(v: Vector[3]) -> Scalar:\n    return sum(g(v)) + sum(v * v)\n",
        (np.array([0.5, -1.0, 1.5]),),
        id="fuse-constant-body-broadcasts",
    ),
    pytest.param(
        "def f(y: Scalar) -> Scalar:\n    return y * 2.0 ** 1.5\n",
        (0.3,),
        id="constant-float-power",
    ),
    pytest.param(
        "C = -1.25\n\n\ndef f(y: Scalar) -> Scalar:\n    return y * (1.0 + pi ** 2) ** C\n",
        (0.3,),
        id="constant-power-negative-exponent",
    ),
    pytest.param(
        "def f(v: Vector[3]) -> Scalar:\n    return sum(where(v[:2] > 0, v[1:], 0.0))\n",
        (np.array([1.0, -2.0, 3.0]),),
        id="where-with-sliced-operands",
    ),
    pytest.param(
        "def f(v: Vector[3]) -> Scalar:\n    return v[::-1] @ exp(v)\n",
        (np.array([0.5, -1.0, 1.5]),),
        id="negative-slice-step",
    ),
    pytest.param(
        "def f(M: Matrix[3, 3]) -> Scalar:\n    return sum(where(M > 0, M, 0.0))\n",
        (np.arange(9.0).reshape(3, 3) - 3.5,),
        id="where-gradient-is-float",
    ),
    pytest.param(
        "def f(M: Matrix[3, 3], y: Scalar) -> Scalar:\n"
        "    return sum(where(sum(M, axis=1, keepdims=True) < M, M.T, y) * M)\n",
        (np.random.default_rng(0).uniform(-2, 2, (3, 3)), 0.3),
        id="where-mask-through-transpose",
    ),
    pytest.param(
        "@fuse\ndef g(p: Scalar) -> Scalar:\n    return where(0.05 < 0.96, p, 2.0 ** p)\n\n\n"
        "def f(w: Vector[3]) -> Scalar:\n    return sum(g(exp(w)))\n",
        (np.array([0.5, -1.0, 1.5]),),
        id="where-constant-condition-in-fuse",
    ),
    pytest.param(
        "@fuse\ndef g(p: Scalar, q: Scalar) -> Scalar:\n    return (q - q) + sigmoid(q)\n\n\n"
        "def f(y: Scalar, w: Vector[3]) -> Scalar:\n    return sum(g(y, g(w, y)))\n",
        (0.3, np.array([0.5, -1.0, 1.5])),
        id="fuse-nested-call-with-cancelling-body",
    ),
    pytest.param(
        "def f(x: Scalar, y: Scalar) -> Scalar:\n    return 1.25 ** y\n",
        (0.3, 0.7),
        id="unused-scalar-gradient-is-float",
    ),
]


def _reference_function(text: str):
    ns = S.reference_namespace()
    exec(re.sub(r"^@wrt\(.*\)\n", "", text, flags=re.M), ns)  # noqa: S102 - test reference
    return ns["f"]


def _fd4(fun, args, i):
    args = [np.array(a, dtype=float) for a in args]
    base = args[i]
    out = np.zeros(base.shape)
    for j in np.ndindex(base.shape):
        h = FD_STEP * max(1.0, abs(float(base[j])))
        vals = []
        for step in (2, 1, -1, -2):
            a = [x.copy() for x in args]
            a[i][j] += step * h
            vals.append(float(fun(*[x if x.shape else float(x) for x in a])))
        out[j] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return out


@pytest.mark.parametrize("fuse", [True, False], ids=["fuse", "no-fuse"])
@pytest.mark.parametrize(("text", "args"), REGRESSIONS)
def test_regressions_from_random_trees(text, args, fuse):
    ref = _reference_function(text)
    mod = gradc.load_source(text, filename="<regression>", fuse=fuse)
    value, grads = mod.f_value_and_grad(*args)
    want = float(ref(*args))
    assert float(value) == pytest.approx(want, rel=1e-12, abs=1e-12)
    grads = grads if len(args) > 1 else (grads,)
    assert len(grads) == len(args)
    for i, g in enumerate(grads):
        assert np.shape(g) == np.shape(args[i])
        assert np.asarray(g).dtype.kind == "f", (
            f"gradient {i} has dtype {np.asarray(g).dtype}"
        )
        fd = _fd4(ref, args, i)
        assert close(g, fd, FD_RTOL, max(1.0, float(np.max(np.abs(fd))))), (i, g, fd)
