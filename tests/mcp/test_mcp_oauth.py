"""``mcp_tools(url=..., auth="oauth")`` against an MCP server behind OAuth 2.1 built with the
``mcp`` SDK's auth pieces (``oauth_server.py``, uvicorn on 127.0.0.1): the link is shown, the
test opens it as the person would (the authorization server approves at once and sends the
browser back to agentnb's listener on 127.0.0.1), the tool is called, the token is refreshed
when it runs out, the key file is 0600 and the tokens are secrets, and ``mcp_logout`` forgets
them. A server that says it is another resource (a token for another audience) is refused.
Another host (``localhost`` or 127.0.0.2 beside 127.0.0.1, one listener): an authorization
server there works and gets none of the server's headers, nor tokens kept from another;
metadata naming another issuer, a redirect of the server to another host, and endpoints over
plain http elsewhere are refused."""

from __future__ import annotations

import contextlib
import re
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from agentnb_testing import PATIENCE_S, free_port, wait_until
from oauth_server import Provider, Seen, oauth_app

import agentnb
from agentnb import ConfigurationError
from agentnb._core.secrets import redact
from agentnb.types import OAuth

LINK = re.compile(r"open this link and sign in \(agentnb does not open it\):\n(\S+)")


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "agentnb" / "mcp-keys.json"
    monkeypatch.setenv("AGENTNB_MCP_KEYS", str(path))
    return path


@contextlib.contextmanager
def vault(provider: Provider, audience: str | None = None) -> Iterator[str]:
    """The OAuth-protected server on 127.0.0.1: its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(
        oauth_app(base, provider, audience), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the OAuth server started")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(PATIENCE_S)


@contextlib.contextmanager
def person(
    capsys: pytest.CaptureFixture[str], before: Callable[[str], None] = lambda link: None
) -> Iterator[list[str]]:
    """Someone who opens each link agentnb shows (and signs in: the server approves at
    once), ``before`` done first: the links they were shown."""
    shown: list[str] = []
    done = threading.Event()

    def watch() -> None:
        said = ""
        while not done.is_set():
            said += capsys.readouterr().out
            for link in LINK.findall(said)[len(shown) :]:
                shown.append(link)
                before(link)
                httpx.get(link, follow_redirects=True, timeout=PATIENCE_S)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield shown
    finally:
        done.set()
        watcher.join(PATIENCE_S)


def balance(tools: agentnb.types.McpTools) -> Any:
    import asyncio

    [tool] = tools
    assert tool.function is not None and tool.user_loop is not None
    return asyncio.run_coroutine_threadsafe(
        tool.function(account="savings"), tool.user_loop
    ).result(PATIENCE_S)


def test_signs_in_calls_refreshes_and_logs_out(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = Provider(lifetime=4)
    with vault(provider) as base, person(capsys) as links:
        url = f"{base}/mcp"
        with agentnb.mcp_tools(url=url, auth="oauth") as tools:
            assert [t.name for t in tools] == ["vault__balance"]
            assert balance(tools) == "savings: 1,234.56 USD"
            [link] = links
            assert link.startswith(f"{base}/authorize?")
            assert [r.split(":")[1] for r in provider.redirects] == ["//127.0.0.1"]
            kept = keys.read_text()
            [token] = provider.access
            assert token in kept
            assert redact(f"Bearer {token}") == "Bearer ***", "the token is a secret"
            assert stat.S_IMODE(keys.stat().st_mode) == 0o600
            assert stat.S_IMODE(keys.parent.stat().st_mode) == 0o700
            expires = time.time() + provider.lifetime + 1
            wait_until(lambda: time.time() > expires, "the token ran out", timeout=PATIENCE_S)
            assert balance(tools) == "savings: 1,234.56 USD"
            assert provider.refreshed == 1, "refreshed, not signed in again"
            assert len(links) == 1
        with agentnb.mcp_tools(url=url, auth="oauth") as tools:
            assert balance(tools) == "savings: 1,234.56 USD"
            assert len(links) == 1, "the kept tokens are used: no sign-in"
        assert agentnb.mcp_logout(url) is True
        assert url not in keys.read_text()
        assert agentnb.mcp_logout(url) is False
        with agentnb.mcp_tools(url=url, auth="oauth") as tools:
            assert balance(tools) == "savings: 1,234.56 USD"
        assert len(links) == 2, "logged out: signed in again"


def test_a_callback_without_the_flows_state_ends_no_sign_in(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any process on this machine can reach the listener: one that calls it first, with a
    code of its own and without the state the link carries, is turned away."""
    said: list[int] = []

    def forge(link: str) -> None:
        query = parse_qs(urlsplit(link).query)
        callback = query["redirect_uri"][0]
        for state in ("guessed", ""):
            forged = httpx.get(f"{callback}?code=forged&state={state}", timeout=PATIENCE_S)
            said.append(forged.status_code)

    with vault(Provider()) as base, person(capsys, forge) as links:
        with agentnb.mcp_tools(url=f"{base}/mcp", auth="oauth") as tools:
            assert balance(tools) == "savings: 1,234.56 USD"
        assert len(links) == 1
    assert said == [400, 400]


def test_a_server_that_says_it_is_another_resource_is_refused(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = Provider()
    with (
        vault(provider, audience="/payments") as base,
        person(capsys) as links,
        pytest.raises(ConfigurationError, match="could not start") as refused,
    ):
        agentnb.mcp_tools(url=f"{base}/mcp", auth="oauth")
    assert f"{base}/payments" in str(refused.value), refused.value
    assert links == [] and provider.access == {}, "no token was asked for"


def test_auth_is_oauth_and_goes_with_a_url() -> None:
    with pytest.raises(ConfigurationError, match='auth= is "oauth", an OAuth'):
        agentnb.mcp_tools(url="http://127.0.0.1:9/mcp", auth="basic")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="go with url="):
        agentnb.mcp_tools(command=["server"], auth="oauth")
    with pytest.raises(ConfigurationError, match="go with url="):
        agentnb.mcp_tools(command=["server"], auth=OAuth(client_id="notebook"))


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"client_id": ""}, r"OAuth\(client_id=\) is a text"),
        ({"client_secret": "s3cret"}, "goes with the client_id= it is for"),
        ({"client_id": "c", "redirect_port": 70000}, "is a port number"),
        ({"client_metadata_url": "http://example.org/client.json"}, "an https URL with a path"),
        ({"client_metadata_url": "https://example.org/"}, "an https URL with a path"),
    ],
)
def test_a_wrong_oauth_client_is_said_before_anything_is_sent(
    given: dict[str, Any], said: str
) -> None:
    with pytest.raises(ConfigurationError, match=said):
        OAuth(**given)


def test_a_client_secret_is_a_secret_and_a_taken_redirect_port_is_said(keys: Path) -> None:
    """The secret never shows in what agentnb writes; a redirect port registered with the
    client but taken by another listener is said before any link is shown."""
    OAuth(client_id="notebook", client_secret="pre-registered-s3cret")
    assert "pre-registered-s3cret" not in redact("sent pre-registered-s3cret")
    with contextlib.closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"redirect port {port} on 127.0.0.1 is taken"):
            agentnb.mcp_tools(
                url="http://127.0.0.1:9/mcp", auth=OAuth(client_id="notebook", redirect_port=port)
            )


# ---- another host ----------------------------------------------------------------------------
# One listener on 127.0.0.1 answers both names; ``localhost`` (or 127.0.0.2) is "another host"
# by its name in the URL, as a browser and an HTTP client tell origins apart.


@contextlib.contextmanager
def served(app: Any, port: int) -> Iterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the OAuth server started")
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(PATIENCE_S)


def test_an_authorization_server_on_another_host_gets_none_of_the_server_s_headers(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The resource's metadata may name an authorization server elsewhere (MCP's
    authorization, RFC 9728): signing in there works, and the headers given for the MCP
    server (a key) go to the MCP server's origin only."""
    provider, seen, port = Provider(), Seen(), free_port()
    base, elsewhere = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    app = oauth_app(base, provider, issuer=elsewhere, seen=seen)
    with served(app, port), person(capsys) as links:
        url = f"{base}/mcp"
        headers = {"X-Api-Key": "k-4f1d9b2c7a"}
        with agentnb.mcp_tools(url=url, auth="oauth", headers=headers) as tools:
            assert balance(tools) == "savings: 1,234.56 USD"
        [link] = links
        assert link.startswith(f"{elsewhere}/authorize?")
    there = seen.to(f"localhost:{port}")
    assert {path for path, _ in there} >= {"/register", "/token"}, there
    assert all("x-api-key" not in sent for _, sent in there), "the key stays with the server"
    assert all(
        sent.get("x-api-key") == "k-4f1d9b2c7a"
        for path, sent in seen.to(f"127.0.0.1:{port}")
        if path == "/mcp"
    )


def test_metadata_naming_another_host_as_its_issuer_is_refused(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RFC 8414 (3.3): the authorization server's metadata names the issuer it was asked for,
    or it is not used: nobody is shown a link, no client is registered."""
    provider, port = Provider(), free_port()
    base = f"http://127.0.0.1:{port}"
    app = oauth_app(base, provider, claims_issuer=f"http://127.0.0.2:{port}")
    with (
        served(app, port),
        person(capsys) as links,
        pytest.raises(ConfigurationError, match="could not start") as refused,
    ):
        agentnb.mcp_tools(url=f"{base}/mcp", auth="oauth")
    assert "127.0.0.2" in str(refused.value), refused.value
    assert links == [] and provider.clients == {} and provider.access == {}


def test_a_server_that_redirects_to_another_host_is_refused_and_its_token_stays(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed in, the MCP server's URL redirects to the same server under another host name:
    the request is not sent there (the token would go with it): refused, saying where."""
    provider, seen, port = Provider(), Seen(), free_port()
    base = f"http://127.0.0.1:{port}"
    app = oauth_app(base, provider, moved_to=f"http://localhost:{port}/mcp", seen=seen)
    with served(app, port), person(capsys):
        with agentnb.mcp_tools(url=f"{base}/mcp", auth="oauth") as tools:
            assert balance(tools) == "savings: 1,234.56 USD"
        with pytest.raises(ConfigurationError, match="could not start") as refused:
            agentnb.mcp_tools(url=f"{base}/moved", auth="oauth")
    assert f"localhost:{port}" in str(refused.value), refused.value
    assert seen.to(f"localhost:{port}") == [], "nothing went to the other host"


def test_kept_tokens_never_go_to_an_authorization_server_on_another_host(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tokens kept from one authorization server, and the server then names another (on
    another host): neither the refresh token nor the access token goes there; the person
    signs in there anew."""
    port = free_port()
    base, elsewhere = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    url = f"{base}/mcp"
    first = Provider(lifetime=2)
    with served(oauth_app(base, first), port), person(capsys) as links:
        with agentnb.mcp_tools(url=url, auth="oauth") as tools:
            assert balance(tools) == "savings: 1,234.56 USD"
        assert len(links) == 1
    [kept_refresh] = first.refresh
    [kept_access] = first.access
    wait_until(lambda: time.time() > first.access[kept_access].expires_at + 1, "expiry", PATIENCE_S)
    seen, second = Seen(), Provider()
    with (
        served(oauth_app(base, second, issuer=elsewhere, seen=seen), port),
        person(capsys) as links,
        agentnb.mcp_tools(url=url, auth="oauth") as tools,
    ):
        assert balance(tools) == "savings: 1,234.56 USD"
        assert [link.startswith(f"{elsewhere}/authorize?") for link in links] == [True]
    sent = b"".join(body for host, _, body in seen.bodies if host == f"localhost:{port}")
    headers = str(seen.to(f"localhost:{port}"))
    assert kept_refresh.encode() not in sent and kept_refresh not in headers
    assert kept_access.encode() not in sent and kept_access not in headers


@pytest.mark.parametrize("moved", [(), ("authorization_endpoint",)], ids=["all", "the link"])
def test_endpoints_over_plain_http_on_another_host_are_refused_unasked(
    keys: Path, capsys: pytest.CaptureFixture[str], moved: tuple[str, ...]
) -> None:
    """MCP's authorization (OAuth 2.1, 1.5): an authorization server's endpoints are https,
    or on this machine. Metadata that sends the registration, the person and the code over
    plain http to another host is refused before anything goes there or a link shows."""
    provider, port = Provider(), free_port()
    base = f"http://127.0.0.1:{port}"
    app = oauth_app(base, provider, endpoints_at="http://auth.invalid", moved_endpoints=moved)
    with (
        served(app, port),
        person(capsys) as links,
        pytest.raises(ConfigurationError, match="could not start") as refused,
    ):
        agentnb.mcp_tools(url=f"{base}/mcp", auth="oauth")
    assert "auth.invalid over plain http" in str(refused.value), refused.value
    assert links == [] and provider.access == {}, "auth.invalid never resolves: nothing went"


def test_a_sign_in_nobody_finishes_is_said_once_without_the_sdks_traceback(
    keys: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody opens the link: agentnb's own message says so, and the SDK's logged traceback
    of the same failure ("OAuth flow error") is not printed above it."""
    monkeypatch.setattr("agentnb._app.mcp.mcp_oauth.AUTHORIZE_TIMEOUT", 1.0)
    with vault(Provider()) as base, pytest.raises(ConfigurationError) as refused:
        agentnb.mcp_tools(url=f"{base}/mcp", auth="oauth")
    assert "nobody signed in within 1 s" in str(refused.value)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("mcp")] == []
