"""SymPy matrix expressions -> graph IR: ``MatrixSymbol`` inputs are 2-D parameters (a
column vector ``MatrixSymbol("x", 4, 1)`` is ``(4, 1)``), ``W*x`` is ``W @ x``, ``x.T`` a
transpose, ``HadamardProduct`` an elementwise product, ``X[i, j]`` (integer ``i``, ``j``) an
element, ``Trace`` the sum of the diagonal (of a product ``A*B``: ``sum(A * B.T)``, without
the product), ``Inverse`` (``X.I``, ``X**-1``) ``inv`` and ``Determinant`` ``det``. ``applyfunc`` is lowered by ``convert`` (its body is scalar SymPy)."""

from __future__ import annotations

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from ..core.ir import Builder

SUPPORTED = (
    sympy.MatrixSymbol,
    sympy.MatAdd,
    sympy.MatMul,
    sympy.Transpose,
    sympy.HadamardProduct,
    sympy.HadamardPower,
    sympy.MatPow,
    MatrixElement,
    sympy.Trace,
    sympy.Inverse,
    sympy.Determinant,
    ElementwiseApplyFunction,
)
ELEMENT = (("i", 0), ("i", 0))  # the one element of a 1x1 matrix, [0, 0]


def is_matrix_node(e) -> bool:
    """Whether ``e`` is a matrix expression or a scalar one that takes a matrix (``Trace``,
    ``X[i, j]``, ``Determinant``): what this module lowers, or names as unsupported."""
    return bool(getattr(e, "is_Matrix", False)) or any(
        getattr(a, "is_Matrix", False) for a in e.args
    )


def matrix_problem(e) -> str | None:
    """What ``convert_matrix`` cannot lower at the matrix node ``e`` itself, or None
    (a ``MatrixSymbol`` is checked against the inputs by the caller)."""
    if not isinstance(e, SUPPORTED):
        return f"unsupported matrix operation {type(e).__name__}"
    if isinstance(e, sympy.MatPow):
        k = e.args[1]
        if not (k.is_Integer and k != 0):
            return (
                f"matrix power with exponent {k}: only nonzero integer powers are "
                "supported"
            )
    if isinstance(e, MatrixElement):
        bad = [i for i in e.args[1:] if not i.is_Integer]
        if bad:
            return f"element index {bad[0]} is not a constant integer"
    if isinstance(e, ElementwiseApplyFunction):
        f = e.function
        if not isinstance(f, sympy.Lambda) or len(f.variables) != 1:
            return "applyfunc of a function that is not of one variable"
        if not f.expr.has(f.variables[0]):
            return "applyfunc of a constant function (its value has no matrix shape)"
    return None


def checked_args(e) -> tuple:
    """The subexpressions of matrix node ``e`` to check (not a symbol's name and sizes,
    nor an element's indices; an ``applyfunc``'s body with its variable)."""
    if isinstance(e, sympy.MatrixSymbol):
        return ()
    if isinstance(e, MatrixElement):
        return (e.args[0],)
    if isinstance(e, ElementwiseApplyFunction) and isinstance(e.function, sympy.Lambda):
        return (e.expr, e.function.expr)
    return e.args


def share_transposes(expr, subexpressions: list):
    """``expr`` with each matrix sum or product whose transpose is also among its
    ``subexpressions`` written as ``Transpose`` of that one, so both are one value:
    SymPy's ``(W*x - y).T`` is ``x.T*W.T - y.T``, which otherwise makes ``W @ x`` twice.
    Of the two, the one with fewer transposes (then the shorter print) is kept."""
    present = set(subexpressions)
    replace = {}
    for e in subexpressions:
        if isinstance(e, (sympy.MatAdd, sympy.MatMul)):
            t = e.T
            if t != e and t in present and orientation(t) < orientation(e):
                replace[e] = sympy.Transpose(t)
    return expr.xreplace(replace) if replace else expr


def orientation(e) -> tuple:
    """The order in which ``share_transposes`` prefers ``e`` or its transpose."""
    return e.count(sympy.Transpose), len(sympy.sstr(e)), sympy.sstr(e)


def matmul_parts(e) -> tuple:
    """``c*A*B``'s scalar coefficient (None when there is none, -1 for a sign) and its
    matrices."""
    scalars = [a for a in e.args if not a.is_Matrix]
    mats = [a for a in e.args if a.is_Matrix]
    return (sympy.Mul(*scalars) if scalars else None), mats


def trace_parts(e) -> tuple | None:
    """``Trace(c*A*B*C)`` as ``(c, A, B*C)``; ``Trace(A**k)`` as ``(None, A, A**(k-1))``;
    None when the argument is not a product of matrices."""
    m = e.args[0]
    if isinstance(m, sympy.MatMul):
        coeff, mats = matmul_parts(m)
        if len(mats) >= 2:
            rest = mats[1] if len(mats) == 2 else sympy.MatMul(*mats[1:])
            return coeff, mats[0], rest
    if type(m) is sympy.MatPow and m.args[1].is_Integer and m.args[1] >= 2:
        base, k = m.args
        return None, base, base if k == 2 else sympy.MatPow(base, k - 1)
    return None


def matrix_operands(e) -> tuple:
    """The subexpressions ``convert_matrix`` reads to build ``e``, in order (a sum's
    subtracted term read positive, as SymPy prints it: ``W*x - y`` reads ``y``)."""
    if isinstance(e, sympy.MatrixSymbol):
        return ()
    if isinstance(e, sympy.MatMul):
        coeff, mats = matmul_parts(e)
        return tuple(mats) if coeff is None or coeff == -1 else (coeff, *mats)
    if isinstance(e, sympy.MatAdd):
        first, *rest = e.as_ordered_terms()
        return (first,) + tuple(-a if a.could_extract_minus_sign() else a for a in rest)
    if isinstance(
        e,
        (
            MatrixElement,
            sympy.MatPow,
            ElementwiseApplyFunction,
            sympy.Inverse,
            sympy.Determinant,
        ),
    ):
        return (e.args[0] if not isinstance(e, ElementwiseApplyFunction) else e.expr,)
    if isinstance(e, sympy.Trace):
        parts = trace_parts(e)
        if parts is not None:
            return tuple(p for p in parts if p is not None and p != -1)
    return e.args


def convert_matrix(b: Builder, e, memo) -> int:
    """One matrix node to IR, its operands already converted in ``memo``."""
    if isinstance(e, sympy.MatMul):
        coeff, mats = matmul_parts(e)
        acc = chain(b, [memo[m] for m in mats])
        if coeff is None:
            return acc
        return b.neg(acc) if coeff == -1 else b.mul(memo[coeff], acc)
    if isinstance(e, sympy.MatAdd):
        first, *rest = e.as_ordered_terms()
        acc = memo[first]
        for a in rest:
            if a.could_extract_minus_sign():
                acc = b.sub(acc, memo[-a])
            else:
                acc = b.add(acc, memo[a])
        return acc
    if isinstance(e, sympy.Transpose):
        return b.emit("transpose", memo[e.args[0]], axes=(1, 0))
    if isinstance(e, sympy.HadamardProduct):
        acc = memo[e.args[0]]
        for a in e.args[1:]:
            acc = b.mul(acc, memo[a])
        return acc
    if isinstance(e, (sympy.Inverse, sympy.Determinant)):
        op = "inv" if isinstance(e, sympy.Inverse) else "det"
        return b.emit(op, memo[e.args[0]])
    if isinstance(e, sympy.MatPow):
        base = memo[e.args[0]]
        if int(e.args[1]) < 0:  # X**-k = inv(X)**k
            base = b.emit("inv", base)
        acc = base
        for _ in range(abs(int(e.args[1])) - 1):
            acc = b.emit("matmul", acc, base)
        return acc
    if isinstance(e, MatrixElement):
        index = tuple(("i", int(i)) for i in e.args[1:])
        return b.emit("getitem", memo[e.args[0]], index=index)
    if isinstance(e, sympy.Trace):
        return convert_trace(b, e, memo)
    raise AssertionError(f"matrix node {type(e).__name__} is checked before lowering")


SYMBOLIC_SIZE = 4096  # what a size named by a symbol counts as when ordering a product


def chain(b: Builder, factors: list) -> int:
    """The product of the matrix nodes ``factors`` in the order of fewest scalar
    multiplications (the matrix-chain order; SymPy flattens ``A*(B*x)`` to ``A*B*x``, so
    the parenthesization is not the user's): ``A*B*x`` is ``A @ (B @ x)``. Ties go left
    to right, as ``@`` reads; a symbolic size counts as ``SYMBOLIC_SIZE``."""
    k = len(factors)
    sizes = [size(b.shape(factors[0])[0])] + [size(b.shape(f)[1]) for f in factors]
    cost = {(i, i): (0, None) for i in range(k)}
    for span in range(1, k):
        for i in range(k - span):
            j = i + span
            cost[i, j] = min(
                (
                    cost[i, m][0]
                    + cost[m + 1, j][0]
                    + sizes[i] * sizes[m + 1] * sizes[j + 1],
                    -m,  # the latest split: left to right on a tie
                )
                for m in range(i, j)
            )
    return product(b, factors, cost, 0, k - 1)


def product(b: Builder, factors: list, cost: dict, i: int, j: int) -> int:
    if i == j:
        return factors[i]
    m = -cost[i, j][1]
    left = product(b, factors, cost, i, m)
    return b.emit("matmul", left, product(b, factors, cost, m + 1, j))


def size(d) -> int:
    """A dimension as a number for ordering products (a symbol as ``SYMBOLIC_SIZE``)."""
    if isinstance(d, int):
        return d
    return int(d.subs({s: SYMBOLIC_SIZE for s in d.free_symbols}))


def convert_trace(b: Builder, e, memo) -> int:
    """``trace(A @ R)`` as ``sum(A * R.T)`` (no product made); another square ``M`` as
    the sum of ``M[arange(k), arange(k)]`` (``M[0, 0]`` when it is 1x1)."""
    parts = trace_parts(e)
    if parts is not None:
        coeff, first, rest = parts
        rt = b.emit("transpose", memo[rest], axes=(1, 0))
        acc = b.emit("sum", b.mul(memo[first], rt), axis=None, keepdims=False)
        if coeff is None:
            return acc
        return b.neg(acc) if coeff == -1 else b.mul(memo[coeff], acc)
    m = memo[e.args[0]]
    k = b.shape(m)[0]
    if k == 1:
        return b.emit("getitem", m, index=ELEMENT)
    r = b.emit("arange", n=k)
    diag = b.emit("getitem", m, r, r, index=(("a", 1), ("a", 2)))
    return b.emit("sum", diag, axis=None, keepdims=False)
