"""The Vercel AI SDK UI message stream, chunk type by chunk type, read the way the ``ai``
package's own reader (``readUIMessageStream`` / ``processUIMessageStream``, ai 7) reads it.

Each test states what the SDK does with the chunk and checks that agentnb's run shows the
same. ``tests/interop`` runs the real SDK on the same frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentnb._core.run import Run
from agentnb.events import (
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    StepReset,
    StepStarted,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDenied,
    ToolCallProgress,
    UnknownEvent,
)
from agentnb.providers.vercel import UIMessageTranslator
from agentnb.sse import ServerSentEvent


def frames(*chunks: dict[str, Any], done: bool = True) -> list[ServerSentEvent]:
    out = [ServerSentEvent(data=json.dumps(c)) for c in chunks]
    return [*out, ServerSentEvent(data="[DONE]")] if done else out


def read(*chunks: dict[str, Any], done: bool = True) -> tuple[Run, list[Event]]:
    translator = UIMessageTranslator(thread_id="chat_1")
    events: list[Event] = []
    for sse in frames(*chunks, done=done):
        events.extend(translator.translate(sse))
    run = Run(agent="a", message="m")
    for event in events:
        run.apply(event)
    return run, events


def text(part_id: str, delta: str) -> list[dict[str, Any]]:
    return [
        {"type": "text-start", "id": part_id},
        {"type": "text-delta", "id": part_id, "delta": delta},
        {"type": "text-end", "id": part_id},
    ]


START = {"type": "start", "messageId": "msg_1"}
FINISH = {"type": "finish", "finishReason": "stop"}
CALL = [
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "place_trade"},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"ticker":"NVDA"}'},
    {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "place_trade",
        "input": {"ticker": "NVDA"},
    },
]


# ---- steps ---------------------------------------------------------------------------------


def test_reset_step_discards_everything_since_the_last_start_step() -> None:
    # SDK: "reset-step" splices every part after the last step-start out of the message.
    run, events = read(
        START,
        {"type": "start-step"},
        *text("t0", "Kept. "),
        {"type": "finish-step"},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "r1"},
        {"type": "reasoning-delta", "id": "r1", "delta": "Drafting."},
        {"type": "reasoning-end", "id": "r1"},
        *CALL,
        *text("t1", "DRAFT THAT MUST BE DISCARDED. "),
        {"type": "reset-step"},
        *text("t2", "Final answer."),
        {"type": "finish-step"},
        FINISH,
    )
    assert run.text == "Kept. Final answer."
    assert run.reasoning == ""
    assert run.tool_calls == [] and run.tool_call("c1") is None
    assert [p.kind for p in run.parts] == ["text"]
    assert run.status == "completed"
    assert sum(isinstance(e, StepStarted) for e in events) == 2
    assert sum(isinstance(e, StepReset) for e in events) == 1
    assert not any(isinstance(e, UnknownEvent) for e in events)


def test_reset_step_cuts_inside_a_text_part_that_spans_the_step_boundary() -> None:
    run, _ = read(
        START,
        {"type": "start-step"},
        *text("t0", "Kept."),
        {"type": "start-step"},
        *text("t1", " Dropped."),
        {"type": "reset-step"},
        *text("t2", " New."),
        FINISH,
    )
    assert run.text == "Kept. New."


def test_reset_step_without_a_start_step_discards_the_whole_message() -> None:
    # SDK: with no step-start part, the current step is the whole message.
    run, _ = read(START, *text("t0", "gone"), {"type": "reset-step"}, *text("t1", "kept"), FINISH)
    assert run.text == "kept"


# ---- tools -----------------------------------------------------------------------------------


def test_tool_output_denied_marks_the_call_denied() -> None:
    # SDK: the tool part's state becomes "output-denied"; the message goes on.
    run, events = read(
        START, *CALL, {"type": "tool-output-denied", "toolCallId": "c1"}, *text("t", "No."), FINISH
    )
    (call,) = run.tool_calls
    assert call.status == "denied"
    assert call.finished_at is not None and call.output is None
    assert call.arguments == {"ticker": "NVDA"}
    assert run.status == "completed" and run.text == "No."
    assert any(isinstance(e, ToolCallDenied) for e in events)


def test_tool_approval_request_pauses_the_run_with_the_call_awaiting_approval() -> None:
    # SDK: the part goes to "approval-requested" with approval {id, ...}; the stream then
    # finishes ("tool-calls") and the chat waits for addToolApprovalResponse.
    request = {
        "type": "tool-approval-request",
        "approvalId": "ap_1",
        "toolCallId": "c1",
        "reason": "Trades need a human.",
    }
    run, events = read(
        START,
        {"type": "start-step"},
        *CALL,
        request,
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "tool-calls"},
    )
    (call,) = run.tool_calls
    assert call.status == "awaiting_approval"
    assert call.arguments == {"ticker": "NVDA"}
    assert call.approval is not None
    assert (call.approval.approval_id, call.approval.reason) == ("ap_1", "Trades need a human.")
    assert call.approval.approved is None
    assert run.status == "paused" and not run.done
    assert [c.call_id for c in run.awaiting_approval] == ["c1"]
    assert not any(isinstance(e, UnknownEvent | RunCompleted) for e in events)
    assert isinstance(events[-1], RunPaused)
    assert any(isinstance(e, ToolApprovalRequested) for e in events)


def test_tool_approval_response_records_the_decision() -> None:
    # SDK: "tool-approval-response" finds the part by approvalId: "approval-responded".
    run, events = read(
        START,
        *CALL,
        {"type": "tool-approval-request", "approvalId": "ap_1", "toolCallId": "c1"},
        {"type": "tool-approval-response", "approvalId": "ap_1", "approved": False, "reason": "no"},
        {"type": "tool-output-denied", "toolCallId": "c1"},
        FINISH,
    )
    (call,) = run.tool_calls
    assert call.approval is not None
    assert (call.approval.approved, call.approval.decision_reason) == (False, "no")
    assert call.status == "denied" and call.error == "no"
    assert run.status == "completed"
    decided = [e for e in events if isinstance(e, ToolApprovalResponded)]
    assert [(e.call_id, e.approved) for e in decided] == [("c1", False)]


def test_a_preliminary_output_keeps_the_call_running() -> None:
    # SDK: output-available with preliminary: true is an interim output; a later one replaces it.
    run, events = read(
        START,
        *CALL,
        {"type": "tool-output-available", "toolCallId": "c1", "output": 1, "preliminary": True},
        done=False,
    )
    (call,) = run.tool_calls
    assert (call.status, call.output) == ("running", 1)
    assert any(isinstance(e, ToolCallProgress) for e in events)
    run, _ = read(
        START,
        *CALL,
        {"type": "tool-output-available", "toolCallId": "c1", "output": 1, "preliminary": True},
        {"type": "tool-output-available", "toolCallId": "c1", "output": 2},
        FINISH,
    )
    assert (run.tool_calls[0].status, run.tool_calls[0].output) == ("succeeded", 2)


# ---- the end of a message --------------------------------------------------------------------


def test_abort_keeps_its_reason() -> None:
    run, events = read(START, *text("t", "partial"), {"type": "abort", "reason": "user stopped"})
    assert isinstance(events[-1], RunFailed)
    assert run.status == "failed" and run.error is not None
    assert run.error.code == "aborted"
    assert "user stopped" in run.error.message
    assert run.text == "partial"


@pytest.mark.parametrize("reason", ["stop", "length", "content-filter", "tool-calls", "other"])
def test_the_finish_reason_is_kept(reason: str) -> None:
    run, _ = read(START, *text("t", "x"), {"type": "finish", "finishReason": reason})
    assert (run.status, run.finish_reason) == ("completed", reason)


def test_finish_reason_interrupted_ends_the_run_interrupted() -> None:
    # SDK: "interrupted" = the model's stream ended without a completion signal.
    run, _ = read(START, *text("t", "half"), {"type": "finish", "finishReason": "interrupted"})
    assert run.status == "interrupted" and run.text == "half"
    assert run.error is not None and "interrupted" in run.error.message


# ---- every chunk type of the schema ----------------------------------------------------------

SCHEMA_CHUNKS: list[dict[str, Any]] = [
    START,
    {"type": "start-step"},
    *text("t", "a"),
    {"type": "reasoning-start", "id": "r"},
    {"type": "reasoning-delta", "id": "r", "delta": "b"},
    {"type": "reasoning-end", "id": "r"},
    *CALL,
    {"type": "tool-approval-request", "approvalId": "ap", "toolCallId": "c1"},
    {"type": "tool-approval-response", "approvalId": "ap", "approved": True},
    {"type": "tool-output-available", "toolCallId": "c1", "output": {"ok": True}},
    {"type": "tool-input-start", "toolCallId": "c2", "toolName": "t2"},
    {"type": "tool-output-error", "toolCallId": "c2", "errorText": "bad"},
    {
        "type": "tool-input-error",
        "toolCallId": "c3",
        "toolName": "t3",
        "input": 1,
        "errorText": "x",
    },
    {"type": "tool-input-available", "toolCallId": "c4", "toolName": "t4", "input": {}},
    {"type": "tool-output-denied", "toolCallId": "c4"},
    {"type": "source-url", "sourceId": "s1", "url": "https://example.com/a"},
    {"type": "source-document", "sourceId": "s2", "mediaType": "text/plain", "title": "Doc"},
    {"type": "file", "url": "https://example.com/f.png", "mediaType": "image/png"},
    {"type": "reasoning-file", "url": "https://example.com/r.png", "mediaType": "image/png"},
    {"type": "custom", "kind": "acme.thing"},
    {"type": "steering-message", "id": "s", "parts": [{"type": "text", "text": "hi"}]},
    {"type": "data-weather", "data": {"c": 20}},
    {"type": "data-followups", "data": {"followups": ["More?"]}},
    {"type": "message-metadata", "messageMetadata": {"usage": {"inputTokens": 1}}},
    {"type": "finish-step"},
    {"type": "reset-step"},
    {"type": "finish", "finishReason": "stop"},
]
KEPT_AS_UNKNOWN = {
    "source-url",
    "source-document",
    "file",
    "reasoning-file",
    "custom",
    "steering-message",
    "data-weather",
}
"""Parts the SDK adds to the message that agentnb's run has no place for: kept verbatim (and
sent back in the chat's history, as the SDK does)."""


def test_every_chunk_type_of_the_schema_is_understood() -> None:
    translator = UIMessageTranslator()
    unknown = []
    for sse in frames(*SCHEMA_CHUNKS):
        events = translator.translate(sse)
        if any(isinstance(e, UnknownEvent) for e in events):
            unknown.append(json.loads(sse.data)["type"])
    assert set(unknown) == KEPT_AS_UNKNOWN
