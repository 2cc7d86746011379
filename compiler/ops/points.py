"""Where test points may not go: the domains and kinks the operations' records name.

``gradc check`` draws inputs away from these (``Prim.domain``, ``Prim.kinks``):

- ``domain(node, consts) -> (argument, lower bound) | None``: the argument must exceed the
  bound (``log`` of a value <= 0);
- ``kinks(node, key, v, consts) -> distance | None``: how far the point is from where the
  op is not differentiable (``None``: nowhere). ``v(key)`` is the value of an argument
  (``v(key)`` of the node itself), ``consts`` the known constant arguments.

The functions that read values take NumPy from ``lazy.numpy()``: they run in ``gradc
check``, and a compile imports no NumPy (bench/README.md, start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lazy import numpy


@dataclass(frozen=True)
class Above:
    """The domain ``argument 0 > bound`` (``log``, ``sqrt``: 0; ``log1p``: -1)."""

    bound: float

    def __call__(self, node, consts):
        return node.args[0], self.bound


def pow_domain(node, consts):
    """``x ** p`` with ``p`` not a whole constant needs ``x > 0``."""
    c = consts.get(node.args[1])
    if c is None or not float(c).is_integer():
        return node.args[0], 0.0
    return None


def nearest(values) -> float:
    """The smallest magnitude in ``values`` (inf for none)."""
    np = numpy()
    return float(np.min(np.abs(values), initial=np.inf))


def at_zero(node, key, v, consts):
    """A kink where the argument is 0 (relu, abs, sign)."""
    return nearest(v(node.args[0]))


def inside_unit(node, key, v, consts):
    """The ends of the domain -1 < x < 1 (arcsin, arccos: their slopes are infinite
    there, and they are nan beyond): the distance inside, negative outside."""
    np = numpy()
    return float(np.min(1.0 - np.abs(v(node.args[0])), initial=np.inf))


def at_tie(node, key, v, consts):
    """A kink where the two arguments are equal (maximum, comparisons)."""
    return nearest(v(node.args[0]) - v(node.args[1]))


def pole(node, key, v, consts):
    """A pole where the divisor is 0."""
    return nearest(v(node.args[1]))


def pow_kinks(node, key, v, consts):
    """A pole at ``x = 0`` for a negative constant power."""
    c = consts.get(node.args[1])
    if c is not None and c < 0:
        return nearest(v(node.args[0]))
    return None


def at_zero_output(node, key, v, consts):
    """A kink where the value itself is 0 (``norm``)."""
    return nearest(v(key))


def arctan2_kinks(node, key, v, consts):
    """The origin, and the jump by 2 pi across y = 0 where x < 0."""
    np = numpy()
    y, x = np.broadcast_arrays(v(node.args[0]), v(node.args[1]))
    away = np.where(x < 0, np.minimum(np.abs(y), np.hypot(x, y)), np.hypot(x, y))
    return float(np.min(away, initial=np.inf))


def clip_kinks(node, key, v, consts):
    """Kinks where ``x`` meets either bound."""
    x = v(node.args[0])
    return min(nearest(x - v(node.args[1])), nearest(x - v(node.args[2])))


def extreme_tie(node, key, v, consts):
    """``max``/``min`` reductions: a kink where the two largest (smallest) entries tie."""
    np = numpy()
    x = v(node.args[0])
    axes = node.attr("axis")
    if axes is None:
        axes = tuple(range(x.ndim))
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    flat = np.sort(moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,)), axis=-1)
    if flat.shape[-1] < 2:
        return None
    gap = (
        flat[..., -1] - flat[..., -2]
        if node.op == "max"
        else flat[..., 1] - flat[..., 0]
    )
    return float(np.min(gap, initial=np.inf))
