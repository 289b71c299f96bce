"""How many runs a search matches, as every view says it: counted up to the store's
``search_count_cap`` ("30+ runs" past it, never a capped figure shown as exact), exactly by
``len()``, and paged to the very last page all the same. Real SQLite files; the cap is
lowered on the store (its documented attribute) so a few hundred runs cross it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import cli_in_process, history_records

from agentnb import ConfigurationError
from agentnb._app.past.runs_browser import HistorySource
from agentnb._history._pages import PageQuery, StorePages, run_pages
from agentnb._history._run_filter import RunFilter
from agentnb.history import HistoryStore, RunHistory

COUNT = 120
"""Runs in the file: every one matches "question", one in six "MSFT" (20)."""
CAP = 30


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        assert store.import_records(history_records(COUNT, start=time.time())) == COUNT
    return path


@pytest.fixture
def store(db: Path) -> Iterator[HistoryStore]:
    with HistoryStore(db) as opened:
        opened.search_count_cap = CAP
        yield opened


def searched(store: HistoryStore, text: str, **filters: object) -> RunHistory:
    return store.runs(RunFilter.build(search=text, **filters))  # type: ignore[arg-type]


def views(history: RunHistory) -> dict[str, str]:
    """What each view of the result says: its repr (text), its HTML, and the static copy
    under the browsable table (text and HTML)."""
    static = HistorySource(history).static()
    return {
        "text": repr(history),
        "html": history._repr_html_(),
        "static text": static["text/plain"],
        "static html": static["text/html"],
    }


def test_the_default_cap_is_ten_thousand(db: Path) -> None:
    with HistoryStore(db) as fresh:
        assert fresh.search_count_cap == 10_000


def test_a_search_under_the_cap_shows_the_exact_number(store: HistoryStore) -> None:
    history = searched(store, "msft")
    assert history.title().startswith("RunHistory: 20 runs — ")
    store.search_count_cap = 200
    history = searched(store, "question")
    assert history.title() == "RunHistory: 120 runs"
    for view, said in views(history).items():
        assert "RunHistory: 120 runs" in said, view
        assert "… and 100 more" in said, view
        assert "120+" not in said and "100+ more" not in said, view
    page = HistorySource(history).page({})
    assert (page["total"], page["exact"]) == (COUNT, True)


def test_a_search_over_the_cap_says_so_in_every_view(store: HistoryStore) -> None:
    history = searched(store, "question")
    assert history.title() == "RunHistory: 30+ runs"
    for view, said in views(history).items():
        assert "RunHistory: 30+ runs" in said, view
        assert "… and 10+ more" in said, view
        assert "RunHistory: 30 runs" not in said and "and 10 more" not in said, view
    source = HistorySource(history)
    assert source.page({})["total"] == CAP and source.page({})["exact"] is False


def test_len_is_exact_and_then_every_view_says_the_exact_number(store: HistoryStore) -> None:
    history = searched(store, "question")
    assert len(history) == COUNT
    assert len(history.to_dicts()) == COUNT
    assert history.title().startswith("RunHistory: 120 runs — ")
    for view, said in views(history).items():
        assert "RunHistory: 120 runs" in said and "… and 100 more" in said, view
        # not "30+" alone: a timestamp (21:44:30+00:00) in the HTML holds it
        assert "30+ runs" not in said and "+ more" not in said, view


def test_a_plain_history_is_always_counted_exactly(store: HistoryStore) -> None:
    assert store.runs().title() == f"RunHistory: {COUNT} runs"
    page = HistorySource(store.runs()).page({})
    assert (page["total"], page["exact"]) == (COUNT, True)


def test_a_limit_within_the_cap_is_exact_and_past_it_is_capped(store: HistoryStore) -> None:
    assert searched(store, "question", limit=25).title() == "RunHistory: 25 runs"
    limited = searched(store, "question", limit=50)
    assert limited.title() == "RunHistory: 30+ runs"
    assert len(limited) == 50


def test_paging_to_the_last_page_over_the_cap(store: HistoryStore) -> None:
    source = HistorySource(searched(store, "question"))
    everything = searched(store, "question")
    order = everything.local_ids
    assert len(order) == COUNT
    # a page past the cap: the bound grows to cover it, still said as "at least"
    later = source.page({"offset": 60})
    assert [row["id"] for row in later["rows"]] == order[60:80]
    assert later["total"] >= 80 and later["exact"] is False
    last = source.page({"last": True})
    assert (last["offset"], last["total"], last["exact"]) == (100, COUNT, True)
    assert [row["id"] for row in last["rows"]] == order[100:]
    # counted to the end once, the history's pages say the exact number from then on
    assert (source.page({"offset": 20})["total"], source.page({})["exact"]) == (COUNT, True)
    # the last page of a smaller page size, and of a search typed in the table
    assert source.page({"last": True, "limit": 50})["offset"] == 100
    plain = HistorySource(store.runs())
    typed = plain.page({"search": "question"})
    assert (typed["total"], typed["exact"]) == (CAP, False)
    typed_last = plain.page({"search": "question", "last": True})
    assert (typed_last["offset"], typed_last["total"], typed_last["exact"]) == (100, COUNT, True)
    assert len(typed_last["rows"]) == 20


def test_the_last_page_of_an_exact_count_and_of_no_runs(store: HistoryStore) -> None:
    pages = run_pages(searched(store, "msft"))
    assert isinstance(pages, StorePages)
    last = pages.page(PageQuery.build(last=True, limit=7))
    assert (last.offset, last.total, last.exact, len(last.local_ids)) == (14, 20, True, 6)
    nothing = pages.page(PageQuery.build(search="nowhere", last=True))
    assert (nothing.offset, nothing.total, nothing.local_ids) == (0, 0, [])


def test_the_cap_must_be_a_whole_number_above_a_page(store: HistoryStore) -> None:
    for bad in (0, 20, -5, 2.5, "100", True):
        with pytest.raises(ConfigurationError, match="search_count_cap"):
            store.search_count_cap = bad  # type: ignore[assignment]


def test_evaluators_runs_are_not_counted(db: Path) -> None:
    """A judge's runs (metadata ``evaluates``) stay out of a search's count, capped or not,
    as they stay out of its rows."""
    judged = [
        dataclasses.replace(record, local_id=f"judge{i:03d}", metadata={"evaluates": "x"})
        for i, record in enumerate(history_records(15, start=time.time() + 3600))
    ]
    with HistoryStore(db) as store:
        assert store.import_records(judged) == 15
        history = searched(store, "question")
        assert history.title() == f"RunHistory: {COUNT} runs" and len(history) == COUNT
        store.search_count_cap = COUNT - 1
        assert searched(store, "question").title() == f"RunHistory: {COUNT - 1}+ runs"
        store.search_count_cap = COUNT
        assert searched(store, "question").title() == f"RunHistory: {COUNT} runs"
        assert len(searched(store, "question", agent=["judge", "analyst"])) < COUNT + 15


def test_the_cli_counts_a_search_exactly(db: Path) -> None:
    done = cli_in_process("runs", "--db", str(db), "--all", "--search", "question")
    assert done.returncode == 0, done.stderr
    assert f"{COUNT} runs, best match first" in done.stderr
