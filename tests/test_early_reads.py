"""One array where hand-written NumPy holds one (issue 16, ``gauss_nll``): a scalar read
early (``passes/early_reads.py``), an inlined argument written in a dead temporary's
memory (``Emitter.reuse_inlined``: ``(t / s) ** 2`` as ``t /= s; t **= 2``), and the
second late rebuild that does not count a guard's rare branch as a reader
(``passes/late.late_again``: ``sum(r ** 2)`` as ``r.dot(r)``, the square left to the
branch).

Checked: the emitted text; the memory a call allocates (``tracemalloc``, against the build
without them); the values against central finite differences and against the formula
evaluated in NumPy's order by hand, at overflowing and NaN inputs too; the pass alone on
a graph (a topological order of the same nodes, moved only where an array's life ends
early); and over the language generator's formulas whose module changes, every function
at the formula's point, zeros and extreme values equal to the build without the pass and
the in-place writes, bit for bit (the dot products change rounding only, and the language
oracle checks every module against finite differences and SymPy)."""

from __future__ import annotations

import dataclasses
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc import pipeline
from gradc.backend import emit
from gradc.core.ir import reachable
from gradc.passes import early_reads as ER
from gradc.pipeline import lower_source

sys.path.insert(0, str(Path(__file__).parent))
from test_scalar_where import CountingNodes, builds_agree  # noqa: E402

GAUSS = """
@wrt(mu, log_sigma)
def gauss_nll(mu: Scalar, log_sigma: Scalar, x: Vector[n]) -> Scalar:
    sigma = exp(log_sigma)
    return 0.5 * sum(((x - mu) / sigma) ** 2) + n * log_sigma
"""


def identity(fn):
    return fn


def without(monkeypatch, *, pass_=True, in_place=True, again=True) -> dict:
    """Patches that turn the three off (as the module was emitted before them)."""
    if pass_:
        monkeypatch.setattr(pipeline, "early_reads", identity)
    if in_place:
        monkeypatch.setattr(emit.Emitter, "reuse_inlined", lambda self, i: None)
    if again:
        monkeypatch.setattr(pipeline, "late_again", identity)


def function_text(src: str, name: str) -> str:
    return src.split(f"\ndef {name}(")[1].split("\n\n\n")[0]


def by_hand(mu, log_sigma, x):
    """The formula and its gradient in the formula's order, written out in NumPy."""
    s = np.exp(log_sigma)
    sq = ((x - mu) / s) ** 2
    n = x.size
    value = 0.5 * np.sum(sq) + n * log_sigma
    d_mu = -np.sum((x - mu) / s**2)
    d_log_sigma = n - np.sum(sq / s) * s
    return value, (d_mu, d_log_sigma)


def test_the_gaussian_holds_one_array_and_sums_its_squares_as_a_dot_product():
    vg = function_text(gradc.compile_source(GAUSS), "gauss_nll_value_and_grad")
    body = [ln.strip() for ln in vg.split("# line 5:")[1].splitlines()[1:]]
    assert body[:7] == [
        "out_t1 = x - mu",
        "out_t2 = sigma**2",
        "out_t3 = out_t1.sum()",
        "d_mu = -(out_t3 / out_t2) if abs(out_t3) < 1e300 else -(out_t1 / out_t2).sum()",
        "out_t1 /= sigma",
        "out_t4 = out_t1.dot(out_t1)",
        "out = 0.5 * out_t4 + n * log_sigma",
    ], vg
    # the square is computed in the rare branch alone
    assert "else (out_t1**2 / sigma).sum()" in vg, vg


def peak_bytes(module, n: int) -> int:
    x = np.random.default_rng(0).standard_normal(n)
    module.gauss_nll_value_and_grad(0.3, -0.2, x)  # any first-call allocation
    tracemalloc.start()
    try:
        module.gauss_nll_value_and_grad(0.3, -0.2, x)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_call_allocates_one_array_of_the_data(monkeypatch):
    n = 100_000
    now = gradc.load_source(GAUSS)
    with monkeypatch.context() as m:
        without(m)
        before = gradc.load_source(GAUSS)
    got, had = peak_bytes(now, n), peak_bytes(before, n)
    # hand-written NumPy's r = (x - mu) / s: one array of 8 n bytes
    assert 8 * n <= got < 1.1 * 8 * n, got
    assert had >= 2 * 8 * n, had  # the measure sees the difference


@pytest.mark.parametrize("n", [1, 5, 1000])
def test_values_match_finite_differences_and_the_formula(n):
    mod = gradc.load_source(GAUSS)
    rng = np.random.default_rng(n)
    x, mu, ls = rng.standard_normal(n), 0.3, -0.2
    value, grads = mod.gauss_nll_value_and_grad(mu, ls, x)
    want_value, want_grads = by_hand(mu, ls, x)
    assert value == pytest.approx(want_value, rel=1e-13, abs=1e-13)
    assert np.allclose(grads, want_grads, rtol=1e-12, atol=1e-12)
    h = 1e-6
    for k, (dm, dl) in enumerate([(h, 0.0), (0.0, h)]):
        hi = mod.gauss_nll(mu + dm, ls + dl, x)
        lo = mod.gauss_nll(mu - dm, ls - dl, x)
        fd = (hi - lo) / (2 * h)
        assert grads[k] == pytest.approx(fd, rel=1e-6, abs=1e-7), (k, grads, fd)
    # the backward pass (not rescheduled) agrees
    out, cache = mod.gauss_nll_forward(mu, ls, x)
    assert np.allclose(mod.gauss_nll_backward(1.0, cache), grads, rtol=1e-12)


@pytest.mark.parametrize(
    "x",
    [
        np.array([1e154, 1e154, 1e154, -3.0]),  # squares finite, their sum inf
        np.array([1e200, 2.0]),  # a square overflows
        np.array([1.0, np.nan, 2.0]),
        np.array([np.inf, 1.0]),
        np.zeros(3),
    ],
    ids=["sum-overflows", "square-overflows", "nan", "inf", "zeros"],
)
def test_extreme_inputs_give_the_formulas_order(x):
    mod = gradc.load_source(GAUSS)
    with np.errstate(all="ignore"):
        got = mod.gauss_nll_value_and_grad(0.3, -0.2, x)
        want = by_hand(0.3, -0.2, x)
    flat = [got[0], *got[1]], [want[0], *want[1]]
    for a, b in zip(*flat):
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12), flat


def vg_graph(text: str, monkeypatch):
    """The seed-one graph of the first function of ``text``, before ``early_reads``."""
    with monkeypatch.context() as m:
        m.setattr(pipeline, "early_reads", identity)
        return lower_source(text, scalar=False)[0].value_and_grad


def test_the_pass_alone_moves_the_gradient_of_mu_before_the_square(monkeypatch):
    vg = vg_graph(GAUSS, monkeypatch)
    out = ER.early_reads(vg)
    assert out is not vg
    nodes = out.nodes
    # a topological order of the same nodes, results and names
    assert all(a < i for i, node in enumerate(nodes) for a in node.args)
    key = lambda f: sorted(  # noqa: E731
        repr((n.op, n.shape, n.attrs, n.name, tuple(f.nodes[a].op for a in n.args)))
        for n in f.nodes
    )
    assert key(out) == key(vg)
    assert [nodes[out.grads[k]].name for k in ("mu", "log_sigma")] == [
        "d_mu",
        "d_log_sigma",
    ]
    # d_mu (with its guard's branch) now comes before the value's (x - mu) / sigma
    d_mu = out.grads["mu"]
    r = next(i for i, n in enumerate(nodes) if n.op == "sub" and n.shape != ())
    scaled = [i for i, n in enumerate(nodes) if n.op == "div" and r in n.args]
    value = reachable(nodes, [out.output])
    first_value_read = min(i for i in scaled if i in value)
    assert d_mu < first_value_read, (d_mu, first_value_read)


def test_the_pass_leaves_a_graph_whose_arrays_end_where_they_end(monkeypatch):
    # the gradient reads the squares' array after the value's own last read: no move
    text = """
@wrt(w)
def f(w: Vector[n], s: Scalar) -> Scalar:
    return sum(exp(w) * s) + sum(w ** 2)
"""
    vg = vg_graph(text, monkeypatch)
    assert ER.early_reads(vg) is vg


def both_builds(text: str, monkeypatch) -> tuple[str, str]:
    """The module as emitted, and without the pass and the in-place writes of inlined
    arguments (bit for bit the same numbers: only the order and the memory differ)."""
    kw = {"jvp": True, "hvp": True}
    now = gradc.compile_source(text, **kw)
    with monkeypatch.context() as m:
        without(m, again=False)
        before = gradc.compile_source(text, **kw)
    return now, before


@pytest.mark.parametrize("chunk", [(0, 60), (240, 300), (480, 540)])
def test_every_function_gives_the_numbers_of_the_build_without(chunk, monkeypatch):
    found = builds_agree(chunk, lambda text: both_builds(text, monkeypatch), "er")
    # about one formula in five changes (seeds 0-119: 27)
    assert found >= 6, f"only {found} formulas of seeds {chunk} change"


def reductions_chain(n: int) -> str:
    """``n`` statements, each reading the previous array whole and as a sum."""
    lines = ["def chain(x: Vector[n], s: Scalar) -> Scalar:"]
    prev = "x"
    for k in range(1, n + 1):
        lines.append(f"    t{k} = tanh({prev}) * (sum({prev}) * s)")
        prev = f"t{k}"
    return "\n".join([*lines, f"    return sum({prev})"]) + "\n"


def test_the_pass_reads_each_node_a_bounded_number_of_times(monkeypatch):
    # a scalar per statement, each reading an array: the pass's work grows with the
    # graph, not with its square (a first version took 228 s on bench/compile_time.py's
    # chain of 2,000 scalars, every ancestor of every scalar walked)
    reads = []
    for n in (50, 200):
        vg = vg_graph(reductions_chain(n), monkeypatch)
        counted = CountingNodes(vg.nodes)
        ER.early_reads(dataclasses.replace(vg, nodes=counted))
        reads.append((len(vg.nodes), counted.reads))
    (small, r_small), (large, r_large) = reads
    assert r_large / r_small < 1.5 * large / small, reads
    # and a chain of scalars alone is left at once
    chain = (
        "def f(x: Scalar) -> Scalar:\n"
        + "".join(f"    x = sin(x) * x + {k}.0\n" for k in range(300))
        + "    return x\n"
    )
    vg = vg_graph(chain, monkeypatch)
    counted = CountingNodes(vg.nodes)
    assert ER.early_reads(dataclasses.replace(vg, nodes=counted)).nodes is counted
    assert counted.reads <= len(vg.nodes) + 1, counted.reads
