"""One response's body read into SSE frames, each handed to the run as it is decoded.

:func:`frame_reader` takes a response's raw body (on agentnb's own client pushed by the
connection as each socket read brings it, :meth:`agentnb._http.AiohttpBody.push`, so no
task wakes per read; through httpx's reads on a user's own client), undoes its content
coding a bounded piece at a time (:class:`agentnb._http.Decoder`), decodes the SSE frames
and calls ``on_frame`` for each; the task waiting in :meth:`FrameReader.wait` is given back
the run when ``on_frame`` asks for it (a terminal event, a pause), the turn's budget is
used, the body ends, or something fails.

- The work of one turn of the event loop is bounded: between two frames the reader gives way
  once the turn has used agentnb's budget (:mod:`agentnb._core.loop`), and after each
  ``FEED_SLICE`` bytes given to the decoder (:class:`~agentnb._client.decoding.BodyFrames`)
  it lets the loop run once, so a body that is all blank lines or comments cannot hold the
  loop every run and the notebook share.
- Time is bounded: no data for ``read_timeout`` seconds is a stall, and the run's clock
  (idle / run timeout, :mod:`agentnb._client.clock`) raises
  :class:`~agentnb._client.clock.Expired`, with one timer for all the reads of a body
  (:class:`~agentnb._client.clock.Watchdog`). On agentnb's client the watchdog keeps the
  read timeout too (aiohttp would re-arm a timer on every socket read); on a user's own
  httpx client, httpx keeps it.
- A compressed body is decoded a bounded piece at a time, and a decompression bomb refused.
- How the body ended goes to the :class:`Outcome`: ``ended``, ``cut`` or ``stalled``, with
  a detail for the run's error; a body that cannot be decoded raises :class:`ProtocolError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from .._core.exceptions import ProtocolError
from .._core.loop import take_turn, turns_of
from .._http import AiohttpBody, RawReads, aiohttp_body, decoder_for, is_event_stream, raw_reads
from ..sse import ServerSentEvent, SSEDecoder
from .clock import RunClock, Watchdog
from .decoding import IDLE, NEEDED, OVER_BUDGET, SLICE_FED, BodyFrames, WholeBody

__all__ = ["FrameReader", "OnFrame", "Outcome", "frame_reader"]

OnFrame = Callable[[ServerSentEvent], bool]
"""Called with each frame; returns False when the task waiting in :meth:`FrameReader.wait`
has something to do (the frames after it wait until it calls again)."""


class Outcome:
    """How one response's stream ended (internal)."""

    __slots__ = ("detail", "kind", "retry_after", "server_retry_ms")

    def __init__(self) -> None:
        self.kind = ""
        self.detail = ""
        self.retry_after: float | None = None
        self.server_retry_ms: int | None = None


def frame_reader(
    response: httpx.Response,
    clock: RunClock,
    outcome: Outcome,
    on_frame: OnFrame,
    *,
    where: Callable[[], str],
    read_timeout: float | None,
) -> FrameReader:
    """The reader of ``response``'s frames (an event stream's, or a JSON answer's as one
    frame: a dialect with ``json_answers``). ``where()`` names the request in an error (made
    only then: it is the request's URL with every known secret taken out)."""
    streamed = is_event_stream(response.headers.get("content-type"))
    decoder: SSEDecoder | WholeBody = SSEDecoder() if streamed else WholeBody(where())
    body = BodyFrames(
        decoder,
        decoder_for(response.headers, where),
        on_frame,
        turns_of(asyncio.get_running_loop()).over,
        where,
    )
    wire = aiohttp_body(response)  # on agentnb's client the reader keeps the read timeout
    silence = None if wire is None else wire.keep_read_timeout()
    reader = FrameReader(raw_reads(response), body, clock, outcome, where, read_timeout, silence)
    reader.wire = wire
    return reader


class FrameReader:
    """Reads one response's body, handing each frame to ``on_frame`` (see the module)."""

    def __init__(
        self,
        source: RawReads,
        body: BodyFrames,
        clock: RunClock,
        outcome: Outcome,
        where: Callable[[], str],
        read_timeout: float | None,
        silence: float | None = None,
    ) -> None:
        """``silence``: the read timeout, kept here rather than by the HTTP library."""
        self._source = source
        self._body = body
        self._outcome = outcome
        self._where = where
        self._read_timeout = read_timeout
        self._watchdog = Watchdog(clock, silence)
        self._body_over = False  # nothing more will arrive
        self._finished = False  # ... and every frame was handed on
        self._closed = False
        self.wire: AiohttpBody | None = None
        """agentnb's own connection's body, which can push its bytes (None: read them)."""
        self._pushed_state = IDLE  # what the frames pushed stopped at, for the task
        self._pushed_error: Exception | None = None

    async def wait(self) -> bool:
        """Read on until ``on_frame`` asks for the task (True) or the body is over (False:
        the outcome says how). Raises :class:`Expired` when the run's clock runs out and
        :class:`ProtocolError` for a body that cannot be an event stream."""
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
        self._finished = True
        return False

    async def _read_on(self) -> bool:
        body = self._body
        while True:
            if self._finished:
                return False
            state, self._pushed_state = self._pushed_state, IDLE
            if self._pushed_error is not None:
                error, self._pushed_error = self._pushed_error, None
                raise error
            if state == IDLE:
                state = body.work()
            if state == NEEDED:
                return True
            if state == OVER_BUDGET:
                await take_turn()
            elif state == SLICE_FED:
                await asyncio.sleep(0)
            elif self._body_over:
                self._finish()
            elif self.wire is not None:
                await self._pushed(self.wire)
            else:
                piece = await self._watchdog.read(self._source.read)
                if piece is None:
                    self._body_over = True
                else:
                    body.add(piece)

    async def _pushed(self, wire: AiohttpBody) -> None:
        """The body's bytes as they arrive, decoded and handed on in the connection's own
        callback (:meth:`AiohttpBody.push`): this task waits until they have work for it (a
        frame it must handle, a turn to give way, a slice fed), or the body ends or fails.
        The bound on a turn's work and every timeout hold as for a read."""
        piece = wire.read_now()
        if piece is not None:
            self._watchdog.heard()
            self._body.add(piece)
            return
        woken = wire.push(self._take)
        if woken is None:  # over, or failed: a read says which
            piece = await self._watchdog.read(self._source.read)
            if piece is None:
                self._body_over = True
            else:
                self._body.add(piece)
            return
        try:
            await self._watchdog.read(lambda: woken)
        finally:
            wire.stop_push()

    def _take(self, piece: bytes) -> bool:
        """Pushed bytes: handed on at once; False when the task has work (see :meth:`_pushed`)."""
        self._watchdog.heard()
        body = self._body
        body.add(piece)
        try:
            state = body.work()
        except Exception as exc:  # raised in the task, where a read's failure would be
            self._pushed_error = exc
            return False
        self._pushed_state = state
        return state == IDLE

    async def aclose(self) -> None:
        """:meth:`close`, and let the body's iteration go."""
        self.close()
        await self._source.close()

    def close(self) -> None:
        """The response is let go: stop the timer."""
        if self._closed:
            return
        self._closed = True
        self._outcome.server_retry_ms = self._body.retry or self._outcome.server_retry_ms
        self._finished = True
        self._watchdog.close()
        if self.wire is not None:
            self.wire.stop_push()

    def _finish(self) -> None:
        """The body is over: the frames the decoder still holds, then the outcome."""
        if self._body.end():
            return
        self._finished = True
        self._outcome.kind = "ended"
        self._outcome.detail = "the stream ended before the run finished"
