"""What the notebook's MCP server keeps of an untrusted client stays bounded: a call whose
arguments are huge is refused and kept cut, once (not whole in ``srv.calls`` and again in
the run); and the MCP sessions open stay under a cap, the least lately used ended first.
Served on 127.0.0.1 by the real server (:func:`serve_http`) over :class:`ServedCalls` and a
kernel's namespace as the context tools read it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PATIENCE_S

from agentnb._app.context import mcp_http
from agentnb._app.context.context_tools import Kernel
from agentnb._app.context.served_calls import ARGUMENTS_CHARS, ServedCalls
from agentnb._core.handle import RunHandle

TOKEN = "a-token-for-the-bounds-test-0123456789"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedCalls]:
    kernel = Kernel(namespace={"sales": [1, 2, 3]}, cwd=tmp_path)
    served = ServedCalls(kernel, "http://127.0.0.1:1/mcp", True)
    handle = RunHandle.start(lambda: served, run=served.run)
    yield served
    served.end()
    handle.wait(PATIENCE_S)


def test_a_call_with_huge_arguments_is_refused_and_kept_cut_once(served: ServedCalls) -> None:
    huge = {"name": "x" * 2_000_000}
    result = served.submit("notebook_describe", huge, "a flooding client").result(PATIENCE_S)
    assert result.failed and "past 4,000" in result.text
    [kept] = served.calls
    [card] = served.run.tool_calls
    assert len(json.dumps(kept.arguments)) <= ARGUMENTS_CHARS + 100
    assert len(json.dumps(card.arguments)) <= ARGUMENTS_CHARS + 100
    assert card.status == "failed"
    small = served.submit("notebook_describe", {"name": "sales"}, "a client").result(PATIENCE_S)
    assert not small.failed  # the server serves on


def opened(client: httpx.Client, url: str) -> str:
    """A new MCP session (an initialize): its id."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "a session opener", "version": "1"},
        },
    }
    answer = client.post(url, json=initialize)
    assert answer.status_code == 200, answer.text
    return answer.headers["mcp-session-id"]


def pinged(client: httpx.Client, url: str, session: str) -> int:
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    return client.post(url, json=ping, headers={"mcp-session-id": session}).status_code


def test_sessions_past_the_cap_end_the_least_lately_used(served: ServedCalls) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    server = mcp_http.serve_http(sock, TOKEN, served.declarations(), served.submit)
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Accept": "application/json, text/event-stream",
    }
    try:
        with httpx.Client(headers=headers, timeout=PATIENCE_S) as client:
            sessions = [opened(client, server.url) for _ in range(mcp_http.MAX_SESSIONS)]
            assert pinged(client, server.url, sessions[0]) == 200  # the first: used lately
            more = [opened(client, server.url) for _ in range(3)]
            codes = {s: pinged(client, server.url, s) for s in [*sessions, *more]}
    finally:
        server.stop()
    ended = [s for s, code in codes.items() if code == 404]
    assert ended == sessions[1:4]  # the three used least lately, not the first
    assert all(codes[s] == 200 for s in [sessions[0], *sessions[4:], *more])
