"""``where`` of scalars on the NumPy target as Python's conditional (issue 16):
``x if c else z`` takes 20 ns where ``np.where(c, x, z)`` on scalars takes 1.3 us and
gives a 0-d array. A norm's guard at 0 (``cosine``), a Scalar input's kink, and every
kink of the functions scalarised over small literal shapes are such ``where``s.

Checked: the emitted text of the guard; that a branch which may be a 0-d array keeps
``np.where`` (``d_b = x if c else z; d_b += g`` would write into ``x``); and, over the
language generator's formulas whose module changes, every function (value, forward and
backward, value and gradient, ``f_jvp``, ``f_hvp``, ``f_hessian``) at the formula's
point, at zeros (ties: ``x1 == x2`` holds) and at extreme values, against the module
built as before (``np.where``), bit for bit, exceptions included."""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc.core import printer as P
from gradc.core.ir import Node
from gradc.core.prim import NUMPY, PRIMS
from gradc.ops.common import zero_d_array
from gradc.ops.spelling import as_float

sys.path.insert(0, str(Path(__file__).parent))
import language_gen as G  # noqa: E402
from test_python_floats import calls, leaves  # noqa: E402

COSINE = """
@wrt(a)
def cosine(a: Vector[n], b: Vector[n]) -> Scalar:
    return dot(a, b) / (norm(a) * norm(b))
"""


def same(a, b) -> bool:
    """Equal results, bit for bit but for the sign of a NaN (-0.0 unlike 0.0): IEEE 754
    leaves a NaN's sign unspecified, and NumPy's loops on a 0-d array and on a scalar give
    either (seed 609's ``f_jvp`` at ``x1 = -inf``)."""
    la, lb = leaves(a), leaves(b)
    return len(la) == len(lb) and all(
        x.shape == y.shape
        and np.array_equal(x, y, equal_nan=True)
        and np.array_equal(np.signbit(x) & ~np.isnan(x), np.signbit(y) & ~np.isnan(y))
        for x, y in zip(la, lb)
    )


def with_np_where(emit, a, ctx):
    """The spelling before: ``np.where`` on scalars too."""
    return P.call("np.where", a[0], as_float(a[1]), as_float(a[2]))


def both_builds(text: str, monkeypatch) -> tuple[str, str]:
    """The module as emitted, and as before: ``np.where`` on scalars, and a ``where`` or an
    index of a scalar result taken for a 0-d array (a returned scalar wrapped in
    ``float``)."""
    kw = {"jvp": True, "hvp": True}
    now = gradc.compile_source(text, **kw)
    where, getitem = PRIMS["where"], PRIMS["getitem"]
    spellings = {**where.spellings, NUMPY: with_np_where}
    with monkeypatch.context() as m:
        m.setitem(PRIMS, "where", replace(where, spellings=spellings, zero_d=True))
        m.setitem(PRIMS, "getitem", replace(getitem, zero_d=True))
        before = gradc.compile_source(text, **kw)
    return now, before


def test_a_norms_guard_is_a_conditional(monkeypatch):
    now, before = both_builds(COSINE, monkeypatch)
    assert "(1.0 if out_t1 == 0.0 else out_t1)" in now
    assert "np.where(out_t1 == 0.0, 1.0, out_t1)" in before
    mods = [
        gradc.import_module_source(t, f"sw_cos{i}") for i, t in enumerate((now, before))
    ]
    rng = np.random.default_rng(0)
    for a, b in [
        (rng.normal(size=5), rng.normal(size=5)),
        (np.zeros(5), rng.normal(size=5)),  # the guard's branch: a norm of 0
        (np.full(5, 1e-200), np.ones(5)),
    ]:
        with np.errstate(all="ignore"):
            got, want = (m.cosine_value_and_grad(a, b) for m in mods)
        assert same(got, want), (a, got, want)
    a, b = rng.normal(size=5), rng.normal(size=5)
    value, grad = mods[0].cosine_value_and_grad(a, b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    np.testing.assert_allclose(grad, b / (na * nb) - value * a / na**2, rtol=1e-12)


def test_a_branch_that_may_be_a_0d_array_keeps_np_where(monkeypatch):
    # reshape(v, ()) is a 0-d array (a view of the input v): the where keeps np.where,
    # whose result is a new array; x[0] is a NumPy scalar: a conditional
    text = """
@wrt(v, x)
def f(t: Scalar, v: Vector[1], x: Vector[n]) -> Scalar:
    u = where(t > 0, reshape(v, ()), 1.0) + where(t > 1, x[0], 0.0)
    return u * sum(x) + u * u
"""
    now, before = both_builds(text, monkeypatch)
    assert "np.where(u_t1, np.reshape(v, ()), 1.0) + (x[0] if u_t2 else 0.0)" in now
    mod = gradc.import_module_source(now, "sw_reshape")
    x, v = np.array([1.0, 2.0]), np.array([0.25])
    for t in (-0.5, 0.5, 1.5):
        u = (0.25 if t > 0 else 1.0) + (1.0 if t > 1 else 0.0)
        du = 3.0 + 2.0 * u  # d(3 u + u * u)/du
        value, (d_v, d_x) = mod.f_value_and_grad(t, v, x)
        assert value == 3.0 * u + u * u
        assert d_v.tolist() == [du if t > 0 else 0.0]
        assert d_x.tolist() == [u + (du if t > 1 else 0.0), u]
        assert v.tolist() == [0.25]


EXTREMES = (0.0, -0.0, 1e300, -math.inf, math.nan)
CHUNKS = [(lo, lo + 60) for lo in range(0, 720, 120)]


def points(formula: G.Formula) -> list[list]:
    """The formula's point, all zeros, and each float input at each of ``EXTREMES``."""
    floats = [k for k, a in enumerate(formula.args) if np.asarray(a).dtype.kind == "f"]
    out = [
        list(formula.args),
        [np.zeros_like(a) if k in floats else a for k, a in enumerate(formula.args)],
    ]
    for k in floats:
        for v in EXTREMES:
            args = list(formula.args)
            args[k] = v if np.ndim(args[k]) == 0 else np.full_like(args[k], v)
            out.append(args)
    return out


def builds_agree(chunk, builds, tag: str) -> int:
    """How many of the generator's formulas of seeds ``chunk`` have two different modules
    ``builds(text) -> (now, before)``; asserts that every function of each gives the same
    numbers in both (``same``) at ``points``, exceptions included."""
    found = 0
    for seed in range(*chunk):
        formula = G.generate(seed)
        try:
            now, before = builds(formula.text)
        except Exception:  # noqa: BLE001 - refusals are test_language_oracle's concern
            continue
        if now == before:
            continue
        found += 1
        mods = [
            gradc.import_module_source(t, f"{tag}{seed}_{i}")
            for i, t in enumerate([now, before])
        ]
        for args in points(formula):
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                got = calls(mods[0], formula.name, list(args))
                want = calls(mods[1], formula.name, list(args))
            for kind in want:
                assert (
                    same(got[kind], want[kind])
                    if not isinstance(want[kind], str)
                    else got[kind] == want[kind]
                ), f"seed {seed}, {kind} at {args!r}: {got[kind]!r} != {want[kind]!r}"
    return found


@pytest.mark.parametrize("chunk", CHUNKS, ids=lambda c: f"seeds{c[0]}-{c[1]}")
def test_the_conditional_gives_the_numbers_of_np_where(chunk, monkeypatch):
    found = builds_agree(chunk, lambda text: both_builds(text, monkeypatch), "sw")
    # about one formula in six has a where of scalars
    assert found >= 4, f"only {found} formulas of seeds {chunk} change"


class CountingNodes(list):
    """A graph's node list that counts its reads."""

    reads = 0

    def __getitem__(self, k):
        self.reads += 1
        return super().__getitem__(k)


def test_the_0d_question_reads_each_node_a_bounded_number_of_times():
    # the printer asks it of every scalar where: a walk of every ancestor each time made
    # a 2,000-statement chain (bench/compile_time.py's MIXED) compile in 50 s, not 5
    n = 2000
    nodes = CountingNodes([Node("param", (), (), "float", (("name", "x"),))])
    nodes += [Node("add", (k - 1, 0), (), "float") for k in range(1, n + 1)]
    memo: dict = {}
    assert not any(zero_d_array(nodes, k, memo) for k in range(len(nodes)))
    assert nodes.reads <= 2 * len(nodes), nodes.reads
