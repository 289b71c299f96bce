"""``agentnb.summary()`` / ``HistoryStore.summary()``: the figures of ``runs().summary()``
computed by SQLite, equal to pandas' own on the same runs (groups, NULL keys, statuses a
platform made up, filters, an empty history)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import agentnb
from agentnb._history import HistoryStore, RunRecord, close_default_stores
from agentnb._history._records import RUN_COLUMNS
from agentnb._history._tables import RunFilter

STATUSES = ("completed", "completed", "failed", "cancelled", "interrupted", "running", "paused")


def record_values(i: int, rng: random.Random, now: float) -> dict[str, Any]:
    status = STATUSES[i % len(STATUSES)]
    has_tokens = i % 3 != 0
    return {
        "local_id": f"run-{i}",
        "agent": (None, "analyst", "trader", "écrivain")[i % 4],
        "provider": ("operativus", "seekrflow")[i % 2],
        "status": status,
        "error_code": "CAPACITY" if status == "failed" else None,
        "total_tokens": rng.randint(1, 5000) if has_tokens else None,
        "started_at": now - i * 600.0,
        "duration": rng.uniform(0.1, 30) if i % 5 else None,
        "ttft": rng.uniform(0.01, 2) if i % 4 else None,
        "tool_call_count": i % 3 if i % 7 else None,
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryStore]:
    path = tmp_path_factory.mktemp("summary") / "history.sqlite3"
    rng, now = random.Random(3), time.time()
    records = [
        RunRecord.from_row(tuple(record_values(i, rng, now).get(n) for n, _ in RUN_COLUMNS))
        for i in range(400)
    ]
    with HistoryStore(path) as opened:
        assert opened.import_records(records) == 400
        yield opened


def same(sql: pd.DataFrame, pandas: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(sql, pandas, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(
    "by",
    ["agent", None, "status", "error_code", "provider", ["agent", "status"], ["provider", "agent"]],
)
def test_sql_summary_equals_pandas_summary(store: HistoryStore, by: Any) -> None:
    same(store.summary(RunFilter(), by), store.runs().summary(by))


@pytest.mark.parametrize(
    "filters",
    [
        {"agent": "analyst"},
        {"agent": ["trader", "écrivain"], "since": timedelta(days=1)},
        {"status": ["completed", "failed"]},
        {"since": timedelta(hours=5)},
        {"agent": "nobody"},
    ],
)
def test_filters_apply_as_in_runs(store: HistoryStore, filters: dict[str, Any]) -> None:
    where = RunFilter.build(**filters)
    for by in ("agent", None):
        same(store.summary(where, by), store.runs(where).summary(by))


def test_an_empty_history(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "empty.sqlite3") as empty:
        for by in ("agent", None):
            same(empty.summary(RunFilter(), by), empty.runs().summary(by))


def test_a_bad_key_is_the_same_clear_error(store: HistoryStore) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="cannot summarise by"):
        store.summary(RunFilter(), "message")


def test_agentnb_summary_reads_the_default_history(
    monkeypatch: pytest.MonkeyPatch, store: HistoryStore
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", str(store.path))
    close_default_stores()
    try:
        same(agentnb.summary(), agentnb.runs().summary())
        same(
            agentnb.summary("status", agent="analyst"),
            agentnb.runs(agent="analyst").summary("status"),
        )
        monkeypatch.setenv("AGENTNB_HISTORY", "off")
        assert agentnb.summary().empty
    finally:
        close_default_stores()
