"""The history's writer thread: a run's recorder writes leave agentnb's event loop at once.

A write is queued (microseconds) and done in order on one thread per store, with whatever
else queued meanwhile in the same transaction, so 200 streams finishing together cost one
commit instead of 200 and never stall the loop every stream and the notebook share. Before
any read the store waits for what is queued (:meth:`HistoryWriter.flush`), so a read right
after a run sees it; at exit and at ``close()`` the queue is flushed too, so nothing is lost.

The values of a write are taken when it is done, not when it is queued: a checkpoint is the
run's state at that moment, and of several checkpoints of one run queued together only the
last is done (the run's end, if queued too, replaces them all).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .._core.run import Run

__all__ = ["HistoryWriter", "PendingWrite", "RecorderWrites", "coalesced"]

logger = logging.getLogger("agentnb.history")

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
    """``writes`` without the checkpoints a later write of the same run makes useless."""
    last_write = {id(write.run): index for index, write in enumerate(writes)}
    return [
        write
        for index, write in enumerate(writes)
        if write.kind != "progress" or last_write[id(write.run)] == index
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
        with self._changed:
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
            count = min(len(self._queue), MAX_BATCH)
            return [self._queue.popleft() for _ in range(count)]

    def _work(self) -> None:
        while batch := self._next_batch():
            try:
                self._do_batch(batch)
            except Exception:  # the store reports its own failures: this is a bug
                logger.exception("agentnb history: the writer thread failed a batch")
            finally:
                with self._changed:
                    self._done += len(batch)
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
            self._report_once(f"agentnb history: could not record {write.what}: %s", exc)
            return
        self._written(write)

    def _written(self, write: PendingWrite) -> None:
        with self._lock:
            if write.kind == "start":
                self._open_runs[write.run.local_id] = write.run
            elif write.kind == "end":
                self._open_runs.pop(write.run.local_id, None)

    def _report_once(self, message: str, exc: Exception) -> None:
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
