"""A read grows with the runs it reads, never faster: the same read at ``n`` and ``4n`` runs
with scores and metadata costs about four times the work. Work is counted, not timed: the
Python and C functions called (``sys.setprofile``) and the bytes allocated
(``tracemalloc``), freed at once or kept. A read that does per-run work per score or per group (a list of every run
built for each score given, a scan of the runs per group) shows as a ratio near 16."""

from __future__ import annotations

import sqlite3
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import history_id, history_records

from agentnb._history._run_filter import RunFilter
from agentnb.history import HistoryStore

SMALL = 400
GROWTH = 4
HELD = 4.6
"""The ratio a linear read stays under (4, plus what varies with the data, not the size)."""


def history(path: Path, count: int) -> Path:
    records = history_records(count, start=time.time())
    with HistoryStore(path) as store:
        store.import_records(records)
    db = sqlite3.connect(path, isolation_level=None)
    db.executemany(
        "UPDATE runs SET metadata = ? WHERE local_id = ?",
        [(f'{{"user": "u{i % 50}"}}', history_id(i)) for i in range(count)],
    )
    db.executemany(
        "INSERT INTO scores (local_id, name, kind, number, label, source, created) "
        "VALUES (?, ?, ?, ?, ?, 'code', 0)",
        [
            row
            for i in range(count)
            for row in (
                (history_id(i), "correct", "bool", i % 2, None),
                (history_id(i), "quality", "number", i / count, None),
                (history_id(i), "tone", "label", None, ("calm", "curt")[i % 2]),
            )
        ],
    )
    db.close()
    return path


def work(read: Callable[[], Any]) -> tuple[int, int]:
    """Functions called, and bytes allocated, while ``read`` runs: between two calls or
    returns, how far the traced memory rose (``tracemalloc``'s peak, reset at each), summed,
    so memory freed at once counts too (a list of every run built and dropped per score)."""
    calls = allocated = 0
    base = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls, allocated, base
        if event in ("call", "c_call"):
            calls += 1
        current, peak = tracemalloc.get_traced_memory()
        allocated += max(0, peak - base)
        tracemalloc.reset_peak()
        base = current

    tracemalloc.start()
    sys.setprofile(count)
    try:
        read()
    finally:
        sys.setprofile(None)
        tracemalloc.stop()
    return calls, allocated


READS: dict[str, Callable[[HistoryStore], Any]] = {
    "runs().to_pandas()": lambda store: store.runs().to_pandas(),
    "runs().summary()": lambda store: store.runs().summary(),
    "summary by a metadata key": lambda store: store.summary(RunFilter(), "metadata.user"),
}


@pytest.mark.parametrize("read", list(READS))
def test_a_read_costs_about_four_times_the_work_at_four_times_the_runs(
    tmp_path: Path, read: str
) -> None:
    small = history(tmp_path / "small.sqlite3", SMALL)
    large = history(tmp_path / "large.sqlite3", SMALL * GROWTH)
    costs = []
    for path in (small, large):
        with HistoryStore(path) as store:
            READS[read](store)  # imports and caches warmed: the same for both sizes
            costs.append(work(lambda store=store: READS[read](store)))
    (calls_n, bytes_n), (calls_4n, bytes_4n) = costs
    calls_ratio, bytes_ratio = calls_4n / calls_n, bytes_4n / bytes_n
    print(f"{read}: {GROWTH}x the runs, {calls_ratio:.2f}x the calls, {bytes_ratio:.2f}x the bytes")
    assert calls_ratio < HELD, f"{calls_n} calls at {SMALL} runs, {calls_4n} at {SMALL * GROWTH}"
    assert bytes_ratio < HELD, f"{bytes_n} bytes at {SMALL} runs, {bytes_4n} at {SMALL * GROWTH}"
