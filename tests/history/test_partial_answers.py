"""Nothing lost: a run cut short by its process (killed, or exiting normally mid-run) stays in
the history as ``interrupted`` with the partial answer it had, against the built-in server;
the partial answer is checkpointed at every tool call boundary, not at every event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, REPO

from agentnb._client import recording
from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.recording import _has_answer
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb.events import (
    ReasoningDelta,
    RunCompleted,
    StepReset,
    StepStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

STREAMER = textwrap.dedent(
    """
    import asyncio, sys
    from agentnb._client.async_client import AsyncAgentClient
    from agentnb.history import HistoryStore

    url, key, path = sys.argv[1:4]

    async def main():
        store = HistoryStore(path)
        client = AsyncAgentClient(
            "operativus", base_url=url, api_key=key, recorder=store,
            headers={"X-AgentNB-Delay-Ms": "40"},
        )
        async with client, client.stream(
            "writer", "write at length", metadata={"paragraphs": "60"}
        ) as stream:
            first = True
            async for event in stream:
                if first and stream.run.text:
                    print(stream.run.local_id, flush=True)
                    first = False

    asyncio.run(main())
    """
)

EXITER = textwrap.dedent(
    f"""
    import logging, sys, time
    import agentnb
    from agentnb._client.async_client import AsyncAgentClient
    from agentnb.history import HistoryStore

    logging.basicConfig(level=logging.WARNING)
    url, key, own_store = sys.argv[1:4]

    def main():
        # the default history (AGENTNB_HISTORY), or a store the script opened itself
        recorder = HistoryStore(own_store) if own_store else None
        client = AsyncAgentClient(
            "operativus", base_url=url, api_key=key, recorder=recorder,
            headers={{"X-AgentNB-Delay-Ms": "40"}},
        )
        handle = agentnb.ask(
            "writer", "write at length", client=client, display=False,
            metadata={{"paragraphs": "60"}},
        )
        deadline = time.monotonic() + {PATIENCE_S:g}
        while not handle.run.text and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        print(handle.run.local_id, flush=True)
        print(len(handle.run.text), flush=True)
        # and return from main while the run is still streaming

    main()
    """
)


def env_with_history(path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "AGENTNB_HISTORY": str(path)}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_process_keeps_its_partial_answer(server: ServerHandle, tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    url = server.url_for("operativus")
    process = subprocess.Popen(
        [sys.executable, "-c", STREAMER, url, server.api_key, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_with_history(path),
    )
    try:
        assert process.stdout is not None
        local_id = process.stdout.readline().strip()
        assert local_id, process.communicate(timeout=PATIENCE_S)[1]
        time.sleep(1.0)  # about a second of streaming
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=PATIENCE_S)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    with HistoryStore(path) as store:
        record = store.get(local_id)
    assert record is not None
    assert (record.status, record.error_code) == ("interrupted", "process_exited")
    assert record.answer, "the partial answer was lost"


@pytest.mark.parametrize("store", ["default", "own"])
def test_an_exit_mid_run_keeps_the_partial_answer_and_logs_nothing(
    server: ServerHandle, tmp_path: Path, store: str
) -> None:
    path = tmp_path / "h.sqlite3"
    url = server.url_for("operativus")
    own = str(path) if store == "own" else ""
    env = env_with_history(tmp_path / "unused.sqlite3" if own else path)
    done = subprocess.run(
        [sys.executable, "-c", EXITER, url, server.api_key, own],
        capture_output=True,
        text=True,
        env=env,
        timeout=PATIENCE_S,
    )
    assert done.returncode == 0, done.stderr
    local_id, seen = done.stdout.split()
    assert int(seen) > 0
    assert "could not record" not in done.stderr
    assert "closed" not in done.stderr
    with HistoryStore(path) as reader:
        record = reader.get(local_id)
    assert record is not None
    assert (record.status, record.error_code) == ("interrupted", "process_exited")
    assert record.answer and len(record.answer) >= int(seen)


# ---- when the partial answer is checkpointed ------------------------------------------------
class Checkpoints:
    """A recorder that notes each checkpoint (what the run held then) between the events a
    caller sees, so a test can tell which event each checkpoint followed."""

    def __init__(self) -> None:
        self.log: list[tuple[str, object]] = []

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        self.log.append(("start", None))

    def record_progress(self, run: Run) -> None:
        calls = tuple((call.call_id, call.status) for call in run.tool_calls)
        self.log.append(("checkpoint", (run.text, calls)))

    def record_end(self, run: Run) -> None:
        self.log.append(("end", run.status))


async def test_a_short_run_is_written_once_at_its_end(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "FIRST_WRITE_SECONDS", 600.0)  # every run is short
    recorder = Checkpoints()
    client = AsyncAgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key,
        recorder=recorder,
    )  # fmt: skip
    async with client:
        await client.run("echo", "short")
    assert recorder.log == [("start", None), ("end", "completed")]


async def test_a_run_written_at_its_start_is_not_checkpointed_before_one_is_due(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run written at its start (here at once) and ending before a checkpoint is due (here
    never) is written twice: its start and its end. Its next event and its first answer do
    not write it again in between (they did: a checkpoint at once after the start, another
    at the first answer, on every run of a burst that queued past half a second)."""
    monkeypatch.setattr(recording, "FIRST_WRITE_SECONDS", 0.0)
    monkeypatch.setattr(recording, "FIRST_ANSWER_SECONDS", 600.0, raising=False)
    monkeypatch.setattr(recording, "CHECKPOINT_SECONDS", 600.0)
    recorder = Checkpoints()
    client = AsyncAgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key,
        recorder=recorder, headers={"X-AgentNB-Delay-Ms": "20"},
    )  # fmt: skip
    async with client:
        run = await client.run("echo", "one two three four five six seven eight nine")
    assert run.text
    assert recorder.log == [("start", None), ("end", "completed")]


async def test_the_first_answer_is_saved_while_the_run_goes_on(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A written run saves its first answer without waiting for a periodic checkpoint (here:
    never due), while the run goes on: with its start, or soon after."""
    monkeypatch.setattr(recording, "FIRST_WRITE_SECONDS", 0.0)
    monkeypatch.setattr(recording, "FIRST_ANSWER_SECONDS", 0.0, raising=False)
    monkeypatch.setattr(recording, "CHECKPOINT_SECONDS", 600.0)
    saved: list[tuple[str, str]] = []

    class Saved(Checkpoints):
        def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
            saved.append(("start", run.text))

        def record_progress(self, run: Run) -> None:
            saved.append(("checkpoint", run.text))

        def record_end(self, run: Run) -> None:
            saved.append(("end", run.text))

    client = AsyncAgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key,
        recorder=Saved(), headers={"X-AgentNB-Delay-Ms": "300"},
    )  # fmt: skip
    async with client:
        run = await client.run("echo", "one two three four five six")
    assert [kind for kind, _ in saved][0 :: len(saved) - 1] == ["start", "end"], saved
    before_the_end = [text for _, text in saved[:-1] if text]
    assert before_the_end and before_the_end[0] != run.text, saved


async def test_the_partial_answer_is_checkpointed_at_each_tool_boundary(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "FIRST_WRITE_SECONDS", 0.0)  # a long run, from its start
    recorder = Checkpoints()
    client = AsyncAgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key,
        recorder=recorder,
    )  # fmt: skip
    async with client, client.stream("finance_agent", "What is NVDA trading at?") as stream:
        async for event in stream:
            recorder.log.append(("event", event))
    boundaries = [
        i
        for i, (kind, event) in enumerate(recorder.log)
        if kind == "event" and isinstance(event, ToolCallStarted | ToolCallFinished)
    ]
    assert len(boundaries) >= 2, recorder.log
    for i in boundaries:
        kind, state = recorder.log[i - 1]  # saved before the caller saw the event
        event = recorder.log[i][1]
        assert kind == "checkpoint", (event, recorder.log[i - 1])
        assert isinstance(event, ToolCallStarted | ToolCallFinished)
        assert event.call_id in {call_id for call_id, _ in state[1]}  # type: ignore[index]
    text_events = sum(1 for kind, e in recorder.log if kind == "event" and isinstance(e, TextDelta))
    checkpoints = sum(1 for kind, _ in recorder.log if kind == "checkpoint")
    assert text_events > 3 and checkpoints < len(boundaries) + text_events  # not every event
    assert recorder.log[-1] == ("end", "completed")


def test_the_first_answer_is_seen_without_joining_the_text() -> None:
    run = Run()
    story = [
        ReasoningDelta(delta="thinking"),
        StepStarted(),
        TextDelta(delta=""),
        TextDelta(delta="sub-agent text", parent_call_id="c1"),
        TextDelta(delta="draft"),
        StepReset(),  # the draft is cut back to nothing
        ToolCallStarted(call_id="c2", name="look_up"),
        TextDelta(delta="The answer"),
        RunCompleted(final_output="ignored: there is text"),
    ]
    seen = []
    for event in story:
        run.apply(event)
        assert _has_answer(run) == bool(run.text)
        seen.append(_has_answer(run))
    assert seen == [False, False, False, False, True, False, False, True, True]
    completed_without_text = Run()
    completed_without_text.apply(RunCompleted(final_output="from the final output"))
    assert _has_answer(completed_without_text)
