"""The chat cell's kernel-side protocol: coalesced, numbered frames; snapshots; resync.

The widget's ``send`` is replaced by a recorder: that is the seam between the kernel and the
browser, which a unit test cannot reach. A `Replica` applies the frames the way a view does
(js/src/sync.js + state.js), so the tests check what a view ends up showing.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, Scripted
from chat_cell_views import (
    Replica,
    capture,
    follow,
    matches_run,
    play,
    replica_of,
    settle,
    start,
)

from agentnb._core.handle import RunHandle
from agentnb._core.run import Run
from agentnb._display.controller import ALL_CELLS_FPS
from agentnb._display.widget import ChatCell
from agentnb._display.widget_protocol import MAX_TOOL_OUTPUT_CHARS
from agentnb.events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    RunStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)

LOOP_THREAD = "agentnb-loop"


def finance_events() -> list[Event]:
    return [
        RunStarted(run_id="run-1", thread_id="thread-1"),
        ReasoningDelta(delta="I need the price. "),
        ReasoningDelta(delta="Then compute."),
        ToolCallStarted(call_id="c1", name="get_stock_price"),
        ToolCallDelta(call_id="c1", arguments_delta='{"ticker": '),
        ToolCallDelta(call_id="c1", arguments_delta='"NVDA"}'),
        ToolCallFinished(call_id="c1", output={"price": 181.2}),
        ToolCallStarted(call_id="c2", name="calculator", arguments={"expression": "1+1"}),
        ToolCallFinished(call_id="c2", output=None, error="division by zero"),
        TextDelta(delta="# NVDA\n\n"),
        TextDelta(delta="| a | b |\n|---|---|\n| 1 | 2 |\n"),
        RunCompleted(usage=Usage(prompt_tokens=12, completion_tokens=30), followups=["And AMD?"]),
    ]


# ---- bytes and frame rate --------------------------------------------------------------------


def test_long_answer_is_sent_linearly_in_frames_at_most_30_a_second() -> None:
    answer_chunks = [f"{i % 10_000:04d} " for i in range(20_000)]  # 100,000 characters
    answer = "".join(answer_chunks)
    assert len(answer) == 100_000
    events: list[Event] = [TextDelta(delta=c) for c in answer_chunks]
    stream = Scripted([*events, RunCompleted()], pace_every=10)
    cell = ChatCell()
    recorder = capture(cell)
    play(cell, recorder, stream, 60)

    deltas = recorder.of_kind("delta")
    assert [f["seq"] for f in deltas] == list(range(1, len(deltas) + 1))
    total = sum(len(json.dumps(f)) for f in recorder.frames)
    envelope = 400  # seq, clock and op headers of one frame, with the turn's meta
    assert total <= len(json.dumps(answer)) + envelope * len(recorder.frames) + 2_000
    assert len(deltas) < 20_000 / 50, "deltas must be coalesced, not sent one per token"
    interval = 1 / 30
    # every frame but the run's last one (sent at once when the run ends) respects the rate
    times = recorder.times[:-1]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= interval * 0.95 for gap in gaps), min(gaps)
    replica = Replica()
    for frame in recorder.frames:
        replica.feed(frame)
    assert replica.answer() == answer
    assert replica.ignored == 0


def test_transcript_trait_changes_only_at_turns_tool_boundaries_and_end() -> None:
    events: list[Event] = [TextDelta(delta="x") for _ in range(2_000)]
    events[1_000:1_000] = [
        ToolCallStarted(call_id="c1", name="calculator"),
        ToolCallFinished(call_id="c1", output=2),
    ]
    events.append(RunCompleted())
    stream = Scripted(events, pace_every=5)
    cell = ChatCell()
    recorder = capture(cell)
    writes: list[dict[str, Any]] = []
    cell.observe(lambda change: writes.append(change["new"]), names="transcript")
    play(cell, recorder, stream, PATIENCE_S)

    # turn added, tool started, tool finished (possibly one flush), end: never per token
    assert 2 <= len(writes) <= 4
    final = writes[-1]
    assert final["seq"] == recorder.of_kind("delta")[-1]["seq"]
    assert final["turns"][0]["meta"]["status"] == "completed"
    text = "".join(p["text"] for p in final["turns"][0]["parts"] if p["kind"] == "text")
    assert text == "x" * 2_000


# ---- what a view ends up showing --------------------------------------------------------------


def test_view_replica_matches_the_run_parts_tools_and_meta() -> None:
    stream = Scripted(finance_events(), agent="finance_agent", message="NVDA?", pace_every=1)
    cell = ChatCell()
    recorder = capture(cell)
    handle = play(cell, recorder, stream, PATIENCE_S)
    replica = Replica()
    for frame in recorder.frames:
        replica.feed(frame)
    matches_run(replica, 0, handle.run)
    meta = replica.turns[0]["meta"]
    assert meta["agent"] == "finance_agent"
    assert meta["message"] == "NVDA?"
    assert meta["followups"] == ["And AMD?"]
    assert meta["local_id"] == handle.run.local_id, "what a view knows the turn's run by"
    assert meta["usage"]["total_tokens"] == 42
    assert replica.turns[0]["tools"]["c2"]["error"] == "division by zero"
    assert recorder.threads == {LOOP_THREAD}


def test_hello_mid_run_gets_a_snapshot_at_the_current_seq() -> None:
    events = [TextDelta(delta=f"part{i} ") for i in range(200)] + [RunCompleted()]
    stream = Scripted(events, pause_after=100)
    cell = ChatCell()
    recorder = capture(cell)
    handle = follow(cell, stream)
    assert stream.paused.wait(PATIENCE_S)
    recorder.wait_for(lambda: bool(recorder.of_kind("delta")))
    time.sleep(0.1)  # let the frame for the first 100 deltas go out

    late = Replica()
    late.seq = -1
    late.start_from(cell.transcript)
    first_seen = len(recorder.frames)
    cell._controller.receive({"kind": "hello", "have": late.seq})
    recorder.wait_for(lambda: bool(recorder.of_kind("snapshot") + recorder.of_kind("current")))
    [answer] = recorder.of_kind("snapshot") + recorder.of_kind("current")
    assert answer["seq"] == cell._controller.seq
    # a snapshot where frames went out after the transcript was written, else "current": the
    # transcript the view started from holds them all (the first frame may carry all 100)
    state = answer["state"] if answer["kind"] == "snapshot" else cell.transcript
    assert answer["kind"] == "snapshot" or late.seq == cell._controller.seq
    assert "".join(p["text"] for p in state["turns"][0]["parts"]) == "".join(
        f"part{i} " for i in range(100)
    )
    stream.resume()
    handle.wait(PATIENCE_S)
    settle(cell, recorder)
    for frame in recorder.frames[first_seen:]:
        late.feed(frame)
    matches_run(late, 0, handle.run)
    assert late.requests == []


def test_second_view_and_reload_catch_up_with_nothing_applied_twice() -> None:
    events = [TextDelta(delta=f"<{i}>") for i in range(300)] + [RunCompleted()]
    stream = Scripted(events, pause_after=150)
    cell = ChatCell()
    recorder = capture(cell)
    handle = follow(cell, stream)

    first = Replica()
    cell._controller.receive({"kind": "hello", "have": -1})
    assert stream.paused.wait(PATIENCE_S)
    time.sleep(0.1)
    seen = len(recorder.frames)
    for frame in recorder.frames[:seen]:
        first.feed(frame)

    # A second view (or the page reloaded): starts from the synced transcript, says hello.
    second = Replica()
    second.seq = -1
    second.start_from(cell.transcript)
    cell._controller.receive({"kind": "hello", "have": second.seq})
    stream.resume()
    handle.wait(PATIENCE_S)
    settle(cell, recorder)
    for frame in recorder.frames[seen:]:
        first.feed(frame)
        second.feed(frame)
    for view in (first, second):
        matches_run(view, 0, handle.run)
        assert view.answer() == "".join(f"<{i}>" for i in range(300))
        assert view.requests == []
    # the second view's snapshot was not re-applied by the first (or it was told it was current)
    assert first.ignored >= 1 or any(f["kind"] == "current" for f in recorder.frames[seen:])


def test_a_gap_makes_the_view_ask_for_a_resync_and_the_snapshot_repairs_it() -> None:
    events = [TextDelta(delta=f"{i};") for i in range(400)] + [RunCompleted()]
    stream = Scripted(events, pace_every=2)
    cell = ChatCell()
    recorder = capture(cell)
    handle = play(cell, recorder, stream, PATIENCE_S)
    deltas = recorder.of_kind("delta")
    assert len(deltas) >= 3

    view = Replica()
    view.feed(deltas[0])
    view.feed(deltas[2])  # deltas[1] was lost
    assert view.requests == ["resync"]
    before = len(recorder.frames)
    cell._controller.receive({"kind": "resync", "have": view.seq})
    recorder.wait_for(lambda: len(recorder.frames) > before)
    for frame in recorder.frames[before:]:
        view.feed(frame)
    matches_run(view, 0, handle.run)


# ---- controls -----------------------------------------------------------------------------------


def test_stop_from_another_thread_cancels_the_run_on_the_loop_and_keeps_partial_text() -> None:
    events = [TextDelta(delta="partial answer ")] * 5 + [TextDelta(delta="never")]
    stream = Scripted(events, pause_after=5)
    cell = ChatCell()
    recorder = capture(cell)
    handle = follow(cell, stream)
    assert stream.paused.wait(PATIENCE_S)

    sender = threading.Thread(target=cell._controller.receive, args=({"kind": "stop", "t": 0},))
    sender.start()
    sender.join()
    run = handle.run
    with pytest.raises(Exception, match="cancelled"):
        handle.wait(PATIENCE_S)
    settle(cell, recorder)
    assert run.status == "cancelled"
    replica = Replica()
    for frame in recorder.frames:
        replica.feed(frame)
    assert replica.turns[0]["meta"]["status"] == "cancelled"
    assert replica.answer() == "partial answer " * 5
    assert cell.transcript["turns"][0]["meta"]["status"] == "cancelled"


def test_followup_starts_the_next_turn_off_the_loop_and_its_caller_thread() -> None:
    calls: list[tuple[str, str]] = []
    second = Scripted([TextDelta(delta="AMD is fine."), RunCompleted()], message="And AMD?")

    def on_followup(text: str) -> RunHandle:
        calls.append((text, threading.current_thread().name))
        return start(second)

    first = Scripted(finance_events())
    cell = ChatCell(on_followup=on_followup)
    recorder = capture(cell)
    play(cell, recorder, first, 10)
    cell._controller.receive({"kind": "followup", "text": "  And AMD?  "})
    recorder.wait_for(lambda: len(cell.runs) == 2 and cell.runs[1].done)
    settle(cell, recorder)

    assert [text for text, _ in calls] == ["And AMD?"]
    assert calls[0][1] not in (LOOP_THREAD, threading.current_thread().name)
    replica = Replica()
    for frame in recorder.frames:
        replica.feed(frame)
    assert len(replica.turns) == 2
    matches_run(replica, 1, second.run)
    assert replica.answer(1) == "AMD is fine."
    assert cell.handle is not None and cell.handle.run is second.run


def test_a_followup_chip_is_the_agents_text_and_attaches_nothing() -> None:
    """A follow-up the agent suggested (``"Compare @cfg with @In[1]"``) was not typed: it
    goes with its mentions written as text (``@@cfg``, which sends ``@cfg``)."""
    sent: list[str] = []

    class Mentions:
        def preview(self, message: str) -> list[tuple[str, str]]:
            return []

        def without(self, message: str, mentions: Any) -> str:
            return message

        def as_text(self, message: str) -> str:
            return message.replace("@", "@@")

    def on_followup(text: str) -> RunHandle:
        sent.append(text)
        return start(Scripted([RunCompleted()], message=text))

    cell = ChatCell(on_followup=on_followup, attachments=Mentions())
    cell._controller.receive({"kind": "followup", "text": "Compare @cfg with @In[1]"})
    deadline = time.monotonic() + PATIENCE_S
    while len(sent) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sent[0] == "Compare @@cfg with @@In[1]"


def test_followup_is_refused_while_a_run_is_going_and_without_a_starter() -> None:
    stream = Scripted([TextDelta(delta="a"), TextDelta(delta="b")], pause_after=1)
    started: list[str] = []
    cell = ChatCell(on_followup=lambda text: started.append(text))  # type: ignore[arg-type,func-returns-value]
    recorder = capture(cell)
    handle = follow(cell, stream)
    assert stream.paused.wait(PATIENCE_S)
    cell._controller.receive({"kind": "send", "text": "another"})
    recorder.wait_for(lambda: bool(recorder.of_kind("notice")))
    assert "still going" in recorder.of_kind("notice")[0]["text"]
    assert started == []
    handle.cancel()

    plain = ChatCell(Run(agent="a", message="m", status="completed"))
    plain_recorder = capture(plain)
    plain._controller.receive({"kind": "followup", "text": "next?"})
    plain_recorder.wait_for(lambda: bool(plain_recorder.of_kind("notice")))
    assert "cannot start runs" in plain_recorder.of_kind("notice")[0]["text"]


def test_bad_view_messages_are_ignored() -> None:
    cell = ChatCell(Run(agent="a", message="m", status="completed"))
    recorder = capture(cell)
    for content in (
        None,
        "hello",
        {"kind": "unknown"},
        {"kind": "stop", "t": 99},
        {"kind": "send", "text": 5},
        {"kind": "followup", "text": "   "},
    ):
        cell._controller.receive(content)
    cell._controller.receive({"kind": "hello", "have": -1})
    recorder.wait_for(lambda: bool(recorder.of_kind("snapshot")))
    assert [f["kind"] for f in recorder.frames if f["kind"] != "delta"] == ["snapshot"]


def test_huge_tool_output_is_cut_and_marked() -> None:
    big = "x" * (MAX_TOOL_OUTPUT_CHARS + 10)
    events = [
        ToolCallStarted(call_id="c", name="dump"),
        ToolCallFinished(call_id="c", output=big),
        RunCompleted(),
    ]
    stream = Scripted(events)
    cell = ChatCell()
    recorder = capture(cell)
    play(cell, recorder, stream, PATIENCE_S)
    call = cell.transcript["turns"][0]["tools"][0]
    assert call["output_truncated"] is True
    assert call["output_chars"] == len(big)
    assert len(call["output"]) == MAX_TOOL_OUTPUT_CHARS


def test_max_fps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_fps"):
        ChatCell(max_fps=0)


def test_many_cells_streaming_at_once_share_one_frame_budget() -> None:
    """Each cell sends up to 30 frames a second; 60 cells streaming at once send, together,
    about ALL_CELLS_FPS a second (not 60 × 30), so many runs do not flood the kernel's output
    channel. Counted against the time the streams took, measured here."""
    cells = [ChatCell() for _ in range(60)]
    recorders = [capture(cell) for cell in cells]
    streams = [
        Scripted([*(TextDelta(delta=f"{i} ") for i in range(3000)), RunCompleted()], pace_every=5)
        for _ in cells
    ]
    started = time.monotonic()
    handles = [follow(cell, stream) for cell, stream in zip(cells, streams, strict=True)]
    for handle in handles:
        handle.wait(PATIENCE_S)
    took = time.monotonic() - started
    for cell, recorder in zip(cells, recorders, strict=True):
        settle(cell, recorder)
    frames = sum(len(recorder.of_kind("delta")) for recorder in recorders)
    # each cell's first frame goes at once and its end at once, whatever the budget
    assert frames <= ALL_CELLS_FPS * took + 3 * len(cells), (frames, took)
    for recorder, handle in zip(recorders, handles, strict=True):
        assert replica_of(recorder).turns[0]["parts"][0]["text"] == handle.run.text
