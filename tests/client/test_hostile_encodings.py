"""A body's ``Content-Encoding`` cannot take the client's memory: every coding agentnb decodes
(gzip, deflate, br with the ``brotli`` module, zstd with ``compression.zstd`` /
``backports.zstd``), alone or stacked (``gzip, gzip``: 2 KB on the wire), is decoded a bounded
piece at a time and a bomb refused; a coding it cannot decode is refused naming it, never read
as if it were plain text. Raw-socket servers on 127.0.0.1 send the bytes."""

from __future__ import annotations

import functools
import gzip
import importlib
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import ProtocolError
from agentnb._client.async_client import AsyncAgentClient
from agentnb.providers import HttpRequest

FRAMES = (
    b'data: {"choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)
BOMB_SIZE = 256 * 1024 * 1024
"""What a bomb expands to: far past the decoder's ratio floor, and past the memory bound."""
MEMORY_BOUND = 64 * 1024 * 1024
"""Peak Python memory a refused bomb may cost the client (the bombs hold 256 MiB)."""


def optional(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


brotli = optional("brotli")
zstd = optional("compression.zstd", "backports.zstd")


def compressor(coding: str) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
    """(compress a piece, finish) for one coding."""
    if coding in ("gzip", "deflate"):
        z = zlib.compressobj(6, zlib.DEFLATED, 31 if coding == "gzip" else 15)
        return z.compress, z.flush
    if coding == "br":
        assert brotli is not None
        b = brotli.Compressor(quality=5)
        return b.process, b.finish
    assert coding == "zstd" and zstd is not None
    c = zstd.ZstdCompressor()
    return c.compress, c.flush


def encoded(pieces: Iterator[bytes], codings: list[str]) -> bytes:
    """``pieces`` encoded with ``codings`` in the order a ``Content-Encoding`` header lists
    them (the first applied first)."""
    compress, finish = compressor(codings[0])
    data = b"".join(compress(piece) for piece in pieces) + finish()
    for coding in codings[1:]:
        compress, finish = compressor(coding)
        data = compress(data) + finish()
    return data


@functools.cache
def bomb(header: str) -> bytes:
    codings = [c.strip() for c in header.split(",")]
    line = b":" + b"x" * (64 * 1024 - 2) + b"\n"  # a comment line: little work to skip
    mib = line * 16
    return encoded((mib for _ in range(BOMB_SIZE // len(mib))), codings)


def needs(header: str) -> Any:
    missing = [
        coding
        for coding, module in (("br", brotli), ("zstd", zstd))
        if coding in header and module is None
    ]
    return pytest.mark.skipif(bool(missing), reason=f"no module for {missing}")


CODINGS = ["gzip", "deflate", "gzip, gzip", "deflate, gzip", "br", "zstd", "gzip, br", "zstd, gzip"]


def serving(head: bytes, body: bytes) -> HostileServer:
    async def send(conn: Conn, request: Request) -> None:
        await conn.send(head + body)

    return HostileServer(send)


def client(url: str, **options: Any) -> AsyncAgentClient:
    return AsyncAgentClient("openai", base_url=url, record=False, backoff=0.0, **options)


async def peak_memory_of(work: Callable[[], Any]) -> tuple[BaseException | None, int]:
    """The error ``work()`` raised (None: none), and the peak Python memory it took."""
    tracemalloc.start()
    error: BaseException | None = None
    try:
        await work()
    except Exception as exc:
        error = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("header", [pytest.param(h, marks=needs(h)) for h in CODINGS])
async def test_a_stream_bomb_in_any_coding_is_refused_within_a_memory_bound(header: str) -> None:
    body = bomb(header)
    with serving(sse_head({"Content-Encoding": header}), body) as srv:
        async with client(srv.url) as c:
            error, peak = await peak_memory_of(lambda: c.run("m", "hi"))
    assert isinstance(error, ProtocolError), error
    assert "decompresses to more than" in str(error)
    assert peak < MEMORY_BOUND, f"{header}: {len(body):,} bytes took {peak:,} bytes of memory"


@pytest.mark.parametrize("header", [pytest.param(h, marks=needs(h)) for h in CODINGS])
async def test_a_json_answer_bomb_in_any_coding_is_refused_within_a_memory_bound(
    header: str,
) -> None:
    head = http_head("200 OK", {"Content-Type": "application/json", "Content-Encoding": header})
    with serving(head, bomb(header)) as srv:
        async with client(srv.url) as c:
            error, peak = await peak_memory_of(lambda: c.send_json(HttpRequest("GET", "/x")))
    assert isinstance(error, ProtocolError), error
    assert peak < MEMORY_BOUND, f"{header}: took {peak:,} bytes of memory"


@pytest.mark.parametrize("header", [pytest.param(h, marks=needs(h)) for h in CODINGS])
async def test_a_stream_in_any_coding_reads_as_sent(header: str) -> None:
    codings = [c.strip() for c in header.split(",")]
    body = encoded(iter([FRAMES]), codings)
    with serving(sse_head({"Content-Encoding": header}), body) as srv:
        async with client(srv.url) as c:
            run = await c.run("m", "hi")
    assert (run.status, run.text) == ("completed", "hello")


@pytest.mark.parametrize("header", ["x-squash", "gzip, x-squash", "compress"])
async def test_a_coding_it_cannot_decode_is_refused_naming_it(header: str) -> None:
    """Read as plain text, a body in an unknown coding would be garbage (or, worse, read):
    refused, naming the coding."""
    body = gzip.compress(FRAMES) if header.startswith("gzip") else FRAMES
    with serving(sse_head({"Content-Encoding": header}), body) as srv:
        async with client(srv.url) as c:
            with pytest.raises(ProtocolError) as caught:
                await c.run("m", "hi")
    unknown = header.rpartition(", ")[2]
    assert f"Content-Encoding {unknown!r}" in str(caught.value)


def test_a_request_asks_only_for_codings_it_can_decode() -> None:
    c = client("http://127.0.0.1:9")
    request = c.transport.build(HttpRequest("POST", "/x"), accept="text/event-stream")
    offered = {v.strip() for v in request.headers["accept-encoding"].split(",")}
    assert offered <= {"gzip", "deflate", "br", "zstd"}
    assert ("br" in offered) == (brotli is not None)
    assert ("zstd" in offered) == (zstd is not None)
