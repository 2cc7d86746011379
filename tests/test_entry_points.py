"""One pipeline behind every entry point: a formula given as text and the same formula
given as a SymPy expression compile to the same function bodies (fused and ``--no-fuse``).

The text of each formula is SymPy's own printing of the expression (so the terms are in
the order SymPy keeps them; SymPy does not remember the order they were written in),
with SymPy's names for ``abs``/``maximum``/``minimum`` spelled as formulas spell them.
Docstrings and comments differ by design (they cite the formula line), so they are left
out of the comparison.
"""

from __future__ import annotations

import io
import re
import tokenize

import pytest
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

import gradc
from gradc.ops.sympy_functions import sigmoid, softplus

x, y, z = sp.symbols("x y z", real=True)

EXPRESSIONS = [
    sp.tanh(x * y) * sp.exp(-(x**2)),
    sigmoid(x * y + z),
    sp.log(1 + sp.exp(x)) - y * x,
    softplus(x) - y * x,
    (x - y) ** 2 / 2 + sp.sin(z) * sp.cos(x),
    sp.sqrt(x**2 + y**2 + 1),
    sp.Max(x, 0) * y + sp.Abs(z),
    sp.Min(x, y) + log1p(z**2),
    x / (1 + sp.exp(-y)),
    sp.exp(x) / (sp.exp(x) + sp.exp(y)),
    (x * y + sp.tan(z)) ** 3 - expm1(x),
    sp.erf(x) * y,
]

SPELLING = {"Abs": "abs", "Max": "maximum", "Min": "minimum"}


def formula_text(expr) -> str:
    """``expr`` as a formula file: SymPy's printing, with formula spellings of names."""
    body = re.sub(r"\b(Abs|Max|Min)\b", lambda m: SPELLING[m.group(1)], sp.sstr(expr))
    return (
        "def f(x: Scalar, y: Scalar, z: Scalar) -> Scalar:\n    return " + body + "\n"
    )


def bodies(module_text: str) -> list[str]:
    """The code lines of every function of a module, without docstrings or comments."""
    text = module_text[module_text.index("\ndef f(") :]
    out = []
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    drop = set()
    for tok in tokens:
        if tok.type == tokenize.STRING and tok.string.startswith('"""'):
            drop.update(range(tok.start[0], tok.end[0] + 1))
    for k, line in enumerate(text.splitlines(), start=1):
        code = line.split("  #")[0].rstrip()
        if k in drop or not code.strip() or code.strip().startswith("#"):
            continue
        out.append(code)
    return out


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "no-fuse"])
@pytest.mark.parametrize("expr", EXPRESSIONS, ids=[sp.sstr(e) for e in EXPRESSIONS])
def test_text_and_sympy_give_the_same_bodies(expr, fuse):
    from_sympy = gradc.compile_sympy(expr, [x, y, z], name="f", fuse=fuse)
    from_text = gradc.compile_source(formula_text(expr), fuse=fuse)
    assert bodies(from_sympy) == bodies(from_text)
    assert len(bodies(from_text)) > 10  # the comparison saw the functions


def test_the_issue_example_differs_only_in_the_order_of_its_factors():
    """``tanh(x*y) * exp(-x**2)``: SymPy keeps ``exp`` first; the text written in that
    order gives the same module body."""
    expr = sp.tanh(x * y) * sp.exp(-(x**2))
    assert sp.sstr(expr) == "exp(-x**2)*tanh(x*y)"
    text = "def f(x: Scalar, y: Scalar, z: Scalar) -> Scalar:\n"
    text += "    return exp(-x ** 2) * tanh(x * y)\n"
    assert bodies(gradc.compile_sympy(expr, [x, y, z], name="f")) == bodies(
        gradc.compile_source(text)
    )
