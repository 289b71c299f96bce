"""Every dialect of the built-in server, read by an SSE parser that is not agentnb's
(``eventsource-parser``, npm) and by agentnb's decoder: the same events, data and ids."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from interop_testing import run_script

from agentnb.server import DIALECT_PROVIDERS, ServerHandle
from agentnb.sse import SSEDecoder

USER = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "NVDA and AAPL?"}]}


def request_for(client: httpx.Client, kind: str, agent: str) -> tuple[str, dict[str, Any]]:
    question = "NVDA and AAPL?"
    if kind in ("seekrflow", "seekrflow-vercel"):
        thread = client.post("/v1/threads", json={}).json()["id"]
        client.post(f"/v1/threads/{thread}/messages", json={"content": question})
        suffix = "/vercel" if kind == "seekrflow-vercel" else ""
        return f"/v1/threads/{thread}/runs/stream{suffix}", {"agent_id": agent}
    return {
        "runagent": (f"/v1/agents/{agent}/stream", {"query": question}),
        "operativus": (f"/api/agents/{agent}/runs/stream", {"message": question}),
        "runtools": ("/v1/run", {"agent": agent, "prompt": question}),
        "openai": (
            "/v1/chat/completions",
            {
                "model": agent,
                "messages": [{"role": "user", "content": question}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        ),
        "vercel": ("/api/chat", {"id": "c1", "agent": agent, "messages": [USER]}),
    }[kind]


def agentnb_events(raw: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    out: list[dict[str, Any]] = []
    retry: int | None = None
    for sse in [*decoder.feed(raw), *decoder.end()]:
        if sse.retry is not None and sse.retry != retry:
            retry = sse.retry
            out.append({"retry": retry})
        out.append({"event": sse.event, "data": sse.data, "id": sse.id or None})
    return out


def normalized(parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """eventsource-parser leaves ``event`` unset for the default type (agentnb says
    ``message``) and gives ``""`` for an id reset (agentnb has no id then)."""
    return [
        {**item, "event": item["event"] or "message", "id": item["id"] or None}
        if "event" in item
        else item
        for item in parsed
    ]


KINDS = list(DIALECT_PROVIDERS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("agent", ["finance_agent", "writer"])
def test_both_parsers_read_every_dialect_alike(
    node: str, server: ServerHandle, kind: str, agent: str
) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        path, body = request_for(client, kind, agent)
        raw = client.post(path, json=body).content
    independent = normalized(run_script(node, "sse_parse.mjs", "parse", stdin=raw))
    ours = agentnb_events(raw)
    assert not [item for item in independent if "error" in item]
    assert len(ours) > 3
    assert independent == ours


def test_both_parsers_read_awkward_framing_alike(node: str) -> None:
    raw = (
        b"\xef\xbb\xbfretry: 250\r\n: a comment\r\nevent: first\r\ndata: a\r\ndata:b\r\n\r\n"
        b"id: 7\ndata:  two spaces\n\nevent: ping\n\nid\ndata: id reset\n\ndata: \xc3\xa9\xe2\x82\xac"
        b"\n\ndata: no blank line at the end"
    )
    independent = normalized(run_script(node, "sse_parse.mjs", "parse", stdin=raw))
    assert independent == agentnb_events(raw)
