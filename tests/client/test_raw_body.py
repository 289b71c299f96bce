"""The body read past httpx (agentnb._http.pushed_body) against raw-socket servers: every way
a server frames and splits a body ends the same as through httpx (the path it falls back to),
and the responses it cannot take go through httpx."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request

from agentnb._client import reading, transport
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import AgentNBError

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


def server_sending(head_bytes: bytes, body: bytes, step: int) -> HostileServer:
    """A server writing the head, then the body ``step`` bytes a write, then closing."""

    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(head_bytes)
        for start in range(0, len(body), step):
            await conn.send(body[start : start + step])
            await asyncio.sleep(0)

    return HostileServer(handler)


async def outcome(server: HostileServer, *, raw: bool) -> tuple[Any, ...]:
    """How a run against ``server`` ends, sent and read past httpx or through it; and the
    paths taken."""
    saved, reading.reads_raw = reading.reads_raw, raw
    saved_own, transport.sends_own = transport.sends_own, raw
    before = dict(reading.paths_taken)
    client = AsyncAgentClient("openai", base_url=server.url, record=False, idle_timeout=5)
    try:
        run = await client.run("m", "hi")
        ended: tuple[Any, ...] = (run.status, run.text, None)
    except AgentNBError as exc:
        ended = (exc.run.status if exc.run else None, exc.run.text if exc.run else "", type(exc))
    finally:
        await client.aclose()
        reading.reads_raw = saved
        transport.sends_own = saved_own
    paths = {k for k, v in reading.paths_taken.items() if v > before.get(k, 0)}
    return (*ended, paths)


@pytest.mark.parametrize("step", [1, 7, 10_000])
@pytest.mark.parametrize(("name", "head_bytes", "body"), list(bodies()))
async def test_a_well_framed_body_reads_past_httpx_whatever_the_split(
    name: str, head_bytes: bytes, body: bytes, step: int
) -> None:
    with server_sending(head_bytes, body, step) as server:
        status, text, error, paths = await outcome(server, raw=True)
    assert (status, text, error) == ("completed", "".join(WORDS), None), name
    assert paths == {"fast", "raw"}


@pytest.mark.parametrize(("name", "head_bytes", "body"), list(broken_bodies()))
async def test_a_broken_body_ends_the_run_as_it_does_through_httpx(
    name: str, head_bytes: bytes, body: bytes
) -> None:
    with server_sending(head_bytes, body, 11) as server:
        *raw_end, raw_paths = await outcome(server, raw=True)
        *httpx_end, httpx_paths = await outcome(server, raw=False)
    assert raw_end == httpx_end, name
    assert raw_end[0] != "completed"
    assert (raw_paths, httpx_paths) == ({"fast", "raw"}, {"httpx"})


async def test_a_stacked_encoding_is_decoded_past_httpx_too() -> None:
    twice = gzip.compress(gzip.compress(FRAMES))
    answer = head("Content-Encoding: gzip, gzip", "Connection: close")
    with server_sending(answer, twice, 50) as server:
        status, text, error, paths = await outcome(server, raw=True)
    assert (status, text, error, paths) == ("completed", "".join(WORDS), None, {"fast", "raw"})
