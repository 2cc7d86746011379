"""The gradient of ``sum(a * W)`` in ``W`` for a factor ``a`` broadcast along ``W``
(``rewrite/shape_ops.scalar_into_broadcast``): this checkout's emitted
``f_value_and_grad`` beside an older checkout's (``--old DIR``, a ``git worktree``),
interleaved in one process, best of ``--rounds`` rounds of ``--number`` calls.

    git worktree add --detach /tmp/oldwt d6c7d2b
    python bench/broadcast_factors.py --old /tmp/oldwt [--size 1000x1000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inplace_reuse import best  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

SOURCE = """\
def rows(W: Matrix[n, d], v: Vector[n]) -> Scalar:
    return sum(v[:, None] * W)


def added(W: Matrix[n, d], v: Vector[n]) -> Scalar:
    return sum(v[:, None] * W) + sum(W ** 2)


def columns(W: Matrix[n, d], v: Vector[d]) -> Scalar:
    return sum(v * W)


def norms(W: Matrix[n, d]) -> Scalar:
    return sum(norm(W, axis=1, keepdims=True) * W)
"""


def compiled(checkout: Path, out: Path):
    """The module ``checkout``'s gradc emits for ``SOURCE``."""
    grad, path = out / "factors.grad", out / f"{checkout.name}_factors.py"
    grad.write_text(SOURCE)
    argv = [sys.executable, str(checkout / "cli.py"), "compile", "-o", str(path)]
    subprocess.run([*argv, str(grad)], check=True, cwd=checkout)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="an older checkout (git worktree)")
    ap.add_argument("--size", default="1000x1000")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--number", type=int, default=5)
    args = ap.parse_args()
    n, d = (int(k) for k in args.size.split("x"))
    rng = np.random.default_rng(0)
    W = rng.standard_normal((n, d))
    inputs = {
        "rows": (W, rng.standard_normal(n)),
        "added": (W, rng.standard_normal(n)),
        "columns": (W, rng.standard_normal(d)),
        "norms": (W,),
    }
    with tempfile.TemporaryDirectory() as tmp:
        mods = {
            "old": compiled(Path(args.old).resolve(), Path(tmp)),
            "new": compiled(ROOT, Path(tmp)),
        }
        print(f"| {args.size} | old ms | new ms | new/old |\n|---|---|---|---|")
        for name, xs in inputs.items():
            times: dict[str, list[float]] = {"old": [], "new": []}
            for r in range(args.rounds):
                for k in ("old", "new") if r % 2 else ("new", "old"):
                    f = getattr(mods[k], f"{name}_value_and_grad")
                    times[k].append(best(f, xs, args.number))
            old, new = min(times["old"]) * 1e3, min(times["new"]) * 1e3
            print(f"| `{name}` | {old:.3g} | {new:.3g} | {new / old:.2f} |", flush=True)


if __name__ == "__main__":
    main()
