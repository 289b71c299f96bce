"""A run's two time limits, beside the HTTP read timeout (which only catches silence):

- ``idle_timeout``: no event for that many seconds. Keep-alive comments, frames that mean
  nothing and a body trickling in a byte at a time do not count as progress.
- ``run_timeout``: the whole run, from the request to the terminal event (None: no limit).

Every wait of a run's stream goes through :func:`within`, so neither a server that never
stops sending nor one that never sends an event can hold a run forever.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from .._core.exceptions import ConfigurationError

__all__ = ["DEFAULT_IDLE_TIMEOUT", "Expired", "RunClock", "checked_limit", "within"]

DEFAULT_IDLE_TIMEOUT = 120.0
"""Seconds without an event before a run is given up as stalled."""

T = TypeVar("T")


class Expired(Exception):
    """A run's time limit passed (internal; the stream turns it into StreamStallError)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checked_limit(value: float | None, name: str) -> float | None:
    """``value`` as a positive number of seconds, or None for no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds or None")
    return float(value)


class RunClock:
    """When a run must end: ``idle_timeout`` after its last event, ``run_timeout`` after its
    start, whichever comes first."""

    def __init__(self, idle_timeout: float | None, run_timeout: float | None) -> None:
        self.idle_timeout = idle_timeout
        self.run_timeout = run_timeout
        self._started = self._progress = time.monotonic()

    def progress(self) -> None:
        """An event arrived: the idle limit starts over."""
        self._progress = time.monotonic()

    def next_limit(self) -> tuple[float, str] | None:
        """Seconds left until the nearest limit, and what that limit says; None: no limit."""
        now = time.monotonic()
        limits = []
        if self.idle_timeout is not None:
            limits.append(
                (
                    self._progress + self.idle_timeout - now,
                    f"no event for {self.idle_timeout:g} s (idle_timeout; keep-alive "
                    f"comments do not count): the stream stalled",
                )
            )
        if self.run_timeout is not None:
            limits.append(
                (
                    self._started + self.run_timeout - now,
                    f"the run went past its run_timeout of {self.run_timeout:g} s",
                )
            )
        return min(limits) if limits else None


async def within(clock: RunClock, start: Callable[[], Awaitable[T]]) -> T:
    """``await start()``, cut short with :class:`Expired` when the clock's next limit passes."""
    limit = clock.next_limit()
    if limit is None:
        return await start()
    seconds, reason = limit
    if seconds <= 0:
        raise Expired(reason)
    with anyio.move_on_after(seconds):
        return await start()
    raise Expired(reason)
