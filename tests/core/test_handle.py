"""RunHandle over a scripted stream source (no network: the handle's own logic)."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, Scripted, ctrl_c_as_a_wait_takes_its_lock_back

from agentnb import Run, RunCancelledError, RunFailedError, RunInterruptedError
from agentnb._core.handle import RunHandle
from agentnb._core.loop import get_loop, run_sync
from agentnb._display.run_text import run_text
from agentnb._display.terminal import TerminalPrinter
from agentnb.events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)

SCRIPT: list[Event] = [
    RunStarted(run_id="r1", thread_id="t1"),
    ReasoningDelta(delta="Look up NVDA."),
    ToolCallStarted(call_id="c1", name="get_stock_price", arguments={"ticker": "NVDA"}),
    ToolCallFinished(call_id="c1", output={"price": 100.5}),
    TextDelta(delta="NVDA is "),
    TextDelta(delta="**$100.50**."),
    RunCompleted(usage=Usage(prompt_tokens=10, completion_tokens=5)),
]


def start(source: Scripted, **kwargs: Any) -> RunHandle:
    return RunHandle.start(lambda: source, run=source.run, **kwargs)


def test_wait_returns_the_completed_run_and_listeners_see_every_event() -> None:
    seen: list[tuple[str | None, str]] = []
    threads: set[str] = set()

    def listener(run: Run, event: Event | None) -> None:
        threads.add(threading.current_thread().name)
        seen.append((event.type if event else None, run.status))

    source = Scripted(agent="finance_agent", events=SCRIPT)
    handle = start(source, listeners=(listener,))
    run = handle.wait(timeout=PATIENCE_S)
    assert run.status == "completed"
    assert run.text == "NVDA is **$100.50**."
    assert run.usage == Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
    assert [t for t, _ in seen] == [e.type for e in SCRIPT] + [None]
    assert seen[-1] == (None, "completed")
    assert threads == {"agentnb-loop"}
    assert source.closed


def test_awaitable_from_another_loop() -> None:
    handle = start(Scripted(agent="finance_agent", events=SCRIPT))

    async def main() -> Run:
        return await handle

    assert asyncio.run(main()).status == "completed"


def test_failed_run_raises_stream_error_with_partial_text() -> None:
    events = [TextDelta(delta="partial"), RunFailed(message="boom", code="STREAM_ERROR")]
    handle = start(Scripted(agent="finance_agent", events=events))
    with pytest.raises(RunFailedError, match="boom") as info:
        handle.wait(timeout=PATIENCE_S)
    assert info.value.code == "STREAM_ERROR"
    assert info.value.partial_text == "partial"
    assert handle.status == "failed"


def test_stream_ending_without_terminal_event_is_interrupted() -> None:
    handle = start(Scripted(agent="finance_agent", events=[TextDelta(delta="cut")]))
    with pytest.raises(RunInterruptedError):
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "interrupted" and handle.text == "cut"


def test_cancel_from_another_thread_stops_the_stream() -> None:
    source = Scripted(agent="finance_agent", events=SCRIPT, pause_after=5)
    handle = start(source)
    # wait_started() alone races the scripted deltas: cancel only once they are in
    assert source.paused.wait(PATIENCE_S)
    handle.cancel()
    with pytest.raises(RunCancelledError) as info:
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "cancelled"
    assert info.value.partial_text == "NVDA is "
    assert source.closed
    # the open tool calls are closed too; finished ones keep their result
    assert handle.run.tool_calls[0].status == "succeeded"


def test_cancel_before_start() -> None:
    source = Scripted(agent="finance_agent", events=SCRIPT)
    handle = RunHandle(lambda: source, run=source.run)
    handle.cancel()
    get_loop().call_soon_threadsafe(handle._begin)
    with pytest.raises(RunCancelledError):
        handle.wait(timeout=PATIENCE_S)


def test_a_failing_listener_does_not_kill_the_run() -> None:
    def broken(run: Run, event: Event | None) -> None:
        raise RuntimeError("display bug")

    with pytest.warns(UserWarning, match="display bug"):
        run = start(Scripted(agent="finance_agent", events=SCRIPT), listeners=(broken,)).wait(
            timeout=PATIENCE_S
        )
    assert run.status == "completed"


def test_listener_added_after_the_end_is_called_once() -> None:
    handle = start(Scripted(agent="finance_agent", events=SCRIPT))
    handle.wait(timeout=PATIENCE_S)
    called = threading.Event()
    handle.add_listener(lambda run, event: called.set() if event is None else None)
    assert called.wait(PATIENCE_S)


def test_an_end_only_listener_is_called_once_at_the_end_and_never_per_event() -> None:
    source = Scripted(agent="finance_agent", events=SCRIPT, pause_after=2)
    handle = start(source)
    seen: list[tuple[str, Any]] = []
    handle.add_listener(lambda run, event: seen.append((run.status, event)), end_only=True)
    assert source.paused.wait(PATIENCE_S)
    source.resume()
    handle.wait(timeout=PATIENCE_S)
    assert seen == [("completed", None)]


def test_result_parses_json_with_a_schema() -> None:
    source = Scripted(agent="finance_agent", events=[TextDelta(delta='{"n": 3}'), RunCompleted()])
    handle = start(source, schema={"type": "object"})
    handle.wait(timeout=PATIENCE_S)
    assert handle.result == {"n": 3}


def test_terminal_printer_output() -> None:
    text = _printed_from_the_start()
    assert "thinking: Look up NVDA." in text
    assert '→ get_stock_price(ticker: "NVDA")' in text
    assert "✓ get_stock_price" in text and '{"price": 100.5}' in text
    assert "NVDA is **$100.50**." in text
    assert text.rstrip().splitlines()[-1].startswith("completed")
    assert "tokens 10 in · 5 out · 15 total" in text
    assert "\x1b[" not in text


def test_run_text_summarises_the_run() -> None:
    run = start(Scripted(agent="finance_agent", events=SCRIPT)).wait(timeout=PATIENCE_S)
    text = run_text(run)
    assert "thinking: Look up NVDA." in text and "NVDA is **$100.50**." in text
    assert "run r1" in text


async def test_an_await_cut_short_stops_the_run_and_leaves_the_handle_whole() -> None:
    """``asyncio.wait_for(handle, t)`` timing out cancels its await: like a task's, the run
    stops (cancelled), and the handle still says so (it used to keep a cancelled future, its
    end raised InvalidStateError on agentnb's loop and ``wait()`` never told the run)."""
    source = Scripted(agent="finance_agent", events=SCRIPT, pause_after=3)
    handle = start(source)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(handle, 0.2)
    with pytest.raises(RunCancelledError) as stopped:
        await asyncio.to_thread(handle.wait, PATIENCE_S)
    assert stopped.value.run is handle.run
    assert handle.done and handle.status == "cancelled"
    assert isinstance(handle.exception(), RunCancelledError)


def test_wait_on_agentnb_s_loop_says_to_await_instead_of_hanging() -> None:
    """The run needs the loop that ``wait`` would block: on it (an async tool, a judge called
    from a coroutine) it raises at once, as ``batch`` does, and the run goes on."""
    source = Scripted(agent="finance_agent", events=SCRIPT)
    handle = start(source)

    async def on_the_loop() -> Run:
        return handle.wait(timeout=PATIENCE_S)

    with pytest.raises(RuntimeError, match="await the handle"):
        run_sync(on_the_loop(), PATIENCE_S)
    assert handle.wait(timeout=PATIENCE_S).status == "completed"


def test_a_ctrl_c_as_the_wait_takes_its_lock_back_is_the_interrupt_and_cancels_the_run() -> None:
    """Where CPython's own wait loses its lock to the interrupt, the ``with`` around it raised
    ``RuntimeError: release unlocked lock`` in its place: ``agentnb run`` ended with that
    traceback and exit status 1, not 130, and the run was not cancelled."""
    source = Scripted(agent="finance_agent", events=SCRIPT, pause_after=5)
    handle = start(source)
    assert source.paused.wait(PATIENCE_S)
    with pytest.raises(KeyboardInterrupt), ctrl_c_as_a_wait_takes_its_lock_back():
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "cancelled"


def test_a_ctrl_c_as_a_sync_call_s_wait_takes_its_lock_back_is_the_interrupt() -> None:
    ended = threading.Event()

    async def long_call() -> None:
        try:
            await asyncio.sleep(PATIENCE_S)
        finally:
            ended.set()

    with pytest.raises(KeyboardInterrupt), ctrl_c_as_a_wait_takes_its_lock_back():
        run_sync(long_call(), PATIENCE_S)
    assert ended.wait(PATIENCE_S), "the interrupted call kept running"


def _printed_from_the_start() -> str:
    out = io.StringIO()
    start(
        Scripted(agent="finance_agent", events=SCRIPT),
        listeners=(TerminalPrinter(out, color=False),),
    ).wait(timeout=PATIENCE_S)
    return out.getvalue()


def _strip_times(text: str) -> str:
    """The printed run without its figures of time (two runs never take the same)."""
    return re.sub(r"\d+(\.\d+)? (ms|s)\b|[\d.]+ tok/s", "…", text)


def _heard_all(handle: RunHandle) -> None:
    """Wait until the listeners joined before now have had the run's end (they are called
    in the order they joined)."""
    ended = threading.Event()
    handle.add_listener(lambda run, event: ended.set(), end_only=True)
    assert ended.wait(PATIENCE_S)


@pytest.mark.parametrize("joins_after", [0, 1, 3, 4, 5, 6, len(SCRIPT)])
def test_a_printer_joining_a_run_late_prints_what_one_there_from_the_start_prints(
    joins_after: int,
) -> None:
    """``agentnb.show(handle)`` outside a notebook attaches its printer to a run already
    going, or already ended (a fast run): it used to print only what came after it (a run
    ended before it: two call lines and the summary, no answer). It catches up first."""
    source = Scripted(agent="finance_agent", events=SCRIPT, pause_after=joins_after)
    handle = start(source)
    if joins_after < len(SCRIPT):
        assert source.paused.wait(PATIENCE_S)
    else:
        handle.wait(timeout=PATIENCE_S)
    out = io.StringIO()
    printer = TerminalPrinter(out, color=False)
    handle.add_listener(printer, catch_up=printer.catch_up)
    source.resume()
    handle.wait(timeout=PATIENCE_S)
    _heard_all(handle)
    assert _strip_times(out.getvalue()) == _strip_times(_printed_from_the_start())


def _joined_while_streaming() -> tuple[list[int], list[str | None]]:
    """What a listener joining a run just started hears: the event count its catch-up
    saw, and each event type (None: the end) it was called with."""
    handle = start(Scripted(agent="finance_agent", events=SCRIPT))
    caught: list[int] = []
    heard: list[str | None] = []
    handle.add_listener(
        lambda run, event: heard.append(event.type if event else None),
        catch_up=lambda run: caught.append(run.event_count),
    )
    handle.wait(timeout=PATIENCE_S)
    _heard_all(handle)
    return caught, heard


def test_a_listener_joining_at_any_moment_hears_each_event_once_after_its_catch_up() -> None:
    """Joining from another thread while the run streams: the catch-up sees the run as it
    stands, the listener every event after it, and the end once (none lost, none twice)."""
    for _ in range(40):
        caught, heard = _joined_while_streaming()
        assert len(caught) == 1
        assert heard.count(None) == 1 and heard[-1] is None
        assert caught[0] + len(heard) - 1 == len(SCRIPT)
