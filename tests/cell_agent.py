"""A scripted Chat Completions agent that works in the notebook through agentnb's notebook
tools: it lists the cells, adds a cell that prints, edits it (naming the hash the add gave),
runs it, and answers quoting what the cell printed. Each step is read from the request itself
(the last tool result it carries), so any number of runs may share it; a denial or an error
ends the run with an answer that quotes it. Serve it with
``agentnb_testing.serving_asgi(cell_agent)`` (base URL + ``/v1``)."""

from __future__ import annotations

import json
import re
from typing import Any

from agentnb_testing import asgi_body

__all__ = ["ADDED", "EDITED", "cell_agent"]

ADDED = "print('agent was here')"
EDITED = "print('agent was here', 6 * 7)"
_NAMED = re.compile(r"cell (\S+) \(source hash ([0-9a-f]{16})\)")


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()


def _answer(text: str) -> list[bytes]:
    return [_chunk({"role": "assistant", "content": text}), _chunk({}, "stop")]


def _call(name: str, arguments: dict[str, Any], step: int) -> list[bytes]:
    call = {"index": 0, "id": f"cell_{step}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip
    return [_chunk({"role": "assistant", "tool_calls": [call]}), _chunk({}, "tool_calls")]


def _frames(body: dict[str, Any]) -> list[bytes]:
    messages = body.get("messages", [])
    step = sum(1 for m in messages if m.get("role") == "assistant")
    last = str(messages[-1].get("content", "")) if step else ""
    if step == 0:
        return _call("notebook_list_cells", {}, step)
    if step == 1:
        return _call("notebook_add_cell", {"source": ADDED}, step)
    named = _NAMED.search(last)
    if step in (2, 3) and named is not None:
        cell_id, seen = named.groups()
        if step == 2:
            arguments = {"cell_id": cell_id, "source": EDITED, "source_hash": seen}
            return _call("notebook_edit_cell", arguments, step)
        return _call("notebook_run_cell", {"cell_id": cell_id, "source_hash": seen}, step)
    printed = [line for line in last.splitlines() if "agent was here" in line]
    return _answer(f"The cell printed: {printed[0]}" if printed else f"Stopped: {last[:300]}")


async def cell_agent(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI app."""
    raw = await asgi_body(scope, receive, send)
    if raw is None:
        return
    if scope["method"] != "POST":  # a listing of models: it has none
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    for frame in [*_frames(json.loads(raw)), b"data: [DONE]\n\n"]:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
