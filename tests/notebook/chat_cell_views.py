"""The seam between a chat cell and its views, from the kernel's side: a `Recorder` in place
of the widget's ``send`` (the browser, which a unit test cannot reach), a `Replica` that
applies the frames the way a view does (js/src/sync.js + state.js), the messages a view sends,
and the steps that play a scripted run in a cell and wait for what the views get."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from agentnb_testing import PATIENCE_S, Scripted

from agentnb._core.handle import RunHandle
from agentnb._core.loop import get_loop
from agentnb._core.run import Run
from agentnb._display.widget import ChatCell

__all__ = [
    "Recorder",
    "Replica",
    "capture",
    "follow",
    "matches_run",
    "notices",
    "paused",
    "play",
    "replica_of",
    "settle",
    "start",
    "transcript_turn",
    "view",
]


class Recorder:
    """Captures what the widget sends to its views, with the thread and loop time."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, content: dict[str, Any], buffers: Any = None) -> None:
        with self.lock:
            self.frames.append(json.loads(json.dumps(content)))
            self.times.append(get_loop().time())
            self.threads.add(threading.current_thread().name)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [f for f in self.frames if f["kind"] == kind]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = PATIENCE_S) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.01)


class Replica:
    """A view's copy of the transcript, following js/src/sync.js rules. It starts from the
    widget's initial synced state (``{"seq": 0, "turns": []}``), as a view shown at once does."""

    def __init__(self) -> None:
        self.seq = 0
        self.turns: list[dict[str, Any]] = []
        self.applied = 0
        self.ignored = 0
        self.requests: list[str] = []
        self.awaiting = False

    def start_from(self, transcript: dict[str, Any]) -> None:
        if transcript and transcript["seq"] > self.seq:
            self.reset(transcript, transcript["seq"])

    def reset(self, state: dict[str, Any], seq: int) -> None:
        self.turns = json.loads(json.dumps(state["turns"]))
        for turn in self.turns:
            turn["tools"] = {c["call_id"]: c for c in turn["tools"]}
        self.seq = seq

    def feed(self, frame: dict[str, Any]) -> None:
        if frame["kind"] == "snapshot":
            self.awaiting = False
            if frame["seq"] > self.seq:
                self.reset(frame["state"], frame["seq"])
                self.applied += 1
            else:
                self.ignored += 1
        elif frame["kind"] == "current":
            # the kernel's answer to a view holding every frame before it: nothing to apply
            self.awaiting = False
            if frame["seq"] > self.seq:
                self.awaiting = True
                self.requests.append("resync")
        elif frame["kind"] == "delta":
            if frame["seq"] <= self.seq:
                self.ignored += 1
            elif frame["seq"] != self.seq + 1 or self.seq < 0:
                self.ignored += 1
                if not self.awaiting:
                    self.awaiting = True
                    self.requests.append("resync")
            else:
                for op in frame["ops"]:
                    self.apply(op)
                self.seq = frame["seq"]
                self.applied += 1

    def apply(self, op: dict[str, Any]) -> None:
        if op["op"] == "turn":
            turn = json.loads(json.dumps(op["turn"]))
            turn["tools"] = {c["call_id"]: c for c in turn["tools"]}
            while len(self.turns) <= op["t"]:
                self.turns.append({})
            self.turns[op["t"]] = turn
            return
        turn = self.turns[op["t"]]
        if op["op"] == "part":
            assert op["i"] == len(turn["parts"]), "parts must arrive in order"
            turn["parts"].append({"kind": op["kind"], "text": op["text"], "call_id": op["call_id"]})
        elif op["op"] == "text":
            turn["parts"][op["i"]]["text"] += op["text"]
        elif op["op"] == "tool":
            turn["tools"].setdefault(op["call"]["call_id"], {}).update(op["call"])
        elif op["op"] == "args":
            call = turn["tools"][op["call_id"]]
            call["arguments_text"] = call.get("arguments_text", "") + op["text"]
        elif op["op"] == "agent_text":
            call = turn["tools"][op["call_id"]]
            key = "agent_text" if op["kind"] == "text" else "agent_reasoning"
            call[key] = call.get(key, "") + op["text"]
        elif op["op"] == "meta":
            turn["meta"].update(op["meta"])
        else:  # pragma: no cover - a new op kind must be taught to the views too
            raise AssertionError(f"unknown op {op}")

    def answer(self, t: int = 0) -> str:
        return "".join(p["text"] for p in self.turns[t]["parts"] if p["kind"] == "text")


def matches_run(replica: Replica, t: int, run: Run) -> None:
    turn = replica.turns[t]
    assert [(p["kind"], p["text"], p["call_id"]) for p in turn["parts"]] == [
        (p.kind, p.text, p.call_id) for p in run.parts
    ]
    for call in run.tool_calls:
        shown = turn["tools"][call.call_id]
        assert shown["status"] == call.status
        assert shown["name"] == call.name
        assert shown.get("arguments_text", "") == call.arguments_text
        assert shown["output"] == call.output
    assert turn["meta"]["status"] == run.status
    assert turn["meta"]["run_id"] == run.run_id
    assert turn["meta"]["usage"] == (run.usage.model_dump() if run.usage else None)


def capture(cell: ChatCell, *, seen: bool | None = True) -> Recorder:
    """Record what ``cell`` sends its views: one view on screen; out of sight where not
    ``seen`` (a frame a second: `UNSEEN_INTERVAL`); None: no view at all (behind "Show more
    outputs", or on no page: no frame)."""
    recorder = Recorder()
    cell.send = recorder  # type: ignore[method-assign]
    if seen is not None:
        cell._controller.receive({"kind": "seen", "view": "recorder", "seen": seen})
    return recorder


def start(stream: Scripted) -> RunHandle:
    return RunHandle.start(lambda: stream, run=stream.run)


def follow(cell: ChatCell, stream: Scripted) -> RunHandle:
    """Start the stream's run and show it as the cell's next turn."""
    handle = start(stream)
    cell.add(handle)
    return handle


def play(cell: ChatCell, recorder: Recorder, stream: Scripted, timeout: float) -> RunHandle:
    """Run the stream to its end in the cell and wait until the widget has sent it all."""
    handle = follow(cell, stream)
    handle.wait(timeout)
    settle(cell, recorder)
    return handle


def replica_of(recorder: Recorder) -> Replica:
    """A view's copy of the transcript, built from every frame the widget sent."""
    replica = Replica()
    with recorder.lock:  # a run still going may send more meanwhile
        frames = list(recorder.frames)
    for frame in frames:
        replica.feed(frame)
    return replica


def settle(cell: ChatCell, recorder: Recorder) -> None:
    """Wait until the widget has sent everything about every run (their end included)."""
    recorder.wait_for(
        lambda: (
            all(r.done for r in cell.runs)
            and bool(recorder.of_kind("delta"))
            and cell.transcript.get("seq") == cell._controller.seq
            and len(cell.transcript.get("turns", [])) == len(cell.runs)
            and all(
                t["meta"]["status"] == r.status
                for t, r in zip(cell.transcript.get("turns", []), cell.runs, strict=False)
            )
        )
    )
    loop_caught_up()


def loop_caught_up() -> None:
    """Wait until the background loop has run what was put on it before (a flush begun
    when a test saw its first effect has ended)."""
    done = threading.Event()
    get_loop().call_soon_threadsafe(done.set)
    assert done.wait(PATIENCE_S), "the background loop did not get to a callback"


def transcript_turn(cell: ChatCell) -> dict[str, Any]:
    turns = cell.transcript.get("turns") or [{}]
    turn: dict[str, Any] = turns[0]
    return turn


def paused(cell: ChatCell) -> bool:
    return transcript_turn(cell).get("meta", {}).get("status") == "paused"


def view(cell: ChatCell, content: dict[str, Any]) -> None:
    """A message from a view, the way the comm delivers it."""
    cell._on_view_message(cell, content, [])


def notices(recorder: Recorder) -> list[str]:
    return [f["text"] for f in recorder.of_kind("notice")]
