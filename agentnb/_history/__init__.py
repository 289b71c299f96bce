"""Run history: every run agentnb makes, kept in SQLite for analysis, and read back as data
(:class:`RunHistory`: records, DataFrames, summaries); what shows it is above, and names the
tables the store returns when it is imported (:func:`show_tables_as`). The database is at a
per-user location, or where ``AGENTNB_HISTORY`` says (a path, ``:memory:``, or ``off``).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from .._core.exceptions import (
    ConfigurationError,
    HistoryError,
    HistoryLocationError,
    HistoryWriteError,
)
from .._core.warning import warn
from ._file import ENV_VAR, default_location
from ._migrations import MIGRATIONS, add_migrations
from ._past_run import past_run
from ._records import OUTPUT_LIMIT, RunRecord, ToolCallRecord, call_records_of, host_of
from ._run_filter import EVALUATES, STATUSES, RunFilter, RunFilters, Since, metadata_key
from ._scores import ScoreRecord, ScoreSource, ScoreValue, checked_score
from ._store import HistoryStore, show_tables_as
from ._tables import RunHistory, ToolCallHistory

__all__ = [
    "ENV_VAR",
    "EVALUATES",
    "MIGRATIONS",
    "OUTPUT_LIMIT",
    "STATUSES",
    "HistoryError",
    "HistoryLocationError",
    "HistoryStore",
    "HistoryWriteError",
    "RunFilter",
    "RunFilters",
    "RunHistory",
    "RunRecord",
    "ScoreRecord",
    "ScoreSource",
    "ScoreValue",
    "Since",
    "ToolCallHistory",
    "ToolCallRecord",
    "add_migrations",
    "call_records_of",
    "checked_score",
    "close_default_stores",
    "default_store",
    "host_of",
    "kept_store",
    "metadata_key",
    "open_default_store",
    "past_run",
    "show_tables_as",
]

_lock = threading.Lock()
_stores: dict[str, HistoryStore[Any]] = {}
"""The default stores, by file. A store's tables are those what shows the history names
(:func:`show_tables_as`), which this layer cannot: ``agentnb.history`` types them."""
_failed: dict[str, str] = {}
_by_setting: dict[str | None, HistoryStore[Any]] = {}
"""The store each value of ``AGENTNB_HISTORY`` led to. Every run asks for its store, and
resolving the location (platformdirs, a path, a stat: ~10 µs) was a quarter of what starting
a run costs the caller's thread; so the per-user folder is looked up when its store is
opened, not again while that store stays open."""


def default_store() -> HistoryStore[Any] | None:
    """The history agentnb records in by default (``AGENTNB_HISTORY``, or the per-user
    default; None when it is off): one store per file, the same object every run, score and
    table of this process uses. A database that cannot be opened gives a warning once and
    None, so runs go on unrecorded; ``agentnb.runs()`` raises the error instead."""
    try:
        return open_default_store()
    except HistoryError as exc:
        key = os.environ.get(ENV_VAR, "")
        if _failed.get(key) != str(exc):
            _failed[key] = str(exc)
            warn(f"agentnb: runs are not being recorded: {exc}", stacklevel=2)
        return None


def kept_store(what: str) -> HistoryStore[Any]:
    """The default store, where ``what`` (``"scores"``, ``"datasets"``...) is kept; a
    :class:`ConfigurationError` saying so when history is off."""
    store = default_store()
    if store is None:
        raise ConfigurationError(
            f"{what} are kept in the run history, and history is off (AGENTNB_HISTORY=off)"
        )
    return store


def open_default_store() -> HistoryStore[Any] | None:
    """The store :func:`default_store` gives, raising the error that stops it opening."""
    setting = os.environ.get(ENV_VAR)
    store = _by_setting.get(setting)
    if store is not None and not store.closed:
        return store
    location = default_location()
    if location is None:
        return None
    key = str(location)
    with _lock:
        store = _stores.get(key)
        if store is None or store.closed:
            if not _stores:
                atexit.register(close_default_stores)
            store = HistoryStore(location)
            _stores[key] = store
        _by_setting[setting] = store
        return store


def close_default_stores() -> None:
    """Close the stores :func:`default_store` opened (at exit, or between tests)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
        _by_setting.clear()
        _failed.clear()
    for store in stores:
        store.close()
