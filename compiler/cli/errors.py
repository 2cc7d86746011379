"""The error of a bad command-line value (reported as ``gradc: error:``, exit 2)."""

from __future__ import annotations


class InputError(ValueError):
    """A bad --at, --dims or --function value (reported as ``gradc: error:``, exit 2)."""
