"""Checks of ``f_jvp``, ``f_hvp``, ``f_hessp`` and ``f_hessian`` (SPEC §2.1) shared by the
tests (imported by tests; not a test module). Each returns None when the functions agree
with their independent references, else a description of the first mismatch:

* ``f_jvp``: its value is ``f``'s; its tangent is the directional derivative of the
  reference (fourth-order differences, ``reference.directional_derivative``) or, given
  ``fd_tangent``, of any other function of the inputs;
* ``f_hvp``: the central difference of ``f_grad`` along the vectors (``f_grad`` being
  checked against its own independent references by the caller), and the symmetry
  ``<u, H v> = <H u, v>``, which needs no differences;
* ``f_hessian``: symmetric, and ``H @ v`` is ``f_hvp``'s result; ``f_hessp`` is ``f_hvp``
  in SciPy's order.
"""

from __future__ import annotations

import numpy as np

HVP_RTOL = 1e-5
#: the steps of ``check_hvp``'s differences, times its ``h`` (the finest last)
STEP_FACTORS = (4.0, 1.0, 0.25)
JVP_RTOL = 1e-6


def as_list(grads, count: int) -> list:
    """Gradient-like results as a list of float arrays (one result when ``count`` is 1)."""
    items = (grads,) if count == 1 else tuple(grads)
    return [np.asarray(g, dtype=float) for g in items]


def moved(args: list, positions: list, dirs: list, h: float) -> list:
    """``args`` with input ``positions[k]`` moved by ``h * dirs[k]`` (floats stay floats)."""
    out = list(args)
    for p, d in zip(positions, dirs):
        x = np.asarray(args[p], dtype=float) + h * np.asarray(d)
        out[p] = x if np.ndim(x) else float(x)
    return out


def directions(rng, args: list, positions: list) -> list:
    """Random directions, one per differentiated input (its shape; floats for Scalars)."""
    out = []
    for p in positions:
        d = rng.normal(size=np.shape(args[p]))
        out.append(d if np.ndim(d) else float(d))
    return out


def close(got, want, rtol: float, scale_floor: float = 1e-4, atol: float = 0.0) -> bool:
    """Whether ``got`` matches ``want`` to ``rtol`` of their common scale (plus ``atol``),
    NaN nowhere where ``want`` is finite."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return False
    ok = np.isfinite(want)
    if np.any(ok & ~np.isfinite(got)):
        return False
    scale = max(scale_floor, float(np.max(np.abs(want[ok]), initial=0.0)))
    return bool(np.all(np.abs(got[ok] - want[ok]) <= rtol * scale + atol))


def check_jvp(
    mod, name: str, args: list, positions: list, dirs: list, value, dd, atol=0.0
):
    """``f_jvp`` against the reference's ``value`` and directional derivative ``dd``
    (None: the reference could not say, the value is still checked). The value is held
    to the rule of ``f``'s own (``test_language_oracle.values_match``): rtol 1e-9 of its
    largest entry plus ``atol``, the rounding floor of a formula whose value cancels
    (seed 19468: ``t3 * tanh(t3) + t3`` at t3 = -15.5 is -1.13e-12, every float64 order
    of it off by 1e-15)."""
    jvp = getattr(mod, f"{name}_jvp")
    with np.errstate(all="ignore"):
        v, t = jvp(*args, *dirs)
    if not close(v, value, 1e-9, 0.0, atol) and not np.array_equal(
        np.asarray(v), np.asarray(value), equal_nan=True
    ):
        return f"f_jvp value {v!r}, the reference gives {value!r}"
    if np.shape(t) != np.shape(value):
        return f"f_jvp tangent shape {np.shape(t)}, value shape {np.shape(value)}"
    # the differences' own noise floor: rounding of the value over the steps, as for
    # gradients (test_language_oracle.grads_match)
    values = np.abs(np.asarray(value, dtype=float))
    floor = 1e-7 * float(np.max(values, initial=0.0, where=np.isfinite(values)))
    if dd is not None and not close(t, dd, JVP_RTOL, max(1e-4, floor)):
        return f"f_jvp tangent {t!r}, directional derivative {dd!r}"
    return None


def fd_hvp(grad, args: list, positions: list, dirs: list, h: float) -> list:
    """The central difference of ``grad`` (``f_grad``) along ``dirs``, extrapolated
    (Richardson: steps h and h/2, error O(h**4), where a third derivative in the
    thousands would leave 1e-5 in a plain central difference)."""
    count = len(positions)

    def central(s):
        with np.errstate(all="ignore"):
            plus = as_list(grad(*moved(args, positions, dirs, s)), count)
            minus = as_list(grad(*moved(args, positions, dirs, -s)), count)
        return [(p - m) / (2 * s) for p, m in zip(plus, minus)]

    coarse, fine = central(h), central(h / 2)
    return [(4 * f - c) / 3 for c, f in zip(coarse, fine)]


def fd_error(coarse, fine) -> float:
    """The rounding error of the differences at the finer of two steps (h, h / 4), from
    their gap: 4/3 of its largest finite entry (error 4e at h / 4, e at h, gap 3e)."""
    gap = np.abs(np.asarray(fine, dtype=float) - np.asarray(coarse, dtype=float))
    return 4.0 / 3.0 * float(np.max(gap[np.isfinite(gap)], initial=0.0))


def check_hvp(
    mod, name: str, args: list, positions: list, rng, h: float = 1e-5, smooth=None
):
    """``f_hvp`` against differences of ``f_grad`` (where ``smooth(args)`` says the moved
    inputs take the same branches as ``args``) and its own symmetry; ``f_hessp`` and
    ``f_hessian`` where they exist."""
    hvp = getattr(mod, f"{name}_hvp")
    count = len(positions)
    u, v = directions(rng, args, positions), directions(rng, args, positions)
    with np.errstate(all="ignore"):
        hu = as_list(hvp(*args, *u), count)
        hv = as_list(hvp(*args, *v), count)
    for k, p in enumerate(positions):
        if hv[k].shape != np.shape(args[p]):
            return f"f_hvp result {k} shape {hv[k].shape}, input {np.shape(args[p])}"
    grad = getattr(mod, f"{name}_grad")
    steps = [
        hh
        for hh in (factor * h for factor in STEP_FACTORS)
        if smooth is None
        or all(smooth(moved(args, positions, v, s)) for s in (hh, -hh))
    ]
    fds = [fd_hvp(grad, args, positions, v, hh) for hh in steps]
    # the differences are a reference only where the two finest steps agree on them (as
    # the reference's own directional derivatives): a gradient that cancels (13.4 -
    # 13.4) leaves its rounding over the step in each, differently
    agree = all(
        close(a[k], fds[-1][k], HVP_RTOL) for a in fds[-2:-1] for k in range(len(hv))
    )
    # and only to their own error: rounding over the step grows as 1 / h, so the step
    # h / 4 carries about 4/3 of its gap to a coarser one (seed 28552 of the language
    # oracle: t * tanh(t) + t at t = -8, a gradient 1e-5 of its terms, its differences
    # 1.8e-5 off a 50-digit Hessian, which f_hvp matches to 1e-10); the gap to 4 h too,
    # as h and h / 4 agreed by chance 1.3e-9 off a Hessian of 2e-7 (seed 192,004: t *
    # tanh(t) + t at t = -10.6, its 1 + tanh(t) quantised in steps of 1e-16 over a move
    # of 2e-15; 4 h was 4e-11 off)
    slack = [
        max([fd_error(a[k], fds[-1][k]) for a in fds[:-1]], default=0.0)
        for k in range(len(hv))
    ]
    if (
        fds
        and agree
        and not all(
            close(g, f, HVP_RTOL, atol=e) for g, f, e in zip(hv, fds[-1], slack)
        )
    ):
        return f"f_hvp {hv!r}\n differences of f_grad {fds[-1]!r}"
    lhs = sum(float(np.sum(np.asarray(a) * b)) for a, b in zip(u, hv))
    rhs = sum(float(np.sum(np.asarray(a) * b)) for a, b in zip(v, hu))
    scale = max(1e-4, abs(lhs), abs(rhs))
    if np.isfinite(lhs) and not abs(lhs - rhs) <= 1e-9 * scale:
        return f"f_hvp not symmetric: <u, H v> = {lhs!r}, <H u, v> = {rhs!r}"
    return check_hessian(mod, name, args, positions, v, hv)


def check_hessian(mod, name, args, positions, v, hv):
    """``f_hessp`` is ``f_hvp`` reordered; ``f_hessian`` symmetric with ``H v = f_hvp``."""
    hessp = getattr(mod, f"{name}_hessp", None)
    if hessp is not None:
        first, *rest = args
        with np.errstate(all="ignore"):
            hp = np.asarray(hessp(first, v[0], *rest), dtype=float)
        if not np.array_equal(hp, hv[0], equal_nan=True):
            return f"f_hessp {hp!r}, f_hvp {hv[0]!r}"
    hessian = getattr(mod, f"{name}_hessian", None)
    if hessian is None:
        return None
    if not np.all(np.isfinite(hv[0])):
        # an infinite second derivative (x ** 1.5 at 0): its products with the unit
        # vectors' zeros are inf * 0 = NaN, in no fixed pattern (as in any AD system)
        return None
    with np.errstate(all="ignore"):
        H = np.asarray(hessian(*args), dtype=float)
    n = np.size(args[positions[0]])
    if H.shape != (() if np.ndim(args[positions[0]]) == 0 else (n, n)):
        return f"f_hessian shape {H.shape} for an input of shape {np.shape(args[0])}"
    if not close(H, H.T, 1e-9):
        return f"f_hessian not symmetric: {H!r}"
    if not close(H @ np.asarray(v[0]) if H.ndim else H * v[0], hv[0], 1e-9):
        return f"f_hessian @ v {H @ np.asarray(v[0])!r}, f_hvp {hv[0]!r}"
    return None
