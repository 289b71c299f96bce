"""The A2A translator on frames the scripted SDK server does not send: A2A 0.3's ``kind``
tagged results, a completed status whose message is the answer, a direct Message result, a
resubscription's task snapshot after a cut, Agno's tool events, and frames it cannot read
(kept, never dropped); where Agno's task methods are."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentnb.events import (
    CustomEvent,
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    TextDelta,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallStarted,
    UnknownEvent,
)
from agentnb.providers import RunRef
from agentnb.providers.a2a import A2A, A2ATranslator
from agentnb.sse import ServerSentEvent


def frame(result: Any) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps({"jsonrpc": "2.0", "id": 1, "result": result}))


def translate(translator: A2ATranslator, *results: Any) -> list[Event]:
    return [event for result in results for event in translator.translate(frame(result))]


def test_a2a_0_3_results_tagged_by_kind() -> None:
    events = translate(
        A2ATranslator(),
        {"kind": "task", "id": "t1", "contextId": "c1", "status": {"state": "submitted"}},
        {
            "kind": "artifact-update",
            "taskId": "t1",
            "contextId": "c1",
            "artifact": {"artifactId": "a", "parts": [{"kind": "text", "text": "Hi"}]},
        },
        {
            "kind": "status-update",
            "taskId": "t1",
            "contextId": "c1",
            "status": {"state": "completed"},
        },
    )
    assert [type(e) for e in events] == [RunStarted, TextDelta, RunCompleted]
    started = events[0]
    assert isinstance(started, RunStarted) and (started.run_id, started.thread_id) == ("t1", "c1")


def test_a_completed_status_message_is_part_of_the_answer() -> None:
    translator = A2ATranslator()
    message = {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "Done."}]}
    status = {"state": "TASK_STATE_COMPLETED", "message": message}
    events = translate(
        translator, {"statusUpdate": {"taskId": "t", "contextId": "c", "status": status}}
    )
    assert [type(e) for e in events] == [RunStarted, TextDelta, RunCompleted]
    assert translator.done


def test_a_message_result_without_a_task_ends_the_run() -> None:
    message = {
        "messageId": "m1",
        "contextId": "c",
        "role": "ROLE_AGENT",
        "parts": [{"text": "Hello"}],
    }
    translator = A2ATranslator()
    events = translate(translator, {"message": message})
    assert [type(e) for e in events] == [RunStarted, TextDelta, RunCompleted]
    assert translator.done


def test_a_snapshot_after_a_cut_adds_only_the_text_not_seen() -> None:
    translator = A2ATranslator()
    part = {"artifactId": "answer", "parts": [{"text": "NVDA "}]}
    translate(
        translator,
        {"task": {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}},
        {"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": part}},
    )
    whole = {"artifactId": "answer", "parts": [{"text": "NVDA trades"}]}
    snapshot = {
        "id": "t",
        "contextId": "c",
        "status": {"state": "TASK_STATE_WORKING"},
        "artifacts": [whole],
    }
    events = translate(translator, {"task": snapshot})
    assert [e.delta for e in events if isinstance(e, TextDelta)] == ["trades"]
    assert not any(isinstance(e, RunStarted) for e in events)


def test_auth_required_pauses_on_a_question() -> None:
    status = {"state": "TASK_STATE_AUTH_REQUIRED"}
    events = translate(
        A2ATranslator(), {"statusUpdate": {"taskId": "t", "contextId": "c", "status": status}}
    )
    assert [type(e) for e in events] == [RunStarted, ToolApprovalRequested, RunPaused]
    asked = events[1]
    assert isinstance(asked, ToolApprovalRequested) and asked.question == "the agent needs auth"


@pytest.mark.parametrize(
    ("state", "code"), [("canceled", "cancelled"), ("TASK_STATE_REJECTED", "rejected")]
)
def test_canceled_and_rejected_fail_the_run(state: str, code: str) -> None:
    events = translate(
        A2ATranslator(),
        {"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}},
    )
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.code == code


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"somethingNew": {}}}),
        json.dumps([1, 2]),
    ],
)
def test_frames_it_cannot_read_are_kept(data: str) -> None:
    [kept] = A2ATranslator().translate(ServerSentEvent(data=data))
    assert isinstance(kept, UnknownEvent) and kept.data == data


def test_an_unknown_state_and_data_parts_are_kept_as_custom_events() -> None:
    status = {"state": "TASK_STATE_PONDERING"}
    data_part = {"data": {"chart": [1, 2]}}
    artifact = {"artifactId": "c", "name": "chart", "parts": [data_part]}
    events = translate(
        A2ATranslator(),
        {"statusUpdate": {"taskId": "t", "contextId": "c", "status": status}},
        {"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": artifact}},
    )
    custom = [e for e in events if isinstance(e, CustomEvent)]
    assert [c.name for c in custom] == ["a2a.status", "a2a.artifact"]
    assert custom[1].value["parts"] == [data_part]


def test_a_jsonrpc_error_frame_names_the_error() -> None:
    error = {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": -32002, "message": "Task cannot be canceled"},
    }
    translator = A2ATranslator()
    [failed] = translator.translate(ServerSentEvent(data=json.dumps(error)))
    assert isinstance(failed, RunFailed)
    assert (failed.code, failed.message) == ("task_not_cancelable", "Task cannot be canceled")
    assert translator.done


def working(text: str) -> dict[str, Any]:
    message = {"messageId": text, "role": "ROLE_AGENT", "parts": [{"text": text}]}
    return {"statusUpdate": {"taskId": "t", "contextId": "c", "status": {
        "state": "TASK_STATE_WORKING", "message": message}}}  # fmt: skip


def chunk(text: str, *, append: bool) -> dict[str, Any]:
    artifact = {"artifactId": "a", "parts": [{"text": text}]}
    return {"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": artifact,
            "append": append}}  # fmt: skip


COMPLETED = {"statusUpdate": {"taskId": "t", "status": {"state": "TASK_STATE_COMPLETED"}}}


def shown(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.type, e.delta) for e in events if e.type in ("reasoning_delta", "text_delta")]


def test_a_note_the_chunked_artifact_repeats_is_the_answer_once() -> None:
    events = translate(
        A2ATranslator(),
        working("Looking it up."),
        working("The answer is 4."),
        chunk("The answer ", append=False),
        chunk("is 4.", append=True),
        COMPLETED,
    )
    assert shown(events) == [
        ("reasoning_delta", "Looking it up."),
        ("text_delta", "The answer "),
        ("text_delta", "is 4."),
    ]


def test_a_note_that_is_not_the_answer_stays_reasoning() -> None:
    events = translate(A2ATranslator(), working("Checking."), chunk("4", append=False), COMPLETED)
    assert shown(events) == [("reasoning_delta", "Checking."), ("text_delta", "4")]
    events = translate(A2ATranslator(), working("Checking."), COMPLETED)
    assert shown(events) == [("reasoning_delta", "Checking.")]


def test_an_artifact_sent_again_whole_replaces_it_and_only_what_is_new_is_shown() -> None:
    """Pydantic AI's fasta2a streams an artifact in ``append: true`` chunks, then sends it whole
    with ``append: false``: A2A's replacement of a known artifact, not a second answer."""
    events = translate(
        A2ATranslator(),
        chunk("The answer ", append=False),
        chunk("is 4.", append=True),
        chunk("The answer is 4.", append=False),
        chunk("The answer is 4. Sure.", append=False),
        COMPLETED,
    )
    assert shown(events) == [
        ("text_delta", "The answer "),
        ("text_delta", "is 4."),
        ("text_delta", " Sure."),
    ]


def test_agnos_tool_events_in_status_metadata_are_its_tool_call() -> None:
    def tool_event(kind: str) -> dict[str, Any]:
        metadata = {"agno_event_type": kind, "tool_name": "add", "tool_call_id": "call_1"}
        return {
            "kind": "status-update",
            "taskId": "t1",
            "contextId": "c1",
            "status": {"state": "working"},
            "metadata": {**metadata, "tool_args": '{"a": 2, "b": 3}'},
        }

    events = translate(
        A2ATranslator(), tool_event("tool_call_started"), tool_event("tool_call_completed")
    )
    assert [type(e) for e in events] == [RunStarted, ToolCallStarted, ToolCallFinished]
    started, finished = events[1], events[2]
    assert isinstance(started, ToolCallStarted) and isinstance(finished, ToolCallFinished)
    assert (started.call_id, started.name, started.arguments) == ("call_1", "add", {"a": 2, "b": 3})
    assert (finished.call_id, finished.output, finished.error) == ("call_1", None, None)


def test_beside_an_endpoint_named_for_streaming_are_the_task_methods() -> None:
    """Agno's card names ``.../v1/message:stream``; it gets and cancels tasks beside it."""
    a2a = A2A(path="/a2a/agents/{agent}/v1/message:stream", version="0.3")
    ref = RunRef("calc", "t1", "c1")
    assert a2a.cancel_request(ref).path == "/a2a/agents/calc/v1/tasks:cancel"
    status = a2a.run_status_request("calc", ["t1"])
    assert status is not None and status.path == "/a2a/agents/calc/v1/tasks:get"
    assert a2a.attach_request(ref, None).path == "/a2a/agents/calc/v1/message:stream"
    assert A2A(path="/rpc").cancel_request(ref).path == "/rpc"
