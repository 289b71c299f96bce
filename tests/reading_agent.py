"""A scripted Chat Completions agent that reads the notebook more than once in a run: its
first step calls ``notebook_variables``, its second ``notebook_describe(name="cfg")`` and
``notebook_error()`` together, then it answers ``done``. Which step a request is comes from
the request itself (the assistant turns it carries), so any number of runs may share it.
Serve it with ``agentnb_testing.serving_asgi(reading_agent)`` (base URL + ``/v1``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentnb_testing import asgi_body

__all__ = ["BODIES", "STEPS", "chat_agent", "chunk", "reading_agent"]

STEPS: list[list[tuple[str, dict[str, Any]]]] = [
    [("notebook_variables", {})],
    [("notebook_describe", {"name": "cfg"}), ("notebook_error", {})],
]
BODIES: list[dict[str, Any]] = []
"""Every request body the agent got, in order."""


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    return f"data: {json.dumps({**body, 'choices': [choice]})}\n\n".encode()


def _frames(body: dict[str, Any]) -> list[bytes]:
    step = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
    if step >= len(STEPS):
        return [chunk({"role": "assistant", "content": "done"}), chunk({}, "stop")]
    calls = [
        {"index": i, "id": f"read_{step}_{i}", "type": "function",
         "function": {"name": name, "arguments": json.dumps(arguments)}}
        for i, (name, arguments) in enumerate(STEPS[step])
    ]  # fmt: skip
    return [chunk({"role": "assistant", "tool_calls": calls}), chunk({}, "tool_calls")]


def chat_agent(frames: Callable[[dict[str, Any]], list[bytes]]) -> Any:
    """A scripted Chat Completions agent as an ASGI app: each POST's body (parsed) gets the
    SSE ``frames`` it makes, then ``[DONE]``; a listing of models gets a 404."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = await asgi_body(scope, receive, send)
        if raw is None:
            return
        if scope["method"] != "POST":  # a listing of models: it has none
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        head = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        for frame in [*frames(json.loads(raw)), b"data: [DONE]\n\n"]:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def _read(body: dict[str, Any]) -> list[bytes]:
    BODIES.append(body)
    return _frames(body)


reading_agent = chat_agent(_read)
"""The ASGI app."""
