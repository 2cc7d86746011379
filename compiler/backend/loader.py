"""Import gradc's own generated source in memory, through ``importlib`` (never user text).

``load_source`` and the step-by-step evaluator of ``gradc explain`` run code that gradc
printed itself; this loader is the one place that turns such text into a module.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import linecache
import types


class TextLoader(importlib.abc.InspectLoader):
    """A loader whose module source is a string of generated code."""

    def __init__(self, source: str, path: str):
        self.source = source
        self.path = path

    def get_source(self, fullname: str) -> str:
        return self.source

    def get_code(self, fullname: str) -> types.CodeType:
        """The module's code, compiled under its ``<gradc:name>`` path (registered with
        ``linecache``), so tracebacks and ``inspect.getsource`` show the emitted lines."""
        return self.source_to_code(self.source, self.path)

    def is_package(self, fullname: str) -> bool:
        return False


def import_source(
    source: str, name: str, namespace: dict | None = None
) -> types.ModuleType:
    """A module made from generated ``source``; ``namespace`` is bound in it first."""
    # one path per text: two modules of one name keep their own lines
    path = f"<gradc:{name}:{hashlib.sha256(source.encode()).hexdigest()[:12]}>"
    loader = TextLoader(source, path)
    spec = importlib.util.spec_from_loader(name, loader, origin=path)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = path
    # Let tracebacks and inspect show the generated lines (a None mtime: never invalidated).
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    if namespace:
        module.__dict__.update(namespace)
    loader.exec_module(module)
    return module
