"""Both builds of a formula (fused and ``fuse=False``) against a NumPy function written in
the test: values, and gradients by central differences (``tests/gradcheck.py``).
Imported by tests; not a test module."""

from __future__ import annotations

import numpy as np

import gradc
from tests.gradcheck import central_diff_grad


def modules(src: str) -> list:
    """The formula compiled both ways: fused (default) and with ``fuse=False``."""
    return [gradc.load_source(src), gradc.load_source(src, fuse=False)]


def check(src: str, ref, *args, wrt=None) -> None:
    """``f`` agrees with the NumPy function ``ref`` in value (``f``, ``f_value_and_grad``)
    and in the gradient of the ``wrt`` inputs (default: every float input), from
    ``f_value_and_grad`` and ``f_backward``, against central differences of ``ref``."""
    if wrt is None:
        wrt = [k for k, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]
    want = ref(*args)
    fd = central_diff_grad(ref, args, wrt)
    for mod in modules(src):
        value, grads = mod.f_value_and_grad(*args)
        np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(mod.f(*args), want, rtol=1e-12, atol=1e-12)
        backward = mod.f_backward(1.0, mod.f_forward(*args)[1])
        for result in (grads, backward):
            result = result if len(wrt) > 1 else (result,)
            assert len(result) == len(wrt)
            for got, expect in zip(result, fd):
                assert np.shape(got) == np.shape(expect)
                np.testing.assert_allclose(got, expect, rtol=1e-6, atol=1e-8)
