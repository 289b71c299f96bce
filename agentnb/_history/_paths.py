"""Where the history lives: the per-user data directory, or ``AGENTNB_HISTORY``.

``AGENTNB_HISTORY`` may be a file path (or a directory, to hold ``history.sqlite3``),
``:memory:`` (a database that lives as long as the process) or ``off`` (record nothing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

import platformdirs

__all__ = ["ENV_VAR", "MEMORY", "HistoryLocation", "default_location"]

ENV_VAR: Final = "AGENTNB_HISTORY"
MEMORY: Final = ":memory:"
FILE_NAME: Final = "history.sqlite3"
_OFF_WORDS: Final = frozenset({"off", "0", "false", "no", "none", "disabled"})

HistoryLocation = Path | Literal[":memory:"] | None
"""A database file, an in-memory database, or None when history is off."""


def default_location() -> HistoryLocation:
    """The history database ``AGENTNB_HISTORY`` names, else the per-user data directory's."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return Path(platformdirs.user_data_dir("agentnb", appauthor=False)) / FILE_NAME
    if value.lower() in _OFF_WORDS:
        return None
    if value == MEMORY:
        return MEMORY
    path = Path(value).expanduser()
    return path / FILE_NAME if path.is_dir() else path
