"""The names a generated module binds at module level, and which names a formula function
may take: shared by the frontends (to refuse a name early, at its line) and the backend."""

from __future__ import annotations

import keyword
import unicodedata

VERSION = "0.1.0"  # gradc's version, printed in every module header

# the numba target's vectorisable functions (backend/numba_vector_math.py), in order
VECTOR_HELPERS = (
    "_vscale",
    "_expm1_poly",
    "_vexp_reduce",
    "_vexp_hilo",
    "_vexp",
    "_vexpm1",
    "_vlog_reduce",
    "_vlog_poly",
    "_vlog",
    "_vlog1p",
    "_vtanh",
    "_vsigmoid",
    "_vsoftplus",
)
#: the module-level 0-d float64 arrays of the NumPy target, by name: NumPy converts a
#: Python float operand into an array on every call, ~0.15 us, which is a third of an
#: add on 100 elements (bench/README.md, "Constants as 0-d arrays"); a 0-d float64
#: array gives the same float64 result. Every NumPy module defines them, and the
#: helpers read them (``_sigmoid``: ``_one / (_one + np.exp(-x))``).
ARRAY_CONSTANT_VALUES = {"_zero": "0.0", "_half": "0.5", "_one": "1.0", "_two": "2.0"}
#: the float constants (as printed) written as those names where they meet an array
#: in an op whose record allows it (``Prim.constant_operands``: ``+ - * /``,
#: ``maximum``, ``minimum``, ``where``, comparisons)
ARRAY_CONSTANTS = {v: n for n, v in ARRAY_CONSTANT_VALUES.items()}
HELPER_ORDER = (
    "_float64",
    "_index_error",
    "_out_of_range",
    "_empty_error",
    "_sigmoid",
    "_softplus",
    "_logsumexp",
    "_memory_order",
    "_sum_strided",
    "_sum_leading",
    "_sum_trailing",
    "_max_shift",
    "_softmax",
    "_log_softmax",
    "_sigmoid_scalar",
    "_softplus_scalar",
    "_logaddexp_scalar",
    "_sign_scalar",
    "_maximum_scalar",
    "_minimum_scalar",
    *VECTOR_HELPERS,
    "_radd",
    "_vdot",
    "_outside",
    "_select",
    "_pick",
    "_sum_rows",
    "_sum_cols",
    "_max_rows",
    "_max_cols",
    "_min_rows",
    "_min_cols",
    "_max_shift_rows",
    "_max_shift_all",
    "_log_softmax_rows",
    "_softmax_rows",
    "_norm",
    "_magnitude",
    "_vdot_last",
    "_outer",
    "_erf",
    "_windows",
    "_im2col",
    "_col2im",
    "_conv2d",
    "_conv2d_dcols",
    "_conv2d_dw",
    "_max_pool2d",
    "_max_pool2d_grad",
    "_max_pool2d_tangent",
    "_avg_pool2d",
    "_avg_pool2d_grad",
)
# the Array API target's own helpers (templates/helpers_xp.py.j2), after those above
XP_HELPER_ORDER = (
    "_pick",
    "_one_hot",
    "_placed",
    "_at_set",
    "_at_add",
    "_scatter_add",
    "_einsum",
    "_cholesky",
)

# Python's builtins as a fixed list: what a process adds to ``builtins`` never changes output.
PYTHON_BUILTINS = frozenset(
    """
ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup
BlockingIOError BrokenPipeError BufferError BytesWarning ChildProcessError
ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError
DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception
ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError
FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError
IndexError InterruptedError IsADirectoryError KeyError KeyboardInterrupt
LookupError MemoryError ModuleNotFoundError NameError None NotADirectoryError
NotImplemented NotImplementedError OSError OverflowError PendingDeprecationWarning
PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning
RuntimeError RuntimeWarning StopAsyncIteration StopIteration SyntaxError
SyntaxWarning SystemError SystemExit TabError TimeoutError True TypeError
UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError
UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning
ZeroDivisionError abs aiter all anext any ascii bin bool breakpoint bytearray bytes
callable chr classmethod compile complex copyright credits delattr dict dir divmod
enumerate eval exec exit filter float format frozenset getattr globals hasattr hash
help hex id input int isinstance issubclass iter len license list locals map max
memoryview min next object oct open ord pow print property quit range repr reversed
round set setattr slice sorted staticmethod str sum super tuple type vars zip
""".split()
)


def reserved_names(fn_names: list[str]) -> set[str]:
    """Names generated code must not bind: keywords, builtins, module-level names."""
    names = set(keyword.kwlist) | set(keyword.softkwlist) | PYTHON_BUILTINS
    names |= {
        "__builtins__",
        "__debug__",
        "__name__",
        "__doc__",
        "__file__",
        "__spec__",
    }
    names |= {"np", "numpy", "math", "cache", "grads", "self"} | set(HELPER_ORDER)
    names |= {"_scalar", "_array", "_index", "_shape_error", "_numeric", "_result"}
    names |= {"_float64_dtype", *ARRAY_CONSTANT_VALUES}
    for f in fn_names:
        names |= {f, *generated_names(f)}
    return names


def generated_names(fn_name: str) -> list[str]:
    """The module-level names emitted for the formula function ``fn_name`` besides itself
    (its NumPy fallbacks included, though a scalar build may not need them all)."""
    public = [
        fn_name + suffix
        for suffix in ("_forward", "_backward", "_grad", "_value_and_grad")
    ]
    return public + [
        fallback_name(fn_name, k) for k in ("forward", "backward", "value_and_grad")
    ]


def function_name_problem(name) -> str | None:
    """Why ``name`` cannot name an exported function (it becomes a module attribute beside
    ``np``, ``math``, the helpers and the builtins the module calls), or None if it can."""
    if not isinstance(name, str) or not name.isidentifier():
        return "is not an identifier"
    if unicodedata.normalize("NFKC", name) != name:
        return f"is not NFKC-normalised (Python reads it as {unicodedata.normalize('NFKC', name)!r})"
    if name.startswith("_") or name in reserved_names([]):
        return (
            "is reserved (a Python builtin, keyword, private name or a name the generated "
            "module uses)"
        )
    return None


def fallback_name(fn_name: str, kind: str) -> str:
    """The NumPy fallback of the scalar function ``<fn_name>_<kind>``."""
    return f"_{fn_name}_{kind}_numpy"
