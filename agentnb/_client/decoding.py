"""A response body, decompressed a bounded piece at a time.

httpx inflates each piece it reads from the socket in one call: 64 KB of gzip holding blank
lines becomes 64 MB in a single blocking step of the event loop that every run and the
notebook share. :func:`body_pieces` inflates gzip and deflate itself, at most
:data:`PIECE_SIZE` bytes a step, and refuses a body that expands past
:data:`MAX_DECODE_RATIO` times its size on the wire (once it passed
:data:`DECODE_RATIO_FLOOR`). Other encodings, which httpx only knows with optional packages,
go through httpx's own decoding and the same ratio check.

:class:`BodyFrames` is the body's way from bytes to frames for
:class:`~agentnb._client.frame_reader.FrameReader`: inflated a bounded piece a step, fed to
the SSE decoder :data:`FEED_SLICE` bytes at a time, each frame handed on, stopping when a
step's work is done or the loop's turn is over.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator

import httpx

from .._core.exceptions import ProtocolError
from ..sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

__all__ = [
    "DECODE_RATIO_FLOOR",
    "FEED_SLICE",
    "MAX_DECODE_RATIO",
    "PIECE_SIZE",
    "BodyFrames",
    "Inflater",
    "WholeBody",
    "body_pieces",
    "check_ratio",
    "close_quietly",
    "encodings",
]

PIECE_SIZE = 64 * 1024
"""At most this many decoded bytes come out of one inflate step."""
MAX_DECODE_RATIO = 100
"""Decoded bytes per byte received past which a compressed body is refused. A stream flushes
its events one by one, which keeps a real one far below this."""
DECODE_RATIO_FLOOR = 8 * 1024 * 1024
"""A body that decoded to less than this is never refused for its ratio."""
FEED_SLICE = PIECE_SIZE
"""Bytes handed to the SSE decoder between two turns of the event loop."""


class Inflater:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), in bounded steps."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._z.decompress(data, PIECE_SIZE)
            except zlib.error as exc:
                if self._first and self._encoding == "deflate":
                    self._first = False
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(f"invalid {self._encoding} body: {exc}") from None
            self._first = False
            data = self._z.unconsumed_tail
            if out:
                yield out


def encodings(headers: httpx.Headers) -> list[str]:
    values = (v.strip().lower() for v in headers.get_list("content-encoding", split_commas=True))
    return [value for value in values if value not in ("", "identity")]


async def body_pieces(response: httpx.Response, *, where: str) -> AsyncGenerator[bytes, None]:
    """The decoded body, at most :data:`PIECE_SIZE` bytes a piece where the encoding is gzip
    or deflate. Raises :class:`ProtocolError` for a decompression bomb; httpx's errors
    (a cut, an invalid body as ``httpx.DecodingError``) pass through."""
    codings = encodings(response.headers)
    pieces: AsyncIterator[bytes]
    if not codings:
        pieces = response.aiter_raw()
    elif len(codings) == 1 and codings[0] in ("gzip", "deflate"):
        pieces = _inflated(response, Inflater(codings[0]))
    else:
        pieces = response.aiter_bytes()  # an encoding only httpx knows (with its extras)
    decoded = 0
    try:
        async for piece in pieces:
            decoded += len(piece)
            check_ratio(decoded, response.num_bytes_downloaded, where)
            yield piece
    finally:
        await close_quietly(pieces)


async def close_quietly(iterator: AsyncIterator[bytes]) -> None:
    """Close an async generator of body pieces; one over a broken body may fail again."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


async def _inflated(response: httpx.Response, inflater: Inflater) -> AsyncGenerator[bytes, None]:
    raw = response.aiter_raw()
    try:
        async for chunk in raw:
            for piece in inflater.feed(chunk):
                yield piece
    finally:
        await close_quietly(raw)


def check_ratio(decoded: int, received: int, where: str) -> None:
    if decoded > DECODE_RATIO_FLOOR and decoded > MAX_DECODE_RATIO * max(received, 1):
        raise ProtocolError(
            f"{where}: the body decompresses to more than {MAX_DECODE_RATIO} times its size "
            f"on the wire ({decoded:,} bytes from {received:,}); refusing it as a "
            f"decompression bomb"
        )


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


IDLE, NEEDED, OVER_BUDGET, SLICE_FED = range(4)
"""What :meth:`BodyFrames.work` stopped at: nothing left to do; ``on_frame`` asked for the
reader's task; the loop's turn used its budget; a :data:`FEED_SLICE` went to the decoder."""


class BodyFrames:
    """A body's bytes in, its frames out to ``on_frame`` (which returns False when the
    reader's task has something to do), a bounded piece of work at a time: the body is
    inflated at most :data:`PIECE_SIZE` bytes a step (a bomb refused), fed to the decoder
    :data:`FEED_SLICE` bytes at a time, and between two frames ``over()`` may end the turn."""

    def __init__(
        self,
        decoder: SSEDecoder | WholeBody,
        inflater: Inflater | None,
        on_frame: Callable[[ServerSentEvent], bool],
        over: Callable[[], bool],
        where: Callable[[], str],
    ) -> None:
        self._decoder = decoder
        self._inflater = inflater
        self._on_frame = on_frame
        self._over = over
        self._where = where
        # lists, not deques: they hold a piece or two, and an idle stream keeps them
        self._pieces: list[bytes] = []  # decoded, not fed yet
        self._inflating: list[Iterator[bytes]] = []
        self._frames: list[ServerSentEvent] = []  # decoded, not handed on yet
        self._next_frame = 0
        self._fed = 0
        self._received = self._decoded = 0  # a compressed body's sizes, for the ratio check
        self._ended = False

    @property
    def waiting(self) -> int:
        """Pieces received and not decoded yet."""
        return len(self._pieces) + len(self._inflating)

    @property
    def retry(self) -> int | None:
        """The reconnection time the stream asked for (ms), or None."""
        return self._decoder.retry

    def add(self, piece: bytes) -> None:
        """The body's next bytes as they came (compressed when the body is)."""
        if self._inflater is None:
            self._pieces.append(piece)
            return
        self._received += len(piece)
        self._inflating.append(self._inflater.feed(piece))

    def add_decoded(self, piece: bytes) -> None:
        """The body's next bytes, already decoded (by httpx)."""
        self._pieces.append(piece)

    def work(self) -> int:
        """Hand on the frames decoded, then decode more, until one of the states above."""
        over, on_frame = self._over, self._on_frame
        while True:
            frames = self._frames
            while self._next_frame < len(frames):
                sse = frames[self._next_frame]
                self._next_frame += 1
                if not on_frame(sse):
                    return NEEDED
                if over():
                    return OVER_BUDGET
            piece = self._next_piece()
            if piece is None:
                return IDLE
            self._frames = self._decoder.feed(piece)
            self._next_frame = 0
            self._fed += len(piece)
            if self._fed >= FEED_SLICE:
                self._fed = 0
                return SLICE_FED

    def end(self) -> bool:
        """The body is over: False once every frame was handed on, else True (the decoder
        held more: hand it on with :meth:`work` first)."""
        if self._ended:
            return False
        self._ended = True
        self._frames = self._decoder.end()
        self._next_frame = 0
        return bool(self._frames)

    def _next_piece(self) -> bytes | None:
        """At most :data:`FEED_SLICE` bytes of the body, decoded."""
        pieces = self._pieces
        if pieces:
            piece = pieces[0]
            if len(piece) > FEED_SLICE:
                pieces[0] = piece[FEED_SLICE:]
                return piece[:FEED_SLICE]
            del pieces[0]
            return piece
        inflating = self._inflating
        while inflating:
            inflated = next(inflating[0], None)
            if inflated is not None:
                self._decoded += len(inflated)
                if self._decoded > DECODE_RATIO_FLOOR:  # the request named only if refused
                    check_ratio(self._decoded, self._received, self._where())
                return inflated
            del inflating[0]
        return None
