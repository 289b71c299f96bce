"""The history schema, as named migrations applied in order.

Each applied migration is recorded by name in ``_migrations``. The list is append-only:
never edit or reorder a migration that has shipped; add a new one at the end.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

__all__ = ["MIGRATIONS", "Migration", "applied_migrations", "apply_migrations"]

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            local_id TEXT PRIMARY KEY,
            run_id TEXT,
            connection TEXT,
            provider TEXT,
            host TEXT,
            agent TEXT,
            thread_id TEXT,
            message TEXT,
            answer TEXT,
            reasoning TEXT,
            status TEXT NOT NULL,
            error_code TEXT,
            error_message TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            total_tokens INTEGER,
            started_at REAL NOT NULL,
            first_token_at REAL,
            finished_at REAL,
            duration REAL,
            ttft REAL,
            tokens_per_second REAL,
            event_count INTEGER NOT NULL DEFAULT 0,
            retries INTEGER NOT NULL DEFAULT 0,
            model_settings TEXT,
            metadata TEXT,
            owner_host TEXT,
            owner_pid INTEGER,
            owner_token TEXT
        )
        """
    )
    db.execute("CREATE INDEX runs_by_started_at ON runs (started_at)")
    db.execute("CREATE INDEX runs_by_agent ON runs (agent, started_at)")
    db.execute("CREATE INDEX runs_by_thread ON runs (thread_id, started_at)")
    db.execute("CREATE INDEX runs_running ON runs (owner_host) WHERE status = 'running'")


def m002_tool_calls(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE tool_calls (
            local_id TEXT NOT NULL REFERENCES runs (local_id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            call_id TEXT NOT NULL,
            name TEXT,
            status TEXT,
            arguments TEXT,
            output TEXT,
            error TEXT,
            started_at REAL,
            finished_at REAL,
            duration REAL,
            PRIMARY KEY (local_id, position)
        )
        """
    )
    db.execute("CREATE INDEX tool_calls_by_name ON tool_calls (name)")
    # NULL for runs recorded before tool calls were: unknown, not zero.
    db.execute("ALTER TABLE runs ADD COLUMN tool_call_count INTEGER")


def m003_resumes_and_execution_time(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE runs ADD COLUMN resumes INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN execution_time REAL")


def m004_tool_call_questions(db: sqlite3.Connection) -> None:
    # NULL for calls that asked nothing, and for calls recorded before questions were.
    db.execute("ALTER TABLE tool_calls ADD COLUMN question TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN answer TEXT")


def m005_cancel_error(db: sqlite3.Connection) -> None:
    # Why the platform could not be told to stop a cancelled run; NULL when it was (or the
    # run was not cancelled, or was recorded before this column).
    db.execute("ALTER TABLE runs ADD COLUMN cancel_error TEXT")


def m006_call_tree(db: sqlite3.Connection) -> None:
    # Calls recorded before had no tree: NULL (unknown), not top-level; their agent is the run's.
    db.execute("ALTER TABLE tool_calls ADD COLUMN parent_call_id TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN agent TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN depth INTEGER")


def m007_paused_time(db: sqlite3.Connection) -> None:
    # duration became the agent's time (a pause for a person's approval left out), with the
    # wall time in elapsed and the pause in paused_seconds. Rows recorded before knew no
    # pause: their wall time is their elapsed, and their duration stays as it was. A ttft
    # without a first token (a cancelled or failed run, once written as 0) is missing.
    db.execute("ALTER TABLE runs ADD COLUMN elapsed REAL")
    db.execute("ALTER TABLE runs ADD COLUMN paused_seconds REAL")
    db.execute("UPDATE runs SET elapsed = duration")
    db.execute("UPDATE runs SET ttft = NULL WHERE first_token_at IS NULL")


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_tool_calls,
    m003_resumes_and_execution_time,
    m004_tool_call_questions,
    m005_cancel_error,
    m006_call_tree,
    m007_paused_time,
)
"""Every migration, oldest first. Append only."""


def applied_migrations(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations applied to ``db``, in the order they were applied."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    ).fetchone()
    if exists is None:
        return []
    return [name for (name,) in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def apply_migrations(
    db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the migrations ``db`` lacks, in one write transaction; return their names.

    ``db`` must be in autocommit mode (``isolation_level=None``). Several processes may call
    this at once: the pending list is re-read under the write lock, so each migration runs once.
    """
    pending = _pending(applied_migrations(db), migrations)
    if not pending:
        return []
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        pending = _pending(applied_migrations(db), migrations)
        for migration in pending:
            migration(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (migration.__name__, time.time()),
            )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return [migration.__name__ for migration in pending]


def _pending(applied: Sequence[str], migrations: Sequence[Migration]) -> list[Migration]:
    done = set(applied)
    return [migration for migration in migrations if migration.__name__ not in done]
