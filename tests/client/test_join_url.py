"""Every request URL is ``join_url(base_url, path)``: no join adds a trailing slash or drops
a part of the path the user gave (a server behind a path answers ``/agent/`` with a 307)."""

from __future__ import annotations

import pytest

from agentnb._client.transport import join_url


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("http://h/agents/a", "", "http://h/agents/a"),
        ("http://h/agents/a/", "", "http://h/agents/a/"),
        ("http://h:9", "", "http://h:9"),
        ("http://h/v1", "/chat/completions", "http://h/v1/chat/completions"),
        ("http://h/v1/", "/chat/completions", "http://h/v1/chat/completions"),
        ("http://h/v1", "models", "http://h/v1/models"),
        ("http://h", "/a2a/echo", "http://h/a2a/echo"),
        ("http://h/deploy?api-version=2", "/chat", "http://h/deploy/chat?api-version=2"),
        ("http://h/x", "https://other/rpc", "https://other/rpc"),
    ],
)
def test_join_keeps_the_given_path(base: str, path: str, url: str) -> None:
    assert join_url(base, path) == url
