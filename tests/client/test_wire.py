"""The wire (aiohttp under httpx's interface, _http/aiohttp_transport.py) against raw-socket
servers: a head in pieces, malformed heads refused typed and never sent twice, kept-alive
connections reused and re-sent on only when no byte of an answer came back (the keep-alive
race), a proxy the environment names used by httpx, and a user's own httpx client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hostile_server import Conn, HostileServer, Request

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import AgentNBError, ConnectError, TransportError

FRAMES = (
    b'data: {"choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Note: caf\xe9\r\n"
    b"Content-Length: %d\r\n\r\n" % len(FRAMES)
)


# ---- against servers ---------------------------------------------------------------------------
async def run_against(server: HostileServer, **options: Any) -> tuple[Any, ...]:
    """How one run ends against ``server``."""
    client = AsyncAgentClient(
        "openai", base_url=options.pop("url", server.url), record=False, **options
    )
    try:
        run = await client.run("m", "hi")
        ended: tuple[Any, ...] = (run.status, run.text, None)
    except AgentNBError as exc:
        ended = (exc.run.status if exc.run else None, str(exc), type(exc))
    finally:
        await client.aclose()
    return ended


def serving(*answers: bytes, step: int = 0) -> HostileServer:
    """A server sending ``answers`` one per request on one kept-alive connection (``step``:
    that many bytes a write)."""

    async def handler(conn: Conn, request: Request) -> None:
        for index, answer in enumerate(answers):
            if index:
                next_request = await conn.read_request()
                if next_request is None:
                    return
                server.requests.append(next_request)
            for start in range(0, len(answer), step or len(answer)):
                await conn.send(answer[start : start + (step or len(answer))])
                await asyncio.sleep(0)

    server = HostileServer(handler)
    return server


@pytest.mark.parametrize("step", [1, 5, 64])
async def test_a_head_arriving_in_pieces_reads_the_run(step: int) -> None:
    with serving(HEAD + FRAMES, step=step) as server:
        assert await run_against(server) == ("completed", "hello", None)


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage that is no HTTP at all\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n",
    ],
    ids=["no status line", "two lengths", "chunked and length", "huge header"],
)
async def test_a_malformed_head_fails_the_run_typed_and_is_not_sent_twice(answer: bytes) -> None:
    with serving(answer) as server:
        status, message, error = await run_against(server)
    assert (status, error) == ("failed", TransportError)
    assert "malformed response head" in message
    assert len(server.requests) == 1


async def test_a_server_closing_before_the_head_is_a_typed_error_and_no_second_run() -> None:
    with serving(b"") as server:
        status, message, error = await run_against(server)
    assert (status, error) == ("failed", TransportError)
    assert "without sending a response" in message and "not re-sent" in message
    assert len(server.requests) == 1


def keep_alive_answer() -> bytes:
    return HEAD + FRAMES


async def test_sequential_runs_reuse_one_kept_alive_connection() -> None:
    connections = 0

    async def handler(conn: Conn, request: Request) -> None:
        nonlocal connections
        connections += 1
        while request is not None:
            await conn.send(keep_alive_answer())
            request = await conn.read_request()  # type: ignore[assignment]

    with HostileServer(handler) as server:
        client = AsyncAgentClient("openai", base_url=server.url, record=False)
        try:
            texts = [(await client.run("m", f"hi {n}")).text for n in range(3)]
        finally:
            await client.aclose()
    assert texts == ["hello"] * 3
    assert connections == 1


async def test_a_kept_alive_connection_closed_unanswered_is_retried_once_on_a_new_one() -> None:
    """The keep-alive race: the server let the idle connection go as the next request went
    out on it. Nothing came back, so the request is sent once more on a new connection."""
    seen: list[str] = []

    async def handler(conn: Conn, request: Request) -> None:
        seen.append(request.body.decode())
        await conn.send(keep_alive_answer())
        again = await conn.read_request()
        if again is not None:
            seen.append(again.body.decode())  # read, then dropped without a byte of answer

    with HostileServer(handler) as server:
        client = AsyncAgentClient("openai", base_url=server.url, record=False)
        try:
            first = await client.run("m", "one")
            second = await client.run("m", "two")
        finally:
            await client.aclose()
    assert (first.text, second.text) == ("hello", "hello")
    assert [body.count('"two"') for body in seen] == [0, 1, 1]


async def test_a_kept_alive_connection_cut_mid_head_is_never_sent_again() -> None:
    """Once a byte of an answer came back the run may have started: no second request."""

    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(keep_alive_answer())
        if await conn.read_request() is not None:
            server.requests.append(request)
            await conn.send(b"HTTP/1.1 200 O")

    server = HostileServer(handler)
    with server:
        client = AsyncAgentClient("openai", base_url=server.url, record=False)
        try:
            await client.run("m", "one")
            with pytest.raises(TransportError, match="not re-sent"):
                await client.run("m", "two")
        finally:
            await client.aclose()
    assert len(server.requests) == 2  # one connection: the first run, then the second once


# ---- proxies, a given client -------------------------------------------------------------------
async def test_a_proxy_the_environment_names_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours ``HTTP_PROXY``: the request goes to the proxy, in absolute form."""
    with serving(HEAD + FRAMES) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        ended = await run_against(proxy, url="http://agents.invalid:8123/v1")
    assert ended == ("completed", "hello", None)
    assert proxy.requests[0].path.startswith("http://agents.invalid:8123/v1/")


async def test_a_proxy_the_environment_exempts_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with serving(HEAD + FRAMES) as server:
        assert await run_against(server) == ("completed", "hello", None)


async def test_a_given_http_client_is_used() -> None:
    with serving(HEAD + FRAMES) as server:
        async with httpx.AsyncClient(headers={"X-Mine": "yes"}) as given:
            outcome = await run_against(server, http_client=given)
    assert outcome == ("completed", "hello", None)
    assert server.requests[0].headers["x-mine"] == "yes"


async def test_https_to_a_plain_http_server_fails_the_handshake_typed_and_once() -> None:
    """A server that answers ``https://`` in plain HTTP fails the handshake with a typed
    error, which is not retried (TLS: test_tls.py)."""
    accepted = 0

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.write(HEAD + FRAMES)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncAgentClient(
            "openai", base_url=f"https://127.0.0.1:{port}", record=False, backoff=0.0
        ) as client:
            with pytest.raises(ConnectError, match="TLS handshake failed") as caught:
                await client.run("m", "hi")
    finally:
        server.close()
        await server.wait_closed()
    assert caught.value.run is not None and caught.value.run.status == "failed"
    assert accepted == 1
