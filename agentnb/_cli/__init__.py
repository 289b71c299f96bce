"""The ``agentnb`` command line: ``run``, ``runs`` and ``serve``."""

from .main import main

__all__ = ["main"]
