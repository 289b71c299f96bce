"""The optional extras (pandas for frames and summaries, matplotlib for plots, pyarrow and
polars for ``to_arrow`` / ``to_polars``, the ``mcp`` SDK for MCP servers, a part of the
package another distribution brings): imported only when asked for, with the ``pip install``
that brings each when it is missing."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import re
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = [
    "MissingExtraError",
    "hint_missing_parts",
    "missing_part",
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


def missing_part(fullname: str) -> str | None:
    """How to install ``fullname``, a module of the agentnb package that another of its
    distributions brings (``agentnb.NAME`` from ``agentnb-NAME``, which an extra of
    agentnb's requires: ``agentnb.evals`` from ``pip install "agentnb[evals]"``), or None."""
    package, _, part = fullname.partition(".")
    if package != "agentnb" or not part.isidentifier() or part.startswith("_"):
        return None
    try:
        requires = importlib.metadata.requires("agentnb") or []
    except importlib.metadata.PackageNotFoundError:  # agentnb run from a path, not installed
        return None
    wanted = re.compile(rf"agentnb[-_.]{part}\b[^;]*;.*\bextra\s*==\s*[\"'](?P<extra>[\w-]+)")
    extras = [found["extra"] for r in requires if (found := wanted.match(r))]
    if not extras:
        return None
    # the extra named for the part (evals), not one that brings it with more (dask, ray)
    extra = part if part in extras else extras[0]
    return (
        f"{fullname} is its own distribution, agentnb-{part}, which is not installed: "
        f'pip install "agentnb[{extra}]" (in a checkout of agentnb: pip install -e ./{part})'
    )


class _MissingPartFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: asked only when no finder found a module, it turns "No
    module named 'agentnb.evals'" into how to install it."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        hint = missing_part(fullname)
        if hint is not None:
            raise ModuleNotFoundError(hint, name=fullname)
        return None


def hint_missing_parts() -> None:
    """Say how to install a part of the package that is missing (once a process)."""
    if not any(isinstance(finder, _MissingPartFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MissingPartFinder())
