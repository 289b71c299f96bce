"""A body on agentnb's own connection is pushed: its bytes are decoded and handed on in the
connection's callback as each socket read brings them, and the run's task is woken only when
it has work (the run's end, a pause, the turn's budget, the body's end or failure). Against
raw-socket servers: a stream of many small writes is not read once per write, bytes pushed
keep the read timeout from firing while silence still ends the stream, an error of the
consumer's callback fails the run as it would from a read, a stream cut while pushed is
still a cut, and the kept-alive connection carries the next run."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hostile_server import Conn, HostileServer, Request, sse_head

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import AgentNBError, StreamStallError
from agentnb._http.aiohttp_transport import AiohttpBody
from agentnb.events import Event, TextDelta

WRITES = 40


def chunk(content: str) -> bytes:
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


END = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


def trickling(writes: int, pause: float, *, head: bytes | None = None) -> HostileServer:
    """A server writing ``writes`` frames ``pause`` seconds apart, then the end."""

    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() if head is None else head)
        for n in range(writes):
            await conn.send(chunk(f"w{n} "))
            await asyncio.sleep(pause)
        await conn.send(END)

    return HostileServer(handler)


def expected_text(writes: int) -> str:
    return "".join(f"w{n} " for n in range(writes))


async def test_a_stream_of_many_writes_is_not_read_once_per_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each write reaches the client in a socket read of its own; the run's task reads the
    body only where a push cannot say what happened (here: its end)."""
    reads = 0
    read = AiohttpBody.read

    async def counted(body: AiohttpBody) -> bytes | None:
        nonlocal reads
        reads += 1
        return await read(body)

    monkeypatch.setattr(AiohttpBody, "read", counted)
    with trickling(WRITES, 0.01) as server:
        async with AsyncAgentClient("openai", base_url=server.url, record=False) as client:
            run = await client.run("m", "hi")
    assert run.status == "completed" and run.text == expected_text(WRITES)
    assert reads <= 3, f"the body was read {reads} times for {WRITES} writes"


async def test_bytes_pushed_keep_the_read_timeout_from_firing() -> None:
    """Writes 0.1 s apart for 1.2 s against a read timeout of 0.5 s: never silent that long."""
    with trickling(12, 0.1) as server:
        async with AsyncAgentClient(
            "openai", base_url=server.url, record=False, timeout=0.5
        ) as client:
            run = await client.run("m", "hi")
    assert run.status == "completed" and run.text == expected_text(12)


async def test_silence_while_pushed_still_ends_the_stream_at_the_read_timeout() -> None:
    async def falls_silent(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + chunk("partial "))
        await asyncio.sleep(30)

    with HostileServer(falls_silent) as server:
        async with AsyncAgentClient(
            "openai", base_url=server.url, record=False, timeout=0.3
        ) as client:
            with pytest.raises(StreamStallError, match="read timeout") as caught:
                await client.run("m", "hi")
    assert caught.value.partial_text == "partial "


async def test_an_error_of_the_consumers_callback_fails_the_run_as_from_a_read() -> None:
    class Refused(Exception):
        pass

    def on_event(event: Event) -> None:
        if isinstance(event, TextDelta) and event.delta == "w3 ":
            raise Refused("the consumer refused this event")

    with trickling(10, 0.01) as server:
        async with AsyncAgentClient("openai", base_url=server.url, record=False) as client:
            stream = client.stream("m", "hi")
            with pytest.raises(Refused):
                await stream.consume(on_event)
    assert stream.run.status == "failed" and stream.run.text == "w0 w1 w2 w3 "


async def test_a_stream_cut_while_pushed_is_a_cut() -> None:
    async def cuts(conn: Conn, request: Request) -> None:
        frame = chunk("partial ")
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        await conn.send(head + b"Transfer-Encoding: chunked\r\n\r\n")
        await conn.send(b"%x\r\n%s\r\n" % (len(frame), frame))
        await asyncio.sleep(0.05)
        conn.writer.transport.abort()  # inside the chunked body

    with HostileServer(cuts) as server:
        async with AsyncAgentClient("openai", base_url=server.url, record=False) as client:
            with pytest.raises(AgentNBError, match="cut") as caught:
                await client.run("m", "hi")
    assert caught.value.run is not None and caught.value.run.text == "partial "


async def test_the_kept_alive_connection_carries_the_next_run_after_a_pushed_body() -> None:
    connections = 0
    body = b"".join(chunk(f"w{n} ") for n in range(5)) + END
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n"

    async def handler(conn: Conn, request: Request | None) -> None:
        nonlocal connections
        connections += 1
        while request is not None:
            await conn.send(head % len(body))
            for start in range(0, len(body), 50):  # many reads: pushed, not read
                await conn.send(body[start : start + 50])
                await asyncio.sleep(0.005)
            request = await conn.read_request()

    with HostileServer(handler) as server:
        async with AsyncAgentClient("openai", base_url=server.url, record=False) as client:
            texts = [(await client.run("m", f"hi {n}")).text for n in range(3)]
    assert texts == [expected_text(5)] * 3
    assert connections == 1


async def test_a_users_own_httpx_client_reads_as_before() -> None:
    with trickling(10, 0.01) as server:
        async with httpx.AsyncClient() as http:
            options: dict[str, Any] = {"record": False, "http_client": http}
            async with AsyncAgentClient("openai", base_url=server.url, **options) as client:
                run = await client.run("m", "hi")
    assert run.status == "completed" and run.text == expected_text(10)
