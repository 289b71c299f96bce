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
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

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
from .http_errors import is_event_stream
from .network import OwnStream

__all__ = [
    "FEED_SLICE",
    "MAX_CHUNK_LINE",
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


MAX_CHUNK_LINE = 4096
"""Bytes a chunk-size line (with its extensions) may take, as h11 allows."""

_READ_SIZE = 64 * 1024
_WRAPPED_BY = ("_stream", "_httpcore_stream", "_connection")
"""Where httpx's, httpcore's and the shard's body wrappers keep what they wrap."""
_MAX_WRAPPERS = 8


def raw_body(
    response: httpx.Response, *, where: str, read_timeout: float | None
) -> Callable[[], Awaitable[bytes | None]] | None:
    """A function returning the next decoded piece of the body (None at its end), or None
    when this response cannot be read past httpx."""
    stream = response.extensions.get("network_stream")
    h11_state = _h11_state(response)
    if type(stream) is not OwnStream or h11_state is None or response.http_version != "HTTP/1.1":
        return None
    codings = encodings(response.headers)
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "deflate")):
        return None
    leftover, _ = h11_state.trailing_data
    framing = _framing(response.headers)
    if framing is None:
        return None
    body = _RawBody(stream, framing, leftover, read_timeout)
    if not codings:
        return body.next_piece
    return _inflating(body, Inflater(codings[0]), where)


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


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
"""Where a chunked body is: at a chunk-size line, in a chunk's data, at the line end after
it, in the trailer."""
_HEX = frozenset(b"0123456789abcdefABCDEF")


class _RawBody:
    """The framing of one body over the connection's buffered protocol."""

    __slots__ = (
        "_buffer",
        "_chunked",
        "_done",
        "_left",
        "_protocol",
        "_state",
        "_timeout",
        "_timer",
        "_waiter",
        "_waiting_since",
    )

    def __init__(
        self, stream: OwnStream, framing: int | str, leftover: bytes, timeout: float | None
    ) -> None:
        self._protocol = stream.protocol
        self._timeout = timeout
        self._buffer = leftover
        self._done = framing == 0
        self._chunked = framing == "chunked"
        self._state = _SIZE
        self._left = framing if isinstance(framing, int) else -1  # bytes left (-1: no count)
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_since = 0.0

    async def _wait(self) -> None:
        """Until something arrives; ReadTimeout after ``timeout`` seconds of waiting. One timer
        serves all the waits (set again when it fires early): a timer per read costs a busy
        stream more than its framing."""
        self._waiter = waiter = self._protocol.new_waiter()
        loop = waiter.get_loop()
        if self._timeout is not None:
            self._waiting_since = loop.time()
            if self._timer is None:
                self._timer = loop.call_at(self._waiting_since + self._timeout, self._check)
        try:
            await waiter
        except TimeoutError:
            raise httpx.ReadTimeout("timed out reading from the server") from None
        except BaseException:
            self._stop_timer()
            raise
        finally:
            self._waiter = None

    def _check(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done() or self._timeout is None:
            return  # not waiting: the next wait sets the timer again
        due = self._waiting_since + self._timeout
        if waiter.get_loop().time() >= due:
            waiter.set_exception(TimeoutError())
        else:
            self._timer = waiter.get_loop().call_at(due, self._check)

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    async def _more(self) -> bytes:
        """What arrived since the last call, waiting for some; b"" once the server closed."""
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            await self._wait()
        if protocol.buffer:
            return protocol.take(_READ_SIZE)
        self._stop_timer()
        if protocol.error is not None:
            raise httpx.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""

    async def next_piece(self) -> bytes | None:
        """The next piece of the body as the server framed it; None at its end."""
        need_more = not self._buffer  # held bytes (an unfinished line) are looked at once
        while not self._done:
            data, self._buffer = self._buffer, b""
            if need_more:
                more = await self._more()
                if not more:
                    self._closed()
                    return None
                data += more
            if self._chunked:
                piece = self._unchunk(data)
            elif self._left >= 0:
                piece = data[: self._left]
                self._left -= len(piece)
                self._done = self._left == 0
            else:
                piece = data
            if piece:
                return piece
            need_more = True
        return None

    def _closed(self) -> None:
        """The server closed the connection: the body's end, unless its framing says not yet."""
        if self._chunked or self._left > 0:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )
        self._done = True

    def _unchunk(self, data: bytes) -> bytes:
        """The chunk data in ``data``; an unfinished line waits in the buffer."""
        pieces: list[bytes] = []
        at, size = 0, len(data)
        while at < size and not self._done:
            if self._state == _DATA:
                piece = data[at : at + self._left]
                pieces.append(piece)
                at += len(piece)
                self._left -= len(piece)
                if self._left == 0:
                    self._state = _DATA_END
                continue
            line_end = data.find(b"\r\n", at)
            if line_end < 0:
                if size - at > MAX_CHUNK_LINE:
                    raise httpx.RemoteProtocolError("a chunk-size line is too long")
                self._buffer = data[at:]
                break
            self._take_line(data[at:line_end])
            at = line_end + 2
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _take_line(self, line: bytes) -> None:
        """Interpret one line between chunks' data."""
        state = self._state
        if state == _DATA_END:
            if line:
                raise httpx.RemoteProtocolError("a chunk's data did not end with a line end")
            self._state = _SIZE
        elif state == _TRAILER:
            self._done = not line
        else:
            digits = line.split(b";", 1)[0].strip(b" \t")
            if not digits or len(digits) > 16 or not _HEX.issuperset(digits):
                raise httpx.RemoteProtocolError(f"bad chunk-size line: {line[:40]!r}")
            self._left = int(digits, 16)
            self._state = _DATA if self._left else _TRAILER


def _inflating(
    body: _RawBody, inflater: Inflater, where: str
) -> Callable[[], Awaitable[bytes | None]]:
    """``body``'s pieces inflated a bounded piece at a time; a decompression bomb refused."""
    pending: list[bytes] = []
    received = decoded = 0

    async def next_piece() -> bytes | None:
        nonlocal received, decoded
        while not pending:
            raw = await body.next_piece()
            if raw is None:
                return None
            received += len(raw)
            pending.extend(reversed(list(inflater.feed(raw))))
        piece = pending.pop()
        decoded += len(piece)
        check_ratio(decoded, received, where)
        return piece

    return next_piece
