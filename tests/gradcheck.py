"""Shared gradient-checking helpers for the gradc tests (imported by tests; not a test module).

Conventions used by every helper:

* ``args`` is the sequence of inputs exactly as passed to a generated function: NumPy arrays
  (float or integer) or Python numbers.  Helpers never modify ``args``.
* ``wrt`` is a sequence of positions in ``args`` to differentiate; those inputs must be float.
* All arithmetic is float64.  A perturbed input keeps its kind: a Python number stays a Python
  ``float``, an array stays an array of the same shape.
* A gradient is returned as a list with one float64 array per ``wrt`` position, of that input's
  shape (a 0-d array for a number).

The checks are independent of gradc: central finite differences of the function's values, and
the dot-product (VJP) identity ``<u, J v> = <J^T u, v>`` where ``J v`` comes from finite
differences along a random direction ``v``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: default relative step of the central differences (float64: truncation ~h^2, rounding ~eps/h)
FD_STEP = 1e-6
#: default tolerances of a finite-difference comparison (see ``assert_fd_close``)
FD_RTOL = 1e-6
FD_ATOL = 1e-8


def _with(args: Sequence, pos: int, value) -> list:
    out = list(args)
    out[pos] = (
        float(value)
        if np.ndim(args[pos]) == 0 and not isinstance(args[pos], np.ndarray)
        else np.asarray(value, dtype=np.float64)
    )
    return out


def _value(f: Callable, args: Sequence) -> np.ndarray:
    return np.asarray(f(*args), dtype=np.float64)


def as_grad_list(grads, n: int) -> list[np.ndarray]:
    """Normalise a generated gradient result to a list of float64 arrays.

    gradc returns one array (or a float) when one input is differentiated and a tuple
    otherwise; ``n`` is the number of differentiated inputs.
    """
    if n == 1:
        grads = (grads,)
    assert isinstance(grads, tuple) and len(grads) == n, (
        f"expected {n} gradients, got {grads!r}"
    )
    return [np.asarray(g, dtype=np.float64) for g in grads]


def central_diff_grad(
    f: Callable, args: Sequence, wrt: Sequence[int], *, h: float = FD_STEP
) -> list[np.ndarray]:
    """Gradient of the scalar-valued ``f(*args)`` by central differences in float64.

    Entry ``k`` of input ``i`` is perturbed by ``+-h * max(1, |x_k|)``.  Returns one array per
    ``wrt`` position, each of its input's shape.
    """
    grads = []
    for pos in wrt:
        x0 = np.array(args[pos], dtype=np.float64)
        g = np.zeros_like(x0)
        flat, gflat = x0.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            step = h * max(1.0, abs(flat[k]))
            xp, xm = flat.copy(), flat.copy()
            xp[k] += step
            xm[k] -= step
            fp = _value(f, _with(args, pos, xp.reshape(x0.shape)))
            fm = _value(f, _with(args, pos, xm.reshape(x0.shape)))
            assert fp.shape == (), (
                f"central_diff_grad needs a scalar function, got {fp.shape}"
            )
            gflat[k] = (fp - fm) / (2.0 * step)
        grads.append(g)
    return grads


def central_diff_vjp(
    f: Callable,
    args: Sequence,
    wrt: Sequence[int],
    u: np.ndarray,
    *,
    h: float = FD_STEP,
) -> list[np.ndarray]:
    """``J^T u`` for an array-valued ``f`` by central differences of ``sum(u * f(*args))``."""
    u = np.asarray(u, dtype=np.float64)
    return central_diff_grad(lambda *a: float(np.sum(u * _value(f, a))), args, wrt, h=h)


def central_diff_jvp(
    f: Callable, args: Sequence, wrt: Sequence[int], v: Sequence, *, h: float = FD_STEP
) -> np.ndarray:
    """Directional derivative ``J v = (f(x + t v) - f(x - t v)) / 2t`` by central differences.

    ``v`` holds one direction per ``wrt`` position; all of them move together.  The step is
    ``t = h * max(1, max |x|)`` over the differentiated inputs.
    """
    scale = max([1.0] + [float(np.max(np.abs(args[p]))) for p in wrt])
    t = h * scale
    plus, minus = list(args), list(args)
    for pos, d in zip(wrt, v, strict=True):
        x0 = np.asarray(args[pos], dtype=np.float64)
        plus = _with(plus, pos, x0 + t * np.asarray(d))
        minus = _with(minus, pos, x0 - t * np.asarray(d))
    return (_value(f, plus) - _value(f, minus)) / (2.0 * t)


def rel_error(a, b) -> float:
    """``max|a - b| / max(max|a|, max|b|)`` (0.0 when both are zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = max(
        float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0))
    )
    num = float(np.max(np.abs(a - b), initial=0.0))
    return 0.0 if num == 0.0 else num / denom


def assert_fd_close(
    analytic: Sequence,
    numeric: Sequence,
    *,
    rtol: float = FD_RTOL,
    atol: float = FD_ATOL,
    scale: float = 1.0,
    names: Sequence[str] | None = None,
) -> None:
    """Assert per entry ``|a - n| <= atol * S + rtol * |n|`` for every pair of gradients.

    ``S = max(1, scale, max |n| over all gradients)``: central differences carry an absolute
    rounding error proportional to the size of the function and of its gradient, so the
    absolute part of the tolerance is scaled by them (pass ``scale=|f(x)|``).  Shapes must
    match exactly.
    """
    numeric = [np.asarray(n, dtype=np.float64) for n in numeric]
    analytic = [np.asarray(a, dtype=np.float64) for a in analytic]
    assert len(analytic) == len(numeric), (len(analytic), len(numeric))
    s = max(
        [1.0, abs(float(scale))]
        + [float(np.max(np.abs(n), initial=0.0)) for n in numeric]
    )
    for i, (a, n) in enumerate(zip(analytic, numeric, strict=True)):
        label = names[i] if names else f"input {i}"
        assert a.shape == n.shape, (
            f"{label}: gradient shape {a.shape}, expected {n.shape}"
        )
        assert np.all(np.isfinite(a)), f"{label}: non-finite gradient {a}"
        np.testing.assert_allclose(
            a, n, rtol=rtol, atol=atol * s, err_msg=f"gradient of {label}"
        )


def dot_product_test(
    f: Callable,
    backward: Callable,
    args: Sequence,
    wrt: Sequence[int],
    rng: np.random.Generator,
    *,
    h: float = FD_STEP,
) -> tuple[float, float, float]:
    """The VJP dot-product identity ``<u, J v> = <J^T u, v>`` at random ``u`` and ``v``.

    ``f(*args)`` gives the value; ``backward(u)`` must return the list of ``J^T u`` (one array
    per ``wrt`` position, e.g. ``as_grad_list(f_backward(u, cache), len(wrt))``).  ``J v`` comes
    from ``central_diff_jvp``.  Returns ``(lhs, rhs, bound)`` with ``bound = |u| * |J v|``, the
    Cauchy-Schwarz bound of both sides; callers assert ``|lhs - rhs| <= tol * bound``.
    """
    out = _value(f, args)
    u = rng.standard_normal(out.shape)
    if out.shape == ():
        u = float(u)
    v = [rng.standard_normal(np.shape(args[p])) for p in wrt]
    jv = central_diff_jvp(f, args, wrt, v, h=h)
    lhs = float(np.sum(np.asarray(u) * jv))
    jtu = backward(u)
    assert len(jtu) == len(wrt)
    for p, g in zip(wrt, jtu, strict=True):
        assert np.shape(g) == np.shape(args[p]), (np.shape(g), np.shape(args[p]))
    rhs = float(sum(np.sum(np.asarray(g) * d) for g, d in zip(jtu, v, strict=True)))
    bound = float(np.linalg.norm(np.ravel(u)) * np.linalg.norm(np.ravel(jv)))
    return lhs, rhs, bound


def assert_dot_product(
    lhs: float, rhs: float, bound: float, *, rtol: float = FD_RTOL
) -> None:
    """Assert ``|lhs - rhs| <= rtol * max(bound, 1e-300)`` for ``dot_product_test`` output."""
    assert abs(lhs - rhs) <= rtol * max(bound, 1e-300), (
        f"<u, J v> = {lhs!r} (finite differences) but <J^T u, v> = {rhs!r} (backward); "
        f"bound {bound!r}"
    )
