"""The approved call is the shown call: raw-socket servers in every dialect that can ask for
approval send a call in two versions, change it after asking, or name two calls with one
approval id. What is checked is what the server receives (the decisions' request) as well as
what a person is shown (the terminal prompt, the static copy).

- Two calls sharing one approval id: whatever anyone answers, both are denied on the wire,
  nobody is asked, and the run says why (``approval.protocol_error``).
- Arguments (or a name) reported after the request, before the decision is sent: the call is
  denied on the wire even under ``approve=True`` (``arguments_changed`` and
  ``protocol_error`` set).
- Two versions before the request (streamed text against parsed input, an announcement
  against the request): the prompt and the copy show the version the platform acts on first
  and the other flagged; an explicit yes approves the version shown first (in the AI SDK
  dialect, the input sent back is exactly that one).
- Duplicate keys are flagged at every depth of the arguments' JSON text."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from approval_dialects import (
    APPROVAL_ID_IS_CALL_ID,
    DIALECTS,
    ONE_CALL_PER_PAUSE,
    AskedCall,
    decision_body,
    paused_on,
    wire_approvals,
)
from hostile_server import Conn, HostileServer, Request, sse_head
from markdown_it import MarkdownIt

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.run import Run, ToolCall
from agentnb._display.approval_prompt import question, whole_call
from agentnb._display.static_copy import static_bundle
from agentnb.history import HistoryStore

ACTED_ON = {"to": "acct-666", "amount": 5000}
OTHER = {"to": "acct-9", "amount": 5}


async def run_with(
    dialect: str, calls: Sequence[AskedCall], policy: Any
) -> tuple[Run, list[Request]]:
    with HostileServer(paused_on(dialect, calls)) as srv:
        async with AsyncAgentClient(dialect, base_url=srv.url, record=False) as client:
            run = await client.run("agent", "Pay the invoice", approve=policy)
    return run, srv.requests


class Answers:
    """A person at the prompt: answers by tool name, and keeps what each prompt showed."""

    def __init__(self, **answers: bool) -> None:
        self.answers = answers
        self.prompts: dict[str, str] = {}

    def __call__(self, call: ToolCall) -> bool:
        self.prompts[call.call_id] = question(call) + "\n" + whole_call(call)
        return self.answers[call.name]


SHARING = [d for d in DIALECTS if d not in ONE_CALL_PER_PAUSE | APPROVAL_ID_IS_CALL_ID]


@pytest.mark.parametrize("dialect", SHARING)
def test_two_calls_sharing_one_approval_id_are_both_denied_on_the_wire(dialect: str) -> None:
    calls = [
        AskedCall("c1", "wire_money", {"to": "acct-9"}, "pay", approval_id="shared"),
        AskedCall("c2", "read_file", {"path": "notes.txt"}, "read", approval_id="shared"),
    ]
    person = Answers(wire_money=False, read_file=True)  # "n" on the payment, "y" on the read
    run, requests = asyncio.run(run_with(dialect, calls, person))
    sent = wire_approvals(dialect, decision_body(dialect, requests))
    assert sent and not any(approved for _, approved in sent), sent
    assert person.prompts == {}, "a call no answer can be bound to is not asked about"
    by_id = {call.call_id: call for call in run.tool_calls}
    for mine, other in (("c1", "c2"), ("c2", "c1")):
        call = by_id[mine]
        assert call.status == "denied"
        assert call.approval is not None and call.approval.approved is False
        error = call.approval.protocol_error or ""
        assert "'shared'" in error and repr(other) in error
        assert error in (call.error or "")


AFTER = ["vercel", "operativus", "openai-responses"]
"""The dialects whose request is not the pause itself: in AG-UI, A2A and LangGraph the frame
that asks is the one that pauses, and nothing after it is read before the decision."""


@pytest.mark.parametrize("dialect", AFTER)
def test_arguments_changed_after_the_request_deny_the_call_even_under_approve_all(
    dialect: str,
) -> None:
    calls = [AskedCall("c1", "wire_money", OTHER, "pay", after=ACTED_ON)]
    run, requests = asyncio.run(run_with(dialect, calls, True))
    sent = wire_approvals(dialect, decision_body(dialect, requests))
    assert sent == [(sent[0][0], False)], sent
    [call] = run.tool_calls
    assert call.status == "denied"
    assert call.approval is not None and call.approval.arguments_changed
    assert "changed after" in (call.approval.protocol_error or "")
    assert "changed after" in (call.error or "")


DISAGREEING = ["vercel", "operativus", "langgraph", "a2a"]


@pytest.mark.parametrize("dialect", DISAGREEING)
def test_versions_that_disagree_are_both_shown_the_acted_on_one_first(dialect: str) -> None:
    calls = [AskedCall("c1", "wire_money", ACTED_ON, "pay", announced=OTHER)]
    person = Answers(wire_money=True)  # an explicit yes: the version shown first
    run, requests = asyncio.run(run_with(dialect, calls, person))
    prompt = person.prompts["c1"]
    acted, other = prompt.index('"acct-666"'), prompt.index('"acct-9"')
    assert acted < other, prompt
    assert "versions of this call that disagree" in prompt
    assert not prompt.startswith("Approve "), "never the one-line prompt"
    [call] = run.tool_calls
    assert call.approval is not None and call.approval.protocol_error is None
    plain = static_bundle([run])["text/plain"]
    html = static_bundle([run])["text/html"]
    for copy in (plain, html):
        assert "acct-666" in copy and "acct-9" in copy
        assert "disagree" in copy
    body = decision_body(dialect, requests)
    assert [approved for _, approved in wire_approvals(dialect, body)] == [True]
    if dialect == "vercel":  # the client sends the input back: exactly the one shown first
        [assistant] = [m for m in body["messages"] if m["role"] == "assistant"]
        [part] = [p for p in assistant["parts"] if p.get("toolCallId") == "c1"]
        assert part["input"] == ACTED_ON


def sse(*frames: Any) -> bytes:
    return "".join(f"data: {json.dumps(f)}\n\n" for f in frames).encode()


def nested_duplicate(dialect: str) -> tuple[bytes, bytes]:
    """One call whose arguments' JSON text names ``order.to`` twice (the parsed value keeps the
    last), in a dialect that carries the arguments as text; then the stream that ends the run."""
    text = '{"order": {"to": "acct-9", "to": "acct-666"}, "memo": "rent"}'
    if dialect == "ag-ui":
        frames: list[Any] = [
            {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"},
            {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "wire_money"},
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": text},
            {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        ]
        interrupt = {"id": "i1", "reason": "tool_call", "toolCallId": "c1", "message": "pay"}
        outcome = {"type": "interrupt", "interrupts": [interrupt]}
        frames.append({"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1", "outcome": outcome})
        then = [
            {"type": "RUN_STARTED", "threadId": "t1", "runId": "r2"},
            {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r2"},
        ]
        return sse(*frames), sse(*then)
    item = {
        "type": "mcp_approval_request",
        "id": "c1",
        "server_label": "bank",
        "name": "wire_money",
        "arguments": text,
    }
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.completed", "response": {"id": "resp_1", "output": [item]}},
    ]
    then = [
        {"type": "response.created", "response": {"id": "resp_2", "status": "in_progress"}},
        {"type": "response.completed", "response": {"id": "resp_2", "output": []}},
    ]
    return numbered(events), numbered(then)


def numbered(events: list[Any]) -> bytes:
    return sse(*({**event, "sequence_number": n} for n, event in enumerate(events)))


@pytest.mark.parametrize("dialect", ["ag-ui", "openai-responses"])
def test_a_key_named_twice_deep_in_the_arguments_is_flagged_everywhere(dialect: str) -> None:
    first, then = nested_duplicate(dialect)
    streams: list[bytes] = [then, first]

    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + streams.pop())

    person = Answers(wire_money=False)

    async def go() -> Run:
        with HostileServer(handler) as srv:
            async with AsyncAgentClient(dialect, base_url=srv.url, record=False) as client:
                return await client.run("agent", "Pay", approve=person)

    run = asyncio.run(go())
    assert [call.status for call in run.tool_calls] == ["denied"]
    flag = "name order.to more than once"
    assert flag in person.prompts["c1"]
    bundle = static_bundle([run])
    markdown = MarkdownIt("commonmark").render(bundle["text/markdown"])
    for copy in (bundle["text/plain"], html.unescape(bundle["text/html"]), markdown):
        assert flag in copy, copy


def test_the_history_records_why_a_call_was_denied_whatever_was_answered(tmp_path: Path) -> None:
    calls = [
        AskedCall("c1", "wire_money", OTHER, "pay", approval_id="shared", after=ACTED_ON),
        AskedCall("c2", "read_file", {"path": "notes.txt"}, "read", approval_id="shared"),
    ]
    run, _ = asyncio.run(run_with("vercel", calls, True))
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record_end(run)
        recorded = {call.call_id: call for call in store.runs().tool_calls()}
        frame = store.runs().tool_calls().to_pandas()
    assert recorded["c1"].arguments_changed == 1
    assert recorded["c2"].arguments_changed == 0
    assert "changed after" in (recorded["c1"].protocol_error or "")  # its first reason
    assert "approval id 'shared' also names tool call 'c1'" in (recorded["c2"].protocol_error or "")
    assert list(frame["protocol_error"].notna()) == [True, True]


def test_a_responses_request_repeated_with_other_arguments_is_denied() -> None:
    """The completed response names the approval request again with other arguments than
    the item streamed: which one the MCP call would run is the platform's choice."""

    def item(arguments: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "mcp_approval_request",
            "id": "c1",
            "server_label": "bank",
            "name": "wire_money",
            "arguments": json.dumps(arguments),
        }

    first = numbered(
        [
            {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
            {"type": "response.output_item.added", "output_index": 0, "item": item(OTHER)},
            {"type": "response.output_item.done", "output_index": 0, "item": item(OTHER)},
            {
                "type": "response.completed",
                "response": {"id": "resp_1", "output": [item(ACTED_ON)]},
            },
        ]
    )
    then = numbered(
        [
            {"type": "response.created", "response": {"id": "resp_2", "status": "in_progress"}},
            {"type": "response.completed", "response": {"id": "resp_2", "output": []}},
        ]
    )
    streams = [then, first]

    async def handler(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + streams.pop())

    async def go() -> tuple[Run, list[Request]]:
        with HostileServer(handler) as srv:
            async with AsyncAgentClient("openai-responses", base_url=srv.url, record=False) as c:
                return await c.run("agent", "Pay", approve=True), srv.requests

    run, requests = asyncio.run(go())
    body = decision_body("openai-responses", requests)
    assert wire_approvals("openai-responses", body) == [("c1", False)]
    [call] = run.tool_calls
    assert call.approval is not None and call.approval.arguments_changed
    assert call.approval.asked_arguments == OTHER
