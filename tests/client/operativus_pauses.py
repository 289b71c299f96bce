"""A raw-socket server on 127.0.0.1 that pauses an Operativus run for approval, built from
the frames a test writes (``START``, ``TOOL_START``, ``APPROVAL_REQUIRED``, ``PAUSED``,
``TOOL_END``, ``STOP``), and the client that runs against it: the pieces the tests of broken
approval frames, decisions and questions share."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb._client.async_client import AsyncAgentClient

__all__ = [
    "ASKING",
    "FINISH",
    "FINISH_C1",
    "KEY",
    "PAUSE_FOR_C1",
    "START",
    "Answer",
    "approval_required",
    "client",
    "decision_posts",
    "frame",
    "paused",
    "paused_run",
    "tool_start",
]

KEY = "sk-hostile-approvals-0123456789abcdef"


def frame(event: str, data: Any) -> bytes:
    """One Operativus frame; a dict or list ``data`` is sent as a JSON string, as Operativus
    does."""
    payload = json.dumps(data) if isinstance(data, dict | list) else data
    return f"data: {json.dumps({'event': event, 'data': payload})}\n\n".encode()


START = frame("START", {"runId": "r1", "sessionId": "s1"})
ASKING = frame("CONTENT_DELTA", "Placing it. ")


def tool_start(call_id: str) -> bytes:
    return frame("TOOL_START", {"id": call_id, "name": "place_trade", "arguments": {"n": 1}})


def approval_required(call_id: str) -> bytes:
    """The request for ``call_id``, under an approval id of its own (one naming two calls is
    a protocol error)."""
    asked = {"id": call_id, "name": "place_trade", "approvalId": f"a-{call_id}"}
    return frame("APPROVAL_REQUIRED", asked)


def paused(*pending: str) -> bytes:
    return frame("PAUSED", {"runId": "r1", "sessionId": "s1", "pending": list(pending)})


PAUSE_FOR_C1 = START + ASKING + tool_start("c1") + approval_required("c1") + paused("c1")
FINISH_C1 = frame("TOOL_END", {"id": "c1", "name": "place_trade", "result": "ok"})
FINISH = frame("CONTENT_DELTA", "Done.") + frame("STOP", "")

Answer = Callable[[Conn, Request], Awaitable[None]]


def paused_run(first: bytes, then: Answer) -> Callable[[Conn, Request], Awaitable[None]]:
    """A server whose run stream sends ``first`` (and closes); ``then`` answers the decisions."""

    async def handler(conn: Conn, request: Request) -> None:
        if request.path.endswith("/runs/stream"):
            await conn.send(sse_head() + first)
        elif request.method == "GET":  # the run's status, read for its usage after the end
            await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"{}")
        else:
            await then(conn, request)

    return handler


def client(url: str, **options: Any) -> AsyncAgentClient:
    options.setdefault("max_retries", 0)
    return AsyncAgentClient("operativus", base_url=url, api_key=KEY, record=False, **options)


def decision_posts(srv: HostileServer) -> list[dict[str, Any]]:
    """The bodies of every decision POST that reached the server."""
    return [json.loads(r.body) for r in srv.requests if r.path.endswith("/approvals")]
