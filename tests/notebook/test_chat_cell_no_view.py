"""A chat cell sends frames only where a view draws them. A view says it exists (its first
``seen`` report, its ``hello``) and that it is ``gone``; a cell with no view (behind
JupyterLab's "Show more outputs", or on no page) sends none, yet its synced transcript and
static copy follow the run, and a view that appears gets what it lacks at once, then frames,
nothing applied twice.

The widget's ``send`` is replaced by a recorder: the seam between the kernel and the browser.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, wait_until
from chat_cell_views import Recorder, Replica, capture, loop_caught_up, matches_run, view

from agentnb._core.handle import RunHandle
from agentnb._core.loop import get_loop
from agentnb._core.run import Run
from agentnb._display import controller
from agentnb._display.widget import ChatCell
from agentnb.events import Event, RunCompleted, TextDelta, ToolCallFinished, ToolCallStarted


class Fed:
    """A stream source whose events come when the test feeds them (from any thread): what
    the run has streamed when a view appears is the test's to say."""

    def __init__(self) -> None:
        self.run = Run(agent="echo", message="hi")
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._count = 0

    def feed(self, *events: Event) -> None:
        for event in events:
            get_loop().call_soon_threadsafe(self._events.put_nowait, event)

    async def __aenter__(self) -> Fed:
        self.run.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._stream()

    async def _stream(self) -> AsyncIterator[Event]:
        while True:
            event = await self._events.get()
            stamped = event.model_copy(update={"seq": self._count, "received_at": time.time()})
            self._count += 1
            self.run.apply(stamped)
            yield stamped
            if isinstance(event, RunCompleted):
                return


def shown(cell: ChatCell) -> tuple[Fed, RunHandle]:
    """A fed run, followed by ``cell`` as its next turn."""
    source = Fed()
    handle = RunHandle.start(lambda: source, run=source.run)
    cell.add(handle)
    return source, handle


def streamed(source: Fed, text: str) -> None:
    """Wait until the run's answer is ``text`` and the cell has heard all of it."""
    wait_until(lambda: source.run.text == text, f"the answer {text!r}")
    loop_caught_up()


def drawn_then_gone() -> tuple[ChatCell, Recorder, Fed, RunHandle]:
    """A cell whose one view, on screen, drew the answer's first words, then said it is gone."""
    cell = ChatCell()
    recorder = capture(cell)
    source, handle = shown(cell)
    source.feed(TextDelta(delta="Hello "))
    streamed(source, "Hello ")
    recorder.wait_for(lambda: "Hello" in str(recorder.of_kind("delta")))
    view(cell, {"kind": "gone", "view": "recorder"})
    loop_caught_up()
    return cell, recorder, source, handle


def the_transcript_holds(cell: ChatCell, call_id: str) -> bool:
    turns = cell.transcript.get("turns") or []
    return bool(turns) and any(call["call_id"] == call_id for call in turns[0]["tools"])


def fed_from(replica: Replica, recorder: Recorder, first: int) -> Replica:
    """``replica`` with the frames the cell sent from frame ``first`` on, applied in order."""
    with recorder.lock:
        frames = recorder.frames[first:]
    for frame in frames:
        replica.feed(frame)
    return replica


def test_a_cell_no_view_draws_gets_no_frame_yet_its_transcript_and_copy_follow_the_run() -> None:
    cell = ChatCell()
    recorder = capture(cell, seen=None)
    copies: list[str] = []
    cell.refresh_copies = lambda: copies.append(cell.static_bundle()["text/plain"])  # type: ignore[method-assign]
    source, handle = shown(cell)
    source.feed(TextDelta(delta="Hello "), ToolCallStarted(call_id="c1", name="lookup"))
    wait_until(lambda: the_transcript_holds(cell, "c1"), "the transcript at the call's start")
    source.feed(ToolCallFinished(call_id="c1", output=2), TextDelta(delta="world"), RunCompleted())
    run = handle.wait(PATIENCE_S)
    loop_caught_up()

    assert recorder.frames == [], "nothing drew them: no delta, no snapshot"
    assert cell.frames_sent == 0
    final = Replica()
    final.start_from(cell.transcript)
    matches_run(final, 0, run)
    assert final.answer() == "Hello world" and final.turns[0]["meta"]["status"] == "completed"
    assert copies and "Hello world" in copies[-1], "the static copy refreshed at the end"


def from_transcript(transcript: dict[str, Any], recorder: Recorder, first: int) -> Replica:
    """A view that started from ``transcript`` and then got the frames from frame ``first``."""
    replica = Replica()
    replica.start_from(transcript)
    return fed_from(replica, recorder, first)


@pytest.mark.parametrize("first", ["seen", "hello"])
def test_a_view_that_appears_from_the_transcript_gets_what_it_lacks_at_once_then_frames(
    monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """A view drew the cell, then went; the run went on, and the transcript written at the
    call's start holds the text before it; a new view starts from that transcript and says
    it exists (its first visibility report, out of sight, or a hello): at once, the next
    frame carries only what the transcript lacks; then frames as it streams."""
    cell, recorder, source, handle = drawn_then_gone()
    sent = len(recorder.frames)
    source.feed(TextDelta(delta="big "), ToolCallStarted(call_id="c1", name="lookup"))
    wait_until(lambda: the_transcript_holds(cell, "c1"), "the transcript at the call's start")
    source.feed(TextDelta(delta="wor"))
    streamed(source, "Hello big wor")
    assert len(recorder.frames) == sent, "no frame once the only view was gone"

    # from here a cell out of sight gets a frame every ten minutes: what comes sooner came at once
    monkeypatch.setattr(controller, "UNSEEN_INTERVAL", 600.0)
    transcript = json.loads(json.dumps(cell.transcript))
    assert "big" in from_transcript(transcript, recorder, sent).answer(), "written with no view"
    if first == "seen":
        view(cell, {"kind": "seen", "view": "late", "seen": False})
    else:
        view(cell, {"kind": "hello", "have": transcript["seq"], "view": "late"})
    recorder.wait_for(
        lambda: from_transcript(transcript, recorder, sent).answer() == "Hello big wor"
    )

    view(cell, {"kind": "seen", "view": "late", "seen": True})
    source.feed(TextDelta(delta="ld"), ToolCallFinished(call_id="c1", output=2), RunCompleted())
    run = handle.wait(PATIENCE_S)
    loop_caught_up()
    replica = from_transcript(transcript, recorder, sent)
    matches_run(replica, 0, run)
    assert replica.answer() == "Hello big world", "nothing applied twice"
    assert replica.ignored == 0 and replica.requests == [], "every frame applied, in order"


def test_a_view_with_nothing_says_hello_and_gets_the_whole_state_then_frames() -> None:
    """A view with no transcript at all (``have`` -1) appears while the cell has no view: a
    snapshot of everything, then the frames after it."""
    cell = ChatCell()
    recorder = capture(cell, seen=None)
    source, handle = shown(cell)
    source.feed(TextDelta(delta="Hello "), ToolCallStarted(call_id="c1", name="lookup"))
    source.feed(TextDelta(delta="wor"))
    streamed(source, "Hello wor")
    assert recorder.frames == []

    view(cell, {"kind": "hello", "have": -1, "view": "new"})
    recorder.wait_for(lambda: bool(recorder.of_kind("snapshot")))
    whole = Replica()
    whole.feed(recorder.of_kind("snapshot")[0])
    assert whole.answer() == "Hello wor" and "c1" in whole.turns[0]["tools"]
    source.feed(TextDelta(delta="ld"), ToolCallFinished(call_id="c1", output=2), RunCompleted())
    run = handle.wait(PATIENCE_S)
    loop_caught_up()
    replica = Replica()
    replica.seq, replica.awaiting = -1, True  # as sync.js: it holds nothing, asked, waits
    replica = fed_from(replica, recorder, 0)
    matches_run(replica, 0, run)
    assert replica.answer() == "Hello world"
    assert replica.requests == []
    assert len(recorder.of_kind("delta")) >= 1, "the end came as a frame after the snapshot"


def test_a_view_that_says_it_is_gone_gets_no_more_frames() -> None:
    cell, recorder, source, handle = drawn_then_gone()
    sent = len(recorder.frames)
    source.feed(
        TextDelta(delta="world"),
        ToolCallStarted(call_id="c1", name="lookup"),
        ToolCallFinished(call_id="c1", output=2),
        RunCompleted(),
    )
    run = handle.wait(PATIENCE_S)
    loop_caught_up()
    assert len(recorder.frames) == sent, "not even the run's end"
    assert cell.transcript["turns"][0]["meta"]["status"] == run.status == "completed"


def test_the_views_a_cell_counts_are_bounded_the_least_recently_heard_forgotten() -> None:
    """Pages closed without a word leave their views counted, at most `VIEWS_AT_MOST`: one
    more forgets the view heard from longest ago."""
    cell = ChatCell()
    recorder = capture(cell, seen=None)
    names = [f"v{i}" for i in range(controller.VIEWS_AT_MOST + 1)]
    for name in names:
        view(cell, {"kind": "seen", "view": name, "seen": False})
    for name in names[1:]:
        view(cell, {"kind": "gone", "view": name})
    loop_caught_up()
    source, handle = shown(cell)
    source.feed(TextDelta(delta="Hello"), RunCompleted())
    handle.wait(PATIENCE_S)
    loop_caught_up()
    assert recorder.frames == [], "v0 was forgotten: no view left"

    counted = ChatCell()
    kept = capture(counted, seen=None)
    for name in names[:-1]:
        view(counted, {"kind": "seen", "view": name, "seen": False})
    for name in names[1:-1]:
        view(counted, {"kind": "gone", "view": name})
    source, handle = shown(counted)
    source.feed(TextDelta(delta="Hello"), RunCompleted())
    handle.wait(PATIENCE_S)
    loop_caught_up()
    assert "Hello" in str(kept.of_kind("delta")), "v0 still counted: it gets the frames"


def test_in_marimo_a_cell_is_drawn_until_a_view_speaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """marimo reads no widget message while a cell runs (one that waits for its run): there
    a chat cell gets frames, as one out of sight, until a view says something of itself."""
    monkeypatch.setattr(controller, "in_marimo", lambda: True)
    cell = ChatCell()
    recorder = capture(cell, seen=None)
    source, handle = shown(cell)
    source.feed(TextDelta(delta="Hello "))
    recorder.wait_for(lambda: "Hello" in str(recorder.of_kind("delta")))
    view(cell, {"kind": "seen", "view": "v1", "seen": True})
    view(cell, {"kind": "gone", "view": "v1"})
    loop_caught_up()
    sent = len(recorder.frames)
    source.feed(TextDelta(delta="world"), RunCompleted())
    handle.wait(PATIENCE_S)
    loop_caught_up()
    assert len(recorder.frames) == sent, "heard from, then gone: no view left"
