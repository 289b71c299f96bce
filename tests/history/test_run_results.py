"""A ``runs()`` result reads its first rows and its count at once and the rest at first use,
and holds the runs recorded when it was asked for, however late it is read: so showing
``agentnb.runs()`` over a large history reads what is shown, and nothing changes for code
that reads the rows."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import history_id, history_records

from agentnb import HistoryError
from agentnb._display.history_columns import page_rows
from agentnb._history._pages import Page, PageQuery, StorePages, run_pages
from agentnb._history._run_filter import RunFilter
from agentnb._history._tables import SHOWN_ROWS
from agentnb.history import HistoryStore, RunHistory, RunRecord

NOW = time.time()
COUNT = 45


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        assert opened.import_records(history_records(COUNT, start=NOW)) == COUNT
        yield opened


def drawn(page: Page) -> list[dict[str, object]]:
    """The page's rows as the view gets them."""
    return page_rows(page.values, page.columns, NOW)


def unread(history: RunHistory) -> bool:
    return history._unread is not None


def every_row_read(store: HistoryStore, where: RunFilter | None = None) -> RunHistory:
    """The same runs read whole at once, as ``runs()`` did before."""
    return RunHistory(store.run_columns(where))


def newer_runs(count: int, prefix: str) -> list[RunRecord]:
    """``count`` runs started after the fixture's, with ids of their own."""
    return [
        dataclasses.replace(record, local_id=prefix + record.local_id[1:])
        for record in history_records(count, start=NOW + 3600)
    ]


def table(history: RunHistory) -> str:
    """The static HTML table without its title."""
    return history._repr_html_().split("</div>", 1)[1]


def without_statuses(text: str) -> str:
    """A repr with its title's status counts left out (known once every row is read)."""
    title, _, rest = text.partition("\n")
    return title.split(" — ")[0] + "\n" + rest


@pytest.mark.parametrize(
    "where",
    [
        RunFilter(),
        RunFilter.build(since=NOW - 60 * 40 - 1),
        RunFilter.build(search="earnings"),
        RunFilter.build(search="moved", limit=30),
        RunFilter.build(status="completed", limit=25),
    ],
    ids=["all", "since", "search", "search-limit", "status-limit"],
)
def test_a_result_shows_what_reading_every_row_shows(store: HistoryStore, where: RunFilter) -> None:
    history = store.runs(where)
    whole = every_row_read(store, where)
    assert len(whole) > SHOWN_ROWS and unread(history)
    assert without_statuses(repr(history)) == without_statuses(repr(whole))
    assert table(history) == table(whole)
    assert unread(history), "showing it read only its first rows"
    assert history[3] == whole[3] and history[:5].local_ids == whole[:5].local_ids
    assert unread(history)
    assert len(history) == len(whole) and unread(history), "its length is counted, not read"
    assert history.local_ids == whole.local_ids and not unread(history)
    assert repr(history) == repr(whole)
    if where.search is not None:
        assert history.column("snippet") == whole.column("snippet")


def test_a_small_result_is_read_whole_at_once(store: HistoryStore) -> None:
    for where in (RunFilter.build(limit=SHOWN_ROWS), RunFilter.build(search="AMD")):
        history = store.runs(where)
        assert not unread(history)
        assert repr(history).splitlines()[0].count(" — ") == 1  # with its statuses


def test_the_title_counts_the_runs_before_they_are_read(store: HistoryStore) -> None:
    history = store.runs()
    assert repr(history).splitlines()[0] == f"RunHistory: {COUNT} runs"
    assert repr(history).splitlines()[-1] == f"… and {COUNT - SHOWN_ROWS} more"
    assert unread(history)
    assert len(history) == COUNT and unread(history)
    history.read_rows()
    assert repr(history).splitlines()[0].startswith(f"RunHistory: {COUNT} runs — ")


def test_a_result_holds_the_runs_recorded_when_it_was_asked_for(store: HistoryStore) -> None:
    before = store.runs()
    searched = store.runs(RunFilter.build(search="moved"))
    later = newer_runs(10, "f")  # newer and matching: they would come first if read
    assert store.import_records(later) == 10
    assert len(before) == COUNT and before.local_ids == every_row_read(store).local_ids[10:]
    assert len(searched) == COUNT
    assert not set(searched.local_ids) & {record.local_id for record in later}
    assert len(store.runs()) == COUNT + 10


def test_its_table_pages_hold_the_same_runs(store: HistoryStore) -> None:
    history = store.runs()
    assert store.import_records(newer_runs(3, "e")) == 3
    pages = run_pages(history)
    assert isinstance(pages, StorePages)
    first = pages.page(PageQuery.build())
    assert first.local_ids == [history_id(i) for i in range(SHOWN_ROWS)]
    again = pages.page(PageQuery.build())  # read from the store this time, pinned the same
    assert drawn(again) == drawn(first) and again.total == first.total == COUNT
    last = pages.page(PageQuery.build(offset=40))
    assert last.local_ids == [history_id(i) for i in range(40, COUNT)]


def test_a_search_table_first_page_is_the_call_own(store: HistoryStore) -> None:
    history = store.runs(RunFilter.build(search="moved"))
    pages = run_pages(history)
    first = pages.page(PageQuery.build())
    assert first.total == COUNT
    read = pages.page(PageQuery.build())
    assert drawn(read) == drawn(first)
    assert first.local_ids == history.local_ids[:SHOWN_ROWS]


def test_a_result_is_read_after_its_store_is_closed(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.import_records(history_records(COUNT, start=NOW))
        history = store.runs(RunFilter.build(search="moved"))
        assert unread(history)
    assert store.closed
    assert len(history) == COUNT
    assert history.to_pandas()["snippet"].str.contains("«moved»").all()


def test_an_in_memory_result_is_read_when_its_store_closes() -> None:
    store = HistoryStore(":memory:")
    store.import_records(history_records(COUNT, start=NOW))
    history = store.runs()
    assert unread(history)
    store.close()
    assert not unread(history) and len(history) == COUNT
    with pytest.raises(HistoryError, match="closed"):
        store.runs()


def test_a_result_read_later_from_a_damaged_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records(history_records(COUNT, start=NOW))
        history = store.runs()
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(HistoryError, match=str(path)):
        history.read_rows()
    assert unread(history), "nothing half-read: reading again tries again"
