"""Targets: what one kind of emitted code differs in, as data rather than branches.

A target is a spelling table plus templates. The op records carry each op's spellings
(``spell`` picks NumPy or the Python-float ``math`` one from ``Ctx.math``, derived from
the target); this record holds the rest: how inputs enter, how results leave, what a
function's statements fall back on, and how the functions are named. The emitted NumPy
module and the scalar ``math`` module are two targets of the same backend (the ``math``
one with its NumPy fallbacks as a third); the Array API module is a fourth (``ARRAY_API``,
its spellings in ``ops/array_api.py``, its helpers in ``templates/helpers_xp.py.j2``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.names import fallback_name


@dataclass(frozen=True)
class Target:
    """One kind of emitted function."""

    name: str
    # Values are Python floats spelled with ``math`` (the op records' scalar spellings);
    # else NumPy arrays and scalars.
    floats: bool
    # The helper a float parameter goes through: ``_float64`` (checked, becomes a NumPy
    # scalar) or ``_scalar`` (called only when the value is not a float already).
    scalar_check: str
    # Inputs are checked (shapes, values, the seed). Else not checked: a fallback converts
    # them with np.float64 (the public function that calls it checked them); a public
    # target built with ``--no-checks`` (``unchecked``) only binds the dimensions its code
    # reads and, on NumPy, makes its float parameters np.float64 (values, not validation).
    checked: bool
    # Every result is converted with float() (a fallback's results are floats).
    float_results: bool
    # Emitted under the public names (``f_forward`` ...) with ``f``, ``f_grad`` and
    # docstrings; else as the private ``_f_forward_numpy`` ...
    public: bool
    # The target whose function a ``try`` around the statements hands the inputs to where
    # ``math`` raises (inf and nan as NumPy returns them); None: no ``try``.
    fallback: Target | None = None
    # Array API code (``--target array-api``): the op records' ``XP`` spellings; each
    # function binds ``xp, dtype, device`` from its inputs, which are never converted.
    xp: bool = False
    # numba code (``--target numba``): the NumPy target's statements, with runs of
    # elementwise statements written as ``@numba.njit`` kernels (``numba_kernels``).
    kernels: bool = False
    # A float parameter that the code only adds, multiplies, compares... stays a Python
    # float, unconverted (``python_floats``); the others go through ``scalar_check``.
    python_floats: bool = False
    # The float constants of ``core.names.ARRAY_CONSTANTS`` meeting an array in + - * /
    # are module-level 0-d arrays (``_one - p``): NumPy converts a Python float operand
    # on every call.
    array_constants: bool = False

    @property
    def indent(self) -> int:
        """Extra indentation of the statements (4 inside the ``try``)."""
        return 4 if self.fallback else 0

    @property
    def floats_out(self) -> bool:
        """Whether results are floats without a float() of 0-d arrays (``owned``)."""
        return self.floats or self.float_results

    def unchecked(self) -> Target:
        """This target without input checks (``--no-checks``, API ``checks=False``); its
        fallback, if any, is unchecked already."""
        return replace(self, checked=False)

    def function_name(self, fn_name: str, kind: str) -> str:
        """The name of the emitted function of ``kind`` (``forward``, ...) of ``fn_name``."""
        return f"{fn_name}_{kind}" if self.public else fallback_name(fn_name, kind)


NUMPY = Target(
    "numpy",
    floats=False,
    scalar_check="_float64",
    checked=True,
    float_results=False,
    public=True,
    python_floats=True,
    array_constants=True,
)
# The scalar build's fallbacks: the NumPy spelling on np.float64 scalars, floats out.
NUMPY_ON_FLOATS = Target(
    "numpy_on_floats",
    floats=False,
    scalar_check="_float64",
    checked=False,
    float_results=True,
    public=False,
)
MATH = Target(
    "math",
    floats=True,
    scalar_check="_scalar",
    checked=True,
    float_results=False,
    public=True,
    fallback=NUMPY_ON_FLOATS,
)
# --target array-api: any Array API namespace, dtypes kept, nothing converted.
ARRAY_API = Target(
    "array-api",
    floats=False,
    scalar_check="_scalar",
    checked=True,
    float_results=False,
    public=True,
    xp=True,
)
# --target numba: NumPy and float64 as the default, elementwise runs as numba kernels.
NUMBA = replace(
    NUMPY, name="numba", kernels=True, python_floats=False, array_constants=False
)
#: the targets the command line and the API name (``--target``)
TARGETS = {"numpy": NUMPY, "array-api": ARRAY_API, "numba": NUMBA}
PLANNED_TARGETS = ()
