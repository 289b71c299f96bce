"""Reading one response's body into SSE frames, bounded in time, memory and loop use.

- Every read waits at most until the run's clock says stop (one :class:`~agentnb._client.
  clock.Watchdog` for all the reads of a response).
- The body is decompressed a bounded piece at a time, and a decompression bomb is refused
  (:mod:`agentnb._client.decoding`).
- Decoded bytes go to the SSE decoder :data:`FEED_SLICE` at a time, and the event loop gets
  a turn after each slice's worth, so a body that is all blank lines or comments (no event
  to hand back) cannot hold the loop that every other run and the notebook share.
- Between two events a stream gives way once the loop's turn has used agentnb's budget
  (:func:`agentnb._core.loop.take_turn`), so 200 streams ready at once do not hold it.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

import httpx

from .._core.exceptions import ProtocolError
from .._core.loop import take_turn, turn_is_over
from ..sse import ServerSentEvent, SSEDecoder
from .clock import RunClock, Watchdog
from .decoding import PIECE_SIZE, body_pieces, close_quietly
from .raw_body import raw_body

__all__ = ["FEED_SLICE", "Outcome", "paths_taken", "read_frames", "reads_raw"]

FEED_SLICE = PIECE_SIZE
"""Bytes handed to the SSE decoder between two turns of the event loop."""


reads_raw = True
"""Whether a body that can be read past httpx is (see :mod:`agentnb._client.raw_body`);
benchmarks turn it off to compare."""
paths_taken: collections.Counter[str] = collections.Counter()
"""Responses read per path: "raw" (past httpx) or "httpx" (benchmarks print it)."""


class Outcome:
    """How one response's stream ended (internal)."""

    __slots__ = ("detail", "frames", "kind", "raw", "retry_after", "server_retry_ms")

    def __init__(self) -> None:
        self.raw = False  # whether the body was read past httpx (see raw_body)
        self.kind = ""
        self.detail = ""
        self.frames = 0
        self.retry_after: float | None = None
        self.server_retry_ms: int | None = None


async def read_frames(
    response: httpx.Response,
    clock: RunClock,
    outcome: Outcome,
    *,
    where: str,
    read_timeout: float | None,
) -> AsyncGenerator[ServerSentEvent, None]:
    """The response's frames; a cut, a stall or an early end is noted in ``outcome``.
    Raises :class:`~agentnb._client.clock.Expired` when the clock runs out and
    :class:`ProtocolError` for a body that cannot be an event stream."""
    decoder = SSEDecoder()
    chunks: AsyncIterator[bytes] | None = None
    read = raw_body(response, where=where, read_timeout=read_timeout) if reads_raw else None
    outcome.raw = read is not None
    paths_taken["raw" if outcome.raw else "httpx"] += 1
    if read is None:
        chunks = body_pieces(response, where=where)
        read = _next_chunk(chunks)
    watchdog = Watchdog(clock)
    fed = 0
    try:
        while (chunk := await watchdog.read(read)) is not None:
            for start in range(0, len(chunk), FEED_SLICE):
                piece = chunk[start : start + FEED_SLICE]
                for sse in decoder.feed(piece):
                    outcome.frames += 1
                    yield sse
                    if turn_is_over():
                        await take_turn()
                outcome.server_retry_ms = decoder.retry or outcome.server_retry_ms
                fed += len(piece)
                if fed >= FEED_SLICE:
                    fed = 0
                    await asyncio.sleep(0)
        decoder.end()
        outcome.kind = "ended"
        outcome.detail = "the stream ended before the run finished"
    except httpx.TimeoutException:
        outcome.kind = "stalled"
        outcome.detail = f"no data for {read_timeout:g} s (read timeout): the stream stalled"
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        outcome.kind = "cut"
        outcome.detail = f"the connection was cut mid-stream ({type(exc).__name__})"
    except httpx.DecodingError as exc:
        raise ProtocolError(f"{where}: the body cannot be decoded: {exc}") from None
    except httpx.HTTPError as exc:
        outcome.kind = "cut"
        outcome.detail = f"the stream failed mid-way ({type(exc).__name__}: {exc})"
    finally:
        watchdog.close()
        if chunks is not None:
            await close_quietly(chunks)


def _next_chunk(chunks: AsyncIterator[bytes]) -> Callable[[], Awaitable[bytes | None]]:
    async def read() -> bytes | None:
        try:
            return await chunks.__anext__()
        except StopAsyncIteration:
            return None

    return read
