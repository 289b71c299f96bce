"""The built-in server's ``trader`` agent: ``place_trade`` waits for a human.

Vercel speaks the AI SDK's own approval flow (``tool-approval-request``, the stream finishing
with ``tool-calls``, the next chat request carrying the assistant message in
``approval-responded``); Operativus reports ``PAUSED`` and takes decisions at agentnb's
``/approvals`` extension. Every other dialect refuses the agent with a 400 that says why."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from agentnb_testing import run_request, wait_until
from server_testing import SSE, parse_sse

ORDER = "Buy 10 NVDA"
PART_FIELDS = {
    "tool-approval-request": {"approvalId", "toolCallId", "reason"},
    "tool-output-denied": {"toolCallId"},
}


def chat_id() -> str:
    return f"chat-{uuid.uuid4().hex[:12]}"


def user() -> dict[str, Any]:
    return {"id": "u1", "role": "user", "parts": [{"type": "text", "text": ORDER}]}


def start_chat(client: httpx.Client, chat: str) -> list[SSE]:
    body = {"id": chat, "agent": "trader", "messages": [user()], "trigger": "submit-message"}
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def responded(frames: list[SSE], approved: bool, approval_id: str | None = None) -> dict[str, Any]:
    """The assistant message as the SDK sends it back after ``addToolApprovalResponse``."""
    parts = [f.json() for f in frames if f.data != "[DONE]"]
    request = next(p for p in parts if p["type"] == "tool-approval-request")
    tool = {
        "type": "tool-place_trade",
        "toolCallId": request["toolCallId"],
        "state": "approval-responded",
        "input": {"ticker": "NVDA", "side": "buy", "shares": 10},
        "approval": {"id": approval_id or request["approvalId"], "approved": approved},
    }
    message_id = parts[0]["messageId"]
    return {"id": message_id, "role": "assistant", "parts": [{"type": "step-start"}, tool]}


def continue_chat(client: httpx.Client, chat: str, assistant: dict[str, Any]) -> httpx.Response:
    body = {
        "id": chat,
        "agent": "trader",
        "messages": [user(), assistant],
        "trigger": "submit-message",
        "messageId": assistant["id"],
    }
    return client.post("/api/chat", json=body)


# ---- vercel --------------------------------------------------------------------------------


def test_the_first_response_asks_for_approval_and_finishes_with_tool_calls(
    client: httpx.Client,
) -> None:
    frames = start_chat(client, chat_id())
    parts = [f.json() for f in frames[:-1]]
    kinds = [p["type"] for p in parts]
    assert kinds[-4:] == ["tool-input-available", "tool-approval-request", "finish-step", "finish"]
    assert parts[-1]["finishReason"] == "tool-calls"
    assert frames[-1].data == "[DONE]"
    request = parts[-3]
    assert set(request) - {"type"} <= PART_FIELDS["tool-approval-request"]
    assert request["toolCallId"] == parts[-4]["toolCallId"]


@pytest.mark.parametrize("approved", [True, False])
def test_the_next_request_with_the_decision_continues_the_run(
    client: httpx.Client, approved: bool
) -> None:
    chat = chat_id()
    first = start_chat(client, chat)
    response = continue_chat(client, chat, responded(first, approved))
    assert response.status_code == 200, response.text
    rest = parse_sse(response.text)
    assert {f.run_id for f in rest} == {first[0].run_id}
    assert rest[0].number == first[-1].number + 1  # the run's event ids go on
    parts = [f.json() for f in rest[:-1]]
    assert parts[0]["type"] == "start"
    outcome = parts[1]
    if approved:
        assert outcome["type"] == "tool-output-available"
        assert outcome["output"]["status"] == "filled"
    else:
        assert outcome == {"type": "tool-output-denied", "toolCallId": outcome["toolCallId"]}
    assert [p["type"] for p in parts[2:4]] == ["start-step", "text-start"]
    assert parts[-1]["type"] == "finish" and parts[-1]["finishReason"] == "stop"


def test_a_decision_for_a_chat_that_waits_for_none_is_a_conflict(client: httpx.Client) -> None:
    chat = chat_id()
    first = start_chat(client, chat)
    assert continue_chat(client, chat, responded(first, True)).status_code == 200
    again = continue_chat(client, chat, responded(first, True))
    assert again.status_code == 409 and "no run waiting" in again.text


def test_a_decision_for_another_approval_is_a_conflict(client: httpx.Client) -> None:
    chat = chat_id()
    first = start_chat(client, chat)
    wrong = continue_chat(client, chat, responded(first, True, approval_id="approval_nope"))
    assert wrong.status_code == 409
    assert "approval_nope" in wrong.text
    assert continue_chat(client, chat, responded(first, True)).status_code == 200


def test_the_sdk_resume_call_has_nothing_to_resume_while_paused(client: httpx.Client) -> None:
    chat = chat_id()
    start_chat(client, chat)
    assert client.get(f"/api/chat/{chat}/stream").status_code == 204


def test_last_event_id_replays_up_to_the_pause_and_ends(client: httpx.Client) -> None:
    chat = chat_id()
    first = start_chat(client, chat)
    path, body = "/api/chat", {"id": chat, "agent": "trader", "messages": [user()]}
    replayed = client.post(path, json=body, headers={"Last-Event-ID": first[2].id or ""})
    assert [f.id for f in parse_sse(replayed.text)] == [f.id for f in first[3:]]


# ---- operativus ----------------------------------------------------------------------------


def start_operativus(client: httpx.Client) -> tuple[str, list[SSE]]:
    response = client.post("/api/agents/trader/runs/stream", json={"message": ORDER})
    assert response.status_code == 200, response.text
    frames = parse_sse(response.text)
    return frames[0].run_id, frames


def status(client: httpx.Client, run_id: str) -> str:
    body: dict[str, Any] = client.get(f"/api/agents/trader/runs/{run_id}/status").json()
    return str(body["status"])


def decide(client: httpx.Client, run_id: str, body: Any) -> httpx.Response:
    return client.post(f"/api/agents/trader/runs/{run_id}/approvals", json=body)


def test_operativus_pauses_and_continues_on_a_decision(client: httpx.Client) -> None:
    run_id, frames = start_operativus(client)
    events = [f.json()["event"] for f in frames]
    assert events[-3:] == ["TOOL_START", "APPROVAL_REQUIRED", "PAUSED"]
    assert status(client, run_id) == "PAUSED"
    (pending,) = json.loads(frames[-1].json()["data"])["pending"]
    asked = json.loads(frames[-2].json()["data"])
    assert (asked["id"], asked["name"]) == (pending, "place_trade")
    decision = {"decisions": [{"toolCallId": pending, "approved": False, "reason": "no"}]}
    response = decide(client, run_id, decision)
    assert response.status_code == 200, response.text
    rest = [f.json() for f in parse_sse(response.text)]
    assert [r["event"] for r in rest][:2] == ["START", "TOOL_END"]
    ended = json.loads(rest[1]["data"])
    assert (ended["id"], ended["denied"], ended["reason"]) == (pending, True, "no")
    assert rest[-1]["event"] == "STOP"
    wait_until(lambda: status(client, run_id) == "COMPLETED")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"decisions": []}, 422),
        ({"decisions": [{"toolCallId": "x"}]}, 422),
        ([], 422),
        ({"decisions": [{"toolCallId": "call_other", "approved": True}]}, 409),
    ],
)
def test_operativus_refuses_bad_decisions(client: httpx.Client, body: Any, code: int) -> None:
    run_id, _ = start_operativus(client)
    assert decide(client, run_id, body).status_code == code
    assert status(client, run_id) == "PAUSED"


def test_operativus_decisions_for_an_unknown_or_finished_run(client: httpx.Client) -> None:
    one = {"decisions": [{"toolCallId": "c", "approved": True}]}
    assert decide(client, "run_nope", one).status_code == 404
    path, body = run_request(client, "operativus", agent="echo", message="hi")
    finished = parse_sse(client.post(path, json=body).text)[0].run_id
    answer = client.post(f"/api/agents/echo/runs/{finished}/approvals", json=one)
    assert answer.status_code == 409


# ---- a decision the thread does not wait for: each dialect's words -------------------------


def test_a_vercel_decision_out_of_turn_says_which_chat_and_approvals(client: httpx.Client) -> None:
    chat = chat_id()
    first = start_chat(client, chat)
    wrong = continue_chat(client, chat, responded(first, True, approval_id="approval_nope"))
    waited = next(f.json() for f in first[:-1] if f.json()["type"] == "tool-approval-request")
    assert (wrong.status_code, wrong.json()["detail"]) == (
        409,
        f"the approvals ['approval_nope'] are not the ones chat {chat!r} waits for "
        f"({[waited['approvalId']]})",
    )
    assert continue_chat(client, chat, responded(first, True)).status_code == 200
    again = continue_chat(client, chat, responded(first, True))
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"chat {chat!r} has no run waiting for an approval",
    )


def agui_input(thread: str, turn: int, resume: list[dict[str, Any]] | None = None) -> Any:
    body = {
        "threadId": thread,
        "runId": f"run_{thread}_{turn}",
        "messages": [{"id": "m1", "role": "user", "content": ORDER}],
    }
    return body if resume is None else {**body, "resume": resume}


def test_an_ag_ui_resume_out_of_turn_says_which_thread_and_interrupts(
    client: httpx.Client,
) -> None:
    thread = f"thread-{uuid.uuid4().hex[:12]}"
    nothing = [{"interruptId": "nope", "status": "resolved", "payload": {"approved": True}}]
    early = client.post("/ag-ui/trader", json=agui_input(thread, 0, nothing))
    assert (early.status_code, early.json()["detail"]) == (
        409,
        f"thread {thread!r} has no run waiting on an interrupt",
    )
    paused = parse_sse(client.post("/ag-ui/trader", json=agui_input(thread, 1)).text)
    [interrupt] = paused[-1].json()["outcome"]["interrupts"]
    wrong = client.post("/ag-ui/trader", json=agui_input(thread, 2, nothing))
    assert (wrong.status_code, wrong.json()["detail"]) == (
        409,
        f"interrupt 'nope' is not one thread {thread!r} waits on ({[interrupt['id']]})",
    )
    right = [{**nothing[0], "interruptId": interrupt["id"]}]
    resumed = client.post("/ag-ui/trader", json=agui_input(thread, 3, right))
    assert resumed.status_code == 200
    assert parse_sse(resumed.text)[-1].json()["outcome"] == {"type": "success"}


def test_a_langgraph_resume_with_no_interrupted_run_says_which_thread(
    client: httpx.Client,
) -> None:
    thread = client.post("/langgraph/threads", json={}).json()["thread_id"]
    body = {"assistant_id": "trader", "command": {"resume": {"approved": True}}}
    response = client.post(f"/langgraph/threads/{thread}/runs/stream", json=body)
    assert (response.status_code, response.json()["detail"]) == (
        409,
        f"thread {thread!r} has no interrupted run",
    )


# ---- dialects that cannot say "wait for a human" -------------------------------------------


@pytest.mark.parametrize(
    "kind", ["seekrflow", "seekrflow-vercel", "runagent", "runtools", "openai"]
)
def test_other_dialects_refuse_the_agent_and_say_why(client: httpx.Client, kind: str) -> None:
    path, body = run_request(client, kind, agent="trader", message=ORDER)
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert "cannot express" in response.text and kind in response.text
