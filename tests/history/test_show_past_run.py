"""``agentnb.show()`` opens a past run from the history: a record, a ``runs()`` row, a pandas
row or a run id, shown as the run was (question, reasoning, tool calls, answer, usage, cost),
against real runs of the built-in server recorded in a real history file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import agentnb
from agentnb import ConfigurationError
from agentnb._app.past.past_runs import past_run
from agentnb._history import close_default_stores
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


@pytest.fixture
def recorded(
    server: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[agentnb.Run]:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    client = agentnb.AgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key
    )
    try:
        yield client.run("finance_agent", "What is NVDA trading at?")
    finally:
        client.close()
        close_default_stores()


def test_a_past_run_reads_as_it_ran(recorded: agentnb.Run) -> None:
    [record] = agentnb.runs()
    calls = agentnb.runs().tool_calls()
    again = past_run(record, [c for c in calls if c.local_id == record.local_id])
    assert (again.local_id, again.agent, again.message) == (
        recorded.local_id,
        recorded.agent,
        recorded.message,
    )
    assert again.status == "completed" and again.text == recorded.text
    assert again.reasoning == recorded.reasoning
    assert [(c.name, c.arguments, c.output, c.status) for c in again.tool_calls] == [
        (c.name, c.arguments, c.output, c.status) for c in recorded.tool_calls
    ]
    assert again.usage is not None and recorded.usage is not None
    assert again.usage.total_tokens == recorded.usage.total_tokens
    assert again.model == recorded.model and again.run_id == recorded.run_id
    assert again.duration == pytest.approx(recorded.duration, abs=0.01)


@pytest.mark.parametrize("given", ["record", "row", "pandas row", "local id", "run id"])
def test_show_opens_a_past_run_however_it_is_named(recorded: agentnb.Run, given: str) -> None:
    history = agentnb.runs()
    source = {
        "record": lambda: history[0],
        "row": lambda: history.to_dicts()[0],
        "pandas row": lambda: history.to_pandas().iloc[0],
        "local id": lambda: recorded.local_id,
        "run id": lambda: recorded.run_id,
    }[given]()
    cell = agentnb.show(source)
    [shown] = cell.runs
    assert shown.local_id == recorded.local_id and shown.text == recorded.text
    assert [c.name for c in shown.tool_calls] == [c.name for c in recorded.tool_calls]


def test_show_names_what_it_cannot_open(recorded: agentnb.Run) -> None:
    with pytest.raises(ConfigurationError, match="no run 'nope' in the history"):
        agentnb.show("nope")
    frame = agentnb.runs().to_pandas()
    with pytest.raises(ConfigurationError, match="shows one run; DataFrame names 2"):
        agentnb.show(frame.loc[frame.index.repeat(2)])
    with pytest.raises(TypeError, match=r"agentnb\.show\(\) takes .* not int"):
        agentnb.show(42)


def test_a_store_can_be_read_directly(recorded: agentnb.Run, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    try:
        assert store.find(recorded.local_id) is not None
    finally:
        store.close()


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_a_past_run_shows_the_usage_model_and_cost_the_history_kept(
    tmp_path: Path, status: str
) -> None:
    """The cost is the one recorded (a prompt cache's discount included, which the history
    keeps in the cost and not as a token count), and a run that did not complete keeps its
    usage and model: ``show()`` reads what ``runs()`` reads."""
    from agentnb._core.request import RunRequest
    from agentnb._core.run import RunErrorInfo
    from agentnb.events import RunStarted, Usage

    run = agentnb.Run(agent="finance_agent", message="NVDA?", provider="openai")
    run.start()
    run.apply(RunStarted(run_id="run_1", model="gpt-4o-mini"))
    run.usage = Usage(prompt_tokens=90_000, completion_tokens=500, cached_tokens=80_000)
    if status == "completed":
        run.finish("completed")
    else:
        run.finish(status, RunErrorInfo("stopped", code=status))  # type: ignore[arg-type]
    assert run.cost is not None and run.cost_source == "genai-prices"
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record(run, RunRequest(agent=run.agent, message=run.message))
        store.flush()
        [record] = store.runs()
    assert record.cost_usd == pytest.approx(run.cost)
    again = past_run(record, [])
    assert again.status == status
    assert (again.model, again.cost_source) == ("gpt-4o-mini", "genai-prices")
    assert again.cost == pytest.approx(record.cost_usd)
    assert again.usage is not None
    assert (again.usage.prompt_tokens, again.usage.completion_tokens) == (90_000, 500)


def test_a_run_whose_process_died_has_no_agent_time_and_one_still_running_says_so(
    recorded: agentnb.Run,
) -> None:
    """The history marks a dead process's run interrupted and keeps no end: its agent time is
    unknown, not the time since it started (which grew while one looked)."""
    from dataclasses import replace

    [record] = agentnb.runs()
    orphan = replace(record, status="interrupted", finished_at=None, duration=None)
    again = past_run(orphan, [])
    assert again.status == "interrupted" and again.duration is None and again.elapsed is None
    running = past_run(replace(record, status="running", finished_at=None, error_message=None), [])
    assert running.error is not None and running.error.message == "it was still running when read"
    assert running.duration is None


def test_a_past_runs_decisions_read_as_they_were_made(tmp_path: Path) -> None:
    """A call the server approved on its own is flagged as it was live, a call a policy
    denied reads denied (it read as failed), and the waits for them are not the calls' time."""
    from agentnb._core.request import RunRequest
    from agentnb.events import (
        RunCompleted,
        ToolApprovalRequested,
        ToolApprovalResponded,
        ToolCallFinished,
        ToolCallStarted,
    )

    t = 1_700_000_000.0
    run = agentnb.Run(agent="trader", message="Buy NVDA", provider="openai")
    run.start(at=t)
    for call_id, decided_by, approved in (("a", "server", True), ("b", "policy", False)):
        run.apply(ToolCallStarted(call_id=call_id, name="buy", arguments={}, received_at=t))
        run.apply(ToolApprovalRequested(call_id=call_id, name="buy", received_at=t))
        run.apply(
            ToolApprovalResponded(
                call_id=call_id, approved=approved, decided_by=decided_by, received_at=t + 4
            )
        )
    run.apply(ToolCallFinished(call_id="a", output="bought", received_at=t + 5))
    run.apply(RunCompleted(received_at=t + 6))
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record(run, RunRequest(agent=run.agent, message=run.message))
        store.flush()
        [record] = store.runs()
        again = past_run(record, store.tool_calls([record.local_id]))
    shown = [(c.status, c.unapproved, c.duration) for c in again.tool_calls]
    assert shown == [(c.status, c.unapproved, c.duration) for c in run.tool_calls]
    assert shown[0][1] is not None and shown[1][0] == "denied"
