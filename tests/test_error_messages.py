"""Error messages for a newcomer: each error says, in the user's words, what is wrong and
what to write instead.

* unsupported Python syntax is named as people say it ("a tuple", "floor division `//`",
  "a while loop"), never by its ``ast`` class name (``Tuple``, ``FloorDiv``, ``While``);
* a method call (``X.dot(W)``, ``x.mean(axis=0)``) suggests the function form with the
  same arguments;
* an unknown function or name suggests the closest known names ("did you mean");
* a call of a function defined further down says where it is;
* SymPy input errors name the operation and print the subexpression it sits in;
* an ``Index`` input given floats names the dtype.

Each message is checked through ``gradc.compile_source`` (message, line and column),
and a few through the CLI (exit code 2, the report on stderr, no traceback).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

import gradc
from gradc import FormulaError

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "cli.py"
H = "def f(x: Scalar, y: Scalar) -> Scalar:\n"
V = "def f(x: Vector[n], W: Matrix[n, m]) -> Scalar:\n"
AST_NAMES = re.compile(
    r"\b(Tuple|List|FloorDiv|Mod|BitXor|BitAnd|BitOr|LShift|RShift|Lambda|ListComp|"
    r"GeneratorExp|While|For|If|IfExp|Import|ImportFrom|FunctionDef|Not|Invert|Starred|"
    r"NamedExpr|AugAssign|StrictLessThan|Expr|nodes)\b"
)


def error_of(text: str) -> FormulaError:
    """The FormulaError that compiling ``text`` (as ``bad.grad``) raises."""
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="bad.grad")
    return info.value


def msg(id_, text, line, col, *fragments):
    """One row: the message must contain every fragment, at ``line``:``col``."""
    return pytest.param(text, line, col, fragments, id=id_)


# fmt: off
MESSAGES = [
    # --- Python syntax, named in the user's words, with what to write instead
    msg("tuple", H + "    return x, y\n", 2, 12, "a tuple is not supported",
        "several as one array: `stack([a, b])`"),
    msg("list", H + "    return [x, y]\n", 2, 12, "a list is not supported"),
    msg("floor-division", H + "    return x // y\n", 2, 12,
        "floor division `//` is not supported"),
    msg("remainder", H + "    return x % y\n", 2, 12, "the remainder operator `%` is not supported"),
    msg("caret-power", H + "    return x ^ 2\n", 2, 12, "`^`", "write `x ** 2`"),
    msg("lambda", H + "    g = lambda t: t\n    return x\n", 2, 9, "a lambda is not supported",
        "define a function with `def`"),
    msg("list-comprehension", "def f(v: Vector[3]) -> Scalar:\n    return sum([t for t in v])\n",
        2, 16, "a list comprehension is not supported"),
    msg("generator", "def f(v: Vector[3]) -> Scalar:\n    return sum(t * t for t in v)\n",
        2, 15, "a generator expression is not supported", "sum(v * v)"),
    msg("while", H + "    while x:\n        x = x - 1.0\n    return x\n", 2, 5,
        "a while loop is not supported", "write `for t in range(...)`"),
    msg("for", "def f(v: Vector[3]) -> Scalar:\n    s = 0.0\n    for e in v:\n"
        "        s = s + e\n    return s\n", 3, 14,
        "a for loop runs over range(stop), range(start, stop) or range(start, stop, step)"),
    msg("if", H + "    if x > 0:\n        x = -x\n    return x\n", 2, 5,
        "an if statement is not supported", "use `where(cond, a, b)`"),
    msg("if-expression", H + "    return x if x > y else y\n", 2, 12,
        "a conditional expression `a if cond else b` is not supported",
        "use `where(cond, a, b)`"),
    msg("import", "import numpy as np\n\n\n" + H + "    return x\n", 1, 1,
        "imports are not supported",
        "formula files use the built-in operations; `np.` prefixes are allowed"),
    msg("import-in-def", H + "    from math import exp\n    return x\n", 2, 5,
        "imports are not supported"),
    msg("nested-def", H + "    def g(t: Scalar) -> Scalar:\n        return t\n    return x\n",
        2, 5, "a nested function definition is not supported",
        "define it at the top level, above its first use"),
    msg("match", H + "    match x:\n        case 1:\n            y = x\n    return x\n", 2, 5,
        "a match statement is not supported", "use `where(cond, a, b)`"),
    msg("syntax-not-doubled", H + "    return x * *y\n", 2, 16, "invalid syntax"),
    msg("not", H + "    return not x\n", 2, 12, "`not` is not supported"),
    msg("invert", H + "    return ~x\n", 2, 12, "`~` is not supported"),
    msg("tuple-unpacking", H + "    a, b = x, y\n    return a\n", 2, 5,
        "assign one name at a time"),
    msg("power-assign", H + "    x **= 2\n    return x\n", 2, 5, "`**=` is not supported",
        "write `x = x ** 2`"),
    msg("expression-statement", H + "    exp(x)\n    return x\n", 2, 5,
        "an expression on its own line", "assign it: `name = ...`"),
    # --- methods: the function form with the same arguments
    msg("method-dot", V + "    return sum(x.dot(W))\n", 2, 16, "method",
        "write `x @ W` (or `dot(x, W)`)"),
    msg("method-mean-axis", "def f(X: Matrix[n, m]) -> Scalar:\n    return sum(X.mean(axis=0))\n",
        2, 16, "write `mean(X, axis=0)`"),
    msg("method-sum", V + "    return x.sum()\n", 2, 12, "write `sum(x)`"),
    msg("method-max-keepdims", V + "    return sum(W.max(1, keepdims=True))\n", 2, 16,
        "write `max(W, 1, keepdims=True)`"),
    msg("method-reshape-varargs", V + "    return sum(W.reshape(m, n))\n", 2, 16,
        "write `reshape(W, (m, n))`"),
    msg("method-reshape-tuple", V + "    return sum(W.reshape((m, n)))\n", 2, 16,
        "write `reshape(W, (m, n))`"),
    msg("method-transpose", V + "    return sum(W.transpose() @ x)\n", 2, 16,
        "write `transpose(W)` or `W.T`"),
    msg("method-of-expression", V + "    return (x + 1.0).sum()\n", 2, 12,
        "write `sum(x + 1.0)`"),
    msg("method-unknown", V + "    return x.cumprod()\n", 2, 12, "method `x.cumprod()`",
        "functions, as in `sum(x)`"),
    msg("method-cumsum", V + "    return sum(x.cumsum())\n", 2, 16,
        "method `x.cumsum()` is not supported: write `cumsum(x)`"),
    msg("np-typo", H + "    return np.sigmod(x)\n", 2, 12, "unknown function 'np.sigmod'",
        "did you mean `sigmoid`?"),
    msg("method-dot-of-expression", V + "    return sum((x + 1.0).dot(W))\n", 2, 16,
        "write `(x + 1.0) @ W` (or `dot(x + 1.0, W)`)"),
    msg("math-prefix", H + "    return math.exp(x)\n", 2, 12, "unknown function 'math.exp'",
        "write `exp(...)`", "`np.` prefixes are allowed"),
    # a parameter's shape reads are its dimensions (x.shape[0] is n) until it is assigned
    msg("shape-attribute", V + "    x = x * 2.0\n    return sum(x) / x.shape[0]\n", 3, 21,
        "'.shape'",
        "in `x: Vector[n]`, write `n`"),
    # NumPy habits: a boolean mask, flatten, astype, random numbers
    msg("boolean-mask", V + "    return sum(x[x > 0.0])\n", 2, 18,
        "a boolean mask `[x > 0.0]` is not supported", "depends on the values",
        "`where(x > 0.0, ..., 0.0)`"),
    msg("flatten", V + "    return sum(W.flatten())\n", 2, 16,
        "method `W.flatten()` is not supported: write `reshape(W, -1)`"),
    msg("astype", V + "    return sum(x.astype(float))\n", 2, 16,
        "values are float64 already: write `x` itself"),
    msg("np-random", V + "    return sum(x * np.random.randn(n))\n", 2, 20,
        "unknown function 'np.random.randn'", "pass random values in as a parameter"),
    msg("print", H + "    print(x)\n    return x\n", 2, 5, "print() is not supported",
        "gradc explain FILE.grad"),
    msg("expit", V + "    return sum(scipy.special.expit(x))\n", 2, 16,
        "unknown function 'scipy.special.expit'; did you mean `sigmoid`?"),
    msg("math-pi", H + "    return x * math.pi\n", 2, 16,
        "'math.pi' is not a formula constant", "`np.pi` and `np.e`"),
    msg("np-size", V + "    return sum(x) / np.size(x)\n", 2, 21,
        "unknown function 'np.size'", "in `x: Vector[n]`, write `n`"),
    msg("linspace", V + "    return sum(x * np.linspace(0.0, 1.0, n))\n", 2, 20,
        "unknown function 'np.linspace'", "pass it in as a parameter"),
    # len() of a value the function computed, or of a parameter it assigns again
    msg("len-of-a-local", V + "    h = x * 2.0\n    return sum(h) / len(h)\n", 3, 21,
        "unknown function 'len'", "in `x: Vector[n]`, write `n`",
        "a parameter the function never rebinds"),
    msg("np-inf", H + "    return x * np.inf\n", 2, 16, "'np.inf' is not a formula constant",
        "`np.pi` and `np.e`"),
    msg("item-assignment", "def f(v: Vector[3]) -> Scalar:\n    v[0] = 1.0\n    return sum(v)\n",
        2, 5, "cannot assign into parameter 'v'", "zeros_like(v)"),
    msg("chained-assignment", H + "    a = b = x\n    return a\n", 2, 5,
        "assign one name at a time: `a = ...`, not `a = b = ...`"),
    msg("matmul-assign", V + "    x @= W\n    return sum(x)\n", 2, 5, "`@=` is not supported",
        "write `x = x @ W`"),
    msg("and-or", H + "    return x and y\n", 2, 12, "`and`/`or` is not supported"),
    msg("yield", H + "    yield x\n    return x\n", 2, 5, "`yield` is not supported",
        "end the function with `return`"),
    msg("ellipsis", "def f(X: Matrix[2, 2]) -> Scalar:\n    return sum(X[..., 0])\n", 2, 18,
        "`...` is not supported", "write the slices out"),
    msg("bool-literal", H + "    return x * True\n", 2, 16, "`True` is not a number here",
        "write 1.0"),
    # --- did you mean
    msg("case-only", H + "    return X + y\n", 2, 12, "unknown name 'X'; did you mean `x`?"),
    # Python's max(a, b) is NumPy's np.max(x, axis) here: say so, and what to write
    msg("max-of-two", H + "    return max(x, 0.0)\n", 2, 19,
        "the second argument of max() is an axis, as in NumPy's np.max(x, axis)",
        "the larger of two values is `maximum(x, 0.0)`"),
    msg("min-of-two", V + "    return min(sum(x), 1.0 / n)\n", 2, 24,
        "the second argument of min() is an axis",
        "the smaller of two values is `minimum(sum(x), 1.0 / n)`"),
    msg("np-linalg", H + "    return np.linalg.pinv(x)\n", 2, 12,
        "unknown function 'np.linalg.pinv'", "write `inv(A)` (A invertible)"),
    msg("inv-of-a-scalar", H + "    return np.linalg.inv(x)\n", 2, 12,
        "inv: expects a square matrix or a stack of them (..., n, n), not ()"),
    msg("sigmod", H + "    return sigmod(x)\n", 2, 12, "unknown function 'sigmod'",
        "did you mean `sigmoid`?"),
    msg("logsumexpp", "def f(v: Vector[3]) -> Scalar:\n    return logsumexpp(v)\n", 2, 12,
        "did you mean `logsumexp`?"),
    # NumPy 2's and math's short names: the formula's long name, not the closest spelling
    msg("np-asin", H + "    return np.asin(x)\n", 2, 12, "unknown function 'np.asin'",
        "did you mean `arcsin`?"),
    msg("asin", H + "    return asin(x) + x\n", 2, 12, "unknown function 'asin'",
        "did you mean `arcsin`?"),
    msg("math-atan2", H + "    return math.atan2(x, y)\n", 2, 12,
        "unknown function 'math.atan2'", "did you mean `arctan2`?"),
    msg("np-asinh", H + "    return np.asinh(x)\n", 2, 12, "did you mean `arcsinh`?"),
    msg("np-atanh", H + "    return np.atanh(x)\n", 2, 12, "did you mean `arctanh`?"),
    msg("acosh", H + "    return acosh(x)\n", 2, 12, "did you mean `arccosh`?"),
    msg("sinh-redefined", "@fuse\ndef sinh(x: Scalar) -> Scalar:\n    return x\n\n\n"
        + H + "    return sinh(x)\n", 2, 1, "'sinh' is a built-in name"),
    # an operation only rewrites build (logsumexp's shift) is not a formula function
    msg("internal-op", "def f(v: Vector[3]) -> Scalar:\n    return sum(max_shift(v) * v)\n",
        2, 16, "unknown function 'max_shift'"),
    msg("own-function", "def helper(t: Scalar) -> Scalar:\n    return t\n\n\n"
        + H + "    return helpr(x)\n", 6, 12, "unknown function 'helpr'",
        "did you mean `helper`?"),
    msg("no-close-match", H + "    return qqqqqq(x)\n", 2, 12, "unknown function 'qqqqqq'"),
    msg("variable-typo", H + "    total = x + y\n    return totl\n", 3, 12, "unknown name 'totl'",
        "did you mean `total`?"),
    msg("constant-typo", "ALPHA = 0.5\n\n\n" + H + "    return ALPHS * x\n", 5, 12,
        "did you mean `ALPHA`?"),
    msg("parameter-typo", "def f(weights: Scalar) -> Scalar:\n    return weight * 2.0\n", 2, 12,
        "did you mean `weights`?"),
    msg("type-typo", "def f(x: Vectr[3]) -> Scalar:\n    return sum(x)\n", 1, 10,
        "unknown type 'Vectr'", "did you mean `Vector`?"),
    # --- defined below its use
    msg("defined-below", H + "    return helper(x)\n\n\n"
        "def helper(t: Scalar) -> Scalar:\n    return t\n", 2, 12,
        "'helper' is defined below, on line 5: define it above its first use"),
    msg("defined-below-helper", "def g(t: Scalar) -> Scalar:\n    return h(t)\n\n\n"
        "def h(t: Scalar) -> Scalar:\n    return t\n\n\n" + H + "    return g(x)\n", 2, 12,
        "'h' is defined below, on line 5"),
    msg("recursion", H + "    return f(x, y)\n", 2, 12, "'f' calls itself",
        "recursion is not supported"),
]
# fmt: on


@pytest.mark.parametrize(("text", "line", "col", "fragments"), MESSAGES)
def test_message_text(text, line, col, fragments):
    err = error_of(text)
    for fragment in fragments:
        assert fragment in err.message, f"{err.message!r} should contain {fragment!r}"
    assert (err.line, err.col) == (line, col), str(err)
    assert not AST_NAMES.search(err.message), f"AST jargon in {err.message!r}"
    report = str(err).splitlines()
    assert report[0] == f"bad.grad:{line}:{col}: error: {err.message}"
    assert report[2] == "    " + " " * (col - 1) + "^"


def test_syntax_error_does_not_repeat_itself():
    assert error_of(H + "    return x * *y\n").message == "invalid syntax"


def test_long_augmented_assignment_is_not_printed():
    """The suggested ``x = x ** ...`` is not spelled out for a value nested too deeply
    (``ast.unparse`` recurses): still a located FormulaError, not a RecursionError."""
    err = error_of(H + "    x **= " + " + ".join(["x"] * 2000) + "\n    return x\n")
    assert err.message.endswith("write `x = x ** ...`")
    assert (err.line, err.col) == (2, 5)


def test_no_did_you_mean_without_a_close_name():
    for call in ("qqqqqq(x)", "np.linalg.inv(x)", "x.real()"):
        assert "did you mean" not in error_of(H + f"    return {call}\n").message


def test_defined_below_beats_did_you_mean():
    """The called name exists, only too late: say so rather than guess a neighbour."""
    err = error_of(
        H + "    return exq(x)\n\n\ndef exq(t: Scalar) -> Scalar:\n    return t\n"
    )
    assert "'exq' is defined below, on line 5" in err.message
    assert "did you mean" not in err.message


# ------------------------------------------------------------------ SymPy input

x_, y_, z_ = sympy.symbols("x y z")


def sympy_error(expr, inputs) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        gradc.compile_sympy(expr, inputs)
    return info.value


def test_sympy_piecewise_without_otherwise_named_not_its_condition():
    err = sympy_error(sympy.Piecewise((x_, x_ > 0)), [x_])
    assert err.message == (
        "Piecewise has no otherwise branch (a last condition True): its value is "
        "undefined where no condition holds in Piecewise((x, x > 0))"
    )
    assert "StrictLessThan" not in err.message


def test_sympy_unsupported_operation_deep_inside():
    """The operation is named with the subexpression it heads; the caret points at it in
    the printed whole expression."""
    expr = sympy.exp(x_) + sympy.floor(x_ * y_)
    err = sympy_error(expr, [x_, y_])
    assert err.message == "unsupported SymPy operation floor in floor(x*y)"
    assert err.filename == "<sympy>"
    assert err.source_line == sympy.sstr(expr)
    assert err.source_line[err.col - 1 :].startswith("floor(x*y)")


def test_sympy_symbol_not_an_input():
    err = sympy_error(sympy.exp(x_) * sympy.sin(z_), [x_])
    assert err.message == "symbol z is not among the inputs (x), in sin(z)"
    assert err.source_line[err.col - 1 :].startswith("sin(z)")


def test_sympy_constant_not_finite():
    err = sympy_error(x_ + sympy.zoo, [x_])
    assert err.message.startswith("constant zoo is not a finite real number, in ")
    err = sympy_error(x_ * sympy.I, [x_])
    assert err.message == "constant I is not a finite real number, in I*x"


def test_sympy_long_subexpression_is_truncated():
    long = sum(sympy.Symbol(f"v{k}") for k in range(40))
    expr = sympy.floor(long)
    err = sympy_error(expr, [x_, *long.args])
    assert err.message.startswith("unsupported SymPy operation floor in floor(")
    assert err.message.endswith("...")
    assert len(err.message) < 120


def test_sympy_huge_shared_expression_is_not_printed_in_full():
    """A deep DAG with sharing prints as an exponentially large tree: the message stays
    short and is made without printing it."""
    e = x_
    for _ in range(60):  # 2**60 nodes as a tree
        e = sympy.sin(e) + sympy.cos(e)
    err = sympy_error(sympy.floor(e), [x_])
    assert err.message.startswith("unsupported SymPy operation floor in floor(")
    assert len(err.message) < 120
    assert err.source_line is None


# ------------------------------------------------------------------ Index inputs

PICK = "def pick(x: Vector[n], i: Index[m]) -> Scalar:\n    return sum(x[i])\n"


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (np.array([0.0, 1.0]), "not float64 values"),
        ([0.0, 1.0], "not float64 values"),
        (np.array([0, 1], dtype=np.float32), "not float32 values"),
        (np.array([True, False]), "not bool values"),
        ("ab", "not str"),
    ],
)
def test_index_names_the_dtype(given, words):
    mod = gradc.load_source(PICK)
    with pytest.raises(TypeError) as info:
        mod.pick(np.ones(3), given)
    assert str(info.value).startswith("pick: parameter 'i' must hold integers, not ")
    assert words in str(info.value)
    assert "ndarray" not in str(info.value)


# ------------------------------------------------------------------ through the CLI


def run_compile(tmp_path, text):
    path = tmp_path / "bad.grad"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, str(CLI), "compile", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    return path, proc


@pytest.mark.parametrize(
    ("text", "line", "col", "message", "quoted"),
    [
        (
            H + "    return sigmod(x)\n",
            2,
            12,
            "unknown function 'sigmod'; did you mean `sigmoid`?",
            "    return sigmod(x)",
        ),
        (
            V + "    return sum(x.dot(W))\n",
            2,
            16,
            "method `x.dot(W)` is not supported: write `x @ W` (or `dot(x, W)`)",
            "    return sum(x.dot(W))",
        ),
        (
            H + "    return x // y\n",
            2,
            12,
            "floor division `//` is not supported",
            "    return x // y",
        ),
    ],
)
def test_cli_reports_the_message(tmp_path, text, line, col, message, quoted):
    path, proc = run_compile(tmp_path, text)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    head = f"{path}:{line}:{col}: error: "
    first = next(k for k, t in enumerate(lines) if t.startswith(head))
    assert message in lines[first]
    assert lines[first + 1] == "    " + quoted
    assert lines[first + 2] == "    " + " " * (col - 1) + "^"
