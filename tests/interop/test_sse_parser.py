"""Every dialect of the built-in server, read by an SSE parser that is not agentnb's
(``eventsource-parser``, npm) and by agentnb's decoder: the same events, data and ids."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, TLS, run_request
from interop_testing import run_script

from agentnb.server import DIALECT_PROVIDERS, ServerHandle
from agentnb.sse import SSEDecoder


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
    with httpx.Client(
        base_url=server.base_url, headers=headers, timeout=PATIENCE_S, verify=TLS
    ) as client:
        path, body = run_request(client, kind, agent, "NVDA and AAPL?")
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
