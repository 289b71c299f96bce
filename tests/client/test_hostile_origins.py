"""The key goes only where the person sent it: to the origin (scheme, host, port) of the
base URL they gave, and to origins they trusted by name (``trusted_origins=``).

Raw-socket servers on 127.0.0.1 play the platform. An A2A agent card names its JSON-RPC
endpoint on another port, another host name or over ``http://`` when the person gave
``https://``: the run reaches it without ``Authorization`` (or the dialect's header) and
without the connection's ``headers=``, and the error the other side answers says why and
how to allow it. A platform that answers with a redirect, in every dialect, is not followed
with the key, even by an ``http_client`` of the person's own that follows redirects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import said_on_page
from hostile_server import Conn, HostileServer, Request, http_head

from agentnb._app.front.connections import connect, disconnect
from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.origins import checked_origins
from agentnb._core.exceptions import AgentNBError, AuthenticationError, ConfigurationError
from agentnb.providers import available_providers

trustme = pytest.importorskip("trustme")

KEY = "sk-origin-test-0123456789"


def _json(status: str, body: Any) -> bytes:
    data = json.dumps(body).encode()
    head = http_head(status, {"Content-Type": "application/json", "Content-Length": str(len(data))})
    return head + data


async def _refuse(conn: Conn, request: Request) -> None:
    """The other side: 401 to everything (what it received is in ``requests``)."""
    await conn.send(_json("401 Unauthorized", {"error": {"message": "no key"}}))


def _card_server(endpoint: str, tls: ssl.SSLContext | None = None) -> HostileServer:
    async def handle(conn: Conn, request: Request) -> None:
        if request.path.startswith("/.well-known/agent"):
            card = {
                "name": "elsewhere",
                "url": endpoint,
                "preferredTransport": "JSONRPC",
                "protocolVersion": "0.3.0",
            }
            await conn.send(_json("200 OK", card))
        else:
            await _refuse(conn, request)

    return HostileServer(handle, tls=tls)


@pytest.fixture
def other() -> Iterator[HostileServer]:
    with HostileServer(_refuse) as server:
        yield server


def _run(base_url: str, **options: Any) -> AgentNBError:
    async def go() -> AgentNBError:
        async with AsyncAgentClient(
            "a2a", base_url=base_url, api_key=KEY, record=False, max_retries=0, **options
        ) as client:
            with pytest.raises(AgentNBError) as caught:
                await client.run("elsewhere", "hi")
            return caught.value

    return asyncio.run(go())


def test_a_card_naming_another_port_gets_no_key(
    other: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="agentnb"),
        _card_server(f"{other.url}/rpc") as home,
    ):
        error = _run(home.url, headers={"X-Team": "team-secret"})
    [card] = home.requests
    assert card.headers["authorization"] == f"Bearer {KEY}"  # the person's origin: keyed
    [sent] = other.requests
    assert sent.path == "/rpc"
    assert "authorization" not in sent.headers
    assert "x-team" not in sent.headers
    assert KEY not in repr(sent)
    assert isinstance(error, AuthenticationError)
    assert f"the key was not sent to {other.url}" in str(error)
    assert f"trusted_origins=['{other.url}']" in str(error)
    assert f"the key was not sent to {other.url}" in caplog.text


def test_a_trusted_origin_gets_the_key(other: HostileServer) -> None:
    with _card_server(f"{other.url}/rpc") as home:
        error = _run(home.url, trusted_origins=[other.url + "/"])
    [sent] = other.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert "not sent" not in str(error)


def test_another_host_name_for_the_same_server_gets_no_key() -> None:
    async def handle(conn: Conn, request: Request) -> None:
        if request.path.startswith("/.well-known/agent"):
            card = {"name": "x", "url": f"http://localhost:{server.port}/rpc"}
            await conn.send(_json("200 OK", card))
        else:
            await _refuse(conn, request)

    with HostileServer(handle) as server:
        error = _run(server.url)
    card, sent = server.requests
    assert card.headers["authorization"] == f"Bearer {KEY}"
    assert sent.path == "/rpc" and "authorization" not in sent.headers
    assert f"http://localhost:{server.port}" in str(error)


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


def test_plain_http_named_by_an_https_card_gets_no_key(
    ca: Any, other: HostileServer, tmp_path: Path
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with _card_server(f"{other.url}/rpc", tls=context) as home:
        assert home.url.startswith("https://")
        error = _run(home.url, verify=str(bundle))
    assert home.requests[0].headers["authorization"] == f"Bearer {KEY}"
    [sent] = other.requests
    assert "authorization" not in sent.headers
    assert f"the key was not sent to {other.url}" in str(error)


OPTIONS: dict[str, dict[str, Any]] = {"a2a": {"provider_options": {"path": ""}}}


HTTP_DIALECTS = sorted(n for n, cls in available_providers().items() if cls.wire == "http")
"""The dialects that reach a URL (an ACP agent is a process: no redirect, no key)."""


@pytest.mark.parametrize("name", HTTP_DIALECTS)
@pytest.mark.parametrize("own_client", [False, True])
def test_a_redirect_is_not_followed_with_the_key(
    other: HostileServer, name: str, own_client: bool
) -> None:
    """Every dialect: a platform answering with a redirect elsewhere does not get the key
    (or ``headers=``) carried there, even by an ``http_client`` that follows redirects."""

    async def redirect(conn: Conn, request: Request) -> None:
        head = http_head("307 Temporary Redirect", {"Location": f"{other.url}/stolen"})
        await conn.send(head.replace(b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n"))

    async def go(base_url: str) -> AgentNBError:
        given = httpx.AsyncClient(follow_redirects=True) if own_client else None
        try:
            async with AsyncAgentClient(
                name,
                base_url=base_url,
                api_key=KEY,
                record=False,
                max_retries=0,
                headers={"X-Team": "team-secret"},
                http_client=given,
                **OPTIONS.get(name, {}),
            ) as client:
                with pytest.raises(AgentNBError) as caught:
                    await client.run("agent", "hi", thread_id=None)
                return caught.value
        finally:
            if given is not None:
                await given.aclose()

    with HostileServer(redirect) as home:
        error = asyncio.run(go(home.url))
    assert home.requests, "the platform was asked"
    assert other.requests == []
    assert "307" in str(error) and f"{other.url}/stolen" in str(error)


@pytest.mark.parametrize(
    "given",
    [
        "https://a.example",
        ["https://a.example", "ftp://b.example"],
        ["https://a.example/v1"],
        ["https://user@a.example"],
        ["https://a.example?x=1"],
        ["a.example"],
        [42],
    ],
)
def test_trusted_origins_are_checked_once_at_connect(given: Any) -> None:
    with pytest.raises(ConfigurationError, match="trusted_origins"):
        checked_origins(given)
    with pytest.raises(ConfigurationError, match="trusted_origins"):
        connect("a2a", base_url="http://127.0.0.1:9", name="origins", trusted_origins=given)
    disconnect("origins")


def test_an_origin_is_scheme_host_and_port() -> None:
    assert checked_origins(["https://A.example", "http://a.example:8080/"]) == {
        ("https", "a.example", 443),
        ("http", "a.example", 8080),
    }


@pytest.mark.parametrize("own_client", [False, True])
@pytest.mark.parametrize("dialect", ["ag-ui", "a2a", "openai"])
async def test_the_probe_for_a_known_framework_outside_the_base_path_carries_no_key(
    dialect: str, own_client: bool
) -> None:
    """A 404 on the base path the person gave: agentnb asks the host's root whether it is
    Google ADK (``GET /list-apps``), to say which dialect to use; that request is outside
    the path the key was given for, so it carries neither the key nor ``headers=``, nor an
    ``http_client``'s own credentials (its ``auth=`` and default headers)."""
    said_on_page(
        "security.md",
        "A request agentnb makes of its own accord goes with them only below your `base_url`'s "
        "path: after a 404, the host's root is asked whether it is Google ADK (`GET "
        "/list-apps`, to suggest the `adk` dialect) without the key, your headers or an "
        "`http_client`'s credentials, since another path on a shared host may be another "
        "service.",
    )

    async def handle(conn: Conn, request: Request) -> None:
        if request.path == "/list-apps":
            await conn.send(_json("200 OK", ["calc"]))
        else:
            await conn.send(_json("404 Not Found", {"detail": "Not Found"}))

    own = httpx.AsyncClient(
        auth=httpx.BasicAuth("bob", "client-auth-0123456789"),
        headers={"X-API-Key": "client-header-0123456789"},
    )
    with HostileServer(handle) as srv:
        async with (
            own,
            AsyncAgentClient(
                dialect,
                base_url=f"{srv.url}/tenant/agents",
                api_key=KEY,
                headers={"X-Tenant-Secret": "tenant-0123456789"},
                record=False,
                max_retries=0,
                http_client=own if own_client else None,
            ) as client,
        ):
            with pytest.raises(AgentNBError) as caught:
                await client.run("calc", "hello")
    assert "use the `adk` dialect" in str(caught.value)
    sent = [r for r in srv.requests if r.path.startswith("/tenant/agents")]
    carried = "Ym9iOmNsaWVudC1hdXRo" if own_client else KEY  # the client's auth= wins there
    assert sent and all(carried in str(r.headers) for r in sent)  # the person's path: with it
    [probe] = [r for r in srv.requests if r.path == "/list-apps"]
    for secret in (KEY, "tenant-0123456789", "client-header-0123456789", "Ym9iOmNsaWVudC1hdXRo"):
        assert secret not in str(probe.headers)
    assert not {"authorization", "x-tenant-secret", "x-api-key"} & set(probe.headers)
