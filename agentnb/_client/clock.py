"""A run's two time limits, beside the HTTP read timeout (which only catches silence):

- ``idle_timeout``: no event for that many seconds. Keep-alive comments, frames that mean
  nothing and a body trickling in a byte at a time do not count as progress.
- ``run_timeout``: the whole run, from the request to the terminal event (None: no limit).

Every wait of a run's stream goes through its :class:`Watchdog`, so neither a server that
never stops sending nor one that never sends an event can hold a run forever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["DEFAULT_IDLE_TIMEOUT", "Expired", "RunClock", "Watchdog"]

DEFAULT_IDLE_TIMEOUT = 120.0
"""Seconds without an event before a run is given up as stalled."""

T = TypeVar("T")


class Expired(Exception):
    """A run's time limit passed (internal; the stream turns it into StreamStallError)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunClock:
    """When a run must end: ``idle_timeout`` after its last event, ``run_timeout`` after its
    start, whichever comes first."""

    def __init__(self, idle_timeout: float | None, run_timeout: float | None) -> None:
        self.idle_timeout = idle_timeout
        self.run_timeout = run_timeout
        self._started = self._progress = time.monotonic()

    def restart(self) -> None:
        """The run starts (again): both limits count from now."""
        self._started = self._progress = time.monotonic()

    def progress(self) -> None:
        """An event arrived: the idle limit starts over."""
        self._progress = time.monotonic()

    def seconds_left(self) -> float | None:
        """Seconds until the nearest limit (negative once it passed); None: no limit."""
        left = None
        now = time.monotonic()
        if self.idle_timeout is not None:
            left = self._progress + self.idle_timeout - now
        if self.run_timeout is not None:
            run_left = self._started + self.run_timeout - now
            left = run_left if left is None else min(left, run_left)
        return left

    def reason(self) -> str:
        """What the nearest limit says when it passes."""
        idle_at = None if self.idle_timeout is None else self._progress + self.idle_timeout
        run_at = None if self.run_timeout is None else self._started + self.run_timeout
        if run_at is not None and (idle_at is None or run_at < idle_at):
            return f"the run went past its run_timeout of {self.run_timeout:g} s"
        return (
            f"no event for {self.idle_timeout:g} s (idle_timeout; keep-alive comments do not "
            f"count): the stream stalled"
        )


class Watchdog:
    """The clock's limits over every wait of one run (the request, each read of its body,
    the waits for decisions and between attempts), with one timer.

    A stream reads thousands of chunks: a timer for each cost more than decoding them. The
    watchdog's timer is set for the nearest limit; when it fires early (events pushed the idle
    limit on) it is set again, and when the limit has passed it cancels the wait in progress,
    which :meth:`read` turns into :class:`Expired`. :meth:`close` when the run is done.
    """

    def __init__(self, clock: RunClock) -> None:
        self._clock = clock
        self._task: asyncio.Task[object] | None = None
        self._reading = False
        self._cancelled_read = False
        self._timer: asyncio.TimerHandle | None = None

    def _set_timer(self) -> None:
        left = self._clock.seconds_left()
        if left is None:
            self._timer = None
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + max(left, 0.0), self._check)

    def _check(self) -> None:
        left = self._clock.seconds_left()
        if left is None or left > 0:
            self._set_timer()
        elif self._reading and self._task is not None:
            self._cancelled_read = True
            self._timer = None
            self._task.cancel()
        else:
            self._timer = None  # the next wait sees the limit passed, or sets it again

    async def read(self, start: Callable[[], Awaitable[T]]) -> T:
        """``await start()``; :class:`Expired` when the limit passes first."""
        left = self._clock.seconds_left()
        if left is not None and left <= 0:
            raise Expired(self._clock.reason())
        if self._timer is None:
            self._set_timer()
        self._task = asyncio.current_task()  # a sync stream reads from a new task each time
        self._reading = True
        try:
            return await start()
        except asyncio.CancelledError:
            self._cut()
            raise
        finally:
            self._reading = False

    def _cut(self) -> None:
        """A wait was cancelled: :class:`Expired` if the watchdog did it (alone); else return
        (the caller re-raises the cancellation)."""
        if not self._cancelled_read:
            return
        self._cancelled_read = False
        if self._task is not None and self._task.uncancel() > 0:
            return  # cancelled by someone else too: that wins
        raise Expired(self._clock.reason()) from None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
