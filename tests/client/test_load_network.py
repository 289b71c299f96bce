"""The HTTP layer under load: aiohttp under httpx's interface, one pool for streams and side
requests, one watchdog per response. Facts, not timings (speed is measured by
``benchmarks/bench_load.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, growing_limits
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import StreamStallError
from agentnb._core.loop import get_loop, run_sync
from agentnb._http import SIDE_CONNECTIONS, new_http_client
from agentnb.server import ServerHandle


def own_client(server: ServerHandle, **options: Any) -> AsyncAgentClient:
    return AsyncAgentClient(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        record=False,
        **options,
    )


@contextlib.contextmanager
def counted_connections() -> Iterator[list[object]]:
    """The connections the running loop opens meanwhile."""
    loop = asyncio.get_running_loop()
    opened: list[object] = []
    original = loop.create_connection

    async def create_connection(*args: Any, **kwargs: Any) -> Any:
        made = await original(*args, **kwargs)
        opened.append(made)
        return made

    loop.create_connection = create_connection  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        del loop.create_connection


# ---- the client a transport makes ----------------------------------------------------------------
async def test_a_cookie_the_server_sets_is_sent_back() -> None:
    seen: list[str] = []

    async def answer(conn: Conn, request: Request) -> None:
        seen.append(request.headers.get("cookie", ""))
        head = {"Content-Type": "application/json", "Set-Cookie": "sticky=node-7; Path=/"}
        await conn.send(http_head("200 OK", head) + b"{}")

    with HostileServer(answer) as srv:
        client = new_http_client(httpx.Timeout(PATIENCE_S))
        try:
            await client.get(srv.url + "/a")
            await client.get(srv.url + "/b")
        finally:
            await client.aclose()
    assert seen == ["", "sticky=node-7"]


async def test_concurrent_streams_all_finish_with_their_usage(server: ServerHandle) -> None:
    client = own_client(server, headers={"X-AgentNB-Delay-Ms": "30"})
    runs = 48
    words = " ".join(f"w{i}" for i in range(12))
    try:
        done = await asyncio.gather(*(client.run("echo", f"{i} {words}") for i in range(runs)))
    finally:
        await client.aclose()
    assert [run.status for run in done] == ["completed"] * runs
    assert all(run.usage is not None for run in done)


async def test_sequential_runs_fetch_their_usage_on_kept_alive_connections(
    server: ServerHandle,
) -> None:
    client = own_client(server)
    try:
        with counted_connections() as opened:
            for i in range(4):
                run = await client.run("echo", f"again {i}")
                assert run.usage is not None
    finally:
        await client.aclose()
    # the stream's connection, and one for a usage request sent while the stream's last
    # chunk was still on its way: never one per run
    assert 1 <= len(opened) <= 2, opened


async def test_many_runs_ending_together_fetch_their_usage_on_a_few_connections(
    server: ServerHandle,
) -> None:
    client = own_client(server)
    runs = 60
    try:
        with counted_connections() as opened:
            done = await asyncio.gather(*(client.run("echo", f"together {i}") for i in range(runs)))
    finally:
        await client.aclose()
    assert len(opened) <= runs + SIDE_CONNECTIONS, "usage requests reuse the streams' connections"
    assert all(run.usage is not None for run in done)


# ---- the wire ----------------------------------------------------------------------------------------
async def test_a_keep_alive_connection_the_server_closed_is_not_reused() -> None:
    calls = 0

    async def answer_then_close(conn: Conn, request: Request) -> None:
        nonlocal calls
        calls += 1
        body = json.dumps({"n": calls}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        await conn.send(head + body)  # keep-alive by its head, then closed by the server

    with HostileServer(answer_then_close) as srv:
        client = new_http_client(httpx.Timeout(PATIENCE_S))
        try:
            first = await client.get(srv.url + "/x")
            await asyncio.sleep(0.2)  # the server's close arrives
            second = await client.get(srv.url + "/x")
        finally:
            await client.aclose()
    assert (first.json(), second.json()) == ({"n": 1}, {"n": 2})


async def test_a_request_head_and_body_arrive_whole() -> None:
    bodies: list[bytes] = []

    async def echo(conn: Conn, request: Request) -> None:
        bodies.append(request.body)
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"{}")

    payloads = [{"message": "hi"}, {"message": "x" * 300_000}, {"message": "y" * 3_000_000}]
    with HostileServer(echo) as srv:
        client = new_http_client(httpx.Timeout(PATIENCE_S))
        try:
            for payload in payloads:
                await client.post(srv.url + "/p", json=payload)
        finally:
            await client.aclose()
    assert [json.loads(body) for body in bodies] == payloads


async def test_connect_errors_and_read_timeouts_are_httpx_errors() -> None:
    client = new_http_client(httpx.Timeout(PATIENCE_S, read=1.0))  # the server says nothing for 5 s
    try:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")  # the discard port: refused

        async def silent(conn: Conn, request: Request) -> None:
            await asyncio.sleep(5)

        with HostileServer(silent) as srv, pytest.raises(httpx.ReadTimeout):
            await client.get(srv.url + "/")
    finally:
        await client.aclose()


# ---- one watchdog per response ----------------------------------------------------------------------
async def test_idle_timeout_ends_a_stream_trickling_inside_a_chunk_header() -> None:
    """A read that never completes (the bytes of a chunk's size line, one at a time, each
    well within the read timeout) is still cut at the idle limit."""

    async def trickle(conn: Conn, request: Request) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        await conn.send(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
        frame = b'data: {"choices":[{"index":0,"delta":{"content":"partial "}}]}\n\n'
        await conn.send(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
        while True:
            await conn.send(b"0")  # a chunk size line that never ends
            await asyncio.sleep(0.05)

    for limit in growing_limits("the first event"):  # which the idle limit waits for too
        with HostileServer(trickle) as srv:
            client = AsyncAgentClient(
                "openai", base_url=srv.url, record=False, timeout=PATIENCE_S, idle_timeout=limit
            )
            with pytest.raises(StreamStallError) as caught:
                await client.run("m", "hi")  # bytes keep coming: no read times out
            await client.aclose()
        if caught.value.partial_text:
            break
    assert caught.value.partial_text == "partial "
    assert "idle_timeout" in str(caught.value), "cut at the idle limit, not by the read timeout"


async def test_a_stop_during_a_read_is_a_cancel_not_a_timeout() -> None:
    async def slow(conn: Conn, request: Request) -> None:
        frame = b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
        await conn.send(sse_head() + frame)
        await asyncio.sleep(30)

    with HostileServer(slow) as srv:
        client = AsyncAgentClient("openai", base_url=srv.url, record=False, idle_timeout=PATIENCE_S)
        stream = client.stream("m", "hi")
        first = await stream.__anext__()
        assert first is not None
        reading = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.1)
        await stream.aclose()
        with pytest.raises((StopAsyncIteration, asyncio.CancelledError)):
            await reading
        await client.aclose()
    assert stream.run.status == "cancelled"


# ---- agentnb's loop ------------------------------------------------------------------------------------
def test_an_abandoned_async_generator_is_closed_on_agentnb_loop() -> None:
    closed = asyncio.Event()
    seen: list[bool] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            seen.append(get_loop() is asyncio.get_running_loop())
            closed.set()

    async def take_one_and_drop() -> None:
        generator = numbers()
        assert await generator.__anext__() == 1
        del generator  # left unfinished: the loop's finalizer closes it
        await asyncio.wait_for(closed.wait(), PATIENCE_S)

    run_sync(take_one_and_drop())
    assert seen == [True]


# ---- TLS on the wire -----------------------------------------------------------------------------------
@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [*command, "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_streams_and_keeps_alive_over_tls(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while await reader.readuntil(b"\r\n\r\n"):
                body = b"data: one\n\ndata: two\n\n"
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        async with new_http_client(httpx.Timeout(PATIENCE_S), str(cert)) as client:
            texts = [(await client.get(f"https://127.0.0.1:{port}/s")).text for _ in range(3)]
        async with new_http_client(httpx.Timeout(PATIENCE_S)) as other:
            with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused
                await other.get(f"https://127.0.0.1:{port}/s")
    finally:
        server.close()
        await server.wait_closed()
    assert texts == ["data: one\n\ndata: two\n\n"] * 3
    assert connections == 1, "the three on one kept-alive connection; the refused one never got in"
