"""Layout of the emitted text: statement blocks, ``def`` lines, calls and tuples split as
ruff formats them, docstrings, and the template data of one emitted function."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.ir import Function

LINE_LIMIT = 88


@dataclass
class Block:
    """Consecutive statements from one formula line, headed by a comment citing it."""

    comment: str
    lines: list[str]


def body_lines(blocks: list[Block]) -> list[dict]:
    """``blocks`` as template data: one ``{"comment", "lines"}`` mapping each."""
    return [{"comment": b.comment, "lines": b.lines} for b in blocks]


def identifiers(blocks: list[Block], extra: list[str]) -> set[str]:
    """The identifiers some code reads (to know which dimensions it needs); comment
    lines are not code (``# fused mul: d/d(X @ w)`` reads no ``d``)."""
    code = [ln for b in blocks for ln in b.lines if not ln.lstrip().startswith("#")]
    text = "\n".join(code) + "\n" + "\n".join(extra)
    return set(re.findall(r"[A-Za-z_]\w*", text))


def call_lines(indent: str, head: str, args: list[str]) -> list[str]:
    """``head(args)`` split as ruff formats a call that does not fit on one line.

    The lines go in a function body, so the template's 4 spaces count too.
    """
    limit = LINE_LIMIT - 4
    one = f"{indent}{head}({', '.join(args)})"
    if len(one) <= limit:
        return [one]
    inner = f"{indent}    {', '.join(args)}"
    if len(inner) <= limit:
        return [f"{indent}{head}(", inner, f"{indent})"]
    return [f"{indent}{head}("] + [f"{indent}    {a}," for a in args] + [f"{indent})"]


def tuple_lines(head: str, items: list[str], tail: str) -> list[str]:
    """``head(a, b)tail`` on one line, or exploded one item per line with a trailing comma."""
    one = f"{head}{', '.join(items)}{tail}"
    if len(one) + 4 <= LINE_LIMIT:
        return [one]
    return (
        [head.rstrip("(") + "("]
        + [f"    {a}," for a in items]
        + [")" + tail.lstrip(")")]
    )


def signature(fname: str, params: list[str]) -> list[str]:
    """A ``def`` line as ruff formats it: one line, or the arguments on the next line(s)."""
    one = f"def {fname}({', '.join(params)}):"
    if len(one) <= LINE_LIMIT:
        return [one]
    inner = "    " + ", ".join(params)
    if len(inner) <= LINE_LIMIT:
        return [f"def {fname}(", inner, "):"]
    return [f"def {fname}("] + [f"    {p}," for p in params] + ["):"]


def lay_out(
    fn_name: str, params: list[str], doc: list[str], body: list, ret: list[str]
) -> dict:
    """The template data of one emitted function (``guard``: see ``family.guarded``)."""
    return {
        "name": fn_name,
        "signature": signature(fn_name, params),
        "doc": doc,
        "body": body,
        "ret": ret,
        "guard": None,
    }


def docstring(
    fn: Function, kind: str, cache_names: list[str], seed: str = "", extra=()
) -> list[str]:
    """The docstring lines of one emitted function (``extra``: its tangent parameters)."""
    wrt = ", ".join(p.name for p in fn.wrt)
    first = fn.params[0].name if fn.params else ""
    head = {
        "value": f"Value of ``{fn.name}`` ({fn.filename}:{fn.loc.line}).",
        "forward": f"Value of ``{fn.name}`` and the cache its backward pass reads.",
        "backward": f"Gradients of ``{fn.name}`` with respect to {wrt}.",
        "grad": f"Gradients of ``{fn.name}`` with respect to {wrt}.",
        "value_and_grad": f"Value of ``{fn.name}`` and its gradients with respect to {wrt}.",
        "jvp": f"Value of ``{fn.name}`` and its directional derivative (forward mode).",
        "hvp": f"Hessian of ``{fn.name}`` times vectors, with respect to {wrt}.",
        "hessp": f"Hessian of ``{fn.name}`` times ``p``, in SciPy's ``hessp`` order.",
        "hessian": f"Hessian of ``{fn.name}`` with respect to {wrt}.",
    }[kind]
    lines = [head, ""]
    user = [ln.rstrip() for ln in (fn.doc or "").strip().splitlines()]
    if kind == "value" and user:
        lines += user + [""]
    if kind == "value" and fn.source:
        lines += ["Formula:", ""] + ["    " + ln for ln in fn.source] + [""]
    items = [f"{p.name}: {p.annotation}" for p in fn.params]
    lines += wrap_items("Inputs: ", items, f" -> {fn.out_annotation}.")
    if extra:
        lines += wrap_items(
            "Tangents: ", [f"{p.name}: {p.annotation}" for p in extra], "."
        )
    if kind == "hvp" and any(node.op == "loop" for node in fn.nodes):
        kind = "hvp_loops"  # reverse over forward (``passes/loop_forward.py``)
    lines += DERIVED_NOTES[kind](first) if kind in DERIVED_NOTES else []
    if kind == "forward":
        lines += wrap_items("Cache: ", cache_names or ["nothing"], ".")
    if kind == "backward":
        lines.append(
            f"``{seed}`` is the gradient of the value (same shape); ``cache`` comes"
        )
        lines.append(f"from ``{fn.name}_forward``.")
    return [escape_doc(ln) for ln in lines]


DERIVED_NOTES = {
    "jvp": lambda first: [
        "Returns the value and its derivative along the tangents, one per",
        "differentiated input (its shape), computed alongside the value.",
    ],
    "hvp": lambda first: [
        "Forward over reverse: the tangents of the gradients along the vectors, one",
        "per differentiated input; never forms the Hessian.",
    ],
    "hvp_loops": lambda first: [
        "Reverse over forward, through the loops: the gradients of the derivative",
        "along the vectors, one per differentiated input; never forms the Hessian.",
    ],
    "hessp": lambda first: [
        f"``p`` is the vector for ``{first}``; the other inputs follow, as ``args``:",
        "``minimize(f_value_and_grad, x0, jac=True, hessp=f_hessp, args=...)``.",
    ],
    "hessian": lambda first: [
        "The dense symmetric Hessian: the unit tangents pushed together in one",
        "batched pass (row k is the Hessian times unit vector k).",
    ],
}


def fallback_doc(name: str) -> list[str]:
    """The docstring of a NumPy fallback."""
    public = name[1 : -len("_numpy")]
    return [
        f"``{public}`` in NumPy arithmetic, for the inputs where ``math`` raises.",
        "",
        "The same computation on np.float64 scalars: inf and nan (with NumPy's warning)",
        "where Python raises, as the NumPy build returns; results are floats.",
    ]


def module_doc_lines(doc: str, source: str) -> list[str]:
    """The module docstring's lines: the generated-from line, then the formula file's own."""
    lines = [ln.rstrip() for ln in (doc or "").strip().splitlines()]
    head = f"Forward and backward functions generated by gradc from {source}."
    return ([head, ""] + lines) if lines else [head]


def wrap_items(head: str, items: list[str], tail: str, width: int = 76) -> list[str]:
    """``head`` then the comma-separated ``items``, broken between items only."""
    lines, current = [], head
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else tail)
        if len(current) + len(piece) + 1 > width and current.strip() != head.strip():
            lines.append(current.rstrip())
            current = "    "
        current += ("" if current.endswith((" ", "    ")) else " ") + piece
    lines.append(current.rstrip())
    return lines


def escape_doc(line: str) -> str:
    """``line`` safe inside a ``\"\"\"`` docstring: printable, backslashes and quotes escaped."""
    line = "".join(c if c.isprintable() else " " for c in line)
    line = line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if line.endswith('"'):
        line = line[:-1] + '\\"'
    return line.rstrip()
