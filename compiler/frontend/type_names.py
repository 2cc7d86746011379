"""The type names of a formula's annotations (``Scalar``, ``Vector[n]``, ...), and the
errors for an annotation that is no type, by its form alone (``type_error``, which
``annotations.read_type`` raises and the syntax-tree check reports before SymPy is
imported: ``refusals.signature_error``)."""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .source import Source, did_you_mean

#: the float types and the number of dimensions each takes (None: one or more)
FLOAT_TYPES = {"Scalar": 0, "Vector": 1, "Matrix": 2, "Tensor": None}


def annotation_dims(ann) -> list:
    """The dimension nodes of a type annotation (``Matrix[m, n]``: ``m`` and ``n``; none
    for ``Scalar`` or anything that is no subscript of a name)."""
    if isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name):
        return ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    return []


def type_name(ann) -> str | None:
    """``Vector`` of ``Vector[n]`` (``Scalar`` of ``Scalar``), or None."""
    if isinstance(ann, ast.Subscript):
        ann = ann.value
    return ann.id if isinstance(ann, ast.Name) else None


def type_error(ann, src: Source, what: tuple) -> FormulaError | None:
    """The error for an annotation that is no type of the language, or takes another
    number of dimensions, or None; ``what`` is ``(words, node)``: ``("parameter x",
    arg)`` or ``("the return", fn)``."""
    if ann is None:
        return src.error(
            what[1], f"{what[0]} needs a type annotation (Scalar, Vector[n], ...)"
        )
    if isinstance(ann, ast.Name):
        kind, dims = ann.id, []
    elif isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name):
        kind, dims = ann.value.id, annotation_dims(ann)
    else:
        return src.error(ann, "unknown type" + type_hint(ann))
    if kind not in FLOAT_TYPES and kind != "Index":
        return src.error(ann, f"unknown type '{kind}'" + type_hint(ann))
    want = FLOAT_TYPES.get(kind)
    if kind == "Scalar" and dims:
        return src.error(ann, "Scalar takes no dimensions")
    if want is not None and kind != "Scalar" and len(dims) != want:
        return src.error(ann, f"{kind} takes {want} dimension{'s' * (want > 1)}")
    if kind == "Tensor" and not dims:
        return src.error(ann, "Tensor needs its dimensions, e.g. Tensor[b, m, n]")
    return None


#: Python's and NumPy's names for a number and for an array, as people annotate them
NUMBER_TYPES = {"float", "int", "np.float64", "numpy.float64", "np.float32"}
ARRAY_TYPES = {"np.ndarray", "numpy.ndarray", "ndarray", "list", "np.array", "Array"}


def type_hint(ann) -> str:
    """What to write for an annotation that is no type: ``Scalar`` for ``float``, the
    array types for ``np.ndarray``, square brackets for ``Vector(n)``, one pair of them
    for ``Matrix[m][n]``; else the closest type name or the list of types."""
    head = ann.value if isinstance(ann, ast.Subscript) else ann
    if isinstance(ann, ast.Call) and isinstance(ann.func, ast.Name):
        args = ", ".join(ast.unparse(a) for a in ann.args)
        return f"; write `{ann.func.id}[{args}]`, with square brackets"
    if isinstance(
        head, ast.Subscript
    ):  # Matrix[m][n]: the brackets from the inside out
        parts, inner = [], ann
        while isinstance(inner, ast.Subscript):
            parts.insert(0, ast.unparse(inner.slice).strip("()"))
            inner = inner.value
        if isinstance(inner, ast.Name):
            joined = ", ".join(parts)
            return f"; write `{inner.id}[{joined}]`, the dimensions in one pair of brackets"
    if ast.unparse(head) in NUMBER_TYPES:
        return "; a number is `Scalar`"
    if ast.unparse(head) in ARRAY_TYPES:
        return "; an array is `Vector[n]`, `Matrix[m, n]` or `Tensor[...]`, with its dimensions"
    if isinstance(head, ast.Name):
        guess = did_you_mean(head.id, [*FLOAT_TYPES, "Index"])
        if guess:
            return guess
    return " (use Scalar, Vector[n], Matrix[m, n], Tensor[...], Index or Index[n])"


def differentiation_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The frontend's error, once it has read the signature of the exported function
    ``fn``, for what it cannot differentiate, or None: an ``Index`` return, a ``@wrt``
    naming an ``Index`` parameter (at its last name there), no float parameter to
    differentiate with respect to."""
    if type_name(fn.returns) == "Index":
        return src.error(fn.returns, "the return type must be a float type")
    wrt = {
        a.id: a for d in fn.decorator_list if isinstance(d, ast.Call) for a in d.args
    }
    for p in fn.args.args:
        if p.arg in wrt and type_name(p.annotation) == "Index":
            return src.error(
                wrt[p.arg], f"cannot differentiate with respect to Index '{p.arg}'"
            )
    if not any(
        type_name(p.annotation) != "Index" and (not wrt or p.arg in wrt)
        for p in fn.args.args
    ):
        return src.error(
            fn, f"function '{fn.name}' has no float input to differentiate"
        )
    return None
