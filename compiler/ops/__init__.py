"""The operations: each module registers its family into the registry in ``core.prim``."""

from ..core.prim import surface_names
from . import (  # noqa: F401 - registers the operations
    arithmetic,
    elementwise,
    leaves,
    linalg,
    reductions,
    shape_ops,
)

__all__ = ["surface_names"]
