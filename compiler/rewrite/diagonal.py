"""NumPy-target rules: a diagonal scaling added to a stack of matrix products is folded
into the matrices.

ADBench's GMM writes ``Q_k x = diag(exp(q_k)) x + L_k x`` as ``Qdiags * xcentered +
einsum("ijk,mik->mij", L, xcentered)``: a product, a sum and a second pass over the
(N, K, D) array beside the BLAS products. With the diagonal moved into the (K, D, D)
matrices, one BLAS product per component computes it (bench/README.md "Batch-major
layout"). The products then add ``a_j x_j`` inside each row's dot product instead of after
it: the same terms in another order, and ``L_jj + a_j`` made first. Another order may
overflow where the formula's does not (a rewrite may change rounding, never overflow
behaviour), so the result is ``guarded(bound < LIMIT, fast, slow)`` as for a sum moved
inside linear maps (``linear_sums.below_limit``): ``n * |x| * (|L| + |a|)`` bounds every entry,
product and partial sum of both orders; past it, or for nan or inf, the formula's order
runs.
"""

from __future__ import annotations

from ..ops.common import count
from ..ops.linalg import batched_product, einsum_parts
from .engine import RuleSet, as_written
from .linear_sums import below_limit, magnitude

#: this module's rules, in order (installed by ``gradc.rewrite``); ``@rule(op)`` adds one
RULE_SET = RuleSet()
rule = RULE_SET.rule


# a * x + einsum("ijk,mik->mij", L, x) -> einsum("ijk,mik->mij", L + diag(a), x), where
# n * |x| * (|L| + |a|) shows that neither order overflows; as written otherwise
@rule("add", "numpy")
def diagonal_into_products(b, args, attrs):
    if attrs or len(args) != 2:
        return None
    for scaled, product in (args, args[::-1]):
        found = diagonal_parts(b, scaled, product)
        if found is not None:
            a, x = found
            matrices = b[product].args[1 - b[product].args.index(x)]
            size = b.emit("add", magnitude(b, matrices), magnitude(b, a))
            n = count(b, b.shape(matrices), (-1,))
            total = b.mul(b.mul(n, magnitude(b, x)), size)
            fast = folded(b, product, a, x)
            return below_limit(b, total, fast, as_written(b, "add", *args))
    return None


def diagonal_parts(b, scaled: int, product: int) -> tuple | None:
    """``(a, x)`` when ``scaled = a * x`` and ``product`` is a stack of matrix products
    ``einsum(spec, L, x)`` (either operand order) whose matrices map x's letter ``k`` to
    the output's ``j`` (``diagonal_letters``), ``a`` varying only along L's letters but
    ``k`` (``scales_along``); both read only here (else they are computed anyway). Else
    None."""
    s, p = b[scaled], b[product]
    if s.op != "mul" or s.attrs or p.op != "einsum" or len(p.args) != 2:
        return None
    if b.users is None or b.users.get(scaled) != 1 or b.users.get(product) != 1:
        return None
    for a, x in (s.args, s.args[::-1]):
        if x in p.args and b.shape(x) == p.shape == s.shape and b[a].dtype == "float":
            letters = diagonal_letters(p.attr("spec"), p.args.index(x))
            if letters and scales_along(b.shape(a), p.shape, *letters):
                return a, x
    return None


def diagonal_letters(spec: str, at: int) -> tuple | None:
    """For a stack of matrix products ``spec`` whose operand ``at`` is the vectors:
    ``(matrix letters, output letters, j, k)``, where the output has ``j`` where the
    vectors have ``k`` and the matrices hold both; None for any other spec."""
    if batched_product(spec) is None:
        return None
    ins, out = einsum_parts(spec)
    vec, mat = ins[at], ins[1 - at]
    if len(vec) != len(out):
        return None
    moved = [t for t in range(len(out)) if vec[t] != out[t]]
    if len(moved) != 1:
        return None
    j, k = out[moved[0]], vec[moved[0]]
    if j in vec or k in out or j not in mat or k not in mat:
        return None
    return mat, out, j, k


def scales_along(a_shape: tuple, out_shape: tuple, mat, out, j, k) -> bool:
    """Whether ``a``, broadcast against the output (aligned right, no axis of 1), holds
    one entry per matrix row: its letters are the matrices' but ``k``, in their order,
    and the matrices' last two letters are ``j`` and ``k``."""
    if not a_shape or a_shape != out_shape[len(out_shape) - len(a_shape) :]:
        return False
    a_letters = out[len(out) - len(a_shape) :]
    unique = len(set(mat)) == len(mat)
    return unique and set(mat[-2:]) == {j, k} and a_letters == mat.replace(k, "")


def folded(b, product: int, a: int, x: int) -> int:
    """``einsum(spec, L + where(eye, a, 0), x)``: ``a`` placed on each matrix's diagonal
    (selected, not multiplied by the identity: ``inf * 0`` would put nan beside it)."""
    p = b[product]
    spec = p.attr("spec")
    at = p.args.index(x)
    mat, out, j, k = diagonal_letters(spec, at)
    n = b.shape(x)[out.index(j)]
    on_diagonal = b.emit("eq", b.emit("eye", n=n), b.const(1.0))
    column = b.emit("expand_dims", a, axis=(mat.index(k),))
    diag = b.emit("where", on_diagonal, column, b.const(0.0))
    matrices = b.emit("add", p.args[1 - at], diag)
    operands = (x, matrices) if at == 0 else (matrices, x)
    return b.emit("einsum", *operands, spec=spec)
