"""The price of the input checks on all-scalar functions: the emitted ``f_value_and_grad``
of the checked default and of ``--no-checks`` (``checks=False``), each over the
hand-written lecture code, timed side by side (``run.py``'s interleaved batches).

    python bench/no_checks.py [--repeats N]

Cases: ``add_mul`` (3 inputs), ``x * y + z * w`` and the lecture's
``2 * (x * y + max(z, w))`` circuit (4 inputs each, defined here), the sigmoid
``neuron`` (5 inputs) and the same neuron over ``w: Vector[3], x: Vector[2]``
(``neuron_vec``, ``neuron_dot``: scalarised, against the lecture's code on lists that
returns its gradients as NumPy arrays), and ``mse``, ``ridge`` at 32x8 (array inputs,
``bench/natural.py``'s hand-written code). Targets (issue 16):
checked <= 1.35x and --no-checks <= 1.05x hand-written with four or more inputs.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import cli  # noqa: E402

cli.use_checkout()

import numpy as np  # noqa: E402
from handwritten import add_mul_vg, neuron_vg  # noqa: E402
from natural import (  # noqa: E402
    gen_mse,
    gen_neuron_vec,
    gen_ridge,
    mse_vg,
    neuron_vec_vg,
    ridge_vg,
)
from run import paired_ratio, time_interleaved  # noqa: E402

import gradc  # noqa: E402

CIRCUIT = '''"""The backpropagation lecture's max-gate circuit."""


def circuit(x: Scalar, y: Scalar, z: Scalar, w: Scalar) -> Scalar:
    return 2 * (x * y + maximum(z, w))
'''


DOT2 = '''"""A two-term dot product, x y + z w."""


def dot2(x: Scalar, y: Scalar, z: Scalar, w: Scalar) -> Scalar:
    return x * y + z * w
'''


def dot2_vg(x, y, z, w):
    return x * y + z * w, (y, x, w, z)


def circuit_vg(x, y, z, w):
    """Written as the lecture derives it, gate by gate."""
    q = x * y
    m = z if z > w else w
    f = 2.0 * (q + m)
    dm = 2.0
    dq = 2.0
    dz = dm if z > w else 0.0
    dw = 0.0 if z > w else dm
    return f, (y * dq, x * dq, dz, dw)


CASES = {
    "add_mul": ((BENCH / "cases" / "add_mul.grad").read_text(), add_mul_vg),
    "dot2": (DOT2, dot2_vg),
    "circuit": (CIRCUIT, circuit_vg),
    "neuron": ((BENCH / "cases" / "neuron.grad").read_text(), neuron_vg),
    "neuron_vec": ((BENCH / "cases" / "neuron_vec.grad").read_text(), neuron_vec_vg),
    "neuron_dot": ((BENCH / "cases" / "neuron_dot.grad").read_text(), neuron_vec_vg),
    # array inputs at 32x8, where the checks are a tenth of the time
    "mse": ((BENCH / "cases" / "mse.grad").read_text(), mse_vg),
    "ridge": ((BENCH / "cases" / "ridge.grad").read_text(), ridge_vg),
}
POINTS = {
    "add_mul": (-2.0, 5.0, -4.0),
    "dot2": (3.0, -4.0, 2.0, -1.0),
    "circuit": (3.0, -4.0, 2.0, -1.0),
    "neuron": (2.0, -1.0, -3.0, -2.0, -3.0),
    "neuron_vec": gen_neuron_vec({}, None),
    "neuron_dot": gen_neuron_vec({}, None),
    "mse": gen_mse({"n": 32, "d": 8}, np.random.default_rng(0)),
    "ridge": gen_ridge({"n": 32, "d": 8}, np.random.default_rng(0)),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=31)
    args = ap.parse_args(argv)
    profile = {"batch": 0.020, "budget": 1e9, "repeats": (args.repeats, args.repeats)}
    print(
        f"{'case':10} {'inputs':>6} {'hand':>9} {'checked':>9} {'no-checks':>9} "
        f"{'checked/hand':>13} {'no-checks/hand':>15}"
    )
    for name, (text, hand) in CASES.items():
        args_ = POINTS[name]
        checked = getattr(gradc.load_source(text), name + "_value_and_grad")
        unchecked = getattr(
            gradc.load_source(text, checks=False), name + "_value_and_grad"
        )
        ref = hand(*args_)
        for f in (checked, unchecked):
            value, grads = f(*args_)
            assert abs(value - ref[0]) <= 1e-15 * abs(ref[0]), (name, value, ref)
            grads = grads if isinstance(grads, tuple) else (grads,)
            want = ref[1] if isinstance(ref[1], tuple) else (ref[1],)
            assert all(
                np.all(abs(a - b) <= 1e-14 * np.max(abs(b)))
                for a, b in zip(grads, want)
            )
        systems = {
            "hand": partial(hand, *args_),
            "checked": partial(checked, *args_),
            "unchecked": partial(unchecked, *args_),
        }
        samples, _ = time_interleaved(systems, profile)
        best = {k: min(v) * 1e9 for k, v in samples.items()}
        print(
            f"{name:10} {len(args_):>6} {best['hand']:>6.0f} ns {best['checked']:>6.0f} ns "
            f"{best['unchecked']:>6.0f} ns {paired_ratio(samples, 'checked', 'hand'):>13.2f} "
            f"{paired_ratio(samples, 'unchecked', 'hand'):>15.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
