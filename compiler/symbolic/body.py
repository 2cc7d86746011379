"""SymPy view of elementwise subgraphs: bodies of fused nodes and their local gradients.

A fused node carries its body as a small graph (``Body``: a tuple of entries in the
IR's own vocabulary), so its forward prints exactly as the formula reads. SymPy
derives and simplifies the local gradient of the body, preferring a form that
reuses the node's own output (``sigmoid -> y * (1 - y)``, ``exp -> y``), and the
result is turned back into a body for printing. Stable primitives stay opaque
functions here (``sigmoid``, ``softplus``, ``log1p``), so simplification never
trades them for an overflowing formula.
"""

from __future__ import annotations

import functools

import sympy
from sympy.codegen.cfunctions import expm1

from ..core.ir import reachable, run_body
from ..core.prim import PRIMS
from ..ops.sympy_functions import sigmoid

# The SymPy function of each fusible op (op -> callable, ``Prim.sym``) and the SymPy
# classes read back as ops (class -> op, ``Prim.sym_read``): derived from the records.
SYMPY_OF = {name: p.sym for name, p in PRIMS.items() if p.fusible}
OP_OF = {cls: name for name, p in PRIMS.items() for cls in p.sym_read}
# Functions near a constant where they flatten out (expm1 near -1): a sum of such a value
# and a constant cancels (expm1(x) + 1 for exp(x)). sigmoid and tanh keep the lecture's
# s * (1 - s) and 1 - y**2, as JAX writes them (README, "Conventions").
FLAT = (expm1,)
FUSIBLE = tuple(SYMPY_OF)
MAX_OPS = 40


def arg_symbols(n: int) -> list[sympy.Symbol]:
    """The symbols standing for a body's inputs: a0, a1, ..."""
    return [sympy.Symbol(f"a{k}", real=True) for k in range(n)]


OUT = sympy.Symbol("y", real=True)
UPSTREAM = sympy.Symbol("_g", real=True)  # sorts first: products read g * ...


def body_to_sympy(body: tuple, inputs: list) -> sympy.Expr:
    """The SymPy expression of a body over the given input expressions."""
    return run_body(body, inputs, sympy_entry)


def uncancelled(body: tuple, nargs: int) -> sympy.Expr | None:
    """``body_to_sympy`` over ``arg_symbols(nargs)``, or None where SymPy, building
    ``body``, cancels a factor or a term of one operand of a ``mul``, ``div``, ``add`` or
    ``sub`` against the other's (``x / x`` is 1, ``x * y / x`` is ``y``, ``x - x`` is 0),
    or evaluates a function of an operand to something that no longer holds it
    (``exp(log(x))`` and ``sqrt(x) ** 2`` are ``x``; a power of a product, ``(x * y) **
    2``, is the product of the powers, which may overflow where it does not, as SymPy's
    other reassociations): NumPy's NaN where the value is 0 / 0, inf - inf or outside a
    domain (``log(-1)``) would not reach the fused gradient. One walk of the body: the
    value is the one ``derivable`` reads."""
    found: list = []
    value = run_body(body, arg_symbols(nargs), functools.partial(noting_cancels, found))
    return None if found else value


def noting_cancels(found: list, op: str, args: list, attrs: tuple) -> sympy.Expr:
    """``sympy_entry``, appending ``op`` to ``found`` where its operands cancel
    (``opposed``) or its value no longer holds an operand."""
    if op in ("mul", "div", "add", "sub") and opposed(op, *args):
        found.append(op)
    value = sympy_entry(op, args, attrs)
    if op not in ("mul", "div", "add", "sub", "neg") and not all(
        kept(value, a) or (op == "pow" and a.is_Mul) for a in args
    ):  # exp(log(x)) is x, tanh(arctanh(x)) is x, sqrt(x) ** 2 is x
        found.append(op)
    return value


def kept(value: sympy.Expr, a: sympy.Expr) -> bool:
    """Whether SymPy's ``value`` of a function of ``a`` still holds ``a`` (or ``-a``:
    ``cos(-x)`` is ``cos(x)``, ``abs(-x)`` is ``Abs(x)``), or ``a`` is a number or a
    ``where`` (SymPy applies the function to each branch)."""
    if a.is_Number or isinstance(a, sympy.Piecewise):
        return True
    return value.has(a) or value.has(-a)


def opposed(op: str, a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether a factor (``mul``, ``div``) or a term (``add``, ``sub``) of ``a`` meets
    the same one in ``b`` with the exponent or coefficient that takes from it (``x`` and
    ``x`` in ``x / x`` or ``x - x``; ``x`` and ``1/x`` in ``x * (1/x)``), or a factor
    with a fractional exponent (``sqrt(x) * sqrt(x)`` is ``x``, NaN below 0 in NumPy);
    ``x * x`` and ``x + x`` add up and stay."""
    sign = -1 if op in ("div", "sub") else 1
    if op in ("mul", "div"):
        pa, pb = a.as_powers_dict(), b.as_powers_dict()
    else:
        pa, pb = a.as_coefficients_dict(), b.as_coefficients_dict()
    shared = [(v, pb[k]) for k, v in pa.items() if k in pb and not k.is_Number]
    whole = op in ("add", "sub") or all(
        v.is_integer and w.is_integer for v, w in shared
    )
    return not whole or any(
        (sign * v * w).is_nonnegative is not True for v, w in shared
    )


def sympy_entry(op: str, args: list, attrs: tuple) -> sympy.Expr:
    """One body entry as SymPy: its function of its arguments, or the exact constant."""
    if op != "const":
        return SYMPY_OF[op](*args)
    v = dict(attrs)["value"]
    if v != v or abs(v) == float("inf"):  # a folded 1 / 0: oo or nan, never derivable
        return sympy.Float(v)
    if v == int(v) and abs(v) < 2**53:
        return sympy.Integer(int(v))
    return sympy.Float(repr(v), 17)


def float64_number(op: str, values: list[float]) -> bool:
    """Whether SymPy's value of ``op`` of the constants ``values`` (each ``normal``) is
    the number NumPy computes at run time, to more digits (``sqrt(2.0)``): a real
    number that is ``normal`` and not 0; not where NumPy's is NaN, an infinity or a
    subnormal (``log(-1.0)``, SymPy's ``I*pi``; ``exp(1000.0)``; ``exp(-740.0)``), nor
    0, which SymPy would multiply away (``tanh(-0.0) * s`` is 0, NumPy's ``-0.0 * inf``
    NaN); nor where SymPy holds a number exactly that float64 would round before a
    function reads it (``log1p(5.7e-5)`` is ``log(18890545.../2**74)``, written back as
    ``np.log(1.0000571428571428)``: 1e-12 off)."""
    args = [sympy_entry("const", [], (("value", v),)) for v in values]
    exact = SYMPY_OF[op](*args)
    if any(q != sympy.Rational(float(q)) for q in exact.atoms(sympy.Rational)):
        return False  # a number float64 rounds: log1p(x) is log((1 + x) exactly)
    value = sympy.N(exact)
    return value.is_real is True and value != 0 and normal(float(value))


def normal(v: float) -> bool:
    """Whether ``v`` is 0 or a float64 of the normal range: no infinity, no NaN, no
    subnormal (which SymPy reads as its decimal: 1e-320 is 9.99989e-321 in float64)."""
    return v == 0.0 or 2.2250738585072014e-308 <= abs(v) <= 1.7976931348623157e308


def freeze_body(nodes, root: int, compact: bool = False):
    """Nodes of a builder (inputs as ``input_ref``) as a hashable body ending in ``root``.

    With ``compact``, inputs the body does not use are dropped and renumbered; returns
    ``(body, used)`` where ``used`` lists the original input numbers kept.
    """
    keep = sorted(reachable(nodes, [root]))
    index = {old: new for new, old in enumerate(keep)}
    used = sorted(nodes[i].attr("k") for i in keep if nodes[i].op == "input_ref")
    body = []
    for old in keep:
        n = nodes[old]
        if n.op == "input_ref":
            k = used.index(n.attr("k")) if compact else n.attr("k")
            body.append(("input", (), (("k", k),)))
        else:
            body.append((n.op, tuple(index[a] for a in n.args), n.attrs))
    return (tuple(body), used) if compact else tuple(body)


@functools.lru_cache(maxsize=4096)
def local_gradient(body: tuple, nargs: int, k: int) -> tuple[sympy.Expr, bool]:
    """d body / d input k, simplified; returns (expression over a0.. and y, uses y)."""
    a = arg_symbols(nargs)
    f = body_to_sympy(body, a)
    d = sympy.diff(f, a[k])
    # sigmoid(-x) = 1 - sigmoid(x): lets SymPy see that y (1 - s) - (1 - y) s is y - s.
    flipped = d.replace(
        lambda e: isinstance(e, sigmoid) and e.args[0].could_extract_minus_sign(),
        lambda e: 1 - sigmoid(-e.args[0]),
    )
    candidates = [d, sympy.factor_terms(d)]
    if small_powers(d):
        candidates.append(sympy.expand(flipped))
        if sympy.count_ops(d) <= simplify_budget(d):
            candidates.append(simplified(d))
    if f.free_symbols and not f.is_Symbol:
        candidates += [c.subs(f, OUT) for c in list(candidates)]
        candidates += [sympy.factor_terms(c) for c in list(candidates)]
    printable = [c for c in candidates if is_printable(c)]
    # Prefer forms whose function calls the forward already computes (they are shared with
    # it after expansion), then the fewest operations.
    known = {e for e in sympy.preorder_traversal(f) if isinstance(e, sympy.Function)}

    flat_out = any(isinstance(e, FLAT) for e in sympy.preorder_traversal(f))

    def cost(c):
        new = {
            e
            for e in sympy.preorder_traversal(c)
            if isinstance(e, sympy.Function) and e not in known
        }
        return (
            cancellations(c, flat_out),
            len(new),
            sympy.count_ops(c),
            len(sympy.srepr(c)),
        )

    best = min(printable or [d], key=cost)
    return best, OUT in best.free_symbols


# Operations up to which ``sympy.simplify`` is tried on a local gradient; with
# trigonometric functions its ``trigsimp`` grows fast with size (seconds at 20 operations
# in a deep SymPy chain), so the budget there is smaller.
SIMPLIFY_OPS = 25
SIMPLIFY_OPS_TRIG = 12
#: the largest integer exponent of a local gradient that is expanded or simplified
MAX_EXPANDED_POWER = 8


def simplified(d: sympy.Expr) -> sympy.Expr:
    """``sympy.simplify(d)`` with the argument of each trigonometric or hyperbolic call
    that is not a symbol held as one (``tanh(a1 - a0 + 2)`` as ``tanh(_u0)``), then put
    back. SymPy's ``trigsimp`` expands such functions of sums with no bound on its work:
    ``1 / sqrt(tanh(a1 - a0 + 2) + 1.5)``, seven operations, ran for minutes (formula
    seed 10214 of ``tests/language_gen.py``); the identities a local gradient gains from act
    on the call, not inside its argument. The held symbols are numbered in the order of
    ``sympy.preorder_traversal``, so the result is deterministic."""
    held: dict[sympy.Expr, sympy.Symbol] = {}
    for e in sympy.preorder_traversal(d):
        if isinstance(e, TRIG_LIKE) and not e.args[0].is_Symbol:
            held.setdefault(e.args[0], sympy.Symbol(f"_u{len(held)}", real=True))
    if not held:
        return sympy.simplify(d)
    back = {u: arg for arg, u in held.items()}
    return sympy.simplify(d.xreplace(held)).xreplace(back)


#: the calls ``simplified`` holds the compound arguments of
TRIG_LIKE = (
    sympy.functions.elementary.trigonometric.TrigonometricFunction,
    sympy.functions.elementary.hyperbolic.HyperbolicFunction,
)


def small_powers(d) -> bool:
    """Whether every integer exponent in ``d`` is at most ``MAX_EXPANDED_POWER`` in size,
    so that ``local_gradient`` may expand and simplify it: ``expand`` multiplies a power
    of a sum out term by term, ``(a0 - a1**2 + a2) ** k`` in about k**2 / 50 ms, and the
    parser fuzz's ``(x[1:] - x[:-1] ** 2) ** 21_000`` compiled for minutes."""
    return all(
        not (p.exp.is_Integer and abs(p.exp) > MAX_EXPANDED_POWER)
        for p in d.atoms(sympy.Pow)
    )


def simplify_budget(d) -> int:
    """How many operations ``d`` may have for ``local_gradient`` to try ``simplify``."""
    if d.has(sympy.sin, sympy.cos, sympy.tan):
        return SIMPLIFY_OPS_TRIG
    return SIMPLIFY_OPS


def cancellations(expr, flat_out: bool) -> int:
    """How many sums in ``expr`` hold two terms whose ratio is a number times a power of a
    ``FLAT`` function (or, with ``flat_out``, of the output ``y``): ``1 - sigmoid(x)``,
    ``y - y * sigmoid(x)``, ``2 - 2 * y**2``, ``expm1(x) + 1``. Such a sum cancels where the
    function flattens out to a constant, and loses the relative precision of a small result.
    """

    def flat_ratio(r) -> bool:
        coeff, rest = r.as_coeff_Mul()
        base = rest.as_base_exp()[0]
        return coeff.is_Number and (
            isinstance(base, FLAT) or (flat_out and base == OUT)
        )

    found = 0
    for e in sympy.preorder_traversal(expr):
        if isinstance(e, sympy.Add):
            terms = e.args
            found += any(
                flat_ratio(terms[j] / terms[k])
                for k in range(len(terms))
                for j in range(k + 1, len(terms))
            )
    return found


def is_printable(expr) -> bool:
    """Whether ``expr`` uses only operations gradc can print."""
    for e in sympy.preorder_traversal(expr):
        if isinstance(e, (sympy.Symbol, sympy.Number, sympy.Add, sympy.Mul, sympy.Pow)):
            continue
        if e in (sympy.pi, sympy.E) or type(e) in OP_OF or isinstance(e, sympy.Abs):
            continue
        return False
    return True


def factored(expr) -> tuple:
    """``expr`` as ``(number, {base: exponent})`` over its multiplicative factors."""
    number, out = sympy.Integer(1), {}
    for f in sympy.Mul.make_args(sympy.factor_terms(expr)):
        if f.is_Number:
            number *= f
            continue
        base, exp = f.as_base_exp()
        out[base] = out.get(base, 0) + exp
    return number, out


def factors(expr) -> dict:
    """``expr`` as {base: exponent} over its multiplicative factors (numbers dropped)."""
    return factored(expr)[1]


def without_common(expr, common) -> sympy.Expr:
    """``expr / common`` for ``common`` made of factors of ``expr`` (``common_factor``),
    taken off factor by factor, so no product of sums is multiplied out. ``sympy.cancel``
    expanded ``(1 - tanh(u)**2) * (2 - 2*tanh(v)**2) * ...`` into terms that cancel where
    a tanh saturates: rounding of the terms' size (3e-14 in the local gradient)
    gave -3.5e-15 for a gradient of 1e-76 (formula seed 96780 of
    ``tests/language_gen.py``)."""
    number, powers = factored(expr)
    for base, exp in factors(common).items():
        powers[base] = powers[base] - exp
    return number * sympy.Mul(*(base**exp for base, exp in powers.items()))


def common_factor(exprs: list) -> sympy.Expr:
    """The product of the factors all ``exprs`` share (with the smallest positive power)."""
    if not exprs:
        return sympy.Integer(1)
    shared = factors(exprs[0])
    for e in exprs[1:]:
        fe = factors(e)
        shared = {
            base: min(exp, fe[base])
            for base, exp in shared.items()
            if base in fe
            and exp.is_positive
            and fe[base].is_positive
            and (exp - fe[base]).is_Integer
        }
    result = sympy.Integer(1)
    for base in sorted(shared, key=sympy.default_sort_key):
        result *= base ** shared[base]
    return result
