"""The numba target's vectorisable exp, expm1, log, log1p, tanh, sigmoid and softplus
(backend/numba_vector_math.py, issue 21): each helper of the emitted module against
``math`` (within 2 ulp; sigmoid and softplus against their libm formulas) and against
the exact value (float64 rounding of an 80-bit long double result: within 1 ulp) over
dense sweeps of its domain, subnormals included, and the special values exactly (inf,
nan, -0.0, the limits of overflow and underflow); kernels call them in place of libm,
with no size limit, their loop vectorised; the elementwise chain at n = 10**5 against
the NumPy target and central differences."""

from __future__ import annotations

import functools
import math
import re

import numba_cases
import numpy as np
import pytest
from numba_cases import HAVE_NUMBA, ROOT, close, needs_numba

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

if HAVE_NUMBA:
    import llvmlite.binding
    import numba

# a helper under the flags of a kernel calling it (products and sums fused into FMAs,
# where the CPU has them), and without fast-math flags
FLAGS = {"fma": {"fastmath": {"contract"}}, "plain": {}}


@functools.cache
def applier(helper, flags: str):
    """A jitted loop applying ``helper`` to an array. The helper is a global of the loop
    (as in a kernel), so numba inlines it and the loop's ``flags`` are those it runs
    under (passed as an argument, it would run as compiled on its own)."""

    @numba.njit(cache=False, error_model="numpy", **FLAGS[flags])
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = helper(x[i])
        return out

    return apply


SOURCE = '''"""Every function that has a vectorisable helper, in one kernel."""


def every(x: Vector[n]) -> Scalar:
    return sum(
        exp(x) + expm1(x) + log(x) + log1p(x) + tanh(x) + sigmoid(x) + softplus(x)
    )
'''
CHAIN = ROOT / "bench" / "cases" / "elementwise.grad"


@pytest.fixture(autouse=True)
def shared_cache_dir(monkeypatch):
    """load_source writes numba modules to GRADC_CACHE_DIR (a file: numba's cache), the
    run's one directory (``numba_cases.cache_dir``)."""
    monkeypatch.setenv("GRADC_CACHE_DIR", numba_cases.cache_dir())


@pytest.fixture(scope="module")
def every(tmp_path_factory):
    """The numba module of ``SOURCE``: its helpers are numba functions."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "nb"))
        return load_source(SOURCE, filename="every.grad", target="numba")


def ulps(a, b) -> np.ndarray:
    """The distance of float64 ``a`` and ``b`` in units in the last place (the count of
    doubles between them, across zero too; 0 for two nans, 2**62 for one)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)

    def ordered(v):
        i = v.view(np.int64)
        return np.where(i < 0, np.int64(-(2**63)) - i, i)

    with np.errstate(over="ignore"):
        d = np.abs(ordered(a) - ordered(b))
    d = np.where(np.isnan(a) & np.isnan(b), 0, d)
    return np.where(np.isnan(a) != np.isnan(b), 2**62, d)


def libm(name: str, v: float) -> float:
    """The function through ``math`` (sigmoid, softplus: the scalar helpers' formulas),
    its exceptions read as the IEEE results."""
    funcs = {
        "sigmoid": lambda t: 1.0 / (1.0 + math.exp(-t)) if t > -700.0 else math.exp(t),
        "softplus": lambda t: max(t, 0.0) + math.log1p(math.exp(-abs(t))),
    }
    try:
        return (funcs[name] if name in funcs else getattr(math, name))(v)
    except OverflowError:
        return math.inf
    except ValueError:
        at_pole = (name, v) in (("log", 0.0), ("log1p", -1.0))
        return -math.inf if at_pole else math.nan


def exact(name: str, x: np.ndarray) -> np.ndarray:
    """The function in 80-bit long double, rounded to float64."""
    v = x.astype(np.longdouble)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            out = 1 / (1 + np.exp(-v))
        elif name == "softplus":
            out = np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))
        else:
            out = getattr(np, name)(v)
        return out.astype(np.float64)


RNG = np.random.default_rng(21)


def span(lo: float, hi: float, n: int = 100_000) -> np.ndarray:
    """An even grid and uniform draws over [lo, hi]."""
    return np.concatenate([np.linspace(lo, hi, n), RNG.uniform(lo, hi, n)])


def magnitudes(lo: int, hi: int, n: int = 50_000) -> np.ndarray:
    """Values of both signs with decimal exponents uniform in [lo, hi]."""
    return 10.0 ** RNG.uniform(lo, hi, n) * RNG.choice([-1.0, 1.0], n)


SWEEPS = {
    "exp": np.concatenate([span(-746, 710), span(-2, 2), span(-745.2, -708)]),
    "expm1": np.concatenate([span(-45, 710), span(-2, 2), magnitudes(-320, 0)]),
    "log": np.concatenate([np.abs(magnitudes(-323, 308)), span(0.5, 2)]),
    "log1p": np.concatenate(
        [span(-1, 4), np.abs(magnitudes(-320, 308)), -np.abs(magnitudes(-320, 0))]
    ),
    "tanh": np.concatenate([span(-25, 25), span(-1, 1), magnitudes(-320, 2)]),
    "sigmoid": np.concatenate([span(-800, 800), span(-40, 40)]),
    "softplus": np.concatenate([span(-800, 800), span(-40, 40)]),
}
# (max ulp against math, against the exact value)
BOUNDS = {name: (2, 1) for name in SWEEPS}
HELPERS = {
    "exp": "_vexp",
    "expm1": "_vexpm1",
    "log": "_vlog",
    "log1p": "_vlog1p",
    "tanh": "_vtanh",
    "sigmoid": "_vsigmoid",
    "softplus": "_vsoftplus",
}
LONG_DOUBLE = np.finfo(np.longdouble).nmant >= 63


@pytest.mark.parametrize("flags", ["fma", "plain"])
@pytest.mark.parametrize("name", list(SWEEPS))
def test_helpers_are_within_their_error_bounds(every, name, flags):
    x = SWEEPS[name]
    got = applier(getattr(every, HELPERS[name]), flags)(x)
    want = np.array([libm(name, v) for v in x.tolist()])
    bound_math, bound_exact = BOUNDS[name]
    d = ulps(got, want)
    worst = int(np.argmax(d))
    assert d.max() <= bound_math, (name, x[worst], got[worst], want[worst])
    if LONG_DOUBLE:
        d = ulps(got, exact(name, x))
        worst = int(np.argmax(d))
        assert d.max() <= bound_exact, (name, x[worst], got[worst])


TINY = 5e-324
# (x, the result) pairs: a dict would take -0.0 and 0.0 for one key
SPECIAL = {
    "exp": [(0.0, 1.0), (-0.0, 1.0), (math.inf, math.inf), (-math.inf, 0.0)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (-TINY, -TINY), (-math.inf, -1.0)],
    "log": [(0.0, -math.inf), (-0.0, -math.inf), (-TINY, math.nan), (1.0, 0.0)],
    "log1p": [(-0.0, -0.0), (-1.0, -math.inf), (-1.5, math.nan), (-math.inf, math.nan)],
    "tanh": [(-0.0, -0.0), (-TINY, -TINY), (-math.inf, -1.0), (19.5, 1.0)],
    "sigmoid": [(-0.0, 0.5), (math.inf, 1.0), (-math.inf, 0.0), (-800.0, 0.0)],
    "softplus": [(-0.0, math.log(2.0)), (math.inf, math.inf), (-math.inf, 0.0)],
}
# each function also at nan, +-inf, +-0, the smallest subnormal and normal, the largest
# float, and the edges of its overflow and underflow
EDGES = [math.nan, math.inf, -math.inf, 0.0, -0.0, TINY, -TINY, 2.2250738585072014e-308]
EDGES += [1.7976931348623157e308, -1.7976931348623157e308, 709.78, 709.79, -708.4]
EDGES += [-745.13, -745.14, -1.0, -1.0 + 2**-53, 0.625, -0.625, 22.0, -40.0, 1e-17]


@pytest.mark.parametrize("flags", ["fma", "plain"])
@pytest.mark.parametrize("name", list(SWEEPS))
def test_helpers_special_values(every, name, flags):
    pairs = SPECIAL[name] + [(v, libm(name, v)) for v in EDGES]
    x = np.array([v for v, _ in pairs])
    got = applier(getattr(every, HELPERS[name]), flags)(x)
    for (v, want), g in zip(pairs, got.tolist(), strict=True):
        if math.isnan(want) or math.isinf(want) or want == 0.0:
            # the same nan, infinity or signed zero
            assert repr(g) == repr(want), (name, v, g, want)
        else:
            assert ulps(g, want) <= 2, (name, v, g, want)


def kernel_lines(text: str, name: str) -> list[str]:
    """The lines of the function ``name`` in the module ``text``."""
    lines = text.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith(f"def {name}(")))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i] and lines[i][0] != " "),
        len(lines),
    )
    return [ln.strip() for ln in lines[start:end]]


def test_kernels_call_the_helpers_at_every_size():
    text = compile_source(
        CHAIN.read_text(), filename="bench/cases/elementwise.grad", target="numba"
    )
    # four helper calls: two stages of two (backend/numba_stages.py)
    first = kernel_lines(text, "_elementwise_value_and_grad_k1_s1")
    second = kernel_lines(text, "_elementwise_value_and_grad_k1_s2")
    for line in ("v = _vsigmoid(x_)", "v_4 = _vexp(v_3)"):
        assert line in first
    for line in ("v = _vtanh(c4_)", "v_2 = _vlog1p(c2_)", "total = _radd(total, v_3)"):
        assert line in second
    assert not any("math." in ln for ln in first + second)
    caller = kernel_lines(text, "elementwise_value_and_grad")
    assert "out, d_x = _elementwise_value_and_grad_k1(x)" in caller
    assert not any("SIMD" in ln for ln in caller)  # no size branch
    assert "@numba.extending.intrinsic\ndef _radd(typingctx, a, b):" in text
    inlined = '@numba.njit(cache=True, error_model="numpy", inline="always")'
    # _vsigmoid, _vexp, _vtanh, _vlog1p and the 6 they call
    assert text.count(inlined + "\ndef _v") + text.count(inlined + "\ndef _e") == 10
    fma = '@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})'
    assert fma + "\ndef _elementwise_value_and_grad_k1_s1(x, " in text
    assert fma + "\ndef _elementwise_forward_k1_s1(x, " in text
    plain = '@numba.njit(cache=True, error_model="numpy")'
    assert plain + "\ndef _elementwise_value_and_grad_k1(x):" in text  # the driver
    assert plain + "\ndef _elementwise_backward_k1(" in text  # arithmetic alone


def test_a_libm_call_keeps_the_size_limit():
    source = "def f(x: Vector[n]) -> Scalar:\n    return sum(sin(x) * exp(x) + x * x)\n"
    text = compile_source(source, filename="f.grad", target="numba")
    assert "v_2 = _vexp(x_)" in kernel_lines(text, "_f_value_and_grad_k1")
    # sin and cos are libm calls, exp is not: 1536 // 2 (1536 // 3 before)
    branch = "if x.size <= 768:  # numba below, NumPy's SIMD above"
    assert branch in kernel_lines(text, "f_value_and_grad")


def load_chain(target: str):
    text = CHAIN.read_text()
    return load_source(text, filename="bench/cases/elementwise.grad", target=target)


def test_the_chain_kernel_is_vectorised_without_libm_calls():
    m = load_chain("numba")
    m.elementwise_value_and_grad(np.linspace(-3.0, 3.0, 1000))
    avx2 = llvmlite.binding.get_host_cpu_features().get("avx2")
    for stage in ("_s1", "_s2"):  # the kernel's two stages (numba_stages)
        kernel = getattr(m, "_elementwise_value_and_grad_k1" + stage)
        asm = kernel.inspect_asm(kernel.signatures[0])
        found = re.findall(r"(?:movabsq\s+\$|call[q]?\s+)([A-Za-z_][\w.]*)", asm)
        symbols = set(found)
        assert not symbols & {"exp", "log", "log1p", "tanh", "expm1"}
        helpers = ("_vexp", "_vlog", "_vtanh", "_vsigmoid", "_vscale", "_radd")
        assert not any(h in s for s in symbols for h in helpers)  # inlined
        assert not avx2 or re.search(r"\b[yz]mm\d+", asm)
    if not avx2:
        pytest.skip("the host CPU has no AVX2")


def test_the_chain_at_1e5_elements():
    m, ref = load_chain("numba"), load_chain("numpy")
    x = np.random.default_rng(5).normal(scale=2.0, size=10**5)
    x[:4] = [0.0, -0.0, 30.0, -30.0]
    v, g = m.elementwise_value_and_grad(x)
    want_v, want_g = ref.elementwise_value_and_grad(x)
    close(v, want_v)
    close(g, want_g)
    assert abs(v - want_v) <= 1e-13 * abs(want_v)
    for k in (0, 1, 2, 3, 17, 4242, 99_999):  # central differences per entry
        step = 1e-6 * max(1.0, abs(x[k]))
        xp, xm = x.copy(), x.copy()
        xp[k] += step
        xm[k] -= step
        fd = (m.elementwise(xp) - m.elementwise(xm)) / (2 * step)
        assert abs(fd - g[k]) <= 1e-6 * max(1.0, abs(g[k])) + 1e-8 * abs(v), k
