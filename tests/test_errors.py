"""Bad input ends in a FormulaError, located and quoted, never a traceback.

* a table of malformed, unsupported and hostile formulas with the expected line, column
  (1-based, in characters) and a word of the message, checked through the Python API
  (``FormulaError.line/.col``) and through the CLI (exit 2, ``FILE:LINE:COL: error:``,
  the offending line quoted, no ``Traceback``);
* empty, binary and non-UTF-8 files;
* size limits (nesting depth, node count, exponent size, literal length, file size), each
  run in a subprocess with a generous timeout as a hang guard (not a timing assertion);
* a long chain of statements compiles (IR passes are iterative);
* generated modules check their inputs (shape and type) and name function and parameter.

Where the spec leaves the exact column open (an operator vs. its left operand, a
parameter vs. its annotation), the table lists every defensible column.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import gradc
from gradc import FormulaError

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "cli.py"
H = "def f(x: Scalar, y: Scalar) -> Scalar:\n"
V3 = "def f(v: Vector[3]) -> Scalar:\n"
FUSE_G = "@fuse\ndef g(t: Scalar) -> Scalar:\n    return t\n\n\n"


def case(id_, text, line, col, *words):
    """One row: ``line``/``col`` are ints or sets of acceptable values; ``words`` are
    alternatives, one of which must appear in the message (case-insensitive)."""
    return pytest.param(text, line, col, words, id=id_)


# fmt: off
CASES = [
    # --- syntax
    case("syntax-incomplete", H + "    return x +\n", 2, 15, "syntax"),
    case("syntax-unclosed", H + "    return exp(x\n", 2, 15, "never closed", "syntax"),
    case("syntax-indent", "def f(x: Scalar) -> Scalar:\nreturn x\n", 2, 1, "indent"),
    case("syntax-keyword-param", "def f(lambda: Scalar) -> Scalar:\n    return 1.0\n", 1, 7,
         "syntax"),
    case("syntax-None-param", "def f(None: Scalar) -> Scalar:\n    return 1.0\n", 1, 7,
         "syntax"),
    # --- names and functions
    case("unknown-name", H + "    return x + z\n", 2, 16, "'z'", "z"),
    case("unknown-function", H + "    return foo(x)\n", 2, 12, "foo"),
    case("builtin-print", H + "    return print(x)\n", 2, 12, "print"),
    case("builtin-eval", H + "    return eval(x)\n", 2, 12, "eval"),
    case("builtin-__import__", H + "    return __import__(x)\n", 2, 12, "__import__"),
    case("forward-reference", "def f(x: Scalar) -> Scalar:\n    return g(x)\n\n\n"
         "def g(x: Scalar) -> Scalar:\n    return x\n", 2, 12, "'g'", " g"),
    case("self-recursion", "def f(x: Scalar) -> Scalar:\n    return f(x)\n", 2, 12, "'f'", " f"),
    case("duplicate-parameter", "def f(x: Scalar, x: Scalar) -> Scalar:\n    return x\n", 1, 18,
         "duplicate"),
    case("duplicate-parameter-nfkc", "def f(\uff58: Scalar, x: Scalar) -> Scalar:\n    return x\n",
         1, 18, "duplicate"),
    case("duplicate-function", "def f(x: Scalar) -> Scalar:\n    return x\n\n\n"
         "def f(x: Scalar) -> Scalar:\n    return x\n", 5, 1, "already", "duplicate"),
    # --- arity and keywords
    case("arity-unary", H + "    return exp(x, y)\n", 2, 12, "argument"),
    case("arity-binary", H + "    return maximum(x)\n", 2, 12, "argument"),
    case("arity-fuse", FUSE_G + H + "    return g(x, y)\n", 7, 12, "argument"),
    case("unknown-keyword", V3 + "    return sum(v, axes=0)\n", 2, {12, 19}, "axes", "keyword"),
    case("axis-not-literal", "def f(M: Matrix[2, 3], x: Scalar) -> Scalar:\n"
         "    return sum(sum(M, axis=x))\n", 2, {16, 23, 28}, "axis"),
    case("axis-out-of-range", V3 + "    return sum(v, axis=1)\n", 2, {12, 19, 24}, "axis"),
    case("axis-empty-tuple", V3 + "    return sum(v, axis=())\n", 2, 24, "axis=() names no axis"),
    case("reduce-empty-slice", V3 + "    return max(v[:0])\n", 2, 12,
         "max() over an axis of 0 elements"),
    case("softmax-empty-slice", V3 + "    return sum(softmax(v[3:]))\n", 2, 16,
         "softmax() over an axis of 0 elements"),
    case("loop-index-out-of-bounds", "def f(x: Vector[4]) -> Scalar:\n    h = 0.0\n"
         "    for t in range(5):\n        h = h + x[t]\n    return h\n", 4, 19,
         "index t is 4 at t = 4: out of bounds for a dimension of size 4"),
    case("loop-index-below", "def f(x: Vector[4]) -> Scalar:\n    h = 0.0\n"
         "    for t in range(3, -1, -1):\n        h = h + x[t - 5]\n    return h\n", 4, 19,
         "index t - 5 is -5 at t = 0"),
    case("loop-nested-index", "def f(M: Matrix[3, 4]) -> Scalar:\n    h = 0.0\n"
         "    for i in range(3):\n        for j in range(3):\n"
         "            h = h + M[i, i + j]\n    return h\n", 5, 26,
         "index i + j is 4 at i = 2, j = 2"),
    case("loop-item-assignment", "def f(x: Vector[4]) -> Scalar:\n    a = zeros((4,))\n"
         "    for t in range(4):\n        a[t + 1] = x[t]\n    return sum(a)\n", 4, 11,
         "index t + 1 is 4 at t = 3"),
    case("arange-out-of-bounds", "def f(M: Matrix[3, 4]) -> Scalar:\n"
         "    return sum(M[arange(4), 0])\n", 2, 18, "arange(4) is out of bounds"),
    # --- shapes
    case("shape-add", "def f(a: Vector[3], b: Vector[4]) -> Scalar:\n    return sum(a + b)\n",
         2, {16, 18, 20}, "shape", "broadcast"),
    case("shape-matmul", "def f(A: Matrix[2, 3], b: Vector[4]) -> Scalar:\n"
         "    return sum(A @ b)\n", 2, {16, 18, 20}, "shape", "align", "match"),
    case("shape-named-dims", "def f(A: Matrix[m, n], b: Vector[m]) -> Scalar:\n"
         "    return sum(A @ b)\n", 2, {16, 18, 20}, "shape", "align", "match"),
    case("shape-return", V3 + "    return v\n", 2, {5, 12}, "shape", "return"),
    case("shape-helper-argument", "def h(v: Vector[3]) -> Scalar:\n    return sum(v)\n\n\n"
         + H + "    return h(x)\n", 6, {12, 14}, "shape"),
    case("index-out-of-bounds", V3 + "    return v[3]\n", 2, {12, 14}, "bounds", "index"),
    case("index-too-many", V3 + "    return v[0, 0]\n", 2, {12, 14}, "indices", "index"),
    case("index-float", V3 + "    return v[1.5]\n", 2, {12, 14}, "index", "integer"),
    case("reshape-size", V3 + "    return sum(reshape(v, (2, 2)))\n", 2, {16, 27}, "reshape",
         "size", "shape"),
    # --- @fuse
    case("fuse-vector-param", "@fuse\ndef g(t: Vector[3]) -> Scalar:\n    return sum(t)\n\n\n"
         + H + "    return x\n", 2, {1, 7, 10}, "scalar"),
    case("fuse-vector-return", "@fuse\ndef g(t: Scalar) -> Vector[3]:\n    return t\n\n\n"
         + H + "    return x\n", 2, {1, 21}, "scalar"),
    # --- imports, attributes, strings and other Python
    case("import", "import os\n\n\n" + H + "    return x\n", 1, 1, "import"),
    case("from-import", "from os import system\n\n\n" + H + "    return x\n", 1, 1, "import"),
    case("import-in-def", H + "    import os\n    return x\n", 2, 5, "import"),
    case("attribute-dunder", H + "    return x.__class__\n", 2, {12, 14}, "attribute",
         "__class__"),
    case("attribute-chain", H + "    return x.__class__.__mro__\n", 2, {12, 14, 24},
         "attribute", "__class__", "__mro__"),
    case("attribute-np-linalg", H + "    return np.linalg.inv(x)\n", 2, {12, 15, 22}, "inv",
         "attribute", "unknown"),
    case("attribute-os", H + "    return os.system(x)\n", 2, {12, 15}, "os", "attribute",
         "unknown"),
    case("attribute-of-call", H + "    return exp(x).real\n", 2, {12, 19}, "attribute", "real"),
    case("string-return", H + '    return "abc"\n', 2, 12, "string", "literal"),
    case("string-constant", 'A = "abc"\n\n\n' + H + "    return x\n", 1, {1, 5}, "number",
         "string"),
    case("bytes", H + "    return b'x'\n", 2, 12, "bytes", "string", "number", "literal"),
    case("f-string", H + '    return f"{x}"\n', 2, 12, "string", "literal"),
    case("string-argument", H + "    return exp('x')\n", 2, {12, 16}, "string", "literal"),
    case("complex-literal", H + "    return x * 1j\n", 2, {12, 16}, "complex", "number", "literal"),
    case("None-literal", H + "    return None\n", 2, 12, "none", "number"),
    case("lambda", H + "    g = lambda t: t\n    return x\n", 2, {5, 9}, "lambda"),
    case("for-loop", H + "    for i in x:\n        x = x + 1.0\n    return x\n", 2, 14,
         "for", "loop", "range"),
    case("while-loop", H + "    while x:\n        x = x - 1.0\n    return x\n", 2, 5, "while",
         "loop"),
    case("if", H + "    if x > 0:\n        x = -x\n    return x\n", 2, 5, "if"),
    case("if-expression", H + "    return x if y else y\n", 2, 12, "condition", "if"),
    case("if-expression-syntax-warning", H + "    return 1if x else y\n", 2, 12, "condition",
         "if"),
    case("list-comprehension", V3 + "    return sum([t for t in v])\n", 2, 16, "comprehension"),
    case("generator-expression", V3 + "    return sum(t for t in v)\n", 2, {12, 15, 16},
         "comprehension", "generator"),
    case("class", "class A:\n    pass\n\n\n" + H + "    return x\n", 1, 1, "class"),
    case("global", H + "    global x\n    return x\n", 2, 5, "global"),
    case("with", H + "    with x:\n        y = x\n    return y\n", 2, 5, "with"),
    case("try", H + "    try:\n        y = x\n    except Exception:\n        y = x\n"
         "    return y\n", 2, 5, "try"),
    case("del", H + "    del x\n    return y\n", 2, 5, "del"),
    case("assert", H + "    assert x\n    return y\n", 2, 5, "assert"),
    case("walrus", H + "    return (z := x)\n", 2, 13, ":="),
    case("tuple-unpacking", H + "    a, b = x, y\n    return a\n", 2, {5, 12}, "assign", "name"),
    case("subscript-assignment", V3 + "    v[0] = 1.0\n    return sum(v)\n", 2, 5, "assign",
         "name"),
    case("expression-statement", H + "    x + y\n    return x\n", 2, 5, "statement",
         "own line"),
    case("yield", H + "    yield x\n    return x\n", 2, 5, "yield", "statement"),
    case("nested-def", H + "    def g(t: Scalar) -> Scalar:\n        return t\n    return x\n",
         2, 5, "def", "function", "nested"),
    case("async-def", "async def f(x: Scalar) -> Scalar:\n    return x\n", 1, 1, "async"),
    case("chained-comparison-as-number", H + "    return x * (x < y < 1.0)\n", 2, 17, "compar"),
    case("chained-comparison", H + "    return where(x < y < 1.0, x, y)\n", 2, {18}, "compar"),
    case("bool-op", H + "    return x and y\n", 2, 12, "and"),
    # --- signatures and decorators
    case("missing-annotation", "def f(x) -> Scalar:\n    return x\n", 1, {1, 7}, "annotat"),
    case("missing-return-annotation", "def f(x: Scalar):\n    return x\n", 1, 1, "annotat",
         "return"),
    case("unknown-type", "def f(x: Foo) -> Scalar:\n    return x\n", 1, 10, "type", "Foo"),
    case("type-float", "def f(x: float) -> Scalar:\n    return x\n", 1, 10,
         "unknown type 'float'; a number is `Scalar`"),
    case("type-return-float", "def f(x: Scalar) -> float:\n    return x\n", 1, 21,
         "unknown type 'float'; a number is `Scalar`"),
    case("type-ndarray", "def f(x: np.ndarray) -> Scalar:\n    return sum(x)\n", 1, 10,
         "an array is `Vector[n]`, `Matrix[m, n]` or `Tensor[...]`"),
    case("type-parentheses", "def f(x: Matrix(m, n)) -> Scalar:\n    return sum(x)\n", 1,
         10, "write `Matrix[m, n]`, with square brackets"),
    case("type-brackets-twice", "def f(x: Matrix[m][n]) -> Scalar:\n    return sum(x)\n", 1,
         10, "write `Matrix[m, n]`, the dimensions in one pair of brackets"),
    case("scalar-with-dims", "def f(x: Scalar[3]) -> Scalar:\n    return x\n", 1, 10,
         "dimension", "scalar"),
    case("matrix-one-dim", "def f(x: Matrix[3]) -> Scalar:\n    return sum(x)\n", 1, 10,
         "dimension"),
    case("negative-dim", "def f(x: Vector[-1]) -> Scalar:\n    return sum(x)\n", 1, {10, 17},
         "dimension", "positive"),
    case("default-value", "def f(x: Scalar = 1.0) -> Scalar:\n    return x\n", 1, {1, 7, 19},
         "default"),
    case("star-args", "def f(*x: Scalar) -> Scalar:\n    return x\n", 1, {1, 7, 8}, "*",
         "parameter"),
    case("unknown-decorator", "@jit\n" + H + "    return x\n", 1, {1, 2}, "decorator"),
    case("wrt-unknown", "@wrt(z)\n" + H + "    return x\n", 1, 6, "'z'", "z"),
    case("wrt-index", "@wrt(i)\ndef f(x: Scalar, i: Index) -> Scalar:\n    return x\n", 1, 6,
         "index"),
    case("missing-return", H + "    z = x\n", 2, 5, "return"),
    case("return-without-value", H + "    return\n", 2, 5, "return"),
    case("statement-after-return", H + "    return x\n    z = y\n", {2, 3}, 5, "return"),
    # --- top level
    case("constant-not-number", "A = x\n\n\n" + H + "    return x\n", 1, {1, 5}, "number"),
    case("constant-expression", "A = 2 * 3\n\n\n" + H + "    return x\n", 1, {1, 5}, "number"),
    case("top-level-expression", "x + 1\n\n\n" + H + "    return x\n", 1, 1, "top level",
         "not supported"),
    case("empty-file", "", 1, 1, "no function", "empty"),
    case("comment-only", "# nothing here\n\n", 1, 1, "no function", "empty"),
    case("docstring-only", '"""Only a docstring."""\n', 1, 1, "no function", "empty"),
    case("constants-only", "A = 1.0\n", 1, 1, "no function", "empty"),
    # --- line numbering must follow Python's (only \r, \n and \r\n end a line)
    case("line-separator-in-docstring", '"""a\u2028b\x85c\x0cd"""\n' + H + "    return z\n", 3,
         12, "'z'", "z"),
    case("form-feed-in-comment", "# a\x0cb\x1cc\n" + H + "    return z\n", 3, 12, "'z'", "z"),
    case("crlf-line-endings", (H + "    y = x\n    return z\n").replace("\n", "\r\n"), 3, 12,
         "'z'", "z"),
]
# fmt: on


def _matches(value, expected) -> bool:
    return value in expected if isinstance(expected, set) else value == expected


def _message_ok(message: str, words) -> bool:
    return any(w.lower() in message.lower() for w in words)


def _python_line(text: str, line: int) -> str:
    """Line ``line`` of ``text`` as Python counts lines (only \\r, \\n and \\r\\n end one)."""
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[line - 1] if 0 < line <= len(lines) else ""


@pytest.mark.parametrize(("text", "line", "col", "words"), CASES)
def test_api_reports_formula_error(text, line, col, words):
    with pytest.raises(FormulaError) as info:
        gradc.compile_source(text, filename="bad.grad")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.filename == "bad.grad"
    assert _matches(err.line, line), f"line {err.line}, expected {line}: {err}"
    assert _matches(err.col, col), f"col {err.col}, expected {col}: {err}"
    assert _message_ok(str(err), words), (
        f"message {str(err)!r} should mention one of {words}"
    )


# ----------------------------------------------------------------------------- CLI


def run_cli(*args, timeout=120, cwd=None):
    return subprocess.run(
        [sys.executable, str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def check_cli_error(path: Path, proc, text: str | None, line=None, col=None):
    """Exit 2, ``FILE:LINE:COL: error:`` first, the offending line quoted, no traceback."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err[-2000:]
    m = re.match(re.escape(str(path)) + r":(\d+):(\d+): error: \S", err)
    assert m, f"stderr does not start with '{path}:LINE:COL: error:': {err[:500]!r}"
    got_line, got_col = int(m.group(1)), int(m.group(2))
    assert got_line >= 1 and got_col >= 1
    if line is not None:
        assert _matches(got_line, line), (got_line, line, err[:500])
    if col is not None:
        assert _matches(got_col, col), (got_col, col, err[:500])
    if text is not None:
        quoted = _python_line(text, got_line).strip()
        if quoted:
            assert quoted.expandtabs(4) in err, (
                f"line {quoted!r} is not quoted in {err[:800]!r}"
            )
    return got_line, got_col


LONG = os.environ.get("GRADC_LONG") == "1"
# Rows whose CLI run is part of the default test run (one per family); with GRADC_LONG=1
# the CLI runs on every row.
CLI_QUICK = {
    "syntax-incomplete", "syntax-indent", "unknown-name", "unknown-function", "arity-unary",
    "shape-add", "shape-named-dims", "fuse-vector-param", "import", "attribute-dunder",
    "string-return", "lambda", "if-expression-syntax-warning", "for-loop",
    "missing-annotation", "wrt-unknown", "empty-file", "duplicate-parameter-nfkc",
    "line-separator-in-docstring", "crlf-line-endings",
}  # fmt: skip


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    """Run the CLI on the table rows, two at a time (each run is a fresh interpreter)."""
    tmp = tmp_path_factory.mktemp("cli_errors")
    jobs = []
    for i, p in enumerate(CASES):
        if not LONG and p.id not in CLI_QUICK:
            continue
        path = tmp / f"case{i:03d}.grad"
        path.write_bytes(p.values[0].encode("utf-8", "surrogatepass"))
        jobs.append((p.id, path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = pool.map(lambda job: (job[0], job[1], run_cli("compile", job[1])), jobs)
        return {cid: (path, proc) for cid, path, proc in procs}


@pytest.mark.parametrize(("text", "line", "col", "words"), CASES)
def test_cli_reports_formula_error(request, cli_results, text, line, col, words):
    row = request.node.callspec.id
    if row not in cli_results:
        pytest.skip("the CLI runs on every row only with GRADC_LONG=1")
    path, proc = cli_results[row]
    check_cli_error(path, proc, text, line, col)
    first = proc.stderr.splitlines()[0]
    assert _message_ok(first, words), first


# ----------------------------------------------------------------------------- bad files


BAD_FILES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x00" * 64, id="nul-bytes"),
    pytest.param(bytes(range(256)) * 4, id="all-bytes"),
    pytest.param(b"\x7fELF\x02\x01\x01\x00" + bytes(200), id="elf-header"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png-header"),
    pytest.param(b"def f(x: Scalar) -> Scalar:\n    return x * \xe9\n", id="latin-1"),
    pytest.param(b"\xff\xfed\x00e\x00f\x00", id="utf-16"),
    pytest.param(b"def f(x: Scalar) -> Scalar:\n    return x\x00\n", id="nul-in-code"),
    pytest.param(b"# \xed\xa0\x80 surrogate\ndef f(x: Scalar) -> Scalar:\n    return x\n",
                 id="encoded-surrogate"),
    pytest.param(b"\xef\xbb\xbf\xef\xbb\xbf def", id="double-bom"),
]  # fmt: skip


@pytest.mark.parametrize("data", BAD_FILES)
def test_bad_file_api(tmp_path, data):
    path = tmp_path / "bad.grad"
    path.write_bytes(data)
    with pytest.raises(FormulaError) as info:
        gradc.compile_file(path)
    assert isinstance(info.value.line, int) and info.value.line >= 1
    assert isinstance(info.value.col, int) and info.value.col >= 1


def test_bad_file_cli(tmp_path):
    paths = []
    for i, p in enumerate(BAD_FILES):
        path = tmp_path / f"bad{i}.grad"
        path.write_bytes(p.values[0])
        paths.append(path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda path: (path, run_cli("compile", path)), paths))
    for path, proc in procs:
        check_cli_error(path, proc, None)


def test_surrogate_in_text_api():
    """A str that cannot be encoded as UTF-8 (lone surrogate) is bad input too."""
    with pytest.raises(FormulaError):
        gradc.compile_source("# \ud800\n" + H + "    return x\n")


def test_missing_file_cli(tmp_path):
    proc = run_cli("compile", tmp_path / "does_not_exist.grad")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- limits

LIMIT_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    sys.path.insert(0, sys.argv[1])
    import gradc
    out = {}
    try:
        if sys.argv[3] == "file":
            gradc.compile_file(sys.argv[2])
        else:
            with open(sys.argv[2], encoding="utf-8") as fh:
                text = fh.read()
            gradc.compile_source(text, filename="limit.grad")
        out["kind"] = "ok"
    except gradc.FormulaError as exc:
        out.update(kind="FormulaError", line=exc.line, col=exc.col, message=str(exc)[:300])
    except BaseException as exc:
        out.update(kind=type(exc).__name__, message=repr(exc)[:300])
    # the peak of this process's own memory: VmHWM starts afresh at exec, while ru_maxrss
    # keeps the high-water mark of the parent it was forked from (pytest, which holds
    # torch, JAX and Dask once the Array API tests have run)
    try:
        with open("/proc/self/status") as fh:
            hwm = [ln for ln in fh if ln.startswith("VmHWM:")][0]
        out["maxrss_mb"] = int(hwm.split()[1]) / 1024
    except (OSError, IndexError):
        out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    """
)

MAX_RSS_MB = 1024  # "a few hundred MB": generous, to catch runaway memory only
HANG_GUARD_S = 60  # a hang guard, not a timing assertion


def _deep_sum(n):
    return H + "    return " + " + ".join(["x"] * n) + "\n"


LIMITS = {
    "nested-parens-10000": H + "    return " + "(" * 10_000 + "x" + ")" * 10_000 + "\n",
    "nested-calls-10000": H
    + "    return "
    + "exp(" * 10_000
    + "x"
    + ")" * 10_000
    + "\n",
    "nested-unary-10000": H + "    return " + "-" * 10_000 + "x\n",
    "nested-unary-100000": H + "    return " + "-" * 100_000 + "x\n",
    "nested-power-10000": H + "    return " + " ** ".join(["x"] * 10_000) + "\n",
    "nested-subscript-10000": "def f(v: Vector[3]) -> Scalar:\n    return v"
    + "[0:3]" * 10_000
    + "[0]\n",
    "nodes-sum-100000": _deep_sum(100_000),
    "nodes-product-100000": H + "    return " + " * ".join(["x"] * 100_000) + "\n",
    "exponent-10**100": H + "    return x ** 10**100\n",
    "exponent-literal-googol": H + "    return x ** 1" + "0" * 100 + "\n",
    "exponent-tower": H + "    return x ** 10 ** 10 ** 10\n",
    "exponent-tower-constant": "A = 9 ** 9 ** 9\n\n\n" + H + "    return x * A\n",
    "int-literal-10**6-digits": H + "    return x * " + "9" * 10**6 + "\n",
    "float-literal-10**6-digits": H + "    return x * 1." + "9" * 10**6 + "\n",
    "constant-10**6-digits": "A = " + "7" * 10**6 + "\n\n\n" + H + "    return x * A\n",
    "int-literal-5000-digits": H + "    return x * " + "9" * 5_000 + "\n",
    "int-literal-10**5-digits": H + "    return x * " + "9" * 10**5 + "\n",
    "float-literal-10**5-digits": H + "    return x * 1." + "9" * 10**5 + "\n",
    "file-20MB": H + "    return x\n" + ("# " + "z" * 98 + "\n") * 200_000,
}


def run_limit(tmp_path: Path, text: str, mode: str = "text") -> dict:
    path = tmp_path / "limit.grad"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", LIMIT_CHILD, str(ROOT), str(path), mode],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_limit_is_a_formula_error(tmp_path, name):
    out = run_limit(tmp_path, LIMITS[name])
    assert out["kind"] == "FormulaError", out
    assert out["line"] >= 1 and out["col"] >= 1
    assert out["maxrss_mb"] < MAX_RSS_MB, out


def test_limit_file_size_through_compile_file(tmp_path):
    out = run_limit(tmp_path, LIMITS["file-20MB"], mode="file")
    assert out["kind"] == "FormulaError", out
    assert out["maxrss_mb"] < MAX_RSS_MB, out


@pytest.mark.parametrize(
    "name", ["nested-parens-10000", "nodes-sum-100000", "file-20MB"]
)
def test_limit_cli(tmp_path, name):
    path = tmp_path / f"{name}.grad"
    path.write_text(LIMITS[name], encoding="utf-8")
    proc = run_cli("compile", path, timeout=HANG_GUARD_S)
    check_cli_error(path, proc, None)


@pytest.mark.slow  # subprocesses or thousands of statements: CI's full run
def test_many_statements_spread_over_lines(tmp_path):
    """100,000 nodes spread over 50,000 statements: compiled or refused, never a crash."""
    text = H + "    t = x\n" + "    t = t * y + x\n" * 50_000 + "    return t\n"
    out = run_limit(tmp_path, text)
    assert out["kind"] in ("ok", "FormulaError"), out
    assert out["maxrss_mb"] < MAX_RSS_MB, out


@pytest.mark.parametrize("terms", [300, 1_000, 3_000])
def test_long_flat_sum_compiles_or_is_refused(terms):
    """A long ``x + x + ...`` (a left-deep AST): success or FormulaError, not RecursionError."""
    try:
        mod = gradc.load_source(_deep_sum(terms))
    except FormulaError:
        return
    value, grad = mod.f_value_and_grad(0.5, 2.0)
    assert value == pytest.approx(0.5 * terms, rel=1e-12)
    assert np.allclose([float(g) for g in grad], [terms, 0.0], rtol=1e-12)


# ----------------------------------------------------------------------------- long chains


def _chain(n: int, distinct: bool) -> str:
    body = ["    t0 = x"]
    for i in range(1, n + 1):
        if distinct:
            body.append(f"    t{i} = 0.5 * t{i - 1} + sin(x) * y")
        else:
            body.append("    t0 = 0.5 * t0 + sin(x) * y")
    last = f"t{n}" if distinct else "t0"
    return H + "\n".join(body) + f"\n    return {last}\n"


@pytest.mark.slow  # subprocesses or thousands of statements: CI's full run
@pytest.mark.parametrize("distinct", [True, False], ids=["new-names", "reassigned"])
def test_chain_of_5000_statements_compiles(distinct):
    """IR passes are iterative: a dependency chain 5,000 deep compiles and is correct."""
    n = 5_000
    mod = gradc.load_source(_chain(n, distinct))
    x, y = 0.7, -1.3
    # reference by the same recurrence: t_i = t_{i-1}/2 + sin(x) y
    t, dt_dx, dt_dy = x, 1.0, 0.0
    for _ in range(n):
        t, dt_dx, dt_dy = (
            0.5 * t + np.sin(x) * y,
            0.5 * dt_dx + np.cos(x) * y,
            0.5 * dt_dy + np.sin(x),
        )
    value, (gx, gy) = mod.f_value_and_grad(x, y)
    assert value == pytest.approx(t, rel=1e-12, abs=1e-12)
    assert float(gx) == pytest.approx(dt_dx, rel=1e-10)
    assert float(gy) == pytest.approx(dt_dy, rel=1e-10)
    h = 1e-6
    fd = (mod.f(x + h, y) - mod.f(x - h, y)) / (2 * h)
    assert float(gx) == pytest.approx(fd, rel=1e-6)


@pytest.mark.slow  # subprocesses or thousands of statements: CI's full run
def test_chain_of_5000_statements_cli(tmp_path):
    path = tmp_path / "chain.grad"
    path.write_text(_chain(5_000, True), encoding="utf-8")
    proc = run_cli("compile", path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- generated modules

CHECKED = """
def softloss(weights: Vector[3], bias: Scalar, design: Matrix[2, 3]) -> Scalar:
    return sum(softplus(design @ weights + bias))


def project(mat: Matrix[m, n], vec: Vector[n]) -> Scalar:
    return sum(mat @ vec)


def pick(vals: Vector[3], idx: Index) -> Scalar:
    return vals[idx] ** 2
"""

ENTRY_POINTS = ["", "_forward", "_grad", "_value_and_grad"]


@pytest.fixture(scope="module")
def checked():
    return gradc.load_source(CHECKED, filename="checked.grad")


def _shape_texts(shape):
    """Ways a message may spell a shape: ``(2, 3)``, ``(2,3)``, ``[2, 3]``, ``2x3``."""
    inner = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
    return {
        f"({inner})",
        f"({inner.replace(' ', '')})",
        "[" + ", ".join(map(str, shape)) + "]",
        "x".join(map(str, shape)),
        " x ".join(map(str, shape)),
    }


def _mentions_shape(message: str, shape) -> bool:
    return any(t in message for t in _shape_texts(shape))


GOOD = (np.array([0.1, -0.2, 0.3]), 0.5, np.arange(6.0).reshape(2, 3) / 6)

BAD_SHAPES = [
    pytest.param(0, np.ones(4), "weights", (4,), (3,), id="weights-(4,)"),
    pytest.param(0, np.ones((3, 1)), "weights", (3, 1), (3,), id="weights-(3,1)"),
    pytest.param(0, 1.0, "weights", (), (3,), id="weights-scalar"),
    pytest.param(1, np.ones(3), "bias", (3,), (), id="bias-(3,)"),
    pytest.param(2, np.ones((3, 2)), "design", (3, 2), (2, 3), id="design-(3,2)"),
    pytest.param(2, np.ones(6), "design", (6,), (2, 3), id="design-(6,)"),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("pos", "bad", "param", "seen", "want"), BAD_SHAPES)
def test_generated_module_rejects_wrong_shape(
    checked, entry, pos, bad, param, seen, want
):
    args = list(GOOD)
    args[pos] = bad
    with pytest.raises(ValueError) as info:
        getattr(checked, "softloss" + entry)(*args)
    msg = str(info.value)
    assert "softloss" in msg, msg
    assert param in msg, msg
    if seen != ():
        assert _mentions_shape(msg, seen), f"seen shape {seen} missing: {msg}"
    if want != ():
        assert _mentions_shape(msg, want), f"expected shape {want} missing: {msg}"


def test_generated_module_checks_backward_cotangent(checked):
    _, cache = checked.softloss_forward(*GOOD)
    with pytest.raises(ValueError) as info:
        checked.softloss_backward(np.ones(3), cache)
    assert "softloss" in str(info.value)


BAD_TYPES = [
    pytest.param(0, "abc", "weights", id="weights-str"),
    pytest.param(0, ["a", "b", "c"], "weights", id="weights-list-of-str"),
    pytest.param(0, None, "weights", id="weights-None"),
    pytest.param(0, {"a": 1}, "weights", id="weights-dict"),
    pytest.param(1, "abc", "bias", id="bias-str"),
    pytest.param(1, None, "bias", id="bias-None"),
    pytest.param(1, object(), "bias", id="bias-object"),
    pytest.param(
        2, np.array([["a", "b", "c"], ["d", "e", "f"]]), "design", id="design-str"
    ),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("pos", "bad", "param"), BAD_TYPES)
def test_generated_module_rejects_non_numeric(checked, entry, pos, bad, param):
    args = list(GOOD)
    args[pos] = bad
    with pytest.raises((TypeError, ValueError)) as info:
        getattr(checked, "softloss" + entry)(*args)
    msg = str(info.value)
    assert param in msg, msg
    assert "softloss" in msg, msg


def test_generated_module_checks_named_dims(checked):
    with pytest.raises(ValueError) as info:
        checked.project(np.ones((2, 3)), np.ones(4))
    msg = str(info.value)
    assert "project" in msg and "vec" in msg, msg
    assert _mentions_shape(msg, (4,)), msg
    # consistent sizes work, for any n
    assert checked.project(np.ones((2, 5)), np.ones(5)) == pytest.approx(10.0)


def test_generated_module_checks_index_inputs(checked):
    vals = np.array([1.0, 2.0, 3.0])
    assert checked.pick(vals, 2) == pytest.approx(9.0)
    for bad in (1.5, "1", None, np.array([0.5])):
        with pytest.raises((TypeError, ValueError)) as info:
            checked.pick(vals, bad)
        assert "pick" in str(info.value) and "idx" in str(info.value), str(info.value)
