"""``reshape(x, sizes)`` read on the syntax tree (``operand_shapes.call_shape``), as
``shape_calls.call_reshape`` and the ``reshape`` record read it: sizes that are positive
int literals, dimension names, products of them (``C * H * W``) and one ``-1``, solved
from ``x``'s size. Sizes are products of distinct names and an int here (monomials),
whose equality and division are exact; each is written as SymPy prints it, the int
first and the names in order (``3 * n``, ``C * H * W``, ``H * N``).

The sizes the frontend refuses by their form (``sizes_error``: a value's name, a float,
a second ``-1``) are reported as it words them, with the messages it raises; so are
those of ``zeros``, ``ones`` and ``np.full`` (``created_shape``).

Like the rest of the check it needs nothing but ``ast``; it raises ``Stop`` at any other
size (a sum, a floor, a name twice), where the frontend decides.
"""

from __future__ import annotations

import ast
from collections import Counter

from ..core.shape_rules import not_reshaped
from ..errors import FormulaError
from .dimension_refusals import TOO_LARGE, expression_error, int_value
from .shape_reading import Mismatch, Refused, Stop, literal_int, written
from .source import Source, is_int_literal

#: the frontend's error at a size of ``reshape`` of no form it reads
RESHAPE_FORM = (
    "reshape sizes are positive integers, dimension names, expressions of them with "
    "+ - * // (C * H * W) or -1"
)
#: ... and at a second ``-1``
ONE_FREE = "only one dimension can be -1"


def sizes_error(node: ast.Call, dims, src: Source) -> FormulaError | None:
    """The error ``shape_calls.call_reshape`` raises, once it has lowered ``x``, at the
    first size of ``reshape(x, sizes)`` (``node``, of two arguments) it refuses by its
    form: a literal past 2**31, a second ``-1``, a size that is no positive int literal,
    name of ``dims`` (every name it reads as a dimension there) or expression
    (``RESHAPE_FORM``), an expression of other nodes or names
    (``dimension_refusals.expression_error``); None where it reads each so (a constant
    expression below 1 is its error too)."""
    s = node.args[1]
    free = False
    for it in s.elts if isinstance(s, ast.Tuple) else [s]:
        if is_int_literal(it) and abs(int_value(it)) >= 2**31:
            return src.error(it, TOO_LARGE)
        if is_int_literal(it) and int_value(it) == -1:
            if free:
                return src.error(it, ONE_FREE)
            free = True
        elif isinstance(it, (ast.BinOp, ast.UnaryOp)):
            error = expression_error(it, dims, src)
            if error is not None:
                return error
        elif not (isinstance(it, ast.Name) and it.id in dims) and not (
            isinstance(it, ast.Constant) and type(it.value) is int and it.value > 0
        ):
            return src.error(it, RESHAPE_FORM)
    return None


def created_shape(arg, dims, sizes, src: Source) -> tuple:
    """The shape ``zeros(shape)``, ``ones(shape)`` and ``np.full(shape, fill)`` make from
    ``arg``: a tuple of names of ``dims`` (the parameters' dimensions) and positive int
    literals, or one of them. Refused at the first size that is no dimension expression
    of ``sizes`` (every name the frontend reads as a dimension there), as it reads them
    in order (``shape_calls.reshape_size``: ``dimension_refusals.expression_error``);
    Stop at any other size (an expression of dimensions, one below 1, a loop variable)
    and at no size, which the frontend reads or refuses."""
    items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
    if not items:
        raise Stop
    out: list = []
    for d in items:
        error = expression_error(d, sizes, src)
        if error is not None:
            raise Refused(error)
        if isinstance(d, ast.Name) and d.id in dims:
            out.append(d.id)
        elif 0 < literal_int(d) < 2**31:
            out.append(literal_int(d))
        else:
            raise Stop
    return tuple(out)


def reshape_items(node: ast.Call, dims) -> tuple:
    """``(x, sizes, free)`` of ``reshape(x, sizes)``: the input's node, each size as a
    monomial (``monomial``; None at the ``-1``) and the position of the ``-1`` (None
    without one); Stop at any other form or size."""
    if len(node.args) != 2 or node.keywords:
        raise Stop  # the frontend's error
    s = node.args[1]
    items = s.elts if isinstance(s, ast.Tuple) else [s]
    sizes, free = [], None
    for k, it in enumerate(items):
        if isinstance(it, ast.UnaryOp) and literal_int(it) == -1 and free is None:
            sizes.append(None)
            free = k
        else:
            sizes.append(monomial(it, dims))
    return node.args[0], sizes, free


def monomial(node, dims) -> tuple:
    """A size ``node`` as ``(int, names)``: a positive int literal, a name of ``dims``, or
    a product of them, each name at most once (``names`` sorted); Stop otherwise."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        if not 0 < node.value < 2**31:
            raise Stop
        return node.value, ()
    if isinstance(node, ast.Name) and node.id in dims:
        return 1, (node.id,)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        (a, left), (b, right) = monomial(node.left, dims), monomial(node.right, dims)
        return product([(a, left), (b, right)])
    raise Stop


def product(terms) -> tuple:
    """The product of monomials; Stop where a name would be squared."""
    coefficient, names = 1, []
    for c, n in terms:
        coefficient *= c
        names += n
    if len(set(names)) != len(names):
        raise Stop
    return coefficient, tuple(sorted(names))


def of_shape(shape: tuple) -> tuple:
    """The size of a value of ``shape`` (names and ints) as a monomial; Stop for a
    dimension that is an expression (``n - 1``) or a name twice."""
    terms = []
    for d in shape:
        if isinstance(d, int):
            terms.append((d, ()))
        elif d.isidentifier():
            terms.append((1, (d,)))
        else:
            raise Stop
    return product(terms)


def size_text(m: tuple):
    """A monomial as the frontend writes the size: an int, a name, ``3 * n``,
    ``C * H * W``."""
    coefficient, names = m
    if not names:
        return coefficient
    parts = ([str(coefficient)] if coefficient != 1 else []) + list(names)
    return " * ".join(parts)


def reshaped_at(node: ast.Call, shape: tuple, sizes: list, free) -> tuple:
    """The shape of ``reshape(x, ...)`` of an ``x`` of ``shape`` with ``sizes``
    (``reshape_items``): the ``-1`` solved where the other sizes divide ``x``'s (else
    Mismatch at the sizes, ``call_reshape``'s words); else sizes of the same product
    as ``x``'s (else Mismatch at the call, the record's words)."""
    total = of_shape(shape)
    if free is not None:
        known = product([m for m in sizes if m is not None])
        left = Counter(total[1])
        left.subtract(known[1])
        if total[0] % known[0] or any(v < 0 for v in left.values()):
            into = ast.unparse(node.args[1])
            raise Mismatch(node.args[1], not_reshaped(written(shape), into))
        names = tuple(sorted(left.elements()))
        sizes = list(sizes)
        sizes[free] = (total[0] // known[0], names)
    new = tuple(size_text(m) for m in sizes)
    if product(sizes) != total:
        raise Mismatch(node, "reshape: " + not_reshaped(written(shape), written(new)))
    return new
