"""The Vercel AI SDK UI message stream as the ``ai`` package reads it: every part fits the
SDK's strict chunk schema, ``finish`` carries ``finishReason``, and the SDK's resume call
(``GET /api/chat/{id}/stream``) resumes the chat's active stream or answers 204."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from agentnb_testing import run_request, wait_until
from server_testing import SSE, iter_sse, parse_sse

from agentnb.server import ServerHandle
from agentnb.server._run_log import RunLog
from agentnb.server._steps import Finish, Text, ToolEnd, ToolStart
from agentnb.server.agents import AgentInput
from agentnb.server.routes._vercel_routes import VercelRenderer

# The fields each part may carry: the ``ai`` package validates parts with strict objects, so
# one unknown field makes the client reject the whole stream.
ALLOWED_FIELDS = {
    "start": {"messageId", "messageMetadata"},
    "finish": {"finishReason", "messageMetadata"},
    "start-step": set(),
    "finish-step": set(),
    "error": {"errorText"},
    "text-start": {"id", "providerMetadata"},
    "text-delta": {"id", "delta", "providerMetadata"},
    "text-end": {"id", "providerMetadata"},
    "reasoning-start": {"id", "providerMetadata"},
    "reasoning-delta": {"id", "delta", "providerMetadata"},
    "reasoning-end": {"id", "providerMetadata"},
    "tool-input-start": {"toolCallId", "toolName", "providerExecuted", "dynamic", "title"},
    "tool-input-delta": {"toolCallId", "inputTextDelta"},
    "tool-input-available": {"toolCallId", "toolName", "input", "providerExecuted", "dynamic"},
    "tool-output-available": {"toolCallId", "output", "providerExecuted", "dynamic"},
    "tool-output-error": {"toolCallId", "errorText", "providerExecuted", "dynamic"},
}
FINISH_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other"}


def parts_of(frames: list[SSE]) -> list[dict[str, Any]]:
    assert frames[-1].data == "[DONE]"
    return [frame.json() for frame in frames[:-1]]


def unknown_fields(part: dict[str, Any]) -> set[str]:
    kind = part["type"]
    allowed = {"id", "data", "transient"} if kind.startswith("data-") else ALLOWED_FIELDS[kind]
    return set(part) - allowed - {"type"}


@pytest.mark.parametrize("kind", ["vercel", "seekrflow-vercel"])
def test_every_part_fits_the_sdks_strict_schema(client: httpx.Client, kind: str) -> None:
    path, body = run_request(client, kind, message="NVDA and QQQQ please")
    body["metadata"] = {"followups": "true"}
    parts = parts_of(parse_sse(client.post(path, json=body).text))
    assert [(p["type"], unknown_fields(p)) for p in parts if unknown_fields(p)] == []


@pytest.mark.parametrize("kind", ["vercel", "seekrflow-vercel"])
def test_finish_carries_the_finish_reason(client: httpx.Client, kind: str) -> None:
    path, body = run_request(client, kind)
    finish = parts_of(parse_sse(client.post(path, json=body).text))[-1]
    assert finish["type"] == "finish"
    assert finish["finishReason"] == "stop"
    assert finish["messageMetadata"]["usage"]["totalTokens"] > 0


def render_parts(*steps: Any) -> list[dict[str, Any]]:
    log = RunLog("run_test", "vercel", "echo", AgentInput(message="x"), thread_id="chat_test")
    renderer = VercelRenderer(log)
    frames = [*renderer.opening()]
    for step in steps:
        frames += renderer.render(step, 0.0)
    return [json.loads(frame.data) for frame in frames if frame.data != "[DONE]"]


def test_a_run_whose_last_step_called_tools_finishes_with_tool_calls() -> None:
    call = ToolStart("call_1", "calculator", {"expression": "1+1"})
    done = ToolEnd("call_1", "calculator", {"result": 2})
    finish = render_parts(call, done, Finish())[-1]
    assert finish["finishReason"] == "tool-calls"
    assert finish["finishReason"] in FINISH_REASONS
    answered = render_parts(call, done, Text("2"), Finish())[-1]
    assert answered["finishReason"] == "stop"


# --- resuming: GET /api/chat/{id}/stream ----------------------------------------------------


def chat_body(chat_id: str, agent: str = "writer") -> dict[str, Any]:
    user = {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Resume me"}]}
    return {"id": chat_id, "agent": agent, "messages": [user], "trigger": "submit-message"}


def new_chat_id() -> str:
    return f"chat-{uuid.uuid4().hex[:12]}"


def test_resume_streams_the_active_run_of_the_chat(
    client: httpx.Client, server: ServerHandle
) -> None:
    chat_id = new_chat_id()
    slow = {"X-AgentNB-Delay-Ms": "10"}
    with client.stream("POST", "/api/chat", json=chat_body(chat_id), headers=slow) as original:
        frames = iter_sse(original)
        first = next(frames)
        resumed = client.get(f"/api/chat/{chat_id}/stream")
        rest = list(frames)
    assert resumed.status_code == 200
    assert resumed.headers["content-type"].startswith("text/event-stream")
    assert resumed.headers["x-vercel-ai-ui-message-stream"] == "v1"
    replayed = parse_sse(resumed.text)
    everything = [first, *rest]
    assert [(f.id, f.data) for f in replayed] == [(f.id, f.data) for f in everything]
    assert replayed[0].json()["type"] == "start"
    assert replayed[-1].data == "[DONE]"


def test_resume_after_the_run_ended_is_204(client: httpx.Client) -> None:
    chat_id = new_chat_id()
    finished = client.post("/api/chat", json=chat_body(chat_id, agent="echo"))
    assert parse_sse(finished.text)[-1].data == "[DONE]"
    response = client.get(f"/api/chat/{chat_id}/stream")
    assert response.status_code == 204
    assert response.content == b""


def test_resume_of_an_unknown_chat_is_204(client: httpx.Client) -> None:
    response = client.get(f"/api/chat/{new_chat_id()}/stream")
    assert response.status_code == 204


def test_resume_honours_last_event_id(client: httpx.Client) -> None:
    chat_id = new_chat_id()
    slow = {"X-AgentNB-Delay-Ms": "10"}
    with client.stream("POST", "/api/chat", json=chat_body(chat_id), headers=slow) as original:
        frames = iter_sse(original)
        received = [next(frames) for _ in range(3)]
        last = received[-1].id or ""
        resumed = client.get(f"/api/chat/{chat_id}/stream", headers={"Last-Event-ID": last})
        rest = list(frames)
    replayed = parse_sse(resumed.text)
    assert [f.id for f in replayed] == [f.id for f in rest]


def test_resume_needs_the_key(server: ServerHandle) -> None:
    response = httpx.get(f"{server.base_url}/api/chat/{new_chat_id()}/stream")
    assert response.status_code == 401


def test_resume_follows_the_chats_latest_run(client: httpx.Client, server: ServerHandle) -> None:
    chat_id = new_chat_id()
    client.post("/api/chat", json=chat_body(chat_id, agent="echo"))
    slow = {"X-AgentNB-Delay-Ms": "10"}
    with client.stream("POST", "/api/chat", json=chat_body(chat_id), headers=slow) as second:
        frames = iter_sse(second)
        run_id = next(frames).run_id
        resumed = client.get(f"/api/chat/{chat_id}/stream")
        list(frames)
    assert {f.run_id for f in parse_sse(resumed.text)} == {run_id}
    wait_until(lambda: client.get(f"/api/chat/{chat_id}/stream").status_code == 204)
