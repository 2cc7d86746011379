"""The input checks of the emitted functions: parameters converted and their shapes checked
(binding the dimension variables), the sizes the formula's slices and ``arange`` indices
need, ``Index`` values in range, non-empty reduced axes, and the seed of ``f_backward``."""

from __future__ import annotations

import sympy

from ..core import printer as P
from ..core.ir import Function, index_root, reachable
from ..core.prim import PRIMS
from ..core.shapes import as_inequality, canon, provably_nonnegative
from ..ops.conv import WINDOWED, window_requirements
from ..ops.shape_ops import index_requirements
from .context import Ctx
from .layout import LINE_LIMIT, call_lines, identifiers
from .loop_index_checks import loop_index_needs
from .shape_checks import ShapeChecks, bind_shape


def prologue(
    fn: Function,
    names: dict[str, str],
    dims: dict[str, str],
    used: set[str],
    ctx: Ctx,
) -> list:
    """Input conversion and shape checks; binds each dimension the first time it is seen.
    The helpers the checks call are asked for with ``ctx.use``.

    A dimension is bound only if the body ``used`` reads it or a later check needs it.
    Last come the sizes the formula's slices need (``slice_checks``), then the checks of
    input values (``value_checks``).
    """
    needs = slice_needs(fn)
    values = value_checks(fn, names, dims, ctx)
    used = set(used) | identifiers([], values)
    used |= {dims[str(s)] for e, _ in needs for s in e.free_symbols}
    shapes = ShapeChecks(fn, dims, used, xp=ctx.xp)
    lines: list[str] = namespace(fn, names) if ctx.xp else []
    every_float = fn.params and all(is_float(fn, p) for p in fn.params)
    math_build = ctx.target.scalar_check == "_scalar" and not ctx.xp
    if every_float and math_build:
        # the ``math`` build: one test of every input's class
        pairs = [(names[p.name], p.name) for p in fn.params]
        return float_inputs(pairs, fn.name) + values
    # NumPy arrays: their conversions first, behind one test of every class, dtype, rank
    grouped = not ctx.xp and not math_build
    converted: list[str] = []
    tests: list[str] = []
    for p in fn.params:
        lines += shapes.flush()
        v = names[p.name]
        if is_float(fn, p):
            lines += scalar_input(v, fn.name, p.name, ctx)
            continue
        together = grouped and fn.nodes[p.node].dtype == "float"
        if together:
            converted += shapes.conversion(p, v)
            tests.append(rank_test(fn, p, v))
        lines += shapes.array_input(p, v, convert=not together)
    lines += shapes.flush(everything=True)
    if converted:
        lines = fast_path(tests, converted, ARRAYS_CONVERTED) + lines
    if math_build and all(literal_float(fn, p) for p in fn.params):
        # a scalarised function (``passes/scalarise``): one test of every input
        lines = fast_path(
            [fast_test(fn, p, names[p.name], ctx) for p in fn.params], lines
        )
    return lines + slice_checks(fn, names, dims, needs) + values


def is_float(fn: Function, p) -> bool:
    """Whether parameter ``p`` is a ``Scalar`` (a float of shape ())."""
    node = fn.nodes[p.node]
    return not node.shape and node.dtype == "float"


def literal_float(fn: Function, p) -> bool:
    """Whether parameter ``p`` is a float (a ``Scalar``, or an array of literal shape)."""
    node = fn.nodes[p.node]
    return node.dtype == "float" and all(isinstance(d, int) for d in node.shape)


def fast_test(fn: Function, p, v: str, ctx: Ctx) -> str:
    """The test that parameter ``p`` (variable ``v``) is not exactly what the body reads: a
    Python float, or an ndarray of its literal shape whose dtype is NumPy's own float64
    (module names ``_ndarray`` and ``_float64_dtype``, beside ``_array``,
    compared by identity: ~50 ns an input less than ``np.ndarray`` and ``dtype.char``;
    any other float64, such as another byte order, takes the converting path)."""
    shape = fn.nodes[p.node].shape
    if not shape:
        return f"{v}.__class__ is not float"
    return not_float64_ndarray(v, f"{v}.shape != {P.shape(shape, {})}")


def rank_test(fn: Function, p, v: str) -> str:
    """The test that the float array parameter ``p`` (variable ``v``) is not an ndarray of
    NumPy's own float64 (compared by identity, as in ``fast_test``) and of its rank: the
    sizes are compared after, whichever way it came in."""
    return not_float64_ndarray(v, f"{v}.ndim != {len(fn.nodes[p.node].shape)}")


def not_float64_ndarray(v: str, form: str) -> str:
    """``v`` is not an ndarray, or not of NumPy's own float64, or ``form`` (its shape or
    rank test) holds: the tests joined with ``or``, cheapest first."""
    tests = [f"{v}.__class__ is not _ndarray", f"{v}.dtype is not _float64_dtype", form]
    return " or ".join(tests)


#: the comment over the conversions of a function's float arrays (``fast_path``)
ARRAYS_CONVERTED = "# arrays not all float64 ndarrays of their ranks: each converted"
#: the comment over every input's checks in a scalarised function
ALL_CONVERTED = (
    "# inputs not all floats and float64 arrays of their shapes: each converted"
)


def fast_path(tests: list[str], lines: list[str], comment=ALL_CONVERTED) -> list[str]:
    """``lines`` (the conversions and checks of inputs) run only if one of ``tests``
    holds: on the inputs the body reads as they are, the checks cost one test each
    (an ndarray: 60-100 ns less than the call of ``_array`` that returns it as it is)."""
    if any(len(line) + 4 > LINE_LIMIT for line in lines):  # as written: not nested
        return lines
    tests = [t for test in tests for t in test.split(" or ")]
    cond = [f"if {' or '.join(tests)}:"]
    if len(cond[0]) + 4 > LINE_LIMIT:  # as ruff formats it: one operand a line
        cond = ["if (", f"    {tests[0]}", *[f"    or {t}" for t in tests[1:]], "):"]
    return [comment, *cond, *[f"    {line}" for line in lines]]


def float_inputs(pairs: list[tuple[str, str]], fn_name: str) -> list[str]:
    """The ``math`` build's checks of its float inputs, ``(variable, parameter)`` pairs:
    one test of their classes (``x.__class__ is not float`` costs ~10 ns an input less
    than ``isinstance``), and only if one is not exactly a float, every input through
    ``_scalar``: a float subclass such as np.float64 becomes a float, an int, a bool or a
    0-d array is converted, anything else is refused with its parameter named."""
    tests = [f"{v}.__class__ is not float" for v, _ in pairs]
    cond = [f"if {' or '.join(tests)}:"]
    if len(cond[0]) + 4 > LINE_LIMIT:  # as ruff formats it: one operand a line
        cond = ["if (", f"    {tests[0]}", *[f"    or {t}" for t in tests[1:]], "):"]
    calls = [
        call_lines("    ", f"{v} = _scalar", [v, f'"{fn_name}"', f'"{param}"'])
        for v, param in pairs
    ]
    return [
        "# inputs not all Python floats: each converted by _scalar (or refused, named)",
        *cond,
        *[line for call in calls for line in call],
    ]


def scalar_input(v: str, fn_name: str, param: str, ctx: Ctx) -> list[str]:
    """The lines the float parameter ``v`` goes through (``Target.scalar_check``):
    ``_scalar`` called only when it is not a float already (the ``math`` build, and a
    parameter the NumPy code reads as a Python float: ``ctx.python_floats``), or the
    helper ``_float64`` (NumPy's scalar arithmetic from here on)."""
    args = [v, f'"{fn_name}"', f'"{param}"']
    check = ctx.target.scalar_check
    if ctx.xp:  # an array of shape () (a Python number becomes one, in ``dtype``)
        return call_lines("", f"{v} = _scalar", ["xp", *args, "dtype", "device"])
    if check == "_scalar" or param in ctx.python_floats:  # every module has _scalar
        return [
            f"if not isinstance({v}, float):",
            *call_lines("    ", f"{v} = _scalar", args),
        ]
    ctx.use(check)
    return call_lines("", f"{v} = {check}", args)


def value_checks(
    fn: Function, names: dict[str, str], dims: dict[str, str], ctx: Ctx
) -> list[str]:
    """Checks of input values that NumPy would report without naming the function and
    parameter (or not at all): an ``Index`` input out of range of the axis it indexes,
    and a dimension of 0 under a ``mean``/``max``/``softmax``... (``Prim.needs_nonempty``)."""
    lines: list[str] = []
    # Array API: Index values are not range-checked (reading them is a branch on values)
    for p, sizes in {} if ctx.xp else index_sizes(fn).items():
        v = names[p.name]
        for n in sizes:
            size = P.dim_expr(n, dims)
            # numba: one compiled pass; NumPy: a Python list for a few values
            check = "_outside" if ctx.target.kernels else "_out_of_range"
            ctx.use(check)
            test = f"{check}({v}, {size.text})"
            lines.append(f"if {test}:")
            ctx.use("_index_error")
            lines += call_lines(
                "    ",
                "raise _index_error",
                [f'"{fn.name}"', f'"{p.name}"', v, size.text],
            )
    for n, p in empty_dims(fn):
        v = names[p.name]
        # a size computed from others (n - 1 of x[1:]) is negative where n is 0
        empty = "== 0" if getattr(n, "is_Symbol", False) else "<= 0"
        lines.append(f"if {P.dim_expr(n, dims).text} {empty}:")
        ctx.use("_empty_error")
        lines += call_lines(
            "    ",
            "raise _empty_error",
            [f'"{fn.name}"', f'"{p.name}"', f"{v}.shape", f'"{P.dim(n, {})}"'],
        )
    return lines


def index_sizes(fn: Function) -> dict:
    """For each ``Index`` parameter used as an array index: the sizes of the axes it indexes
    (distinct, in order of use)."""
    params = {p.node: p for p in fn.params if fn.nodes[p.node].dtype == "int"}
    out: dict = {}
    for node in fn.nodes:
        if node.op not in ("getitem", "scatter"):
            continue
        shape = (
            fn.nodes[node.args[0]].shape if node.op == "getitem" else node.attr("shape")
        )
        axis = 0
        for e in node.attr("index"):
            root = index_root(fn.nodes, node.args[e[1]]) if e[0] == "a" else None
            if root in params and axis < len(shape):
                sizes = out.setdefault(params[root], [])
                if shape[axis] not in sizes:
                    sizes.append(shape[axis])
            axis += e[0] != "n"
    return out


def nonempty_sizes(nodes, node) -> list:
    """The sizes ``node`` needs at least 1: those a reduction that ``needs_nonempty``
    reduces over; the dimension a division divides by (``sum(x) / n`` is ``mean(x)``,
    and a rewritten mean, ``mean(r ** 2)`` as ``r.dot(r) / n``, is one)."""
    if node.op == "div" and nodes[node.args[1]].op == "dim":
        return [nodes[node.args[1]].attr("expr")]
    if not PRIMS[node.op].needs_nonempty:
        return []
    shape = nodes[node.args[0]].shape
    axes = node.attr("axis")
    axes = (axes,) if isinstance(axes, int) else axes  # softmax's one axis
    return list(shape) if axes is None else [shape[k] for k in axes]


def empty_dims(fn: Function) -> list[tuple]:
    """(dimension, a parameter with it in its shape) for each symbolic dimension of the
    ``nonempty_sizes`` of ``fn``'s nodes."""
    out: list[tuple] = []
    for node in fn.nodes:
        for n in nonempty_sizes(fn.nodes, node):
            owner = next(
                (
                    p
                    for p in fn.params
                    if any(
                        not isinstance(d, int)
                        and not isinstance(n, int)
                        and n.free_symbols & d.free_symbols
                        for d in fn.nodes[p.node].shape
                    )
                ),
                None,
            )
            if owner is not None and all(n != m for m, _ in out):
                out.append((n, owner))
    return out


def slice_needs(fn: Function) -> list[tuple]:
    """``(expression, getitem node)`` for each size condition (expression ``>= 0``) under
    which the formula's slices have their compile-time lengths (``x[:3]`` of a
    ``Vector[n]``: ``n - 3``), in node order, each once."""
    out, found = [], set()
    for i in sorted(reachable(fn.nodes, [fn.output, *fn.grads.values()])):
        node = fn.nodes[i]
        src = fn.nodes[node.args[0]].shape if node.args else ()
        if node.op in WINDOWED:
            needs = window_requirements(src, node)
        elif node.op == "getitem":
            needs = index_requirements(src, node.attr("index"))
            needs += arange_needs(fn.nodes, node)
        else:
            continue
        for e in needs:
            if e not in found:
                found.add(e)
                out.append((e, node))
    for e, node in loop_index_needs(fn):
        if e not in found:
            found.add(e)
            out.append((e, node))
    return out


def arange_needs(nodes, node) -> list:
    """The size conditions (expressions ``>= 0``) under which the ``arange(n)`` index
    arrays of the getitem ``node`` (also sliced or given new axes: ``arange(2)[:, None]``)
    stay inside the axes they index: ``P - 2`` for ``x[arange(2)]`` of a ``Vector[P]``."""
    src, out, axis = nodes[node.args[0]].shape, [], 0
    for e in node.attr("index"):
        root = nodes[index_root(nodes, node.args[e[1]])] if e[0] == "a" else None
        if root is not None and root.op == "arange" and axis < len(src):
            need = canon(sympy.Integer(0) + src[axis] - root.attr("n"))
            if not (isinstance(need, int) and need >= 0) and not provably_nonnegative(
                need
            ):
                out.append(need)
        axis += e[0] != "n"
    return out


def slice_checks(
    fn: Function, names: dict[str, str], dims: dict[str, str], needs
) -> list[str]:
    """The input checks of ``needs``: a ValueError naming the function, the parameter whose
    shape is too small, the shape seen and the size the slice needs (``n >= 3``).

    Sizes are checked rather than clamped as NumPy does: a shorter slice would change the
    shapes every later step was compiled for (README.md, "Choices ...")."""
    lines = []
    in_loops = {id(node) for _, node in loop_index_needs(fn)}
    for e, node in needs:
        lhs, rhs = as_inequality(e)
        in_loop = id(node) in in_loops
        p = needing_param(fn, e, None if in_loop else node)
        v = names[p.name]
        line = node.loc.line if node.loc else fn.loc.line
        what = "an index in a loop" if in_loop else WINDOWED.get(node.op, "a slice")
        if not in_loop and node.op == "getitem" and e in arange_needs(fn.nodes, node):
            what = "an arange index"
        message = (
            f"{fn.name}: parameter '{p.name}' has shape {{{v}.shape}}, expected "
            f"{P.shape(fn.nodes[p.node].shape, {})} with {P.dim(lhs, {})} >= "
            f"{P.dim(rhs, {})} ({what} on line {line} needs it)"
        )
        lines.append(f"if {P.dim(lhs, dims)} < {P.dim(rhs, dims)}:")
        lines += call_lines("    ", "raise ValueError", [f'f"{message}"'])
    return lines


def needing_param(fn: Function, e, node):
    """The parameter to name when the size condition ``e`` of the slice ``node`` fails: the
    sliced parameter itself if its shape has the sizes of ``e``, else the first that has
    (the first, for ``node`` None: an index in a loop body)."""
    names = {str(s) for s in e.free_symbols}
    if node is None:  # an index in a loop body: the first parameter with the sizes
        return next(p for p in fn.params if shape_mentions(fn, p, names))
    params = [p for p in fn.params if p.node == node.args[0]] + list(fn.params)
    if node.op in WINDOWED:  # a window's input: the size read from the parameters
        params = [p for p in params if reads_size(fn, p, names)] + params
    return next(p for p in params if shape_mentions(fn, p, names))


def reads_size(fn: Function, p, names: set[str]) -> bool:
    """Whether the shape of parameter ``p`` has one of the sizes ``names`` alone."""
    return any(str(d) in names for d in fn.nodes[p.node].shape)


def shape_mentions(fn: Function, p, names: set[str]) -> bool:
    """Whether the shape of parameter ``p`` has a size written with one of ``names``."""
    return any(
        str(s) in names
        for d in fn.nodes[p.node].shape
        if not isinstance(d, int)
        for s in d.free_symbols
    )


def check_seed(
    fn: Function, seed: str, dims: dict[str, str], xp: bool = False
) -> list[str]:
    """Checks of the upstream gradient given to ``f_backward``: the value's shape (on the
    Array API target, ``_scalar(xp, ...)`` and ``_array(xp, ...)``)."""
    shape = fn.nodes[fn.output].shape
    where = f'"{fn.name}_backward"'
    first = ["xp"] * xp
    if not shape and xp:
        args = ["xp", seed, where, f'"{seed}"', "dtype", "device"]
        return call_lines("", f"{seed} = _scalar", args)
    if not shape:
        return [
            f"if not isinstance({seed}, float):",
            *call_lines("    ", f"{seed} = _scalar", [seed, where, f'"{seed}"']),
        ]
    text = f'"{P.shape(shape, {})}"'  # sizes as Python writes them: ((n + 1) // 2,)
    expected = P.shape(shape, dims)
    return [
        *call_lines(
            "",
            f"{seed} = _array",
            [*first, seed, where, f'"{seed}"', str(len(shape)), text],
        ),
        f"if {seed}.shape != {expected}:",
        *call_lines(
            "    ",
            "raise _shape_error",
            [where, f'"{seed}"', f"{seed}.shape", text, expected],
        ),
    ]


def unchecked_inputs(
    fn: Function, names: dict[str, str], dims: dict[str, str], used: set[str], ctx: Ctx
) -> list[str]:
    """The prologue of a function built with ``--no-checks``: nothing is converted or
    checked; the dimensions the code ``used`` reads are bound from the first parameter
    whose shape has each alone (``n, _ = X.shape``), and on NumPy a float parameter
    becomes np.float64 (``1.0 / x`` at 0 is inf, as on arrays, not ZeroDivisionError),
    or a Python float where the code reads it as one (``ctx.python_floats``)."""
    lines: list[str] = namespace(fn, names) if ctx.xp else []
    bound: set[str] = set()
    for p in fn.params:
        node = fn.nodes[p.node]
        v = names[p.name]
        if not node.shape:
            if node.dtype == "float" and ctx.xp:  # not checked: made an array of ()
                lines.append(f"{v} = xp.asarray({v}, dtype=dtype, device=device)")
            elif node.dtype == "float" and not ctx.target.floats:
                lines += (
                    to_float([v]) if p.name in ctx.python_floats else to_float64([v])
                )
            continue
        keys = [
            d.name if not isinstance(d, int) and d.is_Symbol else None
            for d in node.shape
        ]
        needed = [
            k if k is not None and k not in bound and dims[k] in used else None
            for k in keys
        ]
        if not any(needed):
            continue
        bound |= {k for k in needed if k}
        targets = [dims[k] if k else "_" for k in needed]
        lines.append(bind_shape(targets, v, ctx.xp))
    return lines


def to_float(names: list[str]) -> list[str]:
    """``x = float(x)`` for each of ``names``: a Python float (from an int, np.float64
    or 0-d array alike), 50 ns where np.float64 takes 100 and each use of it 60 more."""
    return [f"{v} = float({v})" for v in names]


def to_float64(names: list[str]) -> list[str]:
    """``x = np.float64(x)`` for each of ``names``: NumPy arithmetic from here on."""
    return [f"{v} = np.float64({v})" for v in names]


def namespace(fn: Function, names: dict[str, str]) -> list[str]:
    """The Array API target's first line: the namespace, float dtype and device of the
    inputs (``_namespace``), which the body's ``xp.`` calls and created arrays use."""
    args = [f'"{fn.name}"'] + [names[p.name] for p in fn.params]
    return call_lines("", "xp, dtype, device = _namespace", args)
