"""Numbers and arrays as the tools print them, the notation of ``explain``, and the
``NAME=VALUE`` lists of ``--at`` and ``--dims`` (parsed without ``eval``)."""

from __future__ import annotations

import json
import sys

import numpy as np

from ..core.ir import format_attr
from .errors import InputError


def fmt_number(x, digits: int = 6) -> str:
    """A number as the lecture writes it: ``3``, ``-12``, ``0.7311``."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def fmt_array(v, digits: int = 6, *, norm_sign: str = "‖") -> str:
    """A scalar as a number; a small array by its entries; a larger one by shape and norm."""
    arr = np.asarray(v)
    if arr.ndim == 0:
        return fmt_number(arr, digits) if arr.dtype.kind == "f" else str(arr.item())
    shape = format_attr(tuple(arr.shape))
    if arr.dtype.kind != "f":
        if arr.size <= 8:
            return str(arr.tolist())
        return ("bool" if arr.dtype.kind == "b" else "int") + f" array {shape}"
    if arr.size <= 4 and arr.ndim == 1:
        return "[" + ", ".join(fmt_number(x, digits) for x in arr) + "]"
    norm = fmt_number(np.linalg.norm(arr.ravel()), digits)
    return f"{shape} {norm_sign}·{norm_sign} = {norm}"


class Symbols:
    """The notation of ``explain``: mathematical where the terminal can print it."""

    def __init__(self, stream=None):
        stream = stream or sys.stdout
        try:
            # text streams without an encoding (io.StringIO) hold any character
            "∂×⊙‖·".encode(getattr(stream, "encoding", None) or "utf-8")
            fancy = True
        except (UnicodeEncodeError, LookupError):
            fancy = False
        self.d = "∂" if fancy else "d"
        self.times = "×" if fancy else "*"
        self.odot = "⊙" if fancy else "(.)"
        self.norm = "‖" if fancy else "|"

    def grad(self, out: str, wrt: str) -> str:
        """``∂out/∂wrt`` (``dout/dwrt`` on an ASCII terminal)."""
        return f"{self.d}{out}/{self.d}{wrt}"

    def number(self, v) -> str:
        """A value as ``explain`` prints it (``fmt_array`` with this norm sign)."""
        return fmt_array(v, 6, norm_sign=self.norm)


class Utf8:
    """DOT files are UTF-8: the graph always uses mathematical notation."""

    encoding = "utf-8"


def parse_assignments(text: str | None, what: str) -> dict[str, object]:
    """``x=-2,y=5,W=[[1,2],[3,4]]`` as ``{name: number or nested list}`` (no eval)."""
    if not text:
        return {}
    parts, depth, current = [], 0, ""
    for c in text:
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    out: dict[str, object] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier() or not value:
            raise InputError(f"{what}: expected NAME=VALUE, got {part.strip()!r}")
        if name in out:
            raise InputError(f"{what}: {name} is given twice")
        try:
            if value.startswith("["):
                out[name] = json.loads(value)
            else:
                out[name] = int(value) if value.lstrip("+-").isdigit() else float(value)
        except ValueError:
            raise InputError(
                f"{what}: {name}={value} is not a number or a [list]"
            ) from None
    return out


def parse_dims(text: str | None) -> dict[str, int]:
    """``--dims n=3,d=4`` as ``{"n": 3, "d": 4}``."""
    out = {}
    for name, value in parse_assignments(text, "--dims").items():
        if not isinstance(value, int) or value < 1:
            raise InputError(f"--dims: {name}={value} is not a positive integer")
        out[name] = value
    return out
