"""A history record's ``.tool_calls`` reads as a run's ``run.tool_calls`` does (names, parsed
arguments and outputs, statuses, durations, a notebook tool's ``ran_by``), read from the file
the record came from: in this process, in a fresh one, and for each record of a table
iterated, a block of runs per read. ``agentnb.show`` of such a record says a notebook tool's
call ran in your notebook."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, REPO, history_id, history_records

import agentnb
from agentnb import ConfigurationError
from agentnb._history import close_default_stores
from agentnb.history import HistoryStore, RunHistory, RunRecord, ToolCallRecord
from agentnb.server import ServerHandle
from agentnb.types import ChatCell


def positions(ticker: str) -> str:
    """The positions I hold in a stock, as a table."""
    print(f"looking up {ticker}...")
    return f"  ticker  shares\n0   {ticker}      10"


def _recorded(
    server: ServerHandle, path: Path, dialect: str, message: str, **options: Any
) -> agentnb.Run:
    """A run of the built-in ``finance_agent``, recorded into the history file ``path``,
    the file closed after."""
    with HistoryStore(path) as store:
        client = agentnb.AgentClient(
            dialect, **server.client_settings(dialect), api_key=server.api_key, recorder=store
        )
        try:
            run = client.run("finance_agent", message, **options)
        finally:
            client.close()
        store.flush()
    return run


def _seen(calls: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(c.call_id, c.name, c.arguments, c.output, c.status, c.ran_by) for c in calls]


def test_a_record_read_back_has_the_tool_calls_its_run_had(
    server: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite3"
    run = _recorded(server, path, "operativus", "What is NVDA trading at?")
    assert run.tool_calls, "the agent calls a tool"
    with HistoryStore(path) as store:
        [record] = store.runs()
        assert _seen(record.tool_calls) == _seen(run.tool_calls)
        assert isinstance(record.tool_calls[0].arguments, dict), "parsed, as a run's are"
        for kept, ran in zip(record.tool_calls, run.tool_calls, strict=True):
            assert kept.duration == pytest.approx(ran.duration, abs=0.01)
        assert record.tool_calls is record.tool_calls, "read once"
        got, found = store.get(run.local_id), store.find(str(run.run_id))
        assert got is not None and found is not None
        assert _seen(got.tool_calls) == _seen(found.tool_calls) == _seen(run.tool_calls)
        sent = pickle.loads(pickle.dumps(store.runs()[0]))
        assert _seen(sent.tool_calls) == _seen(run.tool_calls), "a pickled record takes them"
        assert sent == record and "_calls" not in record.to_dict()
    assert _seen(RunHistory.from_runs([run])[0].tool_calls) == _seen(run.tool_calls)

    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        assert _seen(agentnb.runs()[0].tool_calls) == _seen(run.tool_calls)
        assert [_seen(r.tool_calls) for r in agentnb.runs()] == [_seen(run.tool_calls)]
    finally:
        close_default_stores()


def test_a_record_in_a_fresh_process_reads_its_tool_calls(
    server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite3"
    run = _recorded(server, path, "operativus", "What is NVDA trading at?")
    script = (
        "import json, agentnb\n"
        "calls = agentnb.runs()[0].tool_calls\n"
        "print(json.dumps([[c.name, c.arguments, c.output, c.status] for c in calls]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "AGENTNB_HISTORY": str(path), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=True,
    )
    expected = [[c.name, c.arguments, c.output, c.status] for c in run.tool_calls]
    assert json.loads(done.stdout) == json.loads(json.dumps(expected))


def test_a_notebook_tool_s_call_read_back_says_it_ran_in_your_notebook(
    server: ServerHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "tools.sqlite3"
    run = _recorded(server, path, "openai", "My NVDA position?", tools=[positions])
    [ran] = [c for c in run.tool_calls if c.name == "positions"]
    close_default_stores()  # the default history is another file: the record says which
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "default.sqlite3"))
    try:
        with HistoryStore(path) as store:
            [record] = store.runs()
            [kept] = [c for c in record.tool_calls if c.name == "positions"]
            assert kept.ran_by == "client"
            assert (
                kept.output
                == ran.output
                == {
                    "returned": "  ticker  shares\n0   NVDA      10",
                    "printed": "looking up NVDA...\n",
                }
            )
            capsys.readouterr()
            cell = agentnb.show(record)
        assert "(in your notebook)" in capsys.readouterr().out, "the text a terminal shows"
        assert "in your notebook" in cell.static_bundle()["text/html"], "the static copy"
        [card] = [c for c in _turns(cell)[0]["tools"] if c["name"] == "positions"]
        assert card["ran_by"] == "client", "the widget's card"
    finally:
        close_default_stores()


def _turns(cell: ChatCell) -> list[dict[str, Any]]:
    """The turns of the cell's widget state, once agentnb's loop has written them."""
    deadline = time.monotonic() + PATIENCE_S
    while not cell.transcript.get("turns"):
        assert time.monotonic() < deadline, "the widget state was never written"
        time.sleep(0.01)
    turns: list[dict[str, Any]] = cell.transcript["turns"]
    return turns


def test_iterating_a_large_table_reads_the_calls_a_block_of_runs_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 1200
    records = history_records(count)
    calls = [
        ToolCallRecord(
            local_id=history_id(i),
            call_id=f"call_{i}",
            position=0,
            agent="finance_agent",
            name="get_quote",
            status="succeeded",
            arguments=json.dumps({"ticker": "NVDA", "i": i}),
            output="912.4",
            error=None,
            started_at=datetime.fromtimestamp(1_700_000_000 + i, UTC),
            finished_at=datetime.fromtimestamp(1_700_000_001 + i, UTC),
            duration=1.0,
        )
        for i in range(count)
    ]
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.import_records(records, calls)
        reads: list[int] = []
        read = store.tool_call_rows

        def counted(local_ids: Sequence[str]) -> list[tuple[Any, ...]]:
            reads.append(len(local_ids))
            return read(local_ids)

        monkeypatch.setattr(store, "tool_call_rows", counted)
        numbers = [r.tool_calls[0].arguments["i"] for r in store.runs()]
    assert sorted(numbers) == list(range(count))
    assert len(reads) <= 4, f"one read per block of runs, not one per run: {reads[:10]}…"


def test_a_record_made_by_hand_says_its_tool_calls_are_not_known() -> None:
    [made] = history_records(1)
    assert isinstance(made, RunRecord)
    with pytest.raises(ConfigurationError, match="not read from a history"):
        made.tool_calls  # noqa: B018 (the property raises)
