"""agentnb's own connections over TLS: a run on ``https://`` streams on them (not httpx's
path), the certificate is checked exactly as httpx checks it (``verify=`` True, False, a CA
bundle path, an ``ssl.SSLContext``), a certificate not trusted or for another name fails with
the error httpx's path gives, a cut mid-stream resumes, and a kept-alive TLS connection
carries the next run. The servers are real: uvicorn serving the built-in agent server, and
raw-socket servers, each with a certificate made here (trustme)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import client_for
from hostile_server import Conn, HostileServer, Request

from agentnb._client import reading, transport
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import ConfigurationError, ConnectError
from agentnb._http.own_connections import HANDSHAKES_AT_ONCE
from agentnb.server import ServerHandle, create_app
from agentnb.server._auth import generate_api_key
from agentnb.server._serve import _wait_started, base_url_of, bind_socket, make_server

trustme = pytest.importorskip("trustme")

FRAMES = (
    b'data: {"choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Content-Length: %d\r\n\r\n" % len(FRAMES)
) + FRAMES


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: Any, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture(scope="module")
def tls_server(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """The built-in agent server (faults on) on uvicorn over TLS, with a certificate for
    127.0.0.1 and localhost that ``ca`` signed."""
    pem = tmp_path_factory.mktemp("tls-server") / "server.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(pem))
    key = generate_api_key()
    app = create_app(key, delay_ms=0, faults=True)
    server = make_server(app, background=True)
    server.config.ssl_certfile = str(pem)
    server.config.ssl_keyfile = str(pem)
    sock = bind_socket("127.0.0.1", 0)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:
            failures.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name="agentnb-tls-server", daemon=True)
    thread.start()
    _wait_started(server, thread, failures)
    handle = ServerHandle(
        base_url_of(sock).replace("http://", "https://"), key, server, thread, app
    )
    try:
        yield handle
    finally:
        handle.stop()


def paths_since(before: dict[str, int]) -> set[str]:
    return {k for k, v in reading.paths_taken.items() if v > before.get(k, 0)}


async def run_once(server: ServerHandle, **options: Any) -> tuple[str, str, set[str]]:
    before = dict(reading.paths_taken)
    async with client_for(server, "openai", record=False, **options) as client:
        run = await client.run("finance_agent", "What is 2+2?")
    return run.status, run.text, paths_since(before)


# ---- a run over https --------------------------------------------------------------------------
@pytest.mark.parametrize("verify", ["path", "context", "off"])
async def test_a_run_streams_on_the_own_connections_over_https(
    tls_server: ServerHandle, ca: Any, ca_bundle: Path, verify: str
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    value = {"path": str(ca_bundle), "context": context, "off": False}[verify]
    status, text, paths = await run_once(tls_server, verify=value)
    assert status == "completed" and text
    assert paths == {"fast-tls", "raw"}  # sent and read by agentnb, not httpx


async def test_the_same_run_on_httpx_path_gives_the_same_answer(
    tls_server: ServerHandle, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = await run_once(tls_server, verify=str(ca_bundle))
    monkeypatch.setattr(transport, "sends_own", False)
    through_httpx = await run_once(tls_server, verify=str(ca_bundle))
    assert own[:2] == through_httpx[:2]
    assert through_httpx[2] == {"raw"}  # httpx sent it (its pool, asyncio's start_tls)


async def test_a_cut_mid_stream_over_tls_resumes(tls_server: ServerHandle, ca_bundle: Path) -> None:
    async with client_for(
        tls_server, "openai", record=False, verify=str(ca_bundle), fault="drop-after=3"
    ) as client:
        run = await client.run("finance_agent", "What is 2+2?")
    assert run.status == "completed", run.error
    assert run.resumes == 1


async def test_a_stop_over_tls_closes_the_connection_at_once(
    tls_server: ServerHandle, ca_bundle: Path
) -> None:
    """A stopped run's server must see its reader go, over TLS as over TCP."""
    state = tls_server.app.state.agentnb
    async with client_for(
        tls_server, "openai", record=False, verify=str(ca_bundle), delay_ms=50
    ) as client:
        async with client.stream("finance_agent", "What is 2+2?") as stream:
            async for _ in stream:
                assert state.streams.open == 1
                break
        for _ in range(500):  # the server notices a disconnect on its own time
            if state.streams.open == 0:
                break
            await asyncio.sleep(0.01)
    assert state.streams.open == 0
    assert stream.run.status == "cancelled"


# ---- certificate checks, as httpx's --------------------------------------------------------------
async def failure(server: ServerHandle, *, own: bool, **options: Any) -> tuple[type, str, list]:
    """The error a run gets, the path it took, and the waits between attempts."""
    saved, transport.sends_own = transport.sends_own, own
    waits: list[float] = []
    try:
        async with client_for(server, "openai", record=False, **options) as client:

            async def wait(seconds: float) -> None:
                waits.append(seconds)

            client.transport.sleep = wait  # type: ignore[method-assign]
            with pytest.raises(ConnectError) as caught:
                await client.run("finance_agent", "hi")
    finally:
        transport.sends_own = saved
    return type(caught.value), str(caught.value), waits


async def test_an_untrusted_certificate_fails_as_on_httpx_path_and_is_not_retried(
    tls_server: ServerHandle,
) -> None:
    own = await failure(tls_server, own=True)  # verify=True: certifi's store, not our CA
    httpx_path = await failure(tls_server, own=False)
    for error, message, waits in (own, httpx_path):
        assert error is ConnectError
        assert "TLS certificate was not accepted" in message
        assert "unable to get local issuer certificate" in message and "verify=" in message
        assert waits == []  # the same answer every time: no retry
    assert own[1].split("(")[1] == httpx_path[1].split("(")[1]


async def test_a_certificate_for_another_name_fails(ca: Any, ca_bundle: Path) -> None:
    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(ANSWER)

    with HostileServer(handler, tls=server_context(ca, "elsewhere.test")) as server:
        async with AsyncAgentClient(
            "openai", base_url=server.url, record=False, verify=str(ca_bundle), max_retries=0
        ) as client:
            with pytest.raises(ConnectError, match=r"not accepted.*(mismatch|match)"):
                await client.run("m", "hi")
        assert server.requests == []


async def test_sequential_runs_reuse_one_kept_alive_tls_connection(
    ca: Any, ca_bundle: Path
) -> None:
    connections = 0

    async def handler(conn: Conn, request: Request) -> None:
        nonlocal connections
        connections += 1
        while request is not None:
            await conn.send(ANSWER)
            request = await conn.read_request()  # type: ignore[assignment]

    before = dict(reading.paths_taken)
    with HostileServer(handler, tls=server_context(ca, "127.0.0.1")) as server:
        async with AsyncAgentClient(
            "openai", base_url=server.url, record=False, verify=str(ca_bundle)
        ) as client:
            texts = [(await client.run("m", f"hi {n}")).text for n in range(3)]
    assert texts == ["hello"] * 3
    assert connections == 1
    assert paths_since(before) == {"fast-tls", "raw"}


async def test_tls_connections_are_opened_a_few_at_once() -> None:
    """20 runs starting together: the server sees at most HANDSHAKES_AT_ONCE TLS hellos
    while it answers none (a handshake's CPU runs in loop callbacks: 200 at once held the
    loop for 0.4 s)."""
    hellos = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hellos
        if await reader.read(1):  # a ClientHello began: hold it unanswered
            hellos += 1
        await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AsyncAgentClient(
        "openai", base_url=f"https://127.0.0.1:{port}", record=False, max_retries=0
    )
    runs = [asyncio.create_task(client.run("m", f"hi {n}")) for n in range(20)]
    try:
        for _ in range(1000):
            if hellos >= HANDSHAKES_AT_ONCE:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # time for more hellos, were more connections let through
        assert hellos == HANDSHAKES_AT_ONCE
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await client.aclose()
        server.close()
        await server.wait_closed()


# ---- what takes httpx's path, what is refused ------------------------------------------------------
async def test_an_https_proxy_in_the_environment_takes_httpx(
    tls_server: ServerHandle, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # httpx goes direct; agentnb still steps aside
    status, _, paths = await run_once(tls_server, verify=str(ca_bundle))
    assert (status, paths) == ("completed", {"raw"})


@pytest.mark.parametrize(
    ("verify", "says"),
    [("/no/such/ca.pem", "no such CA bundle"), (1, "verify must be True, False")],
)
def test_a_bad_verify_is_refused_saying_why(verify: Any, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        AsyncAgentClient("openai", base_url="https://127.0.0.1:1", verify=verify)


async def test_verify_with_a_given_http_client_is_refused() -> None:
    async with httpx.AsyncClient() as given:
        with pytest.raises(ConfigurationError, match="set it on the http_client"):
            AsyncAgentClient(
                "openai", base_url="https://127.0.0.1:1", http_client=given, verify=False
            )
