"""Jinja2 templates of the emitted code (installed as package data of compiler.templates)."""
