"""gradc: a symbolic-to-source gradient compiler.

Formula text (or a SymPy expression) -> graph IR -> reverse-mode adjoint IR ->
fusion and simplification -> a standalone NumPy module (see SPEC.md and README.md).

The functions live in ``gradc.api``; this package names them and imports that module
(with SymPy and NumPy) the first time one is used (``lazy.py``), so that the command
line starts without them.
"""

from __future__ import annotations

from .core.names import VERSION
from .errors import FormulaError
from .lazy import resolve

__all__ = [
    "FormulaError",
    "compile_file",
    "compile_source",
    "compile_sympy",
    "load_source",
    "load_sympy",
    "lower_source",
]
__version__ = VERSION

# The public functions, imported from ``api`` on first use (PEP 562).
API = {
    name: f".api:{name}"
    for name in [
        "compile_file",
        "compile_source",
        "compile_sympy",
        "decode",
        "import_module_source",
        "load_source",
        "load_sympy",
        "lower_source",
        "module_docstring",
    ]
}


def __getattr__(name: str):
    if name not in API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = resolve(API[name])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(API))
