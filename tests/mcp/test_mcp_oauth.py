"""``mcp_tools(url=..., auth="oauth")`` against an MCP server behind OAuth 2.1 built with the
``mcp`` SDK's auth pieces (``oauth_server.py``, uvicorn on 127.0.0.1): the link is shown, the
test opens it as the person would (the authorization server approves at once and sends the
browser back to agentnb's listener on 127.0.0.1), the tool is called, the token is refreshed
when it runs out, the key file is 0600 and the tokens are secrets, and ``mcp_logout`` forgets
them. A server that says it is another resource (a token for another audience) is refused."""

from __future__ import annotations

import contextlib
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from agentnb_testing import PATIENCE_S, free_port, wait_until
from oauth_server import Provider, oauth_app

import agentnb
from agentnb import ConfigurationError
from agentnb._core.secrets import redact

pytestmark = pytest.mark.timeout(300)

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
def person(capsys: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    """Someone who opens each link agentnb shows (and signs in: the server approves at
    once): the links they were shown."""
    shown: list[str] = []
    done = threading.Event()

    def watch() -> None:
        said = ""
        while not done.is_set():
            said += capsys.readouterr().out
            for link in LINK.findall(said)[len(shown) :]:
                shown.append(link)
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
            wait_until(lambda: time.time() > expires, "the token ran out", timeout=30)
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
    with pytest.raises(ConfigurationError, match='auth= is "oauth" or None'):
        agentnb.mcp_tools(url="http://127.0.0.1:9/mcp", auth="basic")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="go with url="):
        agentnb.mcp_tools(command=["server"], auth="oauth")
