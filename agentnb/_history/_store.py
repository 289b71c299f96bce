"""`HistoryStore`: the SQLite database of runs, and the recorder the client writes to.

Concurrency: WAL journal, a 30 s busy timeout and short ``BEGIN IMMEDIATE`` write
transactions, so several kernels can write one file at once. sqlite3 connections are not
shared between threads: each thread gets its own (the recorder's writes are done on the
store's writer thread, see :mod:`agentnb._history._writer`; the user reads on the main
thread, after waiting for the writes queued before). An in-memory database has a single
connection guarded by a lock, since each connection to ``:memory:`` would be a separate
database.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .._core.exceptions import HistoryError, HistoryLocationError
from .._core.request import RunRequest
from .._core.run import Run
from ._errors import retry_busy, store_error
from ._filters import RunFilter
from ._frame import columns_of
from ._migrations import MIGRATIONS, applied_migrations, apply_migrations
from ._orphans import gone_owners, mark_interrupted
from ._paths import MEMORY, expand_path
from ._records import RUN_COLUMNS, TOOL_CALL_COLUMNS, RunRecord, ToolCallRecord
from ._scrub import storable_row
from ._table import RunHistory
from ._writer import RecorderWrites
from ._writes import (
    ORPHAN_MESSAGE,
    chunks,
    insert_start,
    write_end,
    write_interrupted,
    write_progress,
)

__all__ = ["ORPHAN_MESSAGE", "HistoryError", "HistoryStore"]

logger = logging.getLogger("agentnb.history")

T = TypeVar("T")

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write to finish before giving up."""
ORPHAN_SWEEP_SECONDS = 1.0
"""At most this often, a read first marks interrupted the rows of processes that have ended."""
_RUN_SELECT = ", ".join(name for name, _ in RUN_COLUMNS)
_TOOL_SELECT = ", ".join(
    "COALESCE(t.agent, r.agent)" if name == "agent" else f"t.{name}"
    for name, _ in TOOL_CALL_COLUMNS
)


class HistoryStore:
    """A run history database. It is also a ``RunRecorder``: give it to a client as
    ``recorder=`` and every run the client makes is written here.

    ``path`` is a file (created with its folder if missing) or ``":memory:"``. Opening
    upgrades the schema and marks ``interrupted`` the runs left ``running`` by processes of
    this host that no longer exist; reads do it again (at most every
    ``ORPHAN_SWEEP_SECONDS``) for processes that died since. Any failure of the database
    is a :class:`HistoryError` saying what to do; recording never raises into a run.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self._memory = str(path) == MEMORY
        self.path: Path | None = None if self._memory else expand_path(path, "history path")
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._shared: sqlite3.Connection | None = None
        self._closed = False
        self._next_sweep = time.monotonic() + ORPHAN_SWEEP_SECONDS
        self._recording = RecorderWrites(self._write_now, closed=lambda: self._closed)
        _LIVE_STORES.add(self)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db("open") as db:
                self._retry_busy(lambda: self._prepare(db))
        except OSError as exc:
            self._close_connections()
            raise HistoryLocationError(
                f"cannot create the run history at {self.path}: {exc}"
            ) from None
        except BaseException:
            self._close_connections()
            raise

    def __repr__(self) -> str:
        where = MEMORY if self.path is None else str(self.path)
        return f"HistoryStore({where!r}{', closed' if self._closed else ''})"

    # ---- connections -----------------------------------------------------------------
    @property
    def _where(self) -> str:
        return MEMORY if self.path is None else str(self.path)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self._where, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._connections.append(db)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    @contextmanager
    def _db(self, action: str = "read") -> Iterator[sqlite3.Connection]:
        """This thread's connection; any sqlite3 error inside becomes a HistoryError."""
        if self._closed:
            raise HistoryError(f"{self!r} is closed")
        try:
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
        except (sqlite3.Error, OverflowError, UnicodeEncodeError) as exc:  # the last two: binding
            raise store_error(exc, self._where, action) from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        self._flush_writers_of_this_file()
        self._sweep_orphans_if_due()
        with self._db("read") as db:
            yield db

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the recorder writes queued so far are in the database (every read does
        this first); False if ``timeout`` seconds passed before."""
        return self._recording.flush(timeout)

    def _flush_writers_of_this_file(self) -> None:
        """Every store of this process writing this file (another ``HistoryStore`` of the
        same path, the default one) has its queued writes done before a read."""
        self.flush()
        if self.path is not None:
            for store in list(_LIVE_STORES):
                if store is not self and store.path == self.path and not store.closed:
                    store.flush()

    def close(self) -> None:
        """Finish the queued writes and close every connection. Runs this store saw start and
        not end become interrupted, with the partial answer they had."""
        self._recording.stop()
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
                with contextlib.suppress(sqlite3.Error):
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
        self._mark_orphans_interrupted(db, other_pids_only=False)

    def migrations(self) -> list[str]:
        """Names of the schema migrations applied to this database, oldest first."""
        with self._db() as db:
            return applied_migrations(db)

    @staticmethod
    def latest_migration() -> str:
        return MIGRATIONS[-1].__name__

    def _mark_orphans_interrupted(self, db: sqlite3.Connection, *, other_pids_only: bool) -> int:
        gone = gone_owners(db, other_pids_only=other_pids_only)
        if not gone:
            return 0
        return self._write_with(db, lambda db: mark_interrupted(db, gone))

    def mark_orphans_interrupted(self) -> int:
        """Mark ``interrupted`` the running rows whose process has gone; return how many."""
        with self._db("write to") as db:
            return self._retry_busy(
                lambda: self._mark_orphans_interrupted(db, other_pids_only=False)
            )

    def _sweep_orphans_if_due(self) -> None:
        """Before a read: rows of processes that died since the last look become interrupted
        (at most every ``ORPHAN_SWEEP_SECONDS``; a failure here never fails the read)."""
        now = time.monotonic()
        if self._memory or now < self._next_sweep:
            return
        self._next_sweep = now + ORPHAN_SWEEP_SECONDS
        try:
            with self._db("write to") as db:
                self._mark_orphans_interrupted(db, other_pids_only=True)
        except HistoryError as exc:
            logger.debug("agentnb history: could not sweep interrupted runs: %s", exc)

    def _interrupt_open_runs(self) -> None:
        open_runs = self._recording.take_open_runs()
        if not open_runs:
            return
        try:
            self._write(lambda db: write_interrupted(db, open_runs))
        except Exception as exc:
            logger.warning("agentnb history: could not close open runs: %s", exc)

    # ---- writing ---------------------------------------------------------------------
    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A write from the caller's thread, after the queued ones (never overtaking them)."""
        self.flush()
        return self._write_now(work)

    def _write_now(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # The store's lock keeps close() from closing a connection mid-write.
        with self._lock, self._db("write to") as db:
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
        return retry_busy(attempt, self.busy_timeout)

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        """Queue the run's row as ``running`` (``RunRecorder``). Never raises."""
        work = functools.partial(insert_start, run=run, request=request, base_url=base_url)
        self._recording.queue("start", run, "the start of a run", work)

    def record_end(self, run: Run) -> None:
        """Queue the end of the run's row and its tool calls (``RunRecorder``). Never raises."""
        work = functools.partial(write_end, run=run)
        self._recording.queue("end", run, "the end of a run", work)

    def record_progress(self, run: Run) -> None:
        """Queue a checkpoint of a running run's partial answer (``RunRecorder``). Never
        raises."""
        work = functools.partial(write_progress, run=run)
        self._recording.queue("progress", run, "a checkpoint of a run", work)

    def record_cancel_error(self, run: Run) -> None:
        """Queue a cancelled run's row again with its late ``cancel_error``. Never raises."""
        work = functools.partial(write_end, run=run)
        self._recording.queue("end", run, "a run's failed cancel", work)

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
        rows = [storable_row(record.to_row()) for record in records]
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
        with self._reading() as db:
            rows = db.execute(sql, params).fetchall()
        return columns_of(rows, RUN_COLUMNS)

    def runs(self, where: RunFilter | None = None) -> RunHistory:
        """Matching runs, most recent first."""
        return RunHistory(self.run_columns(where), store=self)

    def runs_by_ids(self, local_ids: Sequence[str]) -> RunHistory:
        """These runs, in the order given (ids not in the store are left out)."""
        found: dict[str, tuple[Any, ...]] = {}
        with self._reading() as db:
            for chunk in chunks(local_ids):
                marks = ", ".join("?" * len(chunk))
                for row in db.execute(
                    f"SELECT {_RUN_SELECT} FROM runs WHERE local_id IN ({marks})", chunk
                ):
                    found[row[0]] = row
        rows = [found[local_id] for local_id in local_ids if local_id in found]
        return RunHistory(columns_of(rows, RUN_COLUMNS), store=self)

    def get(self, local_id: str) -> RunRecord | None:
        """One run by its ``local_id``, or None."""
        with self._reading() as db:
            row = db.execute(
                f"SELECT {_RUN_SELECT} FROM runs WHERE local_id = ?", (local_id,)
            ).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def find(self, run_id: str) -> RunRecord | None:
        """The run whose ``local_id`` or platform ``run_id`` is ``run_id`` (the latest)."""
        with self._reading() as db:
            sql = f"SELECT {_RUN_SELECT} FROM runs WHERE local_id = ? OR run_id = ? "
            order = "ORDER BY local_id = ? DESC, started_at DESC LIMIT 1"
            row = db.execute(sql + order, (run_id, run_id, run_id)).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def tool_call_rows(self, local_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """Tool-call rows (``TOOL_CALL_COLUMNS`` order) of these runs, in the runs' order."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        self._flush_writers_of_this_file()
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
        """How many runs the store holds."""
        with self._reading() as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


_LIVE_STORES: weakref.WeakSet[HistoryStore] = weakref.WeakSet()


@atexit.register
def _keep_open_runs_at_exit() -> None:
    """At interpreter exit, runs still streaming into any open store (the default one or
    one the user opened) are kept as interrupted with the partial answer they had."""
    for store in list(_LIVE_STORES):
        if not store.closed:
            store._interrupt_open_runs()
