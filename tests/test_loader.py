"""Modules loaded in memory (``load_source``) show their emitted lines in tracebacks and
to ``inspect``, as a module imported from a file would."""

from __future__ import annotations

import inspect
import traceback

import pytest

import gradc

SRC = "def f(x: Vector[n]) -> Scalar:\n    return sum(x * x)\n"


def test_traceback_cites_the_emitted_line():
    mod = gradc.load_source(SRC)
    with pytest.raises(ValueError) as info:
        mod.f([[1.0]])
    frames = traceback.extract_tb(info.value.__traceback__)
    ours = [fr for fr in frames if fr.filename.startswith("<gradc:")]
    assert ours, [fr.filename for fr in frames]
    lines = gradc.compile_source(SRC).splitlines()
    for fr in ours:
        assert fr.line == lines[fr.lineno - 1].strip()


def test_inspect_getsource_gives_the_emitted_function():
    mod = gradc.load_source(SRC)
    text = inspect.getsource(mod.f_value_and_grad)
    assert text.startswith("def f_value_and_grad(x):")
    assert text in gradc.compile_source(SRC)


def test_two_modules_of_one_name_keep_their_own_source():
    a = gradc.load_source(SRC)
    b = gradc.load_source(SRC.replace("x * x", "x * x * x"))
    assert "x * x * x" not in inspect.getsource(a.f)
    assert inspect.getsource(b.f) != inspect.getsource(a.f)
