"""The all-scalar (``math``) build's input checks and its inline ``maximum``/``minimum``
(issue 16: checked <= 1.35x, ``--no-checks`` <= 1.05x hand-written code).

One test of every input's class (``x.__class__ is not float or ...``), then, only if one
is not exactly a float, every input through ``_scalar``: the results are those of the
per-input ``isinstance`` checks it replaces (np.float64 now becomes a float, same value),
and every error still names its parameter. ``maximum(z, w)`` on two names is the inline
``z if z > w or z != z else w``: np.maximum's value (nan from either side) and the
shared gradient at a tie, checked here against NumPy and hand-written routing.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import gradc
from gradc.core import printer as P
from gradc.ops.spelling import float_extremum

CIRCUIT = (
    "def circuit(x: Scalar, y: Scalar, z: Scalar, w: Scalar) -> Scalar:\n"
    "    return 2 * (x * y + maximum(z, w))\n"
)
TWO = "def f(w: Scalar, x: Scalar) -> Scalar:\n    return sigmoid(w * x)\n"
PARAMS = ("x", "y", "z", "w")
POINT = (3.0, -4.0, 2.0, -1.0)


def function_text(text: str, name: str) -> str:
    body = text.split(f"def {name}(")[1]
    return body.split("\n\n\ndef ")[0]


def test_one_class_test_for_every_input_then_each_converted():
    vg = function_text(gradc.compile_source(CIRCUIT), "circuit_value_and_grad")
    want = [
        "# inputs not all Python floats: each converted by _scalar (or refused, named)",
        "if (",
        "    x.__class__ is not float",
        "    or y.__class__ is not float",
        "    or z.__class__ is not float",
        "    or w.__class__ is not float",
        "):",
        '    x = _scalar(x, "circuit", "x")',
        '    y = _scalar(y, "circuit", "y")',
        '    z = _scalar(z, "circuit", "z")',
        '    w = _scalar(w, "circuit", "w")',
    ]
    lines = [ln[4:] for ln in vg.splitlines()]
    start = lines.index(want[0])
    assert lines[start : start + len(want)] == want, vg
    assert "isinstance" not in vg, vg
    forward = function_text(gradc.compile_source(CIRCUIT), "circuit_forward")
    assert "    if (\n        x.__class__ is not float\n" in forward, forward


def test_short_condition_on_one_line():
    vg = function_text(gradc.compile_source(TWO), "f_value_and_grad")
    assert "    if w.__class__ is not float or x.__class__ is not float:\n" in vg, vg
    assert '        w = _scalar(w, "f", "w")\n        x = _scalar(x, "f", "x")\n' in vg


def test_unchecked_build_has_no_class_test():
    vg = function_text(
        gradc.compile_source(CIRCUIT, checks=False), "circuit_value_and_grad"
    )
    assert "__class__" not in vg and "_scalar(" not in vg, vg


LIKE_FLOATS = [
    ("float", float),
    ("np.float64", np.float64),
    ("np.float32", np.float32),
    ("0-d array", np.array),
    ("0-d float32 array", lambda v: np.array(v, dtype=np.float32)),
]


@pytest.mark.parametrize("kind", [k for k, _ in LIKE_FLOATS])
@pytest.mark.parametrize("pos", range(4))
def test_numbers_of_any_kind_give_the_float_results(kind, pos):
    make = dict(LIKE_FLOATS)[kind]
    mod = gradc.load_source(CIRCUIT)
    want = mod.circuit_value_and_grad(*POINT)
    args = list(POINT)
    args[pos] = make(args[pos])
    value, grads = mod.circuit_value_and_grad(*args)
    assert (value, grads) == want, (kind, pos)
    assert type(value) is float and all(type(g) is float for g in grads), kind
    out, cache = mod.circuit_forward(*args)
    assert out == want[0] and all(type(c) is float for c in cache), cache
    assert mod.circuit_grad(*args) == want[1]


@pytest.mark.parametrize("pos", range(4))
def test_ints_and_bools_are_converted(pos):
    mod = gradc.load_source(CIRCUIT)
    ints = (3, -4, 2, -1)
    args = list(POINT)
    args[pos] = ints[pos]
    assert mod.circuit_value_and_grad(*args) == mod.circuit_value_and_grad(*POINT)
    args[pos] = True
    floats = list(POINT)
    floats[pos] = 1.0
    assert mod.circuit_value_and_grad(*args) == mod.circuit_value_and_grad(*floats)


@pytest.mark.parametrize("pos", range(4))
def test_errors_name_the_parameter(pos):
    mod = gradc.load_source(CIRCUIT)
    name = PARAMS[pos]
    for bad, error, text in [
        (np.ones(3), ValueError, f"circuit: parameter '{name}' has shape \\(3,\\)"),
        ([1.0, 2.0], ValueError, f"parameter '{name}' has shape \\(2,\\)"),
        ("1.0", TypeError, f"circuit: parameter '{name}' must be numeric, not str"),
        (None, TypeError, f"parameter '{name}' must be numeric, not NoneType"),
        (10**400, OverflowError, f"parameter '{name}' holds an integer too large"),
    ]:
        args = list(POINT)
        args[pos] = bad
        for f in (mod.circuit, mod.circuit_forward, mod.circuit_value_and_grad):
            with pytest.raises(error, match=text):
                f(*args)


def test_first_bad_parameter_is_the_one_named():
    mod = gradc.load_source(CIRCUIT)
    with pytest.raises(TypeError, match="parameter 'y'"):
        mod.circuit_value_and_grad(np.float64(3.0), "a", np.ones(2), 1.0)


# ----------------------------------------------------------------------------
# maximum / minimum inline on floats

MINMAX = {
    "maximum": "def f(z: Scalar, w: Scalar) -> Scalar:\n    return maximum(z, w)\n",
    "minimum": "def f(z: Scalar, w: Scalar) -> Scalar:\n    return minimum(z, w)\n",
}
VALUES = [-1.5, 0.0, 2.0, math.inf, -math.inf, math.nan]


def test_maximum_of_two_names_is_inline():
    text = gradc.compile_source(CIRCUIT)
    assert "    out = 2.0 * (x * y + (z if z > w or z != z else w))\n" in text, text
    assert "_maximum_scalar" not in text
    text = gradc.compile_source(MINMAX["minimum"])
    assert "    out = z if z < w or z != z else w\n" in text, text
    assert "_minimum_scalar" not in text


def test_maximum_with_a_number_or_an_expression():
    src = (
        "def f(z: Scalar, w: Scalar) -> Scalar:\n"
        "    return maximum(2 * z, w) + maximum(w, 0)\n"
    )
    text = gradc.compile_source(src)
    assert "out_t2 = out_t1 if out_t1 > w or out_t1 != out_t1 else w\n" in text, text
    assert "(w if w > 0.0 or w != w else 0.0)" in text, text
    src = "def f(z: Scalar) -> Scalar:\n    return maximum(1.5, z)\n"
    assert "out = 1.5 if 1.5 > z else z\n" in gradc.compile_source(src)


class Uses:
    """A stand-in for the backend's context: records the helpers asked for."""

    def __init__(self):
        self.used = []

    def use(self, name):
        self.used.append(name)


def test_an_operand_that_is_an_expression_goes_through_the_helper():
    # the backward reads both operands, so the emitted code names them; the spelling
    # itself still reads an expression once, through the helper
    emit = float_extremum("_maximum_scalar", ">")
    ctx = Uses()
    got = emit(None, [P.Expr("2.0 * z", P.MUL), P.name("w")], ctx)
    assert got.text == "_maximum_scalar(2.0 * z, w)" and ctx.used == ["_maximum_scalar"]
    got = emit(None, [P.name("z"), P.number(-1.0)], ctx)
    assert got.text == "_maximum_scalar(z, -1.0)"  # a negative number is not an atom
    got = emit(None, [P.name("z"), P.name("w")], ctx)
    assert got.text == "z if z > w or z != z else w"


def numpy_rule(op: str, z: float, w: float) -> tuple[float, float, float]:
    """np.maximum's value; the gradient routed to the strict winner, halved at a tie."""
    value = float(getattr(np, op)(z, w))
    strict = (z > w) if op == "maximum" else (z < w)
    other = (w > z) if op == "maximum" else (w < z)
    tie = 0.5 if z == w else 0.0
    return value, 1.0 if strict else tie, 1.0 if other else tie


@pytest.mark.parametrize("op", sorted(MINMAX))
def test_inline_extremum_matches_numpy_and_routes_ties(op):
    mod = gradc.load_source(MINMAX[op])
    for z, w in itertools.product(VALUES, VALUES):
        value, (dz, dw) = mod.f_value_and_grad(z, w)
        want, wz, ww = numpy_rule(op, z, w)
        np.testing.assert_array_equal(value, want, err_msg=f"{op}({z}, {w})")
        assert (dz, dw) == (wz, ww), (op, z, w, dz, dw)
        assert mod.f(z, w) == value or math.isnan(value)


def test_circuit_gradient_at_a_tie_and_at_nan():
    mod = gradc.load_source(CIRCUIT)
    assert mod.circuit_value_and_grad(3.0, -4.0, 2.0, 2.0) == (
        -20.0,
        (-8.0, 6.0, 1.0, 1.0),
    )
    value, grads = mod.circuit_value_and_grad(3.0, -4.0, math.nan, 2.0)
    assert math.isnan(value) and grads == (-8.0, 6.0, 0.0, 0.0)
    value, grads = mod.circuit_value_and_grad(3.0, -4.0, 2.0, math.nan)
    assert math.isnan(value) and grads == (-8.0, 6.0, 0.0, 0.0)
