"""The Jinja2 environment over ``templates/`` (shipped inside the package as ``gradc.templates``)."""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

import jinja2


def template_dir() -> Path:
    """Where the templates are: this source tree's ``templates/`` when the package runs from
    a checkout (an editable install of another checkout must not lend it its templates),
    else the installed package data."""
    tree = Path(__file__).resolve().parent.parent.parent
    if (tree / "pyproject.toml").is_file() and (
        tree / "templates" / "module.py.j2"
    ).is_file():
        return tree / "templates"
    try:
        installed = Path(str(files("gradc.templates")))
        if (installed / "module.py.j2").is_file():
            return installed
    except (ModuleNotFoundError, TypeError):
        pass
    return tree / "templates"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: strict about undefined names, no autoescape (Python)."""
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
