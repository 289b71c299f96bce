"""`HistoryStore`: the SQLite database of runs, its schema and where it lives; and the
recorder the client writes to.

**Where.** The per-user data directory, or ``AGENTNB_HISTORY``: a file path (or a directory,
to hold ``history.sqlite3``), ``:memory:`` (a database that lives as long as the process) or
``off`` (record nothing).

**Schema.** Named migrations applied in order (:data:`MIGRATIONS`); each applied migration is
recorded by name in ``_migrations``. The list is append-only: never edit or reorder a
migration that has shipped; add a new one at the end.

**Concurrency.** WAL journal, a 30 s busy timeout and short ``BEGIN IMMEDIATE`` write
transactions, so several kernels can write one file at once. sqlite3 connections are not
shared between threads: each thread gets its own (the recorder's writes are done on the
store's writer thread, see :mod:`agentnb._history._writer`; the user reads on the main
thread, after waiting for the writes queued before). An in-memory database has a single
connection guarded by a lock, since each connection to ``:memory:`` would be a separate
database.

**Errors.** sqlite3's errors become a :class:`HistoryError`: what went wrong with which
file, and what to do about it; a :class:`HistoryLocationError` where the file or its folder is
the problem (damaged, not ours, not writable), a :class:`HistoryWriteError` where the disk or
a lock is (full, busy). Every read and write goes through :func:`store_error`, so no raw
``sqlite3`` exception reaches the user.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
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
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import platformdirs

from .._core.exceptions import (
    ConfigurationError,
    HistoryError,
    HistoryLocationError,
    HistoryWriteError,
)
from .._core.pricing import RunCost, price_run
from .._core.request import RunRequest, build_request
from .._core.run import Run
from ..events import Usage
from ..providers import available_providers
from ._plot import timed_statuses
from ._records import (
    RUN_COLUMNS,
    SNIPPET_COLUMN,
    TOOL_CALL_COLUMNS,
    RunRecord,
    ToolCallRecord,
    storable_row,
)
from ._search_sql import (
    SEARCH_TABLE,
    count_sql,
    matched_rows,
    ranked_ids_sql,
)
from ._summary_sql import order_indexes, rollup_schema, summary_frame, summary_rows
from ._tables import (
    SHOWN_ROWS,
    RunFilter,
    RunHistory,
    RunsHead,
    StoreRead,
    columns_of,
    summary_keys,
)
from ._writer import (
    ORPHAN_MESSAGE,
    RecorderWrites,
    chunks,
    gone_owners,
    insert_start,
    mark_interrupted,
    write_end,
    write_interrupted,
    write_progress,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ENV_VAR",
    "MEMORY",
    "MIGRATIONS",
    "ORPHAN_MESSAGE",
    "HistoryError",
    "HistoryLocation",
    "HistoryStore",
    "Migration",
    "applied_migrations",
    "apply_migrations",
    "default_location",
    "expand_path",
    "is_busy",
    "retry_busy",
    "store_error",
]

logger = logging.getLogger("agentnb.history")

T = TypeVar("T")


# ---- the store -----------------------------------------------------------------------


BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write to finish before giving up."""
ORPHAN_SWEEP_SECONDS = 1.0
"""At most this often, a read first marks interrupted the rows of processes that have ended."""
RUN_NAMES: Final = tuple(name for name, _ in RUN_COLUMNS)
_RUN_SELECT = ", ".join(RUN_NAMES)
SEARCH_COLUMNS = (*RUN_COLUMNS, SNIPPET_COLUMN)
HEAD_ROWS: Final = SHOWN_ROWS
"""Rows a ``runs()`` call reads at once (what its table shows first); the rest at first use."""
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
        self._unread_results: weakref.WeakSet[RunHistory] = weakref.WeakSet()
        """An in-memory store's ``runs()`` results whose rows are not all read yet: read
        when it closes, as its data goes with it."""
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
                self._read_unread_results()
            finally:
                self._close_connections()

    def _read_unread_results(self) -> None:
        for history in list(self._unread_results):
            try:
                len(history)  # reads its rows
            except HistoryError as exc:
                logger.warning("agentnb history: a runs() result could not be read: %s", exc)
        self._unread_results.clear()

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
        except Exception as exc:  # reported once, with the failed writes of the same problem
            self._recording.report_once("agentnb history: could not close open runs: %s", exc)

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

    def import_records(
        self, records: Iterable[RunRecord], tool_calls: Iterable[ToolCallRecord] = ()
    ) -> int:
        """Insert finished records (e.g. from another store) and their tool calls; existing
        ids are kept as they are. Returns how many runs were added."""
        rows = [storable_row(_with_defaults(record.to_row())) for record in records]
        calls = [storable_row(call.to_row()) for call in tool_calls]
        # ON CONFLICT, not OR IGNORE: that would also drop, silently, a row missing a value
        # the table requires; such a row is an error instead.
        sql = (
            f"INSERT INTO runs ({_RUN_SELECT}) VALUES ({_marks(RUN_COLUMNS)}) "
            "ON CONFLICT (local_id) DO NOTHING"
        )
        call_sql = (
            f"INSERT INTO tool_calls ({', '.join(name for name, _ in TOOL_CALL_COLUMNS)})"
            f" VALUES ({_marks(TOOL_CALL_COLUMNS)}) ON CONFLICT (local_id, position) DO NOTHING"
        )

        def insert(db: sqlite3.Connection) -> int:
            # The calls first (their runs checked at commit), so each run is indexed for
            # search once, with its calls, when its row is inserted.
            db.execute("PRAGMA defer_foreign_keys = ON")
            db.executemany(call_sql, calls)
            return max(0, db.executemany(sql, rows).rowcount)  # not counting what triggers do

        return self._write(insert)

    # ---- reading ---------------------------------------------------------------------
    def run_columns(self, where: RunFilter | None = None) -> dict[str, Sequence[Any]]:
        """Matching runs, most recent first (a search's: in its order, :mod:`._search_sql`),
        as one list per column of ``RUN_COLUMNS`` (and ``snippet`` for a search).

        A closed store that has a file opens it again for the read (a ``runs()`` result
        read after its store was closed); an in-memory one reads its results first, when it
        is closed (:meth:`close`)."""
        where = where or RunFilter()
        if self._closed and self.path is not None:
            with HistoryStore(self.path, busy_timeout=self.busy_timeout) as reopened:
                return reopened.run_columns(where)
        with self._reading() as db:
            return self._read_columns(db, where)

    def _read_columns(self, db: sqlite3.Connection, where: RunFilter) -> dict[str, Sequence[Any]]:
        if where.search is not None:
            self._require_search_index(db)
            return self._search(db, where)
        clause, params = where.where()
        sql = f"SELECT {_RUN_SELECT} FROM runs {clause} ORDER BY started_at DESC, rowid DESC"
        if where.limit is not None:
            sql += " LIMIT ?"
            params.append(where.limit)
        return columns_of(db.execute(sql, params).fetchall(), RUN_COLUMNS)

    @staticmethod
    def _search(db: sqlite3.Connection, where: RunFilter) -> dict[str, Sequence[Any]]:
        """Runs matching ``where.search`` (and the other conditions) in the search's order,
        with a ``snippet`` column: the matching words in their context."""
        assert where.search is not None
        terms, params = where.conditions()
        sql, params = ranked_ids_sql(where.search, terms, params, where.limit)
        ids = [rowid for (rowid,) in db.execute(sql, params)]
        return columns_of(matched_rows(db.execute, where.search, ids, RUN_NAMES), SEARCH_COLUMNS)

    def _require_search_index(self, db: sqlite3.Connection) -> None:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SEARCH_TABLE,)
        )
        if found.fetchone() is None:
            raise HistoryError(
                f"cannot search the run history at {self._where}: this Python's SQLite "
                f"({sqlite3.sqlite_version}) was built without FTS5, the full-text index"
            )

    def runs(self, where: RunFilter | None = None) -> RunHistory:
        """Matching runs, most recent first (a search's: best match first). The call reads
        how many there are and the first ``HEAD_ROWS`` (what a table shows), in one read
        transaction; the result reads the rest at first use, pinned to the runs recorded
        by then (:class:`RunHistory`)."""
        where = where or RunFilter()
        with self._reading() as db:
            began = not db.in_transaction
            if began:  # one snapshot: the pin, the first rows and the count agree
                db.execute("BEGIN")
            try:
                (upto,) = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM runs").fetchone()
                pinned = dataclasses.replace(where, recorded_upto=upto)
                head = self._head(db, pinned)
            finally:
                if began and db.in_transaction:  # an error may have ended it already
                    db.execute("COMMIT")
        history = RunHistory.read_from_store(StoreRead(self, pinned, head))
        if not head.complete and self._memory:
            self._unread_results.add(history)
        return history

    def _head(self, db: sqlite3.Connection, where: RunFilter) -> RunsHead:
        """The first ``HEAD_ROWS`` runs of ``where`` and how many there are in all."""
        first = HEAD_ROWS + 1  # one more: fewer back means the head is every row
        asked = first if where.limit is None else min(where.limit, first)
        columns = self._read_columns(db, dataclasses.replace(where, limit=asked))
        rows = len(columns["local_id"])
        if rows < first:
            return RunsHead(rows, columns)
        terms, params = where.conditions(pinned=False)
        sql, params = count_sql(where.search, terms, params)  # the snapshot is the pin
        total = int(db.execute(sql, params).fetchone()[0])
        if where.limit is not None:
            total = min(total, where.limit)
        return RunsHead(total, {name: values[:HEAD_ROWS] for name, values in columns.items()})

    def read_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows a read-only query gives (a browsable table's pages: :mod:`._pages`)."""
        with self._reading() as db:
            return db.execute(sql, list(params)).fetchall()

    def summary(
        self,
        where: RunFilter | None = None,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
    ) -> pd.DataFrame:
        """``RunHistory.summary(by, every=..., include=...)`` of the matching runs, computed
        by SQLite: the rows are not read out (``where.limit`` and ``where.search`` do not
        apply)."""
        keys = summary_keys(by, every)
        timed = timed_statuses(include)
        with self._reading() as db:

            def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
                return db.execute(sql, params).fetchall()

            rows = summary_rows(query, keys, where or RunFilter(), every, timed)
        return summary_frame(rows, keys, every, timed)

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


_COUNTS_DEFAULT_ZERO = tuple(
    i for i, (name, _) in enumerate(RUN_COLUMNS) if name in ("event_count", "retries")
)
"""The run columns the table fills with 0 when a row is written without them."""


def _with_defaults(row: tuple[Any, ...]) -> tuple[Any, ...]:
    if all(row[i] is not None for i in _COUNTS_DEFAULT_ZERO):
        return row
    return tuple(0 if i in _COUNTS_DEFAULT_ZERO and v is None else v for i, v in enumerate(row))


def _marks(columns: Sequence[object]) -> str:
    return ", ".join("?" * len(columns))


_LIVE_STORES: weakref.WeakSet[HistoryStore] = weakref.WeakSet()


@atexit.register
def _keep_open_runs_at_exit() -> None:
    """At interpreter exit, runs still streaming into any open store (the default one or
    one the user opened) are kept as interrupted with the partial answer they had."""
    for store in list(_LIVE_STORES):
        if not store.closed:
            store._interrupt_open_runs()


# ---- the schema: named migrations, append only ---------------------------------------

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


_TOOLS_TEXT = (
    "(SELECT group_concat(coalesce(name, '') || ' ' || coalesce(arguments, ''), ' ') "
    "FROM tool_calls WHERE local_id = {run}.local_id)"
)
"""A run's tool names and arguments as one text (what search reads of its calls)."""


def m007_search(db: sqlite3.Connection) -> None:
    # Questions, answers, reasoning, and tool names with their arguments, indexed with FTS5;
    # triggers keep the index whichever agentnb version writes the file. A run is indexed
    # once, when it stops running (ends, or is found interrupted): indexing it at its start
    # and at every checkpoint too tripled the writer thread's CPU per run. A Python whose
    # SQLite lacks FTS5 gets no index: search then says so.
    try:
        db.execute(
            f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
            "message, answer, reasoning, tools, tokenize = 'unicode61 remove_diacritics 2')"
        )
    except sqlite3.OperationalError as exc:
        if "no such module" in str(exc):
            return
        raise
    db.execute(
        f"INSERT INTO {SEARCH_TABLE} (rowid, message, answer, reasoning, tools) "
        f"SELECT rowid, message, answer, reasoning, {_TOOLS_TEXT.format(run='runs')} FROM runs"
    )
    index_new_row = (
        f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, message, answer, reasoning, tools) "
        f"VALUES (new.rowid, new.message, new.answer, new.reasoning, "
        f"{_TOOLS_TEXT.format(run='new')}); END"
    )
    db.execute(
        "CREATE TRIGGER runs_search_insert AFTER INSERT ON runs "
        f"WHEN new.status IS NOT 'running' BEGIN {index_new_row}"
    )
    db.execute(
        "CREATE TRIGGER runs_search_update "
        "AFTER UPDATE OF message, answer, reasoning, status ON runs "
        "WHEN new.status IS NOT 'running' AND (old.status IS 'running' "
        "OR old.message IS NOT new.message OR old.answer IS NOT new.answer "
        f"OR old.reasoning IS NOT new.reasoning) BEGIN {index_new_row}"
    )
    db.execute(
        "CREATE TRIGGER runs_search_reopen AFTER UPDATE OF status ON runs "
        "WHEN new.status IS 'running' AND old.status IS NOT 'running' BEGIN "
        f"DELETE FROM {SEARCH_TABLE} WHERE rowid = old.rowid; END"
    )
    db.execute(
        f"CREATE TRIGGER runs_search_delete AFTER DELETE ON runs BEGIN "
        f"DELETE FROM {SEARCH_TABLE} WHERE rowid = old.rowid; END"
    )
    # The calls of a running run are indexed when it stops (above), of a run not written yet
    # when it is; later changes at once.
    for event, row in (("INSERT", "new"), ("DELETE", "old"), ("UPDATE OF name, arguments", "new")):
        db.execute(
            f"CREATE TRIGGER runs_search_tools_{event.split()[0].lower()} AFTER {event} "
            f"ON tool_calls WHEN (SELECT status FROM runs WHERE local_id = {row}.local_id) "
            f"<> 'running' BEGIN UPDATE {SEARCH_TABLE} SET tools = "
            f"{_TOOLS_TEXT.format(run=row)} "
            f"WHERE rowid = (SELECT rowid FROM runs WHERE local_id = {row}.local_id); END"
        )


def m008_model_and_cost(db: sqlite3.Connection) -> None:
    # The model that ran, the run's cost in USD and where that came from (Run.model, .cost,
    # .cost_source). Rows recorded before get the model where their dialect names it by the
    # request alone (Provider.requested_model: the agent of the OpenAI-compatible dialects),
    # and a cost priced from their token counts at their start (each model, token counts and
    # day priced once); the rest stay NULL: unknown, not zero.
    db.execute("ALTER TABLE runs ADD COLUMN model TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN cost_usd REAL")
    db.execute("ALTER TABLE runs ADD COLUMN cost_source TEXT")
    pairs = db.execute(
        "SELECT DISTINCT provider, agent FROM runs WHERE provider IS NOT NULL AND agent IS NOT NULL"
    ).fetchall()
    for provider, agent in pairs:
        model = _requested_model(provider, agent)
        if model is not None:
            db.execute(
                "UPDATE runs SET model = ? WHERE provider = ? AND agent = ? AND model IS NULL",
                (model, provider, agent),
            )
    db.executemany(
        "UPDATE runs SET cost_usd = ?, cost_source = ? WHERE rowid = ?", _costs_of_old_rows(db)
    )


def _requested_model(provider: str, agent: str) -> str | None:
    """The model a request for ``agent`` names in ``provider``'s dialect (None: it names none,
    or the dialect is not installed)."""
    dialect = available_providers().get(provider)
    if dialect is None:
        return None
    try:
        return dialect().requested_model(build_request(agent, ""))
    except (ConfigurationError, TypeError):  # a dialect that needs options to be made
        return None


def _costs_of_old_rows(db: sqlite3.Connection) -> list[tuple[float, str, int]]:
    rows = db.execute(
        "SELECT rowid, model, prompt_tokens, completion_tokens, started_at FROM runs "
        "WHERE model IS NOT NULL AND prompt_tokens IS NOT NULL "
        "AND completion_tokens IS NOT NULL AND cost_usd IS NULL"
    ).fetchall()
    priced: dict[tuple[str, int, int, int], RunCost] = {}
    costs: list[tuple[float, str, int]] = []
    for rowid, model, prompt, completion, started in rows:
        key = (model, prompt, completion, int((started or 0) // 86_400))
        cost = priced.get(key)
        if cost is None:
            usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
            cost = priced[key] = price_run(model, usage, started)
        if cost.usd is not None and cost.source is not None:
            costs.append((cost.usd, cost.source, rowid))
    return costs


def m009_approval_decisions(db: sqlite3.Connection) -> None:
    # Who decided on a call (user, policy, server) and why it ran without the user's approval,
    # and how many of a run's calls did; NULL for what was recorded before: unknown, not the
    # user's.
    db.execute("ALTER TABLE tool_calls ADD COLUMN decided_by TEXT")
    db.execute("ALTER TABLE tool_calls ADD COLUMN unapproved TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN unapproved_calls INTEGER")


def m010_paused_time(db: sqlite3.Connection) -> None:
    # duration became the agent's time (a pause for a person's approval left out), with the
    # wall time in elapsed and the pause in paused_seconds. Rows recorded before knew no
    # pause: their wall time is their elapsed, and their duration stays as it was. A ttft
    # without a first token (a cancelled or failed run, once written as 0) is missing.
    db.execute("ALTER TABLE runs ADD COLUMN elapsed REAL")
    db.execute("ALTER TABLE runs ADD COLUMN paused_seconds REAL")
    db.execute("UPDATE runs SET elapsed = duration")
    db.execute("UPDATE runs SET ttft = NULL WHERE first_token_at IS NULL")


def m011_tool_call_usage(db: sqlite3.Connection) -> None:
    # A sub-agent's tokens, model and cost inside the call that ran it, where the platform
    # reports usage per call (ToolCallFinished.usage / .model). Calls recorded before kept
    # none of it: NULL, unknown, not zero.
    for column, kind in (
        ("prompt_tokens", "INTEGER"),
        ("completion_tokens", "INTEGER"),
        ("total_tokens", "INTEGER"),
        ("model", "TEXT"),
        ("cost_usd", "REAL"),
        ("cost_source", "TEXT"),
    ):
        db.execute(f"ALTER TABLE tool_calls ADD COLUMN {column} {kind}")


def m012_summary_rollup(db: sqlite3.Connection) -> None:
    # summary() at a million runs (see _summary_sql): each hour's counts and sums per key in
    # a table kept by triggers (filled here from the runs already recorded), so the counts
    # read a row per hour and key instead of a row per run; and indexes of the runs in each
    # timed metric's order, so a quantile is a walk to its rank instead of a sort. No
    # value of a run changes.
    for statement in (*rollup_schema(), *order_indexes()):
        db.execute(statement)


def m013_approval_binding(db: sqlite3.Connection) -> None:
    # Whether the platform reported other arguments for a call after it was shown for
    # approval, and why agentnb denied a call no decision could be bound to. NULL for calls
    # recorded before: unknown.
    db.execute("ALTER TABLE tool_calls ADD COLUMN arguments_changed INTEGER")
    db.execute("ALTER TABLE tool_calls ADD COLUMN protocol_error TEXT")


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_tool_calls,
    m003_resumes_and_execution_time,
    m004_tool_call_questions,
    m005_cancel_error,
    m006_call_tree,
    m007_search,
    m008_model_and_cost,
    m009_approval_decisions,
    m010_paused_time,
    m011_tool_call_usage,
    m012_summary_rollup,
    m013_approval_binding,
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


# ---- where the history lives ---------------------------------------------------------

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


# ---- sqlite3's errors as HistoryError -----------------------------------------------


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
