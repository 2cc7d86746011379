"""Sizes computed from one dimension name, written as the frontend's messages write
them (SymPy's canonical form, printed by ``core/printer.py``): ``n - 1``, ``2 * n``,
``n // 2``, ``(n + 1) // 2 + 3``. The syntax-tree check (``statement_shapes.py``,
``shape_reading.py``, ``pool_shapes.py``) compares sizes as these strings, so each size
has one spelling: ``1 + n`` and ``n + 1`` are both ``n + 1``, ``(n - 4) // 2`` is
``n // 2 - 2`` (SymPy takes an integer out of a floor, and keeps a fraction in it).

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast
from collections import Counter


def plus(head: str, c: int) -> str:
    """``head + c`` as a sum is written: ``n``, ``n + 2``, ``n - 1``."""
    if c == 0:
        return head
    return f"{head} {'+' if c > 0 else '-'} {abs(c)}"


def linear_written(name: str, a: int, b: int) -> str:
    """``a * name + b`` (``a >= 1``): ``n - 1``, ``2 * n``, ``3 * n - 1``."""
    return plus(name if a == 1 else f"{a} * {name}", b)


def floor_written(name: str, offset: int, k: int, add: int) -> str:
    """``(name + offset) // k + add`` (``k >= 2``) as SymPy keeps it: the integer
    ``offset / k`` taken out of the floor where ``k`` divides ``offset`` (``(n - 4) //
    2`` is ``n // 2 - 2``), else the floor as it is (``(n - 5) // 2 + 1``); a sum of
    names in parentheses (``(k + n) // 2``, ``(k + n + 1) // 2``)."""
    if offset % k == 0:
        head = name if name.isidentifier() else f"({name})"
        return plus(f"{head} // {k}", add + offset // k)
    return plus(f"({plus(name, offset)}) // {k}", add)


def annotated_size(node, dims: set[str]) -> str | None:
    """The size a parameter's dimension expression ``node`` gives, written as the
    frontend writes it, for the forms of one name of ``dims`` that SymPy writes as
    ``linear_written`` and ``floor_written`` do: ``n`` plus or minus ints, times a
    positive int, floor-divided by a positive int, plus or minus ints after;
    None for any other (the check does not follow it)."""
    form = size_form(node, dims)
    if form is None or isinstance(form, int):
        return None
    name, a, b, k = form
    if k == 1:
        return linear_written(name, a, b) if a >= 1 else None
    return floor_written(name, b, k, a)


def size_form(node, dims: set[str]):
    """``node`` read as an int, or as ``(name, a, b, 1)`` for ``a * name + b``, or as
    ``(name, add, offset, k)`` for ``(name + offset) // k + add``; None for anything
    else. A product or a floor applies to a sum of one name times 1 only."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = size_form(node.operand, dims)
        return -inner if isinstance(inner, int) else None
    if isinstance(node, ast.Name):
        return (node.id, 1, 0, 1) if node.id in dims else None
    if not isinstance(node, ast.BinOp):
        return None
    left, right = size_form(node.left, dims), size_form(node.right, dims)
    if left is None or right is None:
        return None
    if isinstance(node.op, (ast.Add, ast.Sub)):
        sign = 1 if isinstance(node.op, ast.Add) else -1
        if isinstance(right, int) and not isinstance(left, int):
            return shifted(left, sign * right)
        if isinstance(left, int) and not isinstance(right, int) and sign == 1:
            return shifted(right, left)
        return None
    if isinstance(node.op, ast.Mult):
        form, c = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(form, int) or not isinstance(c, int) or c < 1:
            return None
        name, a, b, k = form
        return (name, a * c, b * c, 1) if k == 1 else None
    if isinstance(node.op, ast.FloorDiv) and right == 1:
        return left  # an integer divided by 1
    if isinstance(node.op, ast.FloorDiv) and isinstance(right, int) and right >= 2:
        if isinstance(left, int) or left[1] != 1 or left[3] != 1:
            return None
        return (left[0], 0, left[2], right)
    return None


def shifted(form: tuple, c: int) -> tuple:
    """``form`` plus the int ``c`` (after the floor, for a floor)."""
    name, a, b, k = form
    return (name, a, b + c, 1) if k == 1 else (name, a + c, b, k)


def sum_written(sizes: list):
    """The sum of ``sizes`` (ints and dimension names) as the frontend writes it: an int,
    ``a * n + b`` of one name (``d + 1``, ``2 * n``), or of several names each with its
    count, in the order SymPy prints a sum (names by their text, the int last: ``m +
    n``, ``2 * B + a + 1``); None where a size is an expression (``n - 1``), which the
    check does not add."""
    names = [d for d in sizes if not isinstance(d, int)]
    total = sum(d for d in sizes if isinstance(d, int))
    if not names:
        return total
    if not all(d.isidentifier() for d in names):
        return None
    counts = Counter(names)
    terms = [d if k == 1 else f"{k} * {d}" for d, k in sorted(counts.items())]
    return plus(" + ".join(terms), total)


def cut_size(size) -> tuple[str, int] | None:
    """A named size as ``(head, c)`` for ``head + c``: a name, a sum of names as
    ``sum_written`` writes it or a floor as ``floor_written`` does, less or plus an int
    (``n`` is ``("n", 0)``, ``n - 1`` ``("n", -1)``, ``m + n - 2`` ``("m + n", -2)``, ``n
    // 2 - 1`` ``("n // 2", -1)``: an axis already cut by a slice, or annotated so); None
    for any other size (``2 * n``, an int)."""
    if isinstance(size, int):
        return None
    head, c = size, 0
    parts = size.rsplit(" ", 2)
    if len(parts) == 3 and parts[1] in ("+", "-") and parts[2].isdigit():
        head, c = parts[0], int(parts[2]) * (1 if parts[1] == "+" else -1)
    if head.isidentifier() or joined_names(head) or floor_head(head):
        return head, c
    return None


def floor_head(size: str) -> bool:
    """Whether ``size`` is a floor as ``floor_written`` writes it, of a name or of a
    parenthesised size: ``n // 2``, ``(n - 1) // 3``, ``(k + n) // 2``, ``((n + 1) // 2)
    // 2``."""
    inner, _, k = size.rpartition(" // ")
    if not k.isdigit() or not inner:
        return False
    return inner.isidentifier() or wrapped(inner)


def wrapped(text: str) -> bool:
    """Whether ``text`` is one parenthesised group: ``(n - 1)``, not ``(n) + (m)``."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i < len(text) - 1:
            return False
    return text.startswith("(") and depth == 0


def joined_names(size) -> bool:
    """Whether ``size`` is a sum of names as ``sum_written`` writes it, with no int
    (``m + n``, ``2 * m + n``): sliced like a name (``m + n - 1``)."""
    if isinstance(size, int) or " + " not in size:
        return False
    terms = [t.split(" * ")[-1] if t[0].isdigit() else t for t in size.split(" + ")]
    return all(t.isidentifier() for t in terms)


def multiple_cut(size: str, lower, upper):
    """The length of ``x[lower:upper]`` along an axis of ``size`` ``k * n`` (or ``n``),
    each bound None or a multiple of the same name (``H``, ``2 * H``; a gate of an
    LSTM's ``a[:, H : 2 * H]`` of ``Matrix[N, 4 * H]``), from 0 to ``k`` of it in order:
    ``(c2 - c1) * n`` as the frontend writes it, 0 where the bounds meet; None for any
    other size or bounds."""
    a, name = multiple(size)
    if name is None:
        return None
    low = 0 if lower is None else bound_multiple(lower, name)
    high = a if upper is None else bound_multiple(upper, name)
    if low is None or high is None or not 0 <= low <= high <= a:
        return None
    return 0 if high == low else linear_written(name, high - low, 0)


def multiple(size) -> tuple:
    """``(k, n)`` of a size written ``k * n`` or ``n``; ``(None, None)`` else."""
    head, _, name = size.rpartition(" * ") if isinstance(size, str) else ("", "", "")
    if name.isidentifier() and (not head or head.isdigit()):
        return (int(head) if head else 1), name
    return None, None


def bound_multiple(node, name: str):
    """``c`` of a slice bound ``c * name``, ``name * c``, ``name`` or the literal 0; None
    for any other bound."""
    if isinstance(node, ast.Name):
        return 1 if node.id == name else None
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return 0 if node.value == 0 else None
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Mult):
        return None
    for c, n in ((node.left, node.right), (node.right, node.left)):
        literal = isinstance(c, ast.Constant) and type(c.value) is int
        if literal and isinstance(n, ast.Name) and n.id == name and c.value >= 0:
            return c.value
    return None
