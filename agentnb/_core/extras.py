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
    """An optional extra is not installed; the message names the ``pip install`` for it,
    which :attr:`command` holds alone (a terminal prints it whole, on a line of its own)."""

    def __init__(self, needs: str, extra: str) -> None:
        self.needs = needs
        self.command = f'pip install "agentnb[{extra}]"'
        super().__init__(f"{needs}, which is not installed: {self.command}")


def require_pandas() -> ModuleType:
    try:
        import pandas  # optional extra, heavy: loaded on first use
    except ImportError:
        raise MissingExtraError("this needs pandas", "pandas") from None
    return pandas


def require_pyplot() -> ModuleType:
    try:
        import matplotlib.pyplot  # optional extra, heavy: loaded on first plot
    except ImportError:
        raise MissingExtraError("plotting needs matplotlib", "plot") from None
    return matplotlib.pyplot


def require_pyarrow() -> ModuleType:
    try:
        # optional extra, heavy: loaded on the first to_arrow() (untyped: a module, as is)
        pyarrow = importlib.import_module("pyarrow")
    except ImportError:
        raise MissingExtraError("to_arrow() needs pyarrow", "arrow") from None
    return pyarrow


def require_polars() -> ModuleType:
    try:
        import polars  # optional extra, heavy: loaded on the first to_polars()
    except ImportError:
        raise MissingExtraError("to_polars() needs polars", "polars") from None
    return polars
