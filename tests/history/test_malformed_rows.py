"""A malformed row of a history file (text in a number column, a time out of range, bad
JSON, a blob where text goes) is shown as such: its bad fields empty and the row flagged
(``malformed``), never keeping the other runs from showing in any view. The files are
crafted with plain sqlite3."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import cli_in_process, history_id, history_records

import agentnb
from agentnb._app.past.runs_browser import HistorySource
from agentnb._history import close_default_stores
from agentnb.history import HistoryStore

NOW = time.time()
COUNT = 3
BAD = history_id(1)
"""The run whose row the malformed file spoils."""


MALFORMED = (
    "UPDATE runs SET total_tokens = 'lots', started_at = 1e300, duration = 'slow', "
    f"metadata = '{{not json', cost_usd = x'00ff' WHERE local_id = '{BAD}'",
    "INSERT INTO tool_calls (local_id, position, call_id, name, status, duration, started_at) "
    f"VALUES ('{BAD}', 0, 'call_1', 'lookup', 'completed', 'long', -1e200)",
)


@pytest.fixture
def malformed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records(history_records(COUNT, start=NOW))
    db = sqlite3.connect(path, isolation_level=None)
    for statement in MALFORMED:
        db.execute(statement)
    db.close()
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    yield path
    close_default_stores()


def test_the_run_table_shows_every_run_and_flags_the_malformed_one(malformed: Path) -> None:
    history = agentnb.runs()
    assert len(history) == COUNT
    text = repr(history)
    assert all(history_id(i)[:8] in text or f"run_{i:06d}" in text for i in range(COUNT))
    assert "malformed" in text
    html = history._repr_html_()
    assert "malformed" in html and "run_000000" in html
    record = next(r for r in history if r.local_id == BAD)
    assert record.total_tokens is None and record.started_at is None
    assert record.duration is None and record.metadata is None and record.cost_usd is None
    assert record.malformed is not None
    for name in ("total_tokens", "started_at", "duration", "metadata", "cost_usd"):
        assert name in record.malformed
    others = [r for r in history if r.local_id != BAD]
    assert all(r.malformed is None and r.total_tokens is not None for r in others)
    assert json.dumps([r.to_dict() for r in history])


def test_its_frame_has_the_bad_fields_empty_and_says_which_row(malformed: Path) -> None:
    frame = agentnb.runs().to_pandas()
    row = frame[frame["local_id"] == BAD].iloc[0]
    for name in ("total_tokens", "started_at", "duration", "cost_usd"):
        assert row[name] is None or str(row[name]) in ("<NA>", "NaT", "nan"), (name, row[name])
    assert "total_tokens" in row["malformed"]
    assert frame["malformed"].isna().sum() == COUNT - 1
    calls = agentnb.runs().tool_calls().to_pandas()
    assert len(calls) > 0


def test_summaries_leave_the_bad_figures_out(malformed: Path) -> None:
    counted = agentnb.summary(None)
    loaded = agentnb.runs().summary(None)
    assert int(counted["runs"].iloc[0]) == int(loaded["runs"].iloc[0]) == COUNT
    for every in ("hour", "day", "week"):
        assert int(agentnb.summary(None, every=every)["runs"].sum()) == COUNT
        assert int(agentnb.runs().summary(None, every=every)["runs"].sum()) == COUNT
    assert repr(agentnb.runs().tool_calls())
    assert agentnb.runs().tool_calls().summary() is not None


def test_the_table_to_browse_pages_every_run(malformed: Path) -> None:
    source = HistorySource(agentnb.runs())
    for sort in (None, "tokens", "started", "secs", "cost"):
        for descending in (False, True):
            request = {"sort": None if sort is None else {"column": sort, "descending": descending}}
            page = source.page(request)
            assert page["total"] == COUNT and len(page["rows"]) == COUNT
    in_memory = HistorySource(agentnb.runs()[:COUNT])
    page = in_memory.page({"sort": {"column": "tokens", "descending": True}})
    assert len(page["rows"]) == COUNT
    page = in_memory.page({"filters": {"secs": ">0"}})
    assert page["total"] == COUNT - 1


@pytest.mark.parametrize("local_id", [BAD, history_id(0)])
def test_show_opens_that_run_and_the_others(malformed: Path, local_id: str) -> None:
    cell = agentnb.show(local_id)
    [shown] = cell.runs
    assert shown.local_id == local_id
    cell.close()


def test_agentnb_runs_lists_every_run(malformed: Path) -> None:
    env = {"AGENTNB_HISTORY": str(malformed), "NO_COLOR": "1"}
    for args in ([], ["--json"]):
        done = cli_in_process("runs", *args, env=env)
        assert done.returncode == 0, done.stderr
        assert all(f"run_{i:06d}" in done.stdout for i in range(COUNT)), done.stdout


@pytest.mark.parametrize("key", ["agent", "model", "provider", "thread_id"])
def test_a_name_that_is_not_text_is_summarized_as_no_name(malformed: Path, key: str) -> None:
    db = sqlite3.connect(malformed, isolation_level=None)
    db.execute(f"UPDATE runs SET {key} = x'00ff' WHERE local_id = ?", (BAD,))
    db.execute(f"UPDATE runs SET {key} = 42 WHERE local_id = ?", (history_id(2),))
    db.close()
    for summarized in (agentnb.summary(key), agentnb.runs().summary(key)):
        assert int(summarized["runs"].sum()) == COUNT
        assert all(isinstance(name, str) for name in summarized.index.dropna())
