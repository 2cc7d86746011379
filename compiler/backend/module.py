"""The whole generated module: header, helpers, and the function family of each formula
function, laid out by the Jinja2 templates in ``templates/``."""

from __future__ import annotations

import hashlib
import re

from ..core.ir import Function, reachable
from ..core.names import HELPER_ORDER, VERSION
from ..core.prim import spellable
from .family import function_family
from .layout import escape_doc, module_doc_lines
from .shadowing import alias_lines
from .targets import MATH, NUMPY
from .templating import render

# What each helper needs besides itself (another helper, or ``import math``).
HELPER_NEEDS = {
    "_log_softmax": ("math",),
    "_logsumexp": ("math",),
    "_max_shift": ("math",),
    "_norm": ("math",),
    "_sigmoid_scalar": ("math",),
    "_sign_scalar": ("math",),
    "_maximum_scalar": ("math",),
    "_minimum_scalar": ("math",),
    "_softplus_scalar": ("math",),
    "_erf": ("math",),
    "_im2col": ("_windows",),
    "_max_pool2d": ("_windows",),
    "_max_pool2d_grad": ("_windows",),
    "_max_pool2d_tangent": ("_windows",),
    "_avg_pool2d": ("_windows",),
}


def all_scalar(fn: Function) -> bool:
    """Whether every value of ``fn`` and its gradients is a scalar (Python-float code)."""
    used = reachable(fn.nodes, [fn.output, *fn.grads.values()])
    return all(fn.nodes[i].shape == () and fn.nodes[i].dtype != "int" for i in used)


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


def with_needs(helpers: set[str]) -> set[str]:
    """``helpers`` and what they need, transitively (``HELPER_NEEDS``)."""
    helpers = set(helpers)
    pending = sorted(helpers)
    while pending:  # needs of needs too: _log_softmax -> _logsumexp -> math
        need = set(HELPER_NEEDS.get(pending.pop(), ())) - helpers
        helpers |= need
        pending += sorted(need)
    return helpers


def family(
    fn: Function, names: list[str], checks: bool = True
) -> tuple[list[dict], set[str]]:
    """The emitted functions of ``fn`` (the scalar build when every value is a scalar and
    every op has a spelling on floats, with the NumPy fallbacks its ``try`` calls), and
    the helpers they use; without input checks unless ``checks``."""
    target = MATH if math_build(fn) else NUMPY
    fam, used = function_family(fn, names, target if checks else target.unchecked())
    called = {f["guard"]["fallback"] for f in fam if f["guard"]}
    if called:  # the NumPy fallbacks that a ``try`` calls (scalar build only)
        extra, needs = function_family(fn, names, MATH.fallback)
        fam += [f for f in extra if f["name"] in called]
        used |= needs
    return fam, used


NUMPY_IMPORT = "import numpy as np\n"
NUMPY_USE = re.compile(r"\bnp\.")
NO_CHECKS_DOC = [
    "Compiled with --no-checks: the functions validate nothing. Pass float64 arrays",
    "(and floats) of the declared shapes; anything else gives wrong results or errors",
    "that do not name the parameter.",
]


def doc_lines(module_doc: str, source: str, checks: bool) -> list[str]:
    """The module docstring's lines; without ``checks``, the --no-checks paragraph
    after the generated-from line."""
    lines = module_doc_lines(module_doc, source)
    if checks:
        return lines
    return [lines[0], "", *NO_CHECKS_DOC, *lines[1:]]


def generate(
    functions: list[Function],
    source: str,
    raw: bytes,
    module_doc: str,
    checks: bool = True,
) -> str:
    """The whole module text for the compiled ``functions`` of one formula source (bytes
    ``raw``); with ``checks`` False (``--no-checks``) the functions validate nothing, and
    the docstring says so."""
    names = [f.name for f in functions]
    digest = hashlib.sha256(raw).hexdigest()
    families, helpers = [], set()
    for fn in functions:
        fam, used = family(fn, names, checks)
        families.append({"name": fn.name, "functions": fam})
        helpers |= used
    helpers = with_needs(helpers)
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
        doc=[escape_doc(ln) for ln in doc_lines(module_doc, source, checks)],
        helpers=[h for h in HELPER_ORDER if h in helpers],
        import_math="math" in helpers,
        checks=checks,
        families=families,
        exports=exports,
    )
    text = render("module.py.j2", import_numpy=True, **data)
    reads_numpy = NUMPY_USE.search(text.partition(NUMPY_IMPORT)[2]) or (
        "np" in aliases.values()  # a parameter named np: the bodies read numpy as _np
    )
    if not checks and not reads_numpy:
        # --no-checks on Python floats without NumPy fallbacks: nothing reads numpy
        text = render("module.py.j2", import_numpy=False, **data)
    return text
