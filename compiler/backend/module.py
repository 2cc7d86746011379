"""The whole generated module: header, helpers, and the function family of each formula
function, laid out by the Jinja2 templates in ``templates/``."""

from __future__ import annotations

import hashlib
import re

from ..core.ir import Function, reachable
from ..core.names import (
    ARRAY_CONSTANT_VALUES,
    HELPER_ORDER,
    VECTOR_HELPERS,
    VERSION,
    XP_HELPER_ORDER,
)
from ..core.prim import spellable
from .family import function_family
from .layout import escape_doc, module_doc_lines
from .numba_kernels import DECORATOR, JIT_HELPERS
from .numba_vector_math import INTRINSIC_HELPERS, VECTOR_DECORATOR, VECTOR_NEEDS
from .numba_whole import UFUNC_HELPERS, WHOLE_HELPERS
from .shadowing import alias_lines
from .targets import ARRAY_API, MATH, NUMBA, NUMPY, Target
from .templating import render
from .unspelled import check_spellable

# What each helper needs besides itself (another helper, or ``import math``).
HELPER_NEEDS = {
    "_sigmoid": ("_one",),  # _one / (_one + np.exp(-x))
    "_softplus": ("_zero",),
    "_log_softmax": ("math",),
    "_logsumexp": ("math",),
    "_max_shift": ("math",),
    "_sum_strided": ("math", "_memory_order"),
    "_sum_leading": ("math", "_sum_strided"),
    "_sum_trailing": ("math", "_sum_strided"),
    "_norm": ("math",),
    "_magnitude": ("math",),
    "_vdot_last": ("_memory_order",),
    "_sigmoid_scalar": ("math",),
    "_sign_scalar": ("math",),
    "_maximum_scalar": ("math",),
    "_minimum_scalar": ("math",),
    "_softplus_scalar": ("math",),
    "_logaddexp_scalar": ("math",),
    "_erf": ("math",),
    "_max_shift_rows": ("math",),
    "_max_shift_all": ("math",),
    "_max_rows": ("math",),
    "_max_cols": ("math",),
    "_min_rows": ("math",),
    "_min_cols": ("math",),
    "_log_softmax_rows": ("math", "_max_shift_rows"),
    "_softmax_rows": ("math",),
    "_im2col": ("_windows",),
    "_max_pool2d": ("_windows",),
    "_max_pool2d_grad": ("_windows",),
    "_max_pool2d_tangent": ("_windows",),
    "_avg_pool2d": ("_windows",),
    **VECTOR_NEEDS,
}


# Arrays a scalar function may hold (``passes/scalarise.py``): its parameters, read once
# as lists, and the arrays it returns, made of floats.
SCALAR_EDGES = ("param", "tolist", "array_of")


def all_scalar(fn: Function) -> bool:
    """Whether every value of ``fn`` and its gradients is a scalar (Python-float code),
    but for array parameters read as lists and array results made of floats."""
    used = reachable(fn.nodes, [fn.output, *fn.grads.values()])
    return all(
        (fn.nodes[i].shape == () or fn.nodes[i].op in SCALAR_EDGES)
        and fn.nodes[i].dtype != "int"
        for i in used
    )


def math_build(fn: Function) -> bool:
    """Whether ``fn`` is emitted on Python floats with ``math``: every value a scalar and
    every operation its functions run spelled for the ``MATH`` target (otherwise NumPy)."""
    graphs = [g for g in (fn, fn.value_and_grad, fn.jvp, fn.hvp) if g is not None]
    return all_scalar(fn) and all(
        spellable(
            [g.nodes[i] for i in reachable(g.nodes, [g.output, *g.grads.values()])],
            MATH.name,
        )
        for g in graphs
    )


# The Array API helpers' needs (``templates/helpers_xp.py.j2``).
XP_HELPER_NEEDS = {
    "_logsumexp": ("_max_shift",),
    "_log_softmax": ("_max_shift",),
    "_scatter_add": ("math",),
    "_at_set": ("_placed",),
    "_at_add": ("_placed",),
    "_erf": ("importlib",),
    "_im2col": ("_windows",),
    "_col2im": ("_windows", "_at_add"),
    "_max_pool2d": ("_windows",),
    "_max_pool2d_grad": ("_windows", "_at_add"),
    "_max_pool2d_tangent": ("_windows",),
    "_avg_pool2d": ("_windows",),
    "_avg_pool2d_grad": ("_windows", "_at_add"),
}


def with_needs(helpers: set[str], needs: dict = HELPER_NEEDS) -> set[str]:
    """``helpers`` and what they need, transitively (``HELPER_NEEDS``)."""
    helpers = set(helpers)
    pending = sorted(helpers)
    while pending:  # needs of needs too: _log_softmax -> _logsumexp -> math
        need = set(needs.get(pending.pop(), ())) - helpers
        helpers |= need
        pending += sorted(need)
    return helpers


def family(
    fn: Function, names: list[str], checks: bool = True, xp: bool = False, array=NUMPY
) -> tuple[list[dict], set[str]]:
    """The emitted functions of ``fn`` (the scalar build when every value is a scalar and
    every op has a spelling on floats, with the NumPy fallbacks its ``try`` calls; with
    ``xp``, Array API code; else the ``array`` target: NumPy or numba), and the helpers
    they use; without input checks unless ``checks``."""
    target: Target = ARRAY_API if xp else MATH if math_build(fn) else array
    fam, used = function_family(fn, names, target if checks else target.unchecked())
    if target.array_constants:  # all of them, whether read or not: an edit of a
        used |= set(ARRAY_CONSTANT_VALUES)  # constant changes only its own lines
    called = {f["guard"]["fallback"] for f in fam if f["guard"]}
    if called:  # the NumPy fallbacks that a ``try`` calls (scalar build only)
        extra, needs = function_family(fn, names, MATH.fallback)
        fam += [f for f in extra if f["name"] in called]
        used |= needs
    return fam, used


NUMPY_IMPORT = "import numpy as np\n"
NUMPY_USE = re.compile(r"\bnp\.")
NUMBA_IMPORT = "import numba\n"
NUMBA_USE = re.compile(r"\bnumba\.")
NO_CHECKS_DOC = [
    "Compiled with --no-checks: the functions validate nothing. Pass float64 arrays",
    "(and floats) of the declared shapes; anything else gives wrong results or errors",
    "that do not name the parameter.",
]


XP_DOC = [
    "Array API code (--target array-api): the functions take arrays of any library that",
    "array_api_compat knows (NumPy, CuPy, PyTorch, JAX, Dask, array-api-strict), keep",
    "their dtype and device, and never convert them.",
]
XP_NO_CHECKS_DOC = [
    "Compiled with --no-checks: the functions validate nothing. Pass arrays (and",
    "floats) of the declared shapes; anything else gives wrong results or errors",
    "that do not name the parameter.",
]


NUMBA_DOC = [
    "numba code (--target numba): runs of elementwise statements are @numba.njit",
    "kernels (the _k functions), compiled on first call and cached in __pycache__;",
    "on small inputs, f_forward, f_backward, f_value_and_grad, f_jvp and f_hvp run",
    "their whole bodies as one each (the _kernel ones).",
]


def doc_lines(
    module_doc: str, source: str, checks: bool, xp: bool = False, array=NUMPY
) -> list[str]:
    """The module docstring's lines; without ``checks``, the --no-checks paragraph
    after the generated-from line (with ``xp``, the Array API paragraph first; on the
    numba target, the numba one)."""
    lines = module_doc_lines(module_doc, source)
    extra = ([""] + XP_DOC) * xp + ([""] + NUMBA_DOC) * (array is NUMBA)
    if not checks:
        extra += [""] + (XP_NO_CHECKS_DOC if xp else NO_CHECKS_DOC)
    return [lines[0], *extra, *lines[1:]]


def generate(
    functions: list[Function],
    source: str,
    raw: bytes,
    module_doc: str,
    checks: bool = True,
    target: str = "numpy",
) -> str:
    """The whole module text for the compiled ``functions`` of one formula source (bytes
    ``raw``); with ``checks`` False (``--no-checks``) the functions validate nothing, and
    the docstring says so; ``target`` ``"array-api"``: Array API code (SPEC §2.2)."""
    xp = target == ARRAY_API.name
    array = NUMBA if target == NUMBA.name else NUMPY
    names = [f.name for f in functions]
    digest = hashlib.sha256(raw).hexdigest()
    families, helpers = [], set()
    for fn in functions:
        if xp:
            check_spellable(fn)
        fam, used = family(fn, names, checks, xp, array)
        families.append({"name": fn.name, "functions": fam})
        helpers |= used
    helpers = with_needs(helpers, XP_HELPER_NEEDS if xp else HELPER_NEEDS)
    exports = []
    for fn in functions:
        exports.append(fn.name)
        exports += [fn.name + "_forward", fn.name + "_backward"]
        if fn.nodes[fn.output].shape == ():
            exports += [fn.name + "_value_and_grad", fn.name + "_grad"]
    aliases = {
        a: n
        for fam in families
        for f in fam["functions"]
        for a, n in f["aliases"].items()
    }
    early_aliases, late_aliases = alias_lines(aliases)
    data = dict(
        early_aliases=early_aliases,
        late_aliases=late_aliases,
        version=VERSION,
        source=source,
        digest=digest,
        doc=[escape_doc(ln) for ln in doc_lines(module_doc, source, checks, xp, array)],
        helpers=[h for h in HELPER_ORDER + XP_HELPER_ORDER if h in helpers],
        constants=[(n, v) for n, v in ARRAY_CONSTANT_VALUES.items() if n in helpers],
        import_math="math" in helpers,
        import_importlib="importlib" in helpers,
        checks=checks,
        families=families,
        exports=exports,
        xp=xp,
        numba=array is NUMBA,
        jit_helpers=JIT_HELPERS + WHOLE_HELPERS,
        ufunc_helpers=UFUNC_HELPERS,
        decorator=DECORATOR,
        vector_helpers=VECTOR_HELPERS,
        vector_decorator=VECTOR_DECORATOR,
        intrinsic_helpers=INTRINSIC_HELPERS,
    )
    if xp:
        return render("module.py.j2", import_numpy=False, **data)
    text = render("module.py.j2", import_numpy=True, **data)
    reads_numpy = NUMPY_USE.search(text.partition(NUMPY_IMPORT)[2]) or (
        "np" in aliases.values()  # a parameter named np: the bodies read numpy as _np
    )
    if not checks and not reads_numpy and array is not NUMBA:
        # --no-checks on Python floats without NumPy fallbacks: nothing reads numpy
        text = render("module.py.j2", import_numpy=False, **data)
    if array is NUMBA and not NUMBA_USE.search(text.partition(NUMBA_IMPORT)[2]):
        # no kernel and no jitted helper (plain floats, or every op without a kernel)
        text = render("module.py.j2", import_numpy=True, **{**data, "numba": False})
    return text
