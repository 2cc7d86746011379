"""The language oracle: random formulas over the whole of SPEC section 1, checked against
a reference interpreter that shares no code with gradc.

Each seed of ``tests/language_gen.py`` is one formula file. It is compiled with
``gradc.load_source(text)`` and ``gradc.load_source(text, fuse=False)``, and each
build is checked against ``tests/reference.py`` (NumPy, node by node):

* the value (rtol 1e-9; NaN where the reference is NaN);
* the gradient (``f_grad``/``f_value_and_grad`` for a scalar output, ``f_backward`` with
  a random seed for an array output) against fourth-order central differences of the
  reference (rtol 1e-6 of the gradient's scale), at points at least 1e-6 from every kink;
* for an array output, a VJP/dot-product test: ``<seed, J v> == <J^T seed, v>``;
* aliasing: no result shares memory with an input, with the seed given to
  ``f_backward`` or with another result, and every result is writable;
* for a formula with ``where``: wherever the gradient of the formula with its untaken
  branches removed is finite, gradc's gradient has no NaN/inf (also at kinks).

A formula gradc refuses is a failure ("refused valid input"): the generator only builds
formulas the SPEC allows.

Short profile (the first 140 formulas and the first of each construct family they lack,
about 270): the default test run. Long profile (10,000 formulas, fused
and ``--no-fuse``), counts per construct family printed at the end:
``GRADC_LONG=1 python -m pytest -s -m long tests/test_language_oracle.py``; split over
processes with ``GRADC_SHARD=0/2`` and ``GRADC_SHARD=1/2``.
"""

from __future__ import annotations

import ast
import collections
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flat_input as F
import language_gen as G
import reference as R
import second_order as S

import gradc

LONG = os.environ.get("GRADC_LONG") == "1"
# The short profile: the first 140 seeds, plus the first seed after them of each family
# they lack (chosen by family, so the choice survives changes to the generator). These
# families, in which the oracle found bugs, must stay generated: where-NaN through a broadcast branch, mean over a slice past a
# symbolic size, clip with lo > hi, batched @, results that alias, powers at 0, norm
# over three axes, scalar-build exceptions, dimension expressions, broadcasting index
# arrays, repeating scatters, an einsum that is a view, comparisons as masks;
# convolution and pooling in every form of their attributes, max-pool windows with
# ties; one formula of each kind of loop (a value carried through a comparison too);
# empty slices read four ways (a Hessian of sum(-x[2:2] * 2.0) failed); and the two forms
# a rule rewrites, a norm squared and a mean of squares.
SENTINEL_FAMILIES = (
    "where-nan-broadcast",
    "where-shared",
    "slice-runtime",
    "slice-negative-step",
    "clip-inverted",
    "clip-one-sided",
    "numpy-operator",
    "clip-keywords",
    "matmul-batched",
    "result-alias",
    "pow-zero",
    "pow-input",
    "reduce-norm",
    "reduce-norm-squared",
    "reduce-norm-ord",
    "reduce-norm-positional",
    "softmax-by-hand",
    "softmax-by-hand-shifted",
    "reduce-mean-square",
    "scaled-product-sum",
    "scalar-domain",
    "slice-dims",
    "index-broadcast",
    "scatter-repeat",
    "logsumexp-large",
    "einsum",
    "compare-mask",
    "name-collision",
    "conv2d",
    "conv-default",
    "conv-stride-pos",
    "conv-stride-pad-pos",
    "conv-stride-kw",
    "conv-pad-kw",
    "conv-stride-pad-kw",
    "conv-stride-pos-pad-kw",
    "conv-pad-stride-kw",
    "max_pool2d",
    "avg_pool2d",
    "max-pool-ties",
    "pool-size-pos",
    "pool-size-kw",
    "pool-size-stride-pos",
    "pool-size-pos-stride-kw",
    "pool-size-stride-kw",
    "loop-rows",
    "loop-carried",
    "loop-nested",
    "loop-accumulate",
    "loop-reverse",
    "loop-slice",
    "loop-compare",
    "loop-parts",
    "slice-empty-vector",
    "slice-empty-axis0",
    "slice-empty-axis1",
    "slice-empty-matmul",
    "linalg-inv",
    "linalg-det",
    "linalg-solve-vector",
    "linalg-solve-matrix",
    "linalg-solve-stack",
    "linalg-stack",
    "linalg-cholesky",
    "linalg-tril",
    "linalg-triu",
)
#: how many formulas of the short profile at least have ``f_hessian`` through a loop
LOOP_HESSIANS = 2


def loop_vector(formula: G.Formula) -> tuple[str, int] | None:
    """The first Vector input of a loop formula and its position (None if it has
    none): ``vector_hessian`` differentiates it alone."""
    return first_vector(formula) if "loop" in formula.families else None


def first_vector(formula: G.Formula, kind: str = "Vector") -> tuple[str, int] | None:
    """The first input of ``formula`` annotated ``kind`` (``Vector`` or ``Scalar``) and its
    position (None if it has none)."""
    found = inputs_of_kind(formula, kind)
    return found[0] if found else None


def chosen_input(formula: G.Formula, kind: str) -> tuple[str, int] | None:
    """One input of ``formula`` annotated ``kind`` and its position, chosen by the seed
    (the seed modulo their count: over many seeds every position is differentiated
    alone, not only the first), or None if it has none."""
    found = inputs_of_kind(formula, kind)
    return found[formula.seed % len(found)] if found else None


def inputs_of_kind(formula: G.Formula, kind: str) -> list[tuple[str, int]]:
    """The inputs of ``formula`` annotated ``kind`` and their positions, in order."""
    fn = next(
        n
        for n in ast.parse(formula.text).body
        if isinstance(n, ast.FunctionDef) and n.name == formula.name
    )
    found = []
    for k, a in enumerate(fn.args.args):
        ann = a.annotation
        head = ast.unparse(ann.value if isinstance(ann, ast.Subscript) else ann)
        if head == kind:
            found.append((a.arg, k))
    return found


def loop_hessian(formula: G.Formula) -> bool:
    """Whether ``formula`` is a loop formula with a scalar value and a Vector input: its
    ``f_hessian`` is checked (``vector_hessian``), its tangents through the loop."""
    signature = formula.text.split(f"def {formula.name}(")[1]
    return bool(loop_vector(formula)) and "-> Scalar:\n" in signature


def sentinel_seeds(start: int = 140, stop: int = 5_000) -> tuple:
    """The first seed from ``start`` on of each construct family that the formulas below
    ``start`` do not have (``SENTINEL_FAMILIES`` among them), and the first
    ``LOOP_HESSIANS`` whose ``f_hessian`` is checked through a loop: every kind of NumPy
    spelling, unary function, rank pair of arithmetic and ``@``, ... that the generator
    builds is checked by the short profile (``test_short_profile_reaches_every_family``
    keeps ``stop`` far enough)."""
    reached = set().union(*(G.generate(s).families for s in range(start)))
    found: dict[str, int] = {}
    hessians: list[int] = []
    for seed in range(start, stop):
        formula = G.generate(seed)
        for fam in sorted(formula.families - reached):
            found.setdefault(fam, seed)
        if len(hessians) < LOOP_HESSIANS and loop_hessian(formula):
            hessians.append(seed)
    return tuple(sorted(set(found.values()) | set(hessians)))


SHORT_SEEDS = (*range(140), *sentinel_seeds())
LONG_COUNT = 10_000
VALUE_RTOL = 1e-9
GRAD_RTOL = 1e-6
MAX_MAGNITUDE = 1e6

long_only = pytest.mark.skipif(
    not LONG, reason="long profile: set GRADC_LONG=1 and use -m long"
)


class OracleFailure(AssertionError):
    """A mismatch between gradc and the reference, with everything to reproduce it."""


# ----------------------------------------------------------------------------- helpers


def fail(formula: G.Formula, fuse: bool, what: str) -> None:
    """Raise an ``OracleFailure`` showing the seed, the formula, the inputs, ``what``."""
    inputs = "\n".join(
        f"  {i}: {np.array2string(np.asarray(a), precision=17)}"
        for i, a in enumerate(formula.args)
    )
    raise OracleFailure(
        f"seed {formula.seed} (fuse={fuse}), families {sorted(formula.families)}\n"
        f"{what}\n--- formula ---\n{formula.text}--- inputs ---\n{inputs}"
    )


def fresh_args(formula: G.Formula) -> list:
    """Copies of the inputs (so each call sees untouched arrays)."""
    return [np.array(a) if isinstance(a, np.ndarray) else a for a in formula.args]


def as_tuple(grads, count: int) -> tuple:
    """Gradients as a tuple: one result when one input is differentiated."""
    if count == 1:
        return (grads,)
    return tuple(grads)


def values_match(actual, expected, atol: float = 0.0) -> str | None:
    """None when ``actual`` equals ``expected`` (rtol 1e-9 of the largest entry, plus
    ``atol``; NaN for NaN, inf for inf), else why."""
    expected = np.asarray(expected, dtype=float)
    try:
        got = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        return f"value is not numeric: {actual!r}"
    if got.shape != expected.shape:
        return f"value shape {got.shape}, expected {expected.shape}"
    nan = np.isnan(expected)
    if not np.array_equal(np.isnan(got), nan):
        return f"NaN pattern differs:\n got {got}\n expected {expected}"
    scale = float(np.max(np.abs(expected[~nan]), initial=0.0))
    ok = np.abs(got - expected) <= VALUE_RTOL * scale + atol
    ok |= nan | (got == expected)
    if not np.all(ok):
        return f"value mismatch:\n got {got!r}\n expected {expected!r}"
    return None


def value_atol(formula: G.Formula) -> float:
    """Rounding noise of float64 on inputs of this size: 1e-12 times the largest input
    (at least 1). Cancellation (``log_softmax`` of values near 1000) leaves absolute
    errors of that order even in the reference."""
    sizes = [float(np.max(np.abs(a), initial=0.0)) for a in formula.args]
    return 1e-12 * max([1.0] + sizes)


def alias_problems(results: dict, inputs: list) -> list:
    """Every result (``label -> value``) that shares memory with an input (or the seed)
    or with another result of the same call, or that is read-only."""
    out = []
    arrays = [(k, r) for k, r in results.items() if isinstance(r, np.ndarray)]
    for i, (label, r) in enumerate(arrays):
        if not r.flags.writeable:
            out.append(f"{label} is read-only")
        for j, a in enumerate(inputs):
            if isinstance(a, np.ndarray) and np.shares_memory(r, a):
                what = (
                    "the seed"
                    if j == len(inputs) - 1 and seed_last(inputs)
                    else (f"input {j}")
                )
                out.append(f"{label} shares memory with {what}")
        for other_label, other in arrays[i + 1 :]:
            if np.shares_memory(r, other):
                out.append(f"{label} and {other_label} share memory")
    return out


def seed_last(inputs: list) -> bool:
    """Whether the last entry of ``inputs`` is the seed given to ``f_backward``."""
    return getattr(inputs, "has_seed", False)


class Inputs(list):
    """The arrays a result must not alias; ``has_seed`` when the last is the seed."""

    has_seed = False


def grads_match(
    got: tuple, fd: list, args: list, positions: list, value=0.0
) -> str | None:
    """None when every finite reference entry matches gradc's (rtol 1e-6 of the scale
    of the gradient: its largest entry over all inputs, at least 1e-4 and at least
    1e-7 |value|, the finite differences' own noise floor: rounding of the value,
    about 1e-16 |value|, over steps about 1e-3), else a description of the first
    mismatch."""
    finite = [np.abs(r[np.isfinite(r)]) for r in fd]
    values = np.abs(np.asarray(value, dtype=float))
    floor = 1e-7 * float(np.max(values, initial=0.0, where=np.isfinite(values)))
    scale = max([1e-4, floor] + [float(np.max(f)) for f in finite if f.size])
    for g, ref, pos in zip(got, fd, positions):
        want_shape = np.shape(args[pos])
        if np.shape(g) != want_shape:
            return (
                f"gradient of input {pos}: shape {np.shape(g)}, expected {want_shape}"
            )
        g = np.asarray(g, dtype=float)
        ok = np.isfinite(ref)
        bad = ok & ~(np.abs(g - ref) <= GRAD_RTOL * scale)
        if bad.any():
            return (
                f"gradient of input {pos} mismatch at {np.argwhere(bad)[:4].tolist()}:\n"
                f" gradc     {g!r}\n finite-d. {ref!r}"
            )
    return None


# ----------------------------------------------------------------------------- the check


class Stats:
    """Counts for the long profile's report."""

    def __init__(self):
        self.total = collections.Counter()
        self.family = collections.defaultdict(collections.Counter)

    def add(self, formula: G.Formula, key: str) -> None:
        self.total[key] += 1
        for fam in formula.families:
            self.family[fam][key] += 1


STATS = Stats()


def load_second_order(formula: G.Formula, fuse: bool, stats: Stats):
    """The module with ``--jvp --hvp`` (``f_hessian`` of one vector input through loops
    too, since its tangents are pushed together through them)."""
    return gradc.load_source(formula.text, fuse=fuse, jvp=True, hvp=True)


def check_build(formula: G.Formula, fuse: bool, ref: R.FormulaReference, stats: Stats):
    """All checks of one build of one formula (raises ``OracleFailure``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = load_second_order(formula, fuse, stats)
    except Exception as exc:  # noqa: BLE001 - every refusal is reported
        fail(formula, fuse, f"refused valid input: {type(exc).__name__}: {exc}")
    stats.add(formula, "compiled")
    name = formula.name
    ref_value, rec = ref.run(name, formula.args)
    fns = {k: getattr(mod, f"{name}{k}") for k in ("", "_forward", "_backward")}
    args = fresh_args(formula)
    with np.errstate(all="ignore"):
        try:
            value = fns[""](*args)
            value2, cache = fns["_forward"](*args)
        except ValueError as exc:
            if (
                rec.clamped
                and "a slice on line" in str(exc)
                and "parameter '" in str(exc)
            ):
                stats.add(formula, "refused-clamped-slice")  # README: sizes are checked
                return
            fail(formula, fuse, f"value raised ValueError: {exc}")
        except Exception as exc:  # noqa: BLE001
            fail(formula, fuse, f"value raised {type(exc).__name__}: {exc}")
    atol = value_atol(formula)
    for v in (value, value2):
        why = values_match(v, ref_value, atol)
        if why:
            fail(formula, fuse, why)
    for j, (a, b) in enumerate(zip(args, formula.args)):
        if not np.array_equal(np.asarray(a), np.asarray(b)):
            fail(formula, fuse, f"input {j} was modified by the call")
    problems = alias_problems({"f value": value}, args)
    problems += alias_problems({"f_forward value": value2}, args)
    positions = ref.wrt(name)
    scalar_out = np.shape(ref_value) == ()
    rng = np.random.default_rng(formula.seed + 7)
    seed = None if scalar_out else rng.normal(size=np.shape(ref_value))
    with np.errstate(all="ignore"):
        try:
            if scalar_out:
                grads = mod.__dict__[f"{name}_grad"](*args)
                v3, grads2 = mod.__dict__[f"{name}_value_and_grad"](*args)
                why = values_match(v3, ref_value, atol)
                if why:
                    fail(formula, fuse, "value_and_grad: " + why)
                got2 = as_tuple(grads2, len(positions))
            else:
                seed_arg = np.array(seed)
                grads = fns["_backward"](seed_arg, cache)
                if not np.array_equal(seed_arg, seed):
                    fail(formula, fuse, "f_backward modified its seed")
                got2 = ()
        except OracleFailure:
            raise
        except Exception as exc:  # noqa: BLE001
            fail(formula, fuse, f"gradient raised {type(exc).__name__}: {exc}")
    got = as_tuple(grads, len(positions))
    inputs = Inputs(args + ([seed_arg] if seed is not None else []))
    inputs.has_seed = seed is not None
    call = "f_grad" if scalar_out else "f_backward"
    problems += alias_problems(
        {f"{call} gradient of input {p}": g for p, g in zip(positions, got)}, inputs
    )
    problems += alias_problems(
        {f"f_value_and_grad gradient of input {p}": g for p, g in zip(positions, got2)},
        inputs,
    )
    if problems:
        fail(formula, fuse, "aliasing: " + "; ".join(problems))
    has_where = "where(" in formula.text
    if has_where:
        frozen = R.reference_grad(ref, name, formula.args, seed, frozen=True)
        for g, ref_g, pos in zip(got, frozen, positions):
            leak = np.isfinite(ref_g) & ~np.isfinite(np.asarray(g, dtype=float))
            if leak.any():
                fail(
                    formula,
                    fuse,
                    f"NaN/inf leaks into the gradient of input {pos} "
                    f"(untaken where branch) at {np.argwhere(leak).tolist()}: {g!r}",
                )
    if R.near_kink(rec):
        stats.add(formula, "skipped-near-kink")
        return
    big = np.any(np.abs(np.asarray(ref_value)) > MAX_MAGNITUDE)
    if big or not np.all(np.isfinite(ref_value)):
        stats.add(formula, "skipped-nonfinite")
        return
    fd = R.reference_grad(ref, name, formula.args, seed)
    why = grads_match(got, fd, formula.args, positions, ref_value)
    if why is None and got2:
        why = grads_match(got2, fd, formula.args, positions, ref_value)
        why = why and "value_and_grad: " + why
    if why:
        fail(formula, fuse, why)
    if not scalar_out:
        vjp_check(formula, fuse, ref, got, seed, positions, rng)
    why = second_order(formula, mod, ref, rec, positions, ref_value, rng)
    why = why or vector_hessian(formula, fuse, ref, rec, ref_value, rng, stats)
    if why:
        fail(formula, fuse, why)
    stats.add(formula, "checked")


def second_order(formula, mod, ref, rec, positions, value, rng) -> str | None:
    """``f_jvp`` against the reference's directional derivative; for a scalar output,
    ``f_hvp`` against differences of ``f_grad`` (at points whose stencil stays on the
    centre's branches), its symmetry, ``f_hessp`` and ``f_hessian`` (``second_order.py``)."""
    name, args = formula.name, fresh_args(formula)
    dirs = S.directions(rng, args, positions)
    dd = R.directional_derivative(ref, name, formula.args, dirs)
    why = S.check_jvp(mod, name, args, positions, dirs, value, dd, value_atol(formula))
    if why or np.shape(value) != () or not hasattr(mod, f"{name}_hvp"):
        return why

    def smooth(moved: list) -> bool:
        return R.same_branches(ref.run(name, moved)[1], rec)

    return S.check_hvp(mod, name, args, positions, rng, smooth=smooth)


def vector_hessian(formula, fuse, ref, rec, value, rng, stats) -> str | None:
    """``f_hessian`` with respect to one Vector input alone (``@wrt``): a loop formula's
    first Vector input, its n tangents pushed together through the loops in one pass;
    a convolution or pooling formula's image, passed flat (``flat_input.py``), its
    tangents folded into the images; any other formula's Vector input chosen by the seed
    (``chosen_input``), its n tangents batched through every op (the batching rule of a
    scatter missed values of lower rank: ``sum(-x[1:] * 2.0)``), or with none a Scalar
    input chosen the same way. Checked as ``second_order`` checks (``check_hvp``:
    f_hvp against differences of f_grad, symmetric, f_hessian symmetric with
    ``H v = f_hvp``)."""
    if np.shape(value) != ():
        return None
    name, text, args = formula.name, formula.text, fresh_args(formula)
    found, through, unflatten = loop_vector(formula), "loop", list
    flat = None if found else F.flatten_windowed_input(text, name, args)
    if flat is not None:
        found, through, unflatten = (flat.name, flat.position), "conv", flat.unflatten
        text, args = flat.text, flat.args
    if (
        found is None
    ):  # any other formula: its first Vector input, else its first Scalar
        found, through = chosen_input(formula, "Vector"), "vector"
    if found is None:
        found, through = chosen_input(formula, "Scalar"), "scalar"
        if found is None:
            return None
    x, position = found
    text = re.sub(
        rf"^(@wrt\([^)]*\)\n)?def {name}\(",
        f"@wrt({x})\ndef {name}(",
        text,
        count=1,
        flags=re.M,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = gradc.load_source(text, fuse=fuse, hvp=True)
    if not hasattr(mod, f"{name}_hessian"):
        return f"no f_hessian with @wrt({x})"
    stats.add(formula, f"hessian-through-{through}")
    if through != "conv":  # (a convolution's image is passed flat here)
        why = alone_grad(text, mod, name, args, position, value)
        if why:
            return f"with @wrt({x}) alone: " + why

    def smooth(moved: list) -> bool:
        return R.same_branches(ref.run(name, unflatten(moved))[1], rec)

    return S.check_hvp(mod, name, args, [position], rng, smooth=smooth)


def alone_grad(text: str, mod, name: str, args: list, position: int, value):
    """``f_grad`` of the build that differentiates one input alone against the
    reference's differences of the same text (``grads_match``): the Hessian check
    compares ``f_hvp`` with differences of gradc's own ``f_grad``, which a gradient wrong
    only when the other inputs are not differentiated passes (a loop's reverse pass
    reading a view after zeroing it, under ``@wrt(h0)``, was such a bug)."""
    fd = R.reference_grad(R.FormulaReference(text), name, args)
    with np.errstate(all="ignore"):
        got = mod.f_grad(*args)
    return grads_match([got], fd, args, [position], value)


def vjp_check(formula, fuse, ref, got, seed, positions, rng) -> None:
    """``<seed, J v>`` by differences of the reference equals ``<J^T seed, v>``."""
    dirs = [rng.normal(size=np.shape(formula.args[p])) for p in positions]
    dd = R.directional_derivative(ref, formula.name, formula.args, dirs)
    if dd is None:
        return
    lhs = float(np.sum(seed * dd))
    terms = [np.asarray(g, dtype=float) * d for g, d in zip(got, dirs)]
    rhs = float(sum(np.sum(t) for t in terms))
    scale = float(np.sum(np.abs(seed * dd))) + sum(
        float(np.sum(np.abs(t))) for t in terms
    )
    if not abs(lhs - rhs) <= GRAD_RTOL * max(scale, 1e-4):
        fail(formula, fuse, f"VJP test: <seed, J v> = {lhs!r}, <J^T seed, v> = {rhs!r}")


def check_formula(seed: int, stats: Stats = STATS) -> None:
    """Generate formula ``seed`` and check its fused and unfused builds."""
    formula = G.generate(seed)
    stats.add(formula, "generated")
    ref = R.FormulaReference(formula.text)
    for fuse in (True, False):
        try:
            check_build(formula, fuse, ref, stats)
        except OracleFailure:
            stats.add(formula, "failures")
            raise


# ----------------------------------------------------------------------------- profiles


@pytest.mark.parametrize("seed", SHORT_SEEDS)
def test_language_short(seed):
    check_formula(seed)


def shard() -> tuple[int, int]:
    """``GRADC_SHARD=i/n``: this process checks the seeds ``s`` with ``s % n == i``."""
    text = os.environ.get("GRADC_SHARD", "0/1")
    i, n = (int(p) for p in text.split("/"))
    return i, n


def report(stats: Stats, elapsed: float) -> str:
    """The long profile's counts, overall and per construct family."""
    keys = [
        "generated",
        "compiled",
        "checked",
        "skipped-near-kink",
        "skipped-nonfinite",
        "refused-clamped-slice",
        "hessian-through-loop",
        "hessian-through-conv",
        "hessian-through-vector",
        "hessian-through-scalar",
        "failures",
    ]
    lines = [
        "overall: "
        + ", ".join(f"{k} {stats.total[k]}" for k in keys)
        + f" ({elapsed:.0f} s; compiled/checked count both builds)",
        f"{'family':28s} " + " ".join(f"{k:>17s}" for k in keys),
    ]
    for fam in sorted(stats.family):
        c = stats.family[fam]
        lines.append(f"{fam:28s} " + " ".join(f"{c[k]:17d}" for k in keys))
    return "\n".join(lines)


@pytest.mark.long
@long_only
def test_language_long():
    i, n = shard()
    stats = Stats()
    failures = []
    t0 = time.monotonic()
    for seed in range(i, LONG_COUNT, n):
        try:
            check_formula(seed, stats)
        except OracleFailure as exc:
            failures.append(str(exc))
        if stats.total["generated"] % 500 == 0:
            print(f"[language] {dict(stats.total)}", file=sys.__stderr__, flush=True)
    print("\n" + report(stats, time.monotonic() - t0), file=sys.__stderr__, flush=True)
    assert not failures, f"{len(failures)} failures; first:\n" + "\n\n".join(
        failures[:3]
    )


def test_every_sentinel_family_is_generated():
    """Each family in which the oracle found a bug is in the short profile (a renamed
    family would otherwise drop out of it silently)."""
    reached = set().union(*(G.generate(s).families for s in SHORT_SEEDS))
    assert set(SENTINEL_FAMILIES) <= reached, set(SENTINEL_FAMILIES) - reached


def test_short_profile_reaches_every_family():
    """Every construct family of the generator's first 20,000 formulas is in the short
    profile (71 of 228 were not, before: ``cumsum``, each unary function alone, batched
    ``@`` of ranks 2 and 3, ``log_softmax``, ...; a family first built past
    ``sentinel_seeds``' scan fails here)."""
    short = set().union(*(G.generate(s).families for s in SHORT_SEEDS))
    built = set().union(*(G.generate(s).families for s in range(20_000)))
    assert built <= short, sorted(built - short)


def test_short_profile_reaches_hessians_through_loops():
    """Loop formulas of the short profile with a scalar value and a Vector input get
    ``f_hessian`` of it checked (``vector_hessian``): its tangents go through loops."""
    found = [s for s in SHORT_SEEDS if loop_hessian(G.generate(s))]
    assert len(found) >= LOOP_HESSIANS, found


def windowed_hessians(seeds) -> set[str]:
    """The convolution and pooling operations whose image ``vector_hessian`` passes flat
    and differentiates alone in the formulas of ``seeds`` (those with a scalar value)."""
    reached = set()
    for seed in seeds:
        f = G.generate(seed)
        if not f.families & set(F.WINDOWED):
            continue
        scalar = "-> Scalar:\n" in f.text.split(f"def {f.name}(")[1]
        if scalar and F.flatten_windowed_input(f.text, f.name, f.args):
            reached |= f.families & set(F.WINDOWED)
    return reached


def test_profiles_reach_hessians_through_convolution():
    """``f_hessian`` of a convolution's or pooling's image (passed flat) is checked in
    the short profile for conv2d and max_pool2d, and in the long one for all three."""
    assert {"conv2d", "max_pool2d"} <= windowed_hessians(SHORT_SEEDS)
    assert windowed_hessians(range(LONG_COUNT)) == set(F.WINDOWED)
