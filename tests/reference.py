"""A reference interpreter for gradc formula files, independent of gradc.

The formula text is parsed with ``ast`` and each node is mapped straight to the NumPy
function of SPEC section 1 (``@`` -> ``np.matmul``, ``where`` -> ``np.where``, ``sum``
-> ``np.sum``, slicing -> Python slicing, ...). Nothing here imports ``compiler`` or
``cli``: the oracle shares no code with gradc's printer or evaluator.

While it evaluates, the interpreter records every kink it passes (relu/abs at 0, ties
of maximum/minimum/max/min, clip bounds, ``where`` conditions, ``norm`` at 0, a power
of a base at 0): a signed distance and the branch taken. ``reference_grad`` takes
fourth-order central differences of the interpreter in float64 and marks an entry as
unchecked (NaN) when one of its stencil points takes another branch, so a comparison
never straddles a kink.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

import numpy as np

FLOAT_TYPES = {"Scalar", "Vector", "Matrix", "Tensor"}
INDEX_TYPES = {"Index"}
ELEMENTWISE = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "square": np.square,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "erf": np.vectorize(math.erf, otypes=[float]),
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "arcsinh": np.arcsinh,
    "arccosh": np.arccosh,
    "arctanh": np.arctanh,
    "log2": np.log2,
    "log10": np.log10,
}
REDUCTIONS = {"sum", "mean", "max", "min", "logsumexp", "norm"}
#: NumPy's functions for the binary operators, as the operators' syntax
OPERATOR_FUNCTIONS = {
    "add": ast.Add,
    "subtract": ast.Sub,
    "multiply": ast.Mult,
    "divide": ast.Div,
    "true_divide": ast.Div,
    "power": ast.Pow,
    "float_power": ast.Pow,
    "matmul": ast.MatMult,
}
CONSTANTS = {"pi": math.pi, "e": math.e}
KINK_GAP = 1e-6


@dataclass
class Kink:
    """One non-smooth point passed during an evaluation.

    ``gap`` is the distance to the kink (an array), ``branch`` the side taken (an array
    compared between stencil points); ``near`` says whether a gap below ``KINK_GAP``
    makes the whole point irregular (False for powers, whose base may sit exactly at 0
    on purpose: only the stencil's branch test guards them)."""

    op: str
    gap: np.ndarray
    branch: np.ndarray
    near: bool = True


@dataclass
class Function:
    """A parsed ``def``: parameters with their annotations, decorators, body."""

    name: str
    params: list
    annotations: list
    returns: ast.expr
    body: list
    fused: bool = False
    wrt: list | None = None


@dataclass
class Run:
    """The record of one evaluation: kinks passed and ``where`` masks, in order."""

    kinks: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    frozen: list | None = None
    #: slices whose bounds NumPy clamps or that come out empty (``x[:7]`` of 3 elements,
    #: ``x[3:1]``): gradc may refuse these sizes with a ValueError (README, "Choices")
    clamped: list = field(default_factory=list)


def clamped_slices(shape: tuple, index: tuple) -> list:
    """The slices of ``index`` (on an array of ``shape``) with a bound outside ``[-n, n]``
    (NumPy clamps it) or with no element."""
    out, axis = [], 0
    for e in index:
        if e is None:
            continue
        if isinstance(e, slice) and axis < len(shape):
            n = shape[axis]
            used = e.indices(n)[:2]  # the bounds NumPy uses, after clamping
            given = [
                None if b is None else b + n if b < 0 else b for b in (e.start, e.stop)
            ]
            moved = any(g is not None and g != u for g, u in zip(given, used))
            if moved or len(range(n)[e]) == 0:
                out.append((axis, e))
        axis += 1
    return out


class FormulaReference:
    """Evaluates the functions of one formula file with NumPy, node by node."""

    def __init__(self, text: str):
        self.tree = ast.parse(text)
        self.constants = dict(CONSTANTS)
        self.functions: dict[str, Function] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                self.constants[node.targets[0].id] = self._literal(node.value)
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = self._function(node)

    # ------------------------------------------------------------------ parsing
    def _literal(self, node):
        """A module constant: a number, possibly negated."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self._literal(node.operand)
        return node.value

    def _function(self, node: ast.FunctionDef) -> Function:
        """The parts of a ``def`` the interpreter needs."""
        fn = Function(
            node.name,
            [a.arg for a in node.args.args],
            [a.annotation for a in node.args.args],
            node.returns,
            list(node.body),
        )
        for dec in node.decorator_list:
            if isinstance(dec, ast.Name) and dec.id == "fuse":
                fn.fused = True
            elif isinstance(dec, ast.Call) and dec.func.id == "wrt":
                fn.wrt = [a.id for a in dec.args]
        return fn

    def exported(self) -> list[str]:
        """Names of the exported functions (every def without ``@fuse``)."""
        return [n for n, f in self.functions.items() if not f.fused]

    def param_kinds(self, name: str) -> list[str]:
        """``"float"`` or ``"index"`` for each parameter of ``name``."""
        kinds = []
        for ann in self.functions[name].annotations:
            head = ann.value.id if isinstance(ann, ast.Subscript) else ann.id
            kinds.append("index" if head in INDEX_TYPES else "float")
        return kinds

    def wrt(self, name: str) -> list[int]:
        """Positions of the differentiated parameters of ``name``."""
        fn = self.functions[name]
        kinds = self.param_kinds(name)
        if fn.wrt is None:
            return [i for i, k in enumerate(kinds) if k == "float"]
        return [fn.params.index(w) for w in fn.wrt]

    # ------------------------------------------------------------------ running
    def run(self, name: str, args, frozen: list | None = None):
        """Value of function ``name`` at ``args`` and the ``Run`` record.

        With ``frozen`` (the ``masks`` of an earlier run), every ``where`` takes the
        branches it took then: the formula with its untaken branches removed."""
        rec = Run(frozen=frozen)
        with np.errstate(all="ignore"):
            value = self._call(self.functions[name], list(args), rec)
        return value, rec

    def value(self, name: str, args):
        """Value of function ``name`` at ``args``."""
        return self.run(name, args)[0]

    def _call(self, fn: Function, args: list, rec: Run):
        """Bind parameters and dimension names, run the body, return its value."""
        env = {}
        dims = {}
        for pname, ann, arg in zip(fn.params, fn.annotations, args):
            kind = ann.value.id if isinstance(ann, ast.Subscript) else ann.id
            if kind in INDEX_TYPES:
                arr = np.asarray(arg, dtype=np.int64)
            else:
                arr = np.asarray(arg, dtype=np.float64)
            env[pname] = arr
            if isinstance(ann, ast.Subscript):
                sl = ann.slice
                elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
                for dim, size in zip(elts, np.shape(arr)):
                    if isinstance(dim, ast.Name):
                        dims.setdefault(dim.id, int(size))
        scope = {"env": env, "dims": dims}
        return self._block(fn.body, scope, rec)

    def _block(self, body: list, scope: dict, rec: Run):
        """Run statements; return the value of the ``return`` if one is reached."""
        for stmt in body:
            if isinstance(stmt, ast.Expr):
                continue  # docstring
            if isinstance(stmt, ast.Return):
                return self._eval(stmt.value, scope, rec)
            if isinstance(stmt, ast.Assign):
                self._assign(stmt.targets[0], self._eval(stmt.value, scope, rec), scope)
            elif isinstance(stmt, ast.AugAssign):
                old = self._eval(_load(stmt.target), scope, rec)
                new = self._binop(stmt.op, old, self._eval(stmt.value, scope, rec), rec)
                self._assign(stmt.target, new, scope)
            elif isinstance(stmt, ast.For):
                bounds = [self._eval(a, scope, rec) for a in stmt.iter.args]
                for i in range(*[int(b) for b in bounds]):
                    scope["env"][stmt.target.id] = i
                    self._block(stmt.body, scope, rec)
            else:
                raise NotImplementedError(ast.dump(stmt))
        return None

    def _assign(self, target, value, scope: dict):
        """``name = value`` or a functional item update ``a[index] = value``."""
        env = scope["env"]
        if isinstance(target, ast.Name):
            env[target.id] = value
            return
        arr = np.array(env[target.value.id], dtype=np.float64, copy=True)
        arr[self._index(target.slice, scope, Run())] = value
        env[target.value.id] = arr

    # ------------------------------------------------------------------ expressions
    def _eval(self, node, scope: dict, rec: Run):
        """The NumPy value of one expression node."""
        env, dims = scope["env"], scope["dims"]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            for table in (env, dims, self.constants):
                if node.id in table:
                    return table[node.id]
            raise NameError(node.id)
        if isinstance(node, ast.BinOp):
            left = self._eval(node.left, scope, rec)
            right = self._eval(node.right, scope, rec)
            return self._binop(node.op, left, right, rec)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, scope, rec)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Attribute):  # .T, NumPy's sizes, np.pi and np.e
            prefix = getattr(node.value, "id", None) in ("np", "numpy")
            if prefix and node.attr in CONSTANTS:
                return CONSTANTS[node.attr]
            value = np.asarray(self._eval(node.value, scope, rec))
            if node.attr in ("shape", "ndim", "size"):
                return getattr(value, node.attr)
            return np.transpose(value)
        if isinstance(node, ast.Subscript):
            base = np.asarray(self._eval(node.value, scope, rec))
            index = self._index(node.slice, scope, rec)
            rec.clamped += clamped_slices(base.shape, index)
            return base[index]
        if isinstance(node, ast.Tuple | ast.List):
            return tuple(self._eval(e, scope, rec) for e in node.elts)
        if isinstance(node, ast.Call):
            return self._callnode(node, scope, rec)
        if isinstance(
            node, ast.Compare
        ):  # a comparison as a number: NumPy's bool as 0/1
            return self._compare(node, scope, rec).astype(float)
        raise NotImplementedError(ast.dump(node))

    def _index(self, node, scope: dict, rec: Run):
        """A Python index for NumPy: ints, slices, None and integer arrays."""
        elts = node.elts if isinstance(node, ast.Tuple) else [node]
        out = []
        for e in elts:
            if isinstance(e, ast.Slice):
                parts = [
                    None if p is None else int(self._eval(p, scope, rec))
                    for p in (e.lower, e.upper, e.step)
                ]
                out.append(slice(*parts))
            elif isinstance(e, ast.Constant) and e.value is None:
                out.append(None)
            elif isinstance(e, ast.Attribute) and e.attr == "newaxis":  # np.newaxis
                out.append(None)
            else:
                v = self._eval(e, scope, rec)
                out.append(v if isinstance(v, np.ndarray) else int(v))
        return tuple(out)

    def _op_negative(self, args, kw, rec):
        return np.negative(np.asarray(args[0], dtype=float))

    def _binop(self, op, a, b, rec: Run):
        """Arithmetic with NumPy broadcasting; ``@`` is ``np.matmul``."""
        if isinstance(op, ast.Add):
            return np.add(a, b)
        if isinstance(op, ast.Sub):
            return np.subtract(a, b)
        if isinstance(op, ast.Mult):
            return np.multiply(a, b)
        if isinstance(op, ast.Div):
            return np.divide(a, b)
        if isinstance(op, ast.FloorDiv):
            return a // b
        if isinstance(op, ast.MatMult):
            return np.matmul(a, b)
        if isinstance(op, ast.Pow):
            return self._pow(a, b, rec)
        raise NotImplementedError(type(op).__name__)

    def _pow(self, a, b, rec: Run):
        """``a ** b`` in float64; a base at 0 is a kink unless the exponent is a
        constant non-negative integer (then the power is a polynomial)."""
        polynomial = np.ndim(b) == 0 and isinstance(b, int | float) and b >= 0
        polynomial = polynomial and float(b) == int(b)
        if not polynomial:
            base = np.asarray(a, dtype=float)
            rec.kinks.append(Kink("pow", np.abs(base), np.sign(base), near=False))
        return np.power(np.asarray(a, dtype=float), b)

    def _compare(self, node, scope: dict, rec: Run):
        """A comparison (inside ``where`` or as a 0/1 value): the mask, recorded as a kink."""
        left = self._eval(node.left, scope, rec)
        right = self._eval(node.comparators[0], scope, rec)
        op = node.ops[0]
        table = {ast.Lt: np.less, ast.LtE: np.less_equal}
        table.update({ast.Gt: np.greater, ast.GtE: np.greater_equal})
        table.update({ast.Eq: np.equal, ast.NotEq: np.not_equal})
        mask = np.asarray(table[type(op)](left, right))
        gap = np.abs(np.subtract(left, right, dtype=float))
        rec.kinks.append(Kink("where", gap, mask))
        return mask

    def _callnode(self, node: ast.Call, scope: dict, rec: Run):
        """A call of a built-in operation or of a helper defined above."""
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id
        if name == "where":
            cond = self._compare(node.args[0], scope, rec)
            if rec.frozen is not None:
                cond = rec.frozen[len(rec.masks)]
            rec.masks.append(cond)
            a = self._eval(node.args[1], scope, rec)
            b = self._eval(node.args[2], scope, rec)
            return np.where(cond, a, b)
        args = [self._eval(a, scope, rec) for a in node.args]
        kw = {k.arg: self._eval(k.value, scope, rec) for k in node.keywords}
        if name in self.functions:
            return self._call(self.functions[name], args, rec)
        return self._builtin(name, args, kw, rec)

    def _builtin(self, name: str, args: list, kw: dict, rec: Run):
        """One built-in operation of SPEC section 1, in NumPy."""
        if name in ELEMENTWISE:
            return ELEMENTWISE[name](np.asarray(args[0], dtype=float))
        if name == "norm":  # np.linalg.norm(x, ord=None, axis=None, keepdims=False)
            ord_, axis, keepdims = (
                kw.get(key, args[k] if len(args) > k else default)
                for k, key, default in (
                    (1, "ord", None),
                    (2, "axis", None),
                    (3, "keepdims", False),
                )
            )
            if (
                ord_ is not None
            ):  # NumPy's own: refuses 'fro' of a vector, 2 of three axes
                x = np.asarray(args[0], dtype=float)
                axis = tuple(axis) if isinstance(axis, list) else axis
                out = np.linalg.norm(x, ord=ord_, axis=axis, keepdims=bool(keepdims))
                rec.kinks.append(
                    Kink("norm", np.abs(out), np.ones(np.shape(out), bool))
                )
                return out
            return self._reduce(name, args[0], axis, keepdims, rec)
        if name in OPERATOR_FUNCTIONS:  # np.multiply(a, b): a * b
            return self._binop(OPERATOR_FUNCTIONS[name](), *args, rec)
        if name in REDUCTIONS:
            axis = kw.get("axis", args[1] if len(args) > 1 else None)
            return self._reduce(name, args[0], axis, kw.get("keepdims", False), rec)
        handler = getattr(self, "_op_" + name, None)
        if handler is None:
            raise NotImplementedError(name)
        return handler(args, kw, rec)

    # ---- elementwise with kinks
    def _op_abs(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        rec.kinks.append(Kink("abs", np.abs(x), x > 0))
        return np.abs(x)

    def _op_relu(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        rec.kinks.append(Kink("relu", np.abs(x), x > 0))
        return np.maximum(x, 0.0)

    def _op_sign(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        rec.kinks.append(Kink("sign", np.abs(x), np.sign(x)))
        return np.sign(x)

    def _op_expand_dims(self, args, kw, rec):
        return np.expand_dims(np.asarray(args[0], dtype=float), *args[1:], **kw)

    def _op_squeeze(self, args, kw, rec):
        return np.squeeze(np.asarray(args[0], dtype=float), *args[1:], **kw)

    def _op_swapaxes(self, args, kw, rec):
        return np.swapaxes(np.asarray(args[0], dtype=float), *args[1:])

    def _op_moveaxis(self, args, kw, rec):
        return np.moveaxis(np.asarray(args[0], dtype=float), *args[1:])

    def _op_diag(self, args, kw, rec):
        return np.diag(np.asarray(args[0], dtype=float)).copy()

    def _op_trace(self, args, kw, rec):
        return np.trace(np.asarray(args[0], dtype=float))

    def _op_flip(self, args, kw, rec):
        return np.flip(np.asarray(args[0], dtype=float), *args[1:], **kw)

    def _op_len(self, args, kw, rec):
        return len(args[0])

    def _op_logaddexp(self, args, kw, rec):
        return np.logaddexp(*(np.asarray(a, dtype=float) for a in args))

    def _op_arctan2(self, args, kw, rec):
        """``np.arctan2(y, x)``: a kink at the origin and a jump across y = 0 where x < 0."""
        y, x = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in args))
        radius = np.hypot(x, y)
        gap = np.where(x < 0, np.minimum(np.abs(y), radius), radius)
        rec.kinks.append(Kink("arctan2", gap, np.where(x < 0, y >= 0, True)))
        return np.arctan2(y, x)

    def _op_var(self, args, kw, rec):
        """``np.var(x, axis, ddof=, keepdims=)``."""
        x = np.asarray(args[0], dtype=float)
        axis = kw.get("axis", args[1] if len(args) > 1 else None)
        axis = tuple(axis) if isinstance(axis, list) else axis
        return np.var(
            x, axis=axis, ddof=kw.get("ddof", 0), keepdims=bool(kw.get("keepdims"))
        )

    def _op_std(self, args, kw, rec):
        """``np.std``; a constant input (std 0) is a kink, as ``norm`` at 0."""
        out = np.sqrt(self._op_var(args, kw, rec))
        rec.kinks.append(Kink("std", np.abs(out), np.ones(np.shape(out), bool)))
        return out

    def _op_einsum(self, args, kw, rec):
        """``np.einsum(subscripts, *operands)``."""
        return np.einsum(args[0], *(np.asarray(a, dtype=float) for a in args[1:]))

    def _op_sigmoid(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        return 1.0 / (1.0 + np.exp(-x))

    def _op_softplus(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)

    def _op_maximum(self, args, kw, rec):
        a, b = (np.asarray(v, dtype=float) for v in args)
        rec.kinks.append(Kink("maximum", np.abs(a - b), a > b))
        return np.maximum(a, b)

    def _op_minimum(self, args, kw, rec):
        a, b = (np.asarray(v, dtype=float) for v in args)
        rec.kinks.append(Kink("minimum", np.abs(a - b), a < b))
        return np.minimum(a, b)

    def _op_clip(self, args, kw, rec):
        """``np.clip`` written as NumPy defines it: minimum(maximum(x, lo), hi); a bound
        by position or keyword (``a_min``/``min``, ``a_max``/``max``), and one that is
        None or not given is no bound."""
        lo, hi = [*args[1:], None, None][:2]
        for key, v in kw.items():
            lo, hi = (v, hi) if key in ("a_min", "min") else (lo, v)
        out = x = np.asarray(args[0], dtype=float)
        if lo is not None:
            lo = np.asarray(lo, dtype=float)
            rec.kinks.append(Kink("clip", np.abs(x - lo), x > lo))
            out = np.maximum(x, lo)
        if hi is not None:
            hi = np.asarray(hi, dtype=float)
            rec.kinks.append(Kink("clip", np.abs(out - hi), out < hi))
            out = np.minimum(out, hi)
        return out

    # ---- reductions and composites
    def _reduce(self, name, x, axis, keepdims, rec: Run):
        """``sum mean max min logsumexp norm`` over ``axis`` (int, tuple or None)."""
        x = np.asarray(x, dtype=float)
        if isinstance(axis, list):
            axis = tuple(axis)
        keepdims = bool(keepdims)
        if name == "sum":
            return np.sum(x, axis=axis, keepdims=keepdims)
        if name == "mean":
            return np.mean(x, axis=axis, keepdims=keepdims)
        if name in ("max", "min"):
            self._record_extremum(name, x, axis, rec)
            fn = np.max if name == "max" else np.min
            return fn(x, axis=axis, keepdims=keepdims)
        if name == "logsumexp":
            m = np.max(x, axis=axis, keepdims=True)
            m = np.where(np.isfinite(m), m, 0.0)
            out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
            return out if keepdims else np.squeeze(out, axis=_axes(axis, x.ndim))
        if name == "norm":
            out = np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
            rec.kinks.append(Kink("norm", np.abs(out), np.ones(np.shape(out), bool)))
            return out
        raise NotImplementedError(name)

    def _record_extremum(self, name, x, axis, rec: Run):
        """The gap between the extremum and the runner-up, and the arg-extremum."""
        axes = _axes(axis, x.ndim)
        rest = [i for i in range(x.ndim) if i not in axes]
        flat = np.transpose(x, rest + list(axes)).reshape(
            [x.shape[i] for i in rest] + [-1]
        )
        if name == "min":
            flat = -flat
        order = np.sort(flat, axis=-1)
        gap = order[..., -1] - order[..., -2] if flat.shape[-1] > 1 else None
        if gap is None:
            gap = np.full(flat.shape[:-1], np.inf)
        rec.kinks.append(Kink(name, gap, np.argmax(flat, axis=-1)))

    def _op_softmax(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        axis = kw.get("axis", args[1] if len(args) > 1 else -1)
        z = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return z / np.sum(z, axis=axis, keepdims=True)

    def _op_log_softmax(self, args, kw, rec):
        x = np.asarray(args[0], dtype=float)
        axis = kw.get("axis", args[1] if len(args) > 1 else -1)
        s = x - np.max(x, axis=axis, keepdims=True)
        return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))

    # ---- shape
    def _op_transpose(self, args, kw, rec):
        axes = kw.get("axes", args[1] if len(args) > 1 else None)
        return np.transpose(args[0], axes)

    def _op_reshape(self, args, kw, rec):
        shape = kw.get("shape", args[1] if len(args) > 1 else None)
        if not isinstance(shape, tuple):
            shape = (shape,)
        return np.reshape(args[0], tuple(int(s) for s in shape))

    def _op_concatenate(self, args, kw, rec):
        axis = kw.get("axis", args[1] if len(args) > 1 else 0)
        return np.concatenate([np.asarray(a, dtype=float) for a in args[0]], axis=axis)

    def _op_stack(self, args, kw, rec):
        axis = kw.get("axis", args[1] if len(args) > 1 else 0)
        return np.stack([np.asarray(a, dtype=float) for a in args[0]], axis=axis)

    def _op_dot(self, args, kw, rec):
        return np.dot(np.asarray(args[0], float), np.asarray(args[1], float))

    def _op_outer(self, args, kw, rec):
        return np.outer(np.asarray(args[0], float), np.asarray(args[1], float))

    def _op_arange(self, args, kw, rec):
        return np.arange(int(args[0]))

    def _op_zeros(self, args, kw, rec):
        shape = args[0] if isinstance(args[0], tuple) else (args[0],)
        return np.zeros(tuple(int(s) for s in shape))

    def _op_zeros_like(self, args, kw, rec):
        return np.zeros(np.shape(args[0]))

    def _op_ones_like(self, args, kw, rec):
        return np.ones(np.shape(args[0]))

    def _op_ones(self, args, kw, rec):
        return self._op_zeros(args, kw, rec) + 1.0

    def _op_eye(self, args, kw, rec):
        return np.eye(int(args[0]))

    def _op_identity(self, args, kw, rec):
        return np.identity(int(args[0]))

    def _op_full(self, args, kw, rec):
        return np.full(args[0], np.asarray(args[1], dtype=float))

    def _op_full_like(self, args, kw, rec):
        return np.full(np.shape(args[0]), np.asarray(args[1], dtype=float))

    # ---- NumPy's other spellings, each as NumPy computes it
    def _op_amax(self, args, kw, rec):
        axis = kw.get("axis", args[1] if len(args) > 1 else None)
        return self._reduce("max", args[0], axis, kw.get("keepdims", False), rec)

    def _op_amin(self, args, kw, rec):
        axis = kw.get("axis", args[1] if len(args) > 1 else None)
        return self._reduce("min", args[0], axis, kw.get("keepdims", False), rec)

    def _op_average(self, args, kw, rec):
        axis = kw.get("axis", args[1] if len(args) > 1 else None)
        axis = tuple(axis) if isinstance(axis, list) else axis
        return np.average(np.asarray(args[0], dtype=float), axis=axis)

    def _op_fabs(self, args, kw, rec):
        return self._op_abs(args, kw, rec)

    def _op_reciprocal(self, args, kw, rec):
        return self._binop(ast.Div(), 1.0, args[0], rec)

    def _op_hstack(self, args, kw, rec):
        return np.hstack([np.asarray(a, dtype=float) for a in args[0]])

    def _op_vstack(self, args, kw, rec):
        return np.vstack([np.asarray(a, dtype=float) for a in args[0]])

    def _op_column_stack(self, args, kw, rec):
        return np.column_stack([np.asarray(a, dtype=float) for a in args[0]])

    def _op_ravel(self, args, kw, rec):
        return np.ravel(np.asarray(args[0], dtype=float)).copy()

    def _op_diff(self, args, kw, rec):
        return np.diff(np.asarray(args[0], dtype=float), *args[1:], **kw)

    def _op_roll(self, args, kw, rec):
        """``np.roll``: a shift past the axis's length wraps around in NumPy, where
        gradc may refuse a named length shorter than the shift (README, "Choices")."""
        x = np.asarray(args[0], dtype=float)
        shift = kw.get("shift", args[1] if len(args) > 1 else 0)
        axis = kw.get("axis", args[2] if len(args) > 2 else None)
        length = x.size if axis is None else x.shape[axis]
        if abs(shift) > length:
            rec.clamped.append(("roll", shift))
        return np.roll(x, shift, axis)

    def _op_cumsum(self, args, kw, rec):
        axis = kw.get("axis", args[1] if len(args) > 1 else None)
        return np.cumsum(np.asarray(args[0], dtype=float), axis=axis)

    def _op_inv(self, args, kw, rec):
        return np.linalg.inv(np.asarray(args[0], dtype=float))

    def _op_det(self, args, kw, rec):
        return np.linalg.det(np.asarray(args[0], dtype=float))

    def _op_solve(self, args, kw, rec):
        return np.linalg.solve(
            np.asarray(args[0], dtype=float), np.asarray(args[1], dtype=float)
        )

    def _op_cholesky(self, args, kw, rec):
        return np.linalg.cholesky(np.asarray(args[0], dtype=float))

    def _op_tril(self, args, kw, rec):
        k = kw.get("k", args[1] if len(args) > 1 else 0)
        return np.tril(np.asarray(args[0], dtype=float), k)

    def _op_triu(self, args, kw, rec):
        k = kw.get("k", args[1] if len(args) > 1 else 0)
        return np.triu(np.asarray(args[0], dtype=float), k)

    def _op_absolute(self, args, kw, rec):
        return self._op_abs(args, kw, rec)

    def _op_deg2rad(self, args, kw, rec):
        return np.deg2rad(np.asarray(args[0], dtype=float))

    def _op_radians(self, args, kw, rec):
        return np.radians(np.asarray(args[0], dtype=float))

    def _op_rad2deg(self, args, kw, rec):
        return np.rad2deg(np.asarray(args[0], dtype=float))

    def _op_degrees(self, args, kw, rec):
        return np.degrees(np.asarray(args[0], dtype=float))

    def _op_exp2(self, args, kw, rec):
        return np.exp2(np.asarray(args[0], dtype=float))

    def _op_tile(self, args, kw, rec):
        return np.tile(np.asarray(args[0], dtype=float), args[1])

    def _op_repeat(self, args, kw, rec):
        return np.repeat(np.asarray(args[0], dtype=float), *args[1:], **kw)

    def _op_kron(self, args, kw, rec):
        return np.kron(*(np.asarray(a, dtype=float) for a in args))

    def _op_tensordot(self, args, kw, rec):
        a, b = (np.asarray(v, dtype=float) for v in args[:2])
        return np.tensordot(a, b, *args[2:], **kw)

    def _op_inner(self, args, kw, rec):
        return np.inner(*(np.asarray(a, dtype=float) for a in args))

    def _op_vdot(self, args, kw, rec):
        return np.vdot(*(np.asarray(a, dtype=float) for a in args))

    # ---- convolution and pooling, written as loops over the output
    def _op_conv2d(self, args, kw, rec):
        x, w = (np.asarray(a, dtype=float) for a in args[:2])
        stride = int(kw.get("stride", args[2] if len(args) > 2 else 1))
        pad = int(kw.get("pad", args[3] if len(args) > 3 else 0))
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        n, _, h, wd = x.shape
        f, _, kh, kw_ = w.shape
        oh, ow = (h - kh) // stride + 1, (wd - kw_) // stride + 1
        out = np.zeros((n, f, oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = x[
                    :, :, i * stride : i * stride + kh, j * stride : j * stride + kw_
                ]
                out[:, :, i, j] = np.einsum("nchw,fchw->nf", win, w)
        return out

    def _pool(self, args, kw, rec, kind):
        x = np.asarray(args[0], dtype=float)
        size = int(kw["size"] if "size" in kw else args[1])
        stride = int(kw.get("stride", args[2] if len(args) > 2 else size))
        oh = (x.shape[-2] - size) // stride + 1
        ow = (x.shape[-1] - size) // stride + 1
        out = np.zeros(x.shape[:-2] + (oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = x[
                    ..., i * stride : i * stride + size, j * stride : j * stride + size
                ]
                win = win.reshape(x.shape[:-2] + (-1,))
                if kind == "max":
                    self._record_extremum("max", win, -1, rec)
                    out[..., i, j] = np.max(win, axis=-1)
                else:
                    out[..., i, j] = np.mean(win, axis=-1)
        return out

    def _op_max_pool2d(self, args, kw, rec):
        return self._pool(args, kw, rec, "max")

    def _op_avg_pool2d(self, args, kw, rec):
        return self._pool(args, kw, rec, "avg")


def _load(target):
    """The load-context twin of an assignment target (for ``x += ...``)."""
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    return ast.Subscript(value=_load(target.value), slice=target.slice, ctx=ast.Load())


def _axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple, possibly negative) as a tuple of positive axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim for a in axis))


# ----------------------------------------------------------------------------- kinks


def near_kink(rec: Run, gap: float = KINK_GAP) -> bool:
    """Whether the evaluation passed within ``gap`` of a kink."""
    for k in rec.kinks:
        if k.near and np.size(k.gap) and np.min(k.gap) < gap:
            return True
    return False


def kink_kinds(rec: Run, gap: float = KINK_GAP) -> set:
    """The operations whose kinks the evaluation passed within ``gap`` of."""
    return {
        k.op for k in rec.kinks if k.near and np.size(k.gap) and np.min(k.gap) < gap
    }


def same_branches(a: Run, b: Run) -> bool:
    """Whether two evaluations of the same formula took the same branch at every kink."""
    if len(a.kinks) != len(b.kinks):
        return False
    return all(
        np.shape(x.branch) == np.shape(y.branch) and np.array_equal(x.branch, y.branch)
        for x, y in zip(a.kinks, b.kinks)
    )


# ----------------------------------------------------------------------------- gradients

FD_STEP = 1e-3


def _scalarize(value, cotangent) -> float:
    """``value`` itself (a scalar) or ``<cotangent, value>``."""
    if cotangent is None:
        return float(value)
    return float(np.sum(np.asarray(cotangent) * np.asarray(value)))


def step_scale(arrays) -> float:
    """The input scale a difference step is multiplied by: the largest root mean
    square of ``arrays``, clipped to [1, 10] (larger steps would cost accuracy on
    shift-invariant functions such as logsumexp of values near 1000)."""
    rms = [float(np.sqrt(np.mean(np.square(a)))) for a in arrays if np.size(a)]
    return min(max([1.0] + rms), 10.0)


def reference_grad(
    ref: FormulaReference,
    name: str,
    args: list,
    cotangent=None,
    frozen: bool = False,
    step: float = FD_STEP,
):
    """Fourth-order central differences of ``name`` (or of ``<cotangent, name>``) with
    respect to every differentiated input, in float64.

    The step is ``step * step_scale(input)``. An entry is NaN (unchecked) when a
    stencil point takes another branch at some kink than the centre, when a stencil
    value is not finite, or when the estimates with steps h and h/2 disagree (the
    function varies too fast there for differences to be trusted); otherwise it is the
    two extrapolated (Richardson, ``(16 fine - coarse) / 15``): at seed 154564 of the
    language oracle, a stationary point of ``t cos t`` at t = 27 where the gradient is
    3e-3 of its terms, the h/2 estimate alone was 1e-8 off (gradc's matched the gradient
    written by hand to 4e-19). With ``frozen``,
    each ``where`` keeps the branches of the centre (its untaken branches removed)."""
    _, centre = ref.run(name, args)
    masks = centre.masks if frozen else None
    grads = []
    for pos in ref.wrt(name):
        base = np.asarray(args[pos], dtype=float)
        scale = step_scale([base])
        out = np.full(base.shape, np.nan)
        for i in np.ndindex(base.shape):
            coarse = _stencil(
                ref, name, args, pos, i, step * scale, cotangent, centre, masks
            )
            fine = _stencil(
                ref, name, args, pos, i, step * scale / 2, cotangent, centre, masks
            )
            if coarse is None or fine is None:
                continue
            if abs(coarse - fine) <= 1e-7 * max(1.0, abs(fine)):
                out[i] = (16.0 * fine - coarse) / 15.0  # Richardson: h ** 4 cancels
        grads.append(out)
    return grads


def _stencil(ref, name, args, pos, i, h, cotangent, centre, masks):
    """One fourth-order central difference, or None across a kink or a non-finite."""
    base = np.asarray(args[pos], dtype=float)
    vals = []
    for k in (2, 1, -1, -2):
        x = base.copy()
        x[i] += k * h
        trial = list(args)
        trial[pos] = x if base.shape else float(x)
        value, rec = ref.run(name, trial, frozen=masks)
        if masks is None and not same_branches(rec, centre):
            return None
        v = _scalarize(value, cotangent)
        if not math.isfinite(v):
            return None
        vals.append(v)
    return (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)


def directional_derivative(
    ref: FormulaReference, name: str, args: list, directions, step: float = FD_STEP
):
    """``d/dt f(x + t v)`` at 0 by fourth-order central differences with steps h and
    h/2, extrapolated (Richardson, ``(16 fine - coarse) / 15``: the h**4 terms cancel,
    where a fifth derivative of 1.8e5 along ``v`` leaves 1.3e-9 in the finer estimate,
    seed 30574), an array of the output's shape; or None if a stencil point takes
    another branch or is not finite, or if the two estimates disagree.
    ``directions`` has one array per differentiated input."""
    _, centre = ref.run(name, args)
    positions = ref.wrt(name)
    h = step * step_scale([args[p] for p in positions])
    coarse = _directional(ref, name, args, positions, directions, h, centre)
    fine = _directional(ref, name, args, positions, directions, h / 2, centre)
    if coarse is None or fine is None:
        return None
    if np.any(np.abs(coarse - fine) > 1e-7 * np.maximum(1.0, np.abs(fine))):
        return None
    return (16.0 * fine - coarse) / 15.0


def _directional(ref, name, args, positions, directions, h, centre):
    """One fourth-order central difference along ``directions``, or None."""
    vals = []
    for k in (2, 1, -1, -2):
        trial = list(args)
        for p, d in zip(positions, directions):
            moved = np.asarray(args[p], dtype=float) + k * h * np.asarray(d)
            trial[p] = moved if np.ndim(moved) else float(moved)
        value, rec = ref.run(name, trial)
        if not same_branches(rec, centre):
            return None
        value = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(value)):
            return None
        vals.append(value)
    return (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
