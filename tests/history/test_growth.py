"""A read grows with the runs it reads, never faster: the same read at ``n``, ``2n`` and
``4n`` runs with scores and metadata. Work is counted, not timed: the Python lines run and the
functions called (``sys.settrace``, ``sys.setprofile``) and the bytes allocated
(``tracemalloc``), freed at once or kept.
Beyond the read's fixed cost (what ``n`` runs cost less what ``n`` more add), ``4n`` runs cost
about four times the work of ``n``; a read that does per-run work per score or per group (a
list of every run built for each score given) reads about six or more."""

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

pytestmark = [pytest.mark.slow]

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
    """Steps taken, and bytes allocated, while ``read`` runs. A step is a Python line run or a
    function called (Python or C): a loop that calls nothing (two runs compared in a nested
    loop) still takes a step an iteration. At each step, how far the traced memory rose
    (``tracemalloc``'s peak, reset at each) is summed, so memory freed at once counts too: a
    list of every run built and dropped per score, even by calling a type (``list(ids)``),
    which makes no call event of its own but runs on a line."""
    steps = allocated = 0
    base = 0

    def step() -> None:
        nonlocal steps, allocated, base
        steps += 1
        current, peak = tracemalloc.get_traced_memory()
        allocated += max(0, peak - base)
        tracemalloc.reset_peak()
        base = current

    def called(frame: object, event: str, arg: object) -> None:
        if event == "c_call":
            step()

    def lines(frame: object, event: str, arg: object) -> Any:
        step()  # "call" of a Python function here, then each of its lines ("line")
        return lines

    tracemalloc.start()
    sys.setprofile(called)
    sys.settrace(lines)
    try:
        read()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        tracemalloc.stop()
    return steps, allocated


READS: dict[str, Callable[[HistoryStore], Any]] = {
    "runs().to_pandas()": lambda store: store.runs().to_pandas(),
    "runs().summary()": lambda store: store.runs().summary(),
    "summary by a metadata key": lambda store: store.summary(RunFilter(), "metadata.user"),
}


def beyond_fixed(at_n: int, at_2n: int, at_4n: int) -> float | None:
    """How many times the work at ``n`` runs, beyond the read's fixed cost, the work at
    ``4n`` is, the fixed cost taken as what ``n`` runs cost less what ``n`` more add: 4 for
    a read whose work grows with the runs, about 6 or more for one that grows with their
    square. None for a read whose Python work does not grow with the runs (its work per
    run is SQLite's, not counted here)."""
    per_n = at_2n - at_n
    if per_n <= at_n / 100:
        return None
    return (at_4n - (at_n - per_n)) / per_n


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """A history of each size, built once for the module: every test here only reads them,
    and building them is most of the module's work."""
    folder = tmp_path_factory.mktemp("growth")
    return {
        size: history(folder / f"{size}.sqlite3", size)
        for size in (SMALL, SMALL * 2, SMALL * GROWTH)
    }


@pytest.mark.parametrize("read", list(READS))
def test_a_read_costs_about_four_times_the_work_at_four_times_the_runs(
    histories: dict[int, Path], read: str
) -> None:
    costs = []
    for size in (SMALL, SMALL * 2, SMALL * GROWTH):
        with HistoryStore(histories[size]) as store:
            READS[read](store)  # imports and caches warmed: the same for every size
            costs.append(work(lambda store=store: READS[read](store)))
    figures = zip(("steps", "bytes"), zip(*costs, strict=True), strict=True)
    for figure, (at_n, at_2n, at_4n) in figures:
        ratio = beyond_fixed(at_n, at_2n, at_4n)
        shown = "does not grow" if ratio is None else f"{ratio:.2f}x beyond the fixed cost"
        print(f"{read}: {GROWTH}x the runs, {at_4n / at_n:.2f}x the {figure}, {shown}")
        counts = f"{at_n:,} {figure} at {SMALL} runs, {at_2n:,} at twice, {at_4n:,} at {GROWTH}x"
        assert ratio is None or ratio < HELD, counts
        assert at_4n / at_n < HELD, counts


COUNTS: dict[str, Callable[[HistoryStore], int]] = {
    "len(runs())": lambda store: len(store.runs()),
    "len(runs(status=...))": lambda store: len(store.runs(RunFilter(statuses=("completed",)))),
    "len(runs(search=...)) past its cap": lambda store: len(store.runs(RunFilter(search="moved"))),
}


@pytest.mark.parametrize("read", list(COUNTS))
def test_a_results_length_is_counted_not_read(histories: dict[int, Path], read: str) -> None:
    """``len(runs(...))`` is a ``COUNT(*)`` with the same filter: its work is the same at
    ``n`` runs and at ``4n``, and it equals the rows the result then reads."""
    costs = []
    for size in (SMALL, SMALL * GROWTH):
        with HistoryStore(histories[size]) as store:
            store.search_count_cap = 50  # a search counts its first page's total up to this
            COUNTS[read](store)  # imports and caches warmed: the same for every size
            costs.append(work(lambda store=store: COUNTS[read](store)))
            counted = COUNTS[read](store)
            assert counted > 50 and counted == len(list(store.runs(PINNED[read])))
    for figure, at_n, at_4n in zip(("steps", "bytes"), *costs, strict=True):
        assert at_4n < at_n * 1.2, f"{read}: {at_n:,} {figure} at {SMALL} runs, {at_4n:,} at 4x"


PINNED = {
    "len(runs())": RunFilter(),
    "len(runs(status=...))": RunFilter(statuses=("completed",)),
    "len(runs(search=...)) past its cap": RunFilter(search="moved"),
}


def copies_all_for_each(ids: list[str]) -> None:
    for _ in ids:
        list(ids)  # a type called: no call event, and freed before the next


def compares_every_pair(ids: list[str]) -> int:
    same = 0
    for a in ids:
        for b in ids:
            if a == b:  # no call at all
                same += 1
    return same


@pytest.mark.parametrize("read", [copies_all_for_each, compares_every_pair])
def test_a_read_that_grows_with_the_square_of_the_runs_is_caught(
    read: Callable[[list[str]], Any],
) -> None:
    """The measure itself: work done for each run per run, by calling only a type or by
    comparing in a loop (no call event either way), reads far over the bound."""
    small = SMALL // 4  # the square of SMALL's runs, traced line by line, takes seconds
    costs = [
        work(lambda n=n: read([history_id(i) for i in range(n)]))
        for n in (small, small * 2, small * GROWTH)
    ]
    ratios = [beyond_fixed(*figure) for figure in zip(*costs, strict=True)]
    assert any(ratio is not None and ratio >= HELD for ratio in ratios), costs
