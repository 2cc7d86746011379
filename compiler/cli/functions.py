"""The functions of a file a command works on (``--function``), chosen without NumPy:
``compile`` and ``ir`` import this, not the tools' ``selection.py``."""

from __future__ import annotations

from ..core.ir import Function
from .errors import InputError


def select(functions: list[Function], name: str | None, filename: str, *, one: bool):
    """The functions to work on: all, the one named, or (``one``) the only one."""
    names = ", ".join(f.name for f in functions)
    if name is not None:
        chosen = [f for f in functions if f.name == name]
        if not chosen:
            raise InputError(
                f"{filename} has no function {name!r} (functions: {names})"
            )
        return chosen
    if one and len(functions) != 1:
        raise InputError(
            f"{filename} has several functions ({names}): choose one with --function"
        )
    return functions
