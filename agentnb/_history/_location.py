"""Where the history lives: the per-user data directory, or ``AGENTNB_HISTORY``: a file path
(or a directory, to hold ``history.sqlite3``), ``:memory:`` (a database that lives as long as
the process) or ``off`` (record nothing)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

import platformdirs

from .._core.exceptions import HistoryLocationError

__all__ = ["ENV_VAR", "FILE_NAME", "MEMORY", "HistoryLocation", "default_location", "expand_path"]

ENV_VAR: Final = "AGENTNB_HISTORY"
MEMORY: Final = ":memory:"
FILE_NAME: Final = "history.sqlite3"
_OFF_WORDS: Final = frozenset({"off", "0", "false", "no", "none", "disabled"})

HistoryLocation = Path | Literal[":memory:"] | None
"""A database file, an in-memory database, or None when history is off."""


def default_location() -> HistoryLocation:
    """The history database ``AGENTNB_HISTORY`` names, else the per-user data directory's.

    Raises :class:`HistoryLocationError` when the variable names no usable path."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return Path(platformdirs.user_data_dir("agentnb", appauthor=False)) / FILE_NAME
    if value.lower() in _OFF_WORDS:
        return None
    if value == MEMORY:
        return MEMORY
    path = expand_path(value, ENV_VAR)
    return path / FILE_NAME if path.is_dir() else path


def expand_path(value: str | os.PathLike[str], what: str) -> Path:
    """``value`` as a path with ``~`` expanded; a HistoryLocationError naming ``what`` (the
    setting it came from) when it cannot be a path."""
    shown = f"{what}={os.fspath(value)!r}"
    if "\x00" in os.fspath(value):
        raise HistoryLocationError(f"{shown} is not a usable run history path: it holds a NUL byte")
    try:
        return Path(value).expanduser()
    except RuntimeError as exc:  # "~someone" whose home cannot be found
        raise HistoryLocationError(
            f"{shown} is not a usable run history path: {exc} ({str(value).split('/')[0]!r} "
            "names no user's home); give an absolute path, or ~/… for your own home"
        ) from None
