"""Import gradc's own generated source in memory, through ``importlib`` (never user text).

``load_source`` and the step-by-step evaluator of ``gradc explain`` run code that gradc
printed itself; this loader is the one place that turns such text into a module.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import linecache
import types


class TextLoader(importlib.abc.InspectLoader):
    """A loader whose module source is a string of generated code."""

    def __init__(self, source: str):
        self.source = source

    def get_source(self, fullname: str) -> str:
        return self.source

    def is_package(self, fullname: str) -> bool:
        return False


def import_source(source: str, name: str, namespace: dict | None = None) -> types.ModuleType:
    """A module made from generated ``source``; ``namespace`` is bound in it first."""
    loader = TextLoader(source)
    spec = importlib.util.spec_from_loader(name, loader, origin=f"<gradc:{name}>")
    module = importlib.util.module_from_spec(spec)
    module.__file__ = f"<gradc:{name}>"
    # Let tracebacks and inspect show the generated lines.
    linecache.cache[module.__file__] = (len(source), None, source.splitlines(True),
                                        module.__file__)
    if namespace:
        module.__dict__.update(namespace)
    loader.exec_module(module)
    return module
