"""The seam every transport fits: what a run's stream and the client ask of the way a
platform is reached, whether HTTP (:class:`~agentnb._client.transport.Transport`) or an ACP
agent's JSON-RPC (:class:`~agentnb._client.acp_transport.AcpTransport`).

A stream is opened as an :data:`Opened`: an HTTP response whose body the stream decodes, or
the frames a transport whose wire is not HTTP hands over as they are
(:class:`HandedFrames`). Neither transport makes the other's: no response is made up.
Redaction, the waits between attempts and the first request's discovery are the seam's,
one copy for every wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Coroutine, Mapping
from typing import Any

import httpx

from .._core.exceptions import NotFoundError, RateLimitError
from .._core.retry import Retryable, RetryPolicy, SharedBackOff
from .._core.secrets import redact, redacted_error
from ..events import Event, RunFailed, ToolCallFinished
from ..providers import Provider, WireRequest
from ..sse import ServerSentEvent

__all__ = ["ERROR_CODE_CHARS", "HandedFrames", "Opened", "Wire"]

ERROR_CODE_CHARS = 200
"""Characters of an error code a server reports (a word, unless the server is hostile)."""


class HandedFrames:
    """A stream's frames handed over as they are, by a transport whose wire is not HTTP (an
    ACP turn's): no status, no body to decode. Iterating :attr:`frames` again reads on where
    the last iteration stopped."""

    headers: Mapping[str, str] = {}
    """What the dialect's ``on_response`` reads: no wire headers."""

    def __init__(self, frames: AsyncIterable[ServerSentEvent], where: str) -> None:
        self.frames = frames
        """The frames (an ACP turn, which its transport lets go at the stream's end)."""
        self.where = where
        """The request, as an error names it (redacted)."""


Opened = httpx.Response | HandedFrames
"""A stream as a transport opens it (see the module)."""


class Wire:
    """What the stream and the client use of a transport (see the module); a subclass moves
    the messages. Use it on one event loop."""

    opens_cleanly_cancelled = False
    """Whether :meth:`open_stream` cancelled at any of its waits leaves nothing started that
    only its answer names, so a run's stream awaits it in place. An HTTP request cannot: the
    platform may have started the run when the Stop comes, so the stream sends it in a task
    of its own that a Stop leaves to its answer (:mod:`agentnb._client.platform_cancel`)."""

    def __init__(
        self,
        provider: Provider,
        base_url: str,
        *,
        connection: str,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        api_key: str | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self.connection = connection
        """The name a person knows the connection by, for the advice on a refused key."""
        self.timeout = timeout
        self.retry = retry
        self._api_key = api_key
        self._closed = False
        self._discovered = False
        self._discovering = asyncio.Lock()
        self.back_off = SharedBackOff()
        """Held by an answer saying "not now" (429, Retry-After): every request of this
        transport waits for it before its first attempt (:meth:`paced`) and its retries."""
        self.background: set[asyncio.Task[None]] = set()
        """Work sent after its run ended (a platform cancel, each bounded in time): closing
        the transport waits for it."""

    # ---- what each wire does its own way -------------------------------------------------
    async def send_json(
        self, http: WireRequest, *, on_retry: Callable[[], None] | None = None
    ) -> Any:
        """Send a request and return its answer as JSON gives it; raises agentnb's typed
        errors."""
        raise NotImplementedError

    async def open_stream(self, http: WireRequest, *, idempotent: bool = False) -> Opened:
        """Open a run's stream; ``idempotent``: a resume, which may be sent twice."""
        raise NotImplementedError

    async def close_response(self, response: Opened, *, keep: bool) -> None:
        """Let a stream go; ``keep``: it ended as it should (else it was stopped, and the
        platform must see it go)."""
        raise NotImplementedError

    async def let_go(self, response: Opened) -> None:
        """A run ended unfinished (failed, stopped) after its last stream was closed to be
        read on later (a pause for decisions): what the platform still holds for it may
        go."""

    def where_of(self, response: Opened) -> str:
        """The request ``response`` answers, as an error names it."""
        raise NotImplementedError

    async def framework_named(self, error: NotFoundError) -> NotFoundError:
        """A 404 of a run's request, saying what the origin is where the wire can tell."""
        return error

    # ---- lifecycle -------------------------------------------------------------------
    def in_background(
        self, work: Coroutine[Any, Any, None], name: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``work`` in a task of its own, which closing the transport waits for."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def aclose(self) -> None:
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
        self._closed = True

    async def discover(self) -> None:
        """Let the provider read what the platform says about itself (A2A's agent card)
        before the first request is built: once per transport; a failure is raised and the
        next request tries again."""
        if self._discovered:
            return
        async with self._discovering:
            if not self._discovered:
                await self.provider.discover(self.send_json)
                self._discovered = True

    # ---- text that may leave memory --------------------------------------------------
    def redact(self, text: str) -> str:
        """``text`` without this transport's key (or any other known secret)."""
        return redact(text, (self._api_key,))

    def redact_event(self, event: Event) -> Event:
        """An error the server reports may quote the key back: it never reaches the run. The
        failure a dialect reads from any frame is cut as an error body is: every dialect's,
        a plugin's included, passes here."""
        if isinstance(event, RunFailed):
            event.message = redacted_error(event.message, (self._api_key,))
            if event.code:
                event.code = redacted_error(event.code, (self._api_key,), ERROR_CODE_CHARS)
        elif isinstance(event, ToolCallFinished) and event.error:
            event.error = self.redact(event.error)
        return event

    # ---- waiting -----------------------------------------------------------------------
    async def wait_to_retry(self, failure: Retryable, attempt: int) -> None:
        """Sleep before retry number ``attempt``, or raise the failure's error when no retry
        is left or the server asks for an unreasonable wait."""
        policy = self.retry
        if attempt >= policy.max_retries:
            raise failure.error from failure.__cause__
        if failure.retry_after is not None and failure.retry_after > policy.max_retry_after:
            raise failure.error from failure.__cause__
        delay = policy.delay(attempt, failure.retry_after)
        if failure.retry_after is not None or isinstance(failure.error, RateLimitError):
            await self.back_off.hold(delay, self.sleep)  # the key is limited: every run waits
        else:
            await self.sleep(delay)

    async def paced(self) -> None:
        """Before a request's first attempt: wait while the shared back-off is held."""
        left = self.back_off.left()
        if left > 0:
            await self.sleep(left)

    async def sleep(self, seconds: float) -> None:
        """Every wait between attempts goes through here (tests observe the delays)."""
        await asyncio.sleep(seconds)
