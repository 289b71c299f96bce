"""No API key leaks, whatever a hostile or sloppy server echoes back: raw-socket servers on
127.0.0.1 that quote the key in bodies, headers, error frames and logs."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import (
    AgentNBError,
    AuthenticationError,
    ConfigurationError,
    ProtocolError,
    RunFailedError,
    RunInterruptedError,
    TransportError,
    connect,
)
from agentnb._app.front.connections import disconnect
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.request import build_request
from agentnb._core.run import Run
from agentnb._core.secrets import MIN_SECRET_LENGTH
from agentnb._display.static_copy import static_html, static_markdown, static_text
from agentnb._display.widget_protocol import meta_wire
from agentnb.history import HistoryStore

KEY = "sk-hostile/0123456789/abcdef"
"""Has a ``/`` so that servers escaping it (``\\/``, ``\\u002f``) are covered."""
PROVIDERS = {"openai": "authorization", "runtools": "x-api-key"}
"""A Bearer dialect and the X-API-Key one, with the request header that carries the key."""


def sent_key(request: Request, provider: str) -> str:
    value = request.headers.get(PROVIDERS[provider], "")
    return value.removeprefix("Bearer ")


def assert_no_key(error: BaseException, *keys: str) -> None:
    """Neither the error, nor anything it chains to, nor a request it holds, has a key."""
    seen: BaseException | None = error
    while seen is not None:
        for key in keys:
            assert key not in str(seen) and key not in repr(seen), type(seen)
        request = getattr(seen, "_request", None)  # httpx errors keep the failed request
        if isinstance(request, httpx.Request):
            for key in keys:
                assert all(key.strip() not in v for v in request.headers.values())
        seen = seen.__cause__ or seen.__context__


def assert_not_shown(run: Run | None, *keys: str) -> None:
    """Nothing a notebook keeps of the run (its static copies, the widget's state) has a key."""
    assert run is not None
    shown = [static_html([run]), static_markdown([run]), static_text([run])]
    shown.append(json.dumps(meta_wire(run), ensure_ascii=False))
    for text in shown:
        for key in keys:
            assert key.strip() not in text


def assert_history_clean(folder: Path, *keys: str) -> None:
    for file in folder.iterdir():
        data = file.read_bytes()
        for key in keys:
            assert key.strip().encode() not in data, file.name


def client(
    provider: str, url: str, key: str, store: HistoryStore | None = None, **options: Any
) -> AsyncAgentClient:
    options.setdefault("max_retries", 0)
    return AsyncAgentClient(
        provider, base_url=url, api_key=key, recorder=store, record=store is not None, **options
    )


async def echo_401(conn: Conn, request: Request) -> None:
    """Answers 401 quoting every header it got, PHP-style (``\\/``) and plainly."""
    quoted = json.dumps({"detail": f"bad credentials: {dict(request.headers)}"})
    body = quoted.replace("/", "\\/").encode()
    echo = request.headers.get("authorization") or request.headers.get("x-api-key") or ""
    head = {"Content-Type": "application/json", "WWW-Authenticate": f"Bearer {echo}"}
    await conn.send(http_head("401 Unauthorized", head) + body)


# ---- a key read from a file ----------------------------------------------------------------
@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("ending", ["\n", "\r\n", " \n"])
async def test_a_key_with_a_line_ending_is_stripped_and_never_echoed(
    provider: str, ending: str, tmp_path: Path
) -> None:
    key = KEY + ending
    store = HistoryStore(tmp_path / "history.db")
    with HostileServer(echo_401) as srv:
        async with client(provider, srv.url, key, store) as c:
            assert KEY not in repr(c)
            with pytest.raises(AuthenticationError) as caught:
                await c.run("agent", "hi")
    assert sent_key(srv.requests[0], provider) == KEY  # stripped before it was sent
    assert_no_key(caught.value, key, KEY)
    run = caught.value.run
    assert run is not None and run.error is not None and KEY not in run.error.message
    assert_not_shown(run, KEY, KEY.replace("/", "\\/"))
    store.close()
    assert_history_clean(tmp_path, KEY)


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("bad", ["sk-ключ-0123456789", "sk-abc\x00def-0123", "sk-abc def-0123"])
async def test_a_key_that_cannot_be_a_header_is_refused_without_echo(
    provider: str, bad: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AsyncAgentClient(provider, base_url="http://127.0.0.1:9", api_key=bad)
    assert_no_key(caught.value, bad)
    assert "not shown" in str(caught.value)
    with pytest.raises(ConfigurationError) as via_connect:
        connect(provider, base_url="http://127.0.0.1:9", api_key=bad, name="hostile_bad_key")
    assert_no_key(via_connect.value, bad)
    disconnect("hostile_bad_key")


# ---- a key echoed back -------------------------------------------------------------------------
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_a_key_echoed_json_escaped_in_a_401_is_redacted(provider: str) -> None:
    with HostileServer(echo_401) as srv:
        async with client(provider, srv.url, KEY) as c:
            with pytest.raises(AuthenticationError) as caught:
                await c.run("agent", "hi")
    error = caught.value
    escaped = KEY.replace("/", "\\/")
    assert_no_key(error, KEY, escaped)
    assert KEY not in error.body and escaped not in error.body
    assert "***" in str(error)


async def test_a_key_echoed_with_unicode_escapes_is_redacted() -> None:
    async def echo(conn: Conn, request: Request) -> None:
        escaped = KEY.replace("/", "\\u002f")
        body = f'{{"detail": "bad key {escaped}"}}'
        await conn.send(http_head("403 Forbidden", {"Content-Type": "application/json"}))
        await conn.send(body.encode())

    with HostileServer(echo) as srv:
        async with client("openai", srv.url, KEY) as c:
            with pytest.raises(AuthenticationError) as caught:
                await c.run("agent", "hi")
    assert_no_key(caught.value, KEY, KEY.replace("/", "\\u002f"))
    assert KEY not in caught.value.body


@pytest.mark.parametrize(
    ("provider", "frame"),
    [
        ("openai", 'data: {"error": {"message": "key %s is revoked", "code": "%s"}}\n\n'),
        ("runtools", 'event: error\ndata: {"message": "key %s is revoked", "code": "%s"}\n\n'),
    ],
)
async def test_an_error_frame_quoting_the_key_is_redacted(
    provider: str, frame: str, tmp_path: Path
) -> None:
    async def stream(conn: Conn, request: Request) -> None:
        body = frame % (sent_key(request, provider), sent_key(request, provider))
        first = 'data: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "par"}}]}\n\n'
        if provider == "runtools":
            first = 'event: text\ndata: {"delta": "par"}\n\n'
        await conn.send(sse_head() + first.encode() + body.encode())

    store = HistoryStore(tmp_path / "history.db")
    with HostileServer(stream) as srv:
        async with client(provider, srv.url, KEY + "\n", store) as c:
            with pytest.raises(RunFailedError) as caught:
                await c.run("agent", "hi")
    error = caught.value
    assert_no_key(error, KEY)
    assert error.run is not None and error.run.error is not None
    assert KEY not in error.run.error.message and "***" in error.run.error.message
    assert KEY not in (error.run.error.code or "") and KEY not in (error.code or "")
    assert error.partial_text == "par"
    assert_not_shown(error.run, KEY)
    store.close()
    assert_history_clean(tmp_path, KEY)


# ---- one length rule ---------------------------------------------------------------------------
SHORT_KEYS = ["k9Zq", "k9Zq7Xw"]
"""As short as a key is still redacted, and one character short of the environment's rule."""


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("key", SHORT_KEYS)
async def test_a_short_key_is_redacted_from_errors_and_the_history_alike(
    provider: str, key: str, tmp_path: Path
) -> None:
    assert len(key) >= MIN_SECRET_LENGTH

    async def quote_the_key(conn: Conn, request: Request) -> None:
        if len(srv.requests) == 1:
            await echo_401(conn, request)
            return
        said = f"your key is {sent_key(request, provider)}"
        if provider == "openai":
            frame = {"id": "c1", "choices": [{"index": 0, "delta": {"content": said}}]}
            body = f"data: {json.dumps(frame)}\n\ndata: [DONE]\n\n"
        else:
            body = f"event: text\ndata: {json.dumps({'delta': said})}\n\nevent: complete\ndata: {{}}\n\n"
        await conn.send(sse_head() + body.encode())

    store = HistoryStore(tmp_path / "history.db")
    with HostileServer(quote_the_key) as srv:
        async with client(provider, srv.url, key, store) as c:
            with pytest.raises(AuthenticationError) as caught:
                await c.run("agent", "hi")
            answered = await c.run("agent", "again")
    assert sent_key(srv.requests[0], provider) == key
    assert_no_key(caught.value, key)
    assert_not_shown(caught.value.run, key)
    assert answered.status == "completed" and answered.text.startswith("your key is ")
    store.close()
    assert_history_clean(tmp_path, key)


# ---- the failed request a transport error keeps --------------------------------------------
def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def held_requests(error: BaseException) -> list[httpx.Request]:
    found = []
    seen: BaseException | None = error
    while seen is not None:
        request = getattr(seen, "_request", None)
        if isinstance(request, httpx.Request):
            found.append(request)
        seen = seen.__cause__ or seen.__context__
    return found


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_a_connect_error_keeps_no_key_in_its_request(provider: str) -> None:
    async with client(provider, refused_url(), KEY) as c:
        with pytest.raises(TransportError) as caught:
            await c.run("agent", "hi")
    assert held_requests(caught.value), "the httpx cause should still be reachable"
    assert_no_key(caught.value, KEY)


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_a_read_error_keeps_no_key_in_its_request(provider: str) -> None:
    async def hang_up(conn: Conn, request: Request) -> None:
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Len")

    with HostileServer(hang_up) as srv:
        async with client(provider, srv.url, KEY) as c:
            with pytest.raises(AgentNBError) as caught:
                await c.run("agent", "hi")
    assert held_requests(caught.value)
    assert_no_key(caught.value, KEY)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd"])
async def test_an_undecodable_body_is_a_protocol_error_without_the_key(encoding: str) -> None:
    async def garbage(conn: Conn, request: Request) -> None:
        await conn.send(sse_head({"Content-Encoding": encoding}) + b"not compressed at all")

    with HostileServer(garbage) as srv:
        async with client("openai", srv.url, KEY) as c:
            with pytest.raises((ProtocolError, RunInterruptedError)) as caught:
                await c.run("agent", "hi")
    assert_no_key(caught.value, KEY)
    if encoding != "zstd":  # httpx passes an encoding it does not know through as it is
        assert isinstance(caught.value, ProtocolError) and "cannot be decoded" in str(caught.value)


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_a_status_error_keeps_no_key_in_its_response_request(provider: str) -> None:
    with HostileServer(echo_401) as srv:
        async with client(provider, srv.url, KEY) as c:
            run_request = build_request("agent", "hi")
            request = c.transport.build(c.provider.stream_http_request(run_request), accept="*/*")
            response = await c.transport.send(request, stream=True)
            with pytest.raises(AuthenticationError) as caught:
                await c.transport.check_status(response)
    assert all(KEY not in value for value in response.request.headers.values())
    assert_no_key(caught.value, KEY)


# ---- httpx / httpcore debug logs ---------------------------------------------------------------
@pytest.mark.parametrize("given", [False, True], ids=["aiohttp", "a given httpx client"])
async def test_http_debug_logs_do_not_carry_the_key(
    caplog: pytest.LogCaptureFixture, given: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    with HostileServer(echo_401) as srv:
        # a platform that takes its key in the URL: the request line logged must not show it
        async with contextlib.AsyncExitStack() as stack:
            http_client = await stack.enter_async_context(httpx.AsyncClient()) if given else None
            c = await stack.enter_async_context(
                client("openai", f"{srv.url}/key/{KEY}", KEY, http_client=http_client)
            )
            with pytest.raises(AuthenticationError):
                await c.run("agent", "hi")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert KEY not in logged and KEY.encode().hex() not in logged
    assert "HTTP Request: POST" in logged and "/key/***" in logged  # httpx logs each request
    if given:  # httpcore logs the echoing headers
        assert "receive_response_headers" in logged
        assert "***" in logged
