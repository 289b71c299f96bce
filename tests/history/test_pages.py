"""The browsable table's pages (``agentnb._history._pages``): one page at a time from a real
SQLite history (sorted, filtered, searched, counted by SQLite) and from runs in memory, the
two agreeing; every bad request a clear ``ConfigurationError``."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentnb_testing import history_id, history_records

from agentnb import ConfigurationError
from agentnb._display.history_columns import page_rows
from agentnb._history._pages import (
    MAX_PAGE_SIZE,
    PAGE_COLUMNS,
    MemoryPages,
    Page,
    PageQuery,
    StorePages,
    run_pages,
)
from agentnb._history._run_filter import RunFilter
from agentnb.history import HistoryStore, RunHistory

NOW = time.time()
COUNT = 120


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        assert opened.import_records(history_records(COUNT, start=NOW)) == COUNT
        yield opened


def ids(page: Page) -> list[int]:
    return [int(local_id[:8], 16) for local_id in page.local_ids]


def column(page: Page, title: str) -> list[str]:
    """The texts the view shows in that column of the page."""
    i = page.columns.index(title)
    return [row["cells"][i][0] for row in page_rows(page.values, page.columns, time.time())]


def both(store: HistoryStore, where: RunFilter | None = None) -> tuple[StorePages, MemoryPages]:
    history = store.runs(where)
    pages = run_pages(history)
    assert isinstance(pages, StorePages)
    return pages, MemoryPages(history[:])  # a slice is held in memory


def test_the_first_page_is_the_latest_runs_and_counts_them_all(store: HistoryStore) -> None:
    pages, memory = both(store)
    page = pages.page(PageQuery.build())
    assert ids(page) == list(range(20))
    assert page.total == COUNT and page.offset == 0
    assert "match" not in page.columns
    assert page.columns[:4] == ["started", "agent", "status", "message"]
    assert column(page, "message")[3] == "Question 3: how did MSFT move this week?"
    assert ids(memory.page(PageQuery.build())) == ids(page)


def test_paging_forward_and_a_short_last_page(store: HistoryStore) -> None:
    pages, memory = both(store)
    for source in (pages, memory):
        assert ids(source.page(PageQuery.build(offset=20, limit=50))) == list(range(20, 70))
        last = source.page(PageQuery.build(offset=100, limit=50))
        assert ids(last) == list(range(100, COUNT)) and last.total == COUNT
        assert source.page(PageQuery.build(offset=500)).local_ids == []


@pytest.mark.parametrize("title", [c.title for c in PAGE_COLUMNS if c.title != "match"])
@pytest.mark.parametrize("descending", [False, True])
def test_every_column_sorts_the_same_in_sqlite_and_in_memory(
    store: HistoryStore, title: str, descending: bool
) -> None:
    pages, memory = both(store)
    query = PageQuery.build(sort=title, descending=descending, limit=MAX_PAGE_SIZE)
    in_sql, in_memory = pages.page(query), memory.page(query)
    assert ids(in_sql) == ids(in_memory)
    assert len(in_sql.local_ids) == COUNT


@pytest.mark.parametrize("title", ["tokens", "cost"])
def test_sorting_puts_empty_values_last_going_up_or_down(store: HistoryStore, title: str) -> None:
    """An ascending cost sort starts with the cheapest priced run, not the unpriced ones."""
    pages, _ = both(store)
    for descending in (False, True):
        query = PageQuery.build(sort=title, descending=descending, limit=MAX_PAGE_SIZE)
        shown = column(pages.page(query), title)
        empty = shown.count("")
        assert empty > 0, "failed and cancelled runs have no tokens, nor a cost"
        assert shown[-empty:] == [""] * empty
        numbers = [float(re.sub(r"[$,]", "", t)) for t in shown[:-empty]]
        assert numbers == sorted(numbers, reverse=descending)


def test_text_filters_hold_the_text_in_any_ascii_case(store: HistoryStore) -> None:
    pages, memory = both(store)
    query = PageQuery.build(filters={"agent": "ECHO", "message": "amd"})
    for source in (pages, memory):
        page = source.page(query)
        assert ids(page) == [i for i in range(COUNT) if i % 12 == 1]
        assert set(column(page, "agent")) == {"echo"}
    literal = PageQuery.build(filters={"message": "100%"})  # % and _ are not wildcards
    assert pages.page(literal).total == memory.page(literal).total == 0
    empty = PageQuery.build(filters={"agent": "   "})
    assert pages.page(empty).total == COUNT


def test_number_and_time_filters_compare(store: HistoryStore) -> None:
    pages, memory = both(store)
    cutoff = datetime.fromtimestamp(NOW - 60 * 9.5, tz=UTC).isoformat()
    for query, expected in (
        (PageQuery.build(filters={"tools": ">=3"}), [i for i in range(COUNT) if i % 4 == 3]),
        (PageQuery.build(filters={"tools": "2"}), [i for i in range(COUNT) if i % 4 == 2]),
        (
            PageQuery.build(filters={"tools": "!=0", "status": "fail"}),
            [i for i in range(COUNT) if i % 5 == 3 and i % 4 != 0],
        ),
        (PageQuery.build(filters={"started": f">={cutoff}"}), list(range(10))),
        (PageQuery.build(filters={"cost": "<0.0015"}), None),
    ):
        in_sql, in_memory = pages.page(query), memory.page(query)
        assert ids(in_sql) == ids(in_memory)
        if expected is not None:
            assert ids(in_sql) == expected[:20] and in_sql.total == len(expected)
    cheap = pages.page(PageQuery.build(filters={"cost": "<0.0015"}, limit=MAX_PAGE_SIZE))
    assert cheap.total > 0
    assert all(float(c.lstrip("$")) < 0.0015 for c in column(cheap, "cost"))


def test_the_table_keeps_the_filters_the_history_was_read_with(store: HistoryStore) -> None:
    where = RunFilter.build(agent="writer", status="completed")
    pages, memory = both(store, where)
    expected = [i for i in range(COUNT) if i % 4 == 2 and i % 5 < 3]
    for source in (pages, memory):
        page = source.page(PageQuery.build(limit=MAX_PAGE_SIZE))
        assert ids(page) == expected and page.total == len(expected)
    limited = run_pages(store.runs(RunFilter.build(limit=30)))
    page = limited.page(PageQuery.build(sort="started", limit=MAX_PAGE_SIZE))
    assert ids(page) == list(range(29, -1, -1)), "runs(limit=30): the 30 latest, oldest first"
    assert limited.page(PageQuery.build(filters={"agent": "echo"})).total == 8


def test_search_ranks_and_shows_where_the_words_are(store: HistoryStore) -> None:
    pages, memory = both(store)
    query = PageQuery.build(search="NVDA earnings")
    page = pages.page(query)
    expected = [i for i in range(COUNT) if i % 6 == 0]
    assert sorted(ids(page)) == expected[:20] or page.total == len(expected)
    assert page.total == len(expected) == memory.page(query).total
    assert "match" in page.columns
    assert all("«" in snippet for snippet in column(page, "match"))
    assert "match" not in memory.page(query).columns, "in memory: no snippet"
    by_date = pages.page(PageQuery.build(search="NVDA", sort="started", descending=True))
    assert ids(by_date) == expected[:20]
    combined = pages.page(PageQuery.build(search="nvda", filters={"agent": "finance"}))
    assert ids(combined) == [i for i in expected if i % 4 == 0][:20]
    nothing = pages.page(PageQuery.build(search="zebra"))
    assert nothing.total == 0 and nothing.local_ids == []


def test_a_searched_history_pages_within_its_search(store: HistoryStore) -> None:
    pages = run_pages(store.runs(RunFilter.build(search="AMD")))
    assert pages.page(PageQuery.build()).total == COUNT // 6
    assert pages.page(PageQuery.build(search="NVDA")).total == 0, "both searches hold"
    page = pages.page(PageQuery.build(search="answer"))
    assert page.total == COUNT // 6 and "match" in page.columns
    best = run_pages(store.runs(RunFilter.build(search="AMD", agent="echo", limit=3)))
    page = best.page(PageQuery.build(sort="started"))
    assert page.total == 3 and set(column(page, "agent")) == {"echo"}
    assert best.page(PageQuery.build(search="earnings", filters={"tokens": ">0"})).total <= 3


def test_a_search_typed_in_a_limited_table_searches_the_history(store: HistoryStore) -> None:
    """``runs(limit=30)`` shows the 30 latest runs; a search typed in its table finds the
    older ones too, as ``runs(search=..., limit=30)`` does (the best 30 matches), not only
    the matches among the rows shown."""
    limited = run_pages(store.runs(RunFilter.build(limit=30)))
    page = limited.page(PageQuery.build(search="NVDA", limit=MAX_PAGE_SIZE))
    expected = [i for i in range(COUNT) if i % 6 == 0]
    assert sorted(ids(page)) == expected and page.total == len(expected)
    assert max(ids(page)) >= 30, "runs older than the 30 shown"
    same = store.runs(RunFilter.build(search="NVDA", limit=30))
    assert sorted(same.local_ids) == sorted(page.local_ids)
    few = run_pages(store.runs(RunFilter.build(limit=3)))
    assert few.page(PageQuery.build(search="NVDA")).total == 3, "the best 3, as limit=3 says"


def test_the_selection_is_a_history_in_the_order_given(store: HistoryStore) -> None:
    pages, memory = both(store)
    wanted = [history_id(7), history_id(2), "not-a-run"]
    for source in (pages, memory):
        picked = source.history(wanted)
        assert isinstance(picked, RunHistory)
        assert picked.local_ids == wanted[:2]


def test_cells_are_text_with_invisible_characters_shown(tmp_path: Path) -> None:
    message = "<script>alert(1)</script>\u202egnp.exe\x1b[31m"
    hostile = dataclasses.replace(history_records(1, start=NOW)[0], message=message)
    history = RunHistory.from_records([hostile])
    page = MemoryPages(history).page(PageQuery.build())
    text = column(page, "message")[0]
    assert text.startswith("<script>alert(1)</script>")  # as text: the view sets textContent
    assert "\u202e" not in text and "⟨U+202E⟩" in text and "\x1b" not in text


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"sort": {"column": "nope"}}, "cannot sort by 'nope': the table's columns are started"),
        ({"filters": {"answer": "x"}}, "cannot filter 'answer'"),
        ({"filters": ["agent"]}, "filters must map column titles to text"),
        ({"filters": {"match": "x"}}, "the match column is not filtered: search instead"),
        ({"filters": {"agent": 3}}, "the filter for 'agent' must be text"),
        ({"filters": {"tokens": "many"}}, "the filter for 'tokens' must be a comparison"),
        ({"filters": {"tokens": ">"}}, "the filter for 'tokens' must be a comparison"),
        ({"filters": {"cost": "<nan"}}, "the filter for 'cost' must be a comparison"),
        ({"filters": {"started": ">yesterday"}}, "such as >=2025-11-01"),
        ({"offset": -1}, "offset must be a whole number ≥ 0, not -1"),
        ({"offset": 1.5}, "offset must be a whole number"),
        ({"offset": True}, "offset must be a whole number"),
        ({"limit": 0}, "the page size must be a whole number ≥ 1"),
        ({"limit": MAX_PAGE_SIZE + 1}, f"the page size is at most {MAX_PAGE_SIZE} rows"),
        ({"sort": {"column": "agent", "descending": "yes"}}, "descending must be True or False"),
        ({"sort": "agent"}, "sort must be {column, descending} or null"),
        ({"search": 5}, "search must be text"),
        ({"search": "a\ud800"}, "lone surrogate"),
    ],
)
def test_a_bad_request_is_a_clear_error(request_: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        PageQuery.from_message(request_)
    assert error in str(caught.value)


def test_an_empty_search_is_no_search(store: HistoryStore) -> None:
    pages, _ = both(store)
    assert PageQuery.from_message({"search": "   "}).search is None
    assert pages.page(PageQuery.from_message({"search": ""})).total == COUNT
