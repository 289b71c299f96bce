"""When to try again and how long to wait: exponential backoff with full jitter, bounded,
and the server's own ``Retry-After`` / ``retry_after`` when it gives one."""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .exceptions import AgentNBError
from .request import MAX_SECONDS, checked_number

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "Retryable", "SharedBackOff", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
"""Statuses that mean "not now" rather than "no": the request was not acted on."""

_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]+)?")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay seconds or an HTTP-date)."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries a request that did not start and resumes a stream that was cut."""

    max_retries: int = 3
    """Retries of a request that failed before its stream started."""
    backoff: float = 0.5
    """Base delay in seconds; attempt ``n`` waits a random time up to ``backoff * 2**n``."""
    max_backoff: float = 20.0
    """No computed delay is longer than this."""
    max_retry_after: float = 600.0
    """A server asking to wait longer than this gets its error raised instead of a wait."""
    max_resumes: int = 3
    """Resumes in a row that bring the run no further (no new answer, reasoning, tool call,
    approval or state) before the run is given up as interrupted."""
    max_resumes_per_minute: int = 8
    """Resumes within any minute, progress or not: a server that cuts the stream after
    every event ends the run interrupted instead of being asked again without end."""
    max_resumes_per_run: int = 30
    """Resumes in one run, however far apart."""

    def __post_init__(self) -> None:
        for count in ("max_retries", "max_resumes"):
            checked_number(getattr(self, count), count, whole=True, least=0)
        for count in ("max_resumes_per_minute", "max_resumes_per_run"):
            checked_number(getattr(self, count), count, whole=True, least=1)
        for seconds in ("backoff", "max_backoff", "max_retry_after"):
            checked_number(
                getattr(self, seconds), seconds, least=0, most=MAX_SECONDS, unit="seconds"
            )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2 ** min(attempt, 30)))
        return random.uniform(0.0, ceiling)

    def resume_delay(self, recent: int, server_retry_ms: int | None) -> float:
        """Seconds to wait before a resume, given the ``recent`` resumes of the run before it
        (within the last minute, or in a row without progress). The first goes at once (a
        healthy server dropped one connection); later ones back off with jitter (half the
        ceiling fixed, half random, so a storm cannot draw only short waits), at least by the
        stream's own ``retry:`` time, and never longer than ``max_backoff``."""
        if recent <= 0:
            return 0.0
        # the stream's retry: may hold thousands of digits: clamp it before it becomes a float
        floor = min(server_retry_ms or 0, self.max_backoff * 1000) / 1000.0
        ceiling = min(self.max_backoff, self.backoff * (2 ** min(recent - 1, 30)))
        return min(self.max_backoff, max(floor, random.uniform(ceiling / 2, ceiling)))


class Retryable(Exception):
    """An attempt failed in a way that a later identical request may not (internal)."""

    def __init__(self, error: AgentNBError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class SharedBackOff:
    """One wait shared by every request of a client. A platform that answers 429 (or says
    when to come back) limits the key, not the request: every run of the client waits
    until then before its next attempt, so a batch of runs slows down together instead of
    each one spending its retries against the limit."""

    def __init__(self) -> None:
        self._until = 0.0

    async def hold(self, seconds: float, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Hold every request for ``seconds`` from now (longer if already held longer) and
        wait, with ``sleep``, until the hold ends; the hold is lifted then unless another
        request extended it meanwhile."""
        now = time.monotonic()
        self._until = until = max(self._until, now + max(0.0, seconds))
        await sleep(until - now)
        if self._until == until:
            self._until = 0.0

    def left(self) -> float:
        """Seconds until the hold ends (0 when none)."""
        return max(0.0, self._until - time.monotonic())
