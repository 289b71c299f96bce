"""One response's body read into SSE frames, each handed to the run as it is decoded; or the
frames a transport hands over as they are (:class:`~agentnb._client.wire.HandedFrames`: an
ACP turn's, no bytes to decode), each handed to the run as it comes.

The reader pulls: it reads the body only while its task asks for frames, so a consumer that
pauses stops the socket's reads (backpressure) instead of buffering the stream. The run's
:class:`~agentnb._client.clock.Watchdog` bounds every read.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx

from .._core.exceptions import EventTooLargeError, ProtocolError
from .._http import decoded_body, is_event_stream
from ..sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder
from .clock import Watchdog
from .wire import HandedFrames, Opened

__all__ = [
    "FrameReader",
    "OnEnd",
    "OnFrame",
    "Outcome",
    "frame_cap",
    "frames_after_stop",
]

OnFrame = Callable[[ServerSentEvent], bool]
"""Called with each frame; returns False when the task waiting in :meth:`FrameReader.wait`
has something to do (the frames after it wait until it calls again)."""
OnEnd = Callable[[], bool]
"""Called once when the body ended cleanly, after its last frame; returns False, as
:data:`OnFrame` does, when that end means something for the task to do (a dialect's run
ends, or pauses, where its stream ends)."""


class Outcome:
    """How one response's stream ended (internal)."""

    __slots__ = ("detail", "kind", "retry_after", "server_retry_ms")

    def __init__(self) -> None:
        self.kind = ""
        self.detail = ""
        self.retry_after: float | None = None
        self.server_retry_ms: int | None = None


class WholeBody:
    """A JSON answer where a stream was asked for (a dialect with ``json_answers``: a
    JSON-RPC error instead of an event stream), read whole and handed on as one frame."""

    retry: int | None = None

    def __init__(self, where: str) -> None:
        self.where = where
        self.body = bytearray()

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self.body += chunk
        if len(self.body) > DEFAULT_MAX_EVENT_SIZE:
            raise ProtocolError(f"{self.where}: the JSON answer is too large to read")
        return []

    def end(self) -> list[ServerSentEvent]:
        return [ServerSentEvent(data=self.body.decode("utf-8", "replace"))]


class PassedFrames:
    """The frames a transport hands over (:class:`~agentnb._client.wire.HandedFrames`), each
    as it is, up to the cap of one frame."""

    retry: int | None = None

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def feed(self, frame: ServerSentEvent) -> list[ServerSentEvent]:
        if len(frame.data) > self.cap:
            raise EventTooLargeError(
                f"a frame of {len(frame.data):,} characters, past the cap of {self.cap:,} "
                f"bytes a frame of this run may hold (max_run_mib)"
            )
        return [frame]

    def end(self) -> list[ServerSentEvent]:
        return []


def frame_cap(max_run_size: int | None) -> int:
    """The bytes one frame may hold, for a run that may keep ``max_run_size``: twice that (a
    frame's JSON escapes its text, and some dialects repeat an answer whole at its end), never
    more than the decoder's own cap. A frame is refused before it is parsed: parsing a few MB
    of JSON can build tens of MB of objects before the run can count what it keeps."""
    if max_run_size is None:
        return DEFAULT_MAX_EVENT_SIZE
    return max(1, min(DEFAULT_MAX_EVENT_SIZE, 2 * max_run_size))


class FrameReader:
    """Reads one response's body, handing each frame to ``on_frame`` (see the module)."""

    def __init__(
        self,
        response: Opened,
        watchdog: Watchdog,
        outcome: Outcome,
        on_frame: OnFrame,
        on_end: OnEnd,
        *,
        where: Callable[[], str],
        read_timeout: float | None,
        max_run_size: int | None,
    ) -> None:
        """``where()`` names the request in an error (made only then: it is the request's URL
        with every known secret taken out). One frame may hold at most :func:`frame_cap` of a
        run that may keep ``max_run_size`` bytes; a JSON answer is one frame."""
        cap = frame_cap(max_run_size)
        self._decoder: SSEDecoder | WholeBody | PassedFrames
        self._pieces: AsyncIterator[Any]  # bytes to decode, or frames as they are
        if isinstance(response, HandedFrames):
            self._decoder, self._pieces = PassedFrames(cap), aiter(response.frames)
        else:
            streamed = is_event_stream(response.headers.get("content-type"))
            self._decoder = SSEDecoder(cap) if streamed else WholeBody(where())
            self._pieces = decoded_body(response, where)
        self._outcome = outcome
        self._on_frame = on_frame
        self._on_end = on_end
        self._where = where
        self._read_timeout = read_timeout
        self._watchdog = watchdog
        self._frames: list[ServerSentEvent] = []  # decoded, not handed on yet
        self._next = 0
        self._state = "reading"  # then "ended" (the decoder's last frames), then "done"

    async def wait(self) -> bool:
        """Read on until ``on_frame`` (or, at a clean end, ``on_end``) asks for the task
        (True) or the body is over (False: the outcome says how). Raises :class:`Expired`
        when the run's clock runs out and :class:`ProtocolError` for a body that cannot be an
        event stream."""
        try:
            return await self._read_on()
        except httpx.TimeoutException:
            self._outcome.kind = "stalled"
            self._outcome.detail = (
                f"no data for {self._read_timeout:g} s (read timeout): the stream stalled"
            )
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            self._outcome.kind = "cut"
            self._outcome.detail = f"the connection was cut mid-stream ({type(exc).__name__})"
        except httpx.DecodingError as exc:
            raise ProtocolError(f"{self._where()}: the body cannot be decoded: {exc}") from None
        except httpx.HTTPError as exc:
            self._outcome.kind = "cut"
            self._outcome.detail = f"the stream failed mid-way ({type(exc).__name__}: {exc})"
        self._state = "done"
        return False

    async def _read_on(self) -> bool:
        on_frame, read, next_piece = self._on_frame, self._watchdog.read, self._pieces.__anext__
        while True:
            frames = self._frames
            while self._next < len(frames):
                sse = frames[self._next]
                self._next += 1
                if not on_frame(sse):
                    return True
            if self._state == "done":
                return False
            if self._state == "ended":
                self._state = "done"
                self._outcome.kind = "ended"
                self._outcome.detail = "the stream ended before the run finished"
                return not self._on_end()
            try:
                piece = await read(next_piece)
            except StopAsyncIteration:
                self._state = "ended"
                self._frames, self._next = self._decoder.end(), 0
            else:
                self._frames, self._next = self._decoder.feed(piece), 0

    async def aclose(self) -> None:
        """:meth:`close`, and let the body's iteration go."""
        self.close()
        closing = getattr(self._pieces, "aclose", None)
        with contextlib.suppress(Exception):
            if closing is not None:
                await closing()

    def close(self) -> None:
        """The response is let go: no frame of it is handed on."""
        self._outcome.server_retry_ms = self._decoder.retry or self._outcome.server_retry_ms
        self._state = "done"
        self._frames = []


async def frames_after_stop(
    response: Opened, reader: FrameReader | None, where: Callable[[], str]
) -> AsyncGenerator[ServerSentEvent, None]:
    """The frames of the rest of a body whose reading was stopped, decoded by its reader's
    decoder (it holds a frame begun) or a new one (nothing was read yet). The body is
    iterated anew: a read cancelled inside ``decoded_body`` ended that iterator."""
    decoder = reader._decoder if reader is not None else SSEDecoder()
    if isinstance(response, HandedFrames):
        if isinstance(decoder, PassedFrames):
            async for frame in response.frames:
                yield frame
        return
    if isinstance(decoder, PassedFrames | WholeBody):
        return
    async for piece in decoded_body(response, where):
        for sse in decoder.feed(piece):
            yield sse
