"""``checks=False`` (SPEC §2, ``--no-checks``) over the whole language: for every formula of
the language oracle's short profile (``tests/language_gen.py``), fused and not, the
unchecked module gives the checked module's value and gradients bit for bit at the
oracle's point (valid inputs: float64 arrays of the declared shapes, floats, int64
labels). The checked module is the one the oracle checks against its independent
reference (``tests/test_language_oracle.py``), so equality carries that check over; what
this adds is every construct's unchecked prologue (dimensions bound from the inputs,
dimension expressions, Index inputs, loops), which ``tests/test_no_checks.py`` reaches
only on the bench cases.
"""

from __future__ import annotations

import warnings

import language_gen as G
import numpy as np
import pytest
from test_language_oracle import SHORT_SEEDS

import gradc


def fresh(args: list) -> list:
    """Copies of the array inputs (a module must not see another's writes)."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def results(mod, name: str, args: list) -> list:
    """The value and the gradients, as a flat list of float arrays: ``f`` and
    ``f_value_and_grad`` for a scalar value, ``f_forward`` then ``f_backward`` (a seed of
    0.5 everywhere) for an array."""
    value = getattr(mod, name)(*fresh(args))
    out = [value]
    both = getattr(mod, f"{name}_value_and_grad", None)
    if both is not None:
        out += [both(*fresh(args))]
    else:
        forward, cache = getattr(mod, f"{name}_forward")(*fresh(args))
        seed = np.full(np.shape(forward), 0.5)
        out += [forward, getattr(mod, f"{name}_backward")(seed, cache)]
    return flat(out)


def flat(x) -> list:
    """Nested tuples of results as a list of float arrays."""
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in flat(item)]
    return [np.asarray(x, dtype=float)]


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "nofuse"])
def test_unchecked_modules_equal_the_checked_ones_over_the_language(fuse):
    compared, mismatches = 0, []
    for seed in SHORT_SEEDS:
        formula = G.generate(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            checked = gradc.load_source(formula.text, fuse=fuse)
            unchecked = gradc.load_source(formula.text, fuse=fuse, checks=False)
            try:
                want = results(checked, formula.name, formula.args)
            except ValueError:
                continue  # the checks refuse this point (a slice past a named size)
            got = results(unchecked, formula.name, formula.args)
        same = len(got) == len(want) and all(
            g.shape == w.shape and np.array_equal(g, w, equal_nan=True)
            for g, w in zip(got, want)
        )
        if not same:
            mismatches.append(seed)
        compared += 1
    assert not mismatches, f"unchecked results differ from the checked at {mismatches}"
    assert compared >= 0.95 * len(SHORT_SEEDS), (compared, len(SHORT_SEEDS))
