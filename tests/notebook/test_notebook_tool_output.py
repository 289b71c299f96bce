"""A notebook tool's output reads as it would in the notebook: what it returned, then what it
printed, with their own line breaks (not a JSON object with escaped ``\\n``), in the live
card, the static copy and the terminal; and a past run read back from the history still says
the call ran in the notebook."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S
from chat_cell_views import capture, replica_of, settle

import agentnb
from agentnb._app.front import connections as conns
from agentnb._app.past.past_runs import past_run
from agentnb._core.handle import RunHandle
from agentnb._display.static_copy import static_bundle
from agentnb._display.terminal import TerminalPrinter
from agentnb._display.widget import ChatCell
from agentnb._display.widget_protocol import tool_wire
from agentnb._history import HistoryStore
from agentnb.events import ToolCallFinished


def positions(ticker: str) -> str:
    """The positions I hold in a stock, as a table."""
    print(f"looking up {ticker}...")
    return f"  ticker  shares\n0   {ticker}      10"


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    agentnb.connect("openai", local=True, name="tools_here")
    try:
        yield HistoryStore(tmp_path / "history.sqlite3")
    finally:
        conns.disconnect("tools_here")


def test_a_tool_that_prints_and_returns_a_table_reads_as_it_would_in_the_notebook(
    history: HistoryStore,
) -> None:
    handle = agentnb.ask(
        "finance_agent", "My NVDA position?", via="tools_here", tools=[positions], display=False
    )
    run = handle.wait(PATIENCE_S)
    [call] = [c for c in run.tool_calls if c.name == "positions"]
    assert call.output == {
        "returned": "  ticker  shares\n0   NVDA      10",
        "printed": "looking up NVDA...\n",
    }, "the run keeps both, as data"
    readable = "  ticker  shares\n0   NVDA      10\n\nPrinted:\nlooking up NVDA...\n"
    assert tool_wire(call)["output"] == readable, "the live card"
    bundle = static_bundle([run])
    assert readable.strip() in bundle["text/markdown"]
    assert '"returned"' not in bundle["text/markdown"] + bundle["text/html"]
    out = io.StringIO()
    printer = TerminalPrinter(out, color=False)
    printer(run, ToolCallFinished(call_id=call.call_id, output=call.output, ran_by="client"))
    assert '"returned"' not in out.getvalue() and "looking up NVDA" in out.getvalue()

    [record] = [r for r in agentnb.runs() if r.local_id == run.local_id]
    calls = [c for c in agentnb.runs().tool_calls() if c.local_id == run.local_id]
    again = past_run(record, calls)
    [kept] = [c for c in again.tool_calls if c.name == "positions"]
    assert kept.ran_by == "client", "a past run still says the call ran in your notebook"
    assert tool_wire(kept)["output"] == readable
    assert "in your notebook" in static_bundle([again])["text/html"]


def test_a_notebook_tool_that_asks_first_pauses_the_run_and_the_wait_is_not_the_agent_s_time(
    history: HistoryStore,
) -> None:
    handle = agentnb.ask(
        "finance_agent",
        "My NVDA position?",
        via="tools_here",
        tools=[agentnb.tool(positions, approve=True)],
        display=False,
    )
    deadline = time.monotonic() + PATIENCE_S
    while not handle.run.awaiting_approval:
        assert time.monotonic() < deadline and not handle.run.done, handle.run.status
        time.sleep(0.01)
    assert handle.run.status == "paused", "it waits for you, as a platform's approval does"
    time.sleep(0.2)  # a person reading the call
    [call] = handle.run.awaiting_approval
    handle.approve(call.call_id)
    run = handle.wait(PATIENCE_S)
    assert run.status == "completed"
    assert run.paused_seconds >= 0.2
    assert run.finished_at is not None and run.started_at is not None
    wall = run.finished_at - run.started_at
    assert run.duration is not None and run.duration <= wall - run.paused_seconds + 1e-6


A_PERSON_READS = 2.0
"""Seconds a person takes over a call before approving it: longer than the run's own work."""


def paused_for_a_person(handle: RunHandle) -> float:
    """Wait until the run pauses for its call, then as long as a person reads it: the
    seconds read."""
    deadline = time.monotonic() + PATIENCE_S
    while not handle.run.awaiting_approval:
        assert time.monotonic() < deadline and not handle.run.done, handle.run.status
        time.sleep(0.01)
    seen = time.monotonic()
    time.sleep(A_PERSON_READS)
    return time.monotonic() - seen


def shown_figures(line: str) -> tuple[float, float]:
    """The run's time and its tokens per second, as a status line shows them."""
    took = re.search(r"^completed · (\d+) ms|^completed · ([\d.]+) s", line)
    rate = re.search(r"· ([\d.]+) tok/s", line)
    assert took is not None and rate is not None, line
    seconds = int(took[1]) / 1000 if took[1] else float(took[2])
    return seconds, float(rate[1])


def test_a_wait_to_approve_a_notebook_tool_is_not_in_the_time_and_rate_any_view_shows(
    history: HistoryStore,
) -> None:
    """A person who reads a notebook tool's call for seconds before approving it does not
    make the run read slow: the terminal's summary line, the static copy and the widget's
    synced status all show the agent's own time and tokens per second, the wait left out."""
    handle = agentnb.ask(
        "finance_agent",
        "My NVDA position?",
        via="tools_here",
        tools=[agentnb.tool(positions, approve=True)],
        display=False,
    )
    printed = io.StringIO()
    printer = TerminalPrinter(printed, color=False)
    handle.add_listener(printer, catch_up=printer.catch_up)
    cell = ChatCell()
    recorder = capture(cell)
    cell.add(handle)
    waited = paused_for_a_person(handle)
    live = replica_of(recorder).turns[0]["meta"]  # what the widget's ticking clock reads
    assert live["status"] == "paused" and live["paused_at"] >= live["started_at"], live
    [call] = handle.run.awaiting_approval
    handle.approve(call.call_id)
    run = handle.wait(PATIENCE_S)
    settle(cell, recorder)
    assert run.status == "completed" and run.usage is not None
    assert run.started_at is not None and run.finished_at and run.first_token_at
    tokens = run.usage.completion_tokens
    assert tokens, run.usage
    # What each view would show were the wait counted, and the most it may show without it
    # (a figure shown rounds: to the millisecond under a second, a tenth above; 0.1 tok/s).
    wall = run.finished_at - run.started_at
    counted_rate = tokens / (run.finished_at - run.first_token_at)
    slowest_rate = tokens / (run.finished_at - run.first_token_at - waited)

    summary = printed.getvalue().rstrip().splitlines()[-1]
    copy = static_bundle([run])["text/plain"].splitlines()
    [status] = [line for line in copy if line.startswith("completed · ")]
    for view, line in (("terminal", summary), ("static copy", status)):
        took, rate = shown_figures(line)
        said = f"{view}: {line} (waited {waited:.1f} s)"
        assert took <= wall - waited + 0.05 < wall, said  # checked: not a rate
        assert rate >= slowest_rate - 0.05 > counted_rate, f"{view}: {line}"  # checked: not a rate

    meta = replica_of(recorder).turns[0]["meta"]
    assert meta["paused_at"] is None and meta["paused_seconds"] >= waited, meta
    assert meta["duration"] <= wall - waited, meta
    assert meta["tokens_per_second"] >= slowest_rate > counted_rate, meta
