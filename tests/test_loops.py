"""Loops (SPEC §1.1): gradients of the loop examples against central finite differences
and against the same formula unrolled by hand (the text generated here for a small trip
count, with the loop variable replaced by each number), fused and unfused; item
assignment's functional-update semantics; nested loops; the emitted RNN backward; the
located errors."""

from __future__ import annotations

import ast
import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradcheck import assert_fd_close, central_diff_grad

import gradc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def rnn_args(rng, N=2, T=3, D=4, H=3):
    return [
        rng.normal(size=(N, T, D)),
        rng.normal(size=(N, H)),
        rng.normal(size=(D, H)) * 0.5,
        rng.normal(size=(H, H)) * 0.5,
        rng.normal(size=(H,)),
        rng.normal(size=(N, T, H)),
    ]


def lstm_args(rng, N=2, T=3, D=4, H=3):
    return [
        rng.normal(size=(N, T, D)),
        rng.normal(size=(N, H)),
        rng.normal(size=(D, 4 * H)) * 0.5,
        rng.normal(size=(H, 4 * H)) * 0.5,
        rng.normal(size=(4 * H,)),
        rng.normal(size=(N, T, H)),
    ]


def captioning_args(rng, N=2, T=3, V=5, W=4, H=3):
    return [
        rng.integers(0, V, size=(N, T)),
        rng.integers(0, V, size=(N, T)),
        (rng.random((N, T)) < 0.8).astype(float),
        rng.normal(size=(N, H)),
        rng.normal(size=(V, W)),
        rng.normal(size=(W, H)) * 0.5,
        rng.normal(size=(H, H)) * 0.5,
        rng.normal(size=(H,)),
        rng.normal(size=(H, V)) * 0.5,
        rng.normal(size=(V,)),
    ]


def oscillator_args(rng, T=6):
    return [1.3, 0.4, 0.8, -0.2, rng.normal(size=(T,))]


# example file, function, argument maker, differentiated positions, sizes for unrolling
CASES = [
    ("rnn.grad", "rnn_loss", rnn_args, [1, 2, 3, 4]),
    ("lstm.grad", "lstm_loss", lstm_args, [1, 2, 3, 4]),
    ("captioning.grad", "captioning_loss", captioning_args, [3, 4, 5, 6, 7, 8, 9]),
    ("oscillator.grad", "oscillator_fit", oscillator_args, [0, 1]),
]


def as_list(grads, count: int) -> list:
    return [grads] if count == 1 else list(grads)


def sizes(text: str, name: str, args: list) -> dict[str, int]:
    """The dimension sizes of function ``name`` read off ``args`` (names only)."""
    fn = next(
        n
        for n in ast.parse(text).body
        if isinstance(n, ast.FunctionDef) and n.name == name
    )
    out = {}
    for a, value in zip(fn.args.args, args):
        ann = a.annotation
        if isinstance(ann, ast.Subscript):
            elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            for d, size in zip(elts, np.shape(value)):
                if isinstance(d, ast.Name):
                    out[d.id] = size
    return out


def integer(node, names: dict[str, int]) -> int:
    """An integer expression of literals and known names (the test's own text)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.UnaryOp):
        return -integer(node.operand, names)
    a, b = integer(node.left, names), integer(node.right, names)
    ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
    return ops[type(node.op)] if type(node.op) in ops else a // b


class Unroll(ast.NodeTransformer):
    """Every ``for v in range(...)`` replaced by copies of its body, ``v`` by a number."""

    def __init__(self, names: dict[str, int]):
        self.names = names

    def visit_For(self, node):
        bounds = [integer(a, self.names) for a in node.iter.args]
        out = []
        for k in range(*bounds):
            for stmt in node.body:
                stmt = Substitute(node.target.id, k).visit(copy.deepcopy(stmt))
                done = self.visit(stmt)
                out += done if isinstance(done, list) else [done]
        return out


class Substitute(ast.NodeTransformer):
    def __init__(self, name: str, value: int):
        self.name, self.value = name, value

    def visit_Name(self, node):
        if node.id == self.name:
            return ast.copy_location(ast.Constant(self.value), node)
        return node


def unrolled(text: str, names: dict[str, int]) -> str:
    """The formula text with its loops unrolled for the sizes ``names``."""
    tree = Unroll(names).visit(ast.parse(text))
    return ast.unparse(ast.fix_missing_locations(tree))


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_example_gradients(case, fuse):
    """value_and_grad and forward/backward against central differences of the value, and
    against the same formula unrolled (no loop in it) compiled by gradc."""
    file, name, make, wrt = case
    text = (EXAMPLES / file).read_text()
    m = gradc.load_source(text, fuse=fuse)
    args = make(np.random.default_rng(3))
    f = getattr(m, name)
    value, grads = getattr(m, f"{name}_value_and_grad")(*args)
    grads = as_list(grads, len(wrt))
    fd = central_diff_grad(lambda *a: f(*a), args, wrt)
    assert_fd_close(grads, fd)
    out, cache = getattr(m, f"{name}_forward")(*args)
    back = as_list(getattr(m, f"{name}_backward")(1.0, cache), len(wrt))
    for g, b in zip(grads, back):
        np.testing.assert_allclose(b, g, rtol=1e-12, atol=1e-12)
    flat = unrolled(text, sizes(text, name, args))
    assert "for " not in flat
    u = gradc.load_source(flat, fuse=fuse)
    uvalue, ugrads = getattr(u, f"{name}_value_and_grad")(*args)
    np.testing.assert_allclose(value, uvalue, rtol=1e-12)
    for g, ug in zip(grads, as_list(ugrads, len(wrt))):
        np.testing.assert_allclose(g, ug, rtol=1e-9, atol=1e-12)


def test_rnn_step_matches_cs231n():
    """rnn_step is CS231n's rnn_step_forward; its gradients are rnn_step_backward's."""
    m = gradc.load_source((EXAMPLES / "rnn.grad").read_text())
    rng = np.random.default_rng(0)
    x, h, Wx, Wh, b = (rng.normal(size=s) for s in [(3, 4), (3, 5), (4, 5), (5, 5), 5])
    nxt, cache = m.rnn_step_forward(x, h, Wx, Wh, b)
    np.testing.assert_allclose(nxt, np.tanh(x @ Wx + h @ Wh + b))
    dnext = rng.normal(size=(3, 5))
    dx, dh, dWx, dWh, db = m.rnn_step_backward(dnext, cache)
    dtanh = dnext * (1 - nxt**2)
    np.testing.assert_allclose(dx, dtanh @ Wx.T)
    np.testing.assert_allclose(dh, dtanh @ Wh.T)
    np.testing.assert_allclose(dWx, x.T @ dtanh)
    np.testing.assert_allclose(dWh, h.T @ dtanh)
    np.testing.assert_allclose(db, dtanh.sum(axis=0))


def test_rnn_backward_reads_like_cs231n():
    """One forward loop recording tapes, one reverse loop, += on the shared weights."""
    text = gradc.compile_source((EXAMPLES / "rnn.grad").read_text())
    backward = text[text.index("def rnn_loss_backward") :]
    backward = backward[: backward.index("\ndef ")]
    assert backward.count("for t in reversed(range(T)):") == 1
    for line in [
        "        h_prev = h_tape[t - 1] if t > 0 else h0",
        "        h_g1 = d_h_2 * (_one - h_tape[t] ** 2)",
        "        h_g2 = h_g1.dot(Wh.T)",
        "        d_Wx += x[:, t, :].T.dot(h_g1)",
        "        d_Wh += h_prev.T.dot(h_g1)",
        "        d_b += _sum_leading(h_g1)",
        "    d_h0 = d_h",
    ]:
        assert line in backward.splitlines(), line
    forward = text[
        text.index("def rnn_loss_forward") : text.index("def rnn_loss_backward")
    ]
    # one tape: the carried h at an iteration's start is the previous row of h_tape
    assert "h_tape = np.zeros((T, N, H))" in forward
    assert forward.count("_tape = np.zeros") == 1
    assert "        h_tape[t] = h\n" in forward


def test_forward_docstring_states_tape_memory():
    text = gradc.compile_source((EXAMPLES / "rnn.grad").read_text())
    forward = text[text.index("def rnn_loss_forward") :]
    assert "one row per iteration" in forward[: forward.index('"""\n', 10)]


def item_module(body: str, params: str = "x: Vector[n], y: Vector[n]"):
    return gradc.load_source(f"def f({params}) -> Scalar:\n{body}")


def test_overwritten_element_gets_no_gradient():
    """a[0] = v: the old a[0] (from x) receives nothing; v gets the gradient there."""
    m = item_module("    a = x * 2.0\n    a[0] = y[1] * 3.0\n    return sum(a * a)\n")
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    gx, gy = m.f_grad(x, y)
    np.testing.assert_allclose(gx, [0.0, 16.0, 24.0])
    np.testing.assert_allclose(gy, [0.0, 2 * (-3.0) * 3.0, 0.0])
    assert m.f(x, y) == pytest.approx(9.0 + 16.0 + 36.0)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])  # inputs untouched


def test_item_add_keeps_old_gradient():
    m = item_module(
        "    a = x * 1.0\n    a[1:] += y[:-1] * x[1:]\n    return sum(a * a)\n"
    )
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    fd = central_diff_grad(m.f, [x, y], [0, 1])
    assert_fd_close(list(m.f_grad(x, y)), fd)


def test_slot_written_twice_in_a_loop():
    """Only the last write of a slot reaches the output: x[2]."""
    m = gradc.load_source(
        "def f(x: Vector[n]) -> Scalar:\n"
        "    a = zeros((n,))\n"
        "    for t in range(3):\n"
        "        a[0] = x[t] * x[t]\n"
        "    return sum(a)\n"
    )
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert m.f(x) == 9.0
    np.testing.assert_allclose(m.f_grad(x), [0.0, 0.0, 6.0, 0.0])


NESTED = """
def f(W: Matrix[m, n], x: Vector[n]) -> Scalar:
    s = 0.0
    h = zeros((m, n))
    for i in range(m):
        for j in range(n):
            s = s + tanh(W[i, j] * x[j] + s)
            h[i, j] = s * x[j]
    return sum(h) + s
"""


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_nested_loops(fuse):
    m = gradc.load_source(NESTED, fuse=fuse)
    rng = np.random.default_rng(1)
    args = [rng.normal(size=(3, 4)) * 0.5, rng.normal(size=4)]
    fd = central_diff_grad(m.f, args, [0, 1])
    assert_fd_close(list(m.f_grad(*args)), fd)
    flat = gradc.load_source(unrolled(NESTED, {"m": 3, "n": 4}), fuse=fuse)
    for g, u in zip(m.f_grad(*args), flat.f_grad(*args)):
        np.testing.assert_allclose(g, u, rtol=1e-10, atol=1e-12)


STEPPED = """
def f(x: Vector[n]) -> Scalar:
    h = ones_like(x)
    for t in range(n - 2, -1, -1):
        h[t] = cos(x[t]) * h[t + 1]
    c = 0.0
    for t in range(1, n, 2):
        c = c + h[t] * x[t - 1]
    return c + sum(h)
"""


def test_steps_and_offsets():
    m = gradc.load_source(STEPPED)
    x = np.array([0.3, -1.2, 0.7, 2.0, -0.4])
    fd = central_diff_grad(m.f, [x], [0])
    assert_fd_close([m.f_grad(x)], fd)
    flat = gradc.load_source(unrolled(STEPPED, {"n": 5}))
    assert m.f(x) == pytest.approx(flat.f(x), rel=1e-14)


def test_inactive_input_gets_zeros():
    """Activity through the loop: y never reaches the output."""
    m = gradc.load_source(
        "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n"
        "    h = x\n"
        "    g = y\n"
        "    for t in range(3):\n"
        "        h = sin(h)\n"
        "        g = g * 2.0\n"
        "    return sum(h)\n"
    )
    x, y = np.array([0.1, 0.2]), np.array([1.0, 2.0])
    gx, gy = m.f_grad(x, y)
    np.testing.assert_array_equal(gy, [0.0, 0.0])
    assert_fd_close([gx], central_diff_grad(m.f, [x, y], [0]))


ERRORS = [
    (
        "    h = zeros((n,))\n    for t in range(3):\n        h = sum(h)\n    return h\n",
        "must keep its shape",
        (5, 9),
    ),
    (
        "    for t in range(3):\n        acc = acc + x[t]\n    return acc\n",
        "'acc' is read before it is assigned in the loop",
        (4, 15),
    ),
    (
        "    s = 0.0\n    while s < 1:\n        s = s + 1\n    return s\n",
        "a while loop is not supported",
        (4, 5),
    ),
    (
        "    s = 0.0\n    for t in range(3):\n        if t > 1:\n            s = 1.0\n"
        "    return s\n",
        "use `where(cond, a, b)`",
        (5, 9),
    ),
    (
        "    s = 0.0\n    for t in range(3):\n        break\n    return s\n",
        "`break` is not supported",
        (5, 9),
    ),
    (
        "    x[0] = 1.0\n    return sum(x)\n",
        "cannot assign into parameter 'x'",
        (3, 5),
    ),
    (
        "    s = 0.0\n    k = sum(x)\n    for t in range(k):\n        s = s + 1.0\n"
        "    return s\n",
        "a range bound is an integer literal, a dimension",
        (5, 20),
    ),
]


@pytest.mark.parametrize("body, message, where", ERRORS)
def test_located_errors(body, message, where):
    text = f"def f(x: Vector[n]) -> Scalar:\n    '''doc'''\n{body}"
    with pytest.raises(gradc.FormulaError) as info:
        gradc.compile_source(text, filename="bad.grad")
    err = info.value
    assert message in str(err)
    assert (err.line, err.col) == where


def test_cli_error_exit_2(tmp_path):
    bad = tmp_path / "bad.grad"
    bad.write_text(
        "def f(x: Vector[n]) -> Scalar:\n"
        "    h = zeros((n,))\n"
        "    for t in range(3):\n"
        "        h = sum(h)\n"
        "    return h\n"
    )
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "compile", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2
    assert f"{bad}:4:9: error: 'h' is carried" in run.stderr
    assert "        h = sum(h)" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_jvp_through_loops(case, fuse):
    """f_jvp carries each value and its tangent through the loop: against the
    directional derivative by central differences and against <grad, v>."""
    file, name, make, wrt = case
    m = gradc.load_source((EXAMPLES / file).read_text(), fuse=fuse, jvp=True)
    args = make(np.random.default_rng(5))
    rng = np.random.default_rng(6)
    dirs = [rng.normal(size=np.shape(args[p])) for p in wrt]
    dirs = [float(d) if np.ndim(d) == 0 else d for d in dirs]
    value, tangent = getattr(m, f"{name}_jvp")(*args, *dirs)
    f = getattr(m, name)
    assert value == pytest.approx(f(*args), rel=1e-13)

    def moved(eps):
        out = list(args)
        for p, d in zip(wrt, dirs):
            out[p] = args[p] + eps * d
        return f(*out)

    h = 1e-6
    assert tangent == pytest.approx((moved(h) - moved(-h)) / (2 * h), rel=1e-6)
    grads = as_list(getattr(m, f"{name}_grad")(*args), len(wrt))
    dot = sum(float(np.sum(g * d)) for g, d in zip(grads, dirs))
    assert tangent == pytest.approx(dot, rel=1e-10)


def test_check_command_runs_loops():
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "check", str(EXAMPLES / "lstm.grad")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "match finite differences" in run.stdout


ELEMENTWISE = """
def f(x: Matrix[T, n], w: Vector[n]) -> Scalar:
    h = zeros_like(w)
    for t in range(T):
        h = h + w * sin(x[t] * h + 1.0) / (1.0 + exp(-h))
    return sum(h)
"""


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
def test_body_fuses_and_recomputes_elementwise_values(fuse):
    """The body's elementwise region is one fused node (unfused with --no-fuse); the
    reverse loop recomputes sin, exp, ... from the one tape of h, h_prev_tape."""
    (fn,) = gradc.lower_source(ELEMENTWISE, adjoint=False, fuse=fuse)
    (loop,) = [n for n in fn.nodes if n.op == "loop"]
    ops = {n.op for n in loop.attr("body").nodes}
    assert ("fused" in ops) == fuse
    text = gradc.compile_source(ELEMENTWISE, fuse=fuse)
    forward = text[text.index("def f_forward") : text.index("def f_backward")]
    assert "h_prev_tape = np.zeros((T, n))" in forward
    assert forward.count("_tape = np.zeros") == 1
    m = gradc.load_source(ELEMENTWISE, fuse=fuse)
    rng = np.random.default_rng(2)
    args = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    assert_fd_close(list(m.f_grad(*args)), central_diff_grad(m.f, args, [0, 1]))


def test_where_guard_and_stability_rewrites_inside_a_loop():
    """where's untaken branch leaks no NaN into a gradient inside a loop (x = 0 there),
    and log(sigmoid(.)) in a body is the stable -softplus(-.)."""
    text = (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    s = 0.0\n"
        "    for t in range(n):\n"
        "        s = s + where(x[t] > 0, log(x[t]), 0.0) + log(sigmoid(x[t] * s))\n"
        "    return s\n"
    )
    for fuse in (True, False):
        m = gradc.load_source(text, fuse=fuse)
        x = np.array([0.0, 2.0, 0.5])
        with np.errstate(all="ignore"):  # np.where computes log(0) in the other branch
            g = m.f_grad(x)
        assert np.all(np.isfinite(g))
        fd = central_diff_grad(m.f, [np.array([1e-3, 2.0, 0.5])], [0])
        assert_fd_close([m.f_grad(np.array([1e-3, 2.0, 0.5]))], fd, rtol=1e-5)
    code = gradc.compile_source(text)
    assert "np.log(_sigmoid(" not in code.split('"""')[-1]
    assert "- _softplus(-(s_t1 * s))" in code


def test_explain_shows_each_iteration_abbreviated():
    """gradc explain through a loop: the named values of each iteration and the carried
    values' gradients in the reverse loop (the first and last two, the rest counted),
    and gradients equal to the compiled module's."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "explain", "examples/oscillator.grad"]
        + ["--dims", "T=6", "--at", "k=1.5,c=0.25,x0=1,v0=0,observed=[0,0,0,0,0,0]"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "  for t in range(T):    [loop, line 13]" in out
    assert "    ... 2 more iterations ..." in out
    assert "      ... 2 more iterations ..." in out
    assert "    t = 0: a = -1.5, x = 1, v = -0.075, xs = " in out
    m = gradc.load_source((EXAMPLES / "oscillator.grad").read_text())
    gk, gc = m.oscillator_fit_grad(1.5, 0.25, 1.0, 0.0, np.zeros(6))
    assert f"to k: downstream ∂out/∂k = {gk:.6g}  (summed over the iterations)" in out
    assert f"  ∂out/∂c = {gc:.6g}" in out


def test_graph_draws_the_body_once_with_its_trip_count():
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "graph", "examples/oscillator.grad"]
        + ["--dims", "T=4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    dot = run.stdout
    assert dot.count('subgraph "cluster_loop_') == 1
    assert "line 13: for t in range(T) (4 iterations)" in dot
    assert "x (next iteration)" in dot


def test_a_loop_that_runs_no_iteration():
    """range(n - 5) with n = 3 runs no iteration, as Python's range: the tape has no
    rows (max(0, n - 5)), the value is the carried value's start."""
    text = (
        "def f(x: Vector[n]) -> Scalar:\n"
        "    s = 0.0\n"
        "    for t in range(n - 5):\n"
        "        s = s + sin(x[t] * s + 1.0)\n"
        "    return s\n"
    )
    assert "np.zeros((max(0, n - 5),))" in gradc.compile_source(text)
    m = gradc.load_source(text)
    value, grad = m.f_value_and_grad(np.array([1.0, 2.0, 3.0]))
    assert value == 0.0
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0])
    x = np.linspace(0.1, 0.8, 8)
    assert_fd_close([m.f_grad(x)], central_diff_grad(m.f, [x], [0]))


MASK_CARRIED = (
    "@wrt(k, x0)\n"
    "def f(k: Scalar, x0: Scalar, v0: Scalar, observed: Vector[T]) -> Scalar:\n"
    "    x = x0\n"
    "    v = v0\n"
    "    xs = zeros((T,))\n"
    "    for t in range(T):\n"
    "        x = x + 0.05 * v\n"
    "        v = v == 0.05 * k\n"
    "        xs[t] = x\n"
    "    return sum((xs - observed) ** 2)\n"
)


def mask_carried(k, x0, v0, observed):
    """MASK_CARRIED in NumPy."""
    x, v, xs = x0, v0, np.zeros(len(observed))
    for t in range(len(observed)):
        x = x + 0.05 * v
        v = float(v == 0.05 * k)
        xs[t] = x
    return np.sum((xs - observed) ** 2)


@pytest.mark.parametrize("wrt", ["k", "k, x0"])
def test_a_carried_value_that_only_a_comparison_reaches(wrt):
    """A differentiated input that reaches the loop only through a comparison (``v = v ==
    0.05 * k``, a 0/1 mask) gives no carried value a gradient: the gradient with respect
    to it is 0, and x0's flows as usual. (The parser fuzz found the loop's adjoint failing
    with ``max() arg is an empty sequence`` when no carried value was active.)"""
    text = MASK_CARRIED.replace("@wrt(k, x0)", f"@wrt({wrt})")
    m = gradc.load_source(text)
    observed = np.array([0.3, -0.2, 0.5, 0.1])
    args = (0.7, 0.4, 1.3, observed)
    value, grads = m.f_value_and_grad(*args)
    assert value == pytest.approx(mask_carried(*args), rel=1e-14)
    grads = grads if isinstance(grads, tuple) else (grads,)
    wanted = [0, 1][: len(grads)]
    assert_fd_close(list(grads), central_diff_grad(mask_carried, list(args), wanted))
    assert grads[0] == 0.0


LOOP_READS = (
    "def f(x: Vector[n], M: Matrix[m, k], y: Vector[T]) -> Scalar:\n"
    "    h = 0.0\n"
    "    for t in range(T - 1, -1, -1):\n"
    "        h = h * 0.5 + x[t + 1] * y[t]\n"
    "    for i in range(m):\n"
    "        h = h + M[i, 0] * x[2 - i]\n"
    "    return h\n"
)


def loop_reads_numpy(x, M, y):
    """``LOOP_READS`` as a Python loop over NumPy (its own IndexError where it leaves)."""
    h = 0.0
    for t in range(len(y) - 1, -1, -1):
        h = h * 0.5 + x[t + 1] * y[t]
    for i in range(M.shape[0]):
        h = h + M[i, 0] * x[2 - i]
    return h


@pytest.mark.parametrize(
    "n, m, T, ok",
    [
        (5, 2, 4, True),
        (4, 2, 4, False),  # x[t + 1] reads x[4] at t = T - 1
        (5, 5, 4, True),  # x[2 - i] reads x[-2] at i = 4: from the end, as NumPy
        (5, 8, 4, True),  # x[2 - i] reads x[-5] at i = 7, the first element
        (5, 9, 4, False),  # x[2 - i] reads x[-6] at i = 8
        (3, 1, 2, True),
    ],
)
def test_an_index_in_a_loop_is_checked_against_named_sizes(n, m, T, ok):
    """Where the axis or the range has a named size, the input checks refuse sizes at
    which a loop would read outside an axis, with a ValueError naming a parameter (a
    NumPy IndexError mid-loop before); elsewhere the value is the Python loop's."""
    mod = gradc.load_source(LOOP_READS)
    rng = np.random.default_rng(n * 100 + m * 10 + T)
    x, M, y = (
        rng.standard_normal(n),
        rng.standard_normal((m, 3)),
        rng.standard_normal(T),
    )
    if ok:
        value, grads = mod.f_value_and_grad(x, M, y)
        np.testing.assert_allclose(value, loop_reads_numpy(x, M, y), rtol=1e-14)
        fd = central_diff_grad(mod.f, [x, M, y], [0, 1, 2])
        assert_fd_close(list(grads), fd)
        return
    with pytest.raises(IndexError):
        loop_reads_numpy(x, M, y)
    with pytest.raises(
        ValueError,
        match=r"f: parameter '(x|M|y)' has shape .* \(an index in a loop on line [46] needs it\)",
    ):
        mod.f_value_and_grad(x, M, y)


def test_a_loop_over_its_own_axis_needs_no_check():
    """``x[t]`` in ``for t in range(T)`` of ``x: Vector[T]`` holds for every size: no
    check is emitted (the examples' recurrent networks read so)."""
    text = (
        "def f(x: Vector[T]) -> Scalar:\n"
        "    h = 0.0\n"
        "    for t in range(T):\n"
        "        h = tanh(h + x[t] * x[T - 1 - t])\n"
        "    return h\n"
    )
    assert "an index in a loop" not in gradc.compile_source(text)


@pytest.mark.parametrize("target", ["None[t]", "x.T[t]", "None[t] +", "f(x)[t]"])
def test_an_item_assigned_into_what_is_not_a_name_in_a_loop(target):
    """``None[:, t, :] = h`` in a loop body (a parser-fuzz mutant of the RNN example)
    failed with AttributeError in the check of the loop's reads; the statement's own
    located error comes instead."""
    op = "+=" if target.endswith("+") else "="
    text = (
        "def f(x: Vector[T], h0: Scalar) -> Scalar:\n"
        "    h = h0\n"
        "    hs = zeros((T,))\n"
        "    for t in range(T):\n"
        "        h = h * 0.5 + x[t]\n"
        f"        {target.rstrip(' +')} {op} h\n"
        "    return sum(hs)\n"
    )
    with pytest.raises(gradc.FormulaError) as info:
        gradc.compile_source(text, filename="f.grad")
    assert info.value.report().startswith("f.grad:6:9: error: ")


# One part of a carried vector written from another part of it. The reverse loop zeroes
# the written part's gradient in place (``d_h[0:1] = 0.0``); with ``w`` not differentiated
# it had taken a view of that part first (``g = d_h[0:1]``) and read it after the zeroing:
# the gradient of h0[1] was 0.77 where it is 0.43, fused or not (the loop-parts family of
# the language generator found it as a Hessian mismatch under @wrt).
PARTS_CARRIED = """
@wrt({wrt})
def f(h0: Vector[k], w: Vector[k], x: Matrix[n, k]) -> Scalar:
    h = h0 * 1.0
    for t in range(n):
        h[0:1] = tanh(h[1:2] * w[0:1]) + x[t, 0:1]
    return sum(cos(h) * h)
"""


def parts_carried(h0, w, x):
    """PARTS_CARRIED in NumPy."""
    h = h0 * 1.0
    for t in range(x.shape[0]):
        h[0:1] = np.tanh(h[1:2] * w[0:1]) + x[t, 0:1]
    return np.sum(np.cos(h) * h)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "nofuse"])
@pytest.mark.parametrize("wrt", ["h0", "w", "h0, w", "h0, w, x"])
def test_a_part_of_a_carried_vector_written_from_another(wrt, fuse):
    m = gradc.load_source(PARTS_CARRIED.format(wrt=wrt), fuse=fuse)
    args = [
        np.array([0.2, -0.4, 0.9]),
        np.array([-0.35, 1.13, 0.8]),
        np.array([[0.7, -1.2, 0.4], [0.3, 0.5, -0.8]]),
    ]
    value, grads = m.f_value_and_grad(*args)
    assert value == pytest.approx(parts_carried(*args), rel=1e-14)
    wanted = [["h0", "w", "x"].index(name) for name in wrt.split(", ")]
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    assert_fd_close(grads, central_diff_grad(parts_carried, args, wanted))
