"""A response body read whole (a JSON answer, an error's message): its raw bytes decoded a
bounded piece at a time (:mod:`agentnb._http.content_coding`), a bomb refused."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import NamedTuple

import httpx

from .aiohttp_transport import aiohttp_body
from .content_coding import check_ratio, decoder_for

__all__ = ["RawReads", "body_pieces", "close_quietly", "raw_reads"]


class RawReads(NamedTuple):
    """A body's raw bytes: ``read()`` returns what arrived next (None at its end);
    ``close()`` lets the iteration go."""

    read: Callable[[], Awaitable[bytes | None]]
    close: Callable[[], Awaitable[None]]


def raw_reads(response: httpx.Response) -> RawReads:
    """``response``'s raw body, read straight from aiohttp where it is on agentnb's wire,
    else through httpx (a user's own client: HTTP/2, a proxy...)."""
    body = aiohttp_body(response)
    if body is not None:
        return RawReads(body.read, _nothing)
    pieces = response.aiter_raw()

    async def read() -> bytes | None:
        try:
            return await pieces.__anext__()
        except StopAsyncIteration:
            return None

    return RawReads(read, lambda: close_quietly(pieces))


async def _nothing() -> None:
    return None


async def body_pieces(response: httpx.Response, *, where: str) -> AsyncGenerator[bytes, None]:
    """The decoded body, at most :data:`~agentnb._http.content_coding.PIECE_SIZE` bytes a
    piece when it is encoded. Raises :class:`ProtocolError` for a coding agentnb cannot
    decode and for a decompression bomb; httpx's errors (a cut, an invalid body as
    ``httpx.DecodingError``) pass through."""
    decoder = decoder_for(response.headers, where)
    raw = raw_reads(response)
    received = decoded = 0
    try:
        while (chunk := await raw.read()) is not None:
            if decoder is None:
                yield chunk
                continue
            received += len(chunk)
            for piece in decoder.feed(chunk):
                decoded += len(piece)
                check_ratio(decoded, received, where)
                yield piece
    finally:
        await raw.close()


async def close_quietly(iterator: AsyncIterator[bytes]) -> None:
    """Close an async generator of body pieces; one over a broken body may fail again."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
