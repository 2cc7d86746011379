"""Scale out (issue 20): logistic regression's value and gradient on a Dask array of 8 row
chunks through a dask.distributed Client (a LocalCluster of 2 workers, threads:
processes=False keeps the test to a few seconds; examples/dask_logistic.py uses
processes and takes --scheduler for a real cluster), computed in one graph, and a
scipy.optimize.minimize fit driving it, equal to the NumPy target on the whole array."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.optimize
from xp_cases import ROOT, load, require

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def example():
    require("dask")
    pytest.importorskip("distributed", reason="distributed is not installed")
    spec = importlib.util.spec_from_file_location(
        "dask_logistic", ROOT / "examples" / "dask_logistic.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def client(example):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def problem(example, client):
    X, y = example.data(rows=40_000, dim=6, chunks=8)
    assert X.numblocks == (8, 1) and y.numblocks == (8,)
    return X, y, X.compute(), y.compute()


def test_value_and_gradient_on_the_cluster_equal_the_numpy_target(
    example, problem, client
):
    X, y, Xn, yn = problem
    m, ref = example.module(), load(ROOT / "examples" / "logistic.grad", "numpy")
    w, b, lam = np.linspace(0.3, -0.2, 6), 0.1, 1e-3
    v, d_w, d_b = example.value_and_grad(m, w, b, X, y, lam)
    want_v, (want_w, want_b) = ref.logistic_loss_value_and_grad(w, b, Xn, yn, lam)
    np.testing.assert_allclose(v, want_v, rtol=1e-12)
    np.testing.assert_allclose(d_w, want_w, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(d_b, want_b, rtol=1e-10)
    # the workers ran it: the tasks of the one graph are in the scheduler's log
    assert any(
        "logistic" in str(k) or "sum" in str(k)
        for k in client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes)
        )
    )


def test_a_scipy_fit_driven_through_the_cluster(example, problem):
    X, y, Xn, yn = problem
    result = example.fit(example.module(), X, y, lam=1e-3)
    ref = load(ROOT / "examples" / "logistic.grad", "numpy")

    def fun(theta):
        v, (d_w, d_b) = ref.logistic_loss_value_and_grad(
            theta[:6], theta[6], Xn, yn, 1e-3
        )
        return v, np.append(d_w, d_b)

    want = scipy.optimize.minimize(fun, np.zeros(7), jac=True, method="L-BFGS-B")
    assert result.success and want.success
    np.testing.assert_allclose(result.x, want.x, atol=1e-5)
    # the data came from w = linspace(-1, 1, 6), b = 0.5
    np.testing.assert_allclose(
        result.x, np.append(np.linspace(-1, 1, 6), 0.5), atol=0.1
    )
