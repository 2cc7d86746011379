"""--target numba (SPEC §2.2, issue 21): every example's functions, forward and
backward, --jvp and --hvp, give the NumPy target's values and gradients (1e-12); the
module imports numba and numpy, writes elementwise runs as @numba.njit kernels, keeps
matrix products in NumPy, and names what numba does not compile."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numba_cases
import numpy as np
import pytest
from numba_cases import (
    CASE_IDS,
    CASES,
    ROOT,
    as_tuple,
    close,
    load,
    needs_numba,
    point,
)

from gradc import compile_source, load_source

pytestmark = [needs_numba, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(autouse=True)
def shared_cache_dir(monkeypatch):
    """load_source writes numba modules to GRADC_CACHE_DIR (a file: numba's cache), the
    run's one directory (``numba_cases.cache_dir``)."""
    monkeypatch.setenv("GRADC_CACHE_DIR", numba_cases.cache_dir())


def results(m, name: str, x: list, scalar: bool):
    """(value, gradients) of ``f_value_and_grad`` (or the value of ``f`` and its
    ``f_backward`` of a seed of ones, for a function with an array value)."""
    if scalar:
        return getattr(m, f"{name}_value_and_grad")(*x)
    value, cache = getattr(m, f"{name}_forward")(*x)
    return value, getattr(m, f"{name}_backward")(np.ones_like(value), cache)


@pytest.mark.parametrize(("path", "name", "params"), CASES, ids=CASE_IDS)
def test_values_and_gradients_equal_the_numpy_target(path, name, params):
    ref, m = load(path, "numpy"), load(path, "numba")
    for seed in (0, 1):
        x = point(params, seed)
        scalar = hasattr(ref, f"{name}_value_and_grad")
        want_v, want_g = results(ref, name, x, scalar)
        v, g = results(m, name, x, scalar)
        close(v, want_v)
        for got, want in zip(as_tuple(g), as_tuple(want_g), strict=True):
            close(got, want)
        close(getattr(m, name)(*x), want_v)
        value, cache = getattr(m, f"{name}_forward")(*x)
        close(value, want_v)
        seed_v = np.ones_like(np.asarray(value)) if np.ndim(value) else 1.0
        got = getattr(m, f"{name}_backward")(seed_v, cache)
        for a, b in zip(as_tuple(got), as_tuple(want_g), strict=True):
            close(a, b)


@pytest.mark.parametrize(("path", "name", "params"), CASES, ids=CASE_IDS)
def test_jvp_and_hvp_equal_the_numpy_target(path, name, params):
    ref = load(path, "numpy", jvp=True, hvp=True)
    m = load(path, "numba", jvp=True, hvp=True)
    x = point(params)
    rng = np.random.default_rng(3)
    wrt = [k for k, (_, _, differentiated) in enumerate(params) if differentiated]
    tangents = [rng.standard_normal(np.shape(x[k])) for k in wrt]
    tangents = [t if np.ndim(t) else float(t) for t in tangents]
    want = ref.__dict__[f"{name}_jvp"](*x, *tangents)
    got = m.__dict__[f"{name}_jvp"](*x, *tangents)
    for a, b in zip(got, want, strict=True):
        close(a, b)
    if hasattr(ref, f"{name}_hvp"):
        want = as_tuple(getattr(ref, f"{name}_hvp")(*x, *tangents))
        got = as_tuple(getattr(m, f"{name}_hvp")(*x, *tangents))
        for a, b in zip(got, want, strict=True):
            close(a, b)


ELEMENTWISE = """
def f(x: Vector[n]) -> Scalar:
    return sum(tanh(sigmoid(x) * exp(-x ** 2)) + log(1 + x ** 2))
"""


def test_an_elementwise_run_is_one_kernel_with_its_sum():
    text = compile_source(ELEMENTWISE, target="numba")
    assert "\nimport numba\nimport numpy as np\n" in text or (
        "\nimport numpy as np\nimport numba\n" in text
    )
    # four helper calls: a driver and two stages of two (backend/numba_stages.py)
    assert (
        '@numba.njit(cache=True, error_model="numpy")\ndef _f_value_and_grad_k1(x):'
        in text
    )
    for stage in ("_s1", "_s2"):
        assert (
            '@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})\n'
            f"def _f_value_and_grad_k1{stage}(x, " in text
        )
    body = text.split("def f_value_and_grad(x):")[1]
    assert "out, d_x = _f_value_and_grad_k1(x)" in body
    # sigmoid, exp, tanh and log1p have vectorisable helpers (backend/numba_vector_math):
    # the kernel runs at every size, no NumPy statements beside it
    assert ".size <=" not in body
    assert "np.tanh(" not in body


def test_matrix_products_stay_numpy_and_arithmetic_runs_at_every_size():
    text = compile_source(
        "def f(W: Matrix[m, n], x: Vector[n]) -> Scalar:\n"
        "    z = W @ x\n"
        "    return sum((z - 1) ** 2 * (z + 2))\n",
        target="numba",
    )
    body = text.split("def f_value_and_grad(W, x):")[1]
    assert "W.dot(x)" in body
    assert "_f_value_and_grad_k1(" in body
    assert ".size <=" not in body  # no transcendental function: a kernel at any size


def test_what_numba_does_not_compile_stays_numpy_and_says_so():
    # clip has no float spelling: NumPy, with a comment over its statement
    src = "def f(x: Vector[n]) -> Scalar:\n    return sum(exp(clip(x, -1, 1)) * x)\n"
    text = compile_source(src, target="numba")
    assert "# numba: 'clip' is not compiled (no float spelling): NumPy" in text
    m = load_source(src, target="numba")
    ref = load_source(src)
    x = np.linspace(-2, 2, 7)
    close(m.f_value_and_grad(x)[0], ref.f_value_and_grad(x)[0])
    close(m.f_grad(x), ref.f_grad(x))


CONVENTIONS = """
def f(x: Vector[n], y: Vector[n]) -> Scalar:
    a = relu(x) + abs(x) + maximum(x, y) + minimum(x, y)
    b = where(x > 0, log(x), 0) + where(y > 0, sqrt(y), 0)
    return sum(a * y + b)
"""


def test_conventions_hold_in_kernels():
    """relu/abs at 0 (0), ties of maximum/minimum (half each), where guards (no NaN from
    the untaken branch), at the kinks themselves, below and above the size limit."""
    m, ref = load_source(CONVENTIONS, target="numba"), load_source(CONVENTIONS)
    for n in (4, 20000):
        x = np.zeros(n)
        x[1::2] = -1.0
        y = np.where(np.arange(n) % 3 == 0, x, 1.0)
        v, (dx, dy) = m.f_value_and_grad(x, y)
        rv, (rdx, rdy) = ref.f_value_and_grad(x, y)
        assert np.isfinite(v) and np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))
        close(v, rv)
        close(dx, rdx)
        close(dy, rdy)
    x = np.array([0.0, 0.0, 2.0])
    y = np.array([0.0, 1.0, 2.0])
    _, (dx, dy) = m.f_value_and_grad(x, y)
    # at x = y = 0: relu' = abs' = 0, maximum and minimum give half each (1 in all)
    _, (rdx, _) = ref.f_value_and_grad(x, y)
    np.testing.assert_array_equal(dx, rdx)


def test_powers_at_zero_do_not_raise():
    src = (
        "def f(x: Vector[n], p: Scalar) -> Scalar:\n    return sum(x ** -1 + x ** p)\n"
    )
    m, ref = load_source(src, target="numba"), load_source(src)
    x = np.array([0.0, 1.0, 2.0])
    with np.errstate(all="ignore"):
        v, g = m.f_value_and_grad(x, -0.5)
        rv, rg = ref.f_value_and_grad(x, -0.5)
    assert v == rv == np.inf
    np.testing.assert_array_equal(g[0], rg[0])


def test_the_module_imports_numba_and_numpy_only():
    text = compile_source(ELEMENTWISE, target="numba")
    imports = re.findall(r"^(?:import|from) (\w+)", text, re.M)
    assert sorted(set(imports)) == ["math", "numba", "numpy"]


def test_a_second_process_loads_the_kernels_from_the_cache(tmp_path):
    """A compiled module is a file: numba's cache (``__pycache__`` beside it) serves
    the next process; load_source writes its module to GRADC_CACHE_DIR for the same
    reason (an in-memory module has no file for numba to cache beside)."""
    out = tmp_path / "ew.py"
    out.write_text(compile_source(ELEMENTWISE, target="numba"))
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import ew; "
        "print(ew.f_value_and_grad(np.linspace(0, 1, 5))[0])"
    )
    first = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert first.returncode == 0
    cached = list((tmp_path / "__pycache__").glob("ew.*.nbi"))
    assert cached, "numba wrote no cache index beside the module"
    again = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert again.returncode == 0 and again.stdout.strip()


def test_load_source_imports_from_a_file_in_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADC_CACHE_DIR", str(tmp_path))
    m = load_source(ELEMENTWISE, target="numba")
    assert m.__file__.startswith(str(tmp_path / "numba"))
    assert m.__file__.endswith(".py")
    close(m.f(np.ones(3)), load_source(ELEMENTWISE).f(np.ones(3)))


def test_numba_golden_file_is_current():
    """tests/golden/numba/logistic.py is what the numba target writes for
    examples/logistic.grad (regenerate: python cli.py compile --target numba
    examples/logistic.grad -o tests/golden/numba/logistic.py)."""
    golden = ROOT / "tests" / "golden" / "numba" / "logistic.py"
    result = subprocess.run(
        [
            sys.executable,
            "cli.py",
            "compile",
            "--target",
            "numba",
            "examples/logistic.grad",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == golden.read_text()


#: the elementwise operations a kernel may run, in two kernels (each compiles in a
#: fraction of the time of one kernel of all of them): each op of ``unary`` as
#: ``op(x * x + 0.5) * y``, then the lines
KERNELS = {
    "core": (
        "exp log log1p expm1 sqrt square abs sin cos tan tanh sigmoid softplus relu sign "
        "erf",
        [
            "b1 = arctan2(x, y) + maximum(x, y) * minimum(x, y)",
            "b2 = where(x > y, x / y, y ** 3) + x ** y",
            "b3 = clip(x, y, 1.0) * x + where(x >= y, x, 0) - where(x <= y, y, 0)",
            "b4 = where(x != y, x ** 2, 0) + where(x == 0, 1, x) ** -1",
        ],
    ),
    "numpy": (
        "arctan sinh cosh arcsinh log2 log10",
        [
            "b1 = arcsin(0.5 * tanh(x)) * y + arccos(0.5 * tanh(y)) * x",
            "b2 = logaddexp(x, y) * logaddexp(0, x * y)",
            "b3 = arccosh(x * x + 1.5) * arctanh(0.5 * tanh(y))",
            "b4 = cumsum(x * y) * x",
        ],
    ),
}


@pytest.mark.parametrize("n", [5, 20000])
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_every_operation_a_kernel_may_run_compiles_and_matches_numpy(kernel, n):
    """Each elementwise operation with a float spelling, in a kernel (and its gradient's
    comparisons, and/or/not of masks, ``where``, powers), at a size below and above the
    size limit: numba types them all, and the values equal the NumPy target's."""
    unary, more = KERNELS[kernel]
    lines = [f"    t{k} = {op}(x * x + 0.5) * y" for k, op in enumerate(unary.split())]
    lines += [f"    {line}" for line in more]
    names = [line.split(" = ")[0].strip() for line in lines]
    src = "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n" + "\n".join(lines)
    src += f"\n    return sum({' + '.join(names)})\n"
    m, ref = load_source(src, target="numba", hvp=True), load_source(src, hvp=True)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.1, 1.5, n), rng.uniform(0.1, 1.5, n)
    v, g = m.f_value_and_grad(x, y)
    rv, rg = ref.f_value_and_grad(x, y)
    close(v, rv)
    for a, b in zip(g, rg, strict=True):
        close(a, b)
    for a, b in zip(m.f_hvp(x, y, y, x), ref.f_hvp(x, y, y, x), strict=True):
        close(a, b)
    if n < 100:
        assert "_f_value_and_grad_k1" in compile_source(src, target="numba")


def test_a_value_the_numpy_branch_computes_in_place_keeps_the_kernels_name():
    """Above the size limit, a kernel's NumPy branch may compute a value in place into
    another's array (``np.subtract(1.0, t, out=t)``); a later kernel reads it by the
    name the kernel's call gives it. The branch assigned only ``t``, and ``f_hvp`` of
    this formula raised UnboundLocalError at n = 20,000 (found with ``cumsum``, whose
    adjoint is such a later statement; a sum does the same)."""
    src = (
        "def f(x: Vector[n], y: Vector[n]) -> Scalar:\n"
        "    t0 = arctan(x * x + 0.5) * y\n"
        "    t1 = sinh(x * x + 0.5) * y\n"
        "    b1 = arcsin(0.5 * tanh(x)) * y + arccos(0.5 * tanh(y)) * x\n"
        "    b4 = x * sum(x * y)\n"
        "    return sum(t0 + t1 + b1 + b4)\n"
    )
    m, ref = load_source(src, target="numba", hvp=True), load_source(src, hvp=True)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.1, 1.5, 20000), rng.uniform(0.1, 1.5, 20000)
    text = compile_source(src, target="numba", hvp=True)
    assert "np.subtract(1.0, b1_t15, out=b1_t15)" in text  # the branch's in-place value
    for a, b in zip(m.f_hvp(x, y, y, x), ref.f_hvp(x, y, y, x), strict=True):
        close(a, b)


def test_load_source_in_a_second_process_reads_the_kernels_numba_cached(tmp_path):
    """Two processes load_source the same text: the second loads the kernels the first
    compiled (numba's cache rebuilds their globals from the module's name, which must be
    importable: it was '<dynamic>' and the second process failed)."""
    code = (
        "import cli, numpy as np; cli.use_checkout(); import gradc; "
        f"m = gradc.load_source({ELEMENTWISE!r}, target='numba'); "
        "print(m.f_value_and_grad(np.linspace(0, 1, 5))[0])"
    )
    env = {**os.environ, "GRADC_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr[-2000:]
    assert runs[0].stdout == runs[1].stdout
    assert list((tmp_path / "numba" / "__pycache__").glob("*.nbi"))


def test_a_kernel_with_a_float_power():
    """x ** p alone in a function, p a float: the kernel spells it ``x ** p`` as the
    record's numba spelling does (it once called ``math.pow`` without the module's
    ``import math``: a NameError inside numba's typing, found by the oracle at seed
    109); numba gives math.pow's values, nan for a negative base, never an exception."""
    src = "def f(x: Vector[n], p: Scalar) -> Vector[n]:\n    return x ** p * x + x\n"
    text = compile_source(src, target="numba")
    assert "math.pow(" not in text and "= x_**p\n" in text
    m, ref = load_source(src, target="numba"), load_source(src)
    x = np.linspace(0.5, 2.0, 6)
    close(m.f(x, 1.5), ref.f(x, 1.5))
    with np.errstate(invalid="ignore"):  # nan, as NumPy
        np.testing.assert_array_equal(m.f(-x, 1.5), ref.f(-x, 1.5))


def test_no_checks_and_strided_or_transposed_inputs():
    """--no-checks (API checks=False) on the numba target, and kernels reading views:
    a strided slice, a transposed matrix (the loop nest indexes, never flattens)."""
    src = "def f(A: Matrix[m, n]) -> Scalar:\n    return sum(A * A * A + A * 2)\n"
    m = load_source(src, target="numba", checks=False)
    ref = load_source(src)
    base = np.random.default_rng(0).standard_normal((6, 8))
    for a in (base, base.T, base[::2, 1::3], np.asfortranarray(base)):
        v, g = m.f_value_and_grad(a)
        rv, rg = ref.f_value_and_grad(a)
        close(v, rv)
        close(g, rg)
    assert "_f_value_and_grad_k1(A)" in compile_source(src, target="numba")


@pytest.mark.parametrize(
    "src",
    [
        # the gradient of a Vector[1] broadcast over a tensor: a 1-D sum that keeps its
        # axis (language oracle seed 135), in the jitted whole-function kernel
        "def f(x1: Tensor[2, 3, 3], x2: Tensor[2, 3, 3], x3: Vector[1], x4: Scalar)"
        " -> Scalar:\n    return sum(x4 * (x3 * (-(x1) * x2)), keepdims=False)\n",
        "def f(x: Vector[n], w: Vector[1]) -> Scalar:\n"
        "    return sum(w * sum(x * x, axis=0, keepdims=True)) + mean(x, axis=0, keepdims=True)[0]\n",
    ],
)
def test_a_vector_sum_that_keeps_its_axis(src):
    """numba types ``x.sum(axis=0)`` of a vector as a float, which has no ``[None]``: the
    kept axis is ``np.full((1,), ...)``; values and gradients as the NumPy target's."""
    m, ref = load_source(src, target="numba"), load_source(src)
    rng = np.random.default_rng(135)
    if "x1" in src:
        args = [rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))]
        args += [rng.standard_normal(1), 0.7]
    else:
        args = [rng.standard_normal(5), rng.standard_normal(1)]
    value, grads = m.f_value_and_grad(*args)
    want_value, want_grads = ref.f_value_and_grad(*args)
    assert value == pytest.approx(want_value, rel=1e-13)
    for g, w in zip(grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)


# the language generator's seed 428: a parameter named ``cache`` (the generated locals'
# name, so the parameter's variable is ``cache_`` and the renamer swaps the two) in a
# function whose value_and_grad is one whole kernel
CACHE_PARAM = """\
def f(x1: Vector[R], cache: Vector[R], x4: Vector[R]) -> Scalar:
    d_value = np.flip(x1) * cache + np.flip(x1) ** 2
    return mean(d_value * tanh(d_value) + d_value * x4)
"""


def test_a_parameter_named_cache_leaves_the_decorators_keyword_alone():
    # the renamer took ``cache=True`` for the name: @numba.njit(cache_=True), a KeyError
    text = compile_source(CACHE_PARAM, target="numba")
    decorators = [ln for ln in text.splitlines() if ln.startswith("@numba.njit(")]
    assert decorators and all("(cache=True," in ln for ln in decorators), decorators
    rng = np.random.default_rng(428)
    x = [rng.standard_normal(5) for _ in range(3)]
    got = load_source(CACHE_PARAM, target="numba").f_value_and_grad(*x)
    want = load_source(CACHE_PARAM).f_value_and_grad(*x)
    close(got[0], want[0])
    for a, b in zip(as_tuple(got[1]), as_tuple(want[1]), strict=True):
        close(a, b)
    assert "def f_value_and_grad(x1, cache, x4):" in text
