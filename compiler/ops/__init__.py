"""The operations: each module registers its family into the registry in ``core.prim``."""

from . import (  # noqa: F401 - registers the operations
    arithmetic,
    elementwise,
    leaves,
    linalg,
    reductions,
    shape_ops,
)
