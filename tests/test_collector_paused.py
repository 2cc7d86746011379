"""A compile runs with Python's cyclic garbage collector paused (``api.collector_paused``:
full collections walking the compile's live objects made compile time grow faster than
the formula; the times are in bench/README.md, "The garbage collector paused"). The
collector is paused while the formula is lowered and the module emitted, and left as the
caller had it afterwards, also when the compile raises."""

from __future__ import annotations

import gc

import pytest
import sympy

import gradc
import gradc.api as api

FORMULA = "def f(x: Vector[n]) -> Scalar:\n    return sum(tanh(x) * x)\n"


@pytest.fixture
def collector_state():
    """The collector's state restored after the test, whatever it did."""
    running = gc.isenabled()
    yield
    if running:
        gc.enable()
    else:
        gc.disable()


class Recording:
    """``api.<name>`` in place, appending to ``seen`` whether the collector runs when it
    is called."""

    def __init__(self, name: str, seen: list):
        self.name, self.inner, self.seen = name, getattr(api, name), seen

    def __call__(self, *args, **kwargs):
        self.seen.append((self.name, gc.isenabled()))
        return self.inner(*args, **kwargs)


@pytest.mark.parametrize("entry", ["source", "file", "sympy"])
def test_paused_while_lowering_and_emitting(
    entry, monkeypatch, tmp_path, collector_state
):
    seen: list = []
    lower = "_lower_sympy" if entry == "sympy" else "lower_source"
    monkeypatch.setattr(api, lower, Recording(lower, seen))
    monkeypatch.setattr(api, "generate", Recording("generate", seen))
    gc.enable()
    if entry == "source":
        text = gradc.compile_source(FORMULA)
    elif entry == "file":
        path = tmp_path / "f.grad"
        path.write_text(FORMULA)
        text = gradc.compile_file(path)
    else:
        x = sympy.Symbol("x")
        text = gradc.compile_sympy(sympy.tanh(x) * x, [x])
    assert "def f_value_and_grad" in text
    assert seen == [(lower, False), ("generate", False)]
    assert gc.isenabled()


def test_a_paused_collector_stays_paused(collector_state):
    gc.disable()
    gradc.compile_source(FORMULA)
    assert not gc.isenabled()


def test_resumed_after_an_error(collector_state):
    gc.enable()
    with pytest.raises(gradc.FormulaError, match="do not broadcast"):
        gradc.compile_source(
            "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x + y)\n"
        )
    assert gc.isenabled()
