"""A response body's HTTP/1.1 framing, undone over a connection's buffered protocol.

:class:`RawBody` reads from :class:`~agentnb._http.network.Buffered` (what the event loop
fed) and undoes chunked, ``Content-Length`` or until-close framing itself, with one read
timer per body. Failures raise httpx's own exception types (``ReadTimeout``, ``ReadError``,
``RemoteProtocolError``), so a reader handles this path and httpx's alike. Used for a body
read past httpx (:func:`agentnb._http.pushed_body.pushed_body`) and for every body of agentnb's
own connections (:mod:`agentnb._http.own_connections`), which :meth:`RawBody.finish_buffered`
tells whether they can carry the next request.
"""

from __future__ import annotations

import asyncio

import httpx

from .network import Buffered

__all__ = ["MAX_CHUNK_LINE", "RawBody"]

MAX_CHUNK_LINE = 4096
"""Bytes a chunk-size line (with its extensions) may take, as h11 allows."""

_READ_SIZE = 64 * 1024


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
"""Where a chunked body is: at a chunk-size line, in a chunk's data, at the line end after
it, in the trailer."""
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _one_whole_chunk(data: bytes) -> bytes | None:
    """The data of ``data`` when it is exactly one whole non-empty chunk without extensions
    (``size CRLF data CRLF``: how a server flushes each event), else None."""
    line_end = data.find(b"\r\n", 0, 18)
    if line_end <= 0:
        return None
    digits = data[:line_end]
    if not _HEX.issuperset(digits):
        return None
    start = line_end + 2
    end = start + int(digits, 16)
    if end == start or len(data) != end + 2 or data[end:] != b"\r\n":
        return None
    return data[start:end]


class RawBody:
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
        self, protocol: Buffered, framing: int | str, leftover: bytes, timeout: float | None
    ) -> None:
        self._protocol = protocol
        self._timeout = timeout
        self._buffer = leftover
        self._done = framing == 0
        self._chunked = framing == "chunked"
        self._state = _SIZE
        self._left = framing if isinstance(framing, int) else -1  # bytes left (-1: no count)
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_since = 0.0

    def _arm(self) -> asyncio.Future[None]:
        """A future for the next arrival; ReadTimeout after ``timeout`` seconds of waiting.
        One timer serves all the waits (set again when it fires early): a timer per read
        costs a busy stream more than its framing. Awaited in :meth:`next_piece` itself: a
        coroutine per step of a read is a frame to resume for every event."""
        self._waiter = waiter = self._protocol.new_waiter()
        if self._timeout is not None:
            loop = waiter.get_loop()
            self._waiting_since = loop.time()
            if self._timer is None:
                self._timer = loop.call_at(self._waiting_since + self._timeout, self._check)
        return waiter

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

    def close(self) -> None:
        """Stop the read timer (the body is let go)."""
        self._stop_timer()

    def finish_buffered(self) -> bool:
        """Frame what has already arrived, without waiting; whether that ended the body with
        nothing after it (so the connection can carry another request)."""
        protocol = self._protocol
        try:
            while not self._done and (self._buffer or protocol.buffer):
                data, self._buffer = self._buffer, b""
                more = protocol.take(len(protocol.buffer)) if protocol.buffer else b""
                if not more and data and self._chunked:
                    return False  # an unfinished line, and nothing new to finish it
                data += more
                if self._chunked:
                    self._unchunk(data)
                elif self._left > 0:
                    self._buffer = data[self._left :]
                    self._left -= min(len(data), self._left)
                    self._done = self._left == 0
                else:
                    return False  # until close: the body never ends on a kept-alive connection
        except httpx.RemoteProtocolError:
            return False
        return self._done and not self._buffer and not protocol.buffer

    def may_end_by_itself(self) -> bool:
        """Whether the body's framing ends it without the server closing the connection."""
        return not self._done and (self._chunked or self._left > 0)

    def _arrived(self) -> bytes:
        """What arrived since the last call; b"" once the server closed."""
        protocol = self._protocol
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
            more = b""
            if need_more:
                if not self._protocol.buffer and not self._protocol.eof:
                    try:
                        await self._arm()
                    except TimeoutError:
                        raise httpx.ReadTimeout("timed out reading from the server") from None
                    except BaseException:
                        self._stop_timer()
                        raise
                    finally:
                        self._waiter = None
                more = self._arrived()
                if not more:
                    self._closed()
                    return None
            piece = self.frame(more)
            if piece:
                return piece
            need_more = True
        return None

    @property
    def done(self) -> bool:
        """Whether the body has ended (by its framing, or by the server closing)."""
        return self._done

    def frame(self, data: bytes) -> bytes:
        """The body's bytes in ``data``, which arrived after what was framed before (with
        any bytes held back: an unfinished chunk line). What arrives past the body's end is
        held, so the connection is not taken for clean."""
        if self._buffer:
            data, self._buffer = self._buffer + data, b""
        if self._done:
            self._buffer = data
            return b""
        if self._chunked:
            if self._state == _SIZE:
                whole = _one_whole_chunk(data)
                if whole is not None:
                    return whole
            return self._unchunk(data)
        left = self._left
        if left < 0:  # until the server closes
            return data
        if len(data) < left:
            self._left = left - len(data)
            return data
        self._left, self._done, self._buffer = 0, True, data[left:]
        return data[:left]

    def end_of_stream(self) -> None:
        """The server closed the connection (or it failed): the body's end, unless its
        framing says it is not over (``RemoteProtocolError``) or the connection failed
        (``ReadError``)."""
        self._stop_timer()
        if self._done:
            return
        error = self._protocol.error
        if error is not None:
            raise httpx.ReadError(str(error) or type(error).__name__)
        self._closed()

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
        if self._done and at < size:
            self._buffer = data[at:]  # past the body: kept to tell the connection is not clean
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
