"""Per-operation gradient table: every operation of SPEC section 1 in a one-line formula.

Each case is a tiny ``.grad`` text ``def f(<inputs>) -> <type>: return <expr>``.  The same
expression is also evaluated directly with NumPy/SciPy (the reference below), and

* the compiled value must equal the reference value (shape and numbers);
* the gradient of every float input (``f_grad`` for a scalar output, ``f_backward`` with a
  random upstream gradient otherwise) must equal central finite differences of the
  *reference* in float64;
* the VJP dot-product identity ``<u, J v> = <J^T u, v>`` must hold, ``J v`` by finite
  differences.

Inputs are drawn inside each operation's domain and away from its kinks and ties (the
conventions at kinks and ties are pinned in test_conventions.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pytest
from gradcheck import (
    as_grad_list,
    assert_dot_product,
    assert_fd_close,
    central_diff_grad,
    central_diff_vjp,
    dot_product_test,
)
from numpy_namespace import NAMESPACE

import gradc

# --- input generators: rng -> array (a 0-d shape gives a Python float) ----------------------------


@dataclass(frozen=True)
class Gen:
    kind: str  # normal, pos, kink, grid, uniform, fixed, index
    shape: tuple = ()  # ints or dimension names
    lo: float = 0.0
    hi: float = 1.0
    offset: float = 0.0
    value: tuple = ()

    def annotation(self) -> str:
        dims = ", ".join(str(d) for d in self.shape)
        if self.kind == "index":
            return f"Index[{dims}]" if self.shape else "Index"
        n = len(self.shape)
        if n == 0:
            return "Scalar"
        return {1: "Vector", 2: "Matrix"}.get(n, "Tensor") + f"[{dims}]"

    def draw(self, rng, dims):
        shape = tuple(dims[d] if isinstance(d, str) else d for d in self.shape)
        size = int(np.prod(shape))
        if self.kind == "normal":
            a = rng.standard_normal(shape)
        elif self.kind == "pos":  # positive, for log, sqrt, division, fractional powers
            a = rng.uniform(0.5, 2.0, shape)
        elif self.kind == "kink":  # |x| >= 0.2: away from the kink at 0
            a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.5, shape)
        elif (
            self.kind == "grid"
        ):  # distinct entries 0.3 apart (+-0.03) shifted by `offset`
            a = 0.3 * (rng.permutation(size) - size // 2) + self.offset
            a = (a + rng.uniform(-0.03, 0.03, size)).reshape(shape)
        elif self.kind == "uniform":
            a = rng.uniform(self.lo, self.hi, shape)
        elif self.kind == "fixed":
            a = np.array(self.value, dtype=np.float64).reshape(shape)
        elif self.kind == "index":
            return np.array(self.value, dtype=np.int64).reshape(shape)
        else:
            raise AssertionError(self.kind)
        return float(a) if shape == () else a


def R(*shape):
    return Gen("normal", shape)


def P(*shape):
    return Gen("pos", shape)


def K(*shape):
    return Gen("kink", shape)


def G(*shape, offset=0.0):
    return Gen("grid", shape, offset=offset)


def U(lo, hi, *shape):
    return Gen("uniform", shape, lo=lo, hi=hi)


def F(value, *shape):
    return Gen("fixed", shape, value=tuple(np.ravel(value)))


def Ix(values, *shape):
    values = np.asarray(values)
    return Gen("index", shape or values.shape, value=tuple(values.ravel().tolist()))


# --- the NumPy/SciPy reference namespace: tests/numpy_namespace.py


def _type_of(shape) -> str:
    if shape == ():
        return "Scalar"
    body = ", ".join(str(s) for s in shape)
    return {1: "Vector", 2: "Matrix"}.get(len(shape), "Tensor") + f"[{body}]"


@dataclass(frozen=True)
class Case:
    id: str
    expr: str
    inputs: dict
    ret: str | None = (
        None  # return annotation; derived from the reference when all dims are ints
    )
    dims: dict = field(default_factory=dict)  # sizes of named dimensions
    prelude: str = ""  # module-level text before `def f`
    body: str = ""  # statements before `return <expr>`
    ref: object = None  # callable(**inputs) overriding the eval of `expr`

    def names(self):
        return list(self.inputs)

    def reference(self, args):
        kw = dict(zip(self.names(), args, strict=True))
        if self.ref is not None:
            return np.asarray(self.ref(**kw), dtype=np.float64)
        ns = dict(NAMESPACE, **self.dims, **kw)
        return np.asarray(eval(self.expr, ns), dtype=np.float64)

    def point(self, seed: int):
        rng = np.random.default_rng(seed)
        return [g.draw(rng, self.dims) for g in self.inputs.values()]

    def source(self) -> str:
        params = ", ".join(f"{n}: {g.annotation()}" for n, g in self.inputs.items())
        ret = self.ret
        if ret is None:
            shape = self.reference(self.point(0)).shape
            ret = _type_of(shape)
        lines = [self.prelude, f"def f({params}) -> {ret}:"]
        lines += [f"    {s}" for s in self.body.splitlines() if s.strip()]
        lines.append(f"    return {self.expr}")
        return "\n".join(lines) + "\n"

    def wrt(self):
        return [i for i, g in enumerate(self.inputs.values()) if g.kind != "index"]


def C(id, expr, **inputs):
    opts = {
        k: inputs.pop(k)
        for k in ("ret", "dims", "prelude", "body", "ref")
        if k in inputs
    }
    return Case(id, expr, inputs, **opts)


A, B = R(3, 4), R(3, 4)  # shared default matrices
V4, V3, S = R(4), R(3), R()
DUP5 = Ix([0, 2, 2, 1, 0])  # repeated indices: the backward pass must scatter-add

CASES = [
    # ---- arithmetic and broadcasting
    C("add_mat_mat", "a + b", a=A, b=B),
    C("add_mat_vec", "a + v", a=A, v=V4),
    C("add_vec_mat", "v + a", v=V4, a=A),
    C("add_col_row", "c + r", c=R(3, 1), r=R(1, 4)),
    C("add_mat_scalar", "a + s", a=A, s=S),
    C("add_scalar_mat", "s + a", s=S, a=A),
    C("add_scalar_scalar", "s + t", s=S, t=R()),
    C("add_const", "a + 2.5", a=A),
    C("add_tensor_mat", "t + a", t=R(2, 3, 4), a=A),
    C("sub_mat_mat", "a - b", a=A, b=B),
    C("sub_mat_vec", "a - v", a=A, v=V4),
    C("sub_vec_mat", "v - a", v=V4, a=A),
    C("sub_scalar_mat", "s - a", s=S, a=A),
    C("sub_const_left", "1 - a", a=A),
    C("sub_same_input", "a - a * a", a=A),
    C("mul_mat_mat", "a * b", a=A, b=B),
    C("mul_mat_scalar", "a * s", a=A, s=S),
    C("mul_scalar_mat", "s * a", s=S, a=A),
    C("mul_mat_vec", "a * v", a=A, v=V4),
    C("mul_col_row", "c * r", c=R(3, 1), r=R(1, 4)),
    C("mul_tensor_vec", "t * v", t=R(2, 3, 4), v=V4),
    C("mul_tensor_mat", "t * a", t=R(2, 3, 4), a=A),
    C("mul_const", "3 * a * 0.5", a=A),
    C("mul_self", "a * a", a=A),
    C("div_mat_mat", "a / p", a=A, p=P(3, 4)),
    C("div_mat_vec", "a / p", a=A, p=P(4)),
    C("div_vec_scalar", "v / p", v=V4, p=P()),
    C("div_scalar_vec", "s / p", s=S, p=P(4)),
    C("div_const_num", "2 / p", p=P(3, 4)),
    C("div_const_den", "a / 4.0", a=A),
    C("pow_2", "a ** 2", a=A),
    C("pow_3", "a ** 3", a=A),
    C("pow_neg_int", "k ** -2", k=K(3, 4)),
    C("pow_half", "p ** 0.5", p=P(3, 4)),
    C("pow_neg_frac", "p ** -1.5", p=P(3, 4)),
    C("pow_tensor_exp", "p ** a", p=P(3, 4), a=A),
    C("pow_scalar_exp", "p ** s", p=P(3, 4), s=S),
    C("pow_vec_exp_broadcast", "p ** v", p=P(3, 4), v=V4),
    C("pow_const_base", "2 ** a", a=A),
    C("neg", "-a", a=A),
    C("neg_expr", "-(a * b) + -s", a=A, b=B, s=S),
    C("precedence", "a * b + a / p - 2 * s ** 2", a=A, b=B, p=P(3, 4), s=S),
    C("matmul_mat_mat", "a @ m", a=A, m=R(4, 5)),
    C("matmul_mat_vec", "a @ v", a=A, v=V4),
    C("matmul_vec_mat", "w @ a", w=V3, a=A),
    C("matmul_vec_vec", "v @ u", v=V4, u=R(4)),
    C("matmul_gram", "a.T @ a", a=A),
    C("matmul_chain", "w @ a @ m @ u", w=V3, a=A, m=R(4, 5), u=R(5)),
    # ---- elementwise
    C("exp", "exp(a)", a=A),
    C("log", "log(p)", p=P(3, 4)),
    C("log1p", "log1p(x)", x=U(-0.5, 2.0, 3, 4)),
    C("expm1", "expm1(a)", a=A),
    C("sqrt", "sqrt(p)", p=P(3, 4)),
    C("square", "square(a)", a=A),
    C("abs", "abs(k)", k=K(3, 4)),
    C("sin", "sin(a)", a=A),
    C("cos", "cos(a)", a=A),
    C("tan", "tan(x)", x=U(-1.2, 1.2, 3, 4)),
    C("tanh", "tanh(a)", a=A),
    C("arcsin", "arcsin(x)", x=U(-0.9, 0.9, 3, 4)),
    C("arccos", "arccos(x)", x=U(-0.9, 0.9, 3, 4)),
    C("arctan", "arctan(a)", a=A),
    C("sinh", "sinh(a)", a=A),
    C("cosh", "cosh(a)", a=A),
    C("arcsinh", "arcsinh(a)", a=A),
    C("arccosh", "arccosh(x)", x=U(1.1, 3.0, 3, 4)),
    C("cumsum_vector", "cumsum(v)", v=V4),
    C("cumsum_flat", "cumsum(a)", a=A),
    C("cumsum_rows", "cumsum(a, axis=0)", a=A),
    C("cumsum_cols", "np.cumsum(a, axis=-1)", a=A),
    C("cumsum_scalar", "cumsum(s)", s=S),
    C("arctanh", "arctanh(x)", x=U(-0.9, 0.9, 3, 4)),
    C("arccosh_scalar", "arccosh(1.0 + s * s) * arctanh(0.5 * tanh(s))", s=S),
    C("log2", "log2(p)", p=P(3, 4)),
    C("log10", "log10(p)", p=P(3, 4)),
    C("arcsin_scalar", "arcsin(x) * x", x=U(-0.9, 0.9)),
    C("cosh_scalar", "cosh(s) + log10(s * s + 1)", s=S),
    C("logaddexp_xy", "logaddexp(x, y)", x=A, y=A),
    C("logaddexp_broadcast", "logaddexp(x, v)", x=A, v=G(4)),
    C("logaddexp_zero", "logaddexp(0.0, x)", x=A),
    C("logaddexp_scalars", "logaddexp(s, t)", s=S, t=F(0.3)),
    C("sigmoid", "sigmoid(x)", x=U(-4.0, 4.0, 3, 4)),
    C("softplus", "softplus(x)", x=U(-4.0, 4.0, 3, 4)),
    C("relu", "relu(k)", k=K(3, 4)),
    C("exp_scalar", "exp(s) * s", s=S),
    C("log_vector", "log(p)", p=P(5)),
    C("maximum_xy", "maximum(x, y)", x=G(3, 4), y=G(3, 4, offset=0.15)),
    C("maximum_x_const", "maximum(x, 0)", x=G(3, 4, offset=0.15)),
    C("maximum_const_x", "maximum(0.3, x)", x=G(3, 4, offset=0.15)),
    C("maximum_broadcast", "maximum(x, v)", x=G(3, 4), v=G(4, offset=0.15)),
    C("minimum_xy", "minimum(x, y)", x=G(3, 4), y=G(3, 4, offset=0.15)),
    C("minimum_x_const", "minimum(x, 1.0)", x=G(3, 4, offset=0.15)),
    C("minimum_scalar_broadcast", "minimum(x, s)", x=G(3, 4), s=F(0.15)),
    C("clip_const", "clip(x, -0.5, 0.5)", x=G(3, 4, offset=0.15)),
    C("clip_inputs", "clip(x, lo, hi)", x=G(3, 4, offset=0.15), lo=F(-0.5), hi=F(0.5)),
    C("where_gt", "where(k > 0, k ** 2, sin(k))", k=K(3, 4)),
    C("where_lt_xy", "where(x < y, x * y, x - y)", x=G(3, 4), y=G(3, 4, offset=0.15)),
    C("where_le", "where(x <= 0.2, exp(x), 1 + x)", x=G(3, 4, offset=0.15)),
    C("where_ge", "where(x >= y, x, 2 * y)", x=G(3, 4), y=G(3, 4, offset=0.15)),
    C("where_const_branch", "where(k > 0, k, 0)", k=K(3, 4)),
    C("where_broadcast", "where(k > 0, k, v)", k=K(3, 4), v=V4),
    C("where_scalar_cond", "where(s > 0, a, -a)", s=F(0.7), a=A),
    # ---- composites
    C("softmax", "softmax(a)", a=A),
    C("softmax_axis0", "softmax(a, axis=0)", a=A),
    C("softmax_axis1", "softmax(a, axis=1)", a=A),
    C("softmax_vector", "softmax(v)", v=V4),
    C("log_softmax", "log_softmax(a)", a=A),
    C("log_softmax_axis0", "log_softmax(a, axis=0)", a=A),
    C("log_softmax_vector", "log_softmax(v)", v=V4),
    C("softmax_tensor_axis1", "softmax(t, axis=1)", t=R(2, 3, 4)),
    C("cross_entropy", "sum(log_softmax(a) * q)", a=A, q=P(3, 4)),
    # ---- shape
    C("T", "a.T", a=A),
    C("T_of_expr", "(a @ m).T", a=A, m=R(4, 5)),
    C("transpose", "transpose(a)", a=A),
    C("transpose_tensor", "transpose(t)", t=R(2, 3, 4)),
    C("transpose_axes", "transpose(t, (2, 0, 1))", t=R(2, 3, 4)),
    C("reshape", "reshape(a, (4, 3))", a=A),
    C("reshape_flat", "reshape(a, (12,))", a=A),
    C("reshape_minus1", "reshape(a, (2, -1))", a=A),
    C("reshape_tensor", "reshape(t, (6, 4))", t=R(2, 3, 4)),
    # ---- indexing
    C("index_int", "a[1]", a=A),
    C("index_neg_int", "a[-1]", a=A),
    C("index_int_int", "a[1, 2]", a=A),
    C("index_vec_int", "v[2] * v", v=V4),
    C("index_col", "a[:, 1]", a=A),
    C("slice_rows", "a[1:3]", a=A),
    C("slice_step", "a[:, ::2]", a=A),
    C("slice_reverse", "v[::-1]", v=V4),
    C("slice_inner", "v[1:-1]", v=V4),
    C("slice_tensor", "t[0, :, 1:3]", t=R(2, 3, 4)),
    C("none_front", "a[None, :]", a=A),
    C("none_middle", "a[:, None]", a=A),
    C("none_outer_product", "v[:, None] * w[None, :]", v=V4, w=V3),
    C("index_array_vec", "v[idx]", v=V4, idx=Ix([3, 0, 2])),
    C("scatter_add_vec", "v[idx]", v=V4, idx=DUP5),
    C("scatter_add_rows", "a[idx]", a=R(3, 4), idx=Ix([0, 2, 2, 1, 0])),
    C("scatter_add_cols", "a[:, idx]", a=A, idx=Ix([3, 3, 0, 1, 3])),
    C("scatter_add_pairs", "a[i, j]", a=A, i=Ix([0, 2, 0, 1, 0]), j=Ix([1, 3, 1, 1, 1])),
    C("scatter_add_int_and_array", "a[1, idx]", a=A, idx=Ix([3, 3, 0, 1, 3])),
    C("scatter_add_2d_index", "v[idx]", v=V4, idx=Ix([[0, 1, 1], [3, 1, 0]])),
    C("scatter_add_sum", "sum(v[idx] * w)", v=V4, idx=DUP5, w=R(5)),
    C("index_then_slice", "a[idx][:, 1:3]", a=A, idx=Ix([2, 0, 2])),
    C(
        "arange_pairs",
        "x[arange(n), y]",
        x=R("n", "c"),
        y=Ix([2, 0, 3], "n"),
        dims={"n": 3, "c": 4},
        ret="Vector[n]",
    ),
    C(
        "arange_pairs_loss",
        "-mean(log_softmax(x, axis=1)[arange(n), y])",
        x=R("n", "c"),
        y=Ix([2, 0, 3, 3, 1], "n"),
        dims={"n": 5, "c": 4},
        ret="Scalar",
    ),
    # ---- concatenate / stack / dot / outer
    C("concatenate_vecs", "concatenate((v, w))", v=V4, w=V3),
    C("concatenate_axis0", "concatenate([a, b], axis=0)", a=A, b=R(2, 4)),
    C("concatenate_axis1", "concatenate([a, b], axis=1)", a=A, b=R(3, 2)),
    C("concatenate_axis_neg", "concatenate([a, b, a], axis=-1)", a=A, b=R(3, 2)),
    C("concatenate_same_twice", "concatenate([v, v])", v=V4),
    C("stack", "stack([v, u])", v=V4, u=R(4)),
    C("stack_axis1", "stack([v, u], axis=1)", v=V4, u=R(4)),
    C("stack_axis_neg", "stack((a, b), axis=-1)", a=A, b=B),
    C("dot_vec_vec", "dot(v, u)", v=V4, u=R(4)),
    C("dot_mat_vec", "dot(a, v)", a=A, v=V4),
    C("dot_vec_mat", "dot(w, a)", w=V3, a=A),
    C("dot_mat_mat", "dot(a, m)", a=A, m=R(4, 5)),
    C("outer", "outer(v, w)", v=V4, w=V3),
    C("outer_same", "outer(v, v)", v=V4),
    # ---- constants
    C("pi_e", "pi * a + e", a=A),
    C("pi_in_function", "sin(pi * a) * e ** a", a=A),
    C("module_constant", "SCALE * a + OFFSET", a=A, prelude="SCALE = 0.5\nOFFSET = -2\n",
      ref=lambda a: 0.5 * a - 2),
    # ---- np. / numpy. prefix
    C("np_exp_sin", "np.exp(a) + numpy.sin(a)", a=A),
    C("np_sum_axis", "np.sum(a, axis=0)", a=A),
    C("np_maximum", "np.maximum(x, y)", x=G(3, 4), y=G(3, 4, offset=0.15)),
    C("np_dot", "np.dot(v, u)", v=V4, u=R(4)),
    C("np_where", "np.where(k > 0, k, 0.1 * k)", k=K(3, 4)),
    C("np_pi_log", "np.pi * np.log(p)", p=P(3, 4)),
    C("numpy_concatenate", "numpy.concatenate([v, w])", v=V4, w=V3),
    C("np_tanh_transpose", "np.tanh(a) @ np.transpose(a)", a=A),
    # ---- statements: reassignment and augmented assignment
    C(
        "augmented_assignment",
        "y",
        a=A,
        v=V4,
        p=P(3, 4),
        body="y = a * 2\ny += v\ny *= a\ny -= 1\ny /= p",
        ref=lambda a, v, p: ((a * 2 + v) * a - 1) / p,
    ),
    C(
        "reassignment",
        "h",
        a=A,
        body="h = sin(a)\nh = h * h + a\nh = sum(h, axis=1)",
        ref=lambda a: np.sum(np.sin(a) ** 2 + a, axis=1),
    ),
    # ---- calls of helpers defined above: plain (inlined) and @fuse (one node)
    C(
        "plain_helper",
        "sq(a) + sq(b)",
        a=A,
        b=B,
        prelude="def sq(t: Matrix[3, 4]) -> Matrix[3, 4]:\n    return t * t\n\n",
        ref=lambda a, b: a * a + b * b,
    ),
    C(
        "fused_helper",
        "bump(a)",
        a=A,
        prelude="@fuse\ndef bump(t: Scalar) -> Scalar:\n    return t * t + sin(t) * exp(-t)\n\n",
        ref=lambda a: a * a + np.sin(a) * np.exp(-a),
    ),
]  # fmt: skip

# reductions: every reduction x every axis x keepdims, on a 3x4 matrix
REDUCTIONS = {
    "sum": R(3, 4),
    "mean": R(3, 4),
    "max": G(3, 4),
    "min": G(3, 4),
    "logsumexp": R(3, 4),
    "norm": R(3, 4),
}
for _op, _gen in REDUCTIONS.items():
    for _axis in (None, 0, 1, -1):
        for _keep in (False, True):
            _args = ["x"] + ([] if _axis is None else [f"axis={_axis}"])
            _args += ["keepdims=True"] if _keep else []
            _id = f"{_op}_axis{'None' if _axis is None else _axis}{'_keepdims' if _keep else ''}"
            CASES.append(C(_id, f"{_op}({', '.join(_args)})", x=_gen))
CASES += [
    C("sum_vector", "sum(v)", v=V4),
    C("max_vector", "max(v)", v=G(5)),
    C("min_vector", "min(v)", v=G(5)),
    C("norm_vector", "norm(v)", v=V4),
    C("logsumexp_vector", "logsumexp(v)", v=V4),
    C("mean_tensor_axis1", "mean(t, axis=1)", t=R(2, 3, 4)),
    C("max_tensor_axis2", "max(t, axis=2, keepdims=True)", t=G(2, 3, 4)),
    C("sum_axis_tuple", "sum(t, axis=(0, 2))", t=R(2, 3, 4)),
    C("norm_of_expr", "norm(a @ v - w)", a=A, v=V4, w=V3),
]

assert len({c.id for c in CASES}) == len(CASES), "duplicate case id"


CASE_BY_ID = {c.id: c for c in CASES}


@functools.cache
def _compiled(case_id: str):
    case = CASE_BY_ID[case_id]
    return gradc.load_source(case.source(), filename=f"<ops:{case.id}>")


def _module(case: Case):
    return _compiled(case.id)


SEED = 20240


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_value_matches_numpy(case):
    mod = _module(case)
    args = case.point(SEED)
    got = mod.f(*args)
    want = case.reference(args)
    assert np.shape(got) == want.shape, (
        f"value shape {np.shape(got)}, NumPy gives {want.shape}"
    )
    np.testing.assert_allclose(
        got, want, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(want)))
    )
    value, _ = mod.f_forward(*args)
    np.testing.assert_allclose(
        value, want, rtol=1e-12, atol=1e-12 * max(1.0, np.max(np.abs(want)))
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient_vs_finite_differences(case):
    mod = _module(case)
    args = case.point(SEED)
    wrt = case.wrt()
    want_value = case.reference(args)
    names = [case.names()[p] for p in wrt]
    if want_value.shape == ():
        grads = as_grad_list(mod.f_grad(*args), len(wrt))
        numeric = central_diff_grad(lambda *a: float(case.reference(a)), args, wrt)
        scale = float(want_value)
    else:
        u = np.random.default_rng(SEED + 1).standard_normal(want_value.shape)
        _, cache = mod.f_forward(*args)
        grads = as_grad_list(mod.f_backward(u, cache), len(wrt))
        numeric = central_diff_vjp(lambda *a: case.reference(a), args, wrt, u)
        scale = float(np.sum(np.abs(u * want_value)))
    assert_fd_close(grads, numeric, scale=scale, names=names)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vjp_dot_product(case):
    mod = _module(case)
    args = case.point(SEED)
    wrt = case.wrt()
    _, cache = mod.f_forward(*args)
    lhs, rhs, bound = dot_product_test(
        lambda *a: case.reference(a),
        lambda u: as_grad_list(mod.f_backward(u, cache), len(wrt)),
        args,
        wrt,
        np.random.default_rng(SEED + 2),
    )
    assert_dot_product(lhs, rhs, bound)


HELPER_SHAPES = {0: (), 1: (4,), 2: (3, 4)}


@pytest.mark.parametrize("rank", [0, 1, 2])
@pytest.mark.parametrize("op", ["logsumexp", "softmax", "log_softmax"])
def test_helpers_of_an_input_not_differentiated(op, rank):
    """An input outside ``@wrt`` is not decomposed into the parts an adjoint reads: the
    module's own helper (``_logsumexp``, ``_softmax``, ``_log_softmax``) computes it, at
    every rank the operation takes (``logsumexp`` of a Scalar included), with +-inf in
    the values; the reference is SciPy's."""
    if op != "logsumexp" and rank == 0:
        pytest.skip("softmax and log_softmax take arrays only")
    shape = HELPER_SHAPES[rank]
    mod = gradc.load_source(
        f"@wrt(x)\ndef f(x: Scalar, z: {_type_of(shape)}) -> Scalar:\n"
        f"    return x * sum({op}(z) ** 2)\n"
    )
    rng = np.random.default_rng(rank)
    for z in (rng.standard_normal(shape) * 3.0, np.full(shape, 800.0)):
        want = np.sum(NAMESPACE[op](z) ** 2)
        value, grad = mod.f_value_and_grad(1.5, z)
        np.testing.assert_allclose([value, grad], [1.5 * want, want], rtol=1e-13)
    if rank:
        z = np.zeros(shape)
        z.flat[0] = np.inf
        with np.errstate(invalid="ignore"):  # inf - inf in softmax's row: nan
            want = np.sum(NAMESPACE[op](z) ** 2)
            np.testing.assert_array_equal(mod.f(1.5, z), 1.5 * want)
