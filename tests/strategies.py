"""Hypothesis strategies shared by the robustness tests: random formula programs.

A *program* is a random formula file: optional module constants, optional ``@fuse``
helpers and an inlined plain helper, and one exported function ``f`` whose body is a
few assignments (new names, reassignments and augmented assignments, so that
subexpressions are shared) and a final ``return``.

Every expression is a small tree of :class:`Node` objects. One tree has three readings
that are written independently of the compiler:

* ``render(node)``: the formula text (fully parenthesised, sometimes with ``np.``);
* ``Evaluator(program, "num")``: plain NumPy float64 semantics, which also records the
  *kinks* (quantities whose sign decides a non-smooth branch: ``abs``, ``relu``,
  ``maximum``, ``where``, ``clip``, ``max``...) so tests can stay away from ties;
* ``Evaluator(program, "sym")``: SymPy on scalarised symbols (a ``Vector[3]`` becomes
  three symbols, a ``Matrix[3, 3]`` nine), held in NumPy object arrays so that
  broadcasting, indexing and reductions follow NumPy's rules exactly.

Inputs of ``f`` are always ``x, y: Scalar``, ``v, w: Vector[3]``, ``M: Matrix[3, 3]`` and
``k: Index[3]`` (so that ``M[arange(3), k]`` can be generated); ``@wrt`` picks a random
non-empty subset of the float inputs about half of the time.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from hypothesis import strategies as st

S = ()
V = (3,)
M = (3, 3)
AUX = ((1,), (3, 1), (1, 3))

FLOAT_INPUTS = (
    ("x", S, "Scalar"),
    ("y", S, "Scalar"),
    ("v", V, "Vector[3]"),
    ("w", V, "Vector[3]"),
    ("M", M, "Matrix[3, 3]"),
)
INDEX_INPUT = ("k", (3,), "Index[3]")

# Functions that exist in NumPy under the same name, so ``np.`` may prefix them.
NUMPY_NAMES = frozenset(
    [
        "exp",
        "log",
        "log1p",
        "expm1",
        "sqrt",
        "square",
        "abs",
        "sin",
        "cos",
        "tan",
        "tanh",
        "arctanh",
        "arccosh",
        "maximum",
        "minimum",
        "clip",
        "where",
        "sum",
        "mean",
        "max",
        "min",
        "dot",
        "outer",
        "transpose",
        "reshape",
        "cumsum",
        "concatenate",
        "stack",
        "arange",
    ]
)

# Dyadic constants: exact in binary, so SymPy and float64 agree on them.
CONSTANTS = (0.5, 1.5, 2.0, 0.25, 3.0, 1.25, 0.75)
POS_OFFSETS = (1.0, 0.5, 2.0, 1.5)

NON_SMOOTH = frozenset({"abs", "relu", "clip", "maximum", "minimum", "where"})
UNARY = (
    "neg",
    "exp",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "softplus",
    "expm1",
    "square",
    "abs",
    "relu",
    "clip",
    "log_pos",
    "log_sig",
    "log1p_sq",
    "sqrt_pos",
    "tan_tanh",
    "arctanh_tanh",
    "arccosh_pos",
    "pow_int",
    "pow_pos",
    "pow_base",
)
BINARY = ("add", "sub", "mul", "div_pos", "maximum", "minimum", "pow_var", "where")


class Node:
    """An expression node: ``op`` with child nodes ``args``, static ``params`` and ``shape``."""

    __slots__ = ("args", "op", "params", "shape")

    def __init__(self, op: str, args=(), params=(), shape=S):
        self.op = op
        self.args = tuple(args)
        self.params = tuple(params)
        self.shape = tuple(shape)

    def __repr__(self) -> str:
        return render(self)


@dataclass
class Helper:
    """A helper ``def`` (``fuse`` or inlined): parameters ``[(name, shape)]``, body, return."""

    name: str
    params: list
    stmts: list
    ret: Node
    fuse: bool


@dataclass
class Program:
    """A whole formula file; ``render_program`` turns it into text."""

    constants: list = field(default_factory=list)  # [(name, value)]
    helpers: list = field(default_factory=list)  # [Helper]
    stmts: list = field(default_factory=list)  # [(target, aug_op or None, Node)]
    ret: Node | None = None
    wrt: tuple = ()  # names; empty means every float input
    docstring: str = ""

    @property
    def float_inputs(self):
        return FLOAT_INPUTS

    @property
    def wrt_names(self) -> tuple:
        return self.wrt or tuple(n for n, _, _ in FLOAT_INPUTS)


# ----------------------------------------------------------------------------- rendering


def _fn(node: Node, name: str) -> str:
    prefix = (
        node.params[-1] if node.params and node.params[-1] in ("np.", "numpy.") else ""
    )
    return (prefix if name in NUMPY_NAMES else "") + name


def _num(value: float) -> str:
    text = repr(float(value))
    return f"({text})" if value < 0 else text


def render(n: Node) -> str:
    """The formula text of one expression (every operator parenthesised)."""
    op, a, p = n.op, n.args, n.params
    r = [render(c) for c in a]
    if op == "var":
        return p[0]
    if op == "const":
        return p[1]
    if op == "neg":
        return f"(-{r[0]})"
    if op in ("add", "sub", "mul", "div", "matmul"):
        sym = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}[op]
        return f"({r[0]} {sym} {r[1]})"
    if op == "pow":
        return f"({r[0]} ** {r[1]})"
    if op in (
        "exp",
        "sin",
        "cos",
        "tan",
        "tanh",
        "arctanh",
        "arccosh",
        "sigmoid",
        "softplus",
        "expm1",
        "square",
        "abs",
        "relu",
        "log",
        "log1p",
        "sqrt",
        "transpose",
    ):
        return f"{_fn(n, op)}({r[0]})"
    if op == "clip":
        return f"{_fn(n, 'clip')}({r[0]}, {_num(p[0])}, {_num(p[1])})"
    if op in ("maximum", "minimum", "dot", "outer"):
        return f"{_fn(n, op)}({r[0]}, {r[1]})"
    if op == "where":
        return f"{_fn(n, 'where')}({r[0]} {p[0]} {r[1]}, {r[2]}, {r[3]})"
    if op == "reduce":
        name, axis, keepdims = p[0], p[1], p[2]
        args = [r[0]]
        if axis is not None:
            args.append(f"axis={axis}")
        if keepdims:
            args.append("keepdims=True")
        return f"{_fn(n, name)}({', '.join(args)})"
    if op in ("softmax", "log_softmax"):
        return f"{op}({r[0]})" if p[0] is None else f"{op}({r[0]}, axis={p[0]})"
    if op == "cumsum":
        axis = "" if p[0] is None else f", axis={p[0]}"
        return f"{_fn(n, 'cumsum')}({r[0]}{axis})"
    if op == "T":
        return f"{r[0]}.T"
    if op == "reshape":
        shape = (
            "("
            + ", ".join(str(d) for d in p[0])
            + ("," if len(p[0]) == 1 else "")
            + ")"
        )
        return f"{_fn(n, 'reshape')}({r[0]}, {shape})"
    if op == "index":
        return f"{r[0]}[{p[0]}]"
    if op == "gather":
        return f"{r[0]}[{_fn(n, 'arange')}(3), k]"
    if op == "splice":
        j = p[0]
        return f"{_fn(n, 'concatenate')}([{r[0]}[:{j}], {r[1]}[{j}:]])"
    if op == "stack":
        axis = "" if p[0] == 0 else f", axis={p[0]}"
        return f"{_fn(n, 'stack')}([{', '.join(r)}]{axis})"
    if op == "call":
        return f"{p[0]}({', '.join(r)})"
    raise AssertionError(f"unknown op {op}")


def _helper_text(h: Helper) -> list[str]:
    shape_text = {S: "Scalar", V: "Vector[3]", M: "Matrix[3, 3]"}
    params = ", ".join(f"{name}: {shape_text[shape]}" for name, shape in h.params)
    lines = ["@fuse"] if h.fuse else []
    lines.append(f"def {h.name}({params}) -> {shape_text[h.ret.shape]}:")
    for target, aug, node in h.stmts:
        lines.append(f"    {target} {aug or ''}= {render(node)}")
    lines.append(f"    return {render(h.ret)}")
    return lines


def render_program(prog: Program) -> str:
    """The formula file of a program."""
    lines = ['"""Random program generated by tests/strategies.py."""', ""]
    for name, value in prog.constants:
        lines.append(f"{name} = {value!r}")
    for h in prog.helpers:
        lines += ["", ""] + _helper_text(h)
    lines += ["", ""]
    if prog.wrt:
        lines.append(f"@wrt({', '.join(prog.wrt)})")
    params = ", ".join(f"{n}: {t}" for n, _, t in FLOAT_INPUTS + (INDEX_INPUT,))
    ret = "Scalar" if prog.ret.shape == S else "Vector[3]"
    lines.append(f"def f({params}) -> {ret}:")
    if prog.docstring:
        lines.append(f"    {prog.docstring!r}")
    for target, aug, node in prog.stmts:
        lines.append(f"    {target} {aug or ''}= {render(node)}")
    lines.append(f"    return {render(prog.ret)}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- evaluation


def _obj(x) -> np.ndarray:
    """A NumPy object array (0-d for a scalar) of SymPy expressions."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape, dtype=object)
        for i in np.ndindex(x.shape):
            out[i] = sp.sympify(x[i].item()) if hasattr(x[i], "item") else x[i]
        return out
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def _ew(fn, *arrays) -> np.ndarray:
    """Apply a scalar SymPy function elementwise with NumPy broadcasting."""
    arrays = np.broadcast_arrays(*[_obj(a) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=object)
    for i in np.ndindex(out.shape):
        out[i] = fn(*[a[i] for a in arrays])
    return out


def _reduce_obj(arr: np.ndarray, axis, keepdims: bool, fn) -> np.ndarray:
    """Reduce an object array with ``fn(list) -> expr`` along ``axis`` (NumPy semantics)."""
    arr = _obj(arr)
    if axis is None:
        out = _obj(fn(list(arr.reshape(-1))))
        return out.reshape((1,) * arr.ndim) if keepdims else out
    axis = axis % arr.ndim
    moved = np.moveaxis(arr, axis, -1)
    out = np.empty(moved.shape[:-1], dtype=object)
    for i in np.ndindex(out.shape):
        out[i] = fn(list(moved[i]))
    return np.expand_dims(out, axis) if keepdims else out


def _sym_sigmoid(a):
    return 1 / (1 + sp.exp(-a))


def _sym_softplus(a):
    return sp.log(1 + sp.exp(a))


SYM_UNARY = {
    "exp": sp.exp,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "arctanh": sp.atanh,
    "arccosh": sp.acosh,
    "sigmoid": _sym_sigmoid,
    "softplus": _sym_softplus,
    "expm1": lambda a: sp.exp(a) - 1,
    "square": lambda a: a**2,
    "abs": sp.Abs,
    "relu": lambda a: sp.Max(a, 0),
    "log": sp.log,
    "log1p": lambda a: sp.log(1 + a),
    "sqrt": sp.sqrt,
}


def _np_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _np_softplus(a):
    return np.logaddexp(0.0, a)


NUM_UNARY = {
    "exp": np.exp,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "arctanh": np.arctanh,
    "arccosh": np.arccosh,
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "expm1": np.expm1,
    "square": np.square,
    "abs": np.abs,
    "relu": lambda a: np.maximum(a, 0.0),
    "log": np.log,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
}
CMP = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
SYM_CMP = {">": sp.Gt, ">=": sp.Ge, "<": sp.Lt, "<=": sp.Le}


def _np_logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return (
        out
        if keepdims
        else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()))
    )


def _np_top_gap(a, axis, largest: bool):
    """Gap between the two extreme entries along ``axis`` (a kink of max/min)."""
    b = np.sort(
        np.reshape(a, -1) if axis is None else np.moveaxis(a, axis, -1), axis=-1
    )
    return b[..., -1] - b[..., -2] if largest else b[..., 1] - b[..., 0]


class Evaluator:
    """Evaluate a program under NumPy float64 (``"num"``) or scalarised SymPy (``"sym"``)."""

    def __init__(self, prog: Program, mode: str):
        self.prog = prog
        self.mode = mode
        self.helpers = {h.name: h for h in prog.helpers}
        self.consts = dict(prog.constants)
        # num mode: one (gap, branch) pair per non-smooth operation: |gap| is the distance to
        # the non-smooth point and ``branch`` identifies the smooth piece in use.
        self.kinks: list = []
        self.values: list = []  # num mode: every intermediate value
        self._in_fuse = 0

    # -- public

    def run(self, env: dict):
        env = dict(env)
        with np.errstate(all="ignore"):
            for target, aug, node in self.prog.stmts:
                env[target] = self._assign(env, target, aug, node)
            return self.ev(self.prog.ret, env)

    def _assign(self, env, target, aug, node):
        val = self.ev(node, env)
        if aug is None:
            return val
        old = env[target]
        if self.mode == "num":
            out = {"+": old + val, "-": old - val, "*": old * val, "/": old / val}[aug]
            self.values.append(out)
            return out
        return {
            "+": _obj(old) + _obj(val),
            "-": _obj(old) - _obj(val),
            "*": _obj(old) * _obj(val),
            "/": _obj(old) / _obj(val),
        }[aug]

    # -- one node

    def ev(self, n: Node, env: dict):
        out = self._ev(n, env)
        if self.mode == "num":
            out = np.asarray(out, dtype=float)
            self.values.append(out)
        else:
            out = _obj(out)
        # inside a @fuse body under NumPy, values are whole arrays (the node broadcasts)
        assert self._in_fuse or out.shape == n.shape, (render(n), out.shape, n.shape)
        return out

    def _kink(self, q, branch=None):
        q = np.asarray(q, dtype=float)
        self.kinks.append((q, np.sign(q) if branch is None else np.asarray(branch)))

    def _ev(self, n: Node, env: dict):
        op, p = n.op, n.params
        num = self.mode == "num"
        if op == "var":
            return env[p[0]]
        if op == "const":
            value = self.consts.get(p[1], p[0])
            if num:
                return float(value)
            if p[1] == "pi":
                return sp.pi
            if p[1] == "e":
                return sp.E
            if isinstance(value, int):
                return sp.Integer(value)
            return sp.Float(float(value), 40)
        if op == "call":
            return self._call(n, env)
        a = [self.ev(c, env) for c in n.args]
        if op == "neg":
            return -a[0]
        if op in ("add", "sub", "mul", "div"):
            x, y = a
            return {"add": x + y, "sub": x - y, "mul": x * y, "div": x / y}[op]
        if op == "pow":
            if num:
                with np.errstate(all="ignore"):
                    return np.power(a[0], a[1])
            return _ew(lambda b, e: b**e, a[0], a[1])
        if op in SYM_UNARY:
            if num and op in ("abs", "relu"):
                self._kink(a[0])
            if num:
                with np.errstate(all="ignore"):
                    return NUM_UNARY[op](a[0])
            return _ew(SYM_UNARY[op], a[0])
        if op == "clip":
            lo, hi = p[0], p[1]
            if num:
                self._kink(a[0] - lo)
                self._kink(a[0] - hi)
                return np.clip(a[0], lo, hi)
            return _ew(lambda t: sp.Min(sp.Max(t, sp.Float(lo)), sp.Float(hi)), a[0])
        if op in ("maximum", "minimum"):
            if num:
                self._kink(a[0] - a[1])
                return (np.maximum if op == "maximum" else np.minimum)(a[0], a[1])
            return _ew(sp.Max if op == "maximum" else sp.Min, a[0], a[1])
        if op == "where":
            c, d = a[2], a[3]
            if num:
                self._kink(a[0] - a[1])
                return np.where(CMP[p[0]](a[0], a[1]), c, d)
            return _ew(
                lambda s, t, u, z: sp.Piecewise((u, SYM_CMP[p[0]](s, t)), (z, True)),
                a[0],
                a[1],
                c,
                d,
            )
        if op in ("matmul", "dot"):
            return np.matmul(a[0], a[1]) if num else _obj(np.dot(a[0], a[1]))
        if op == "outer":
            return np.outer(a[0], a[1])
        if op == "reduce":
            return self._reduce(p[0], a[0], p[1], p[2])
        if op in ("softmax", "log_softmax"):
            axis = -1 if p[0] is None else p[0]
            if num:
                z = a[0] - np.max(a[0], axis=axis, keepdims=True)
                lse = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
                return np.exp(z - lse) if op == "softmax" else z - lse
            ex = _ew(sp.exp, a[0])
            tot = _reduce_obj(ex, axis, True, sp.Add.fromiter)
            if op == "softmax":
                return ex / tot
            return a[0] - _ew(sp.log, tot)
        if op == "cumsum":  # sums of SymPy objects on object arrays too
            return np.cumsum(a[0], axis=p[0])
        if op in ("T", "transpose"):
            return a[0].T
        if op == "reshape":
            return np.reshape(a[0], p[0])
        if op == "index":
            return a[0][_parse_index(p[0])]
        if op == "gather":
            return a[0][np.arange(3), env["k"]]
        if op == "splice":
            j = p[0]
            return np.concatenate([a[0][:j], a[1][j:]])
        if op == "stack":
            return np.stack(a, axis=p[0])
        raise AssertionError(op)

    def _reduce(self, name, a, axis, keepdims):
        num = self.mode == "num"
        if num:
            if name in ("max", "min"):
                if a.size > 1:
                    arg = (np.argmax if name == "max" else np.argmin)(a, axis=axis)
                    self._kink(_np_top_gap(a, axis, name == "max"), arg)
                return (np.max if name == "max" else np.min)(
                    a, axis=axis, keepdims=keepdims
                )
            if name == "sum":
                return np.sum(a, axis=axis, keepdims=keepdims)
            if name == "mean":
                return np.mean(a, axis=axis, keepdims=keepdims)
            if name == "logsumexp":
                return _np_logsumexp(a, axis=axis, keepdims=keepdims)
            if name == "norm":
                out = np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
                self._kink(out)
                return out
            raise AssertionError(name)
        fn = {
            "sum": sp.Add.fromiter,
            "mean": lambda xs: sp.Add.fromiter(xs) / len(xs),
            "max": lambda xs: sp.Max(*xs),
            "min": lambda xs: sp.Min(*xs),
            "logsumexp": lambda xs: sp.log(sp.Add.fromiter(sp.exp(t) for t in xs)),
            "norm": lambda xs: sp.sqrt(sp.Add.fromiter(t**2 for t in xs)),
        }[name]
        return _reduce_obj(a, axis, keepdims, fn)

    def _call(self, n: Node, env: dict):
        h = self.helpers[n.params[0]]
        args = [self.ev(c, env) for c in n.args]
        if h.fuse and self.mode == "sym":
            sub = Evaluator(self.prog, "sym")

            def scalar_fn(*xs):
                inner = {name: _obj(x) for (name, _), x in zip(h.params, xs)}
                for target, aug, node in h.stmts:
                    inner[target] = sub._assign(inner, target, aug, node)
                return sub.ev(h.ret, inner)[()]

            return _ew(scalar_fn, *args)
        inner = {name: x for (name, _), x in zip(h.params, args)}
        self._in_fuse += h.fuse
        for target, aug, node in h.stmts:
            inner[target] = self._assign(inner, target, aug, node)
        out = self.ev(h.ret, inner)
        self._in_fuse -= h.fuse
        if (
            h.fuse
        ):  # an elementwise node: its value has the broadcast shape of its arguments
            out = np.broadcast_to(out, n.shape) + 0.0
        return out


def _parse_index(text: str):
    parts = []
    for part in text.split(","):
        part = part.strip()
        if part == "None":
            parts.append(None)
        elif ":" in part:
            bits = [int(b) if b else None for b in part.split(":")]
            parts.append(slice(*bits))
        else:
            parts.append(int(part))
    return tuple(parts) if len(parts) > 1 else parts[0]


# ----------------------------------------------------------------------------- inputs


def scalar_symbols() -> dict:
    """SymPy symbols of every float input, as object arrays of the input's shape."""
    out = {}
    for name, shape, _ in FLOAT_INPUTS:
        arr = np.empty(shape, dtype=object)
        for i in np.ndindex(shape):
            suffix = "".join(f"_{j}" for j in i)
            arr[i] = sp.Symbol(name + suffix, real=True)
        out[name] = arr
    return out


def random_inputs(seed: int) -> dict:
    """Float inputs uniform in [-2, 2] (away from the special values 0, +-1) and ``k``."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape, _ in FLOAT_INPUTS:
        val = rng.uniform(-2.0, 2.0, size=shape)
        out[name] = float(val) if shape == S else val
    out["k"] = rng.integers(0, 3, size=3)
    return out


# ----------------------------------------------------------------------------- generation


class _Ctx:
    def __init__(
        self,
        draw,
        names: dict,
        helpers,
        constants,
        allow_calls=True,
        scalar_only=False,
        smooth=False,
    ):
        self.draw = draw
        self.has_k = "x" in names.get(S, [])  # the Index input k exists (in f only)
        self.smooth = smooth  # no abs/relu/clip/maximum/minimum/where
        self.names = names  # shape -> [names]
        self.helpers = helpers
        self.constants = constants
        self.allow_calls = allow_calls
        self.scalar_only = scalar_only

    def prefix(self) -> str:
        return self.draw(st.sampled_from(["", "", "", "np.", "numpy."]))


def _const(ctx: _Ctx) -> Node:
    choice = ctx.draw(st.integers(0, 9))
    if choice == 0:
        return Node("const", params=(math.pi, "pi"))
    if choice == 1:
        return Node("const", params=(math.e, "e"))
    if choice == 2 and ctx.constants:
        name, value = ctx.draw(st.sampled_from(ctx.constants))
        return Node("const", params=(value, name))
    value = ctx.draw(st.sampled_from(CONSTANTS))
    if ctx.draw(st.booleans()):
        value = -value
    return Node("const", params=(value, _num(value)))


def _leaf(ctx: _Ctx, shape) -> Node | None:
    names = ctx.names.get(shape, [])
    if shape == S and (not names or ctx.draw(st.integers(0, 3)) == 0):
        return _const(ctx)
    if not names:
        return None
    temps = [n for n in names if n.startswith("t")]
    if temps and ctx.draw(st.booleans()):
        names = temps  # temporaries are reused more often than inputs: shared subexpressions
    return Node("var", params=(ctx.draw(st.sampled_from(names)),), shape=shape)


def _pos(ctx: _Ctx, a: Node) -> Node:
    """A strictly positive expression built from ``a`` (for log, sqrt, division, powers)."""
    k = ctx.draw(st.sampled_from(POS_OFFSETS))
    kind = ctx.draw(st.integers(0, 4))
    kn = Node("const", params=(k, _num(k)))
    if kind == 4 and ctx.smooth:
        kind = 0
    if kind == 0:
        return Node(
            "add",
            [kn, Node("pow", [a, Node("const", params=(2, "2"))], shape=a.shape)],
            shape=a.shape,
        )
    if kind == 1:
        return Node("exp", [a], (ctx.prefix(),), a.shape)
    if kind == 2:
        return Node("sigmoid", [a], shape=a.shape)
    if kind == 3:
        return Node("add", [kn, Node("softplus", [a], shape=a.shape)], shape=a.shape)
    return Node("add", [kn, Node("abs", [a], (ctx.prefix(),), a.shape)], shape=a.shape)


def _unary(ctx: _Ctx, shape, depth) -> Node:
    ops = [o for o in UNARY if o not in NON_SMOOTH] if ctx.smooth else UNARY
    op = ctx.draw(st.sampled_from(ops))
    a = gen(ctx, shape, depth - 1)
    pre = ctx.prefix()
    if op in ("neg",):
        return Node("neg", [a], shape=shape)
    if op in ("exp", "sin", "cos", "tanh", "expm1", "square", "abs"):
        return Node(op, [a], (pre,), shape)
    if op in ("sigmoid", "softplus", "relu"):
        return Node(op, [a], shape=shape)
    if op == "clip":
        return Node("clip", [a], (-1.0, 0.5, pre), shape)
    if op == "log_pos":
        return Node("log", [_pos(ctx, a)], (pre,), shape)
    if op == "log_sig":
        return Node("log", [Node("sigmoid", [a], shape=shape)], (pre,), shape)
    if op == "log1p_sq":
        return Node("log1p", [Node("square", [a], shape=shape)], (pre,), shape)
    if op == "sqrt_pos":
        return Node("sqrt", [_pos(ctx, a)], (pre,), shape)
    if op == "tan_tanh":
        return Node("tan", [Node("tanh", [a], shape=shape)], (pre,), shape)
    if op == "arctanh_tanh":  # |tanh(a)| < 1 away from the poles at +-1: 0.8 tanh(a)
        half = Node("const", params=(0.8, "0.8"))
        inner = Node("mul", [half, Node("tanh", [a], shape=shape)], shape=shape)
        return Node("arctanh", [inner], (pre,), shape)
    if op == "arccosh_pos":  # 1 + a positive expression, above arccosh's end at 1
        one = Node("const", params=(1.0, "1.0"))
        inner = Node("add", [one, _pos(ctx, a)], shape=shape)
        return Node("arccosh", [inner], (pre,), shape)
    if op == "pow_int":
        n = ctx.draw(st.sampled_from([2, 3, 1, 0]))
        return Node("pow", [a, Node("const", params=(n, str(n)))], shape=shape)
    if op == "pow_pos":
        e = ctx.draw(st.sampled_from([0.5, -1, -0.5, 1.5, -2, 2.5]))
        return Node(
            "pow", [_pos(ctx, a), Node("const", params=(e, _num(e)))], shape=shape
        )
    # pow_base: constant positive base to a variable power
    b = ctx.draw(st.sampled_from([2.0, 0.5, 1.5]))
    return Node("pow", [Node("const", params=(b, _num(b))), a], shape=shape)


BROADCAST_PAIRS = {
    S: [(S, S)],
    V: [(V, V), (S, V), (V, S), (V, (1,)), ((1,), V)],
    M: [
        (M, M),
        (M, S),
        (S, M),
        (M, V),
        (V, M),
        (M, (3, 1)),
        ((3, 1), M),
        (M, (1, 3)),
        ((3, 1), (1, 3)),
        ((3, 1), V),
    ],
    (1,): [((1,), (1,)), (S, (1,)), ((1,), S)],
    (3, 1): [((3, 1), (3, 1)), ((3, 1), S)],
    (1, 3): [((1, 3), (1, 3)), (S, (1, 3)), ((1, 3), (1,))],
}


def _binary(ctx: _Ctx, shape, depth) -> Node:
    ops = [o for o in BINARY if o not in NON_SMOOTH] if ctx.smooth else BINARY
    op = ctx.draw(st.sampled_from(ops))
    s1, s2 = ctx.draw(st.sampled_from(BROADCAST_PAIRS[shape]))
    a = gen(ctx, s1, depth - 1)
    b = gen(ctx, s2, depth - 1)
    pre = ctx.prefix()
    if op in ("add", "sub", "mul"):
        return Node(op, [a, b], shape=shape)
    if op == "div_pos":
        return Node("div", [a, _pos(ctx, b)], shape=shape)
    if op in ("maximum", "minimum"):
        return Node(op, [a, b], (pre,), shape)
    if op == "pow_var":
        return Node("pow", [_pos(ctx, a), b], shape=shape)
    cmp = ctx.draw(st.sampled_from(sorted(CMP)))
    c = gen(ctx, shape, depth - 1)
    d = gen(ctx, ctx.draw(st.sampled_from([shape, S])), depth - 1)
    return Node("where", [a, b, c, d], (cmp, pre), shape)


def _call(ctx: _Ctx, shape, depth) -> Node | None:
    fused = [h for h in ctx.helpers if h.fuse]
    plain = [h for h in ctx.helpers if not h.fuse and h.ret.shape == shape]
    options = [
        h for h in fused if shape in BROADCAST_PAIRS and shape not in AUX
    ] + plain
    if not ctx.allow_calls or not options:
        return None
    h = ctx.draw(st.sampled_from(options))
    if h.fuse:
        if len(h.params) == 1:
            args = [gen(ctx, shape, depth - 1)]
        else:
            s1, s2 = ctx.draw(st.sampled_from(BROADCAST_PAIRS[shape]))
            args = [gen(ctx, s1, depth - 1), gen(ctx, s2, depth - 1)]
    else:
        args = [gen(ctx, s, depth - 1) for _, s in h.params]
    return Node("call", args, (h.name,), shape)


def _reduction(ctx: _Ctx, name: str, a: Node, axis, keepdims: bool, out_shape) -> Node:
    pre = "" if name in ("logsumexp", "norm") else ctx.prefix()
    return Node("reduce", [a], (name, axis, keepdims, pre), out_shape)


REDUCTIONS = ("sum", "mean", "max", "min", "logsumexp", "norm")


def _structural(ctx: _Ctx, shape, depth) -> Node | None:
    """Shape-changing operations that produce ``shape``."""
    draw = ctx.draw
    red = draw(st.sampled_from(REDUCTIONS))
    pre = ctx.prefix()
    if shape == S:
        kind = draw(st.integers(0, 5))
        if kind == 0:
            return _reduction(ctx, red, gen(ctx, V, depth - 1), None, False, S)
        if kind == 1:
            return _reduction(ctx, red, gen(ctx, M, depth - 1), None, False, S)
        if kind == 2:
            return Node(
                "index", [gen(ctx, V, depth - 1)], (str(draw(st.integers(-3, 2))),), S
            )
        if kind == 3:
            i, j = draw(st.integers(0, 2)), draw(st.integers(-1, 2))
            return Node("index", [gen(ctx, M, depth - 1)], (f"{i}, {j}",), S)
        op = draw(st.sampled_from(["matmul", "dot"]))
        return Node(op, [gen(ctx, V, depth - 1), gen(ctx, V, depth - 1)], (pre,), S)
    if shape == V:
        kind = draw(st.integers(0, 10))
        if kind == 10:
            axis = draw(st.sampled_from([None, 0, -1]))
            return Node("cumsum", [gen(ctx, V, depth - 1)], (axis, pre), V)
        if kind == 0:
            op = draw(st.sampled_from(["matmul", "dot"]))
            return Node(op, [gen(ctx, M, depth - 1), gen(ctx, V, depth - 1)], (pre,), V)
        if kind == 1:
            return Node(
                "matmul", [gen(ctx, V, depth - 1), gen(ctx, M, depth - 1)], (), V
            )
        if kind == 2:
            axis = draw(st.sampled_from([0, 1, -1]))
            return _reduction(ctx, red, gen(ctx, M, depth - 1), axis, False, V)
        if kind == 3:
            op = draw(st.sampled_from(["softmax", "log_softmax"]))
            return Node(
                op, [gen(ctx, V, depth - 1)], (draw(st.sampled_from([None, -1, 0])),), V
            )
        if kind == 4:
            idx = draw(st.sampled_from(["0", "2", "-1", ":, 0", ":, 2", ":, -2"]))
            return Node("index", [gen(ctx, M, depth - 1)], (idx,), V)
        if kind == 5:
            return Node("index", [gen(ctx, V, depth - 1)], ("::-1",), V)
        if kind == 6 and ctx.has_k:
            return Node("gather", [gen(ctx, M, depth - 1)], (pre,), V)
        if kind == 6:
            return Node("index", [gen(ctx, M, depth - 1)], ("1",), V)
        if kind == 7:
            j = draw(st.integers(1, 2))
            return Node(
                "splice", [gen(ctx, V, depth - 1), gen(ctx, V, depth - 1)], (j, pre), V
            )
        if kind == 8:
            return Node(
                "stack", [gen(ctx, S, depth - 1) for _ in range(3)], (0, pre), V
            )
        return Node("reshape", [gen(ctx, (1, 3), depth - 1)], ((3,), pre), V)
    if shape == M:
        kind = draw(st.integers(0, 8))
        if kind == 8:
            axis = draw(st.sampled_from([0, 1, -2]))
            return Node("cumsum", [gen(ctx, M, depth - 1)], (axis, pre), M)
        if kind == 0:
            return Node(
                "outer", [gen(ctx, V, depth - 1), gen(ctx, V, depth - 1)], (pre,), M
            )
        if kind == 1:
            op = draw(st.sampled_from(["matmul", "dot"]))
            return Node(op, [gen(ctx, M, depth - 1), gen(ctx, M, depth - 1)], (pre,), M)
        if kind == 2:
            return Node("T", [gen(ctx, M, depth - 1)], (), M)
        if kind == 3:
            return Node("transpose", [gen(ctx, M, depth - 1)], (pre,), M)
        if kind == 4:
            op = draw(st.sampled_from(["softmax", "log_softmax"]))
            return Node(
                op, [gen(ctx, M, depth - 1)], (draw(st.sampled_from([None, 0, 1])),), M
            )
        if kind == 5:
            axis = draw(st.sampled_from([0, 1]))
            return Node(
                "stack", [gen(ctx, V, depth - 1) for _ in range(3)], (axis, pre), M
            )
        if kind == 6:
            flat = Node("reshape", [gen(ctx, M, depth - 1)], ((9,), pre), (9,))
            return Node("reshape", [flat], ((3, 3), ctx.prefix()), M)
        return Node("index", [gen(ctx, M, depth - 1)], ("::-1, :",), M)
    # auxiliary shapes, only used as broadcast operands
    if shape == (1,):
        if draw(st.booleans()):
            axis = draw(st.sampled_from([None, 0, -1]))
            return _reduction(ctx, red, gen(ctx, V, depth - 1), axis, True, (1,))
        return Node(
            "index",
            [gen(ctx, V, depth - 1)],
            (draw(st.sampled_from(["1:2", ":1"])),),
            (1,),
        )
    if shape == (3, 1):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            axis = draw(st.sampled_from([1, -1]))
            return _reduction(ctx, red, gen(ctx, M, depth - 1), axis, True, (3, 1))
        if kind == 1:
            return Node("index", [gen(ctx, V, depth - 1)], (":, None",), (3, 1))
        return Node("reshape", [gen(ctx, V, depth - 1)], ((3, 1), pre), (3, 1))
    if shape == (1, 3):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            return _reduction(ctx, red, gen(ctx, M, depth - 1), 0, True, (1, 3))
        if kind == 1:
            return Node(
                "index",
                [gen(ctx, V, depth - 1)],
                (draw(st.sampled_from(["None, :", "None"])),),
                (1, 3),
            )
        return Node("reshape", [gen(ctx, V, depth - 1)], ((1, 3), pre), (1, 3))
    return None


def _minimal(ctx: _Ctx, shape) -> Node:
    """The smallest expression of ``shape`` (used when the depth budget is spent)."""
    leaf = _leaf(ctx, shape)
    if leaf is not None:
        return leaf
    if shape == V:
        return Node("stack", [_minimal(ctx, S) for _ in range(3)], (0, ""), V)
    if shape == M:
        return Node("outer", [_minimal(ctx, V), _minimal(ctx, V)], ("",), M)
    index = {(1,): ":1", (3, 1): ":, None", (1, 3): "None, :"}[shape]
    return Node("index", [_minimal(ctx, V)], (index,), shape)


def gen(ctx: _Ctx, shape, depth: int) -> Node:
    """A random expression of ``shape`` and at most ``depth`` levels of operations."""
    if ctx.scalar_only:
        shape = S
    if depth <= 0:
        return _minimal(ctx, shape)
    if ctx.draw(st.integers(0, 3)) == 0:
        node = _leaf(ctx, shape)
        if node is not None:
            return node
    kinds = ["unary", "binary", "structural", "structural", "call"]
    if ctx.scalar_only:
        kinds = ["unary", "binary"]
    elif shape in AUX:
        kinds = (
            ["structural"]
            if depth <= 1
            else ["structural", "structural", "unary", "binary"]
        )
    kind = ctx.draw(st.sampled_from(kinds))
    node = None
    if kind == "call":
        node = _call(ctx, shape, depth)
    elif kind == "structural":
        node = _structural(ctx, shape, depth)
    elif kind == "binary":
        node = _binary(ctx, shape, depth)
    if node is None:
        node = _unary(ctx, shape, depth)
    return node


@st.composite
def programs(draw, max_depth: int = 3, max_stmts: int = 4, vector_output: bool = True):
    """A random :class:`Program` (see the module docstring)."""
    constants = [
        (f"C{i}", draw(st.sampled_from(CONSTANTS)) * draw(st.sampled_from([1, -1])))
        for i in range(draw(st.integers(0, 2)))
    ]
    helpers: list = []
    for i in range(draw(st.integers(0, 2))):
        params = [("p", S)] if draw(st.booleans()) else [("p", S), ("q", S)]
        ctx = _Ctx(
            draw,
            {S: [n for n, _ in params]},
            [],
            constants,
            allow_calls=False,
            scalar_only=True,
        )
        stmts = []
        if draw(st.booleans()):
            stmts.append(("r", None, gen(ctx, S, 2)))
            ctx.names[S].append("r")
        helpers.append(Helper(f"g{i}", params, stmts, gen(ctx, S, 2), fuse=True))
    if draw(st.booleans()):
        params = [("a", S), ("b", V)]
        ctx = _Ctx(draw, {S: ["a"], V: ["b"]}, list(helpers), constants)
        ret_shape = draw(st.sampled_from([S, V]))
        helpers.append(Helper("h0", params, [], gen(ctx, ret_shape, 2), fuse=False))

    names = {S: ["x", "y"], V: ["v", "w"], M: ["M"]}
    ctx = _Ctx(draw, names, helpers, constants)
    stmts = []
    temps: dict = {}
    for i in range(draw(st.integers(0, max_stmts))):
        kind = draw(st.integers(0, 5)) if temps else 0
        if kind <= 3:
            shape = draw(st.sampled_from([S, S, V, M]))
            node = gen(ctx, shape, draw(st.integers(1, max_depth)))
            target = f"t{i}"
            stmts.append((target, None, node))
            temps[target] = shape
            names.setdefault(shape, []).append(target)
        elif kind == 4:  # reassignment of an existing temporary, reusing its old value
            target = draw(st.sampled_from(sorted(temps)))
            shape = temps[target]
            old = Node("var", params=(target,), shape=shape)
            node = Node(
                "mul",
                [old, gen(ctx, shape, draw(st.integers(1, max_depth)))],
                shape=shape,
            )
            stmts.append((target, None, node))
        else:  # augmented assignment
            target = draw(st.sampled_from(sorted(temps)))
            shape = temps[target]
            aug = draw(st.sampled_from(["+", "-", "*", "/"]))
            rhs_shape = draw(st.sampled_from([shape, S]))
            rhs = gen(ctx, rhs_shape, draw(st.integers(1, max_depth)))
            if aug == "/":
                rhs = _pos(ctx, rhs)
            stmts.append((target, aug, rhs))
    out_shape = V if vector_output and draw(st.integers(0, 4)) == 0 else S
    ret = gen(ctx, out_shape, draw(st.integers(1, max_depth)))
    if draw(st.booleans()):
        names_all = [n for n, _, _ in FLOAT_INPUTS]
        wrt = tuple(n for n in names_all if draw(st.booleans()))
        wrt = wrt or (draw(st.sampled_from(names_all)),)
    else:
        wrt = ()
    doc = draw(st.sampled_from(["", "", "A random function."]))
    return Program(constants, helpers, stmts, ret, wrt, doc)


@st.composite
def scalar_programs(draw, max_depth: int = 3, max_stmts: int = 3):
    """A smooth program over the two scalars ``x`` and ``y`` only (no helpers, no ``k``):
    its SymPy reading is a plain SymPy expression, input for ``compile_sympy``."""
    names = {S: ["x", "y"]}
    ctx = _Ctx(draw, names, [], [], allow_calls=False, scalar_only=True, smooth=True)
    stmts = []
    for i in range(draw(st.integers(0, max_stmts))):
        target = f"t{i}"
        stmts.append((target, None, gen(ctx, S, draw(st.integers(1, max_depth)))))
        names[S].append(target)
    ret = gen(ctx, S, draw(st.integers(1, max_depth)))
    return Program([], [], stmts, ret, ("x", "y"), "")


# ----------------------------------------------------------------------------- reference


def reference_namespace() -> dict:
    """NumPy meanings of every formula name, so that a test can *run* a formula's text as
    plain NumPy (test code only; the compiler never runs user text)."""

    class _Type:
        def __getitem__(self, item):
            return self

    def _red(fn):
        return functools.wraps(fn)(
            lambda a, axis=None, keepdims=False: fn(a, axis=axis, keepdims=keepdims)
        )

    def softmax(a, axis=-1):
        z = a - np.max(a, axis=axis, keepdims=True)
        ez = np.exp(z)
        return ez / np.sum(ez, axis=axis, keepdims=True)

    def log_softmax(a, axis=-1):
        z = a - np.max(a, axis=axis, keepdims=True)
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))

    def norm(a, axis=None, keepdims=False):
        return np.sqrt(np.sum(np.square(a), axis=axis, keepdims=keepdims))

    def _fuse(fn):
        def elementwise(*args):
            shape = np.broadcast_shapes(*[np.shape(a) for a in args])
            return np.broadcast_to(fn(*args), shape) + 0.0

        return elementwise

    ns = {name: getattr(np, name) for name in NUMPY_NAMES}
    ns.update(
        {
            "np": np,
            "numpy": np,
            "pi": math.pi,
            "e": math.e,
            "sigmoid": _np_sigmoid,
            "softplus": _np_softplus,
            "relu": lambda a: np.maximum(a, 0.0),
            "sum": _red(np.sum),
            "mean": _red(np.mean),
            "max": _red(np.max),
            "min": _red(np.min),
            "logsumexp": _np_logsumexp,
            "norm": norm,
            "softmax": softmax,
            "log_softmax": log_softmax,
            "fuse": _fuse,
            "Scalar": _Type(),
            "Vector": _Type(),
            "Matrix": _Type(),
            "Tensor": _Type(),
            "Index": _Type(),
        }
    )
    return ns
