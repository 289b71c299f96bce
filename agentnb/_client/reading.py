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

The body read past httpx, once httpx has parsed the head (:func:`raw_body`): httpx hands a
body up through six layers per socket read (httpcore's pool and connection streams, h11's
event machine, httpx's byte iterators, the shard's wrapper), which cost an event stream more
CPU than decoding its events. :func:`raw_body` takes the connection's buffered protocol
(:mod:`agentnb._client.network`) and the bytes h11 read past the head, and undoes the body's
framing itself (chunked, ``Content-Length``, or until the server closes).

It applies only where nothing between the socket and the body needs httpx: an HTTP/1.1
response on agentnb's own network backend (plain TCP or TLS, no proxy) whose body is plain
or gzip/deflate. Anything else returns None and the body goes through httpx
(:func:`agentnb._client.decoding.body_pieces`). Failures raise httpx's own errors
(``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``, ``DecodingError``), so a reader
handles both paths alike. The connection is never handed back to the pool: closing the
response closes it (h11 still sees the body unread).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

import h11
import httpcore
import httpx

from .._core.exceptions import ProtocolError
from .._core.loop import take_turn, turn_is_over
from ..sse import ServerSentEvent, SSEDecoder
from .clock import RunClock, Watchdog
from .decoding import (
    PIECE_SIZE,
    Inflater,
    WholeBody,
    body_pieces,
    check_ratio,
    close_quietly,
    encodings,
)
from .framing import RawBody
from .http_errors import is_event_stream
from .network import OwnStream
from .own_http import OwnBody

__all__ = [
    "FEED_SLICE",
    "Outcome",
    "paths_taken",
    "raw_body",
    "read_frames",
    "reads_raw",
]

FEED_SLICE = PIECE_SIZE
"""Bytes handed to the SSE decoder between two turns of the event loop."""


reads_raw = True
"""Whether a body that can be read past httpx is (see :func:`raw_body`);
benchmarks turn it off to compare."""
paths_taken: collections.Counter[str] = collections.Counter()
"""Responses read per path: "raw" (past httpx) or "httpx", and stream requests sent on
agentnb's own connections, "fast" (benchmarks print them)."""


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
    streamed = is_event_stream(response.headers.get("content-type"))
    decoder: SSEDecoder | WholeBody = SSEDecoder() if streamed else WholeBody(where)
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
        while True:
            watchdog.arm()  # Watchdog.read inlined: one frame less to resume per read
            try:
                chunk = await read()
            except asyncio.CancelledError:
                watchdog.cut()
                raise
            finally:
                watchdog.disarm()
            if chunk is None:
                break
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
        for sse in decoder.end():
            outcome.frames += 1
            yield sse
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


def raw_body(
    response: httpx.Response, *, where: str, read_timeout: float | None
) -> Callable[[], Awaitable[bytes | None]] | None:
    """A function returning the next decoded piece of the body (None at its end), or None
    when this response cannot be read past httpx."""
    codings = encodings(response.headers)
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "deflate")):
        return None
    if isinstance(response.stream, OwnBody):  # agentnb's own connection: its body as is
        return _decoded(response.stream.raw, codings, where)
    stream = response.extensions.get("network_stream")
    h11_state = _h11_state(response)
    if type(stream) is not OwnStream or h11_state is None or response.http_version != "HTTP/1.1":
        return None
    leftover, _ = h11_state.trailing_data
    framing = _framing(response.headers)
    if framing is None:
        return None
    return _decoded(RawBody(stream.protocol, framing, leftover, read_timeout), codings, where)


def _decoded(
    body: RawBody, codings: list[str], where: str
) -> Callable[[], Awaitable[bytes | None]]:
    return body.next_piece if not codings else _inflating(body, Inflater(codings[0]), where)


_WRAPPED_BY = ("_stream", "_httpcore_stream", "_connection")
"""Where httpx's, httpcore's and the shard's body wrappers keep what they wrap."""
_MAX_WRAPPERS = 8


def _h11_state(response: httpx.Response) -> h11.Connection | None:
    """The h11 connection that parsed the head, found through httpx's and httpcore's
    (private) stream wrappers; None when they are not the ones this module knows."""
    stream: object = response.stream
    for _ in range(_MAX_WRAPPERS):
        if isinstance(stream, httpcore.AsyncHTTP11Connection):
            break
        inner = (getattr(stream, name, None) for name in _WRAPPED_BY)
        stream = next((found for found in inner if found is not None), None)
    if not isinstance(stream, httpcore.AsyncHTTP11Connection):
        return None
    state = getattr(stream, "_h11_state", None)
    return state if isinstance(state, h11.Connection) else None


def _framing(headers: httpx.Headers) -> int | str | None:
    """ "chunked", a byte count, or "close" (read until the server closes); None: unknown."""
    codings = [v.strip().lower() for v in headers.get_list("transfer-encoding", split_commas=True)]
    if codings:
        return "chunked" if codings == ["chunked"] else None
    length = headers.get("content-length")
    if length is None:
        return "close"
    return int(length) if length.isdigit() else None


def _inflating(
    body: RawBody, inflater: Inflater, where: str
) -> Callable[[], Awaitable[bytes | None]]:
    """``body``'s pieces inflated a bounded piece at a time; a decompression bomb refused."""
    pending: Iterator[bytes] = iter(())
    received = decoded = 0

    async def next_piece() -> bytes | None:
        nonlocal received, decoded, pending
        while (piece := next(pending, None)) is None:  # inflated one bounded piece at a time
            raw = await body.next_piece()
            if raw is None:
                return None
            received += len(raw)
            pending = inflater.feed(raw)
        decoded += len(piece)
        check_ratio(decoded, received, where)
        return piece

    return next_piece
