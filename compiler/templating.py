"""The Jinja2 environment over ``templates/`` (shipped inside the package as ``compiler.templates``)."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2


def template_dir() -> Path:
    """Where the templates are: the checkout's ``templates/`` when this package runs from a
    source tree (an editable install of another checkout maps ``compiler.templates`` to
    that checkout's directory), else the installed package data."""
    checkout = Path(__file__).resolve().parent.parent
    source = checkout / "templates"
    if (checkout / "pyproject.toml").is_file() and (source / "module.py.j2").is_file():
        return source
    try:
        from importlib.resources import files

        installed = Path(str(files("compiler.templates")))
        if (installed / "module.py.j2").is_file():
            return installed
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "templates"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(name: str, **data) -> str:
    """Render template ``name`` with ``data``."""
    return environment().get_template(name).render(**data)
