"""erf on the Array API target (issue 20): the standard has none, so ``_erf`` (the shim in
templates/helpers_xp.py.j2) calls the library's own (torch.special, jax.scipy.special,
cupyx.scipy.special, SciPy's ufunc on NumPy and Dask) and else ``_erf_cody``, W. J. Cody's
rational approximations in standard functions. Values and gradients are checked on every
library against ``math.erf`` and erf' = 2 / sqrt(pi) exp(-x^2) written here."""

from __future__ import annotations

import importlib
import math
import re
import warnings

import numpy as np
import pytest
from xp_cases import LIBRARIES, require, run, to_library

from gradc import compile_source, load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SOURCE = """
def f(x: Vector[n], w: Vector[n]) -> Scalar:
    return sum(w * erf(x))


def gelu(x: Vector[n]) -> Scalar:
    return sum(0.5 * x * (1 + erf(x / sqrt(2.0))))
"""

MATH_ERF = np.vectorize(math.erf, otypes=[np.float64])


def module():
    return load_source(SOURCE, filename="erf.grad", target="array-api")


def test_the_shim_is_spelled_with_the_namespace():
    text = compile_source(SOURCE, filename="erf.grad", target="array-api")
    assert "    out_t1 = _erf(xp, x)\n" in text
    # standard library (importlib: SciPy, torch or JAX imported only when used), then
    # array_api_compat
    assert "\nimport importlib\n\nimport array_api_compat\n" in text
    assert not re.search(r"\bnumpy\b|\bnp\.", text)  # as tests/test_array_api.py


@pytest.mark.parametrize("library", LIBRARIES)
def test_values_and_gradients_on_every_library(library):
    require(library)
    m = module()
    x = np.array([-3.0, -0.7, -1e-3, 0.0, 0.2, 0.46875, 0.9, 2.5, 4.5, 7.0])
    w = np.linspace(-1.0, 2.0, x.size)
    v, (d_x, d_w) = run(
        library, m.f_value_and_grad, [to_library(library, x), to_library(library, w)]
    )
    erf = MATH_ERF(x)
    np.testing.assert_allclose(v, np.sum(w * erf), rtol=1e-14)
    np.testing.assert_allclose(d_w, erf, rtol=1e-14, atol=0)
    want = w * 2.0 / math.sqrt(math.pi) * np.exp(-(x**2))
    np.testing.assert_allclose(d_x, want, rtol=1e-14, atol=1e-300)
    # GELU, x Phi(x), whose gradient SymPy derives through erf: Phi(x) + x phi(x)
    _, g = run(library, m.gelu_value_and_grad, [to_library(library, x)])
    phi = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(g, 0.5 * (1 + MATH_ERF(x / math.sqrt(2))) + x * phi)


@pytest.mark.parametrize("library", ["numpy", "torch", "jax"])
def test_float32_stays_float32(library):
    require(library)
    m = module()
    x = np.linspace(-5.0, 5.0, 41)
    x32 = to_library(library, x.astype(np.float32))
    v, (d_x, d_w) = run(library, m.f_value_and_grad, [x32, x32])
    assert v.dtype == d_x.dtype == d_w.dtype == np.float32
    np.testing.assert_allclose(d_w, MATH_ERF(x), rtol=0, atol=3e-7)


def test_each_library_brings_its_own_erf():
    """The erf found for each namespace: the library's, or None (Cody's fallback)."""
    m = module()
    x = np.array([0.5, 1.0])
    found = {}
    for library in ("numpy", "array_api_strict", "torch", "jax", "dask"):
        try:
            require(library)
        except pytest.skip.Exception:
            continue
        m._ERFS.clear()
        m.f(to_library(library, x), to_library(library, x))
        (own,) = m._ERFS.values()
        found[library] = own
    assert found.pop("array_api_strict", None) is None
    names = {
        "numpy": "scipy.special",
        "dask": "scipy.special",
        "torch": "torch.special",
        "jax": "jax.scipy.special",
    }
    for library, own in found.items():
        want = importlib.import_module(names[library]).erf
        assert own is want, library


def test_without_scipy_numpy_falls_back_to_cody(monkeypatch):
    m = module()

    def no_scipy(name):
        raise ImportError(name)

    monkeypatch.setattr(m.importlib, "import_module", no_scipy)
    m._ERFS.clear()
    x = np.linspace(-6.0, 6.0, 101)
    got = m.f_grad(x, np.ones_like(x))[1]
    assert list(m._ERFS.values()) == [None]
    np.testing.assert_allclose(got, MATH_ERF(x), rtol=1e-14, atol=0)


def cody(x):
    """``_erf_cody`` on the NumPy array ``x`` (through the module's NumPy namespace)."""
    m = module()
    xp = m._namespace("f", x)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid value on the way
        return m._erf_cody(xp, x)


def test_cody_is_float64_accurate_over_a_wide_grid_with_its_tails():
    grid = np.concatenate(
        [
            np.linspace(-7.0, 7.0, 14001),
            np.geomspace(1e-300, 30.0, 3001),
            -np.geomspace(1e-300, 30.0, 301),
            # the ends of Cody's three intervals, and around them
            np.nextafter(0.46875, [-1.0, 2.0]),
            np.nextafter(4.0, [-1.0, 5.0]),
            [0.46875, 4.0, 5.9, 6.0, 26.6, 27.0, 1e10, 1e300, 1.7e308],
        ]
    )
    got = cody(grid)
    want = MATH_ERF(grid)
    assert np.all(np.abs(got - want) <= 1e-14 * np.abs(want))  # erf(0) = 0 exactly
    assert np.all(got[grid > 6.0] == 1.0)


def test_cody_at_zero_infinities_and_nan():
    got = cody(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]))
    assert got[0] == 0.0 and not np.signbit(got[0])
    assert got[1] == 0.0 and np.signbit(got[1])
    assert list(got[2:4]) == [1.0, -1.0] and np.isnan(got[4])


def test_cody_keeps_float32():
    x = np.linspace(-5.0, 5.0, 2001).astype(np.float32)
    got = cody(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, MATH_ERF(x.astype(np.float64)), rtol=0, atol=3e-7)
