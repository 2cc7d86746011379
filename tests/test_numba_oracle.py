"""The language oracle's short profile (tests/test_language_oracle.py) with
--target numba (every third seed; GRADC_NUMBA_ORACLE=full: all): every generated formula, fused and not, its value against the
independent reference, its gradients against finite differences, f_jvp and f_hvp,
results owning their memory, inputs left unmodified."""

from __future__ import annotations

import os
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


# numba compiles every kernel of every formula (fused and not, with f_jvp and f_hvp): the
# whole short profile takes 20-30 minutes on 2 busy cores, so the suite runs every third
# seed of it; GRADC_NUMBA_ORACLE=full runs all of them.
FULL = os.environ.get("GRADC_NUMBA_ORACLE") == "full"
SEEDS = oracle.SHORT_SEEDS if FULL else oracle.SHORT_SEEDS[::3]


@pytest.mark.parametrize("seed", SEEDS)
def test_language_short_numba(seed):
    oracle.check_formula(seed, oracle.Stats())
