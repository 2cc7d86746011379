"""--target array-api with --jvp and --hvp (SPEC §2.1 and §2.2: every target keeps the
same API): f_jvp, f_hvp, f_hessp and f_hessian of every example run unchanged on every
library, with the NumPy target's results, float32 kept."""

from __future__ import annotations

import numpy as np
import pytest
from xp_cases import (
    CASE_IDS,
    CASES,
    LIBRARIES,
    as_tuple,
    functions,
    load,
    point,
    require,
    run,
)
from xp_cases import to_library as lib

from gradc.errors import FormulaError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def close(got, want, rtol: float) -> None:
    """Norm-wise: max |got - want| <= rtol * max(1, max |want|), and the same shape."""
    got, want = np.asarray(got), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    assert float(np.max(np.abs(got - want), initial=0.0)) <= rtol * scale


def directions(x, params, wrt, seed, dtype=np.float64):
    """One random tangent per differentiated input (its shape; a float for a Scalar)."""
    rng = np.random.default_rng(seed)
    out = []
    for a, (name, _, _) in zip(x, params):
        if name in wrt:
            if isinstance(a, float):
                out.append(float(rng.normal()))
            else:
                out.append(np.asarray(rng.normal(size=np.shape(a)), dtype=dtype))
    return out


WRT = {
    (path, name): wrt
    for path in sorted({c[0] for c in CASES})
    for name, _, wrt in functions(path)
}


def second_order(path, target: str):
    """The module of ``path`` with --jvp and --hvp and None; where --hvp through a for
    loop is a located error (not supported yet on any target), the module with --jvp
    alone and that error's text."""
    try:
        return load(path, target, jvp=True, hvp=True), None
    except FormulaError as e:
        if "through a for loop" not in str(e):
            raise
        return load(path, target, jvp=True), str(e)


# the value and gradient tests run every library; the second-order functions, made of
# the same spellings, run on NumPy, the strict namespace and JAX (under jit too), which
# keeps the suite inside CI's budget
SECOND_ORDER_LIBRARIES = [
    lib for lib in LIBRARIES if lib in ("numpy", "array_api_strict", "jax.jit")
]


@pytest.mark.parametrize("library", SECOND_ORDER_LIBRARIES)
@pytest.mark.parametrize(("path", "name", "params"), CASES, ids=CASE_IDS)
def test_jvp_and_hvp_equal_the_numpy_target(library, path, name, params):
    require(library)
    ref, unsupported = second_order(path, "numpy")
    m, _ = second_order(path, "array-api")
    x = point(params)
    wrt = WRT[(path, name)]
    t = directions(x, params, wrt, 1)
    args = [lib(library, a) for a in x]
    targs = [lib(library, a) for a in t]
    want_v, want_t = getattr(ref, f"{name}_jvp")(*x, *t)
    v, tan = run(library, getattr(m, f"{name}_jvp"), args + targs)
    close(v, want_v, 1e-12)
    close(tan, want_t, 1e-12)
    if unsupported and hasattr(ref, f"{name}_value_and_grad"):
        pytest.skip(f"f_jvp checked; f_hvp not: {unsupported}")
    if not hasattr(ref, f"{name}_hvp"):
        return  # an array-valued function: no second derivatives
    want = as_tuple(getattr(ref, f"{name}_hvp")(*x, *t))
    got = as_tuple(run(library, getattr(m, f"{name}_hvp"), args + targs))
    for g, w in zip(got, want, strict=True):
        close(g, w, 1e-12)
    if hasattr(ref, f"{name}_hessian"):
        want_h = getattr(ref, f"{name}_hessian")(*x)
        close(run(library, getattr(m, f"{name}_hessian"), args), want_h, 1e-12)
    if hasattr(ref, f"{name}_hessp"):
        first, *rest = args
        hp = run(library, getattr(m, f"{name}_hessp"), [first, targs[0], *rest])
        close(hp, want[0], 1e-12)


@pytest.mark.parametrize("library", ["numpy", "torch", "jax"])
def test_float32_second_derivatives_stay_float32(library):
    require(library)
    path = next(p for p, n, _ in CASES if n == "rosen")
    m = load(path, "array-api", jvp=True, hvp=True)
    ref = load(path, "numpy", jvp=True, hvp=True)
    x = np.linspace(-1.2, 1.5, 6)
    v = np.cos(np.arange(6.0))
    h = run(
        library,
        m.rosen_hvp,
        [lib(library, x.astype(np.float32)), lib(library, v.astype(np.float32))],
    )
    H = run(library, m.rosen_hessian, [lib(library, x.astype(np.float32))])
    assert h.dtype == np.float32 and H.dtype == np.float32
    close(h, ref.rosen_hvp(x, v), 1e-4)
    close(H, ref.rosen_hessian(x), 1e-4)
