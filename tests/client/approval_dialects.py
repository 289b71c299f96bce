"""Raw-socket servers, one per dialect that can ask for approval, that pause a run on calls a
test writes: any name, argument keys and values, reason (and, where the dialect carries one,
question). What the server sends is exactly what the test gave; a later request (the
decisions) gets a stream that ends the run.

Each dialect's frames are the ones its translator reads (``providers/``): Vercel's UI message
stream (``tool-input-available``, ``tool-approval-request``), Operativus' paused runs
(``TOOL_START``, ``APPROVAL_REQUIRED``, ``PAUSED``), AG-UI's ``interrupt`` outcome, A2A's
``input-required`` status (agentnb's approval data part; one call per pause), LangGraph's
``__interrupt__`` update; the OpenAI Responses API's ``mcp_approval_request`` item.

A call can also carry what a hostile platform does to the call it asks about: an approval id
it shares with another call (``approval_id``), another version of its arguments sent before
the request (``announced``: streamed argument text where the dialect streams it, else an
earlier announcement of the call), or other arguments sent after the request and before the
pause (``after``). :func:`wire_approvals` reads what the decisions' request told the server."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hostile_server import Conn, Request, http_head, sse_head

__all__ = [
    "APPROVAL_ID_IS_CALL_ID",
    "DIALECTS",
    "ONE_CALL_PER_PAUSE",
    "AskedCall",
    "decision_body",
    "paused_on",
    "wire_approvals",
]

Handler = Callable[[Conn, Request], Awaitable[None]]


@dataclass(frozen=True)
class AskedCall:
    call_id: str
    name: str
    arguments: dict[str, Any]
    reason: str
    approval_id: str | None = None
    """The request's approval id (default: one of its own)."""
    announced: dict[str, Any] | None = None
    """Other arguments sent before the request: streamed text (``vercel``, ``langgraph``) or
    an earlier announcement of the call (``operativus``, ``a2a``)."""
    after: dict[str, Any] | None = None
    """Other arguments sent after the request, before the pause (where the request is not the
    pause itself: ``vercel``, ``operativus``, ``openai-responses``)."""

    def approval(self, i: int) -> str:
        return self.approval_id or f"a{i}"


def _data(*items: Any) -> bytes:
    return "".join(f"data: {json.dumps(item)}\n\n" for item in items).encode()


def _vercel(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    frames: list[Any] = [{"type": "start", "messageId": "m1"}]
    for i, call in enumerate(calls):
        if call.announced is not None:
            frames.append(
                {"type": "tool-input-start", "toolCallId": call.call_id, "toolName": call.name}
            )
            frames.append(
                {
                    "type": "tool-input-delta",
                    "toolCallId": call.call_id,
                    "inputTextDelta": json.dumps(call.announced),
                }
            )
        frames.append(_vercel_input(call, call.arguments))
        frames.append(
            {
                "type": "tool-approval-request",
                "toolCallId": call.call_id,
                "approvalId": call.approval(i),
            }
        )
        if call.after is not None:  # the input again, other, and the same call asked again
            frames.append(_vercel_input(call, call.after))
            frames.append(frames[-2])
    return _data(*frames, {"type": "finish"}), _data({"type": "finish"})


def _vercel_input(call: AskedCall, arguments: dict[str, Any]) -> Any:
    return {
        "type": "tool-input-available",
        "toolCallId": call.call_id,
        "toolName": call.name,
        "input": arguments,
    }


def _operativus_frame(event: str, data: Any) -> Any:
    return {"event": event, "data": json.dumps(data) if isinstance(data, dict) else data}


def _operativus(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    frames = [_operativus_frame("START", {"runId": "r1", "sessionId": "s1"})]
    for i, call in enumerate(calls):
        first = call.announced if call.announced is not None else call.arguments
        started = {"id": call.call_id, "name": call.name, "arguments": first}
        asked = {"id": call.call_id, "name": call.name, "approvalId": call.approval(i)}
        if call.announced is not None:
            asked["arguments"] = call.arguments
        frames.append(_operativus_frame("TOOL_START", started))
        frames.append(_operativus_frame("APPROVAL_REQUIRED", {**asked, "reason": call.reason}))
        if call.after is not None:
            again = {"id": call.call_id, "name": call.name, "arguments": call.after}
            frames.append(_operativus_frame("TOOL_START", again))
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
                "id": call.approval_id or f"int{i}",
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


def _a2a_started(call: AskedCall, arguments: dict[str, Any]) -> Any:
    return {
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
                                "arguments": arguments,
                            }
                        },
                    }
                ],
            },
        },
        "final": False,
    }


def _a2a(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    [call] = calls
    task = {"kind": "task", "id": "task1", "contextId": "ctx1", "status": {"state": "working"}}
    started = [_a2a_started(call, call.arguments)]
    if call.announced is not None:
        started.insert(0, _a2a_started(call, call.announced))
    approval = {"callId": call.call_id, "approvalId": call.approval(0), "name": call.name}
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
    opening = [_rpc(task), *(_rpc(update) for update in started)]
    return _data(*opening, _rpc(paused)), _data(_rpc(done))


def _langgraph_event(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _langgraph_chunk(call: AskedCall, arguments: dict[str, Any]) -> bytes:
    chunk = {"id": call.call_id, "name": call.name, "args": json.dumps(arguments), "index": 0}
    message = {"type": "AIMessageChunk", "id": f"m-{call.call_id}", "tool_call_chunks": [chunk]}
    return _langgraph_event("messages", [message, {}])


def _langgraph(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    interrupts = [
        {
            "id": call.approval_id or f"int{i}",
            "value": {
                "tool_call": {"id": call.call_id, "name": call.name, "args": call.arguments},
                "reason": call.reason,
            },
        }
        for i, call in enumerate(calls)
    ]
    streamed = b"".join(
        _langgraph_chunk(call, call.announced) for call in calls if call.announced is not None
    )
    first = (
        _langgraph_event("metadata", {"run_id": "r1"})
        + streamed
        + _langgraph_event("updates", {"__interrupt__": interrupts})
    )
    then = _langgraph_event("metadata", {"run_id": "r2"}) + _langgraph_event("end", None)
    return first, then


def _numbered(events: Sequence[Any]) -> bytes:
    return _data(*({**event, "sequence_number": n} for n, event in enumerate(events)))


def _responses(calls: Sequence[AskedCall]) -> tuple[bytes, bytes]:
    items = [
        {
            "type": "mcp_approval_request",
            "id": call.call_id,
            "server_label": "tools",
            "name": call.name,
            "arguments": json.dumps(call.arguments),
        }
        for call in calls
    ]
    events: list[Any] = [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}}
    ]
    for index, (call, item) in enumerate(zip(calls, items, strict=True)):
        events.append({"type": "response.output_item.added", "output_index": index, "item": item})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
        if call.after is not None:
            events.append(
                {
                    "type": "response.mcp_call_arguments.delta",
                    "item_id": call.call_id,
                    "output_index": index,
                    "delta": json.dumps(call.after),
                }
            )
    done = {"id": "resp_1", "status": "completed", "output": items}
    events.append({"type": "response.completed", "response": done})
    then = [
        {"type": "response.created", "response": {"id": "resp_2", "status": "in_progress"}},
        {"type": "response.completed", "response": {"id": "resp_2", "status": "completed"}},
    ]
    return _numbered(events), _numbered(then)


DIALECTS: dict[str, Callable[[Sequence[AskedCall]], tuple[bytes, bytes]]] = {
    "vercel": _vercel,
    "operativus": _operativus,
    "ag-ui": _agui,
    "a2a": _a2a,
    "langgraph": _langgraph,
    "openai-responses": _responses,
}
"""Each dialect's (paused stream, stream after the decisions) for the calls asked."""
ONE_CALL_PER_PAUSE = {"a2a"}
"""Dialects whose pause asks about one call."""
APPROVAL_ID_IS_CALL_ID = {"openai-responses"}
"""Dialects whose approval id is the call's own id (no two calls can share one)."""


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


def decision_body(dialect: str, requests: Sequence[Request]) -> dict[str, Any]:
    """The body of the request that carried the decisions (the last run request)."""
    bodies = [json.loads(r.body) for r in requests if r.method == "POST" and r.body]
    if dialect == "langgraph":
        bodies = [b for b in bodies if "command" in b]
    assert len(bodies) >= 2 or dialect in ("operativus", "langgraph"), bodies
    return bodies[-1]


def wire_approvals(dialect: str, body: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each decision the body tells the server, as (the id it names, approved)."""
    if dialect == "vercel":
        [assistant] = [m for m in body["messages"] if m["role"] == "assistant"]
        return [
            (part["toolCallId"], part["approval"]["approved"])
            for part in assistant["parts"]
            if "approved" in part.get("approval", {})
        ]
    if dialect == "operativus":
        return [(d["toolCallId"], d["approved"]) for d in body["decisions"]]
    if dialect == "ag-ui":
        return [(r["interruptId"], r["payload"]["approved"]) for r in body["resume"]]
    if dialect == "a2a":
        parts = body["params"]["message"]["parts"]
        decisions = [p["data"]["decision"] for p in parts if "decision" in p.get("data", {})]
        return [(d["callId"], d["approved"]) for d in decisions]
    if dialect == "langgraph":
        resume = body["command"]["resume"]
        if "approved" in resume:
            return [("", resume["approved"])]
        return [(key, value["approved"]) for key, value in resume.items()]
    return [(i["approval_request_id"], i["approve"]) for i in body["input"]]
