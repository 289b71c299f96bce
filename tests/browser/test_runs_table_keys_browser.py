"""Tab through a run table in JupyterLab: its rows are one tab stop (the current row's
controls), so Tab passes a table of 20 rows on its way down the notebook, and the arrow keys
move between its rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentnb_testing import history_records
from notebook_pages import cell_at, notebook_page

from agentnb.history import HistoryStore

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
