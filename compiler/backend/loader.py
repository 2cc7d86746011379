"""Import gradc's own generated source in memory, through ``importlib`` (never user text);
the numba target's from a file in gradc's cache directory (numba caches beside files).

``load_source`` and the step-by-step evaluator of ``gradc explain`` run code that gradc
printed itself; this loader is the one place that turns such text into a module.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import linecache
import os
import sys
import tempfile
import types
from pathlib import Path


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


def cache_dir() -> Path:
    """Where ``import_file_source`` writes modules: ``$GRADC_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/gradc`` (``~/.cache/gradc``)."""
    if os.environ.get("GRADC_CACHE_DIR"):
        return Path(os.environ["GRADC_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(xdg) / "gradc"


def import_file_source(source: str, name: str) -> types.ModuleType:
    """A module made from generated ``source`` written to a file named by its hash in
    ``cache_dir()`` (written once, atomically; never rewritten, so its stamp holds), then
    imported from there: numba's ``cache=True`` needs a source file, and keeps its
    compiled kernels in ``__pycache__`` beside it, so a second process loading the same
    text starts warm."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = cache_dir() / "numba"
    path = folder / f"{name}_{digest}.py"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(f"{name}_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    # registered before it runs: numba records the kernels' module by name, and a later
    # process loading them from the cache finds it in sys.modules (unregistered, numba
    # records '<dynamic>', which no process can import)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
