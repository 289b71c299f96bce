"""agentnb's own HTTP/1.1 connections (_http.own_connections, _http.response_head): the head
parser split every way and refusing malformed heads, kept-alive connections reused and
retried only when safe, and the requests that must take httpx's path (a proxy, a given
http_client) taking it."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest
from hostile_server import Conn, HostileServer, Request
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._client import reading
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import AgentNBError, ConnectError, TransportError
from agentnb._http.response_head import MAX_HEAD, Head, parse_head, request_bytes

FRAMES = (
    b'data: {"choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Note: caf\xe9\r\n"
    b"Content-Length: %d\r\n\r\n" % len(FRAMES)
)


def parsed(head: bytes, method: str = "POST") -> Head:
    result = parse_head(bytearray(head), method)
    assert result is not None
    assert result[1] == len(head)
    return result[0]


# ---- the head parser ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(HEAD)), max_size=12))
def test_a_head_split_anywhere_parses_the_same_once_whole(cuts: list[int]) -> None:
    with_body = parse_head(bytearray(HEAD + FRAMES), "POST")
    assert with_body is not None and with_body[1] == len(HEAD)  # the body is left in the buffer
    whole = with_body[0]
    buffer = bytearray()
    bounds = [0, *sorted(cuts), len(HEAD)]
    for start, end in itertools.pairwise(bounds):
        if buffer and end < len(HEAD):
            assert parse_head(buffer, "POST") is None
        buffer += HEAD[start:end]
    assert parsed(bytes(buffer)) == whole
    assert whole.status == 200 and whole.framing == len(FRAMES) and whole.keep_alive
    assert (b"X-Note", b"caf\xe9") in whole.headers  # bytes past ASCII in a value: Latin-1


def test_framing_and_keep_alive_follow_rfc_9112() -> None:
    chunked = parsed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert (chunked.framing, chunked.keep_alive) == ("chunked", True)
    until_close = parsed(b"HTTP/1.1 200 OK\r\n\r\n")
    assert (until_close.framing, until_close.keep_alive) == ("close", False)
    closing = parsed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n")
    assert (closing.framing, closing.keep_alive) == (2, False)
    old = parsed(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n")
    assert old.keep_alive is False
    assert parsed(b"HTTP/1.1 204 No Content\r\n\r\n").framing == 0
    assert parsed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD").framing == 0
    same_twice = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n"
    assert parsed(same_twice).framing == 4
    assert parsed(b"HTTP/1.1 200\n\n").status == 200  # bare LF line ends, no reason phrase
    assert parsed(b"HTTP/1.1 100 Continue\r\n\r\n").status == 100  # the caller reads on


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (b"\r\n\r\n", "no HTTP/1.x status line"),
        (b"Content-Type: text/event-stream\r\n\r\n", "no HTTP/1.x status line"),
        (b"HTTP/2 200 OK\r\n\r\n", "no HTTP/1.x status line"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "no HTTP/1.x status line"),
        (b"HTTP/1.1 099 Low\r\n\r\n", "no HTTP/1.x status line"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "no HTTP/1.x status line"),
        (b"HTTP/1.1 200 \xc3\xa9\x00\r\n\r\n", "no HTTP/1.x status line"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "protocol switch"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "'name: value'"),
        (b"HTTP/1.1 200 OK\r\nCaf\xc3\xa9: 1\r\n\r\n", "'name: value'"),
        (b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", "'name: value'"),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", "obsolete line folding"),
        (b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", "control character"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
            "conflicting Content-Length",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4, 5\r\n\r\n", "conflicting Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "not a byte count"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
            "both Transfer-Encoding and Content-Length",
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 300 + b"\r\n", "more than 256 header"),
    ],
)
def test_a_malformed_head_is_refused_saying_why(head: bytes, says: str) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="malformed response head") as caught:
        parse_head(bytearray(head), "POST")
    assert says in str(caught.value)


def test_a_head_past_the_limit_is_refused_before_it_ends() -> None:
    endless = bytearray(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MAX_HEAD)
    with pytest.raises(httpx.RemoteProtocolError, match="larger than 64 KiB"):
        parse_head(endless, "POST")


def test_the_request_writer_sends_what_httpx_built_and_refuses_a_broken_header() -> None:
    request = httpx.Request("POST", "http://h:8/p%20q?a=b c", json={"x": "é"})
    data = request_bytes(request)
    assert data.startswith(b"POST /p%20q?a=b%20c HTTP/1.1\r\nHost: h:8\r\n")
    assert data.endswith(b'\r\n\r\n{"x":"\xc3\xa9"}')
    broken = httpx.Request("GET", "http://h/", headers={"X-A": "one\r\nX-Injected: two"})
    with pytest.raises(httpx.LocalProtocolError):
        request_bytes(broken)


# ---- against servers ---------------------------------------------------------------------------
async def run_against(server: HostileServer, **options: Any) -> tuple[Any, ...]:
    """How one run ends against ``server`` and the paths it took."""
    before = dict(reading.paths_taken)
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
    paths = {k for k, v in reading.paths_taken.items() if v > before.get(k, 0)}
    return (*ended, paths)


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
async def test_a_head_arriving_in_pieces_reads_the_run_on_the_fast_path(step: int) -> None:
    with serving(HEAD + FRAMES, step=step) as server:
        assert await run_against(server) == ("completed", "hello", None, {"fast", "raw"})


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
        status, message, error, paths = await run_against(server)
    assert (status, error, paths) == ("failed", TransportError, {"fast"})
    assert "malformed response head" in message
    assert len(server.requests) == 1


async def test_a_server_closing_before_the_head_is_a_typed_error_and_no_second_run() -> None:
    with serving(b"") as server:
        status, message, error, _ = await run_against(server)
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


# ---- what takes httpx's path -----------------------------------------------------------------
async def test_a_proxy_in_the_environment_takes_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # httpx goes direct; agentnb still steps aside
    with serving(HEAD + FRAMES) as server:
        assert await run_against(server) == ("completed", "hello", None, {"raw"})


async def test_a_given_http_client_takes_httpx() -> None:
    with serving(HEAD + FRAMES) as server:
        async with httpx.AsyncClient() as given:
            outcome = await run_against(server, http_client=given)
    assert outcome[:3] == ("completed", "hello", None)
    assert "fast" not in outcome[3]


async def test_https_to_a_plain_http_server_fails_the_handshake_typed_and_once() -> None:
    """https takes agentnb's own connections too (over TLS: test_own_tls.py); a server that
    answers in plain HTTP fails the handshake with a typed error, which is not retried."""
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
        before = dict(reading.paths_taken)
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
    assert {k for k, v in reading.paths_taken.items() if v > before.get(k, 0)} == {"fast-tls"}
