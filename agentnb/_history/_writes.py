"""SQL writes of one run's row: at its start, at checkpoints while it streams, at its end."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from .._core.request import RunRequest
from .._core.run import Run
from ._owner import current_owner
from ._records import TOOL_CALL_COLUMNS
from ._rows import end_values, progress_values, start_values, tool_rows
from ._scrub import storable_row

__all__ = ["chunks", "insert_start", "write_end", "write_interrupted", "write_progress"]

CHUNK = 500
ORPHAN_MESSAGE = "the process running this run ended before the run finished"
_DB_TOOL_COLUMNS = tuple(name for name, _ in TOOL_CALL_COLUMNS)
_INSERT_TOOL_CALL = (
    f"INSERT INTO tool_calls ({', '.join(_DB_TOOL_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_DB_TOOL_COLUMNS))})"
)
_REOPEN = (
    "DO UPDATE SET status = 'running', error_code = NULL, error_message = NULL, "
    "finished_at = NULL, owner_host = excluded.owner_host, owner_pid = excluded.owner_pid, "
    "owner_token = excluded.owner_token WHERE runs.status IN ('running', 'interrupted')"
)
"""A start of a run whose row exists (reattached) reopens it."""


def _owner_values() -> dict[str, Any]:
    owner = current_owner()
    return {"owner_host": owner.host, "owner_pid": owner.pid, "owner_token": owner.token}


def insert_start(db: sqlite3.Connection, run: Run, request: RunRequest, base_url: str) -> None:
    """The run's row as ``running``. A run reattached to its row (``agentnb.attach`` of a run
    still going when its process died) reopens it: running again, owned by this process,
    its partial answer kept until the stream's checkpoints bring more."""
    values = {**start_values(run, request, base_url), **_owner_values()}
    db.execute(_insert_sql(tuple(values), _REOPEN), storable_row(values.values()))


def write_progress(db: sqlite3.Connection, run: Run) -> None:
    """Checkpoint a running run's partial answer, so a killed process loses little."""
    values = {
        name: value
        for name, value in progress_values(run).items()
        if value is not None or name not in ("run_id", "thread_id")
    }
    db.execute(
        _update_sql(tuple(values), "local_id = ? AND status = 'running'"),
        storable_row((*values.values(), run.local_id)),
    )


def write_end(db: sqlite3.Connection, run: Run) -> None:
    values = end_values(run)
    for keep_known in ("run_id", "thread_id", "started_at"):
        if values[keep_known] is None:
            del values[keep_known]
    update = _update_sql(tuple(values), "local_id = ?")
    row = storable_row((*values.values(), run.local_id))
    if db.execute(update, row).rowcount == 0:
        # A run whose start was not recorded still gets its row.
        _insert_if_missing(db, {**start_values(run, None, None), **_owner_values()})
        db.execute(update, row)
    db.execute("DELETE FROM tool_calls WHERE local_id = ?", storable_row((run.local_id,)))
    calls = [storable_row(row) for row in tool_rows(run)]
    if calls:
        db.executemany(_INSERT_TOOL_CALL, calls)


def write_interrupted(db: sqlite3.Connection, runs: Sequence[Run]) -> None:
    """Runs still going when the store closes (the process is exiting): keep what arrived."""
    for run in runs:
        write_progress(db, run)
        db.execute(
            "UPDATE runs SET status = 'interrupted', error_code = 'process_exited', "
            "error_message = ? WHERE status = 'running' AND local_id = ?",
            storable_row((ORPHAN_MESSAGE, run.local_id)),
        )


def _insert_if_missing(db: sqlite3.Connection, values: dict[str, Any]) -> None:
    db.execute(_insert_sql(tuple(values), "DO NOTHING"), storable_row(values.values()))


@functools.lru_cache(maxsize=64)
def _insert_sql(columns: tuple[str, ...], on_conflict: str) -> str:
    """The INSERT of a row of ``columns`` (the few column sets in use are built once)."""
    marks = ", ".join("?" * len(columns))
    return (
        f"INSERT INTO runs ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT (local_id) {on_conflict}"
    )


@functools.lru_cache(maxsize=64)
def _update_sql(columns: tuple[str, ...], where: str) -> str:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    return f"UPDATE runs SET {assignments} WHERE {where}"


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
