"""A client tool's rounds are bounded: an agent that calls the notebook's function after
every result (a real Chat Completions stream on 127.0.0.1 that always asks for the tool) is
run ``MAX_ROUNDS`` times, told once to answer with what it has, and then the run ends
``interrupted`` instead of sending requests to the platform forever."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import asgi_body, serving_asgi
from chat_chunks import chat_chunk

import agentnb
from agentnb._core.client_tools import MAX_ROUNDS

REQUESTS: list[dict[str, Any]] = []


async def _always_calls(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = await asgi_body(scope, receive, send)
    if body is None:
        return
    REQUESTS.append(json.loads(body))
    call = {"index": 0, "id": f"call_{len(REQUESTS)}", "type": "function",
            "function": {"name": "lookup", "arguments": "{}"}}  # fmt: skip
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    for frame in (
        chat_chunk({"role": "assistant", "tool_calls": [call]}),
        chat_chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ):
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(_always_calls) as base:
        yield f"{base}/v1"


def test_an_agent_that_never_stops_calling_ends_after_the_last_round(url: str) -> None:
    ran: list[int] = []

    def lookup() -> str:
        """Look something up."""
        ran.append(1)
        return "found"

    REQUESTS.clear()
    client = agentnb.AgentClient("openai", base_url=url, api_key="k", record=False)
    with client, pytest.raises(agentnb.RunInterruptedError) as ended:
        client.run("m", "look it up", tools=[lookup])
    assert len(ran) == MAX_ROUNDS  # the function ran once a round, up to the cap
    assert len(REQUESTS) == MAX_ROUNDS + 2  # one more round told it to answer; then no more
    told = REQUESTS[-1]["messages"][-1]
    assert told["role"] == "tool" and "answer with what you have" in told["content"]
    assert "again after" in str(ended.value)
    run = ended.value.run
    assert run is not None and run.status == "interrupted"
