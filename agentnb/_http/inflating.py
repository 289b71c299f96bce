"""A response body, decompressed a bounded piece at a time.

httpx inflates each piece it reads from the socket in one call: 64 KB of gzip holding blank
lines becomes 64 MB in a single blocking step of the event loop that every run and the
notebook share. :func:`body_pieces` inflates gzip and deflate itself (:class:`Inflater`), at
most :data:`PIECE_SIZE` bytes a step, and refuses a body that expands past
:data:`MAX_DECODE_RATIO` times its size on the wire (once it passed
:data:`DECODE_RATIO_FLOOR`). Other encodings, which httpx only knows with optional packages,
go through httpx's own decoding and the same ratio check.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator

import httpx

from .._core.exceptions import ProtocolError

__all__ = [
    "DECODE_RATIO_FLOOR",
    "MAX_DECODE_RATIO",
    "PIECE_SIZE",
    "Inflater",
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
