"""The ``ag-ui`` dialect against the protocol's own software, offline: a pydantic-ai agent
with a scripted model (``FunctionModel``) served by pydantic-ai's ``AGUIAdapter``
(``sdk_servers/agui_pydantic_ai.py``, in the ``.tools/agui`` venv pinned by
``tests/sdk_envs/agui.txt``), and every frame agentnb's built-in server sends validated by
``ag-ui-protocol``'s own event types."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PATIENCE_S, PEER_TIMEOUT, free_port, sdk_python

import agentnb
from agentnb import AsyncAgentClient, Run
from agentnb._app.front.connections import disconnect
from agentnb._core.exceptions import NotFoundError, RunFailedError
from agentnb._core.request import build_request
from agentnb.server import ServerHandle
from agentnb.types import Fork

SERVERS = Path(__file__).parent / "sdk_servers"


@pytest.fixture
async def client(agui_url: str) -> AsyncIterator[AsyncAgentClient]:
    """A client of the multi-agent server: one agent per path, named by ``path="/{agent}"``."""
    async with AsyncAgentClient(
        "ag-ui",
        base_url=agui_url,
        provider_options={"path": "/{agent}"},
        record=False,
        timeout=PEER_TIMEOUT,
    ) as agent_client:
        yield agent_client


async def test_text_reasoning_and_a_tool_the_agent_ran(client: AsyncAgentClient) -> None:
    run = await client.run("quotes", "What is NVDA at?")
    assert run.status == "completed"
    assert run.text == "**NVDA** trades at **$875.4**."
    assert run.reasoning == "The user wants a price; I look it up."
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments) == ("call_q1", "get_price", {"ticker": "NVDA"})
    assert (call.status, call.output) == ("succeeded", "875.4")  # content is text
    assert run.run_id and run.thread_id
    assert [p.kind for p in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events


async def test_a_second_turn_sends_the_whole_conversation(client: AsyncAgentClient) -> None:
    first = await client.run("quotes", "What is NVDA at?")
    second = await client.run("quotes", "again?", thread_id=first.thread_id)
    assert second.status == "completed"
    assert second.text == "You asked 2 times; first: What is NVDA at?"
    history = client.provider.history(first.thread_id or "")  # type: ignore[attr-defined]
    roles = [m["role"] for m in history]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert history[1]["toolCalls"][0]["function"]["name"] == "get_price"
    assert history[2]["toolCallId"] == "call_q1"


@pytest.mark.parametrize(
    ("approve", "outcome", "status"),
    [(True, "Trade outcome: bought 10 NVDA", "succeeded"), (False, "Trade outcome:", "denied")],
)
async def test_an_interrupt_is_an_approval_resumed_with_the_decision(
    client: AsyncAgentClient, approve: bool, outcome: str, status: str
) -> None:
    run = await client.run("trade", "Buy 10 NVDA", approve=approve)
    assert run.status == "completed"
    assert run.text.startswith(outcome)
    [call] = run.tool_calls
    assert (call.name, call.arguments, call.status) == (
        "place_trade",
        {"ticker": "NVDA", "shares": 10},
        status,
    )
    assert call.approval is not None and call.approval.approved is approve
    assert call.approval.approval_id == "int-call_t1"  # pydantic-ai's interrupt id
    assert call.approval.reason == 'Approve place_trade({"ticker":"NVDA","shares":10})?'


async def test_a_person_decides_while_the_run_waits(client: AsyncAgentClient) -> None:
    async with client.stream("trade", "Buy 10 NVDA") as stream:
        async for event in stream:
            if event.type == "run_paused":
                assert stream.run.status == "paused"
                stream.approvals.deny("call_t1", "too risky")
    run = stream.run
    assert run.status == "completed" and run.text == "Trade outcome: too risky"
    assert run.tool_calls[0].status == "denied" and run.tool_calls[0].error == "too risky"


async def test_state_goes_both_ways_and_custom_events_are_kept(client: AsyncAgentClient) -> None:
    first = await client.run("notes", "remember milk")
    assert first.state == {"notes": ["milk"]}
    assert [(e.name, e.value) for e in first.custom_events] == [("remembered", {"count": 1})]
    second = await client.run("notes", "remember milk", thread_id=first.thread_id)
    # pydantic-ai's StateDeps read the state the client sent back: the snapshot starts from it
    assert second.state == {"notes": ["milk", "milk"]}
    assert second.custom_events[0].value == {"count": 2}


@pytest.mark.parametrize("pasted", ["{url}", "{url}/", "{url}/quotes"])
def test_the_url_a_user_is_given_is_the_endpoint(agui_url: str, pasted: str) -> None:
    """pydantic-ai's AGUIAdapter mounted at ``/`` (or at ``/quotes``): the URL is posted to
    as given, with no ``path`` option and whatever the agent is called."""
    conn = agentnb.connect(
        "ag-ui", base_url=pasted.format(url=agui_url), name="pasted", timeout=PEER_TIMEOUT
    )
    try:
        handle = agentnb.ask(
            "assistant", "What is NVDA at?", via="pasted", display=False, wait=True, record=False
        )
        assert conn.supports() == ["streaming", "approvals", "fork"]
    finally:
        disconnect("pasted")
    assert handle.run.text == "**NVDA** trades at **$875.4**."


def test_connect_and_ask_continue_the_thread(agui_url: str) -> None:
    conn = agentnb.connect(
        "ag-ui",
        base_url=agui_url,
        provider_options={"path": "/{agent}"},
        name="agui-sdk",
        timeout=PEER_TIMEOUT,
    )
    try:
        first = agentnb.ask(
            "quotes", "What is NVDA at?", via=conn.name, display=False, wait=True, record=False
        )
        again = agentnb.ask(  # continuing is explicit: a plain ask starts a new conversation
            "quotes",
            "again?",
            via=conn.name,
            display=False,
            wait=True,
            record=False,
            continue_thread=True,
        )
    finally:
        disconnect(conn.name)
    assert first.run.text == "**NVDA** trades at **$875.4**."
    assert again.run.text == "You asked 2 times; first: What is NVDA at?"


async def test_the_agents_error_is_a_typed_failure(client: AsyncAgentClient) -> None:
    with pytest.raises(RunFailedError, match="the scripted model failed") as caught:
        await client.run("broken", "anything")
    run = caught.value.run
    assert run is not None and run.status == "failed"


async def test_an_unknown_agent_path_is_not_found(client: AsyncAgentClient) -> None:
    with pytest.raises(NotFoundError):
        await client.run("nobody", "hello")


# ---- the built-in server, checked with the protocol's own types ------------------------------


def validate(frames: list[str]) -> dict[str, object]:
    checker = SERVERS / "agui_validate.py"
    done = subprocess.run(
        [str(sdk_python("agui")), str(checker)],
        input="\n".join(frames),
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("agent", "props"),
    [
        ("finance_agent", {}),
        ("echo", {"followups": True}),
        ("structured", {"responseFormat": {"type": "object", "properties": {"ticker": {}}}}),
        ("writer", {"metadata": {"paragraphs": "2"}}),
        ("research_team", {}),
    ],
)
def test_the_builtin_server_speaks_valid_ag_ui(
    server: ServerHandle, agent: str, props: dict[str, object]
) -> None:
    body = {
        "threadId": "thread_1",
        "runId": f"run_check_{agent}_{len(props)}_{free_port()}",
        "messages": [{"id": "m1", "role": "user", "content": "What is NVDA at?"}],
        "forwardedProps": props,
    }
    headers = {"Authorization": f"Bearer {server.api_key}"}
    url = server.url_for("ag-ui") + f"/{agent}"
    response = httpx.post(url, json=body, headers=headers, timeout=PATIENCE_S)
    assert response.status_code == 200, response.text
    frames = [
        line.removeprefix("data: ")
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    kinds = [json.loads(frame)["type"] for frame in frames]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] in ("RUN_FINISHED", "RUN_ERROR")
    assert json.loads(frames[0])["runId"] == body["runId"]  # the input's run id, echoed
    assert validate(frames) == {"checked": len(frames), "errors": []}


def post_frames(
    server: ServerHandle, agent: str, body: dict[str, object], **headers: str
) -> list[str]:
    """The data of each frame the built-in server answers ``body`` with."""
    headers = {"Authorization": f"Bearer {server.api_key}", **headers}
    url = server.url_for("ag-ui") + f"/{agent}"
    response = httpx.post(url, json=body, headers=headers, timeout=PATIENCE_S)
    assert response.status_code == 200, response.text
    return [
        line.removeprefix("data: ")
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


@pytest.mark.parametrize("approved", [True, False])
def test_an_interrupt_and_its_resume_are_valid_ag_ui(server: ServerHandle, approved: bool) -> None:
    thread = f"thread_trade_{approved}_{free_port()}"
    body: dict[str, object] = {
        "threadId": thread,
        "runId": f"run_{thread}",
        "messages": [{"id": "m1", "role": "user", "content": "Buy 10 NVDA"}],
    }
    paused = post_frames(server, "trader", body)
    outcome = json.loads(paused[-1])["outcome"]
    [interrupt] = outcome["interrupts"]
    assert outcome["type"] == "interrupt" and interrupt["reason"] == "tool_call"
    payload = {"approved": approved, "reason": "checked"}
    entry = {"interruptId": interrupt["id"], "status": "resolved", "payload": payload}
    resumed = post_frames(
        server, "trader", {**body, "runId": f"{body['runId']}_2", "resume": [entry]}
    )
    results = [json.loads(f) for f in resumed if json.loads(f)["type"] == "TOOL_CALL_RESULT"]
    trade = next(r for r in results if r["toolCallId"] == interrupt["toolCallId"])
    assert ('"filled"' in trade["content"]) is approved
    assert json.loads(resumed[-1])["outcome"] == {"type": "success"}
    frames = paused + resumed
    assert validate(frames) == {"checked": len(frames), "errors": []}


def test_a_failure_is_valid_ag_ui(server: ServerHandle) -> None:
    body = {
        "threadId": "thread_failing",
        "runId": f"run_failing_{free_port()}",
        "messages": [{"id": "m1", "role": "user", "content": "hi"}],
    }
    fault = {"X-AgentNB-Fault": f"stream-error=503;tag={free_port()}"}
    frames = post_frames(server, "echo", body, **fault)
    assert json.loads(frames[-1])["type"] == "RUN_ERROR"
    assert validate(frames) == {"checked": len(frames), "errors": []}


def test_the_validator_refuses_what_the_protocol_does_not_define() -> None:
    """So an empty error list above means something."""
    frames = [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "before the run"},
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TOOL_CALL_RESULT", "toolCallId": "c", "content": "no message id"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "colour": "red"},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "outcome": {"type": "nope"}},
    ]
    errors = validate([json.dumps(f) for f in frames])["errors"]
    assert [e["line"] for e in errors] == [0, 2, 3, 4]  # type: ignore[attr-defined, index]


@pytest.mark.parametrize("status", ["resolved", "cancelled"])
def test_a_question_and_its_answer_are_valid_ag_ui(server: ServerHandle, status: str) -> None:
    thread = f"thread_plan_{status}_{free_port()}"
    body: dict[str, object] = {
        "threadId": thread,
        "runId": f"run_{thread}",
        "messages": [{"id": "m1", "role": "user", "content": "Plan a trip"}],
    }
    paused = post_frames(server, "planner", body)
    [interrupt] = json.loads(paused[-1])["outcome"]["interrupts"]
    asked = [json.loads(f) for f in paused if json.loads(f)["type"] == "TOOL_CALL_START"]
    assert [a["toolCallName"] for a in asked] == ["ask_user"]
    assert interrupt["reason"] == "input_required"
    assert interrupt["toolCallId"] == asked[0]["toolCallId"], "on the call that asks it"
    assert interrupt["message"] == "Where would you like to go?"
    entry = {"interruptId": interrupt["id"], "status": status, "payload": "Lisbon"}
    resumed = post_frames(
        server, "planner", {**body, "runId": f"{body['runId']}_2", "resume": [entry]}
    )
    answer = "".join(
        json.loads(f)["delta"] for f in resumed if json.loads(f)["type"] == "TEXT_MESSAGE_CONTENT"
    )
    assert ("plan for Lisbon" in answer) is (status == "resolved")
    frames = paused + resumed
    assert validate(frames) == {"checked": len(frames), "errors": []}


def test_sub_agents_are_valid_ag_ui_and_announced_before_their_work(server: ServerHandle) -> None:
    """``research_team``: parallel analysts (one fails: ``SUBAGENT_ERROR``) and a quant two
    levels deep; every attributed event names a sub-agent announced and not yet ended."""
    body = {
        "threadId": "thread_team",
        "runId": f"run_team_{free_port()}",
        "messages": [{"id": "m1", "role": "user", "content": "NVDA, AAPL and ZZZZ?"}],
    }
    frames = post_frames(server, "research_team", body)
    assert validate(frames) == {"checked": len(frames), "errors": []}
    events = [json.loads(frame) for frame in frames]
    live: dict[str, dict[str, object]] = {}
    ended: list[str] = []
    for event in events:
        kind, owner = event["type"], event.get("subagentRunId")
        if kind == "SUBAGENT_STARTED":
            assert event.get("parentSubagentRunId") in (None, *live)
            live[owner] = event
        elif kind in ("SUBAGENT_FINISHED", "SUBAGENT_ERROR"):
            del live[owner]
            ended.append(kind)
        elif owner is not None:
            assert owner in live, event
    assert not live
    assert sorted(ended) == ["SUBAGENT_ERROR"] + ["SUBAGENT_FINISHED"] * 4
    quants = [e for e in events if e["type"] == "SUBAGENT_STARTED" and e["name"] == "quant"]
    assert len(quants) == 2 and all("parentSubagentRunId" in q for q in quants)


async def _retry(client: AsyncAgentClient, replaced: Run, started_from: str | None) -> Run:
    """The chat cell's Retry of ``replaced`` (asked on ``started_from``): a fork."""
    fork = Fork(thread_id=replaced.thread_id or "", run_id=replaced.run_id)
    request = build_request(replaced.agent, replaced.message, thread_id=started_from)
    return await client.run(request.model_copy(update={"fork": fork}))


async def test_a_retried_turn_sends_the_conversation_before_it(client: AsyncAgentClient) -> None:
    first = await client.run("quotes", "What is NVDA at?")
    second = await client.run("quotes", "again?", thread_id=first.thread_id)
    assert second.text == "You asked 2 times; first: What is NVDA at?"
    retried = await _retry(client, second, first.thread_id)
    assert retried.text == "You asked 2 times; first: What is NVDA at?"  # not 3
    assert retried.thread_id not in (None, first.thread_id)  # a new thread, the old one kept


async def test_a_retried_turn_sends_the_state_before_it(client: AsyncAgentClient) -> None:
    first = await client.run("notes", "remember milk")
    second = await client.run("notes", "remember milk", thread_id=first.thread_id)
    assert second.state == {"notes": ["milk", "milk"]}
    retried = await _retry(client, second, first.thread_id)
    assert retried.state == {"notes": ["milk", "milk"]}  # from the state after turn one
