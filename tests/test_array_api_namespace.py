"""What the Array API module remembers between calls (issue 20's portability cost): the
namespace, dtype and device that ``_namespace`` finds are those array_api_compat gives,
on the first call and from its caches, on every library; NumPy's namespace is NumPy's
own with its reductions and ``matmul`` through array methods; ``xp.matmul`` is spelled
on vectors and matrices only (stacks of matrices keep ``@``)."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest
from xp_cases import LIBRARIES, import_jax, require, run, to_library

from gradc import compile_source, load_source

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SOURCE = """
def f(W: Matrix[n, n], x: Vector[n], s: Scalar) -> Scalar:
    return sum((W @ x) ** 2) * s
"""


def module():
    return load_source(SOURCE, target="array-api")


def expected(arrays):
    """array_api_compat's namespace, the float dtype the arrays promote to, the device."""
    xp = array_api_compat.array_namespace(*arrays)
    return xp, xp.result_type(*arrays), array_api_compat.device(arrays[0])


def same_namespace(got, want) -> bool:
    """``got`` is ``want``; on NumPy, NumPy's own namespace with five functions
    through array methods (``_with_methods``)."""
    if not array_api_compat.is_numpy_namespace(want):
        return got is want
    own = vars(array_api_compat.array_namespace(np.zeros(1), use_compat=False))
    methods = {"sum", "max", "min", "any", "matmul"}
    return {k: v for k, v in vars(got).items() if k not in methods} == {
        k: v for k, v in own.items() if k not in methods
    }


@pytest.mark.parametrize("library", [lib for lib in LIBRARIES if lib != "jax.jit"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_cached_namespace_is_array_api_compats(library, dtype):
    require(library)
    m = module()
    W = to_library(library, np.eye(3, dtype=dtype))
    x = to_library(library, np.ones(3, dtype=dtype))
    want = expected([W, x])
    for _ in range(3):  # the first call fills the caches, the others read them
        xp, dtype_, device = m._namespace("f", W, x, 0.5)
        assert same_namespace(xp, want[0])
        assert dtype_ == want[1] and device == want[2]
    # only NumPy's entries skip reading the device (a torch tensor's, CuPy's or
    # array-api-strict's device is not fixed by its type)
    assert bool(m._FIXED) == (library == "numpy")


def test_mixed_dtypes_and_types_are_told_apart():
    """The keys hold each input's type and dtype: a float32 call after a float64 one
    (and a NumPy call after a JAX one, whose arrays have NumPy's dtypes) finds its own."""
    require("jax")
    jnp = import_jax().numpy
    m = module()
    a64, a32 = np.ones(3), np.ones(3, dtype=np.float32)
    assert m._namespace("f", a64)[1] == np.float64
    assert m._namespace("f", a32)[1] == np.float32
    assert m._namespace("f", a32, a64)[1] == np.float64
    xp, dtype, _ = m._namespace("f", jnp.asarray(a64))
    assert xp is jnp and dtype == np.float64
    assert m._namespace("f", a64)[0] is not jnp


def test_jax_weak_types_and_tracers():
    """A weakly typed JAX array (from a Python number) promotes as the number does, and
    under jax.jit the namespace of the tracers is jax.numpy."""
    require("jax")
    jax = import_jax()
    jnp = jax.numpy
    m = module()
    weak = jnp.asarray(2.0)  # weak float64
    strong = jnp.ones(3, dtype=jnp.float32)
    assert m._namespace("f", strong, weak)[1] == jnp.float32
    assert m._namespace("f", strong, jnp.asarray(2.0, dtype=jnp.float64))[1] == (
        jnp.float64
    )

    def spaces(x):
        xp, dtype, _ = m._namespace("f", x)
        assert xp is jnp and dtype == x.dtype
        return x

    jax.jit(spaces)(strong)


@pytest.mark.parametrize("library", LIBRARIES)
def test_values_through_the_caches_equal_the_numpy_target(library):
    """Two calls (the second from the caches) give the NumPy target's value and
    gradients."""
    require(library)
    ref, m = load_source(SOURCE), module()
    rng = np.random.default_rng(3)
    W, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    want_v, want_g = ref.f_value_and_grad(W, x, 0.7)
    args = [to_library(library, W), to_library(library, x), 0.7]
    for _ in range(2):
        v, g = run(library, m.f_value_and_grad, args)
        np.testing.assert_allclose(v, want_v, rtol=1e-13)
        for got, want in zip(g, want_g):
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


STACK = """
def g(A: Tensor[b, n, n], x: Vector[n], W: Matrix[n, n]) -> Scalar:
    return sum((A @ W) ** 2) + sum((A @ x) ** 2)
"""


def test_matmul_of_vectors_and_matrices_is_xp_matmul_and_of_stacks_the_operator():
    text = compile_source(SOURCE, target="array-api")
    for line in ["    out_t1 = xp.matmul(W, x)", "    d_x = xp.matmul(d_out_t1, W)"]:
        assert f"{line}\n" in text
    text = compile_source(STACK, target="array-api")
    for line in [
        "    out_t1 = A @ W",
        "    out_t2 = A @ x",
        "    d_x = xp.sum(d_out_t2[:, None, :] @ A, axis=(0, 1))",
        "    d_A += d_out_t1 @ W.T",
    ]:
        assert f"{line}\n" in text


def test_a_stack_of_matrices_on_numpy_is_multiplied_by_matmul():
    """NumPy's namespace computes xp.matmul with ``dot``, which is no matmul on stacks:
    those are spelled ``@``, and the results are the NumPy target's."""
    ref, m = load_source(STACK), load_source(STACK, target="array-api")
    rng = np.random.default_rng(4)
    args = (
        rng.standard_normal((2, 3, 3)),
        rng.standard_normal(3),
        rng.standard_normal((3, 3)),
    )
    want_v, want_g = ref.g_value_and_grad(*args)
    v, g = m.g_value_and_grad(*args)
    np.testing.assert_allclose(v, want_v, rtol=1e-13)
    for got, want in zip(g, want_g):
        np.testing.assert_allclose(got, want, rtol=1e-13)
