"""agentnb reads a UI message stream as the ``ai`` package's own reader does.

The same bytes go to both: the SDK's client path (``parseJsonEventStream`` with
``uiMessageChunkSchema``, then ``readUIMessageStream``) in Node, and agentnb's decoder and
``UIMessageTranslator``. Every chunk must pass the SDK's schema, and the assistant message
agentnb keeps (and sends back as history) must be the message the SDK builds."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S
from interop_testing import run_script

from agentnb._core.approvals import ApprovalDecision
from agentnb._core.run import Run
from agentnb.providers.vercel import UIMessageTranslator
from agentnb.server import ServerHandle
from agentnb.sse import SSEDecoder


def sdk_read(node: str, raw: bytes, start: dict[str, Any] | None = None) -> dict[str, Any]:
    args = ["read", json.dumps(start)] if start is not None else ["read"]
    result: dict[str, Any] = run_script(node, "ui_message_reader.mjs", *args, stdin=raw)
    assert result["errors"] == []
    return result


def agentnb_read(raw: bytes, translator: UIMessageTranslator | None = None) -> tuple[Run, Any]:
    translator = translator or UIMessageTranslator()
    translator.on_response({})
    decoder = SSEDecoder()
    run = Run(agent="a", message="m")
    for sse in [*decoder.feed(raw), *decoder.end()]:
        for event in translator.translate(sse):
            run.apply(event)
    return run, translator


def chat(server: ServerHandle, path: str, body: dict[str, Any]) -> bytes:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    response = httpx.post(server.base_url + path, json=body, headers=headers, timeout=PATIENCE_S)
    assert response.status_code == 200, response.text
    return response.content


def user(text: str) -> dict[str, Any]:
    return {"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}


def sdk_text(message: dict[str, Any]) -> str:
    return "".join(p["text"] for p in message["parts"] if p["type"] == "text")


@pytest.mark.parametrize(
    ("agent", "text", "extra"),
    [
        ("finance_agent", "NVDA and QQQQ please", {"followups": True}),
        ("echo", "Hello **there**", {}),
        ("writer", "Streams", {"metadata": {"paragraphs": "3"}}),
        ("structured", "a JSON thing", {}),
    ],
)
def test_the_built_in_chat_route_reads_the_same_in_both(
    node: str, server: ServerHandle, agent: str, text: str, extra: dict[str, Any]
) -> None:
    raw = chat(server, "/api/chat", {"id": "c1", "agent": agent, "messages": [user(text)], **extra})
    sdk = sdk_read(node, raw)
    run, translator = agentnb_read(raw)
    assert translator.message() == sdk["message"]
    assert run.text == sdk_text(sdk["message"])
    assert run.status == "completed"


def test_seekrflow_vercel_frames_read_the_same(node: str, server: ServerHandle) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    thread = httpx.post(server.base_url + "/v1/threads", json={}, headers=headers).json()["id"]
    httpx.post(
        f"{server.base_url}/v1/threads/{thread}/messages",
        json={"content": "NVDA?"},
        headers=headers,
    )
    raw = chat(server, f"/v1/threads/{thread}/runs/stream/vercel", {"agent_id": "finance_agent"})
    sdk = sdk_read(node, raw)
    _, translator = agentnb_read(raw)
    assert translator.message() == sdk["message"]


@pytest.mark.parametrize("approved", [True, False])
def test_an_approval_and_its_continuation_read_the_same(
    node: str, server: ServerHandle, approved: bool
) -> None:
    first = chat(
        server, "/api/chat", {"id": "c-ap", "agent": "trader", "messages": [user("Buy 3 NVDA")]}
    )
    sdk = sdk_read(node, first)
    run, translator = agentnb_read(first)
    assert translator.message() == sdk["message"]
    assert run.status == "paused"
    (tool,) = [p for p in sdk["message"]["parts"] if p["type"] == "tool-place_trade"]
    assert tool["state"] == "approval-requested"
    # what addToolApprovalResponse does to the SDK's message, and agentnb's decision:
    tool["state"] = "approval-responded"
    tool["approval"] = {**tool["approval"], "approved": approved, "reason": "checked"}
    decision = run.awaiting_approval[0].call_id
    translator.record_decisions([ApprovalDecision(decision, approved, "checked")])
    assert translator.message() == sdk["message"]
    body = {
        "id": "c-ap",
        "agent": "trader",
        "messages": [user("Buy 3 NVDA"), sdk["message"]],
        "trigger": "submit-message",
        "messageId": sdk["message"]["id"],
    }
    rest = chat(server, "/api/chat", body)
    continued = sdk_read(node, rest, start=sdk["message"])
    _, translator = agentnb_read(rest, translator)
    assert translator.message() == continued["message"]
    states = [
        p["state"] for p in continued["message"]["parts"] if "state" in p and "toolCallId" in p
    ]
    assert states[-1] == ("output-available" if approved else "output-denied")


CHUNKS: list[dict[str, Any]] = [
    {"type": "start", "messageId": "m1", "messageMetadata": {"a": {"b": 1}}},
    {"type": "start-step"},
    {"type": "reasoning-start", "id": "r"},
    {"type": "reasoning-delta", "id": "r", "delta": "think"},
    {"type": "reasoning-end", "id": "r"},
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "lookup"},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"q": "x'},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '"}'},
    {"type": "tool-input-available", "toolCallId": "c1", "toolName": "lookup", "input": {"q": "x"}},
    {"type": "tool-output-available", "toolCallId": "c1", "output": [1], "preliminary": True},
    {"type": "tool-output-available", "toolCallId": "c1", "output": [1, 2]},
    {"type": "tool-input-start", "toolCallId": "c2", "toolName": "dyn", "dynamic": True},
    {
        "type": "tool-input-available",
        "toolCallId": "c2",
        "toolName": "dyn",
        "input": {},
        "dynamic": True,
    },
    {"type": "tool-output-error", "toolCallId": "c2", "errorText": "bad"},
    {
        "type": "tool-input-error",
        "toolCallId": "c3",
        "toolName": "t3",
        "input": "?",
        "errorText": "x",
    },
    {"type": "tool-input-available", "toolCallId": "c4", "toolName": "trade", "input": {"n": 1}},
    {"type": "tool-approval-request", "approvalId": "ap4", "toolCallId": "c4", "reason": "why"},
    {"type": "tool-approval-response", "approvalId": "ap4", "approved": False, "reason": "no"},
    {"type": "tool-output-denied", "toolCallId": "c4"},
    {"type": "finish-step"},
    {"type": "start-step"},
    {"type": "text-start", "id": "t0"},
    {"type": "text-delta", "id": "t0", "delta": "DRAFT THAT MUST BE DISCARDED. "},
    {"type": "text-end", "id": "t0"},
    {"type": "tool-input-available", "toolCallId": "c5", "toolName": "gone", "input": {}},
    {"type": "reset-step"},
    {"type": "text-start", "id": "t1"},
    {"type": "text-delta", "id": "t1", "delta": "Final answer."},
    {"type": "text-end", "id": "t1"},
    {"type": "source-url", "sourceId": "s1", "url": "https://example.com/a", "title": "A"},
    {"type": "source-document", "sourceId": "s2", "mediaType": "text/plain", "title": "Doc"},
    {"type": "file", "url": "https://example.com/f.png", "mediaType": "image/png"},
    {"type": "reasoning-file", "url": "https://example.com/r.png", "mediaType": "image/png"},
    {"type": "custom", "kind": "acme.thing"},
    {"type": "data-weather", "id": "w", "data": {"c": 20}},
    {"type": "data-weather", "id": "w", "data": {"c": 21}},
    {"type": "data-note", "data": "transient", "transient": True},
    {"type": "data-followups", "data": {"followups": ["More?"]}},
    {"type": "message-metadata", "messageMetadata": {"a": {"c": 2}}},
    {"type": "finish-step"},
    {"type": "finish", "finishReason": "stop", "messageMetadata": {"usage": {"inputTokens": 3}}},
]


def test_every_chunk_type_reads_the_same(node: str) -> None:
    raw = "".join(f"data: {json.dumps(c)}\n\n" for c in CHUNKS).encode() + b"data: [DONE]\n\n"
    sdk = sdk_read(node, raw)
    assert len(sdk["chunks"]) == len(CHUNKS)  # every chunk passes the SDK's own schema
    run, translator = agentnb_read(raw)
    assert translator.message() == sdk["message"]
    assert run.text == sdk_text(sdk["message"]) == "Final answer."
    assert [(c.call_id, c.status) for c in run.tool_calls] == [
        ("c1", "succeeded"),
        ("c2", "failed"),
        ("c3", "failed"),
        ("c4", "denied"),
    ]
    assert run.followups == ["More?"] and run.status == "completed"
