"""Suite-wide pytest settings."""

from __future__ import annotations


def pytest_configure(config):
    """Under ``-n auto``, pytest-xdist's ``worksteal`` scheduling rather than ``load``:
    ``load`` queues each worker's share up front, and numba compiles queued on one
    worker made the last 3% of CI's tests take 12 of its 29 minutes (the CPU time of
    the run, 32 minutes, was about its wall time on 2 cores); with ``worksteal`` an idle
    worker takes half of the other's queue (pytest-xdist 3.2 or later)."""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "worksteal"
