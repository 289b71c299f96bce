"""A body on aiohttp's wire against raw-socket servers: every way a server frames and splits a
body reads whole, and every way it breaks one ends the run as it does through a user's own
httpx client."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S
from hostile_server import Conn, HostileServer, Request

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import AgentNBError, TransportError

WORDS = ["alpha ", "beta ", "gamma ", "delta"]
FRAMES = (
    b"".join(
        b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % word.encode()
        for word in WORDS
    )
    + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)


def head(*headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 37, extension: bytes = b"", trailer: bytes = b"") -> bytes:
    """``body`` in chunks of ``size`` bytes, with a chunk extension and trailer lines."""
    out = b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += b"%x%s\r\n%s\r\n" % (len(piece), extension, piece)
    return out + b"0\r\n" + trailer + b"\r\n"


def bodies() -> Iterator[tuple[str, bytes, bytes]]:
    """(name, head, body) of well-framed answers."""
    yield "chunked", head("Transfer-Encoding: chunked"), chunked(FRAMES)
    yield "one chunk", head("Transfer-Encoding: chunked"), chunked(FRAMES, size=len(FRAMES))
    yield (
        "chunk extensions and trailers",
        head("Transfer-Encoding: chunked"),
        chunked(FRAMES, extension=b";name=value", trailer=b"X-Checksum: 1\r\n"),
    )
    yield "upper-case hex", head("Transfer-Encoding: chunked"), chunked(FRAMES, size=200)
    yield "content-length", head(f"Content-Length: {len(FRAMES)}"), FRAMES
    yield "until close", head("Connection: close"), FRAMES
    zipped = gzip.compress(FRAMES)
    yield (
        "gzip, chunked",
        head("Content-Encoding: gzip", "Transfer-Encoding: chunked"),
        chunked(zipped),
    )


def broken_bodies() -> Iterator[tuple[str, bytes, bytes]]:
    """(name, head, body) of answers cut or malformed after the head."""
    whole = chunked(FRAMES)
    yield "cut inside a chunk", head("Transfer-Encoding: chunked"), whole[:100]
    one_chunk = len(b"25\r\n") + 37 + len(b"\r\n")
    yield "cut between chunks", head("Transfer-Encoding: chunked"), whole[: 3 * one_chunk]
    yield "bad chunk size", head("Transfer-Encoding: chunked"), b"zz\r\n" + FRAMES
    yield "chunk data too long", head("Transfer-Encoding: chunked"), b"4\r\nabcdefgh\r\n"
    yield "short content-length", head(f"Content-Length: {len(FRAMES)}"), FRAMES[:150]
    yield "bad gzip", head("Content-Encoding: gzip", "Connection: close"), b"not gzip at all"


MALFORMED_WITH_THE_HEAD = ("bad chunk size", "chunk data too long")
"""Framing errors aiohttp finds while it reads the head (the server writes the body's first
bytes with the head, so they come in the same read; written later, aiohttp finds them in the
body as httpx does, and the run ends interrupted): the run fails typed where httpx, which
reads the body later, ends it interrupted."""


def server_sending(head_bytes: bytes, body: bytes, step: int) -> HostileServer:
    """A server writing the head, then the body ``step`` bytes a write, then closing."""

    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(head_bytes)
        for start in range(0, len(body), step):
            await conn.send(body[start : start + step])
            await asyncio.sleep(0)

    return HostileServer(handler)


async def outcome(server: HostileServer, *, given: bool) -> tuple[Any, ...]:
    """How a run against ``server`` ends, on agentnb's own client or a ``given`` httpx one."""
    async with contextlib.AsyncExitStack() as stack:
        http_client = await stack.enter_async_context(httpx.AsyncClient()) if given else None
        client = AsyncAgentClient(
            "openai",
            base_url=server.url,
            record=False,
            idle_timeout=PATIENCE_S,
            http_client=http_client,
        )
        stack.push_async_callback(client.aclose)
        try:
            run = await client.run("m", "hi")
            return (run.status, run.text, None)
        except AgentNBError as exc:
            return (exc.run.status if exc.run else None, exc.run.text if exc.run else "", type(exc))


@pytest.mark.parametrize("step", [1, 7, 10_000])
@pytest.mark.parametrize(("name", "head_bytes", "body"), list(bodies()))
async def test_a_well_framed_body_reads_whole_whatever_the_split(
    name: str, head_bytes: bytes, body: bytes, step: int
) -> None:
    with server_sending(head_bytes, body, step) as server:
        ended = await outcome(server, given=False)
    assert ended == ("completed", "".join(WORDS), None), name


@pytest.mark.parametrize(("name", "head_bytes", "body"), list(broken_bodies()))
async def test_a_broken_body_ends_the_run_as_it_does_through_httpx(
    name: str, head_bytes: bytes, body: bytes
) -> None:
    if name in MALFORMED_WITH_THE_HEAD:  # in one write, so they come in the head's read
        head_bytes, body = head_bytes + body, b""
    with server_sending(head_bytes, body, 11) as server:
        ours = await outcome(server, given=False)
        theirs = await outcome(server, given=True)
    assert ours[0] != "completed" and ours[2] is not None, name
    if name in MALFORMED_WITH_THE_HEAD:  # llhttp parsed it in the head's read: never re-sent
        assert ours[:2] == ("failed", "") and ours[2] is TransportError
    else:
        assert ours == theirs, name
