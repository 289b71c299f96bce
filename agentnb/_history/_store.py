"""`HistoryStore`: the SQLite database of runs, and the recorder the client writes to.

Concurrency: WAL journal, a 30 s busy timeout and short ``BEGIN IMMEDIATE`` write
transactions, so several kernels can write one file at once. sqlite3 connections are not
shared between threads: each thread gets its own (the client records on agentnb's loop
thread, the user reads on the main thread). An in-memory database has a single connection
guarded by a lock, since each connection to ``:memory:`` would be a separate database.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._core.exceptions import HistoryStoreError
from .._core.request import RunRequest
from .._core.run import Run
from ._filters import RunFilter
from ._migrations import MIGRATIONS, applied_migrations, apply_migrations
from ._owner import ProcessOwner, current_owner, owner_is_gone
from ._paths import ENV_VAR, MEMORY
from ._records import RUN_COLUMNS, TOOL_CALL_COLUMNS, RunRecord, ToolCallRecord
from ._writes import (
    ORPHAN_MESSAGE,
    chunks,
    insert_start,
    write_end,
    write_interrupted,
    write_progress,
)

if TYPE_CHECKING:
    from ._table import RunHistory

__all__ = ["HistoryStore", "HistoryStoreError"]

logger = logging.getLogger("agentnb.history")

T = TypeVar("T")

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write to finish before giving up."""
_RUN_SELECT = ", ".join(name for name, _ in RUN_COLUMNS)
_TOOL_SELECT = ", ".join(
    "r.agent" if name == "agent" else f"t.{name}" for name, _ in TOOL_CALL_COLUMNS
)


class HistoryStore:
    """A run history database. It is also a ``RunRecorder``: give it to a client as
    ``recorder=`` and every run the client makes is written here.

    ``path`` is a file (created with its folder if missing) or ``":memory:"``. Opening
    upgrades the schema and marks ``interrupted`` the runs left ``running`` by processes of
    this host that no longer exist.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self._memory = str(path) == MEMORY
        self.path: Path | None = None if self._memory else Path(path).expanduser()
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._shared: sqlite3.Connection | None = None
        self._closed = False
        self._open_runs: dict[str, Run] = {}
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                self._retry_busy(lambda: self._prepare(db))
        except sqlite3.DatabaseError as exc:
            self._close_connections()
            if _is_busy(exc):
                raise
            raise HistoryStoreError(
                f"the run history at {self.path} is not a usable agentnb database ({exc}); "
                f"move it away or point {ENV_VAR} elsewhere"
            ) from None
        except OSError as exc:
            self._close_connections()
            raise HistoryStoreError(
                f"cannot create the run history at {self.path}: {exc}"
            ) from None
        except BaseException:
            self._close_connections()
            raise

    def __repr__(self) -> str:
        where = MEMORY if self.path is None else str(self.path)
        return f"HistoryStore({where!r}{', closed' if self._closed else ''})"

    # ---- connections -----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        target = MEMORY if self.path is None else str(self.path)
        try:
            db = sqlite3.connect(
                target, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise HistoryStoreError(f"cannot open the run history at {target}: {exc}") from None
        self._connections.append(db)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise HistoryStoreError(f"{self!r} is closed")
        if self._memory:
            with self._lock:
                if self._shared is None:
                    self._shared = self._connect()
                yield self._shared
            return
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            with self._lock:
                db = self._connect()
            self._local.db = db
        yield db

    def close(self) -> None:
        """Close every connection. Runs this store saw start and not end become interrupted."""
        with self._lock:
            if self._closed:
                return
            try:
                self._interrupt_open_runs()
            finally:
                self._close_connections()

    def _close_connections(self) -> None:
        with self._lock:
            self._closed = True
            for db in self._connections:
                db.close()
            self._connections.clear()
            self._shared = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- schema and housekeeping ------------------------------------------------------
    def _prepare(self, db: sqlite3.Connection) -> None:
        if not self._memory:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("agentnb history: %s is not in WAL mode (%s)", self.path, mode)
        apply_migrations(db)
        self._mark_orphans_interrupted(db)

    def migrations(self) -> list[str]:
        """Names of the schema migrations applied to this database, oldest first."""
        with self._db() as db:
            return applied_migrations(db)

    @staticmethod
    def latest_migration() -> str:
        return MIGRATIONS[-1].__name__

    def _mark_orphans_interrupted(self, db: sqlite3.Connection) -> int:
        owner = current_owner()
        owners = db.execute(
            "SELECT DISTINCT owner_pid, owner_token FROM runs "
            "WHERE status = 'running' AND owner_host = ?",
            (owner.host,),
        ).fetchall()
        gone = [
            (pid, token)
            for pid, token in owners
            if pid is not None and owner_is_gone(ProcessOwner(owner.host, pid, token))
        ]
        if not gone:
            return 0

        def mark(db: sqlite3.Connection) -> int:
            count = 0
            for pid, token in gone:
                count += db.execute(
                    "UPDATE runs SET status = 'interrupted', error_code = 'process_exited', "
                    "error_message = ? WHERE status = 'running' AND owner_host = ? "
                    "AND owner_pid = ? AND owner_token IS ?",
                    (ORPHAN_MESSAGE, owner.host, pid, token),
                ).rowcount
            return count

        return self._write_with(db, mark)

    def mark_orphans_interrupted(self) -> int:
        """Mark ``interrupted`` the running rows whose process has gone; return how many."""
        with self._db() as db:
            return self._retry_busy(lambda: self._mark_orphans_interrupted(db))

    def _interrupt_open_runs(self) -> None:
        with self._lock:
            open_runs = list(self._open_runs.values())
            self._open_runs.clear()
        if not open_runs:
            return
        try:
            self._write(lambda db: write_interrupted(db, open_runs))
        except Exception as exc:
            logger.warning("agentnb history: could not close open runs: %s", exc)

    # ---- writing ---------------------------------------------------------------------
    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._db() as db:
            return self._write_with(db, work)

    def _write_with(self, db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        def attempt() -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result

        return self._retry_busy(attempt)

    def _retry_busy(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt``, retrying while another connection holds a lock SQLite's own busy
        handler does not wait for (changing the journal mode, WAL recovery)."""
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.005
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        """Write the run's row as ``running`` (``RunRecorder``). Never raises."""
        try:
            self._write(lambda db: insert_start(db, run, request, base_url))
            with self._lock:
                self._open_runs[run.local_id] = run
        except Exception as exc:
            logger.error("agentnb history: could not record the start of a run: %s", exc)

    def record_end(self, run: Run) -> None:
        """Finish the run's row and write its tool calls (``RunRecorder``). Never raises."""
        try:
            self._write(lambda db: write_end(db, run))
            with self._lock:
                self._open_runs.pop(run.local_id, None)
        except Exception as exc:
            logger.error("agentnb history: could not record the end of a run: %s", exc)

    def record_progress(self, run: Run) -> None:
        """Checkpoint the partial answer of a running run (``RunRecorder``). Never raises."""
        try:
            self._write(lambda db: write_progress(db, run))
        except Exception as exc:
            logger.warning("agentnb history: could not checkpoint a run: %s", exc)

    def record(self, run: Run, request: RunRequest | None = None, *, base_url: str = "") -> None:
        """Write a whole run at once (for runs made outside a recording client)."""

        def write(db: sqlite3.Connection) -> None:
            if request is not None:
                insert_start(db, run, request, base_url)
            write_end(db, run)

        self._write(write)

    def import_records(self, records: Iterable[RunRecord]) -> int:
        """Insert finished records (e.g. from another store); existing ids are kept as they
        are. Returns how many rows were added."""
        rows = [record.to_row() for record in records]
        marks = ", ".join("?" * len(RUN_COLUMNS))
        sql = f"INSERT OR IGNORE INTO runs ({_RUN_SELECT}) VALUES ({marks})"

        def insert(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(sql, rows)
            return db.total_changes - before

        return self._write(insert)

    # ---- reading ---------------------------------------------------------------------
    def run_columns(self, where: RunFilter | None = None) -> dict[str, Sequence[Any]]:
        """Matching runs, most recent first, as one list per column of ``RUN_COLUMNS``."""
        where = where or RunFilter()
        clause, params = where.where()
        sql = f"SELECT {_RUN_SELECT} FROM runs {clause} ORDER BY started_at DESC, rowid DESC"
        if where.limit is not None:
            sql += " LIMIT ?"
            params.append(where.limit)
        with self._db() as db:
            rows = db.execute(sql, params).fetchall()
        return _columns_of(rows)

    def runs(self, where: RunFilter | None = None) -> RunHistory:
        """Matching runs, most recent first."""
        from ._table import RunHistory

        return RunHistory(self.run_columns(where), store=self)

    def runs_by_ids(self, local_ids: Sequence[str]) -> RunHistory:
        """These runs, in the order given (ids not in the store are left out)."""
        from ._table import RunHistory

        found: dict[str, tuple[Any, ...]] = {}
        with self._db() as db:
            for chunk in chunks(local_ids):
                marks = ", ".join("?" * len(chunk))
                for row in db.execute(
                    f"SELECT {_RUN_SELECT} FROM runs WHERE local_id IN ({marks})", chunk
                ):
                    found[row[0]] = row
        rows = [found[local_id] for local_id in local_ids if local_id in found]
        return RunHistory(_columns_of(rows), store=self)

    def get(self, local_id: str) -> RunRecord | None:
        """One run by its ``local_id``, or None."""
        with self._db() as db:
            row = db.execute(
                f"SELECT {_RUN_SELECT} FROM runs WHERE local_id = ?", (local_id,)
            ).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def tool_call_rows(self, local_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """Tool-call rows (``TOOL_CALL_COLUMNS`` order) of these runs, in the runs' order."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        with self._db() as db:
            for chunk in chunks(local_ids):
                for row in db.execute(
                    f"SELECT {_TOOL_SELECT} FROM tool_calls t JOIN runs r USING (local_id) "
                    f"WHERE t.local_id IN ({', '.join('?' * len(chunk))}) "
                    "ORDER BY t.local_id, t.position",
                    chunk,
                ):
                    found.setdefault(row[0], []).append(row)
        return [row for local_id in local_ids for row in found.get(local_id, ())]

    def tool_calls(self, local_ids: Sequence[str]) -> list[ToolCallRecord]:
        return [ToolCallRecord.from_row(row) for row in self.tool_call_rows(local_ids)]

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def _columns_of(rows: Sequence[tuple[Any, ...]]) -> dict[str, Sequence[Any]]:
    """Rows turned into one sequence per column (numpy object columns when numpy is there:
    a 2-D object array transposes three times faster than ``zip(*rows)``)."""
    names = [name for name, _ in RUN_COLUMNS]
    if not rows:
        return {name: [] for name in names}
    try:
        import numpy
    except ImportError:
        return dict(zip(names, zip(*rows, strict=True), strict=True))
    table: Any = numpy.empty((len(rows), len(names)), dtype=object)
    table[:] = rows
    return {name: table[:, i] for i, name in enumerate(names)}


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
