"""The one place where gradc imports a module by name at run time.

Everything else imports at the top of its module (tests/test_architecture.py). Two
tables name what is loaded here, as ``"module:attribute"`` relative to the package:
the public API of ``gradc/__init__.py`` (``API``: ``import gradc`` costs nothing until a
function is used) and the commands of ``cli/main.py`` (``COMMANDS``: each command's
module is imported when that command runs). So ``gradc --help`` and a syntax error in a
formula file are answered without importing NumPy, SymPy or the compiler (README,
"How it works"; start-up times in bench/README.md). Two uses more keep NumPy out of a
compile: ``pipeline.scalar_build`` resolves ``passes/scalarise`` only for a function it
may expand, and ``gradc check``'s kink distances (``ops/points.py``, ``ops/conv.py``)
take NumPy from ``numpy()``.
"""

from __future__ import annotations

import importlib


def resolve(target: str):
    """The attribute named by ``target``, ``".module.path:attribute"`` (relative to the
    ``gradc`` package), its module imported on first use."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module, __package__), attribute)


def numpy():
    """The ``numpy`` module, imported on first use (a compile imports none)."""
    return importlib.import_module("numpy")
