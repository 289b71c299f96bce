"""`HistoryStore`: the SQLite database of runs, and the recorder the client writes to.

**Where** it lives: :mod:`._file`. **Schema**: the named, append-only migrations of
:mod:`._migrations`, applied when the store opens.

**Concurrency.** WAL journal, a 30 s busy timeout and short ``BEGIN IMMEDIATE`` write
transactions, so several kernels can write one file at once (:func:`~._file.retry_busy`
waits for the locks SQLite's own busy handler does not). sqlite3 connections are not shared
between threads: each thread gets its own (the recorder's writes are done on the store's
writer thread, see :mod:`agentnb._history._writer`; the user reads on the main thread, after
waiting for the writes queued before). An in-memory database has a single connection
guarded by a lock, since each connection to ``:memory:`` would be a separate database.

**Errors.** Every read and write goes through :func:`~._file.store_error`, so no
raw ``sqlite3`` exception reaches the user: a :class:`HistoryError` says what went wrong with
which file, and what to do about it.
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
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, overload

import typing_extensions

from .._core.exceptions import ConfigurationError, HistoryError, HistoryLocationError
from .._core.pricing import RunCost, price_run
from .._core.recorder import record_score
from .._core.request import RunRequest, build_request
from .._core.run import Run
from .._core.stoppable import Closing
from .._core.warning import warn
from ..events import Usage
from ..providers import provider_class
from ._file import (
    ENV_VAR,
    MEMORY,
    check_schema,
    expand_path,
    is_interrupted,
    retry_busy,
    store_error,
)
from ._migrations import (
    MIGRATIONS,
    applied_migrations,
    apply_migrations,
    pending_migrations,
    plugin_generation,
    rebuild_side_tables,
    write_transaction,
)
from ._records import (
    CHECKPOINT_TEXT_LIMIT,
    LONG_TEXT_COLUMNS,
    RUN_COLUMNS,
    SNIPPET_COLUMN,
    TOOL_CALL_COLUMNS,
    RunRecord,
    ToolCallRecord,
    checked_columns,
    checked_rows,
    column_sql,
    sane_score_row_sql,
    storable_row,
)
from ._run_filter import (
    EVALUATES,
    EVALUATOR_RUNS_SQL,
    SEARCH_COUNT_CAP,
    RunFilter,
    counted,
    matched_rows,
    ranked_ids_sql,
    require_search_index,
)
from ._scores import (
    SCORE_COLUMNS,
    ScoreRecord,
    ScoreSource,
    ScoreValue,
    checked_score,
    current_scores_sql,
    score_record,
)
from ._summary import ShownColumns, summary_by_sql, summary_keys
from ._tables import (
    SHOWN_ROWS,
    JsonTexts,
    RunHistory,
    RunsHead,
    StoreRead,
    columns_of,
)
from ._writer import (
    RecorderWrites,
    chunks,
    gone_owners,
    insert_run_sql,
    insert_start,
    mark_interrupted,
    write_end,
    write_ended,
    write_interrupted,
    write_progress,
)

if TYPE_CHECKING:
    import pandas as pd

    SummaryView = Callable[[pd.DataFrame, ShownColumns], pd.DataFrame]

__all__ = ["HistoryStore", "show_tables_as"]

logger = logging.getLogger("agentnb.history")
Table = TypeVar("Table", bound=RunHistory)
Shown = typing_extensions.TypeVar("Shown", bound=RunHistory, default=RunHistory, covariant=True)
"""The table a store's ``runs()`` returns: ``agentnb.history.RunHistory`` once what shows the
history is imported (:func:`show_tables_as`; ``agentnb.history.default_store()`` is typed
so), the history's data ``RunHistory`` as far as this layer can name it."""

T = TypeVar("T")


# ---- what its tables are -------------------------------------------------------------

_shown_runs: type[RunHistory] = RunHistory
_shown_summary: SummaryView | None = None


def show_tables_as(runs: type[RunHistory], summary: SummaryView) -> None:
    """Have every store's ``runs()`` and ``runs_by_ids()`` return ``runs`` and its
    ``summary()`` be ``summary(frame, columns)``: the tables a person is shown. What shows
    the history is above it (``agentnb._app.past.history_tables``, which calls this when
    imported); a store reads them at each call, so one a plain script's first run opened
    (recording loads no display) gives them too once they are imported."""
    global _shown_runs, _shown_summary
    _shown_runs, _shown_summary = runs, summary


# ---- the store -----------------------------------------------------------------------


BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another process's write to finish before giving up."""
ORPHAN_SWEEP_SECONDS = 1.0
"""At most this often, a read first marks interrupted the rows of processes that have ended."""
RUN_NAMES: Final = tuple(name for name, _ in RUN_COLUMNS)
_RUN_SELECT = ", ".join(map(column_sql, RUN_NAMES))
"""The runs columns as read, each text whole (:func:`column_sql`)."""
SEARCH_COLUMNS = (*RUN_COLUMNS, SNIPPET_COLUMN)
READ_CHUNK: Final = 10_000
"""Rows a frame's read fetches and converts at a time (:meth:`HistoryStore.run_chunks`)."""
HEAD_ROWS: Final = SHOWN_ROWS
"""Rows a ``runs()`` call reads at once (what its table shows first); the rest at first use."""
_TOOL_SELECT = ", ".join(
    "COALESCE(t.agent, r.agent)" if name == "agent" else f"t.{name}"
    for name, _ in TOOL_CALL_COLUMNS
)


PROGRESS_STEPS: Final = 10_000
"""SQLite calls back into Python every this many steps of a query (well under a millisecond)."""


def _let_signals_in() -> None:
    """A query's progress handler. SQLite runs a query without Python, so a Ctrl-C (a
    kernel's interrupt) would wait for its end, which a long query may never reach. Entering
    this function runs Python's signal handlers: the ``KeyboardInterrupt`` raised here stops
    the query (sqlite3 turns it into an "interrupted" error, raised again as the
    KeyboardInterrupt by ``HistoryStore._db``). Only the main thread handles signals."""


class HistoryStore(Closing, Generic[Shown]):
    """A run history database, whose runs and summaries are shown as ``agentnb.runs()``'s
    are. It is also a ``RunRecorder``: give it to a client as ``recorder=`` and every run
    the client makes is written here.

    ``path`` is a file (created with its folder if missing) or ``":memory:"``. Opening
    upgrades the schema and marks ``interrupted`` the runs left ``running`` by processes of
    this host that no longer exist; reads do it again (at most every
    ``ORPHAN_SWEEP_SECONDS``) for processes that died since. Any failure of the database
    is a :class:`HistoryError` saying what to do; recording never raises into a run.

    To a type checker, ``runs()`` of ``HistoryStore[RunHistory]`` is an
    ``agentnb.history.RunHistory``: ``default_store()`` and ``history_of()`` are typed so,
    and a store you open is one when you say so (``store: HistoryStore[RunHistory] =
    HistoryStore(path)``).
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
        self.read_only: str | None = None
        """Why the file is only read (a file from elsewhere: :meth:`_open_read_only`)."""
        self._next_sweep = time.monotonic() + ORPHAN_SWEEP_SECONDS
        self._packages_migrated = -1
        """:func:`plugin_generation` when the packages' steps were last applied here."""
        self._recording = RecorderWrites(self._write_now, closed=lambda: self._closed)
        self._search_count_cap = SEARCH_COUNT_CAP
        self._unread_results: weakref.WeakSet[RunHistory] = weakref.WeakSet()
        """An in-memory store's ``runs()`` results whose rows are not all read yet: read
        when it closes, as its data goes with it."""
        _LIVE_STORES.add(self)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db("open") as db:
                retry_busy(lambda: self._prepare(db), self.busy_timeout)
        except OSError as exc:
            self._close_connections()
            raise HistoryLocationError(
                f"cannot create the run history at {self.path}: {exc}"
            ) from None
        except BaseException:
            self._close_connections()
            raise

    @property
    def search_count_cap(self) -> int:
        """How many matches a search counts before its title says "more than" (``10,000+
        runs``): ``len()`` of the result counts them all. Lower it to see that form."""
        return self._search_count_cap

    @search_count_cap.setter
    def search_count_cap(self, cap: int) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= HEAD_ROWS:
            raise ConfigurationError(
                f"search_count_cap must be a whole number above {HEAD_ROWS} (a table's first "
                f"rows), not {cap!r}"
            )
        self._search_count_cap = cap

    def __repr__(self) -> str:
        return f"HistoryStore({self._where!r}{', closed' if self._closed else ''})"

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
        if self.read_only is not None:
            db.execute("PRAGMA query_only = ON")
        db.set_progress_handler(_let_signals_in, PROGRESS_STEPS)
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
            if is_interrupted(exc):
                raise KeyboardInterrupt from None
            raise store_error(exc, self._where, action) from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        self._flush_writers_of_this_file()
        self._sweep_orphans_if_due()
        with self._db("read") as db:
            yield db

    @contextmanager
    def _reading_again(self) -> Iterator[sqlite3.Connection]:
        """:meth:`_reading`, for a ``runs()`` result: a closed store that has a file opens it
        again for the read (a result read after its store was closed)."""
        if not (self._closed and self.path is not None):
            with self._reading() as db:
                yield db
            return
        reopened = HistoryStore(self.path, busy_timeout=self.busy_timeout)
        with reopened, reopened._reading() as db:
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
                history.read_rows()
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

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- schema and housekeeping ------------------------------------------------------
    def _prepare(self, db: sqlite3.Connection) -> None:
        if not self._memory:
            acting = check_schema(db, self._where)  # before any write: the file may be anyone's
            if acting:
                self._open_read_only(db, acting)
                return
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("agentnb history: %s is not in WAL mode (%s)", self.path, mode)
        generation = plugin_generation()
        apply_migrations(db)
        self._packages_migrated = generation
        self._mark_orphans_interrupted(db, other_pids_only=False)

    def _open_read_only(self, db: sqlite3.Connection, acting: list[str]) -> None:
        """A file holding what agentnb did not make and that would act on its writes
        (a trigger storing a verdict as another, a clause dropping a write) is read, never
        written."""
        self.read_only = (
            f"the run history at {self._where} is open read-only: it holds what agentnb did "
            f"not make that would act on its writes: {'; '.join(acting)}"
        )
        db.execute("PRAGMA query_only = ON")
        if pending_migrations(applied_migrations(db), MIGRATIONS):
            raise HistoryLocationError(
                f"{self.read_only}; it lacks migrations this agentnb needs to read it. "
                f"agentnb did not change it: move it away, or point {ENV_VAR} elsewhere"
            )
        warn(
            f"agentnb: {self.read_only}; runs are not recorded there and scores cannot be "
            f"given (point {ENV_VAR} elsewhere to record)",
            stacklevel=4,
        )

    def migrations(self) -> list[str]:
        """Names of the schema migrations applied to this database, oldest first."""
        with self._db() as db:
            return applied_migrations(db)

    def rebuild_side_tables(self) -> None:
        """Fill the side table the triggers keep (``run_metadata``) again from the runs, in
        one write: for a file from elsewhere, whose side table may have been written by hand
        (see docs/security.md)."""
        self._write(rebuild_side_tables)

    def fill_models_and_costs(self) -> int:
        """Fill the model and cost of runs recorded before agentnb kept them (files of 0.1):
        the model where the run's dialect names it by the request alone (the agent of the
        OpenAI-compatible dialects), the cost priced from the token counts at the run's start.
        The rest stay unknown. Returns how many runs got a cost."""
        return self._write(_fill_models_and_costs)

    def _mark_orphans_interrupted(self, db: sqlite3.Connection, *, other_pids_only: bool) -> int:
        gone = gone_owners(db, other_pids_only=other_pids_only)
        if not gone:
            return 0
        return self._write_with(db, lambda db: mark_interrupted(db, gone))

    def _sweep_orphans_if_due(self) -> None:
        """Before a read: rows of processes that died since the last look become interrupted
        (at most every ``ORPHAN_SWEEP_SECONDS``; a failure here never fails the read)."""
        now = time.monotonic()
        if self._memory or self.read_only is not None or now < self._next_sweep:
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
        if self.read_only is not None:
            raise HistoryLocationError(self.read_only)
        # The store's lock keeps close() from closing a connection mid-write.
        with self._lock, self._db("write to") as db:
            return self._write_with(db, work)

    def _write_with(self, db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        def attempt() -> T:
            with write_transaction(db):
                return work(db)

        return retry_busy(attempt, self.busy_timeout)

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        """Queue the run's row as ``running`` (``RunRecorder``). Never raises."""
        work = functools.partial(insert_start, run=run, request=request, base_url=base_url)
        self._recording.queue("start", run, "the start of a run", work)

    def record_end(self, run: Run) -> None:
        """Queue the end of the run's row and its tool calls (``RunRecorder``). Never raises."""
        work = functools.partial(write_end, run=run)
        self._recording.queue("end", run, "the end of a run", work)

    def record_run(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        """Queue a run that ended before its start was written, as one row (``RunRecorder``).
        Never raises."""
        work = functools.partial(write_ended, run=run, request=request, base_url=base_url)
        self._recording.queue("end", run, "a run", work)

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
                write_ended(db, run, request, base_url)
            else:
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
        sql = insert_run_sql(RUN_NAMES, "DO NOTHING")
        call_sql = (
            f"INSERT INTO tool_calls ({', '.join(name for name, _ in TOOL_CALL_COLUMNS)})"
            f" VALUES ({_marks(TOOL_CALL_COLUMNS)}) ON CONFLICT (local_id, position) DO NOTHING"
        )

        def insert(db: sqlite3.Connection) -> int:
            # The calls first (their runs checked at commit), so each run is indexed for
            # search once, with its calls, when its row is inserted.
            db.execute("PRAGMA defer_foreign_keys = ON")
            db.executemany(call_sql, calls)
            added = 0
            for batch, rests in _with_rests_apart(rows):
                count = max(0, db.executemany(sql, batch).rowcount)  # not what triggers do
                added += count
                if count and rests:
                    local_id = batch[0][0]
                    db.executemany(_INSERT_REST, [(local_id, *rest) for rest in rests.items()])
            return added

        return self._write(insert)

    # ---- reading ---------------------------------------------------------------------
    def run_columns(self, where: RunFilter | None = None) -> dict[str, Sequence[Any]]:
        """Matching runs, most recent first (a search's: in its order, :mod:`._run_filter`),
        as one list per column of ``RUN_COLUMNS`` (and ``snippet`` for a search).

        A closed store that has a file opens it again for the read (a ``runs()`` result
        read after its store was closed); an in-memory one reads its results first, when it
        is closed (:meth:`close`)."""
        with self._reading_again() as db:
            return self._read_columns(db, where or RunFilter())

    def run_count(self, where: RunFilter) -> int:
        """How many runs :meth:`run_columns` would read: a ``COUNT(*)`` of the same filter
        (a search's every match, never capped)."""
        terms, params = where.conditions(pinned=False)
        upto = where.recorded_upto
        with self._reading_again() as db:
            found = counted(
                db.execute, where.search, terms, params, recorded_upto=upto, limit=where.limit
            )
        return found.n

    def run_chunks(self, where: RunFilter) -> Iterator[tuple[dict[str, Sequence[Any]], JsonTexts]]:
        """The runs of :meth:`run_columns` (not a search's) in chunks of ``READ_CHUNK``
        rows, each checked as it is read, with its JSON texts' values: a DataFrame converts
        them while they are still in the CPU's cache, and never holds every row at once."""
        with self._reading_again() as db:
            cursor = db.execute(*_runs_sql(where))
            try:
                while rows := cursor.fetchmany(READ_CHUNK):
                    parsed: JsonTexts = {}
                    columns = checked_columns(columns_of(rows, RUN_COLUMNS), RUN_COLUMNS, parsed)
                    yield columns, parsed
            finally:
                cursor.close()

    def _read_columns(self, db: sqlite3.Connection, where: RunFilter) -> dict[str, Sequence[Any]]:
        if where.search is not None:
            require_search_index(db.execute, f"the run history at {self._where}")
            return self._search(db, where)
        rows = db.execute(*_runs_sql(where)).fetchall()
        return checked_columns(columns_of(rows, RUN_COLUMNS), RUN_COLUMNS)

    @staticmethod
    def _search(db: sqlite3.Connection, where: RunFilter) -> dict[str, Sequence[Any]]:
        """Runs matching ``where.search`` (and the other conditions) in the search's order,
        with a ``snippet`` column: the matching words in their context."""
        assert where.search is not None
        terms, params = where.conditions()
        sql, params = ranked_ids_sql(where.search, terms, params, where.limit)
        ids = [rowid for (rowid,) in db.execute(sql, params)]
        rows = matched_rows(db.execute, where.search, ids, RUN_NAMES)
        return checked_columns(columns_of(rows, SEARCH_COLUMNS), SEARCH_COLUMNS)

    @overload
    def runs(self, where: RunFilter | None = None) -> Shown: ...

    @overload
    def runs(self, where: RunFilter | None = None, *, table: type[Table]) -> Table: ...

    def runs(
        self, where: RunFilter | None = None, *, table: type[RunHistory] | None = None
    ) -> RunHistory:
        """Matching runs, most recent first (a search's: best match first), as an
        ``agentnb.history.RunHistory`` (or a ``table`` of that kind): its first rows are
        read now, the rest at first use, pinned to the runs recorded by then. The call reads
        how many there are and the first ``HEAD_ROWS`` (what a table shows) in one read
        transaction."""
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
        history = (table or _shown_runs).read_from_store(StoreRead(self, pinned, head))
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
        total = counted(  # the snapshot is the pin
            db.execute, where.search, terms, params, limit=where.limit, cap=self.search_count_cap
        )
        head = {name: values[:HEAD_ROWS] for name, values in columns.items()}
        return RunsHead(total.n, head, total.exact)

    def read_rows(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """The rows a read-only query gives (a browsable table's pages, a package's own
        tables: :func:`~agentnb.history.add_migrations`)."""
        self._apply_packages_steps()
        with self._reading() as db:
            return db.execute(sql, list(params)).fetchall()

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Do ``work`` (SQL of a package's own tables: evaluation's experiments) in one write
        transaction, after the recorder's queued writes."""
        self._apply_packages_steps()
        return self._write(work)

    def _apply_packages_steps(self) -> None:
        """Apply the steps packages added since this store opened (evaluation imported after
        a run was recorded), before their tables are read or written."""
        generation = plugin_generation()
        if generation == self._packages_migrated:
            return
        with self._lock, self._db("write to") as db:
            if self.read_only is None:
                retry_busy(lambda: apply_migrations(db), self.busy_timeout)
            elif missing := pending_migrations(applied_migrations(db)):
                raise HistoryLocationError(
                    f"{self.read_only}; it lacks the tables of the steps "
                    f"{[step.__name__ for step in missing]}, which agentnb cannot add to it"
                )
        self._packages_migrated = generation

    def summary(
        self,
        where: RunFilter | None = None,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
        columns: ShownColumns = None,
    ) -> pd.DataFrame:
        """``RunHistory.summary(by, every=..., include=..., columns=...)`` of the matching
        runs, computed by SQLite: the rows are not read out (``where.limit`` and
        ``where.search`` do not apply)."""
        frame = self.plain_summary(where, by, every=every, include=include)
        return frame if _shown_summary is None else _shown_summary(frame, columns)

    def plain_summary(
        self,
        where: RunFilter | None = None,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
    ) -> pd.DataFrame:
        """:meth:`summary`'s frame as data, which a person is shown formatted."""
        keys = summary_keys(by, every)
        where = where or RunFilter()
        with self._reading() as db:
            if where.recorded_upto is not None:  # a runs() result's pin: moot if none since
                (upto,) = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM runs").fetchone()
                if upto <= where.recorded_upto:
                    where = dataclasses.replace(where, recorded_upto=None)
            spent = None if where.evaluations else self._evaluation_spend(db, where)
            if spent is None or not spent[0]:  # none to leave out: no filter to add
                where = dataclasses.replace(where, evaluations=True)
            frame = summary_by_sql(db, where, keys, every, include)
        if spent is not None and spent[0]:
            cost = "" if spent[1] is None else f", ${spent[1]:.4f}"
            frame.attrs["evaluation"] = (
                f"evaluators' runs left out ({spent[0]} runs{cost}): name their agent to see them"
            )
        return frame

    def metadata_keys(self, *named: str) -> list[str]:
        """Of ``named``, the metadata keys some run has; with none named, every key runs
        have (up to 30, read by skipping along the side table's key order)."""
        with self._reading() as db:
            if named:
                return [
                    key
                    for key in named
                    if db.execute(
                        "SELECT 1 FROM run_metadata WHERE key = ? LIMIT 1", (key,)
                    ).fetchone()
                ]
            found = db.execute(
                "WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM run_metadata UNION ALL "
                "SELECT (SELECT MIN(key) FROM run_metadata WHERE key > k.key) FROM k "
                "WHERE k.key IS NOT NULL) SELECT key FROM k WHERE key IS NOT NULL LIMIT 30"
            ).fetchall()
        return [key for (key,) in found]

    @staticmethod
    def _evaluation_spend(
        db: sqlite3.Connection, where: RunFilter, graded: Sequence[str] | None = None
    ) -> tuple[int, float | None]:
        terms, params = dataclasses.replace(where, evaluations=True).conditions()
        terms.append(f"runs.local_id IN ({EVALUATOR_RUNS_SQL})")
        if graded is not None:
            terms.append(
                f"runs.local_id IN (SELECT local_id FROM run_metadata WHERE key = "
                f"'{EVALUATES}' AND value IN ({_marks(graded)}))"
            )
            params += list(graded)
        count, cost = db.execute(
            f"SELECT COUNT(*), SUM(cost_usd) FROM runs WHERE {' AND '.join(terms)}", params
        ).fetchone()
        return int(count), cost

    def evaluation_spend(self, graded: Sequence[str]) -> tuple[int, float | None]:
        """How many evaluator runs (a judge's) graded the runs ``graded``, and what they
        cost (None: none priced)."""
        count, cost = 0, None
        with self._reading() as db:
            for chunk in chunks(graded):
                n, c = self._evaluation_spend(db, RunFilter(), chunk)
                count += n
                cost = c if cost is None else cost if c is None else cost + c
        return count, cost

    @overload
    def runs_by_ids(self, local_ids: Sequence[str]) -> Shown: ...

    @overload
    def runs_by_ids(self, local_ids: Sequence[str], *, table: type[Table]) -> Table: ...

    def runs_by_ids(
        self, local_ids: Sequence[str], *, table: type[RunHistory] | None = None
    ) -> RunHistory:
        """These runs, in the order given (ids not in the store are left out), as
        ``runs()`` gives them (or as a ``table`` of that kind)."""
        with self._reading() as db:
            read = _rows_in(db, f"SELECT {_RUN_SELECT} FROM runs WHERE local_id", local_ids)
        found = {row[0]: row for row in read}
        rows = [found[local_id] for local_id in local_ids if local_id in found]
        columns = checked_columns(columns_of(rows, RUN_COLUMNS), RUN_COLUMNS)
        return (table or _shown_runs)(columns, store=self)

    def get(self, local_id: str) -> RunRecord | None:
        """One run by its ``local_id``, or None."""
        found = self.runs_by_ids([local_id], table=RunHistory)
        return found[0] if found else None

    def find(self, run_id: str) -> RunRecord | None:
        """The run whose ``local_id`` or platform ``run_id`` is ``run_id`` (the latest)."""
        with self._reading() as db:
            sql = "SELECT local_id FROM runs WHERE local_id = ? OR run_id = ? "
            order = "ORDER BY local_id = ? DESC, started_at DESC LIMIT 1"
            row = db.execute(sql + order, (run_id, run_id, run_id)).fetchone()
        return None if row is None else self.get(row[0])

    def tool_call_rows(self, local_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """Tool-call rows (``TOOL_CALL_COLUMNS`` order) of these runs, in the runs' order."""
        self._flush_writers_of_this_file()
        with self._db() as db:
            sql = f"SELECT {_TOOL_SELECT} FROM tool_calls t JOIN runs r USING (local_id)"
            read = _rows_in(db, f"{sql} WHERE t.local_id", local_ids, "ORDER BY t.position")
        found: dict[str, list[tuple[Any, ...]]] = {}
        for row in read:
            found.setdefault(row[0], []).append(row)
        rows = [row for local_id in local_ids for row in found.get(local_id, ())]
        return checked_rows(rows, TOOL_CALL_COLUMNS)

    def tool_calls(self, local_ids: Sequence[str]) -> list[ToolCallRecord]:
        return [ToolCallRecord.from_row(row) for row in self.tool_call_rows(local_ids)]

    # ---- scores ----------------------------------------------------------------------
    def add_score(
        self,
        run_id: str,
        name: str,
        value: ScoreValue,
        *,
        comment: str | None = None,
        source: ScoreSource = "person",
        author: str | None = None,
    ) -> ScoreRecord:
        """Give the run whose ``local_id`` is ``run_id`` a score: a number, a bool or a label
        (``value``), with a ``comment``, who gave it (``source``: ``person``, ``code`` or
        ``agent``; ``author``: free text) and now as its time. It becomes the run's current
        score of ``name``; an earlier one stays in the score's history. Raises
        :class:`~agentnb.ConfigurationError` for a bad name, value or source, or a run the
        history does not hold (nothing is stored then)."""
        (given,) = self.add_scores(run_id, [(name, value, comment)], source=source, author=author)
        return given

    def add_scores(
        self,
        run_id: str,
        scores: Sequence[tuple[str, ScoreValue, str | None]],
        *,
        source: ScoreSource = "person",
        author: str | None = None,
    ) -> list[ScoreRecord]:
        """Give the run several scores at once, each ``(name, value, comment)`` as
        :meth:`add_score`'s: every one is checked before any is stored."""
        checked = [
            checked_score(run_id, name, value, comment=comment, source=source, author=author)
            for name, value, comment in scores
        ]
        columns = ", ".join(SCORE_COLUMNS[1:])

        def insert(db: sqlite3.Connection) -> list[int]:
            found = db.execute("SELECT 1 FROM runs WHERE local_id = ?", (run_id,))
            if checked and found.fetchone() is None:
                raise ConfigurationError(
                    f"no run {run_id!r} in the history at {self._where}: "
                    "a score is given to a recorded run"
                )
            row_ids = []
            for score in checked:
                cursor = db.execute(
                    f"INSERT INTO scores ({columns}) VALUES ({_marks(SCORE_COLUMNS[1:])})",
                    score.values(),
                )
                assert cursor.lastrowid is not None
                row_ids.append(cursor.lastrowid)
            return row_ids

        row_ids = self._write(insert)
        kept = [score_record((i, *s.values())) for i, s in zip(row_ids, checked, strict=True)]
        for given in kept:
            record_score(given)  # tracing shows it, where a backend takes scores
        return kept

    def scores(
        self, run_ids: Sequence[str] | None = None, *, history: bool = False
    ) -> list[ScoreRecord]:
        """The current score of each run and name (``history=True``: every score given,
        replaced ones too), in the order they were given; of the runs whose ``local_id`` is
        in ``run_ids``, or of every run."""
        select = f"SELECT {', '.join(f's.{c}' for c in SCORE_COLUMNS)} FROM scores s"
        kept = " AND ".join(
            [sane_score_row_sql("s"), *([] if history else [current_scores_sql("s")])]
        )
        with self._reading() as db:
            if run_ids is None:
                rows = db.execute(f"{select} WHERE {kept} ORDER BY s.id").fetchall()
            else:
                ids = list(dict.fromkeys(run_ids))
                rows = _rows_in(db, f"{select} WHERE {kept} AND s.local_id", ids)
                rows.sort(key=lambda row: int(row[0]))
        return [score_record(row) for row in rows]

    def current_score_rows(
        self, local_ids: Sequence[str] | None = None
    ) -> list[tuple[str, str, str, float | None, str | None]]:
        """Each run's current score of each name as ``(local_id, name, kind, number,
        label)``: of these runs, or of every run (a large table reads them all at once). A
        closed store that has a file opens it again for the read (a ``runs()`` result read
        after its store was closed); a closed in-memory one has none left."""
        if self._closed and self.path is None:
            return []
        select = (
            "SELECT s.local_id, s.name, s.kind, s.number, s.label FROM scores s "
            f"WHERE {current_scores_sql('s')} AND {sane_score_row_sql('s')}"
        )
        with self._reading_again() as db:
            if local_ids is None or len(local_ids) > _ALL_SCORES_PAST:
                rows = db.execute(select).fetchall()
                if local_ids is None:
                    return rows
                wanted = set(local_ids)
                return [row for row in rows if row[0] in wanted]
            return _rows_in(db, f"{select} AND s.local_id", local_ids)

    def count(self) -> int:
        """How many runs the store holds."""
        with self._reading() as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


_COUNTS_DEFAULT_ZERO = tuple(
    i for i, (name, _) in enumerate(RUN_COLUMNS) if name in ("event_count", "retries")
)
"""The run columns the table fills with 0 when a row is written without them."""


def _runs_sql(where: RunFilter) -> tuple[str, list[Any]]:
    """The query of the runs of ``where`` (not a search), most recent first."""
    terms, params = where.conditions()
    clause = f"WHERE {' AND '.join(terms)}" if terms else ""
    sql = f"SELECT {_RUN_SELECT} FROM runs {clause} ORDER BY started_at DESC, rowid DESC"
    if where.limit is not None:
        sql += " LIMIT ?"
        params.append(where.limit)
    return sql, params


_TEXT_AT: Final = {RUN_NAMES.index(name): name for name in LONG_TEXT_COLUMNS}
_INSERT_REST: Final = "INSERT INTO run_texts (local_id, field, rest) VALUES (?, ?, ?)"


def _with_rests_apart(
    rows: list[tuple[Any, ...]],
) -> Iterator[tuple[list[tuple[Any, ...]], dict[str, bytes]]]:
    """``rows`` in their order, in batches: rows of short texts together, and each row with
    a text past :data:`CHECKPOINT_TEXT_LIMIT` alone, that text cut to the row's part, with
    the rest of each such text (UTF-8, by its column's name), as the writer keeps them."""
    limit, batch = CHECKPOINT_TEXT_LIMIT, []
    for row in rows:
        long = {i for i in _TEXT_AT if isinstance(row[i], str) and len(row[i]) > limit}
        if not long:
            batch.append(row)
            continue
        if batch:
            yield batch, {}
            batch = []
        rests = {_TEXT_AT[i]: row[i][limit:].encode() for i in sorted(long)}
        yield [tuple(v[:limit] if i in long else v for i, v in enumerate(row))], rests
    if batch:
        yield batch, {}


def _with_defaults(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(0 if i in _COUNTS_DEFAULT_ZERO and v is None else v for i, v in enumerate(row))


def _fill_models_and_costs(db: sqlite3.Connection) -> int:
    pairs = db.execute(
        "SELECT DISTINCT provider, agent FROM runs WHERE model IS NULL "
        "AND provider IS NOT NULL AND agent IS NOT NULL"
    ).fetchall()
    for provider, agent in pairs:
        model = _requested_model(provider, agent)
        if model is not None:
            db.execute(
                "UPDATE runs SET model = ? WHERE provider = ? AND agent = ? AND model IS NULL",
                (model, provider, agent),
            )
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
    db.executemany("UPDATE runs SET cost_usd = ?, cost_source = ? WHERE rowid = ?", costs)
    return len(costs)


def _requested_model(provider: str, agent: str) -> str | None:
    """The model a request for ``agent`` names in ``provider``'s dialect (None: it names none,
    or the dialect is not installed)."""
    dialect = provider_class(provider)
    if dialect is None:
        return None
    try:
        return dialect().requested_model(build_request(agent, ""))
    except (ConfigurationError, TypeError):  # a dialect that needs options to be made
        return None


_ALL_SCORES_PAST: Final = 5_000
"""A table of more runs than this reads every current score at once, not by lists of ids."""


def _marks(columns: Sequence[object]) -> str:
    return ", ".join("?" * len(columns))


def _rows_in(db: sqlite3.Connection, query: str, ids: Sequence[str], then: str = "") -> list[Any]:
    """The rows of ``{query} IN (ids) {then}``, read a chunk of ids at a time (SQLite
    bounds a query's parameters): ``query`` ends with the column the ids are of."""
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows += db.execute(f"{query} IN ({_marks(chunk)}) {then}", list(chunk)).fetchall()
    return rows


_LIVE_STORES: weakref.WeakSet[HistoryStore] = weakref.WeakSet()


@atexit.register
def _keep_open_runs_at_exit() -> None:
    """At interpreter exit, runs still streaming into any open store (the default one or
    one the user opened) are kept as interrupted with the partial answer they had."""
    for store in list(_LIVE_STORES):
        if not store.closed:
            store._interrupt_open_runs()
