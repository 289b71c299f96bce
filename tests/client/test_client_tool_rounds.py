"""A client tool's rounds are bounded: an agent that calls the notebook's function after
every result (a real Chat Completions stream on 127.0.0.1 that always asks for the tool) is
run ``MAX_ROUNDS`` times, told once to answer with what it has, and then the run ends
``interrupted`` instead of sending requests to the platform forever."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

import agentnb
from agentnb._core.client_tools import MAX_ROUNDS

REQUESTS: list[dict[str, Any]] = []


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()


async def _always_calls(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    REQUESTS.append(json.loads(body))
    call = {"index": 0, "id": f"call_{len(REQUESTS)}", "type": "function",
            "function": {"name": "lookup", "arguments": "{}"}}  # fmt: skip
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    for frame in (
        _chunk({"role": "assistant", "tool_calls": [call]}),
        _chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ):
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_always_calls, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


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
