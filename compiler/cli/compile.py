"""``gradc compile`` and ``gradc ir``: the commands that write what the compiler makes
(imported by ``cli/main.py`` only when one of them runs)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from ..api import compile_file, lower_source
from ..core.ir import format_function
from .errors import UsageError, compile_usage
from .files import read_source, write_atomic
from .functions import select


def stale_diff(path: Path, text: str) -> str:
    """The unified diff from ``path``'s contents to ``text`` ('' when the bytes are equal).

    Bytes, not text: a copy with CRLF line endings or a byte-order mark is stale too.
    """
    raw = path.read_bytes() if path.exists() else b""
    if raw == text.encode("utf-8"):
        return ""
    old = raw.decode("utf-8", errors="replace")
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{path} (on disk)",
            tofile=f"{path} (compiled now)",
        )
    )
    return diff or f"{path}: the text is the same, the bytes are not\n"


def cmd_compile(args) -> int:
    """``gradc compile``: write (or with --check, compare) the NumPy module of each file."""
    compile_usage(args)
    status = 0
    for name in args.files:
        text = compile_file(
            name,
            fuse=not args.no_fuse,
            checks=not args.no_checks,
            target=args.target,
            jvp=args.jvp,
            hvp=args.hvp,
        )
        if args.dir:
            out = Path(args.dir) / (Path(name).stem + ".py")
        elif args.output:
            out = Path(args.output)
        else:
            out = None
        if args.check:
            if out is None:
                raise UsageError("--check needs -o OUT.py or -d DIR")
            diff = stale_diff(out, text)
            if diff:
                sys.stdout.write(diff)
                print(
                    f"gradc: {out} is stale; run gradc compile to update it",
                    file=sys.stderr,
                )
                status = 1
        elif out is None:
            sys.stdout.write(text)
        else:
            write_atomic(
                out, text.encode("utf-8"), args.force, make_parents=bool(args.dir)
            )
    return status


def cmd_ir(args) -> int:
    """``gradc ir``: print the graph IR of the functions of a file."""
    text = read_source(args.file)
    functions = lower_source(text, filename=args.file, fuse=not args.no_fuse)
    for fn in select(functions, args.function, args.file, one=False):
        sys.stdout.write(format_function(fn, adjoint=args.adjoint))
    return 0
