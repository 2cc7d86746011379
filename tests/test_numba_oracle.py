"""The language oracle's short profile (tests/test_language_oracle.py) with
--target numba: every generated formula, fused and not, its value against the
independent reference, its gradients against finite differences, f_jvp and f_hvp,
results owning their memory, inputs left unmodified."""

from __future__ import annotations

import types

import pytest
import test_language_oracle as oracle
from numba_cases import needs_numba

import gradc

pytestmark = needs_numba


def load_numba(text, **kw):
    """gradc.load_source with target="numba"."""
    return gradc.load_source(text, target="numba", **kw)


@pytest.fixture(autouse=True)
def numba_target(monkeypatch):
    """The oracle's ``gradc.load_source`` with target="numba" (its modules in gradc's
    cache directory, so a second run finds numba's compiled kernels there: the first
    run of the profile spends most of its time in numba's compiler)."""
    shim = types.SimpleNamespace(load_source=load_numba)
    monkeypatch.setattr(oracle, "gradc", shim)


@pytest.mark.parametrize("seed", oracle.SHORT_SEEDS)
def test_language_short_numba(seed):
    oracle.check_formula(seed, oracle.Stats())
