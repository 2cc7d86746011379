"""The ``gradc`` command line, run from a checkout: ``python cli.py compile FILE.grad``.

The command itself lives in the package (``gradc.cli.main``; installed, it is ``gradc`` or
``python -m gradc``). Run from a checkout, this script imports this checkout's
``compiler/`` directory as the package ``gradc``, whatever else is installed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def use_checkout() -> None:
    """Make ``import gradc`` load this checkout's ``compiler/`` (once per process)."""
    here = Path(__file__).resolve().parent / "compiler"
    loaded = sys.modules.get("gradc")
    if loaded is not None:
        if Path(loaded.__file__).resolve().parent == here:
            return
        for name in [m for m in sys.modules if m == "gradc" or m.startswith("gradc.")]:
            del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "gradc", here / "__init__.py", submodule_search_locations=[str(here)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["gradc"] = module
    spec.loader.exec_module(module)


def main(argv: list[str] | None = None) -> int:
    use_checkout()
    from gradc.cli.main import main as gradc_main

    return gradc_main(argv)


if __name__ == "__main__":
    sys.exit(main())
