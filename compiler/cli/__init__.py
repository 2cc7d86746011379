"""The command line and its tools: ``gradc compile``, ``ir``, ``check``, ``explain``, ``graph``."""
