"""The ``gradc`` command line (SPEC §3): the argument parser of every command, and the
dispatch of each command to its module (``check``, ``explain``, ``graph``; ``compile``
and ``ir`` in ``compile.py``).

Start-up: this module imports neither NumPy nor SymPy nor the compiler. A command's
module is imported when it runs, through ``COMMANDS`` (resolved in ``gradc/lazy.py``,
the one place gradc imports by name); before that, ``precheck`` reads and parses the
first formula file with ``ast`` alone. So ``gradc --help`` and a ``FILE:LINE:COL``
syntax error take a few tens of milliseconds (bench/README.md, start-up).

Exit codes: 0 success; 1 a check failed or an output is stale; 2 bad input
(``FILE:LINE:COL: error:`` with the line quoted, never a traceback); 70 an error inside
gradc (its traceback, and a line saying it is a bug to report).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import FormulaError
from ..frontend.early import early_error
from ..frontend.source import decode, read_python
from ..lazy import resolve
from .errors import (
    INTERNAL_ERROR,
    InputError,
    UsageError,
    compile_usage,
    internal_report,
)
from .files import read_source
from .tolerances import CHECK_EPILOG

# Each command's function, "module:function" relative to the package, imported when the
# command runs (gradc/lazy.py).
COMMANDS = {
    "compile": ".cli.compile:cmd_compile",
    "ir": ".cli.compile:cmd_ir",
    "check": ".cli.check:cmd_check",
    "graph": ".cli.graph:cmd_graph",
    "explain": ".cli.explain:cmd_explain",
}


def precheck(args) -> None:
    """The errors each command meets first, raised before its module (and SymPy) is
    imported: ``compile``'s options, then its first file read as ``compile_file`` reads
    it (not UTF-8, too large, a NUL byte, not Python syntax, a call of an unknown
    function, an unknown name, Python a formula does not have, operands that do not
    broadcast: ``frontend/early.py``); the
    one file of the other commands read as they read it. The command itself meets the
    same errors the same way: this only reports them sooner."""
    if args.command == "compile":
        compile_usage(args)
        path = Path(args.files[0])
        try:
            data = path.read_bytes()
        except OSError:
            return  # compile_file reports it
        tree, src = read_python(decode(data, path.as_posix()), path.as_posix())
    else:
        tree, src = read_python(read_source(args.file), args.file)
    error = early_error(tree, src)
    if error is not None:
        raise error


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
    p.add_argument("--jvp", action="store_true", help="also emit f_jvp (forward mode)")
    p.add_argument(
        "--hvp",
        action="store_true",
        help="also emit f_hvp, f_hessp and f_hessian (second derivatives)",
    )
    p.add_argument(
        "--target",
        choices=("numpy", "array-api", "numba"),
        default="numpy",
        help="the emitted module's array library: numpy (default); array-api (any "
        "Array API library through array_api_compat: NumPy, CuPy, PyTorch, JAX, Dask); "
        "numba (NumPy with elementwise runs as @numba.njit kernels)",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite files gradc did not write"
    )

    p = sub.add_parser("ir", help="print the graph IR")
    p.add_argument("file", metavar="FILE.grad")
    p.add_argument("--function", metavar="F")
    p.add_argument("--adjoint", action="store_true", help="include the adjoint graph")
    p.add_argument("--no-fuse", action="store_true")

    add_tool_commands(sub)
    return parser


def add_tool_commands(subparsers) -> None:
    """Register ``check``, ``graph`` and ``explain`` on the ``gradc`` argument parser
    (a bad value they find is an ``InputError``: exit 2)."""
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


def common_point_args(p) -> None:
    """The options that choose a point: --seed, --dims, --no-fuse."""
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the random inputs (default 0)"
    )
    p.add_argument("--dims", metavar="n=3,d=4", help="sizes of named dimensions")
    p.add_argument("--no-fuse", action="store_true", help="one node per primitive")


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit status (0, 1, 2, 70 or 130)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        precheck(args)
        return resolve(COMMANDS[args.command])(args)
    except FormulaError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    except (UsageError, InputError) as exc:
        print(f"gradc: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gradc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # no check of the input raised it: a bug in gradc
        print(internal_report(exc), file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
