"""The AG-UI translator on the event shapes ``ag-ui-protocol`` 1.0 defines that the scripted
servers do not send (sub-agents, shared state, chunks, custom and raw events, question
interrupts, a cancelled outcome), and on frames no server should send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentnb._core.approvals import ApprovalDecision
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._core.state import AgentState, PatchError, apply_patch
from agentnb.events import Event, StateDelta
from agentnb.providers.agui import AGUI, AGUITranslator
from agentnb.sse import ServerSentEvent


def frame(kind: str, **fields: Any) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps({"type": kind, **fields}))


def fold(*frames: ServerSentEvent, translator: AGUITranslator | None = None) -> Run:
    translator = translator or AGUITranslator("thread_1")
    run = Run(agent="a", message="m")
    translator.follow(run)
    for sse in frames:
        for event in translator.translate(sse):
            run.apply(event)
    return run


def events_of(*frames: ServerSentEvent) -> list[Event]:
    translator = AGUITranslator("thread_1")
    return [event for sse in frames for event in translator.translate(sse)]


START = frame("RUN_STARTED", threadId="thread_1", runId="run_1")
DONE = frame("RUN_FINISHED", threadId="thread_1", runId="run_1", outcome={"type": "success"})


SUBAGENT_RUN = (
    START,
    frame("TOOL_CALL_START", toolCallId="call_1", toolCallName="research"),
    frame("SUBAGENT_STARTED", subagentRunId="sub_1", name="researcher", parentToolCallId="call_1"),
    frame("TEXT_MESSAGE_CONTENT", messageId="m2", delta="digging", subagentRunId="sub_1"),
    frame("TOOL_CALL_START", toolCallId="call_2", toolCallName="search", subagentRunId="sub_1"),
    frame("SUBAGENT_STARTED", subagentRunId="sub_2", name="reader", parentSubagentRunId="sub_1"),
    frame("REASONING_MESSAGE_CONTENT", messageId="m3", delta="hmm", subagentRunId="sub_2"),
    frame("TEXT_MESSAGE_CONTENT", messageId="m4", delta="The answer."),
    DONE,
)


def test_a_sub_agents_events_belong_to_the_call_that_started_it() -> None:
    attributed = [
        (e.type, getattr(e, "parent_call_id", None), getattr(e, "agent", None))
        for e in events_of(*SUBAGENT_RUN)
        if e.type in ("text_delta", "reasoning_delta", "tool_call_started")
    ]
    assert attributed == [
        ("tool_call_started", None, None),
        ("text_delta", "call_1", "researcher"),
        ("tool_call_started", "call_1", "researcher"),
        ("reasoning_delta", "call_1", "reader"),  # nested: still under the outer call
        ("text_delta", None, None),
    ]
    run = fold(*SUBAGENT_RUN)
    assert run.status == "completed" and [c.name for c in run.tool_calls] == ["research", "search"]


def test_shared_state_is_kept_on_the_run_and_sent_back() -> None:
    translator = AGUITranslator("thread_1", state={"count": 0})
    run = fold(
        START,
        frame("STATE_SNAPSHOT", snapshot={"count": 1, "items": []}),
        frame("STATE_DELTA", delta=[{"op": "add", "path": "/items/-", "value": "a"}]),
        frame("STATE_DELTA", delta=[{"op": "remove", "path": "/missing"}]),  # fails: kept out
        DONE,
        translator=translator,
    )
    assert run.state == {"count": 1, "items": ["a"]}
    assert translator.state == {"count": 1, "items": ["a"]}
    assert [e.name for e in run.custom_events] == ["state_delta_rejected"]


def test_custom_raw_and_activity_events_are_kept_not_dropped() -> None:
    run = fold(
        START,
        frame("CUSTOM", name="progress", value={"done": 3}),
        frame("RAW", event={"vendor": "x"}, source="langgraph"),
        frame("ACTIVITY_SNAPSHOT", messageId="a1", activityType="plan", content={"steps": 2}),
        frame("MESSAGES_SNAPSHOT", messages=[]),
        frame("STEP_STARTED", stepName="plan"),
        DONE,
    )
    assert [(e.name, e.value) for e in run.custom_events] == [
        ("progress", {"done": 3}),
        ("raw", {"event": {"vendor": "x"}, "source": "langgraph"}),
        ("activity_snapshot", {"messageId": "a1", "activityType": "plan", "content": {"steps": 2}}),
    ]
    assert not run.unknown_events


def test_chunks_and_the_older_thinking_names() -> None:
    run = fold(
        START,
        frame("THINKING_TEXT_MESSAGE_CONTENT", delta="old style "),
        frame("REASONING_MESSAGE_CHUNK", messageId="r1", delta="new style"),
        frame("TEXT_MESSAGE_CHUNK", messageId="m1", role="assistant", delta="Hi"),
        frame("TOOL_CALL_CHUNK", toolCallId="c1", toolCallName="f", delta='{"a":'),
        frame("TOOL_CALL_CHUNK", delta=" 1}"),
        frame("TOOL_CALL_RESULT", messageId="t1", toolCallId="c1", content='{"ok": true}'),
        DONE,
    )
    assert run.reasoning == "old style new style" and run.text == "Hi"
    call = run.tool_calls[0]
    assert (call.name, call.arguments, call.output, call.status) == (
        "f",
        {"a": 1},
        {"ok": True},
        "succeeded",
    )


def test_usage_entries_per_model_are_summed() -> None:
    usage = [
        {"model": "a", "inputTokens": 10, "outputTokens": 5},
        {"model": "b", "inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
    ]
    run = fold(START, frame("RUN_FINISHED", threadId="t", runId="r", usage=usage))
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (11, 7)


def test_usage_in_a_custom_event_is_the_runs_the_last_one_so_far() -> None:
    """Microsoft Agent Framework sends its usage as ``CUSTOM`` ``usage`` events, each the
    run's so far (``UsageDetails``' spellings), and none on ``RUN_FINISHED``."""
    so_far = [
        {"input_token_count": 12, "output_token_count": 5, "total_token_count": 17},
        {"input_token_count": 24, "output_token_count": 10, "total_token_count": 34},
    ]
    run = fold(START, *(frame("CUSTOM", name="usage", value=v) for v in so_far), DONE)
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (24, 10)
    assert run.usage.total_tokens == 34


def test_a_question_interrupt_pauses_with_the_question() -> None:
    interrupts = [{"id": "int_q", "reason": "input_required", "message": "Which account?"}]
    outcome = {"type": "interrupt", "interrupts": interrupts}
    run = fold(START, frame("RUN_FINISHED", threadId="t", runId="r", outcome=outcome))
    assert run.status == "paused"
    [call] = run.awaiting_approval
    assert call.call_id == "int_q" and call.approval is not None
    assert call.approval.approval_id == "int_q"


def test_a_question_interrupt_on_a_call_puts_the_question_on_that_call() -> None:
    question = {"id": "int_q", "reason": "input_required", "message": "Where to?"}
    outcome = {"type": "interrupt", "interrupts": [{**question, "toolCallId": "c1"}]}
    run = fold(
        START,
        frame("TOOL_CALL_START", toolCallId="c1", toolCallName="ask_user"),
        frame("RUN_FINISHED", threadId="t", runId="r", outcome=outcome),
    )
    assert [c.call_id for c in run.tool_calls] == ["c1"]
    [call] = run.awaiting_approval
    assert call.name == "ask_user" and call.approval is not None
    assert (call.approval.approval_id, call.approval.question) == ("int_q", "Where to?")


def test_a_questions_answer_is_the_resume_payload() -> None:
    provider = AGUI()
    translator = AGUITranslator("thread_1")
    interrupts = [
        {"id": "int_q", "reason": "input_required", "message": "Which account?"},
        {"id": "int-c1", "reason": "tool_call", "toolCallId": "c1"},
    ]
    outcome = {"type": "interrupt", "interrupts": interrupts}
    translator.translate(frame("TOOL_CALL_START", toolCallId="c1", toolCallName="pay"))
    translator.translate(frame("RUN_FINISHED", threadId="t", runId="r", outcome=outcome))
    request = RunRequest(agent="bank", message="pay rent", thread_id="thread_1")
    decisions = [
        ApprovalDecision("int_q", approved=True, answer={"account": "savings"}),
        ApprovalDecision("c1", approved=False, reason="not today"),
    ]
    sent = provider.approval_request(request, translator, decisions)
    assert sent.path == ""  # the endpoint the user gave, as the run went to it
    assert sent.json is not None
    assert sent.json["resume"] == [
        {"interruptId": "int_q", "status": "resolved", "payload": {"account": "savings"}},
        {
            "interruptId": "int-c1",
            "status": "resolved",
            "payload": {"approved": False, "reason": "not today"},
        },
    ]
    assistant = sent.json["messages"][-1]
    assert assistant["role"] == "assistant" and assistant["toolCalls"][0]["id"] == "c1"


def test_a_cancelled_outcome_and_an_error_fail_the_run() -> None:
    cancelled = fold(
        START, frame("RUN_FINISHED", threadId="t", runId="r", outcome={"type": "cancelled"})
    )
    assert cancelled.status == "failed" and cancelled.error is not None
    assert cancelled.error.code == "cancelled"
    failed = fold(START, frame("RUN_ERROR", message="model \x1b[31moverloaded", code="OVERLOADED"))
    assert failed.status == "failed" and failed.error is not None
    assert "\x1b" not in failed.error.message  # terminal-safe


def test_frames_no_server_should_send_are_kept_or_refused_clearly() -> None:
    run = fold(
        START,
        ServerSentEvent(data="not json"),
        frame("FUTURE_EVENT", x=1),
        ServerSentEvent(data=json.dumps({"no": "type"})),
        frame("TOOL_CALL_ARGS", delta="x"),  # no call id: nothing to attach it to
        frame("TEXT_MESSAGE_CONTENT", messageId="m", delta=7),
        DONE,
    )
    assert run.status == "completed" and run.text == ""
    assert [e.data for e in run.unknown_events] == [
        "not json",
        json.dumps({"type": "FUTURE_EVENT", "x": 1}),
        json.dumps({"no": "type"}),
    ]
    bad = fold(START, frame("RUN_FINISHED", threadId="t", runId="r", outcome={"type": "interrupt"}))
    assert bad.status == "failed" and bad.error is not None
    assert bad.error.code == "bad_interrupt"


def test_a_patch_applies_all_or_nothing() -> None:
    """A delta whose second operation fails leaves the state as the first found it."""
    state = {"items": ["a"], "count": 1}
    patch = [{"op": "add", "path": "/items/-", "value": "b"}, {"op": "remove", "path": "/nope"}]
    with pytest.raises(PatchError):
        apply_patch(state, patch)
    assert state == {"items": ["a"], "count": 1}
    assert apply_patch(state, patch[:1])[0] == {"items": ["a", "b"], "count": 1}
    assert state == {"items": ["a"], "count": 1}  # the input is never changed
    kept = AgentState(state={"items": []})
    for bad in ([{"op": "test", "path": "/items", "value": [1]}], ["x"], [{"op": "bogus"}]):
        kept.apply(StateDelta(patch=bad), None)
    assert kept.state == {"items": []}
    assert [e.name for e in kept.custom_events] == ["state_delta_rejected"] * 3


def test_a_tool_result_only_in_the_messages_snapshot_finishes_its_call() -> None:
    """LlamaIndex's AG-UI workflow server sends a call's result only as a ``tool`` message of
    ``MESSAGES_SNAPSHOT``: the call finishes with it; a call already finished is not redone."""
    snapshot = frame(
        "MESSAGES_SNAPSHOT",
        messages=[
            {"id": "u", "role": "user", "content": "What is 2 + 2?"},
            {"id": "t1", "role": "tool", "toolCallId": "call_1", "content": "4"},
            {"id": "t2", "role": "tool", "toolCallId": "call_2", "content": "again"},
            {"id": "t3", "role": "tool", "toolCallId": "unknown", "content": "no such call"},
        ],
    )
    run = fold(
        START,
        frame("TOOL_CALL_START", toolCallId="call_1", toolCallName="add"),
        frame("TOOL_CALL_END", toolCallId="call_1"),
        frame("TOOL_CALL_START", toolCallId="call_2", toolCallName="add"),
        frame("TOOL_CALL_RESULT", messageId="r", toolCallId="call_2", content="done"),
        snapshot,
        snapshot,
        DONE,
    )
    assert [(call.call_id, call.output) for call in run.tool_calls] == [
        ("call_1", "4"),
        ("call_2", "done"),
    ]


def test_a_calls_arguments_only_in_the_messages_snapshot_are_its_arguments() -> None:
    """ag-ui-langgraph streams no ``TOOL_CALL_ARGS`` for a call its model sent whole in one
    chunk (as Ollama and Gemini's OpenAI-compatible API do): the arguments are only in the
    assistant message of ``MESSAGES_SNAPSHOT``, after the result. Streamed ones are kept."""
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2}'}},
        {"id": "call_2", "type": "function", "function": {"name": "add", "arguments": '{"b": 0}'}},
    ]
    snapshot = frame(
        "MESSAGES_SNAPSHOT", messages=[{"id": "a", "role": "assistant", "toolCalls": calls}]
    )
    run = fold(
        START,
        frame("TOOL_CALL_START", toolCallId="call_1", toolCallName="add"),
        frame("TOOL_CALL_END", toolCallId="call_1"),
        frame("TOOL_CALL_RESULT", messageId="r1", toolCallId="call_1", content="2"),
        frame("TOOL_CALL_START", toolCallId="call_2", toolCallName="add"),
        frame("TOOL_CALL_ARGS", toolCallId="call_2", delta='{"b": 1}'),
        frame("TOOL_CALL_RESULT", messageId="r2", toolCallId="call_2", content="1"),
        snapshot,
        snapshot,
        DONE,
    )
    assert [(call.arguments, call.output) for call in run.tool_calls] == [
        ({"a": 2}, "2"),
        ({"b": 1}, "1"),
    ]
    assert not run.unknown_events
