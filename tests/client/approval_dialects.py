"""Raw-socket servers, one per dialect that can ask for approval, that pause a run on calls a
test writes: any name, argument keys and values, reason (and, where the dialect carries one,
question). What the server sends is exactly what the test gave; a later request (the
decisions) gets a stream that ends the run.

Each dialect's frames are the ones its translator reads (``providers/``): Vercel's UI message
stream (``tool-input-available``, ``tool-approval-request``), Operativus' paused runs
(``TOOL_START``, ``APPROVAL_REQUIRED``, ``PAUSED``), AG-UI's ``interrupt`` outcome, A2A's
``input-required`` status (agentnb's approval data part; one call per pause), LangGraph's
``__interrupt__`` update."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hostile_server import Conn, Request, http_head, sse_head

__all__ = ["DIALECTS", "ONE_CALL_PER_PAUSE", "AskedCall", "paused_on"]

Handler = Callable[[Conn, Request], Awaitable[None]]


@dataclass(frozen=True)
class AskedCall:
    call_id: str
    name: str
    arguments: dict[str, Any]
    reason: str


def _data(*items: Any) -> bytes:
    return "".join(f"data: {json.dumps(item)}\n\n" for item in items).encode()


def _vercel(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    frames: list[Any] = [{"type": "start", "messageId": "m1"}]
    for i, call in enumerate(calls):
        frames.append(
            {
                "type": "tool-input-available",
                "toolCallId": call.call_id,
                "toolName": call.name,
                "input": call.arguments,
            }
        )
        frames.append(
            {"type": "tool-approval-request", "toolCallId": call.call_id, "approvalId": f"a{i}"}
        )
    return _data(*frames, {"type": "finish"}), _data({"type": "finish"})


def _operativus_frame(event: str, data: Any) -> Any:
    return {"event": event, "data": json.dumps(data) if isinstance(data, dict) else data}


def _operativus(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    frames = [_operativus_frame("START", {"runId": "r1", "sessionId": "s1"})]
    for i, call in enumerate(calls):
        started = {"id": call.call_id, "name": call.name, "arguments": call.arguments}
        asked = {"id": call.call_id, "name": call.name, "approvalId": f"a{i}"}
        frames.append(_operativus_frame("TOOL_START", started))
        frames.append(_operativus_frame("APPROVAL_REQUIRED", {**asked, "reason": call.reason}))
    pending = [call.call_id for call in calls]
    frames.append(
        _operativus_frame("PAUSED", {"runId": "r1", "sessionId": "s1", "pending": pending})
    )
    return _data(*frames), _data(_operativus_frame("STOP", ""))


def _agui(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    frames: list[Any] = [{"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"}]
    interrupts = []
    for i, call in enumerate(calls):
        frames += [
            {"type": "TOOL_CALL_START", "toolCallId": call.call_id, "toolCallName": call.name},
            {
                "type": "TOOL_CALL_ARGS",
                "toolCallId": call.call_id,
                "delta": json.dumps(call.arguments),
            },
            {"type": "TOOL_CALL_END", "toolCallId": call.call_id},
        ]
        interrupts.append(
            {
                "id": f"int{i}",
                "reason": "tool_call",
                "toolCallId": call.call_id,
                "message": call.reason,
            }
        )
    outcome = {"type": "interrupt", "interrupts": interrupts}
    frames.append({"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1", "outcome": outcome})
    then = _data(
        {"type": "RUN_STARTED", "threadId": "t1", "runId": "r2"},
        {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r2"},
    )
    return _data(*frames), then


def _rpc(result: Any) -> Any:
    return {"jsonrpc": "2.0", "id": "1", "result": result}


def _a2a(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    [call] = calls
    task = {"kind": "task", "id": "task1", "contextId": "ctx1", "status": {"state": "working"}}
    started = {
        "kind": "status-update",
        "taskId": "task1",
        "contextId": "ctx1",
        "status": {
            "state": "working",
            "message": {
                "kind": "message",
                "role": "agent",
                "messageId": "m1",
                "parts": [
                    {
                        "kind": "data",
                        "data": {
                            "toolCall": {
                                "id": call.call_id,
                                "name": call.name,
                                "arguments": call.arguments,
                            }
                        },
                    }
                ],
            },
        },
        "final": False,
    }
    approval = {"callId": call.call_id, "approvalId": "a0", "name": call.name}
    paused = {
        "kind": "status-update",
        "taskId": "task1",
        "contextId": "ctx1",
        "status": {
            "state": "input-required",
            "message": {
                "kind": "message",
                "role": "agent",
                "messageId": "m2",
                "parts": [
                    {"kind": "text", "text": call.reason},
                    {"kind": "data", "data": {"approval": approval}},
                ],
            },
        },
        "final": True,
    }
    done = {
        "kind": "status-update",
        "taskId": "task1",
        "contextId": "ctx1",
        "status": {"state": "completed"},
        "final": True,
    }
    return _data(_rpc(task), _rpc(started), _rpc(paused)), _data(_rpc(done))


def _langgraph_event(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _langgraph(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    interrupts = [
        {
            "id": f"int{i}",
            "value": {
                "tool_call": {"id": call.call_id, "name": call.name, "args": call.arguments},
                "reason": call.reason,
            },
        }
        for i, call in enumerate(calls)
    ]
    first = _langgraph_event("metadata", {"run_id": "r1"}) + _langgraph_event(
        "updates", {"__interrupt__": interrupts}
    )
    then = _langgraph_event("metadata", {"run_id": "r2"}) + _langgraph_event("end", None)
    return first, then


DIALECTS: dict[str, Callable[[Sequence[AskedCall]], tuple[bytes, bytes]]] = {
    "vercel": _vercel,
    "operativus": _operativus,
    "ag-ui": _agui,
    "a2a": _a2a,
    "langgraph": _langgraph,
}
"""Each dialect's (paused stream, stream after the decisions) for the calls asked."""
ONE_CALL_PER_PAUSE = {"a2a"}
"""Dialects whose pause asks about one call."""


def paused_on(dialect: str, calls: Sequence[AskedCall]) -> Handler:
    """A server whose first run stream pauses on ``calls``; later streams end the run."""
    first, then = DIALECTS[dialect](calls)
    streams = 0

    async def handler(conn: Conn, request: Request) -> None:
        nonlocal streams
        if dialect == "langgraph" and request.path == "/threads":
            body = json.dumps({"thread_id": "t1"}).encode()
            await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + body)
            return
        if request.method == "GET":  # a run's status, read after it ends
            await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"{}")
            return
        streams += 1
        await conn.send(sse_head() + (first if streams == 1 else then))

    return handler
