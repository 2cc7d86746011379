"""The errors of a bad command line (reported as ``gradc: error:``, exit 2), and the
checks of ``gradc compile``'s options (made before any file is read)."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A bad --at, --dims or --function value (reported as ``gradc: error:``, exit 2)."""


class UsageError(Exception):
    """A bad command line or file operation: reported, exit 2."""


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
