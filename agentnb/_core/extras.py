"""The optional extras (pandas for frames and summaries, matplotlib for plots, pyarrow and
polars for ``to_arrow`` / ``to_polars``, the ``mcp`` SDK for MCP servers): imported only
when asked for, with the ``pip install`` that brings each when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "MissingExtraError",
    "require_mcp",
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


def _require(module: str, needs: str, extra: str) -> ModuleType:
    """``module`` (an optional extra, heavy: imported on first use), else the
    :class:`MissingExtraError` saying what ``needs`` it and the ``extra`` that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(needs, extra) from None


def require_pandas() -> ModuleType:
    return _require("pandas", "this needs pandas", "pandas")


def require_pyplot() -> ModuleType:
    return _require("matplotlib.pyplot", "plotting needs matplotlib", "plot")


def require_pyarrow() -> ModuleType:
    return _require("pyarrow", "to_arrow() needs pyarrow", "arrow")


def require_polars() -> ModuleType:
    return _require("polars", "to_polars() needs polars", "polars")


def require_mcp() -> ModuleType:
    return _require(
        "mcp", "MCP servers need the mcp package (the Model Context Protocol SDK)", "mcp"
    )
