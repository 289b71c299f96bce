"""What Phoenix says when it refuses an export reaches the notebook without the Phoenix key: a
raw-socket server on 127.0.0.1 answering 401 with the Authorization header quoted back (as a
proxy's or a framework's error page may), and a body of two million characters."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentnb import ConfigurationError, evals
from agentnb.evals import to_phoenix

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
from agentnb_testing import said_on_page
from hostile_server import Conn, HostileServer, Request, http_head

KEY = "px-key1"
"""Shorter than the environment's rule for secrets (8): redacted because it is the key sent."""


async def echo_401(conn: Conn, request: Request) -> None:
    said = {"detail": f"invalid token in {request.headers.get('authorization')!r}"}
    body = json.dumps(said).encode() + b" " * 10 + b"y" * 2_000_000
    await conn.send(http_head("401 Unauthorized", {"Content-Type": "application/json"}) + body)


@pytest.mark.parametrize("given", ["argument", "environment"])
def test_a_refusal_quoting_the_phoenix_key_shows_no_key(
    given: str, connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    said_on_page("security.md", "Phoenix's answer to `to_phoenix`) is redacted of the key sent")
    exp = evals.experiment("px_refused", "echo", ["hi"], via=connection, progress=False)
    if given == "environment":
        monkeypatch.setenv("PHOENIX_API_KEY", KEY)
    with HostileServer(echo_401) as srv, pytest.raises(ConfigurationError) as caught:
        to_phoenix(exp, srv.url, api_key=KEY if given == "argument" else None)
    said = str(caught.value)
    assert f"Bearer {KEY}" in srv.requests[0].headers["authorization"]  # it was sent, and echoed
    assert KEY not in said and "***" in said
    assert "Phoenix refused GET /v1/datasets (401)" in said
    assert len(said) < 3_000
