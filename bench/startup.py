"""Start-up of the ``gradc`` command: wall time (best of N runs, each a fresh
interpreter) of ``--help``, a syntax error, an unknown function, an unknown name and
shape mismatches found on the syntax tree before SymPy is imported (``x + y``, ``W @ y``,
``W[:, 0] + y``, inside a helper's argument, after a bounded slice, inside a loop body,
after a stepped slice, after ``x[:-3:2]``), one the compiler finds (after
``x[1:][::2]``), a method call, a ``while`` loop, an item assignment into a parameter,
``...`` in an index and ``inv`` of a Scalar (refused before SymPy is imported), a value
a loop carries that changes shape and an axis out of range, a mismatch with the value of
the file's own function, an argument or a return of another shape than annotated,
``stack`` of two sizes, a mismatch after ``max_pool2d`` and one with a size written as
an expression in an annotation (``4 * H``), one after a ``concatenate`` of two sizes
(``m + n``), a ``conv2d`` kernel of other channels, an axis that is no int, an exponent
folded past the limit, a slice in an annotation, a mismatch after ``swish_sum``, a name
after the array a loop fills, ``softmax`` as a value, a repeated parameter, a keyword a
reduction does not know, a misspelt function in a ``@fuse`` helper's body, a slice to a
value's name, a pooling window of 0, ``@wrt`` naming no parameter, a mismatch after an
LSTM's gate, a mismatch after an embedding ``W_embed[captions[:, t]]``, ``arange`` of no
dimension, a mismatch after ``sum(W, 1)``, a misspelt name in an item assignment's
index, and compiling a small formula; and the
modules the first two load (``python -X importtime``).

    python bench/startup.py [--runs 5] [--root DIR ...]

Each ``--root`` is a checkout whose ``cli.py`` is timed (default: this one); with
several, the runs are interleaved so they share the machine's load. Targets (issue 16):
``--help`` and a ``FILE:LINE:COL`` error under 0.3 s, a small formula under 0.8 s.

The commands run as a user's do, with Python's bytecode cache: ``PYTHONDONTWRITEBYTECODE``
is removed from their environment and each command runs once untimed first, so no
timed run compiles gradc's modules from source (120 of them for a compile, 0.4 s on a
busy machine, in an environment that sets the variable).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SYNTAX = "def f(x: Scalar) -> Scalar:\n    return x +* 2\n"
UNKNOWN = "def f(x: Scalar) -> Scalar:\n    return foo(x) * 2\n"
UNKNOWN_NAME = "def f(x: Scalar) -> Scalar:\n    y = x * 2\n    return yy + x\n"
SHAPES = "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x + y)\n"
MATMUL = "def f(W: Matrix[n, d], y: Vector[m]) -> Scalar:\n    return sum(W @ y)\n"
INDEXED = (
    "def f(W: Matrix[n, d], y: Vector[m]) -> Scalar:\n    return sum(W[:, 0] + y)\n"
)
#: a mismatch inside the argument of the file's own function (read early since 2026-12-03)
HELPER = (
    "def h(u: Vector[n]) -> Vector[n]:\n    return u * u\n\n\n"
    "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(h(x + y))\n"
)
#: a mismatch after a bounded slice (``n - 1`` and ``m``; read early since 2026-12-03)
SLICED = "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x[1:] + y)\n"
#: a mismatch inside a loop body (``W @ h``, ``d != m``; read early since 2026-12-03)
LOOP = (
    "def f(W: Matrix[n, d], x: Matrix[T, n], h0: Vector[m]) -> Scalar:\n"
    "    h = h0\n    for t in range(T):\n        h = tanh(W @ h + x[t])\n"
    "    return sum(h)\n"
)
#: a method call and a while loop, refused by their form (read early since 2026-12-03)
METHOD = "def f(X: Matrix[n, d], w: Vector[d]) -> Scalar:\n    return sum(X.dot(w))\n"
WHILE = (
    "def f(x: Scalar) -> Scalar:\n    while x > 1.0:\n        x = x / 2\n    return x\n"
)
#: an item assignment into a parameter, ``...`` in an index and ``inv`` of a Scalar
#: (read early since 2026-12-03, the session after the rows above)
INTO_PARAMETER = "def f(v: Vector[3]) -> Scalar:\n    v[0] = 1.0\n    return sum(v)\n"
ELLIPSIS = "def f(X: Matrix[2, 2]) -> Scalar:\n    return sum(X[..., 0])\n"
INV_SCALAR = "def f(x: Scalar) -> Scalar:\n    return np.linalg.inv(x)\n"
#: errors the frontend finds while lowering: a carried value that changes shape, an axis
#: out of range (read early since 2026-12-03, the session after the rows above)
CARRIED = (
    "def f(W: Matrix[n, d], h0: Vector[n]) -> Scalar:\n"
    "    h = h0\n    for t in range(3):\n        h = W.T @ h\n    return sum(h)\n"
)
AXIS = "def f(W: Matrix[n, d]) -> Scalar:\n    return sum(sum(W, axis=2))\n"
#: a mismatch after a stepped slice (``(n + 1) // 2`` and ``m``; read early since
#: 2026-12-03, the session after the rows above)
STEPPED = "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x[::2] + y)\n"
#: a mismatch after a stepped slice that stops 3 from the end, whose length SymPy writes
#: as ``n // 2 - 1`` (the compiler's before 2026-12-03's third session, early since)
STOPPED = "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x[:-3:2] + y)\n"
#: a stepped slice of an axis already cut (the compiler's before 2026-12-04's second
#: session, early since)
CUT_STEPPED = (
    "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x[1:][::2] + y)\n"
)
#: a step of an axis already stepped, whose length SymPy writes as a floor in a floor
#: (the compiler's before 2026-12-04's second session, early since)
STEPPED_TWICE = (
    "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x[::2][1::2] + y)\n"
)
#: what the annotations declare: a mismatch with the value of the file's own function
#: (``(n,)`` from its return annotation), an argument of another shape than its
#: parameter's, a return of another shape, and ``stack`` of two sizes (read early since
#: 2026-12-03, the session after the rows above)
HELPER_VALUE = (
    "def h(u: Vector[k]) -> Vector[k]:\n    return u * u\n\n\n"
    "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(h(x) * y)\n"
)
ARGUMENT = (
    "def h(u: Vector[k]) -> Vector[k]:\n    return u * u\n\n\n"
    "def f(W: Matrix[n, d]) -> Scalar:\n    return sum(h(W))\n"
)
RETURNED = "def f(x: Vector[n]) -> Scalar:\n    return x * 2.0\n"
STACKED = (
    "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(stack([x, y]))\n"
)
#: a size written as an expression in an annotation (``Matrix[D, 4 * H]``, an LSTM's
#: gates; read early since 2026-12-03, as above)
EXPRESSION = (
    "def f(X: Matrix[N, D], W: Matrix[D, 4 * H], h: Vector[H]) -> Scalar:\n"
    "    return sum(X @ W + h)\n"
)
#: a mismatch after ``max_pool2d`` (``H // 2``; read early since 2026-12-03, as above)
POOLED = (
    "def f(x: Tensor[N, C, H, W], y: Vector[m]) -> Scalar:\n"
    "    return sum(max_pool2d(x, 2) + y)\n"
)

#: a mismatch after joining two sizes (``m + n``; read early since 2026-12-04)
JOINED = (
    "def f(a: Vector[m], b: Vector[n], y: Vector[p]) -> Scalar:\n"
    "    return sum(concatenate([a, b]) * y)\n"
)

#: a kernel of other channels than the input's (read early since 2026-12-04)
CONVOLVED = (
    "def f(x: Tensor[N, C, H, W], w: Tensor[F, D, 3, 3]) -> Scalar:\n"
    "    return sum(conv2d(x, w, pad=1))\n"
)

#: an assignment to a built-in name (read early since 2026-12-04)
ASSIGNED = "def f(x: Vector[n]) -> Scalar:\n    exp = x + 1.0\n    return sum(exp)\n"
#: the same in a loop's body (the compiler's before 2026-12-04's second session)
IN_A_LOOP = (
    "def f(x: Vector[n]) -> Scalar:\n    h = x\n    for t in range(3):\n"
    "        h = h * x\n        exp = h + 1.0\n    return sum(h)\n"
)

#: the compiler's before 2026-12-04's third session: an axis that is no int, an exponent
#: folded past the limit, a slice in an annotation, and a mismatch after a function
#: whose name begins with a ``@fuse`` helper's (``examples/logistic.grad``'s
#: ``swish_sum``), where the check stopped
AXIS_FLOAT = "def f(W: Matrix[n, d]) -> Scalar:\n    return sum(sum(W, axis=1.5))\n"
FOLDED = "def f(x: Vector[n]) -> Scalar:\n    return sum(x) * 0.9**9**9\n"
ANNOTATED = "def f(W: Matrix[n, :d]) -> Scalar:\n    return sum(W)\n"
AFTER_SWISH = (
    "@fuse\ndef swish(x: Scalar) -> Scalar:\n    return x * sigmoid(x)\n\n\n"
    "def swish_sum(x: Vector[n]) -> Scalar:\n    return sum(swish(x))\n\n\n"
    "def f(x: Vector[n], y: Vector[m]) -> Scalar:\n    return sum(x + y)\n"
)

#: the compiler's before 2026-12-04's fifth session: a misspelt name after the array a
#: loop fills (the name checks stopped at `zeros((N, T, H))`'s tuple), an operation's
#: name as a value, a repeated parameter
RECURRENT = (
    "def f(x: Tensor[N, T, D], h0: Matrix[N, H], Wx: Matrix[D, H], Wh: Matrix[H, H],\n"
    "      dy: Tensor[N, T, H]) -> Scalar:\n"
    "    h = h0\n    hs = zeros((N, T, H))\n    for t in range(T):\n"
    "        h = tanh(x[:, t, :] @ Wx + h @ Wh)\n        hs[:, t, :] = h\n"
    "    return sum(hs * dyy)\n"
)
FUNCTION_VALUE = "def f(x: Vector[n]) -> Scalar:\n    return sum(x) * softmax\n"
DUPLICATE = "def f(x: Vector[n], x: Scalar) -> Scalar:\n    return sum(x)\n"

#: the compiler's before 2026-12-05's session: a keyword a reduction does not know
#: (PyTorch's ``keepdim``), a misspelt function in a ``@fuse`` helper's body, a slice to
#: a value's name, a pooling window of size 0, ``@wrt`` naming no parameter where a
#: parameter is named as a dimension (the checks stopped at that signature), a mismatch
#: after an LSTM's gate ``a[:, H : 2 * H]``
KEEPDIM = (
    "def f(s: Matrix[n, c]) -> Scalar:\n"
    "    return sum(s - max(s, axis=1, keepdim=True))\n"
)
FUSE_BODY = (
    "@fuse\ndef swish(x: Scalar) -> Scalar:\n    return x * sigmoi(x)\n\n\n"
    "def f(x: Vector[n]) -> Scalar:\n    return sum(swish(x))\n"
)
SLICE_NAME = "def f(x: Vector[n], k: Scalar) -> Scalar:\n    return sum(x[:k])\n"
POOL_SIZE = (
    "def f(x: Tensor[N, C, H, W]) -> Scalar:\n    return sum(max_pool2d(x, 0))\n"
)
GATE = (
    "def f(a: Matrix[N, 4 * H], h: Vector[H], y: Vector[M]) -> Scalar:\n"
    "    i = sigmoid(a[:, H : 2 * H])\n    return sum(i * h + y)\n"
)
WRT = (
    "@wrt(x, W2)\ndef f(x: Matrix[N, W], W: Vector[N]) -> Scalar:\n"
    "    return sum(x) + sum(W)\n"
)

#: the compiler's before 2026-12-05's second session: a mismatch after a word embedding
#: ``W_embed[captions[:, t]]`` (an ``Index`` parameter indexed inside an index), ``arange``
#: of a name that is no dimension, a mismatch after an axis given by position
EMBEDDING = (
    "def f(captions: Index[N, T], W_embed: Matrix[V, D], y: Vector[M]) -> Scalar:\n"
    "    s = 0.0\n    for t in range(T):\n"
    "        s = s + sum(W_embed[captions[:, t]] + y)\n    return s\n"
)
ARANGE = (
    "def f(s: Matrix[N, C], y: Index[N]) -> Scalar:\n    return sum(s[arange(n), y])\n"
)

POSITIONAL = (
    "def f(W: Matrix[n, d], y: Vector[m]) -> Scalar:\n    return sum(sum(W, 1) + y)\n"
)
#: a misspelt loop variable in an item assignment's index (read before its value)
FILLED = (
    "def f(x: Tensor[N, T, D]) -> Scalar:\n    hs = zeros((N, T, D))\n"
    "    for t in range(T):\n        hs[:, tt, :] = x[:, t, :]\n    return sum(hs)\n"
)


def commands(tmp: Path) -> dict[str, list[str]]:
    (tmp / "syntax.grad").write_text(SYNTAX)
    (tmp / "unknown.grad").write_text(UNKNOWN)
    (tmp / "name.grad").write_text(UNKNOWN_NAME)
    (tmp / "shapes.grad").write_text(SHAPES)
    (tmp / "matmul.grad").write_text(MATMUL)
    (tmp / "indexed.grad").write_text(INDEXED)
    (tmp / "helper.grad").write_text(HELPER)
    (tmp / "sliced.grad").write_text(SLICED)
    (tmp / "stepped.grad").write_text(STEPPED)
    (tmp / "stopped.grad").write_text(STOPPED)
    (tmp / "cut.grad").write_text(CUT_STEPPED)
    (tmp / "twice.grad").write_text(STEPPED_TWICE)
    (tmp / "loop.grad").write_text(LOOP)
    (tmp / "method.grad").write_text(METHOD)
    (tmp / "while.grad").write_text(WHILE)
    (tmp / "into.grad").write_text(INTO_PARAMETER)
    (tmp / "ellipsis.grad").write_text(ELLIPSIS)
    (tmp / "inv.grad").write_text(INV_SCALAR)
    (tmp / "carried.grad").write_text(CARRIED)
    (tmp / "axis.grad").write_text(AXIS)
    (tmp / "value.grad").write_text(HELPER_VALUE)
    (tmp / "argument.grad").write_text(ARGUMENT)
    (tmp / "returned.grad").write_text(RETURNED)
    (tmp / "stacked.grad").write_text(STACKED)
    (tmp / "pooled.grad").write_text(POOLED)
    (tmp / "expression.grad").write_text(EXPRESSION)
    (tmp / "joined.grad").write_text(JOINED)
    (tmp / "convolved.grad").write_text(CONVOLVED)
    (tmp / "assigned.grad").write_text(ASSIGNED)
    (tmp / "in_loop.grad").write_text(IN_A_LOOP)
    (tmp / "axis_float.grad").write_text(AXIS_FLOAT)
    (tmp / "folded.grad").write_text(FOLDED)
    (tmp / "annotated.grad").write_text(ANNOTATED)
    (tmp / "after_swish.grad").write_text(AFTER_SWISH)
    (tmp / "recurrent.grad").write_text(RECURRENT)
    (tmp / "function_value.grad").write_text(FUNCTION_VALUE)
    (tmp / "duplicate.grad").write_text(DUPLICATE)
    (tmp / "keepdim.grad").write_text(KEEPDIM)
    (tmp / "fuse_body.grad").write_text(FUSE_BODY)
    (tmp / "slice_name.grad").write_text(SLICE_NAME)
    (tmp / "pool_size.grad").write_text(POOL_SIZE)
    (tmp / "wrt.grad").write_text(WRT)
    (tmp / "gate.grad").write_text(GATE)
    (tmp / "embedding.grad").write_text(EMBEDDING)
    (tmp / "arange.grad").write_text(ARANGE)
    (tmp / "positional.grad").write_text(POSITIONAL)
    (tmp / "filled.grad").write_text(FILLED)
    return {
        "python -c pass": [],
        "gradc --help": ["--help"],
        "syntax error": ["compile", str(tmp / "syntax.grad")],
        "unknown function": ["compile", str(tmp / "unknown.grad")],
        "unknown name": ["compile", str(tmp / "name.grad")],
        "shape mismatch": ["compile", str(tmp / "shapes.grad")],
        "matmul mismatch": ["compile", str(tmp / "matmul.grad")],
        "indexed mismatch": ["compile", str(tmp / "indexed.grad")],
        "helper mismatch": ["compile", str(tmp / "helper.grad")],
        "sliced mismatch": ["compile", str(tmp / "sliced.grad")],
        "loop mismatch": ["compile", str(tmp / "loop.grad")],
        "method call": ["compile", str(tmp / "method.grad")],
        "while loop": ["compile", str(tmp / "while.grad")],
        "into a parameter": ["compile", str(tmp / "into.grad")],
        "ellipsis index": ["compile", str(tmp / "ellipsis.grad")],
        "inv of a Scalar": ["compile", str(tmp / "inv.grad")],
        "carried shape": ["compile", str(tmp / "carried.grad")],
        "axis out of range": ["compile", str(tmp / "axis.grad")],
        "stepped mismatch": ["compile", str(tmp / "stepped.grad")],
        "stop-bound mismatch": ["compile", str(tmp / "stopped.grad")],
        "cut-then-stepped": ["compile", str(tmp / "cut.grad")],
        "stepped twice": ["compile", str(tmp / "twice.grad")],
        "helper's value": ["compile", str(tmp / "value.grad")],
        "helper argument": ["compile", str(tmp / "argument.grad")],
        "return shape": ["compile", str(tmp / "returned.grad")],
        "stack mismatch": ["compile", str(tmp / "stacked.grad")],
        "pooled mismatch": ["compile", str(tmp / "pooled.grad")],
        "4 * H mismatch": ["compile", str(tmp / "expression.grad")],
        "m + n mismatch": ["compile", str(tmp / "joined.grad")],
        "conv2d channels": ["compile", str(tmp / "convolved.grad")],
        "exp = x + 1.0": ["compile", str(tmp / "assigned.grad")],
        "exp = ... in a loop": ["compile", str(tmp / "in_loop.grad")],
        "axis=1.5": ["compile", str(tmp / "axis_float.grad")],
        "0.9**9**9": ["compile", str(tmp / "folded.grad")],
        "Matrix[n, :d]": ["compile", str(tmp / "annotated.grad")],
        "after swish_sum": ["compile", str(tmp / "after_swish.grad")],
        "name after zeros((N, T, H))": ["compile", str(tmp / "recurrent.grad")],
        "softmax as a value": ["compile", str(tmp / "function_value.grad")],
        "duplicate parameter": ["compile", str(tmp / "duplicate.grad")],
        "max(keepdim=True)": ["compile", str(tmp / "keepdim.grad")],
        "@fuse body typo": ["compile", str(tmp / "fuse_body.grad")],
        "x[:k] of a value": ["compile", str(tmp / "slice_name.grad")],
        "max_pool2d(x, 0)": ["compile", str(tmp / "pool_size.grad")],
        "@wrt of no param": ["compile", str(tmp / "wrt.grad")],
        "after an LSTM gate": ["compile", str(tmp / "gate.grad")],
        "after an embedding": ["compile", str(tmp / "embedding.grad")],
        "arange(n) of no dim": ["compile", str(tmp / "arange.grad")],
        "after sum(W, 1)": ["compile", str(tmp / "positional.grad")],
        "hs[:, tt, :] = ...": ["compile", str(tmp / "filled.grad")],
        "compile neuron": ["compile", str(ROOT / "bench" / "cases" / "neuron.grad")],
    }


# the environment of every command: Python's bytecode cache on, as on a user's machine
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str]) -> float:
    """The wall time of one run of ``argv``, in seconds."""
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - t0


def heavy_imports(root: Path, args: list[str]) -> str:
    """Which of SymPy, NumPy and the compiler the command imports, with their cumulative
    import times (``-X importtime``, microseconds)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(root / "cli.py"), *args],
        capture_output=True,
        text=True,
        env=ENV,
    )
    found = {}
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        cumulative, name = parts[1].strip(), parts[2].strip()
        if name in ("sympy", "numpy", "gradc.api", "gradc.cli.main"):
            found[name] = int(cumulative)
    return ", ".join(f"{k} {v / 1000:.0f} ms" for k, v in found.items()) or "none"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--root", action="append", type=Path)
    args = ap.parse_args(argv)
    roots = args.root or [ROOT]
    with tempfile.TemporaryDirectory() as d:
        cmds = commands(Path(d))
        best = {(r, c): float("inf") for r in roots for c in cmds}
        for warm in [True] + [False] * args.runs:  # the first round writes the caches
            for name, cmd in cmds.items():
                for root in roots:
                    run = [sys.executable, "-c", "pass"] if not cmd else None
                    run = run or [sys.executable, str(root / "cli.py"), *cmd]
                    seconds = wall(run)
                    if not warm:
                        best[root, name] = min(best[root, name], seconds)
        width = max(len(str(r)) for r in roots)
        print(f"best of {args.runs} runs, seconds")
        print(f"{'command':18} " + " ".join(f"{str(r):>{width}}" for r in roots))
        for name in cmds:
            row = " ".join(f"{best[r, name]:>{width}.3f}" for r in roots)
            print(f"{name:18} {row}")
        for root in roots:
            for name in ("gradc --help", "syntax error"):
                print(f"{root}: {name} imports {heavy_imports(root, cmds[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
