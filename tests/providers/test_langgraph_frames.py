"""The ``langgraph`` translator on frames written by hand: what the real server
(``test_langgraph_sdk.py``) cannot be made to send on purpose."""

from __future__ import annotations

import json
from typing import Any

from agentnb.events import (
    CustomEvent,
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    TextDelta,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallStarted,
    UnknownEvent,
)
from agentnb.providers import RunsPage
from agentnb.providers.langgraph import LangGraphTranslator
from agentnb.sse import ServerSentEvent


def frame(event: str, data: Any) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=json.dumps(data))


def read(*frames: ServerSentEvent) -> list[Event]:
    translator = LangGraphTranslator("thread_1")
    return [e for f in frames for e in translator.translate(f)]


def ai(content: str) -> list[Any]:
    return [{"type": "AIMessageChunk", "id": "m1", "content": content}, {}]


def test_nested_namespaces_are_calls_inside_calls() -> None:
    events = read(
        frame("metadata", {"run_id": "r1"}),
        frame("messages|outer:1|inner:2", ai("deep")),
        frame("updates|outer:1", {"inner": {"messages": []}}),
        frame("updates", {"outer": {"messages": []}}),
    )
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(e.call_id, e.name, e.parent_call_id) for e in started] == [
        ("outer:1", "outer", None),
        ("inner:2", "inner", "outer:1"),
    ]
    [text] = [e for e in events if isinstance(e, TextDelta)]
    assert (text.delta, text.parent_call_id, text.agent) == ("deep", "inner:2", "inner")
    finished = [e.call_id for e in events if isinstance(e, ToolCallFinished)]
    assert finished == ["inner:2", "outer:1"]  # each ended by its parent graph's update


def test_an_error_frame_is_a_typed_failure() -> None:
    [failed] = read(frame("error", {"error": "GraphRecursionError", "message": "too deep"}))
    assert isinstance(failed, RunFailed)
    assert (failed.message, failed.code) == ("too deep", "GraphRecursionError")


def test_unknown_modes_and_unreadable_frames_are_kept() -> None:
    events = read(
        ServerSentEvent(event="debug", data='{"step": 1}'),
        ServerSentEvent(event="messages", data="{not json"),
        ServerSentEvent(event="metadata", data='{"no_run_id": 1}'),
    )
    assert [type(e) for e in events] == [UnknownEvent, UnknownEvent, UnknownEvent]
    assert [e.event for e in events if isinstance(e, UnknownEvent)] == [
        "debug",
        "messages",
        "metadata",
    ]


def test_an_interrupt_raised_in_a_subgraph_and_again_at_the_root_asks_once() -> None:
    interrupt = {"__interrupt__": [{"id": "i1", "value": "Which account?"}]}
    events = read(frame("updates|sub:1", interrupt), frame("updates", interrupt))
    asked = [e for e in events if isinstance(e, ToolApprovalRequested)]
    assert [(e.call_id, e.question) for e in asked] == [("i1", "Which account?")]
    assert sum(isinstance(e, RunPaused) for e in events) == 1


def test_a_subgraphs_values_and_custom_events_keep_their_namespace() -> None:
    events = read(frame("values|sub:1", {"x": 1}), frame("custom|sub:1", {"p": 2}))
    assert [(e.name, e.value) for e in events if isinstance(e, CustomEvent)] == [
        ("values|sub:1", {"x": 1}),
        ("custom|sub:1", {"p": 2}),
    ]


def test_a_clean_end_is_the_runs_end_only_when_a_join_brings_nothing() -> None:
    translator = LangGraphTranslator("thread_1")
    translator.on_response({})
    translator.translate(frame("metadata", {"run_id": "r1"}))
    assert translator.ended() == []  # maybe a cut: join it again
    translator.on_response({})
    translator.translate(frame("messages", ai("more")))
    assert translator.ended() == []  # the join went on: still maybe a cut
    translator.on_response({})
    [completed] = translator.ended()
    assert isinstance(completed, RunCompleted) and translator.done


def test_the_built_in_servers_question_is_asked_on_its_tool_call() -> None:
    value = {"tool_call": {"id": "call_a", "name": "ask_user", "args": {}}, "question": "Where?"}
    events = read(frame("updates", {"__interrupt__": [{"id": "appr_1", "value": value}]}))
    [asked] = [e for e in events if isinstance(e, ToolApprovalRequested)]
    assert (asked.call_id, asked.approval_id, asked.question) == ("call_a", "appr_1", "Where?")


def test_ids_in_paths_are_quoted() -> None:
    from agentnb.providers import RunRef
    from agentnb.providers.langgraph import LangGraph

    provider = LangGraph()
    ref = RunRef("graph", "run/1?x", "thread 1")
    cancel = provider.cancel_request(ref)
    join = provider.attach_request(ref, None)
    listing = provider.list_runs_request(RunsPage("a/b", 5))
    assert cancel is not None and cancel.path == "/threads/thread%201/runs/run%2F1%3Fx/cancel"
    assert join is not None and join.path == "/threads/thread%201/runs/run%2F1%3Fx/stream"
    assert listing is not None and listing.path == "/threads/a%2Fb/runs"
