"""SeekrFlow's ``data-nestedToolEvent`` parts become events of a call tree (seekrai 0.34.4's
shapes: ``toolCallPath`` ends at the chunk's own ``toolCallId``, agent in ``providerMetadata``
or ``messageMetadata``)."""

from __future__ import annotations

import json
from typing import Any

from agentnb._core.run import Run
from agentnb.events import (
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    UnknownEvent,
)
from agentnb.providers import Translator
from agentnb.providers.seekrflow import SeekrFlowVercel
from agentnb.sse import ServerSentEvent
from agentnb.types import RunRequest


def translator() -> Translator:
    return SeekrFlowVercel().translator(RunRequest(agent="a", message="hi", thread_id="t"))


def nested(
    chunk: dict[str, Any], path: list[str], depth: int = 1, agent: str | None = None
) -> ServerSentEvent:
    if agent is not None:
        chunk = {**chunk, "providerMetadata": {"metadata": {"agent_id": agent}}}
    data = {"toolCallPath": path, "depth": depth, "sourceToolName": "ask", "chunk": chunk}
    part = {"type": "data-nestedToolEvent", "data": data}
    return ServerSentEvent(event="message", data=json.dumps(part))


def test_nested_call_text_and_result_hang_under_the_parent_call() -> None:
    t = translator()
    start = {"type": "tool-input-available", "toolCallId": "c1", "toolName": "ask", "input": {}}
    events = t.translate(ServerSentEvent(data=json.dumps(start)))
    events += t.translate(
        nested({"type": "text-delta", "id": "x", "delta": "hi"}, ["c1"], agent="sub")
    )
    events += t.translate(
        nested(
            {
                "type": "tool-input-available",
                "toolCallId": "n1",
                "toolName": "look",
                "input": {"q": 1},
            },
            ["c1", "n1"],
            agent="sub",
        )
    )
    events += t.translate(
        nested({"type": "tool-output-available", "toolCallId": "n1", "output": 5}, ["c1", "n1"])
    )
    top = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(e.call_id, e.parent_call_id, e.agent) for e in top] == [
        ("c1", None, None),
        ("c1/n1", "c1", "sub"),
    ]
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta(delta="hi", parent_call_id="c1", agent="sub")
    ]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished == [ToolCallFinished(call_id="c1/n1", output=5, arguments={"q": 1})]


def test_parallel_nested_calls_with_the_same_id_under_different_parents_stay_apart() -> None:
    t = translator()
    events: list[Event] = []
    for parent in ("a", "b"):
        chunk = {"type": "tool-input-start", "toolCallId": "same", "toolName": "look"}
        events += t.translate(nested(chunk, [parent, "same"]))
    for parent, output in (("b", "B"), ("a", "A")):
        chunk = {"type": "tool-output-available", "toolCallId": "same", "output": output}
        events += t.translate(nested(chunk, [parent, "same"]))
    started = [(e.call_id, e.parent_call_id) for e in events if isinstance(e, ToolCallStarted)]
    assert started == [("a/same", "a"), ("b/same", "b")]
    done = [(e.call_id, e.output) for e in events if isinstance(e, ToolCallFinished)]
    assert done == [("b/same", "B"), ("a/same", "A")]


def test_deep_path_reasoning_agent_from_message_metadata_and_argument_deltas() -> None:
    t = translator()
    path = [f"c{i}" for i in range(50)]
    chunk = {"type": "reasoning-delta", "id": "r", "delta": "hmm"}
    chunk["messageMetadata"] = {"metadata": {"agent_id": "deep", "parent_agent_id": "up"}}
    events = t.translate(nested(chunk, path, depth=50))
    assert events == [ReasoningDelta(delta="hmm", parent_call_id="/".join(path), agent="deep")]
    delta = {"type": "tool-input-delta", "toolCallId": "z", "inputTextDelta": "{"}
    assert t.translate(nested(delta, ["p"])) == [ToolCallDelta(call_id="p/z", arguments_delta="{")]


def test_unknown_or_broken_nested_parts_are_kept_and_sub_agent_lifecycle_is_quiet() -> None:
    t = translator()
    for bad in (
        {"type": "data-nestedToolEvent", "data": {"toolCallPath": ["a"]}},
        {"type": "data-nestedToolEvent", "data": {"chunk": {"type": "source-url", "url": "u"}}},
        {"type": "data-nestedToolEvent", "data": {"chunk": {"type": "tool-output-available"}}},
    ):
        events = t.translate(ServerSentEvent(data=json.dumps(bad)))
        assert [type(e) for e in events] == [UnknownEvent]
    assert t.translate(nested({"type": "finish"}, ["a"])) == []
    assert not t.done


def test_run_keeps_the_tree_and_sub_agent_text_stays_out_of_the_answer() -> None:
    t = translator()
    start = {"type": "tool-input-available", "toolCallId": "c1", "toolName": "ask", "input": {}}
    frames = [
        ServerSentEvent(data=json.dumps(start)),
        nested({"type": "text-delta", "id": "x", "delta": "sub says"}, ["c1"], agent="sub"),
        nested({"type": "tool-input-start", "toolCallId": "n1", "toolName": "look"}, ["c1", "n1"]),
        nested(
            {"type": "tool-input-start", "toolCallId": "n2", "toolName": "dig"}, ["c1", "n1", "n2"]
        ),
        nested({"type": "text-delta", "id": "y", "delta": "lost?"}, ["ghost"], agent="x"),
        ServerSentEvent(data=json.dumps({"type": "text-delta", "id": "t", "delta": "answer"})),
    ]
    run = Run(agent="a", message="m")
    for sse in frames:
        for event in t.translate(sse):
            run.apply(event)
    assert run.text == "answer"
    tree = [(c.call_id, c.parent_call_id, c.depth) for c in run.tool_calls]
    assert tree == [
        ("c1", None, 0),
        ("c1/n1", "c1", 1),
        ("c1/n1/n2", "c1/n1", 2),
        ("ghost", None, 0),
    ]
    parent = run.tool_call("c1")
    assert parent is not None and parent.agent_text == "sub says"
    ghost = run.tool_call("ghost")
    assert ghost is not None and ghost.agent_text == "lost?"
