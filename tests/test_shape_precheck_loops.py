"""The syntax-tree shape check (``frontend/statement_shapes.py``) through loops, item
assignment and the calls that make arrays, against the frontend on random files.

Each file is a function over parameters of named and literal sizes whose body mixes
assignments, ``+=``, ``for`` loops over ranges of every form the frontend reads (and some
it refuses), nested loops, item assignment with loop-variable indices (``h[t - 1]``,
``h[:, t]``) into local arrays and into parameters, ``zeros``, ``ones``, ``np.full``,
``np.full_like`` and ``np.inner``. Most are wrong somewhere; wherever the check reports,
the frontend (``lower_module`` without the check) reports the same message, line, column
and quoted line; and the check reports a fair share of them (a check that stopped at
every loop would pass the first assertion alone).
"""

from __future__ import annotations

import random

from tests.test_shape_precheck import precheck_report
from tests.test_syntax_precheck import early_report
from tests.test_value_name_precheck import frontend_report

H = (
    "def f(x: Vector[n], y: Vector[m], W: Matrix[n, d], V: Matrix[m, d], z: Vector[3], "
    "s: Scalar) -> Scalar:\n"
)
ATOMS = ["x", "y", "W", "V", "z", "s", "2.0", "h", "g", "k", "W.T", "x[1:]", "x[:0]"]
ATOMS += ["W[0]", "V[:, 0]", "x[::2]", "W[1::2]", "y[::-3]"]
IN_LOOPS = ["W[t]", "V[t]", "h[t]", "h[t - 1]", "h[1 + t]", "x[t]", "z[t]", "W[:, t]"]
IN_LOOPS += ["t", "h[u]"]
MADE = [
    "zeros((n, d))",
    "zeros((n,))",
    "zeros_like(W)",
    "ones_like(x)",
    "zeros((4, d))",
]
MADE += ["np.ones(m)", "np.full((n, d), s)", "zeros((d,))", "np.zeros(n - 1)"]
RANGES = ["n", "n - 1", "1, n", "3", "d", "0", "m", "n - 2, -1, -1", "2 * n", "n // 2"]
RANGES += ["0, n, 2", "C"]
INDICES = ["t", "t - 1", "t + 1", ":, t", "t, 0", "None, t", "u", "2 * t"]


def expression(r: random.Random, in_loop: bool, depth: int = 0) -> str:
    """A random expression: names, loop-indexed reads, operators and calls."""
    if depth > 2 or r.random() < 0.35:
        return r.choice(ATOMS + (IN_LOOPS if in_loop else []))
    a, b = expression(r, in_loop, depth + 1), expression(r, in_loop, depth + 1)
    forms = [
        f"({a} + {b})", f"({a} - {b})", f"({a} * {b})", f"({a} / {b})", f"({a} @ {b})",
        f"tanh({a})", f"exp({a})", f"np.inner({a}, {b})", f"np.full_like({a}, {b})",
        f"sum({a}, axis={r.choice([0, 1, -1])})", f"maximum({a}, {b})",
    ]  # fmt: skip
    return r.choice(forms)


def statements(r: random.Random, in_loop: bool, indent: int, nest: int) -> list[str]:
    """One random statement (a loop: its lines), indented by ``indent``."""
    pad, name = " " * indent, r.choice(["h", "g", "k"])
    roll = r.random()
    if roll < 0.3:
        return [f"{pad}{name} = {expression(r, in_loop)}"]
    if roll < 0.45:
        return [f"{pad}{r.choice(['h', 'g'])} = {r.choice(MADE)}"]
    if roll < 0.6:
        index = r.choice(INDICES if in_loop else ["0", "1:", ":, 0", "-1"])
        op = r.choice(["=", "=", "+=", "-=", "*="])
        target = r.choice(["h", "g", "x"])
        return [f"{pad}{target}[{index}] {op} {expression(r, in_loop)}"]
    if roll < 0.7 or nest >= 2:
        return [f"{pad}{name} {r.choice(['+=', '*='])} {expression(r, in_loop)}"]
    lines = [f"{pad}for {r.choice(['t', 't', 'u'])} in range({r.choice(RANGES)}):"]
    for _ in range(r.randint(1, 3)):
        lines += statements(r, True, indent + 4, nest + 1)
    return lines


def random_file(seed: int) -> str:
    """A random file of one function (and an integral constant ``C``)."""
    r = random.Random(seed)
    lines: list[str] = []
    for _ in range(r.randint(1, 4)):
        lines += statements(r, False, 4, 0)
    lines.append(f"    return sum({expression(r, False)})")
    return "C = 3\n\n\n" + H + "\n".join(lines) + "\n"


def test_random_files_with_loops_as_the_frontend():
    """Where the check reports, the frontend reports the same; it reports files with
    loops and with item assignment, and more than 70% of the loop files whose first
    error the frontend finds is a mismatch of the kinds the check reads."""
    reported = with_loops = items = 0
    loop_mismatches = loop_reported = 0
    for seed in range(1500):
        text = random_file(seed)
        got = precheck_report(text)
        want = frontend_report(text)
        if got is not None:
            assert got == want, (seed, text)
            reported += 1
            with_loops += "for " in text
            items += "] = " in text or "] += " in text
        if "for " in text and want is not None and "do not broadcast" in want:
            loop_mismatches += 1
            loop_reported += got is not None
    assert reported > 150 and with_loops > 40 and items > 20, (
        reported,
        with_loops,
        items,
    )
    assert loop_reported > 0.7 * loop_mismatches, (loop_reported, loop_mismatches)


def test_the_frontend_names_operands_as_written():
    """The frontend's message names the operands in the formula's order where the
    rewriter makes another node first (``-a + b`` is made as ``b - a``)."""
    text = "def f(a: Matrix[r, q], b: Matrix[p, q]) -> Scalar:\n    return sum(-a + tanh(b))\n"
    want = "shapes (r, q) and (p, q) do not broadcast"
    assert want in frontend_report(text)
    assert precheck_report(text) == frontend_report(text)


READ_BEFORE_ASSIGNED = {
    # the loop's own error, before its body is read; the second and third read an
    # unknown name in the body too, which the frontend meets after
    "an-update": "    s = w\n    for t in range(3):\n        g += s\n    return s\n",
    "an-unknown-name-after": "    s = w\n    for t in range(3):\n"
    "        y = g * qq\n        g = s\n    return s\n",
    "a-constant": "    s = w\n    for t in range(3):\n        y = C * qq\n        C = s\n"
    "    return s\n",
    "a-built-in-name": "    s = w\n    for t in range(3):\n        exp = g * w\n"
    "        g = s\n    return s\n",
}


def test_a_name_read_before_the_loop_assigns_it_as_the_frontend():
    head = "C = 2.0\n\n\ndef f(x: Vector[n], w: Scalar) -> Scalar:\n"
    for key, body in READ_BEFORE_ASSIGNED.items():
        text = head + body
        want = frontend_report(text)
        assert "is read before it is assigned in the loop" in want, (key, want)
        assert early_report(text) == want, key


def test_a_loop_variable_the_frontend_refuses_as_it_reports_it():
    """A variable that already names a value, a dimension or the file's constant (``pi``
    may be one), nested loops of one variable, and a body that assigns its variable:
    each reported as the frontend reports it, before the range and the body."""
    head = (
        "C = 2.0\nK = 3\n\n\ndef g(u: Scalar) -> Scalar:\n    return u\n\n\n"
        "def f(x: Vector[n], W: Matrix[n, m], w: Scalar) -> Scalar:\n"
    )
    reported = 0
    for v in ["t", "x", "w", "n", "m", "C", "K", "pi", "e", "g", "y", "W"]:
        for body in (
            f"    y = w\n    for {v} in range(3):\n        w = w * 2.0\n    return w\n",
            f"    y = w\n    for t in range(3):\n        for {v} in range(2):\n"
            "            w = w * 2.0\n    return w\n",
            f"    y = w\n    for {v} in range(n):\n        {v} = w\n    return w\n",
            f"    y = w\n    for {v} in range(x):\n        z = qq\n    return w\n",
        ):
            text = head + body
            got, want = early_report(text), frontend_report(text)
            assert got is None or got == want, (v, body, got, want)
            reported += got is not None
            words = (f"loop variable '{v}' already names a value\n", "assigns to its")
            assert got is None or any(w in got for w in words + RANGE_MESSAGES), got
    # 48 files: all reported but the loops of no error (t, pi, e, g over a range of 3
    # or 2) and a body assigning pi, e or g
    assert reported == 38, reported


RANGES = [
    "w", "x", "n", "n - 1", "-n", "2 * n", "n * m", "n // 2", "n // 0", "n // -2",
    "n // m", "K", "R", "C", "pi", "s", "3", "1, n", "0, n, 2", "0, n, 0", "0, n, n",
    "0, n, -1", "0, n, 1 - 1", "n, w", "w, n", "1.5", "True", "n + w", "(n + n) // n",
    "n ** 2", "f", "1, 2, n - n + 1",
]  # fmt: skip


RANGE_MESSAGES = (
    "error: a range bound is an integer literal, a dimension, an integral module "
    "constant or + - * // of them (T - 1)\n",
    "error: a loop's bounds cannot depend on an enclosing loop's variable (the trip "
    "count is fixed when the function is called)\n",
    "error: a range step is a nonzero integer\n",
)


def test_a_range_the_frontend_refuses_as_it_reports_it():
    """A bound of a value, a float, a power, a floor division by 0 or a negative int, a
    zero step, an enclosing loop's variable: each reported as the frontend reports it
    (``range_bounds.py``); a module constant, a floor division or a step of names, whose
    value the check does not read, left to the frontend."""
    head = (
        "C = 2.0\nK = 3\nR = 2.5\n\n\n"
        "def f(x: Vector[n], W: Matrix[n, m], w: Scalar) -> Scalar:\n    s = w\n"
    )
    texts = [
        head + f"    for t in range({r}):\n        s = s * w\n    return s\n"
        for r in RANGES
    ]
    texts += [
        head + f"    for t in range(n):\n        for u in range({r}):\n"
        "            s = s * w\n    return s\n"
        for r in ("t", "t + 1", "n - t")
    ]
    reported = refused = 0
    for text in texts:
        got, want = early_report(text), frontend_report(text)
        assert got is None or got == want, (text, got, want)
        reported += got is not None
        refused += want is not None
        # the messages written here (the frontend and the check share them)
        assert want is None or any(m in want for m in RANGE_MESSAGES), want
    # all but R (2.5), n // m, (n + n) // n and a step of n reported
    assert (refused, reported) == (22, 18), (refused, reported)
