"""sqlite3's errors: a lock worth waiting for (:func:`retry_busy`), and a
:class:`HistoryError` for the rest (:func:`store_error`): what went wrong with which file,
and what to do about it; a :class:`HistoryLocationError` where the file or its folder is the
problem (damaged, not ours, not writable), a :class:`HistoryWriteError` where the disk or a
lock is (full, busy)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from .._core.exceptions import HistoryError, HistoryLocationError, HistoryWriteError
from ._location import ENV_VAR

__all__ = ["is_busy", "is_interrupted", "retry_busy", "store_error"]

T = TypeVar("T")

_DAMAGED = ("SQLITE_CORRUPT",)
_NOT_A_DATABASE = ("SQLITE_NOTADB",)
_READ_ONLY = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")
_FULL = ("SQLITE_FULL",)


def is_busy(exc: BaseException) -> bool:
    """Another connection holds a lock (worth waiting for)."""
    if _code(exc).startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def is_interrupted(exc: BaseException) -> bool:
    """A query stopped by a Ctrl-C (its progress handler raised): the user's, not an error."""
    return _code(exc) == "SQLITE_INTERRUPT" or (
        isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted"
    )


def retry_busy(attempt: Callable[[], T], timeout: float) -> T:
    """Run ``attempt``, retrying for up to ``timeout`` seconds while another connection holds
    a lock SQLite's own busy handler does not wait for (changing the journal mode, WAL
    recovery)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def store_error(exc: BaseException, where: str, action: str) -> HistoryError:
    """The error to raise for ``exc``, met while trying to ``action`` the history at ``where``."""
    code, text = _code(exc), str(exc) or type(exc).__name__
    lowered = text.lower()
    if code.startswith(_DAMAGED) or "malformed" in lowered:
        return HistoryLocationError(
            f"the run history at {where} is damaged ({text}). Move the file away (agentnb then "
            f"starts a new one there) or point {ENV_VAR} elsewhere; to save what it still "
            f"holds: sqlite3 {where} .recover | sqlite3 recovered.sqlite3"
        )
    if code.startswith(_NOT_A_DATABASE) or "not a database" in lowered:
        return HistoryLocationError(
            f"the run history at {where} is not a usable agentnb database ({text}); move it "
            f"away or point {ENV_VAR} elsewhere"
        )
    if is_busy(exc):
        return HistoryWriteError(
            f"could not {action} the run history at {where}: another process kept it locked "
            f"({text}); try again, or point {ENV_VAR} elsewhere"
        )
    if code.startswith(_READ_ONLY) or "readonly" in lowered or "unable to open" in lowered:
        return HistoryLocationError(
            f"could not {action} the run history at {where}: {text} (check that the file "
            f"and its folder are writable, or point {ENV_VAR} elsewhere)"
        )
    if code.startswith(_FULL) or "disk is full" in lowered:
        return HistoryWriteError(
            f"could not {action} the run history at {where}: the disk is full ({text})"
        )
    if "closed database" in lowered:
        return HistoryError(f"the run history at {where} is closed")
    return HistoryWriteError(f"could not {action} the run history at {where}: {text}")


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")
