"""The ``gradc`` command line (SPEC §3): the argument parser of every command, and
``compile`` and ``ir`` (``check``, ``explain`` and ``graph`` have a module each).

Exit codes: 0 success; 1 a check failed or an output is stale; 2 bad input
(``FILE:LINE:COL: error:`` with the line quoted, never a traceback).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from .. import FormulaError, compile_file, lower_source
from ..core.ir import format_function
from .check import CHECK_EPILOG, cmd_check
from .explain import cmd_explain
from .files import read_source, write_atomic
from .graph import cmd_graph
from .selection import select


class UsageError(Exception):
    """A bad command line or file operation: reported, exit 2."""


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
    status = 0
    for name in args.files:
        text = compile_file(name, fuse=not args.no_fuse, checks=not args.no_checks)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``gradc`` command."""
    parser = argparse.ArgumentParser(
        prog="gradc", description="Compile gradient formulas to readable NumPy code."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="write the NumPy module of formula files")
    p.add_argument("files", nargs="+", metavar="FILE.grad")
    p.add_argument("-o", "--output", metavar="OUT.py")
    p.add_argument(
        "-d",
        "--dir",
        metavar="DIR",
        help="write DIR/<name>.py for each file (DIR is created if missing)",
    )
    p.add_argument(
        "--check", action="store_true", help="exit 1 with a diff if OUT is stale"
    )
    p.add_argument("--no-fuse", action="store_true", help="one node per primitive")
    p.add_argument(
        "--no-checks",
        action="store_true",
        help="no input validation in the emitted functions (callers pass float64 "
        "arrays of the declared shapes)",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite files gradc did not write"
    )
    p.set_defaults(run=cmd_compile)

    p = sub.add_parser("ir", help="print the graph IR")
    p.add_argument("file", metavar="FILE.grad")
    p.add_argument("--function", metavar="F")
    p.add_argument("--adjoint", action="store_true", help="include the adjoint graph")
    p.add_argument("--no-fuse", action="store_true")
    p.set_defaults(run=cmd_ir)

    add_tool_commands(sub)
    return parser


def add_tool_commands(subparsers) -> None:
    """Register ``check``, ``graph`` and ``explain`` on the ``gradc`` argument parser
    (a bad value they find is an ``InputError``, a ValueError: exit 2)."""
    p = subparsers.add_parser(
        "check",
        help="compare every gradient with central finite differences",
        description="Compile FILE.grad in memory and compare every gradient of every "
        "function with central finite differences in float64 at random points.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE.grad")
    p.add_argument("--function", metavar="F", help="check only function F")
    common_point_args(p)
    p.set_defaults(run=cmd_check)

    p = subparsers.add_parser(
        "graph",
        help="draw the computational graph with values and gradients",
        description="Draw function F as a Graphviz graph: a node per operation, each wire "
        "labelled with its forward value (green) above the gradient flowing back along "
        "it (red). Tensors show their shape and norm. .svg and .png are rendered with "
        "Graphviz's dot program.",
    )
    p.add_argument("file", metavar="FILE.grad")
    p.add_argument("--function", metavar="F")
    p.add_argument(
        "--at", metavar="x=-2,y=5", help="input values (NAME=number or JSON list)"
    )
    p.add_argument(
        "-o", "--output", metavar="OUT.{dot,svg,png}", help="default: DOT on stdout"
    )
    p.add_argument("--adjoint", action="store_true", help="draw the backward graph too")
    p.add_argument(
        "--force", action="store_true", help="overwrite files gradc did not write"
    )
    common_point_args(p)
    p.set_defaults(run=cmd_graph)

    p = subparsers.add_parser(
        "explain",
        help="print the backward pass step by step",
        description="Print the forward values, then the backward pass node by node: the "
        "upstream gradient, the local gradient and the downstream gradient sent to each "
        "input (downstream = local x upstream), with the sums where a value fans out.",
    )
    p.add_argument("file", metavar="FILE.grad")
    p.add_argument("--function", metavar="F")
    p.add_argument(
        "--at", metavar="x=-2,y=5", help="input values (NAME=number or JSON list)"
    )
    common_point_args(p)
    p.set_defaults(run=cmd_explain)


def common_point_args(p) -> None:
    """The options that choose a point: --seed, --dims, --no-fuse."""
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the random inputs (default 0)"
    )
    p.add_argument("--dims", metavar="n=3,d=4", help="sizes of named dimensions")
    p.add_argument("--no-fuse", action="store_true", help="one node per primitive")


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit status (0, 1, 2 or 130)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except FormulaError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    except (UsageError, ValueError) as exc:
        print(f"gradc: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gradc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
