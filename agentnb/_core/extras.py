"""The optional extras (pandas for frames and summaries, matplotlib for plots, pyarrow and
polars for ``to_arrow`` / ``to_polars``): imported only when asked for, with the ``pip
install`` that brings each when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "MissingExtraError",
    "require_pandas",
    "require_polars",
    "require_pyarrow",
    "require_pyplot",
]


class MissingExtraError(ImportError):
    """An optional extra is not installed; the message names the ``pip install`` for it."""


def require_pandas() -> ModuleType:
    try:
        import pandas  # optional extra, heavy: loaded on first use
    except ImportError:
        raise MissingExtraError(
            'this needs pandas, which is not installed: pip install "agentnb[pandas]"'
        ) from None
    return pandas


def require_pyplot() -> ModuleType:
    try:
        import matplotlib.pyplot  # optional extra, heavy: loaded on first plot
    except ImportError:
        raise MissingExtraError(
            'plotting needs matplotlib, which is not installed: pip install "agentnb[plot]"'
        ) from None
    return matplotlib.pyplot


def require_pyarrow() -> ModuleType:
    try:
        # optional extra, heavy: loaded on the first to_arrow() (untyped: a module, as is)
        pyarrow = importlib.import_module("pyarrow")
    except ImportError:
        raise MissingExtraError(
            'to_arrow() needs pyarrow, which is not installed: pip install "agentnb[arrow]"'
        ) from None
    return pyarrow


def require_polars() -> ModuleType:
    try:
        import polars  # optional extra, heavy: loaded on the first to_polars()
    except ImportError:
        raise MissingExtraError(
            'to_polars() needs polars, which is not installed: pip install "agentnb[polars]"'
        ) from None
    return polars
