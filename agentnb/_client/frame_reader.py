"""One response's body read into SSE frames, each handed to the run as it is decoded.

The body comes one of two ways, and one engine reads both:

- **pushed**: a body on a connection agentnb reads itself (its own HTTP/1.1 connections, or a
  body read past httpx). The connection's :class:`~agentnb._http.network.Buffered`
  protocol hands what the event loop reads from the socket straight to the reader
  (:meth:`FrameReader.data`), which undoes the framing, inflates, decodes and calls
  ``on_frame`` for each frame, inside the loop's I/O callback. A run that only needs its
  events applied (:meth:`agentnb._client.stream.AsyncRunStream.consume`: every background run)
  wakes no task for them: its task sleeps in :meth:`FrameReader.wait` until ``on_frame``
  asks for it (a terminal event, a pause), the body ends, or something fails. A task wake
  and the five coroutine frames that carried each read up to the run cost more than the
  event's own decoding.
- **pulled**: a body through httpx (a proxy, a given ``http_client``, an encoding agentnb
  does not inflate itself): the waiting task awaits each piece, then the same engine runs.

Either way:

- The work of one turn of the event loop is bounded: between two frames the reader gives way
  once the turn has used agentnb's budget (:mod:`agentnb._core.loop`), and after each
  ``FEED_SLICE`` bytes given to the decoder (:class:`~agentnb._client.decoding.BodyFrames`)
  it lets the loop run once, so a body that is all blank lines or comments cannot hold the
  loop every run and the notebook share. While pushed work waits for its turn and four reads
  of the socket wait with it, the socket is not read.
- Time is bounded: no data for ``read_timeout`` seconds is a stall; the run's clock
  (idle / run timeout, :mod:`agentnb._client.clock`) raises
  :class:`~agentnb._client.clock.Expired`. One timer serves all the waits of a body.
- A compressed body is inflated a bounded piece at a time, and a decompression bomb refused
  (:mod:`agentnb._client.decoding`).
- How the body ended goes to the :class:`Outcome`: ``ended``, ``cut`` or ``stalled``, with
  a detail for the run's error; a body that cannot be decoded raises :class:`ProtocolError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from .._core.exceptions import ProtocolError
from .._core.loop import take_turn, turns_of
from .._http import Decoder, Pushed, RawReads
from ..sse import ServerSentEvent, SSEDecoder
from .clock import Expired, RunClock, Watchdog
from .decoding import NEEDED, OVER_BUDGET, SLICE_FED, BodyFrames, WholeBody

__all__ = ["FrameReader", "OnFrame", "Outcome"]

_TAKE = 64 * 1024
"""Bytes taken at once from what a connection buffered while nobody read it."""
_HOLD_PIECES = 4
"""Reads of the socket (each up to 256 KiB) kept waiting for a turn before the socket is
no longer read until then."""

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


class FrameReader:
    """Reads one response's body, handing each frame to ``on_frame`` (see the module)."""

    def __init__(
        self,
        source: Pushed | RawReads,
        coding: Decoder | None,
        decoder: SSEDecoder | WholeBody,
        clock: RunClock,
        outcome: Outcome,
        on_frame: OnFrame,
        *,
        where: Callable[[], str],
        read_timeout: float | None,
    ) -> None:
        self._source = source
        self._clock = clock
        self._outcome = outcome
        self._where = where
        self._read_timeout = read_timeout
        self._loop = asyncio.get_running_loop()
        self._turns = turns_of(self._loop)
        self._body = BodyFrames(decoder, coding, on_frame, self._turns.over, where)
        self._body_over = False  # nothing more will arrive
        self._framed_leftover = isinstance(source, Pushed)  # what came with the head: framed first
        self._finished = False  # ... and every frame was handed on
        self._needed = False  # on_frame asked for the task
        self._failure: BaseException | None = None  # raised at once
        self._failure_at_end: BaseException | None = None  # raised once the frames before it are
        self._waiter: asyncio.Future[None] | None = None
        self._scheduled = False  # pushed work waits for a turn of the loop
        self._timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0
        self._closed = False
        self._watchdog = Watchdog(clock) if isinstance(source, RawReads) else None

    # ---- the task's side --------------------------------------------------------------
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
        while True:
            if self._needed:
                self._needed = False
                return True
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            if self._finished:
                return False
            state = self._body.work()
            if state == NEEDED:
                self._needed = False
                return True
            if state == OVER_BUDGET:
                await take_turn()
            elif state == SLICE_FED:
                await asyncio.sleep(0)
            elif self._failure_at_end is not None:
                failure, self._failure_at_end = self._failure_at_end, None
                raise failure
            elif self._body_over:
                self._finish()
            elif isinstance(self._source, RawReads):
                await self._pull(self._source)
            else:
                await self._await_push(self._source)

    async def _pull(self, source: RawReads) -> None:
        assert self._watchdog is not None
        piece = await self._watchdog.read(source.read)
        if piece is None:
            self._body_over = True
        else:
            self._body.add(piece)

    async def _await_push(self, source: Pushed) -> None:
        """Take what the connection buffered meanwhile; else let it push until needed."""
        protocol = source.protocol
        if self._framed_leftover:
            self._framed_leftover = False
            self._arrived(b"")
            return
        if protocol.buffer:
            self._arrived(protocol.take(_TAKE))
            return
        if protocol.eof:
            self._stream_ended()
            return
        self._waiter = waiter = self._loop.create_future()
        self._last_data = self._loop.time()
        self._arm_timer()
        protocol.sink = self
        try:
            await waiter
        finally:
            protocol.sink = None
            self._waiter = None

    async def aclose(self) -> None:
        """:meth:`close`, and let a pulled body go."""
        self.close()
        if isinstance(self._source, RawReads):
            await self._source.close()

    def close(self) -> None:
        """The response is let go: stop the timers and any work waiting for a turn."""
        if self._closed:
            return
        self._closed = True
        self._outcome.server_retry_ms = self._body.retry or self._outcome.server_retry_ms
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watchdog is not None:
            self._watchdog.close()
        if isinstance(self._source, Pushed):
            self._source.protocol.sink = None
            self._source.protocol.release()

    # ---- the connection's side (Sink) ------------------------------------------------
    def data(self, data: bytes) -> None:
        """What the event loop read from the socket."""
        if self._failure_at_end is not None:
            return  # the body is broken: nothing after it counts
        self._last_data = self._loop.time()
        try:
            self._arrived(data)
        except Exception as exc:
            self._fail_after_frames(exc)
            return
        if not self._scheduled:
            self._advance()
        elif self._body.waiting >= _HOLD_PIECES:
            assert isinstance(self._source, Pushed)
            self._source.protocol.hold()  # enough waits for its turn: stop reading the socket

    def ended(self) -> None:
        """The server closed the connection, or it failed."""
        try:
            self._stream_ended()
        except Exception as exc:
            self._fail_after_frames(exc)
            return
        if not self._scheduled:
            self._advance()

    def _advance(self) -> None:
        """Do the pushed work this turn allows; wake the task when it is needed."""
        if self._closed or self._waiter is None:
            return
        if self._turns.over():
            self._wait_for_a_turn()
            return
        try:
            state = self._body.work()
        except Exception as exc:
            self._fail(exc)
            return
        if state == NEEDED:
            self._needed = True
            self._wake()
        elif state == OVER_BUDGET:
            self._wait_for_a_turn()
        elif state == SLICE_FED:
            self._scheduled = True
            self._loop.call_soon(self._resume)
        elif self._body_over or self._failure_at_end is not None:
            self._wake()

    def _wait_for_a_turn(self) -> None:
        self._scheduled = True
        self._turns.defer(self._resume)

    def _resume(self) -> None:
        self._scheduled = False
        if isinstance(self._source, Pushed):
            self._source.protocol.release()
        self._advance()

    def _fail(self, exc: BaseException) -> None:
        self._failure = exc
        self._wake()

    def _fail_after_frames(self, exc: BaseException) -> None:
        """The connection failed after what arrived before: those frames go first."""
        self._failure_at_end = exc
        self._body_over = True
        if not self._scheduled:
            self._advance()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- time -------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        if self._timer is None:
            due = self._next_due()
            if due is not None:
                self._timer = self._loop.call_at(due, self._check_time)

    def _next_due(self) -> float | None:
        """When the nearest limit passes, on the loop's clock (None: no limit)."""
        due = None if self._read_timeout is None else self._last_data + self._read_timeout
        left = self._clock.seconds_left()
        if left is not None:
            at = self._loop.time() + max(left, 0.0)
            due = at if due is None else min(due, at)
        return due

    def _check_time(self) -> None:
        self._timer = None
        if self._waiter is None or self._closed:
            return  # not waiting: the next wait sets the timer again
        left = self._clock.seconds_left()
        if left is not None and left <= 0:
            self._fail(Expired(self._clock.reason()))
        elif self._read_timeout is not None and (
            self._loop.time() >= self._last_data + self._read_timeout
        ):
            self._fail_after_frames(httpx.ReadTimeout("timed out reading from the server"))
        else:
            self._arm_timer()

    # ---- the work ---------------------------------------------------------------------
    def _arrived(self, data: bytes) -> None:
        """Bytes from the connection: framed, then inflated when the body is compressed."""
        source = self._source
        assert isinstance(source, Pushed)
        piece = source.body.frame(data)
        if source.body.done:
            self._body_over = True
        if piece:
            self._body.add(piece)

    def _stream_ended(self) -> None:
        source = self._source
        assert isinstance(source, Pushed)
        source.body.end_of_stream()
        self._body_over = True

    def _finish(self) -> None:
        """The body is over: the frames the decoder still holds, then the outcome."""
        if self._body.end():
            return
        self._finished = True
        self._outcome.kind = "ended"
        self._outcome.detail = "the stream ended before the run finished"
