"""A response body read whole (a JSON answer, an error's message): its raw bytes decoded a
bounded piece at a time (:mod:`agentnb._http.content_coding`), a bomb refused."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import httpx

from .content_coding import check_ratio, decoder_for

__all__ = ["body_pieces", "close_quietly"]


async def body_pieces(response: httpx.Response, *, where: str) -> AsyncGenerator[bytes, None]:
    """The decoded body, at most :data:`~agentnb._http.content_coding.PIECE_SIZE` bytes a
    piece when it is encoded. Raises :class:`ProtocolError` for a coding agentnb cannot
    decode and for a decompression bomb; httpx's errors (a cut, an invalid body as
    ``httpx.DecodingError``) pass through."""
    decoder = decoder_for(response.headers, where)
    raw = response.aiter_raw()
    received = decoded = 0
    try:
        async for chunk in raw:
            if decoder is None:
                yield chunk
                continue
            received += len(chunk)
            for piece in decoder.feed(chunk):
                decoded += len(piece)
                check_ratio(decoded, received, where)
                yield piece
    finally:
        await close_quietly(raw)


async def close_quietly(iterator: AsyncIterator[bytes]) -> None:
    """Close an async generator of body pieces; one over a broken body may fail again."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
