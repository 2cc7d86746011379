"""Logistic regression on a Dask cluster: the module gradc compiles from logistic.grad with
``--target array-api``, unchanged, on a Dask array split into row chunks.

    python examples/dask_logistic.py                          # a LocalCluster of 2 workers
    python examples/dask_logistic.py --rows 20000000 --dim 16 --chunks 16
    python examples/dask_logistic.py --scheduler tcp://10.0.0.1:8786  # a real cluster

Each call of ``logistic_loss_value_and_grad`` builds one task graph (the value and both
gradients); ``dask.compute(value, grads)`` runs it on the workers, which hold the rows of
X and y, and brings back a float, a (d,) vector and a float. ``scipy.optimize.minimize``
then drives the fit from the client, as it would on one machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import scipy.optimize
from dask.distributed import Client, LocalCluster

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout: this tree's gradc

import cli  # noqa: E402

cli.use_checkout()
import gradc  # noqa: E402

FORMULA = HERE / "logistic.grad"


def module():
    """The Array API module of logistic.grad (``gradc compile --target array-api``)."""
    return gradc.load_source(
        FORMULA.read_text(), filename="examples/logistic.grad", target="array-api"
    )


def data(rows: int, dim: int, chunks: int, seed: int = 0):
    """X (rows x dim, ``chunks`` row chunks) and labels y from a known w, made on the
    workers (no row passes through the client), kept in their memory (``persist``)."""
    rs = da.random.RandomState(seed)
    X = rs.standard_normal((rows, dim), chunks=(-(-rows // chunks), dim))
    w_true = np.linspace(-1.0, 1.0, dim)
    z = X @ da.from_array(w_true) + 0.5
    y = (rs.uniform(size=rows, chunks=X.chunks[0]) < 1 / (1 + da.exp(-z))) * 1.0
    return dask.persist(X, y)


def value_and_grad(m, w, b: float, X, y, lam: float):
    """The loss and its gradients at (w, b) as NumPy values: one graph, one compute."""
    value, grads = m.logistic_loss_value_and_grad(da.from_array(w), b, X, y, lam)
    value, (d_w, d_b) = dask.compute(value, grads)
    return float(value), np.asarray(d_w), float(d_b)


def fit(m, X, y, lam: float = 1e-3):
    """minimize over theta = (w, b) with L-BFGS-B, every step one Dask computation."""
    dim = X.shape[1]

    def fun(theta):
        v, d_w, d_b = value_and_grad(m, theta[:dim], theta[dim], X, y, lam)
        return v, np.append(d_w, d_b)

    return scipy.optimize.minimize(fun, np.zeros(dim + 1), jac=True, method="L-BFGS-B")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument(
        "--threads",
        action="store_true",
        help="a LocalCluster of threads, not processes",
    )
    args = parser.parse_args(argv)
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=not args.threads
        )
        client = Client(cluster)
    with client:
        m = module()
        X, y = data(args.rows, args.dim, args.chunks)
        result = fit(m, X, y)
        print(f"{result.message} after {result.nit} steps ({result.nfev} evaluations)")
        print(
            f"loss {result.fun:.6f}, w = {np.round(result.x[:-1], 3)}, b = {result.x[-1]:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
