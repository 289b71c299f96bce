"""The Responses API translator's ordering guarantee, for any delivery: frames shuffled,
repeated or missing, followed by the resume the client makes (the frames after the
translator's cursor), read as the stream in order: every delta once, in order, one end."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._core.request import build_request
from agentnb.events import Event, ReasoningDelta, RunCompleted, TextDelta, ToolCallDelta
from agentnb.providers.openai_responses import OpenAIResponses, ResponsesTranslator
from agentnb.sse import ServerSentEvent

PIECES = [f"p{n} " for n in range(8)]


def stream() -> list[dict[str, Any]]:
    item = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
    call = {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": ""}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": "rs_1", "type": "reasoning", "summary": []}},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0,
         "summary_index": 0, "delta": "think"},
        {"type": "response.output_item.added", "output_index": 1, "item": call},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1,
         "delta": '{"a":'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1,
         "delta": " 1}"},
        {"type": "response.output_item.added", "output_index": 2, "item": item},
        *({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 2,
           "content_index": 0, "delta": piece} for piece in PIECES),
        {"type": "response.completed",
         "response": {"id": "resp_1", "status": "completed", "output": [],
                      "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}},
    ]  # fmt: skip
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


STREAM = stream()


def frame(event: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(event=event["type"], data=json.dumps(event))


def read(translator: ResponsesTranslator, events: list[dict[str, Any]]) -> list[Event]:
    found: list[Event] = []
    for event in events:
        if translator.done:
            break
        found.extend(translator.translate(frame(event)))
    return found


@settings(max_examples=150)
@given(delivery=st.lists(st.sampled_from(range(len(STREAM))), max_size=3 * len(STREAM)))
def test_any_delivery_then_the_resume_reads_as_the_stream(delivery: list[int]) -> None:
    provider = OpenAIResponses()
    translator = provider.translator(build_request("m", "hi"))
    assert isinstance(translator, ResponsesTranslator)
    events = read(translator, [STREAM[n] for n in delivery])
    events += translator.ended()
    if not translator.done:  # the client resumes after the cursor
        resume = provider.resume_request(build_request("m", "hi"), None, translator)
        if translator.run_id is None:
            assert resume is None  # nothing named the response: nothing to resume
            events += read(translator, STREAM)  # (the test's stand-in: a fresh stream)
        else:
            assert resume is not None
            after = int(resume.params.get("starting_after", "-1"))
            assert after == (translator.cursor if translator.cursor is not None else -1)
            events += read(translator, [e for e in STREAM if e["sequence_number"] > after])
    text = "".join(e.delta for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.delta for e in events if isinstance(e, ReasoningDelta))
    arguments = "".join(e.arguments_delta for e in events if isinstance(e, ToolCallDelta))
    assert (text, reasoning, arguments) == ("".join(PIECES), "think", '{"a": 1}')
    assert [type(e) for e in events].count(RunCompleted) == 1
    assert isinstance(events[-1], RunCompleted) and events[-1].finish_reason == "tool_calls"


def test_the_decisions_go_as_a_new_response_continuing_the_paused_one() -> None:
    from agentnb.approvals import ApprovalDecision

    provider = OpenAIResponses(background=True)
    own_input = [{"type": "function_call_output", "call_id": "c0", "output": "{}"}]
    request = build_request("m", "hi", extra={"input": own_input, "tools": [{"type": "mcp"}]})
    translator = provider.translator(request)
    assert isinstance(translator, ResponsesTranslator)
    approval = {"id": "mcpr_1", "type": "mcp_approval_request", "server_label": "s",
                "name": "place", "arguments": "{}"}  # fmt: skip
    paused = read(
        translator,
        [
            {"type": "response.created", "sequence_number": 0,
             "response": {"id": "resp_1", "status": "in_progress"}},
            {"type": "response.output_item.done", "sequence_number": 1, "item": approval,
             "output_index": 0},
            {"type": "response.completed", "sequence_number": 2,
             "response": {"id": "resp_1", "status": "completed", "output": [approval]}},
        ],
    )  # fmt: skip
    assert paused[-1].type == "run_paused"
    sent = provider.approval_request(
        request, translator, [ApprovalDecision("mcpr_1", False, reason="no")]
    )
    assert sent is not None and sent.json is not None
    assert sent.json["previous_response_id"] == "resp_1"
    assert sent.json["input"] == [
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": False,
         "reason": "no"}
    ]  # fmt: skip
    assert sent.json["tools"] == [{"type": "mcp"}] and sent.json["background"] is True
    assert translator.cursor is None and not translator.done  # the new response starts at 0
