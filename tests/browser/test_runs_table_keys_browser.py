"""Tab through a run table in JupyterLab: its rows are one tab stop (the current row's
controls), so Tab passes a table of 20 rows on its way down the notebook, and the arrow keys
move between its rows; in JupyterLab and Notebook 7, Tab from the notebook's top passes three
run tables and an older chat cell to the newest chat cell's box (screenshots:
test-artifacts/runs-table-tab-*.png)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import history_records
from notebook_pages import APPS, cell_at, notebook_page, widget_errors

from agentnb.history import HistoryStore

pytestmark = pytest.mark.browser

FOCUSED = """
(view) => {
  const el = document.activeElement;
  if (!el || !view.contains(el)) return null;
  const tr = el.closest("tbody tr[data-id]");
  return { row: tr ? tr.dataset.id : null, kind: el.className || el.tagName };
}
"""


def test_tab_passes_a_run_table_through_one_row(
    browser: Any, jupyterlab: Any, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    with HistoryStore(history) as store:
        store.import_records(history_records(45))
    cells = [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history)!r}\nimport agentnb",
        "agentnb.browse()",
    ]
    with notebook_page(browser, jupyterlab, "tab_table.ipynb", cells, run_first=2) as page:
        view = cell_at(page, 1).locator(".agentnb-runs-view")
        view.locator("tbody tr").nth(19).wait_for()
        view.locator(".anb-runs-search").focus()
        rows_reached: set[str] = set()
        for _ in range(400):  # far more stops than a table has: a walk that never leaves fails
            page.keyboard.press("Tab")
            where = view.evaluate(FOCUSED)
            if where is None:
                break
            if where["row"] is not None:
                rows_reached.add(where["row"])
        else:
            raise AssertionError("Tab never left the table")
        assert len(rows_reached) == 1, sorted(rows_reached)

        first = view.locator("tbody tr[data-id] input[type=checkbox]").first
        first.focus()
        page.keyboard.press("ArrowDown")
        second = view.locator("tbody tr[data-id] input[type=checkbox]").nth(1)
        assert second.evaluate("(el) => el === document.activeElement")
        assert page.errors == []  # type: ignore[attr-defined]


STOP = """
() => {
  const el = document.activeElement;
  const cell = el && el.closest(".jp-Notebook .jp-Cell");
  const row = el && el.closest(".agentnb-runs-view tbody tr[data-id]");
  return {
    cell: [...document.querySelectorAll(".jp-Notebook .jp-Cell")].indexOf(cell),
    row: row ? row.dataset.id : null,
    box: Boolean(el && el.matches(".anb-input-text")),
  };
}
"""
"""Where the focus is: its cell's index (-1 outside every cell), its table row, if any, and
whether it is a chat cell's box."""
IN_VIEW = """
(el) => {
  const box = el.getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}
"""
OLDER_CHAT, TABLES, NEWEST_CHAT = 1, (2, 3, 4), 5


@pytest.mark.parametrize("app", APPS)
def test_tab_from_the_top_passes_three_run_tables_to_the_newest_chat_cell(
    browser: Any, app: str, jupyter: Any, tmp_path: Path, artifacts: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    with HistoryStore(history) as store:
        store.import_records(history_records(45))
    cells = [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history)!r}\nimport agentnb",
        'older = agentnb.chat("echo")',
        *["agentnb.runs()"] * len(TABLES),
        'newest = agentnb.chat("echo")',
    ]
    name = f"tab_to_chat_{app}.ipynb"
    with notebook_page(
        browser, jupyter, name, cells, app=app, run_first=len(cells), height=800
    ) as page:
        for index in TABLES:
            cell_at(page, index).locator(".agentnb-runs-view tbody tr").nth(19).wait_for()
        newest = cell_at(page, NEWEST_CHAT).locator(".anb-input-text")
        newest.wait_for()
        cell_at(page, 0).locator(".jp-InputPrompt").click()  # the notebook's top
        page.keyboard.press("Escape")
        stops: list[dict[str, Any]] = []
        for _ in range(400):  # far more than the way down takes: a walk that is stuck fails
            page.keyboard.press("Tab")
            stops.append(page.evaluate(STOP))
            if stops[-1]["box"] and stops[-1]["cell"] == NEWEST_CHAT:
                break
        else:
            raise AssertionError(f"Tab never reached the newest chat cell's box: {stops[-5:]}")
        per_cell = Counter(stop["cell"] for stop in stops)
        assert any(s["box"] and s["cell"] == OLDER_CHAT for s in stops), "the older box passed"
        for index in TABLES:
            rows = {stop["row"] for stop in stops if stop["cell"] == index and stop["row"]}
            assert len(rows) == 1, (index, sorted(rows))  # one row's controls, not every row's
            assert 0 < per_cell[index] <= 30, per_cell
        assert newest.evaluate(IN_VIEW), "the box Tab reached is scrolled into view"
        page.screenshot(path=str(artifacts / f"runs-table-tab-{app}.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
