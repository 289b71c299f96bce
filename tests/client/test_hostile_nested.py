"""A raw-socket SeekrFlow server streams nested sub-agent parts at their edges: a path to no
known call, a path 50 calls deep, parallel nested calls reusing ids under different parents."""

from __future__ import annotations

import json
from typing import Any

from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb._client.client import AsyncAgentClient

DEEP = [f"d{i}" for i in range(50)]


def nested(chunk: dict[str, Any], path: list[str]) -> dict[str, Any]:
    data = {"toolCallPath": path, "depth": len(path), "sourceToolName": "ask", "chunk": chunk}
    return {"type": "data-nestedToolEvent", "data": data}


def started(call_id: str, name: str = "look") -> dict[str, Any]:
    return {"type": "tool-input-available", "toolCallId": call_id, "toolName": name, "input": {}}


def finished(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "tool-output-available", "toolCallId": call_id, "output": output}


RUN = [
    {"type": "start", "messageId": "m1"},
    started("a", "ask"),
    started("b", "ask"),
    nested(started("same"), ["a", "same"]),
    nested(started("same"), ["b", "same"]),
    nested(finished("same", "from b"), ["b", "same"]),
    nested(finished("same", "from a"), ["a", "same"]),
    nested({"type": "text-delta", "id": "x", "delta": "orphan"}, ["ghost", "gone"]),
    nested(started("d49", "deep"), DEEP),
    {"type": "text-delta", "id": "t", "delta": "done"},
    {"type": "finish"},
]


async def seekrflow(conn: Conn, request: Request) -> None:
    if request.path == "/v1/threads":
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b'{"id": "t1"}')
    elif request.path.endswith("/stream/vercel"):
        body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in RUN)
        await conn.send(sse_head() + body.encode())
    else:
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"[]")


async def test_nested_edges_read_as_a_tree_and_lose_nothing() -> None:
    with HostileServer(seekrflow) as srv:
        async with AsyncAgentClient(
            "seekrflow-vercel", base_url=srv.url, record=False, max_retries=0
        ) as client:
            run = await client.run("agent", "hi")
    assert run.status == "completed" and run.text == "done"
    outputs = {c.call_id: (c.parent_call_id, c.output) for c in run.tool_calls}
    assert outputs["a/same"] == ("a", "from a") and outputs["b/same"] == ("b", "from b")
    orphan = run.tool_call("ghost/gone")
    assert orphan is not None and orphan.agent_text == "orphan"
    deep = run.tool_call("/".join(DEEP))
    assert deep is not None and deep.name == "deep" and deep.depth == 1
    assert deep.parent_call_id == "/".join(DEEP[:-1])
