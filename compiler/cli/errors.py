"""The errors of a bad command line (reported as ``gradc: error:``, exit 2), the report
of an error inside gradc (exit 70), and the checks of ``gradc compile``'s options (made
before any file is read)."""

from __future__ import annotations

import traceback
from pathlib import Path

#: the exit status of an error inside gradc, not in its input (sysexits.h's EX_SOFTWARE)
INTERNAL_ERROR = 70


class InputError(ValueError):
    """A bad --at, --dims or --function value (reported as ``gradc: error:``, exit 2)."""


class UsageError(Exception):
    """A bad command line or file operation: reported, exit 2."""


def internal_report(exc: BaseException) -> str:
    """The report of an exception no check of the input raised (a bug in gradc): its
    traceback, then a last line that says whose fault it is and what to send."""
    trace = "".join(traceback.format_exception(exc)).rstrip("\n")
    return (
        f"{trace}\ngradc: internal error: {type(exc).__name__}: {exc}\n"
        "gradc: this is a bug in gradc, not in the input; please report it with the "
        "formula file and the command line"
    )


def compile_usage(args) -> None:
    """A UsageError if ``gradc compile``'s files and -o/-d do not go together."""
    if len(args.files) > 1 and not args.dir:
        raise UsageError("several files need -d DIR")
    if args.output and args.dir:
        raise UsageError("-o and -d cannot be used together")
    if args.dir:
        stems: dict[str, str] = {}
        for name in args.files:
            other = stems.setdefault(Path(name).stem, name)
            if other != name:
                raise UsageError(
                    f"{other} and {name} would both be written to "
                    f"{Path(args.dir) / (Path(name).stem + '.py')}"
                )
