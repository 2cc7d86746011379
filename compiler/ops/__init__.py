"""The operations: each module registers its family into the registry in ``core.prim``.

One ``Prim`` record per operation holds everything about it (``core/prim.py``): arithmetic
and logic (``arithmetic``), elementwise functions (``elementwise``), reductions and softmax
(``reductions``), scans (``scans``: cumsum), products (``linalg``), inverses
(``inverse``: inv, solve, det), convolution and pooling (``conv``), shape
operations (``shape_ops``), leaves (``leaves``) and two bodies for one value
(``guarded``); ``common`` holds the shape rules and
adjoint helpers they share, ``spelling`` how spellings are made, ``array_api`` the Array
API spellings, ``numba_spelling`` the numba whole-function kernels' own spellings,
``scalar_elements`` the elements of scalarised small arrays (``passes/scalarise``),
``points`` domains and kinks, ``sympy_functions`` the opaque SymPy functions of the
stable operations.
"""

from ..core.prim import surface_names
from . import (  # noqa: F401 - registers the operations
    arithmetic,
    conv,
    elementwise,
    guarded,
    inverse,
    leaves,
    linalg,
    loops,
    reductions,
    scalar_elements,
    scans,
    shape_ops,
)
from .array_api import install

install()  # the Array API spellings (``--target array-api``), derived or written there

__all__ = ["surface_names"]
