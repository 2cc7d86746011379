"""The SymPy bridge: SymPy functions for the stable ops, IR <-> SymPy, fused bodies and
their local gradients."""

from . import fused  # noqa: F401 - registers the fused operation
