"""A response body's ``Content-Encoding`` undone a bounded piece at a time, whatever the coding
and however many are stacked.

A library inflating each piece in one call turns 1 KB of ``gzip, gzip`` into gigabytes in a
single step of the loop every run and the notebook share; here a step yields at most
:data:`PIECE_SIZE` bytes, a bomb is refused, and a coding agentnb cannot undo is refused by
name, never read as plain text (docs/http.md lists the codings).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, Protocol

import httpx

from .._core.exceptions import ProtocolError
from .wire_body import BODY

__all__ = [
    "DECODE_RATIO_FLOOR",
    "MAX_DECODE_RATIO",
    "PIECE_SIZE",
    "Decoder",
    "accept_encoding",
    "check_ratio",
    "codings",
    "decoded_body",
    "decoder_for",
]

PIECE_SIZE = 64 * 1024
"""At most this many decoded bytes come out of one step of a coding."""
MAX_DECODE_RATIO = 100
"""Decoded bytes per byte received past which a compressed body is refused. A stream flushes
its events one by one, which keeps a real one far below this."""
DECODE_RATIO_FLOOR = 8 * 1024 * 1024
"""A body that decoded to less than this is never refused for its ratio."""


class Step(Protocol):
    """One coding undone: ``feed`` yields the decoded bytes, at most :data:`PIECE_SIZE` a
    piece, raising ``httpx.DecodingError`` for bytes that are not in the coding."""

    def feed(self, data: bytes) -> Iterator[bytes]: ...


class Zlib:
    """gzip or deflate (zlib-wrapped, or raw)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._z.decompress(data, PIECE_SIZE)
            except zlib.error as exc:
                if self._first and self._coding == "deflate":
                    self._first = False
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(f"invalid {self._coding} body: {exc}") from None
            self._first = False
            data = self._z.unconsumed_tail
            if out:
                yield out


class Brotli:
    def __init__(self, brotli: ModuleType) -> None:
        self._error: type[Exception] = brotli.error
        self._d: Any = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        try:
            out = d.process(data, output_buffer_limit=PIECE_SIZE)
            while True:
                if out:
                    yield out
                if d.can_accept_more_data() or d.is_finished():
                    return
                out = d.process(b"", output_buffer_limit=PIECE_SIZE)
        except self._error as exc:
            raise httpx.DecodingError(f"invalid br body: {exc}") from None


class Zstd:
    def __init__(self, zstd: ModuleType) -> None:
        self._module = zstd
        self._d: Any = zstd.ZstdDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while True:
                d = self._d
                if d.eof:  # a frame ended: what follows is the next frame
                    data = d.unused_data + data
                    if not data:
                        return
                    self._d = d = self._module.ZstdDecompressor()
                out = d.decompress(data, PIECE_SIZE)
                data = b""
                if out:
                    yield out
                if d.needs_input and not d.eof:
                    return
        except self._module.ZstdError as exc:
            raise httpx.DecodingError(f"invalid zstd body: {exc}") from None


def _module(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@functools.cache
def _steps() -> dict[str, Callable[[], Step]]:
    """The codings this process can undo a bounded piece at a time, in preference order."""
    steps: dict[str, Callable[[], Step]] = {
        "gzip": functools.partial(Zlib, "gzip"),
        "deflate": functools.partial(Zlib, "deflate"),
    }
    brotli = _module("brotli")
    if brotli is not None and hasattr(brotli.Decompressor(), "can_accept_more_data"):
        steps["br"] = functools.partial(Brotli, brotli)
    zstd = _module("compression.zstd", "backports.zstd")
    if zstd is not None:
        steps["zstd"] = functools.partial(Zstd, zstd)
    return steps


def accept_encoding() -> str:
    """What a request's ``Accept-Encoding`` offers: the codings :class:`Decoder` undoes."""
    return ", ".join(_steps())


class Decoder:
    """A body's codings undone, the last one listed first; each piece :meth:`feed` yields is
    at most :data:`PIECE_SIZE` bytes, and a stacked coding's pieces go on one at a time."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self._steps = steps
        self.feed: Callable[[bytes], Iterator[bytes]] = (
            steps[0].feed if len(steps) == 1 else functools.partial(self._through, 0)
        )

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._steps):
            yield data
            return
        for piece in self._steps[index].feed(data):
            yield from self._through(index + 1, piece)


def codings(headers: httpx.Headers) -> list[str]:
    """The body's codings in the order they were applied (identity left out)."""
    values = (v.strip().lower() for v in headers.get_list("content-encoding", split_commas=True))
    return [value for value in values if value not in ("", "identity")]


def decoder_for(headers: httpx.Headers, where: str | Callable[[], str]) -> Decoder | None:
    """The decoder of a body with these headers (None: not encoded); a
    :class:`ProtocolError` naming a coding agentnb cannot undo (``where``: the request, or
    what names it, called only then)."""
    applied = codings(headers)
    if not applied:
        return None
    known = _steps()
    for coding in applied:
        if coding not in known:
            hint = {
                "br": " (install the brotli package)",
                "zstd": " (install backports.zstd)",
            }.get(coding, "")
            named = where() if callable(where) else where
            raise ProtocolError(
                f"{named}: the body's Content-Encoding {coding!r} is not one agentnb can "
                f"decode{hint}; it decodes {accept_encoding()}"
            )
    return Decoder([known[coding]() for coding in reversed(applied)])


def check_ratio(decoded: int, received: int, where: str | Callable[[], str]) -> None:
    if decoded > DECODE_RATIO_FLOOR and decoded > MAX_DECODE_RATIO * max(received, 1):
        named = where() if callable(where) else where
        raise ProtocolError(
            f"{named}: the body decompresses to more than {MAX_DECODE_RATIO} times its size "
            f"on the wire ({decoded:,} bytes from {received:,}); refusing it as a "
            f"decompression bomb"
        )


async def decoded_body(
    response: httpx.Response, where: str | Callable[[], str]
) -> AsyncGenerator[bytes, None]:
    """``response``'s body as it arrives, its codings undone at most :data:`PIECE_SIZE` bytes
    a piece (the loop gets a turn between two pieces of one read); a :class:`ProtocolError`
    for a coding agentnb cannot undo or a decompression bomb."""
    decoder = decoder_for(response.headers, where)
    raw: AsyncIterator[bytes] = response.extensions.get(BODY) or response.aiter_raw()
    if decoder is None:
        async for chunk in raw:
            yield chunk
        return
    received = decoded = 0
    async for chunk in raw:
        received += len(chunk)
        for index, piece in enumerate(decoder.feed(chunk)):
            if index:
                await asyncio.sleep(0)
            decoded += len(piece)
            check_ratio(decoded, received, where)
            yield piece
