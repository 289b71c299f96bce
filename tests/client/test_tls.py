"""Runs over TLS on aiohttp's wire: the certificate is checked exactly as httpx checks it
(``verify=`` True, False, a CA bundle path, an ``ssl.SSLContext``), a certificate not trusted
or for another name fails with the error a user's own httpx client gives, a cut mid-stream
resumes, a Stop closes the connection at once, and a kept-alive TLS connection carries the
next run. The servers are real: uvicorn serving the built-in agent server, and
raw-socket servers, each with a certificate made here (trustme)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import client_for, patient_polls
from fault_injection import FaultBook
from hostile_server import Conn, HostileServer, Request

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import ConfigurationError, ConnectError
from agentnb.server import ServerHandle, create_app
from agentnb.server._auth import generate_api_key
from agentnb.server._serve import base_url_of, bind_socket, make_server, serve_in_thread

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
    app = create_app(key, delay_ms=0, faults=FaultBook())
    server = make_server(app, background=True)
    server.config.ssl_certfile = str(pem)
    server.config.ssl_keyfile = str(pem)
    sock = bind_socket("127.0.0.1", 0)
    thread = serve_in_thread(server, sock, "agentnb-tls-server", "the TLS server")
    handle = ServerHandle(
        base_url_of(sock).replace("http://", "https://"), key, server, thread, app
    )
    try:
        yield handle
    finally:
        handle.stop()


async def run_once(server: ServerHandle, **options: Any) -> tuple[str, str]:
    async with client_for(server, "openai", record=False, **options) as client:
        run = await client.run("finance_agent", "What is 2+2?")
    return run.status, run.text


# ---- a run over https --------------------------------------------------------------------------
@pytest.mark.parametrize("verify", ["path", "context", "off"])
async def test_a_run_streams_over_https_whatever_verify_is(
    tls_server: ServerHandle, ca: Any, ca_bundle: Path, verify: str
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    value = {"path": str(ca_bundle), "context": context, "off": False}[verify]
    status, text = await run_once(tls_server, verify=value)
    assert status == "completed" and text


async def test_the_same_run_through_a_given_httpx_client_gives_the_same_answer(
    tls_server: ServerHandle, ca: Any, ca_bundle: Path
) -> None:
    ours = await run_once(tls_server, verify=str(ca_bundle))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with httpx.AsyncClient(verify=context) as given:
        theirs = await run_once(tls_server, http_client=given)
    assert ours == theirs


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
        for _ in patient_polls():  # the server notices a disconnect on its own time
            if state.streams.open == 0:
                break
            await asyncio.sleep(0.01)
    assert state.streams.open == 0
    assert stream.run.status == "cancelled"


# ---- certificate checks, as httpx's --------------------------------------------------------------
async def failure(server: ServerHandle, **options: Any) -> tuple[type, str, list[float]]:
    """The error a run gets, and the waits between attempts."""
    waits: list[float] = []
    async with client_for(server, "openai", record=False, **options) as client:

        async def wait(seconds: float) -> None:
            waits.append(seconds)

        client.transport.sleep = wait  # type: ignore[method-assign]
        with pytest.raises(ConnectError) as caught:
            await client.run("finance_agent", "hi")
    return type(caught.value), str(caught.value), waits


async def test_an_untrusted_certificate_fails_as_through_httpx_and_is_not_retried(
    tls_server: ServerHandle,
) -> None:
    own = await failure(tls_server)  # verify=True: certifi's store, not our CA
    async with httpx.AsyncClient() as given:
        httpx_path = await failure(tls_server, http_client=given)
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

    with HostileServer(handler, tls=server_context(ca, "127.0.0.1")) as server:
        async with AsyncAgentClient(
            "openai", base_url=server.url, record=False, verify=str(ca_bundle)
        ) as client:
            texts = [(await client.run("m", f"hi {n}")).text for n in range(3)]
    assert texts == ["hello"] * 3
    assert connections == 1


# ---- proxies, what is refused ---------------------------------------------------------------------
async def test_an_https_proxy_the_environment_exempts_is_not_used(
    tls_server: ServerHandle, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    status, _ = await run_once(tls_server, verify=str(ca_bundle))
    assert status == "completed"


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
