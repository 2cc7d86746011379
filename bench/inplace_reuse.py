"""Dead temporaries written in place (issue 16): this checkout's emitted
``f_value_and_grad`` beside an older checkout's (``--old DIR``, a ``git worktree``),
hand-written NumPy and (``--torch``) PyTorch eager, interleaved in one process.

    git worktree add --detach /tmp/old_inplace a5bfe97
    python bench/inplace_reuse.py --old /tmp/old_inplace [--torch] [--rounds 7]
    python bench/inplace_reuse.py --old DIR --case gmm  # any case, its --quick sizes

Each round times every system once (the best of ``--number`` calls, in a rotating
order); the table gives each system's best time over the rounds and their ratios (the
machine is shared: the best is the least disturbed). One thread (set before NumPy loads).
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
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from handwritten import CASES_BY_NAME  # noqa: E402
from peers import _torch_formulas  # noqa: E402

ROWS = (
    ("softmax_probs", "2048x1000"),
    ("batchnorm", "1024x512"),
    ("layernorm", "1024x512"),
    ("two_layer", "256x3072x100x10"),
    ("softmax_loss", "500x3073x10"),
    ("logreg", "10000x100"),
)


def compiled(checkout: Path, case: str, out: Path):
    """The module ``checkout``'s gradc emits for ``bench/cases/<case>.grad``."""
    path = out / f"{checkout.name}_{case}.py"
    grad = ROOT / "bench" / "cases" / f"{case}.grad"
    subprocess.run(
        [
            sys.executable,
            str(checkout / "cli.py"),
            "compile",
            "-o",
            str(path),
            str(grad),
        ],
        check=True,
        cwd=checkout,
    )
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, case + "_value_and_grad")


def best(f, args, number: int) -> float:
    times = []
    for _ in range(number):
        t0 = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def torch_vg(case: str, args):
    """PyTorch eager value and gradient of ``case`` (bench/peers.py's formula)."""
    torch = importlib.import_module("torch")  # optional: only with --torch
    torch.set_num_threads(1)
    f = _torch_formulas(torch)[case]
    wrt = CASES_BY_NAME[case].wrt
    targs = [torch.from_numpy(a) if hasattr(a, "shape") else a for a in args]

    def vg():
        xs = [
            t.detach().requires_grad_(True) if k in wrt else t
            for k, t in enumerate(targs)
        ]
        value = f(*xs)
        value.backward()
        return value.item(), [xs[k].grad.numpy() for k in wrt]

    return vg


def compare(rows, old: Path, rounds: int, number: int, torch: bool = False) -> None:
    """Print the table of ``rows`` ((case, size) pairs): the older checkout ``old``'s
    emitted value-and-gradient, this checkout's, hand-written NumPy and (``torch``)
    PyTorch eager, each timed once a round in a rotating order, best over the rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        print(
            "| row | old ms | new ms | hand ms | old/hand | new/hand | new/old |"
            + (" torch/new |" if torch else "")
        )
        print("|---" * (8 if torch else 7) + "|")
        for case, size in rows:
            c = CASES_BY_NAME[case]
            dims = next(s.dims for s in c.sizes if s.label == size)
            inputs = c.inputs(dims)
            systems = {
                "old": compiled(old.resolve(), case, out),
                "new": compiled(ROOT, case, out),
                "hand": c.vg,
            }
            if torch:
                systems["torch"] = torch_vg(case, inputs)
            times = {k: [] for k in systems}
            names = list(systems)
            for r in range(rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for k in order:
                    call_args = () if k == "torch" else inputs
                    times[k].append(best(systems[k], call_args, number))

            def med(k, times=times):
                return min(times[k]) * 1e3

            def ratio(a, b, times=times):
                return min(times[a]) / min(times[b])

            line = (
                f"| {case} {size} | {med('old'):.2f} | {med('new'):.2f} | "
                f"{med('hand'):.2f} | {ratio('old', 'hand'):.2f} | "
                f"{ratio('new', 'hand'):.2f} | {ratio('new', 'old'):.2f} |"
            )
            if torch:
                line += f" {ratio('torch', 'new'):.2f} |"
            print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="an older checkout (git worktree)")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--number", type=int, default=5)
    ap.add_argument("--torch", action="store_true", help="PyTorch eager beside")
    ap.add_argument(
        "--case", action="append", help="these cases instead, at their --quick sizes"
    )
    args = ap.parse_args()
    rows = ROWS
    if args.case:
        rows = [
            (c, s.label) for c in args.case for s in CASES_BY_NAME[c].sizes if s.quick
        ]
    compare(rows, Path(args.old), args.rounds, args.number, args.torch)


if __name__ == "__main__":
    main()
