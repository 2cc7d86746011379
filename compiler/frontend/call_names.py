"""Calls of unknown functions, found on the syntax tree before anything is lowered.

``statement_call_error`` needs nothing but ``ast`` and ``CALL_NAMES`` (the names a
formula can call, stored here as data), so the command line reports ``foo(x)`` before
it imports SymPy and the compiler (``cli/main.py`` ``precheck``; bench/README.md,
start-up), and ``text.parse`` runs the same check first, so the API reports the same
error.

``CALL_NAMES`` is a copy: the names come from the op records (``surface_names``) and the
frontend's call table, ``calls.BUILTIN_CALLS``; tests/test_name_precheck.py checks that
the two are equal.

The statements are walked by ``value_names.in_statements``, the one walk of the
unknown-name and unknown-function checks: it follows the order in which the frontend
meets a file's errors as far as it can without shapes, stopping at the first statement,
decorator or function the frontend refuses before it lowers what follows (an
unsupported statement, an unknown decorator, a body that does not end with ``return``,
an assignment to a built-in name). An unknown function is reported before the errors
that need shapes (a shape mismatch, a wrong argument), wherever they are in the file.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .call_forms import stops_before
from .call_signatures import unexpected
from .refusals import refused_at
from .source import Source, did_you_mean

#: every name ``calls.BUILTIN_CALLS`` has once the frontend is imported (data, so that
#: reading it imports nothing; tests/test_name_precheck.py compares the two)
CALL_NAMES = frozenset(
    {
        "abs", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
        "avg_pool2d", "cholesky", "clip", "concatenate", "conv2d", "cos", "cosh",
        "cumsum", "det", "diag", "dot", "einsum", "erf", "exp", "expand_dims", "expm1",
        "flip", "inv", "log", "log10", "log1p", "log2", "log_softmax", "logaddexp",
        "logsumexp", "max", "max_pool2d", "maximum", "mean", "min", "minimum",
        "moveaxis", "norm", "ones", "ones_like", "outer", "relu", "reshape", "sigmoid",
        "sign", "sin", "sinh", "softmax", "softplus", "solve", "sqrt", "square",
        "squeeze", "stack", "std", "sum", "swapaxes", "tan", "tanh", "trace",
        "transpose", "var", "where", "zeros", "zeros_like",
    }
)  # fmt: skip


#: the names a formula uses that are neither operations nor types: a formula cannot
#: assign them (``statements.check_reserved``) nor define them (``text.check_new_name``)
BUILT_IN_NAMES = frozenset({"np", "numpy", "arange", "fuse", "wrt"})

#: every name a formula can neither assign nor define: the operations and the names above
BUILT_IN = CALL_NAMES | BUILT_IN_NAMES


def unassigned_error(node: ast.Name, src: Source) -> FormulaError:
    """The error for ``t += v`` (``-= *= /=``) where ``t`` holds no value yet."""
    return src.error(node, f"'{node.id}' is used before it is assigned")


def fixed_error(name: str, node, src: Source) -> FormulaError:
    """The error for assigning ``name`` (at ``node``) where it names a constant (the
    file's or a built-in one), a function or a dimension."""
    return src.error(
        node, f"cannot assign to '{name}': it names a constant, function or dimension"
    )


def reserved_error(name: str, node, src: Source) -> FormulaError | None:
    """The error for assigning ``name`` (at ``node``) where it is a built-in name: an
    operation or one of ``BUILT_IN_NAMES``; None for any other name."""
    if name in BUILT_IN:
        return src.error(node, f"cannot assign to '{name}': it is a built-in name")
    return None


#: NumPy's functions for Python's operators, taken with an ``np.``/``numpy.`` prefix only
#: (``np.multiply(a, b)`` is ``a * b``; a bare ``multiply`` stays free for a formula's own
#: function): the operator each is (``calls.numpy_operator`` lowers them)
NUMPY_OPERATORS = {
    "add": "+", "subtract": "-", "multiply": "*", "divide": "/", "true_divide": "/",
    "power": "**", "float_power": "**", "matmul": "@", "negative": "-",
}  # fmt: skip


#: NumPy's other spellings of the language's operations, taken with an ``np.``/``numpy.``
#: prefix only, as ``NUMPY_OPERATORS`` are (``np.average(x)`` is ``mean(x)``; a bare
#: ``average`` stays free for a formula's own function): ``calls.NUMPY_CALLS`` lowers
#: them (``numpy_calls.py``; tests/test_name_precheck.py compares the two)
NUMPY_CALL_NAMES = frozenset(
    {
        "absolute", "amax", "amin", "average", "column_stack", "deg2rad", "degrees",
        "diff", "exp2", "eye", "fabs", "full", "full_like", "hstack", "identity",
        "inner", "kron", "rad2deg", "radians", "ravel", "reciprocal", "repeat", "roll",
        "tensordot", "tile", "tril", "triu", "vdot", "vstack",
    }
)  # fmt: skip


#: NumPy 2's and ``math``'s short names of functions a formula writes NumPy's long way
SHORT_NAMES = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "atan2": "arctan2",
    "expit": "sigmoid",
}


_ROUNDING = (
    "rounding is piecewise constant (its gradient is 0 wherever it has one), so gradc "
    "does not compile it: round outside the formula and pass the result in"
)
_ORDER = "an order statistic is not compiled (`max(x)` and `min(x)` are)"
#: NumPy's functions the language does not have, and what to write instead (each
#: written form is compiled and compared with NumPy's in tests/test_name_precheck.py)
ALTERNATIVES = {
    "prod": "a product is a loop (`p = 1.0`, then `for i in range(n): p = p * x[i]`), "
    "or `exp(sum(log(x)))` where x > 0",
    "cumprod": "a running product is a loop over the axis",
    **dict.fromkeys(
        ("floor", "ceil", "round", "around", "rint", "trunc", "fix"), _ROUNDING
    ),
    "fmax": "write `maximum(x, y)` (a nan propagates)",
    "fmin": "write `minimum(x, y)` (a nan propagates)",
    "nansum": "write `sum(where(x == x, x, 0.0))` (x == x is False at nan)",
    "nanmean": "write `sum(where(x == x, x, 0.0)) / sum(where(x == x, 1.0, 0.0))`",
    "nan_to_num": "write `where(x == x, x, 0.0)` (x == x is False at nan)",
    "hypot": "write `sqrt(x ** 2 + y ** 2)`",
    "cbrt": "write `sign(x) * abs(x) ** (1 / 3)`",
    "heaviside": "write `where(x > 0, 1.0, 0.0)`",
    **dict.fromkeys(
        ("argmax", "argmin"), "an index has no gradient: `max(x)` is the value"
    ),
    **dict.fromkeys(("sort", "median", "percentile", "quantile"), _ORDER),
    **dict.fromkeys(
        ("float", "float64", "asarray", "array"),
        "values are float64 already: write the value itself",
    ),
    "slogdet": "write `log(abs(det(A)))`",
    **dict.fromkeys(
        ("shape", "size", "ndim"),
        "sizes are dimension names: in `x: Vector[n]`, write `n`",
    ),
    "linspace": "a grid of values is an input: pass it in as a parameter "
    "(`grid: Vector[n]`)",
    "lstsq": "write `solve(A.T @ A, A.T @ b)` (A of full column rank)",
    "pinv": "write `inv(A)` (A invertible) or `solve(A.T @ A, A.T)` (full column rank)",
}


def guess(name: str, candidates) -> str:
    """``did_you_mean``, where a short name (``asin``) is answered by the formula's own
    (``arcsin``), not by the closest spelling (``sin``), and a NumPy function the language
    lacks by what to write instead (``ALTERNATIVES``)."""
    if name in ALTERNATIVES and name not in candidates:
        return f"; {ALTERNATIVES[name]}"
    long = SHORT_NAMES.get(name)
    if long is not None and long in candidates:
        return f"; did you mean `{long}`?"
    return did_you_mean(name, candidates)


def unknown_text(name: str, candidates) -> str:
    """The message for a call of the unknown function ``name`` (bare, not ``np.name``):
    NumPy's name of an operator says how to write it, else a guess among ``candidates``."""
    if name in NUMPY_CALL_NAMES:
        return f"unknown function '{name}'; write NumPy's `np.{name}(...)`"
    if name == "len":  # of a value the function computed, or of a parameter it assigns
        return f"unknown function 'len'; {LEN_HINT}"
    op = NUMPY_OPERATORS.get(name)
    if op is not None:
        return (
            f"unknown function '{name}'; write the operator {op} or NumPy's "
            f"`np.{name}(...)`"
        )
    return f"unknown function '{name}'" + guess(name, candidates)


def plain_decorators(fn: ast.FunctionDef) -> bool:
    """Whether every decorator is ``@fuse`` or ``@wrt(...)`` (else the frontend stops)."""
    return all(
        (isinstance(d, ast.Name) and d.id == "fuse")
        or (
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Name)
            and d.func.id == "wrt"
        )
        for d in fn.decorator_list
    )


def statement_call_error(stmt, src: Source, names: tuple, fused: dict):
    """The first error at a call in ``stmt``, an assignment or return the frontend
    lowers (``value_names.in_statements`` walks the statements), with the place where
    the frontend meets it, as ``((line, column), error)``: a call of an unknown
    function (met at the call, before its arguments), or of a ``@fuse`` function whose
    body holds an error (``fused``: name -> its number of parameters and that error,
    met once the call's arguments are lowered). None when the frontend would stop at a
    call in it or at something before that call; False when it has neither.
    ``names``: what a call may name here (the operations, the functions defined above),
    the file's callable names (hints), each function's definition, the function's
    dimension names (``call_forms.stops_before``)."""
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
    pending = None  # a @fuse body's error, met after the arguments of its call
    for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
        at = src.place(node.lineno, node.col_offset)
        if pending is not None and pending[0] <= at:
            break
        name = called_name(node)
        if name is None:
            return None  # a method, math.exp(x), f(x)(y): another error first
        module = isinstance(node.func, ast.Attribute)  # np.f: the operations only
        known = CALL_NAMES | {"arange"} | NUMPY_OPERATORS.keys() | NUMPY_CALL_NAMES
        if name not in (known if module else names[0]):
            if stops_before(stmt, node, src, names[3]) or refused_at(node, src):
                return None  # the frontend refuses something first (`x // 2 + f(x)`,
                # `f(x, a=1, a=2)`)
            return at, unknown_error(node, name, src, names[1], names[2])
        if not module and name in fused:
            count, error = fused[name]
            if len(node.args) != count or not plain_call(node, stmt, src, names[3]):
                return None  # its arity's error, or the frontend stops in an argument
            end = src.place(node.end_lineno, node.end_col_offset)
            pending = (end, error) if pending is None else min(pending, (end, error))
    if pending is not None:
        return pending
    return None if stops_before(stmt, None, src, names[3]) else False


def plain_call(node: ast.Call, stmt, src: Source, dims) -> bool:
    """Whether the frontend lowers every argument of ``node``, a call of a ``@fuse``
    function in ``stmt``, with no error other than an unknown name or function (which
    ``statement_call_error`` and the name check find): none by keyword or unpacked,
    nothing refused in them or before the call (``call_forms.stops_before``)."""
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        return False
    if stops_before(stmt, node, src, dims):
        return False
    return not any(stops_before(a, None, src, dims) for a in node.args)


#: what ``len(h)`` says where it is no size (``shape_reads.py`` reads ``len(x)`` of a
#: parameter the function never rebinds as its first dimension)
LEN_HINT = (
    "sizes are dimension names: in `x: Vector[n]`, write `n` (`len(x)` stands for it "
    "only where `x` is a parameter the function never rebinds)"
)
#: what to write for a method the formula language has no function of (``{}``: the
#: object, as an operand)
METHOD_ALTERNATIVES = {
    "flatten": "write `reshape({}, -1)`",
    "ravel": "write `reshape({}, -1)`",
    "astype": "values are float64 already: write `{}` itself",
    "copy": "results own their memory: write `{}` itself",
    "item": "a Scalar is a value already: write `{}` itself",
}

#: the keywords of ``np.clip``'s bounds, lower then upper (NumPy 2.1 added min and max)
CLIP_KEYWORDS = (("a_min", "min"), ("a_max", "max"))


def clip_arguments(node: ast.Call, src: Source, name: str) -> tuple:
    """``(x, lo, hi)`` of ``clip(...)`` as syntax nodes (``calls.call_clip`` lowers them in
    that order, and the syntax-tree check reads them so); a bound that is not given or
    given as ``None`` is None. Each bound once, by position or by one keyword
    (``CLIP_KEYWORDS``), and at least one: else the error, before any is lowered."""
    if not 1 <= len(node.args) <= 3:
        raise src.error(
            node,
            f"{name}() takes an array and two bounds, got {len(node.args)} arguments",
        )
    given = [*node.args[1:], None, None][:2]
    for k in node.keywords:
        which = [i for i, keys in enumerate(CLIP_KEYWORDS) if k.arg in keys]
        if not which:
            raise unexpected(k, name, src)
        if given[which[0]] is not None:
            raise src.error(k, f"{name}() got its bound '{k.arg}' twice")
        given[which[0]] = k.value
    lo, hi = (
        None if isinstance(b, ast.Constant) and b.value is None else b for b in given
    )
    x = node.args[0]
    if lo is None and hi is None:
        raise src.error(
            node, f"{name}() without a bound is its input: write `{ast.unparse(x)}`"
        )
    return x, lo, hi


#: the ``np.linalg`` functions a formula calls as ``np.linalg.<name>`` (or ``<name>``)
LINALG_NAMES = frozenset({"cholesky", "det", "inv", "norm", "solve"})


def linalg(parts: list) -> bool:
    """Whether ``parts`` (a call's dotted name after ``np.``) is ``linalg.<name>`` of one
    of ``LINALG_NAMES``."""
    return len(parts) == 2 and parts[0] == "linalg" and parts[1] in LINALG_NAMES


def called_name(node: ast.Call) -> str | None:
    """The name ``calls.call_name`` gives the function of ``node`` (``f``, ``np.f``,
    ``np.linalg.norm``, ``np.linalg.inv``), or None where it raises (or may: an attribute of a value)."""
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    parts = []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if not isinstance(f, ast.Name) or f.id not in ("np", "numpy"):
        return None
    parts.reverse()
    return parts[-1] if len(parts) == 1 or linalg(parts) else None


def unknown_error(
    node: ast.Call, name: str, src: Source, callable_names, defs: dict
) -> FormulaError:
    """The error for a call of a name that is no operation and no function defined above
    (``calls.unknown_function`` raises it): ``np.foo(x)``, the function itself
    (recursion), one defined further down (``defs``: each function's definition), or a
    guess at the name among ``callable_names``."""
    f = node.func
    if isinstance(f, ast.Attribute):  # np.foo(x): the operations only
        return src.error(
            f,
            f"unknown function '{ast.unparse(f)[:60]}'"
            + guess(name, CALL_NAMES | NUMPY_CALL_NAMES),
        )
    later = defs.get(name)
    if later is not None and later.lineno <= node.lineno <= later.end_lineno:
        return src.error(f, f"'{name}' calls itself; recursion is not supported")
    if later is not None:
        return src.error(
            f,
            f"'{name}' is defined below, on line {later.lineno}: "
            "define it above its first use",
        )
    return src.error(f, unknown_text(name, callable_names))


def call_error(node: ast.Call, values, src: Source) -> FormulaError | None:
    """The error ``calls.call_name`` raises for the function of ``node`` before it lowers
    any argument, given the names usable as ``values``: a prefix other than ``np.``
    (``math.exp(x)``), a method (``x.dot(w)``), a call of anything but a name; None for
    ``f(...)``, ``np.f(...)``, ``numpy.f(...)`` and ``np.linalg.f(...)``."""
    f = node.func
    if isinstance(f, ast.Name):
        return None
    if isinstance(f, ast.Attribute):
        parts = [f.attr]
        v = f.value
        while isinstance(v, ast.Attribute):
            parts.append(v.attr)
            v = v.value
        if isinstance(v, ast.Name):
            parts.append(v.id)
            parts.reverse()
            if parts[0] in ("np", "numpy") and (len(parts) == 2 or linalg(parts[1:])):
                return None
            if parts[0] not in values:  # math.exp(x), not a method of a value
                return module_function_error(node, parts, src)
        return method_error(node, src)
    return src.error(node.func, f"unknown function '{ast.unparse(node.func)[:60]}'")


def module_function_error(
    node: ast.Call, parts: list[str], src: Source
) -> FormulaError:
    """The error for a call through a prefix other than ``np.`` (``math.exp(x)``,
    ``np.linalg.pinv(x)``): the operation's own name when there is one; random numbers
    (``np.random.randn``) are inputs."""
    name = ".".join(parts)[:60]
    if "random" in parts[:-1]:
        return src.error(
            node.func,
            f"unknown function '{name}': a formula is a function of its inputs; pass "
            "random values in as a parameter (`noise: Vector[n]`)",
        )
    if parts[-1] in CALL_NAMES:
        return src.error(
            node.func,
            f"unknown function '{name}'; write `{parts[-1]}(...)`: "
            "formula files use the built-in operations (`np.` prefixes "
            "are allowed)",
        )
    return src.error(
        node.func, f"unknown function '{name}'" + guess(parts[-1], CALL_NAMES)
    )


def operand(node) -> str:
    """``node`` as source text fit to be an operand of ``@`` (parenthesized unless atomic)."""
    text = ast.unparse(node)
    atomic = isinstance(
        node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)
    )
    return text if atomic else f"({text})"


def method_error(node: ast.Call, src: Source) -> FormulaError:
    """The error for a method call (``x.dot(w)``, ``X.mean(axis=0)``): the function form
    with the same arguments when there is one (``x @ w``, ``mean(X, axis=0)``)."""
    f = node.func
    call = ast.unparse(node)
    call = call if len(call) <= 60 else call[:57] + "..."
    head = f"method `{call}` is not supported"
    if f.attr in METHOD_ALTERNATIVES and not node.keywords:
        alternative = METHOD_ALTERNATIVES[f.attr].format(operand(f.value))
        return src.error(f, f"{head}: {alternative}")
    if f.attr not in CALL_NAMES:
        return src.error(
            f,
            f"{head}: formulas call functions, as in `sum(x)`"
            + did_you_mean(f.attr, CALL_NAMES),
        )
    obj = ast.unparse(f.value)
    args = [ast.unparse(a) for a in node.args]
    if (
        f.attr == "reshape" and len(args) > 1
    ):  # x.reshape(m, n): NumPy's sizes as arguments
        args = [f"({', '.join(args)})"]
    text = (
        f"{f.attr}({', '.join([obj, *args, *(ast.unparse(k) for k in node.keywords)])})"
    )
    if f.attr == "dot" and len(args) == 1 and not node.keywords:
        text = f"{operand(f.value)} @ {operand(node.args[0])}` (or `{text}`)"
        return src.error(f, f"{head}: write `{text}")
    if f.attr == "transpose" and not args and not node.keywords:
        text = f"{text}` or `{ast.unparse(ast.Attribute(f.value, 'T'))}"
    return src.error(f, f"{head}: write `{text}`")
