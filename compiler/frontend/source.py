"""The formula text being compiled: its lines, errors located in it, "did you mean"
suggestions, and the reading of numeric literals."""

from __future__ import annotations

import ast
import difflib
import math
import re
import warnings
from dataclasses import dataclass, field

from ..errors import FormulaError
from .shape_reads import read_shapes

MAX_LITERAL_DIGITS = 60
MAX_SOURCE_BYTES = 1_000_000
#: the deepest expression the frontend lowers (``scope.lower_expr``)
MAX_DEPTH = 200


def depth(node) -> int:
    """Nesting depth of an expression, measured without recursion (at most one past
    ``MAX_DEPTH``)."""
    best, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        if d > MAX_DEPTH:
            return d
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n))
    return best


@dataclass
class Source:
    """The formula text being compiled, for locating errors."""

    filename: str
    lines: list[str]
    defs: dict[str, ast.FunctionDef] = field(
        default_factory=dict
    )  # every top-level def

    def line(self, n: int) -> str:
        """Line ``n`` (1-based) of the text, or ``""`` outside it."""
        return self.lines[n - 1] if 0 < n <= len(self.lines) else ""

    def place(self, line: int, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, column)`` of the character at byte ``offset`` of
        ``line`` (the syntax tree's ``col_offset``), as errors are placed."""
        text = self.line(line).encode("utf-8")
        return line, len(text[:offset].decode("utf-8", "replace")) + 1

    def error(self, node, message: str) -> FormulaError:
        """A FormulaError at an AST node (or a ``(line, col)`` pair, 1-based)."""
        if isinstance(node, tuple):
            line, col = node
        else:
            line = getattr(node, "lineno", 1) or 1
            line, col = self.place(line, getattr(node, "col_offset", 0))
        return FormulaError(
            message,
            filename=self.filename,
            line=line,
            col=col,
            source_line=self.line(line),
        )


def is_docstring(stmt) -> bool:
    """Whether ``stmt`` is a string on its own line (a docstring)."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def did_you_mean(name: str, candidates) -> str:
    """``"; did you mean `NAME`?"`` for the known name closest to ``name``, or ``""``."""
    names = sorted(set(candidates) - {name})
    close = [
        n for n in names if n.lower() == name.lower()
    ]  # X for x, Sigmoid for sigmoid
    close = close or difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return f"; did you mean `{close[0]}`?" if close else ""


def is_int_literal(node) -> bool:
    """Whether ``node`` is an int literal, optionally negated (``3``, ``-1``)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def literal(node, src: Source, message: str) -> float:
    """A numeric literal as a float, refusing bools, huge integers and non-finite values."""
    if (
        not isinstance(node, ast.Constant)
        or isinstance(node.value, bool)
        or not isinstance(node.value, (int, float))
    ):
        raise src.error(node, message)
    v = node.value
    width = (getattr(node, "end_col_offset", 0) or 0) - node.col_offset
    if (
        getattr(node, "end_lineno", node.lineno) == node.lineno
        and width > 3 * MAX_LITERAL_DIGITS
    ):
        raise src.error(
            node,
            f"number literal too long (more than {3 * MAX_LITERAL_DIGITS} characters)",
        )
    if isinstance(v, int):
        if v.bit_length() > MAX_LITERAL_DIGITS * 3.33:
            raise src.error(
                node,
                f"integer literal too long (more than {MAX_LITERAL_DIGITS} digits)",
            )
    v = float(v)
    if not math.isfinite(v):
        raise src.error(node, "number literal is not finite")
    return v


def located(before: str, filename: str, message: str) -> FormulaError:
    """A FormulaError at the position just after the text ``before``."""
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return FormulaError(message, filename=filename, line=line, col=col)


def decode(raw: bytes, filename: str) -> str:
    """Formula bytes as text (UTF-8, an optional BOM dropped), or a located FormulaError."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        raise located(
            before,
            filename,
            f"file is not UTF-8 text ({exc.reason}, byte 0x{raw[exc.start]:02x})",
        ) from None


def read_python(text: str, filename: str) -> tuple[ast.Module, Source]:
    """The formula text's syntax tree (its parameters' shape reads, ``X.shape[0]``, made
    dimensions: ``shape_reads``) and its ``Source``, or a located FormulaError (too
    large, a NUL byte, not Python syntax). Needs nothing but ``ast``: the command line
    reports these before it imports the compiler (``cli/main.py``)."""
    if len(text.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
        raise FormulaError(
            f"file is larger than {MAX_SOURCE_BYTES} bytes", filename=filename
        )
    # Lines as Python numbers them (\n, \r\n, \r), not str.splitlines' wider set.
    src = Source(filename, re.split(r"\r\n|\r|\n", text))
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise src.error((line, 1), "file contains a NUL byte (binary file?)")
    return read_shapes(parse_python(text, src), src), src


def parse_python(text: str, src: Source) -> ast.Module:
    """``ast.parse`` with every failure turned into a located FormulaError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # e.g. SyntaxWarning: reported as errors below
            return ast.parse(text, filename=src.filename)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        message = "invalid syntax" + (
            f": {exc.msg}" if exc.msg != "invalid syntax" else ""
        )
        raise src.error((line, col), message) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise src.error(
            (1, 1), f"cannot parse: {type(exc).__name__}: {exc}"[:200]
        ) from None
