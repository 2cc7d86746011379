"""The operations of scalarised functions (``passes/scalarise.py``): a small array of
literal shape read once as Python lists (``tolist``), one element of it (``element``),
and an array made of floats again (``array_of``), for the gradients a function returns.
The rest of a scalarised function is scalar operations, spelled with ``math``."""

from __future__ import annotations

from ..core import printer as P
from ..core.prim import MATH, NUMPY, prim

LINE_LIMIT = 88  # ruff's line length, as ``backend/layout.py`` writes lines


def tolist_emit(node, a, ctx):
    return P.method(a[0], "tolist")


def as_array(node, a, ctx):
    """On NumPy (a ``math`` build's fallback), the array itself: its elements are then
    np.float64, whose arithmetic gives inf and nan where Python's raises."""
    return a[0]


def element_emit(node, a, ctx):
    e = a[0]
    for k in node.attr("at"):
        e = P.subscript(e, str(k))
    return e


def nested(items: list[str], shape: tuple) -> str:
    """``items`` (row-major) as nested list text of ``shape``: ``[[a, b], [c, d]]``."""
    if len(shape) == 1:
        return "[" + ", ".join(items) + "]"
    step = len(items) // shape[0]
    rows = [nested(items[k : k + step], shape[1:]) for k in range(0, len(items), step)]
    return "[" + ", ".join(rows) + "]"


def array_of_emit(node, a, ctx):
    return P.call("np.array", nested([e.text for e in a], node.shape))


def exploded(items: list[str], shape: tuple, indent: int, width: int) -> list[str]:
    """The nested list of ``items`` one element (or row) a line, as ruff formats a list
    too long for one line, at ``indent`` spaces; rows that fit stay on one line."""
    pad = " " * (indent + 4)
    step = len(items) // shape[0]
    lines = [" " * indent + "["]
    for k in range(0, len(items), step):
        part = items[k : k + step]
        text = part[0] if len(shape) == 1 else nested(part, shape[1:])
        if len(pad) + len(text) + 1 <= width:
            lines.append(f"{pad}{text},")
        else:
            lines += exploded(part, shape[1:], indent + 4, width)
            lines[-1] += ","
    return lines + [" " * indent + "]"]


def array_of_stmts(name, node, a, ctx):
    """``name = np.array([...])`` on one line, or split as ruff formats it."""
    items, shape = [e.text for e in a], node.shape
    width = LINE_LIMIT - 4 - ctx.indent  # the body is indented 4 (8 inside a ``try``)
    one = f"{name} = np.array({nested(items, shape)})"
    if len(one) <= width:
        return [one]
    inner = nested(items, shape)
    if 4 + len(inner) <= width:
        return [f"{name} = np.array(", f"    {inner}", ")"]
    return [f"{name} = np.array(", *exploded(items, shape, 4, width), ")"]


def literal_shape(b, args, attrs):
    return tuple(attrs["shape"]), "float"


# x.tolist(): the elements of a small float64 array as Python floats (nested lists); x on
# NumPy
prim(
    "tolist",
    lambda b, args, attrs: (b.shape(args[0]), "float"),
    spellings={NUMPY: as_array, MATH: tolist_emit},
    raises_on_floats=False,
)
# x[i][j] of the lists ``tolist`` made: one element, a Python float
prim(
    "element",
    lambda b, args, attrs: ((), "float"),
    spellings={NUMPY: element_emit, MATH: element_emit},
    raises_on_floats=False,
)
# np.array([[a, b], [c, d]]): a fresh float64 array of ``shape`` from its elements
prim(
    "array_of",
    literal_shape,
    spellings={NUMPY: array_of_emit, MATH: array_of_emit},
    stmts=array_of_stmts,
    raises_on_floats=False,
)
