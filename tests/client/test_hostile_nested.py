"""Raw-socket servers stream sub-agents at their edges: SeekrFlow nested parts with a path to
no known call, a path 50 calls deep, parallel nested calls reusing ids under different
parents, frames after the run ended, text for a call that failed, a path that names itself;
AG-UI sub-agents that name their own call or each other, LangGraph namespaces that repeat."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agentnb_testing import PATIENCE_S
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import Run
from agentnb._client.async_client import AsyncAgentClient

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


# ---- sub-agent frames at the edges of a run ------------------------------------------------
def _serving(frames: list[dict[str, Any]], *, hold_open: bool = False) -> Any:
    """A SeekrFlow-Vercel server streaming ``frames`` (then ``[DONE]`` and the close, unless
    ``hold_open``: the connection then stays open after the last frame)."""

    async def handler(conn: Conn, request: Request) -> None:
        if request.path == "/v1/threads":
            head = http_head("200 OK", {"Content-Type": "application/json"})
            await conn.send(head + b'{"id": "t1"}')
        elif request.path.endswith("/stream/vercel"):
            body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames)
            await conn.send(sse_head() + body.encode())
            if hold_open:
                await asyncio.Event().wait()
            await conn.send(b"data: [DONE]\n\n")
        else:
            await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"[]")

    return handler


async def _read(handler: Any, dialect: str = "seekrflow-vercel") -> Run:
    with HostileServer(handler) as srv:
        async with AsyncAgentClient(dialect, base_url=srv.url, record=False, max_retries=0) as c:
            return await asyncio.wait_for(c.run("agent", "hi"), PATIENCE_S)


def assert_no_cycle(run: Run) -> None:
    """Every call's chain of parents ends (no call is its own ancestor)."""
    by_id = {call.call_id: call for call in run.tool_calls}
    for call in run.tool_calls:
        seen = {call.call_id}
        parent = call.parent_call_id
        while parent is not None and parent in by_id:
            assert parent not in seen, f"{call.call_id} is its own ancestor"
            seen.add(parent)
            parent = by_id[parent].parent_call_id


def text(delta: str, path: list[str], kind: str = "text-delta") -> dict[str, Any]:
    return nested({"type": kind, "id": "x", "delta": delta}, path)


async def test_sub_agent_frames_after_the_run_ended_change_nothing_and_do_not_hang() -> None:
    frames = [
        {"type": "start"},
        started("a", "ask"),
        nested(started("q"), ["a", "q"]),
        finished("a", "answer of a"),
        {"type": "text-delta", "id": "t", "delta": "done"},
        {"type": "finish"},
        text("late text", ["a"]),
        nested(started("late"), ["a", "late"]),
        nested(finished("q", "late output"), ["a", "q"]),
    ]
    run = await _read(_serving(frames, hold_open=True))
    assert run.status == "completed" and run.text == "done"
    calls = {call.call_id: call for call in run.tool_calls}
    assert set(calls) == {"a", "a/q"}
    assert (calls["a"].output, calls["a"].agent_text) == ("answer of a", "")
    assert calls["a/q"].status != "succeeded" and calls["a/q"].output is None


async def test_a_sub_agents_text_for_a_call_that_failed_is_kept_on_the_failed_call() -> None:
    frames = [
        {"type": "start"},
        started("a", "ask"),
        text("before ", ["a"]),
        {"type": "tool-output-error", "toolCallId": "a", "errorText": "the sub-agent crashed"},
        text("after the failure", ["a"]),
        text("why", ["a"], "reasoning-delta"),
        nested(started("q"), ["a", "q"]),
        {"type": "text-delta", "id": "t", "delta": "done"},
        {"type": "finish"},
    ]
    run = await _read(_serving(frames))
    assert run.status == "completed" and run.text == "done"
    call = run.tool_call("a")
    assert call is not None
    assert (call.status, call.error) == ("failed", "the sub-agent crashed")
    assert (call.agent_text, call.agent_reasoning) == ("before after the failure", "why")
    late = run.tool_call("a/q")
    assert late is not None and late.parent_call_id == "a"


async def test_a_path_that_names_itself_keeps_every_call_and_ends() -> None:
    loop = ["a", "b", "a", "b"]
    frames = [
        {"type": "start"},
        started("a", "ask"),
        nested(started("a"), ["a", "a"]),
        nested(started("b"), loop),
        text("in the loop", loop[:3]),
        nested(finished("b", "out of the loop"), loop),
        nested(finished("a", "self"), ["a"]),
        {"type": "text-delta", "id": "t", "delta": "done"},
        {"type": "finish"},
    ]
    run = await _read(_serving(frames))
    assert run.status == "completed" and run.text == "done"
    calls = {call.call_id: call for call in run.tool_calls}
    assert calls["a"].output == "self"
    assert calls["a/a"].parent_call_id == "a"
    assert calls["a/b/a/b"].output == "out of the loop"
    assert calls["a/b/a"].agent_text == "in the loop"
    assert_no_cycle(run)


def _agui(events: list[dict[str, Any]]) -> Any:
    async def handler(conn: Conn, request: Request) -> None:
        body = "".join(f"data: {json.dumps(event)}\n\n" for event in events)
        await conn.send(sse_head() + body.encode())

    return handler


async def test_ag_ui_sub_agents_that_name_their_own_call_or_each_other_keep_their_calls() -> None:
    """``s1`` is started by call ``x``, which ``s1`` itself makes; ``s2`` and ``s3`` each
    claim a call the other makes."""

    def call(call_id: str, run: str) -> list[dict[str, Any]]:
        ids = {"toolCallId": call_id, "subagentRunId": run}
        return [
            {"type": "TOOL_CALL_START", **ids, "toolCallName": f"tool_{call_id}"},
            {"type": "TOOL_CALL_END", **ids},
            {"type": "TOOL_CALL_RESULT", **ids, "messageId": f"r{call_id}", "content": "ok"},
        ]

    def sub(run: str, parent_call: str, parent_run: str | None = None) -> dict[str, Any]:
        event = {"type": "SUBAGENT_STARTED", "subagentRunId": run, "name": run}
        above = {"parentSubagentRunId": parent_run} if parent_run else {}
        return {**event, "parentToolCallId": parent_call, **above}

    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        sub("s1", "x", "s1"),
        *call("x", "s1"),
        sub("s2", "y"),
        sub("s3", "z", "s2"),
        *call("z", "s2"),
        *call("y", "s3"),
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "done"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"},
    ]
    run = await _read(_agui(events), "ag-ui")
    assert run.status == "completed" and run.text == "done"
    assert {c.call_id: c.output for c in run.tool_calls} == {"x": "ok", "z": "ok", "y": "ok"}
    assert_no_cycle(run)


def _langgraph(frames: list[tuple[str, Any]]) -> Any:
    async def handler(conn: Conn, request: Request) -> None:
        if request.path == "/threads":
            head = http_head("200 OK", {"Content-Type": "application/json"})
            await conn.send(head + b'{"thread_id": "t1"}')
            return
        body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in frames)
        await conn.send(sse_head() + body.encode())

    return handler


async def test_langgraph_namespaces_that_repeat_an_entry_keep_their_frames() -> None:
    loop = "x:1|y:2|x:1"

    def ai(**fields: Any) -> list[Any]:
        return [{"type": "AIMessageChunk", "id": "m", "content": "", **fields}, {}]

    chunk = {"name": "look", "args": "{}", "id": "c1", "index": 0, "type": "tool_call_chunk"}
    frames = [
        ("metadata", {"run_id": "r1"}),
        (f"messages|{loop}", ai(content="deep text ")),
        (f"messages|{loop}", ai(tool_call_chunks=[chunk])),
        (f"messages|{loop}", [{"type": "tool", "tool_call_id": "c1", "content": "7"}, {}]),
        ("messages|x:1|x:1", ai(content="self")),
        ("updates|x:1", {"y": {}}),
        ("updates", {"x": {}}),
        ("messages", ai(content="done")),
        ("end", None),
    ]
    run = await _read(_langgraph(frames), "langgraph")
    assert run.status == "completed" and run.text == "done"
    calls = {call.call_id: call for call in run.tool_calls}
    assert calls["c1"].output == "7"
    assert "deep text" in "".join(c.agent_text for c in run.tool_calls)
    assert_no_cycle(run)
