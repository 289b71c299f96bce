"""Recording: how a run's row gets written, by whom, and what becomes of it when its
process dies.

Writes leave agentnb's event loop at once: queued, then done in order on one thread per
store, many in one transaction, so streams ending together cost one commit and never stall
the loop; a read waits for what is queued, and exit and ``close()`` flush it. A write's
values are taken when it is done, so a checkpoint another write of its run in the same
batch carries is left out. A running row names its process (host, pid, start token), so
rows left ``running`` by a process that has ended become ``interrupted`` with their partial
answer; other hosts' rows are never judged.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._core.loop import interrupt_kept
from .._core.request import RunRequest
from .._core.run import Run
from ._records import (
    CHECKPOINT_TEXT_LIMIT,
    LONG_TEXT_COLUMNS,
    TOOL_CALL_COLUMNS,
    LongText,
    end_values,
    progress_values,
    start_values,
    storable_row,
    text_length,
    tool_rows,
)

__all__ = [
    "ORPHAN_MESSAGE",
    "HistoryWriter",
    "PendingWrite",
    "RecorderWrites",
    "chunks",
    "coalesced",
    "current_owner",
    "gone_owners",
    "insert_run_sql",
    "insert_start",
    "mark_interrupted",
    "write_end",
    "write_ended",
    "write_interrupted",
    "write_progress",
]

logger = logging.getLogger("agentnb.history")


# ---- the writer thread ---------------------------------------------------------------

WriteKind = Literal["start", "progress", "end"]
MAX_BATCH = 1000
"""Writes done in one transaction at most."""
GATHER_SECONDS = 0.05
"""How long the writer, woken by a write, waits for more before doing them together."""
YIELD_SECONDS = 0.001
"""How long a batch writes before letting a thread waiting for the GIL (the event loop) go
first. Giving way costs ~40 µs of CPU, more than a write, so not after every write."""


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One recorder write waiting for the writer thread."""

    kind: WriteKind
    run: Run
    what: str
    """What it records, for an error message ("the start of a run")."""
    work: Callable[..., None]
    """Does the SQL with the writer's connection."""


def coalesced(writes: Sequence[PendingWrite]) -> list[PendingWrite]:
    """``writes`` without the checkpoints another write of the same run in them makes
    useless: a later checkpoint, its end, or its start (which writes what the run holds when
    it is done, the checkpoint's values included)."""
    last_write = {id(write.run): index for index, write in enumerate(writes)}
    carried = {id(write.run) for write in writes if write.kind != "progress"}
    return [
        write
        for index, write in enumerate(writes)
        if write.kind != "progress"
        or (id(write.run) not in carried and last_write[id(write.run)] == index)
    ]


class HistoryWriter:
    """A daemon thread doing queued writes in order, in batches (``do_batch(writes)``).

    Waking a thread costs the loop that queues a write more than the write itself (and the
    woken thread then competes for the GIL), so a write wakes the writer only when it was
    idle, and the writer then gathers writes for :data:`GATHER_SECONDS` before doing them
    all at once: a few wake-ups a second under any load. :meth:`flush` cuts the wait short.
    """

    def __init__(
        self, do_batch: Callable[[list[PendingWrite]], None], *, name: str = "agentnb-history"
    ) -> None:
        self._do_batch = do_batch
        self._name = name
        self._queue: deque[PendingWrite] = deque()
        self._changed = threading.Condition(threading.Lock())
        self._submitted = 0
        self._done = 0
        self._idle = False
        self._hurry = False
        self._flushing = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def submit(self, write: PendingWrite) -> bool:
        """Queue ``write``; False when the writer was stopped (nothing is queued then)."""
        with self._changed:
            if self._stopping:
                return False
            self._queue.append(write)
            self._submitted += 1
            if self._thread is None or not self._thread.is_alive():
                self._start_thread()
            elif self._idle:
                self._changed.notify()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write queued before this call is done; False on timeout. From the
        writer thread itself (a batch reading the store) there is nothing to wait for."""
        if threading.current_thread() is self._thread:
            return True
        with interrupt_kept(), self._changed:
            target = self._submitted
            if self._done >= target:
                return True
            self._hurry = True
            self._flushing += 1
            self._changed.notify_all()
            try:
                return self._changed.wait_for(lambda: self._done >= target or self._dead(), timeout)
            finally:
                self._flushing -= 1

    def stop(self, timeout: float | None = None) -> None:
        """Do what is queued, then end the thread; later writes are refused."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def pending(self) -> int:
        """Writes queued and not done yet."""
        with self._changed:
            return self._submitted - self._done

    def _start_thread(self) -> None:
        """Start the thread (on the first write; again in a forked child, which has none)."""
        self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._thread.start()

    def _dead(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    def _next_batch(self) -> list[PendingWrite]:
        """Wait for writes, gather more for a moment, take them (empty: time to stop)."""
        with self._changed:
            while not self._queue and not self._stopping:
                self._idle = True
                self._changed.wait()
                self._idle = False
            if not (self._hurry or self._stopping):
                self._changed.wait_for(lambda: self._hurry or self._stopping, GATHER_SECONDS)
            self._hurry = False
            return [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]

    def _work(self) -> None:
        while batch := self._next_batch():
            count = len(batch)
            try:
                self._do_batch(batch)
            except Exception:  # the store reports its own failures: this is a bug
                logger.exception("agentnb history: the writer thread failed a batch")
            del batch  # its runs are let go before a flush waiting for them returns
            with self._changed:
                self._done += count
                if self._flushing:
                    self._changed.notify_all()


class RecorderWrites:
    """A store's recorder writes: queued on a :class:`HistoryWriter`, done with
    ``write_now(work)`` (one transaction), failures logged once per problem; and which runs
    started and have not ended, for the store to keep as interrupted when it closes."""

    def __init__(
        self, write_now: Callable[[Callable[..., object]], object], closed: Callable[[], bool]
    ) -> None:
        self._write_now = write_now
        self._closed = closed
        self._writer = HistoryWriter(self._do_batch)
        self._lock = threading.Lock()
        self._open_runs: dict[str, Run] = {}
        self._interrupted_at_close: set[str] = set()
        self._reported: set[str] = set()

    def queue(self, kind: WriteKind, run: Run, what: str, work: Callable[..., None]) -> None:
        """Queue one write (never raises); once the writer is stopped, do it at once, so a
        write to a closed store is reported as before."""
        write = PendingWrite(kind, run, what, work)
        if not self._writer.submit(write):
            self._do_one(write)

    def flush(self, timeout: float | None = None) -> bool:
        return self._writer.flush(timeout)

    def stop(self) -> None:
        self._writer.stop()

    def take_open_runs(self) -> list[Run]:
        """The runs whose start is written and whose end is not (after the queued writes);
        from now on a failed write of theirs is not reported (they are kept as interrupted)."""
        self.flush()
        with self._lock:
            runs = list(self._open_runs.values())
            self._open_runs.clear()
            self._interrupted_at_close.update(run.local_id for run in runs)
        return runs

    def _do_batch(self, writes: list[PendingWrite]) -> None:
        """The queued writes in one transaction; if that fails, each on its own, so one bad
        write costs only itself and each failure is reported."""
        writes = coalesced(writes)

        def all_of_them(db: object) -> None:
            give_way_at = time.perf_counter() + YIELD_SECONDS
            for write in writes:
                write.work(db)
                if time.perf_counter() >= give_way_at:
                    time.sleep(0)
                    give_way_at = time.perf_counter() + YIELD_SECONDS

        try:
            self._write_now(all_of_them)
        except Exception:
            for write in writes:
                self._do_one(write)
            return
        for write in writes:
            self._written(write)

    def _do_one(self, write: PendingWrite) -> None:
        try:
            self._write_now(write.work)
        except Exception as exc:
            if self._closed() and write.run.local_id in self._interrupted_at_close:
                return  # the store's close() already kept this run, as interrupted
            self.report_once(f"agentnb history: could not record {write.what}: %s", exc)
            return
        self._written(write)

    def _written(self, write: PendingWrite) -> None:
        with self._lock:
            if write.kind == "start":
                self._open_runs[write.run.local_id] = write.run
            elif write.kind == "end":
                self._open_runs.pop(write.run.local_id, None)

    def report_once(self, message: str, exc: Exception) -> None:
        """Log a failure once per problem, not once per run or per write: a damaged file
        fails them all."""
        key = str(exc)
        with self._lock:
            first = key not in self._reported
            self._reported.add(key)
        if first:
            logger.error(message + " (until this is fixed runs are not recorded)", exc)
        else:
            logger.debug(message, exc)


# ---- the writes of one run's row -----------------------------------------------------

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
    "owner_token = excluded.owner_token, "
    "run_id = coalesce(excluded.run_id, run_id), thread_id = coalesce(excluded.thread_id, "
    "thread_id), answer = coalesce(excluded.answer, answer), reasoning = "
    "coalesce(excluded.reasoning, reasoning), first_token_at = coalesce(excluded.first_token_at, "
    "first_token_at), event_count = excluded.event_count, retries = excluded.retries, "
    "resumes = excluded.resumes, tool_call_count = excluded.tool_call_count, "
    "unapproved_calls = excluded.unapproved_calls "
    "WHERE runs.status IN ('running', 'interrupted')"
)
"""A start of a run whose row exists (reattached) reopens it, keeping its partial answer
until the stream brings more."""


def _owner_values() -> dict[str, Any]:
    owner = current_owner()
    return {"owner_host": owner.host, "owner_pid": owner.pid, "owner_token": owner.token}


def insert_start(db: sqlite3.Connection, run: Run, request: RunRequest, base_url: str) -> None:
    """The run's row as ``running``, with what it holds so far (a checkpoint queued with the
    start is left out: see :func:`coalesced`). A run reattached to its row (``agentnb.attach``
    of a run still going when its process died) reopens it: running again, owned by this
    process, its partial answer kept until the stream brings more."""
    values = {**start_values(run, request, base_url), **_progress(run), **_owner_values()}
    if db.execute(insert_run_sql(tuple(values), _REOPEN), _bound(values)).rowcount:
        _write_rests(db, run.local_id, values, none_keeps=True)


def _progress(run: Run, text_limit: int | None = CHECKPOINT_TEXT_LIMIT) -> dict[str, Any]:
    """:func:`progress_values` without the ids the run does not know yet (a long answer only
    when ``text_limit`` is None)."""
    return {
        name: value
        for name, value in progress_values(run, text_limit).items()
        if value is not None or name not in ("run_id", "thread_id")
    }


def write_progress(
    db: sqlite3.Connection, run: Run, text_limit: int | None = CHECKPOINT_TEXT_LIMIT
) -> None:
    """Checkpoint a running run's partial answer, so a killed process loses little: an
    answer longer than ``text_limit`` is left as the row holds it, written whole at the end
    (see :data:`~agentnb._history._records.CHECKPOINT_TEXT_LIMIT`)."""
    values = _progress(run, text_limit)
    update = _update_sql(tuple(values), "local_id = ? AND status = 'running'")
    if db.execute(update, _bound(values, run.local_id)).rowcount:
        _write_rests(db, run.local_id, values)


def write_end(db: sqlite3.Connection, run: Run) -> None:
    """The run's end. Its tool calls are written before its row leaves ``running``, so the
    search index reads row and calls once, when the status changes (see ``m007_search``)."""
    values = _known_end(run)
    calls = tool_rows(run)
    db.execute("DELETE FROM tool_calls WHERE local_id = ?", storable_row((run.local_id,)))
    if calls:
        _insert_if_missing(db, {**start_values(run, None, None), **_owner_values()})
        db.executemany(_INSERT_TOOL_CALL, calls)
    update = _update_sql(tuple(values), "local_id = ?")
    row = _bound(values, run.local_id)
    if db.execute(update, row).rowcount == 0:
        # A run whose start was not recorded still gets its row.
        _insert_if_missing(db, {**start_values(run, None, None), **_owner_values()})
        db.execute(update, row)
    _write_rests(db, run.local_id, values)
    if text_length(run, "text") + text_length(run, "reasoning") > CHECKPOINT_TEXT_LIMIT:
        # The connection's cached statement keeps SQLite's copy of the values it last bound
        # until it runs again: bound to nothing (matching no row), it lets the text go.
        db.execute(update, (None,) * len(row))


def write_ended(db: sqlite3.Connection, run: Run, request: RunRequest, base_url: str) -> None:
    """A run that ended before its row was first written: its final row in one INSERT
    (the metadata and search triggers read an inserted ended row as they read a
    row that ends). A run with tool calls, or whose row exists already, is written as a
    start and an end, so the search index reads its calls once."""
    if not run.tool_calls:
        values = {**start_values(run, request, base_url), **_owner_values(), **_known_end(run)}
        if db.execute(insert_run_sql(tuple(values), "DO NOTHING"), _bound(values)).rowcount:
            _write_rests(db, run.local_id, values)
            return
    insert_start(db, run, request, base_url)
    write_end(db, run)


def _known_end(run: Run) -> dict[str, Any]:
    """:func:`end_values` without the ids and start the run does not know (an end keeps
    what its row holds)."""
    values = end_values(run, long_text=True)
    for keep_known in ("run_id", "thread_id", "started_at"):
        if values[keep_known] is None:
            del values[keep_known]
    return values


def write_interrupted(db: sqlite3.Connection, runs: Sequence[Run]) -> None:
    """Runs still going when the store closes (the process is exiting): keep what arrived."""
    for run in runs:
        write_progress(db, run, text_limit=None)
        db.execute(
            "UPDATE runs SET status = 'interrupted', error_code = 'process_exited', "
            "error_message = ? WHERE status = 'running' AND local_id = ?",
            storable_row((ORPHAN_MESSAGE, run.local_id)),
        )


def _insert_if_missing(db: sqlite3.Connection, values: dict[str, Any]) -> None:
    db.execute(insert_run_sql(tuple(values), "DO NOTHING"), _bound(values))


# ---- a long text: its first MiB in the row, the rest apart ---------------------------


def _bound(values: dict[str, Any], *more: Any) -> tuple[Any, ...]:
    """What a statement of ``values`` binds: of a long text, the row's part."""
    heads = (value.head if isinstance(value, LongText) else value for value in values.values())
    return storable_row((*heads, *more))


def _write_rests(
    db: sqlite3.Connection, local_id: str, values: dict[str, Any], *, none_keeps: bool = False
) -> None:
    """After a statement wrote the texts of ``values`` into the run's row: the rest of each
    long one (:class:`LongText`) into ``run_texts``, piece by piece into a value of its size
    (the last of its record, so SQLite makes no copy of it), in the statement's transaction
    (a process dying midway leaves the row as it was); a shorter text leaves no rest.
    ``none_keeps``: the statement kept the row's text where ``values`` has None."""
    written = [
        name
        for name in LONG_TEXT_COLUMNS
        if name in values and not (none_keeps and values[name] is None)
    ]
    if not written:
        return
    marks = ", ".join("?" * len(written))
    delete = f"DELETE FROM run_texts WHERE local_id = ? AND field IN ({marks})"
    db.execute(delete, (local_id, *written))
    for name in written:
        text = values[name]
        if isinstance(text, LongText) and text.rest_size:
            rowid = db.execute(
                "INSERT INTO run_texts (local_id, field, rest) VALUES (?, ?, zeroblob(?))",
                (local_id, name, text.rest_size),
            ).lastrowid
            assert rowid is not None
            with db.blobopen("run_texts", "rest", rowid) as blob:
                for piece in text.rest():
                    blob.write(piece)


@functools.lru_cache(maxsize=64)
def insert_run_sql(columns: tuple[str, ...], on_conflict: str) -> str:
    """The INSERT of a row of ``columns`` (the few column sets in use are built once)."""
    return (
        f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT (local_id) {on_conflict}"
    )


@functools.lru_cache(maxsize=64)
def _update_sql(columns: tuple[str, ...], where: str) -> str:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    return f"UPDATE runs SET {assignments} WHERE {where}"


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- which process owns a running row, and whether it still exists -------------------

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessOwner:
    host: str
    pid: int
    token: str | None


def current_owner() -> ProcessOwner:
    """This process (recomputed after a fork, since the pid changes)."""
    return _owner_for(os.getpid())


@functools.cache
def _owner_for(pid: int) -> ProcessOwner:
    return ProcessOwner(socket.gethostname(), pid, _start_token(pid))


def owner_is_gone(owner: ProcessOwner) -> bool:
    """True only when ``owner`` certainly no longer runs; unknown cases count as alive."""
    me = current_owner()
    if owner.host != me.host:
        return False
    if owner.pid == me.pid:
        return owner.token is not None and me.token is not None and owner.token != me.token
    if not _pid_alive(owner.pid):
        return True
    if owner.token is None:
        return False
    current = _start_token(owner.pid)
    return current is not None and current != owner.token


# ---- Linux: /proc ---------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` from the state on (the name may hold spaces)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


@functools.cache
def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_token(pid: int) -> str | None:
    if not _PROC.is_dir():
        return None
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return f"{_boot_id()}/{fields[19]}"  # field 22 of stat: start time in clock ticks


def _pid_alive(pid: int) -> bool:
    if _PROC.is_dir():
        fields = _stat_fields(pid)
        return fields is not None and fields[0] not in ("Z", "X")  # zombies have exited
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if sys.platform == "win32":
    import ctypes

    def _windows_pid_alive(pid: int) -> bool:
        query_limited_information, still_active, access_denied = 0x1000, 259, 5
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(query_limited_information, False, pid)
        if not handle:
            return bool(kernel32.GetLastError() == access_denied)
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return bool(code.value == still_active)
        finally:
            kernel32.CloseHandle(handle)


# ---- orphans: rows of processes that have ended --------------------------------------


def gone_owners(db: sqlite3.Connection, *, other_pids_only: bool) -> list[ProcessOwner]:
    """Owners of this host's running rows whose process has certainly ended.

    ``other_pids_only`` skips this process's pid: its own runs are known to be alive, and an
    earlier process that had the same pid was already judged when the store opened."""
    me = current_owner()
    sql = (
        "SELECT DISTINCT owner_pid, owner_token FROM runs "
        "WHERE status = 'running' AND owner_host = ?"
    )
    params: list[object] = [me.host]
    if other_pids_only:
        sql += " AND owner_pid IS NOT ?"
        params.append(me.pid)
    owners = [
        ProcessOwner(me.host, pid, token)
        for pid, token in db.execute(sql, params).fetchall()
        if pid is not None
    ]
    return [owner for owner in owners if owner_is_gone(owner)]


def mark_interrupted(db: sqlite3.Connection, owners: list[ProcessOwner]) -> int:
    """Mark these owners' running rows interrupted (inside the caller's write transaction)."""
    count = 0
    for owner in owners:
        count += db.execute(
            "UPDATE runs SET status = 'interrupted', error_code = 'process_exited', "
            "error_message = ? WHERE status = 'running' AND owner_host = ? "
            "AND owner_pid = ? AND owner_token IS ?",
            (ORPHAN_MESSAGE, owner.host, owner.pid, owner.token),
        ).rowcount
    return count
