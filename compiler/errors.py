"""The one error type users see: a problem in their formula, with its place."""

from __future__ import annotations


class FormulaError(ValueError):
    """A malformed, unsupported or inconsistent formula.

    ``filename``, ``line`` and ``col`` (1-based) locate the problem; ``source_line``
    is the offending line's text when known. ``str(err)`` is the compiler-style
    report ``FILE:LINE:COL: error: MESSAGE`` followed by the quoted line and a caret.
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str = "<string>",
        line: int = 1,
        col: int = 1,
        source_line: str | None = None,
    ):
        self.message = message
        self.filename = filename
        self.line = line
        self.col = col
        self.source_line = source_line
        super().__init__(self.report())

    def report(self) -> str:
        """The full diagnostic text: location line, quoted source line and caret."""
        head = f"{self.filename}:{self.line}:{self.col}: error: {self.message}"
        if self.source_line is None:
            return head
        text = self.source_line.rstrip("\n").expandtabs(4)
        caret = " " * (max(self.col, 1) - 1) + "^"
        return f"{head}\n    {text}\n    {caret}"


class ShapeError(Exception):
    """Raised by a primitive's shape rule; the frontend turns it into a located FormulaError."""
