"""The operations: each module registers its family into the registry in ``core.prim``."""

from . import primitives  # noqa: F401 - registers the operations
