"""The run history to browse in a notebook (``agentnb.browse``, and how a Jupyter kernel
displays a `RunHistory`): a `RunsTable` whose pages come from the history, whose **Open**
shows a run as ``agentnb.show`` does and whose **Compare** shows ``agentnb.compare``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..._core.exceptions import ConfigurationError
from ..._display.history_columns import column_heads, page_rows
from ..._display.history_views import runs_html, runs_text
from ..._display.runs_table import EMPTY_OUTPUT, RunsGrid, RunsTable, Shown
from ..._display.static_copy import REOPENED_STYLE, static_root
from ..._display.table import ShownGrid
from ..._display.verdicts import verdict_kept
from ..._display.widget import ChatCell
from ..._history import HistoryStore, RunHistory, default_store, kept_store
from ..._history._pages import PAGE_COLUMNS, PageQuery, RunPages, run_pages
from ..._history._tables import SHOWN_ROWS
from ..front.run_like import history_records
from ..front.scoring import VERDICT
from .compare_runs import compare
from .past_runs import past_run_cell

__all__ = ["GridSource", "HistorySource", "grid_view", "runs_table"]


def runs_table(history: RunHistory) -> RunsTable:
    """``history`` as a table to browse, over its static table."""
    return RunsTable(HistorySource(history), title=history.title())


class HistorySource:
    """A `RunsTable`'s rows from a history's pages; Open and Compare as ``agentnb.show`` and
    ``agentnb.compare`` show runs."""

    def __init__(self, history: RunHistory) -> None:
        self.history = history
        self.pages: RunPages = run_pages(history)
        self._opened: ChatCell | None = None
        """The chat cell Open showed last: closed when the next Open or Compare replaces it."""

    def columns(self) -> list[dict[str, Any]]:
        return column_heads([(column.title, column.type) for column in PAGE_COLUMNS])

    def page(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The page the view asks for: the history's rows, drawn as the static table's, and
        each one's current verdict."""
        page = self.pages.page(PageQuery.from_message(request))
        return {
            "rows": page_rows(page.values, page.columns, time.time()),
            "total": page.total,
            "exact": page.exact,
            "offset": page.offset,
            "columns": page.columns,
            "verdicts": self._verdicts(page.local_ids),
        }

    def _store(self) -> HistoryStore | None:
        """Where this table's runs are kept: the store a ``runs()`` result was read from,
        else the default history (a batch's runs are recorded there)."""
        read_from = self.history.read_from
        return read_from.store if read_from is not None else default_store()

    def _verdicts(self, local_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        store = self._store()
        if store is None or not local_ids:
            return {}
        return {
            score.local_id: {"value": score.value, "comment": score.comment}
            for score in store.scores(local_ids)
            if score.name == VERDICT and isinstance(score.value, bool)
        }

    def verdict(self, local_id: str, value: bool, comment: str | None) -> None:
        store = self._store() or kept_store("verdicts")
        store.add_score(local_id, VERDICT, value, comment=comment, source="person")
        verdict_kept(local_id, value, comment)

    def selected(self, local_ids: Sequence[str]) -> RunHistory:
        return self.pages.history(local_ids)

    def open(self, local_ids: Sequence[str]) -> Shown:
        if len(local_ids) != 1:
            raise ConfigurationError(f"Open shows one run; {len(local_ids)} are selected")
        found = history_records([self.pages.history(local_ids)])
        if not found:
            raise ConfigurationError("that run is no longer in the history")
        self._close_opened()
        self._opened = past_run_cell(*found[0])
        for local_id, kept in self._verdicts(local_ids).items():  # the opened cell shows it
            verdict_kept(local_id, kept["value"], kept["comment"])
        return self._opened.view_bundle(), self._opened.static_bundle()

    def compare(self, local_ids: Sequence[str]) -> Shown:
        if len(local_ids) < 2:
            raise ConfigurationError(f"Compare needs two runs or more; {len(local_ids)} selected")
        comparison = compare(self.pages.history(local_ids))
        self._close_opened()
        return {"text/html": comparison.to_html(), "text/plain": comparison.to_text()}, EMPTY_OUTPUT

    def _close_opened(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def static(self) -> dict[str, str]:
        """The history's HTML table (with the style that hides an unrendered view in front
        of it) and its text: the columns the table to browse shows by default, its scores
        among a row's details as there."""
        columns, shown, total = self.history.first_rows(SHOWN_ROWS)
        title, more, at_least = self.history.title(), total.n - shown, not total.exact
        html = runs_html(columns, shown, title=title, more=more, at_least=at_least, scores=False)
        text = runs_text(columns, shown, title=title, more=more, width=None, at_least=at_least)
        return {"text/html": static_root(html) + REOPENED_STYLE, "text/plain": text}


class GridSource(HistorySource):
    """An experiment grid's runs: Open and Compare as a `HistorySource`'s, the static form
    the grid's table."""

    def __init__(self, history: RunHistory, grid: ShownGrid) -> None:
        super().__init__(history)
        self.grid = grid

    def static(self) -> dict[str, str]:
        html = static_root(self.grid.to_html()) + REOPENED_STYLE
        return {"text/html": html, "text/plain": self.grid.to_text()}

    def open(self, local_ids: Sequence[str]) -> Shown:
        return (*super().open(local_ids), self._beside(local_ids))

    def compare(self, local_ids: Sequence[str]) -> Shown:
        return (*super().compare(local_ids), self._beside(local_ids))

    def _beside(self, local_ids: Sequence[str]) -> dict[str, Any]:
        """What the grid adds under these runs (an empty output when nothing)."""
        return self.grid.beside(local_ids) or EMPTY_OUTPUT


def grid_view(grid: ShownGrid, runs: RunHistory) -> RunsGrid:
    """``grid`` as a view whose cells open their run and whose questions compare theirs
    (``runs``: the grid's runs)."""
    return RunsGrid(GridSource(runs, grid), grid=grid.wire())
