"""The chat cell's protocol carries the call tree: each call's parent, agent, depth and usage,
and what a sub-agent streams inside a call as append-only ``agent_text`` ops, so a view's
copy equals the run (events from agentnb's SeekrFlow translator, through a real `ChatCell`
and `RunHandle`; the views' side is the `Replica` of chat_cell_views)."""

from __future__ import annotations

from agentnb_testing import PATIENCE_S, Scripted
from chat_cell_views import capture, follow, matches_run, play, replica_of, settle
from nested_frames import SUB_REASONING, SUB_TEXT, events_from_frames, nested_run_frames

from agentnb._display.widget import ChatCell
from agentnb.events import Event, TextDelta, ToolCallFinished, Usage


def agent_ops(frames: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        op for f in frames if f["kind"] == "delta" for op in f["ops"] if op["op"] == "agent_text"
    ]  # type: ignore[attr-defined]


def nested_events() -> list[Event]:
    events = events_from_frames(nested_run_frames())
    more = [
        TextDelta(delta=f" step {i}.", parent_call_id="r1", agent="researcher") for i in range(5)
    ]
    usage = ToolCallFinished(call_id="r2/p1", output={"price": 160.0}, usage=Usage(prompt_tokens=7))
    at = next(i for i, e in enumerate(events) if isinstance(e, ToolCallFinished))
    return [*events[:at], *more, usage, *events[at:]]


def test_a_views_copy_holds_the_tree_and_every_sub_agent_text() -> None:
    stream = Scripted(nested_events(), agent="planner", pace_every=1)
    cell = ChatCell(max_fps=1000)
    recorder = capture(cell)
    handle = play(cell, recorder, stream, PATIENCE_S)
    replica = replica_of(recorder)
    run = handle.run
    matches_run(replica, 0, run)
    tools = replica.turns[0]["tools"]
    for call in run.tool_calls:
        shown = tools[call.call_id]
        assert (shown["parent_call_id"], shown["agent"], shown["depth"]) == (
            call.parent_call_id,
            call.agent,
            call.depth,
        )
        assert (shown.get("agent_text", ""), shown.get("agent_reasoning", "")) == (
            call.agent_text,
            call.agent_reasoning,
        )
    assert (
        tools["r1"]["agent_text"].startswith(SUB_TEXT) and " step 4." in tools["r1"]["agent_text"]
    )
    assert tools["r1"]["agent_reasoning"] == SUB_REASONING
    assert tools["r2/p1"]["usage"]["prompt_tokens"] == 7
    assert tools["r1/p1/v1"]["parent_call_id"] == "r1/p1" and tools["r1/p1/v1"]["depth"] == 2


def test_sub_agent_text_streams_as_appends_never_by_resending_the_call() -> None:
    events = nested_events()
    # paused mid sub-agent text, until a frame carried what came before: the rest of the text
    # comes in later frames however busy the machine (which could otherwise send it in one)
    middle = next(i for i, e in enumerate(events) if getattr(e, "delta", "") == " step 2.")
    stream = Scripted(events, agent="planner", pace_every=1, pause_after=middle)
    cell = ChatCell(max_fps=1000)
    recorder = capture(cell)
    handle = follow(cell, stream)
    assert stream.paused.wait(PATIENCE_S)
    recorder.wait_for(lambda: bool(agent_ops(recorder.frames)))
    stream.resume()
    handle.wait(PATIENCE_S)
    settle(cell, recorder)
    ops = agent_ops(recorder.frames)
    assert len(ops) >= 2  # the text came over several frames
    sent = "".join(str(op["text"]) for op in ops if op["call_id"] == "r1" and op["kind"] == "text")
    whole = handle.run.tool_call("r1").agent_text  # type: ignore[union-attr]
    # what came as appends is the end of the text, nothing twice
    assert sent and whole.endswith(sent)
    for frame in recorder.frames:
        for op in frame.get("ops", []):
            if op["op"] == "tool" and "arguments_text" not in op["call"]:
                assert "agent_text" not in op["call"]  # a changed call does not resend it
