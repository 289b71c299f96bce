"""The static run table (``RunHistory``'s HTML, what ``%agent_runs`` shows where the table to
browse cannot show) in a real JupyterLab.

In an output 460 px wide, in the light and the dark theme: every run is one line (no cell
wraps, so no token is split), a value cut by the column's width keeps its whole text on hover,
the table scrolls sideways rather than squeezing, and every text reads at 4.5:1 or more.
Clicking a header sorts the rows; the same table saved in a notebook and opened untrusted
(JupyterLab sanitizes it: no handler) still reads one line per run. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from notebook_pages import (
    CONTRASTS,
    THEMES,
    cell_at,
    new_page,
    notebook_page,
    open_notebook_at,
    set_theme,
    url_of,
)

pytestmark = pytest.mark.browser

HISTORY = """
import time
from agentnb.history import RunHistory
now = time.time()
statuses = ["completed", "failed", "cancelled", "interrupted", "running", "completed"]
starts = [now - 30, now - 300, now - 86400 * 40, now - 86400 * 400, now - 5, now - 60]
history = RunHistory({
    "local_id": [f"{i:032x}" for i in range(6)],
    "run_id": [f"run_{i}f0c2a9be1d34c7a8e6f1b2" if i != 3 else None for i in range(6)],
    "thread_id": ["thread_9a8b7c6d5e4f3a2b1c0d9e8f", None, "portfolio-review", None, None, None],
    "agent": ["finance_agent", "writer", "writer", "a_research_agent_with_a_long_name",
              "echo", "finance_agent"],
    "status": statuses,
    "started_at": starts,
    "message": ["What is NVDA trading at, and how did it move this week compared with AMD?",
                "Write a long report on GPUs.\\n\\nCover $229.87 and 312,456,789 shares.",
                "Summarise the quarter", "x" * 300, "hi", "short"],
    "error_message": [None, "Model overloaded: retry in 30 s", None,
                      "the stream was cut mid-stream", None, None],
    "error_code": [None, "CAPACITY_ERROR", None, "STREAM_CUT", None, None],
    "total_tokens": [1234, None, 87, None, None, 123456],
    "duration": [2.5, 1.25, 0.8, 12.0, None, 30.75],
    "ttft": [0.25, None, 0.3, 1.5, None, 0.4],
    "tool_call_count": [1, 0, 0, 2, 0, 3],
})
"""

# Per body row: does each cell's text sit on one line, is the row one line high, and does a
# cut cell (scrollWidth > clientWidth) carry its whole text in its title?
ROWS = """
(root) => {
  const table = root.querySelector("table.agentnb-runs-table");
  const out = { rows: [], tableWidth: table.getBoundingClientRect().width,
                boxWidth: root.clientWidth, scrolls: root.scrollWidth > root.clientWidth };
  for (const tr of table.tBodies[0].rows) {
    const row = { height: tr.getBoundingClientRect().height, lines: 1, line: 0, cut: [] };
    for (const td of tr.cells) {
      const text = td.firstChild;
      if (!text || text.nodeType !== 3) continue;
      const range = document.createRange();
      range.selectNodeContents(td);
      const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
      row.lines = Math.max(row.lines, new Set(rects.map((r) => Math.round(r.top))).size);
      row.line = Math.max(row.line, ...rects.map((r) => r.height));
      if (td.scrollWidth > td.clientWidth + 1) {
        const whole = (td.title || "").replace(/\\s+/g, " ");
        row.cut.push({ text: td.textContent, title: td.title,
                       kept: whole.startsWith(td.textContent.replace(/\\s+/g, " ").trim()) });
      }
    }
    out.rows.push(row);
  }
  return out;
}
"""
COLUMN = """
(root, title) => {
  const table = root.querySelector("table.agentnb-runs-table");
  const heads = Array.from(table.tHead.rows[0].cells, (th) => th.firstChild.textContent);
  const i = heads.indexOf(title);
  return Array.from(table.tBodies[0].rows, (tr) => tr.cells[i].textContent);
}
"""


def narrow_table(page: Any, index: int) -> Any:
    """The table's root in cell ``index``, its output made 460 px wide."""
    output = cell_at(page, index).locator(".jp-OutputArea-output").first
    output.evaluate("(el) => { el.style.width = '460px'; el.style.maxWidth = '460px'; }")
    page.wait_for_timeout(200)
    root = output.locator(".agentnb-runs")
    root.scroll_into_view_if_needed()
    return root


def assert_one_line_per_run(layout: dict[str, Any]) -> None:
    assert len(layout["rows"]) == 6
    for row in layout["rows"]:
        assert row["lines"] == 1, row
        # One line of text plus the cell's padding (0.25em above and below), never two.
        assert row["height"] < 1.8 * row["line"], row
        assert all(cut["kept"] for cut in row["cut"]), row["cut"]
    assert any(row["cut"] for row in layout["rows"]), "the long values are cut, with a title"
    assert layout["boxWidth"] <= 460
    assert layout["scrolls"], "a table wider than its output scrolls sideways"


@pytest.fixture(scope="module")
def lab_page(browser: Any, jupyterlab: Any, artifacts: Path) -> Iterator[Any]:
    name = "history.ipynb"
    # the static table as a cell's output (a history shown as a cell's result is the table
    # to browse, with this one hidden next to it: tests/browser/test_runs_table_browser.py)
    shown = "from IPython.display import HTML\nHTML(history._repr_html_())"
    with notebook_page(browser, jupyterlab, name, [HISTORY, shown], run_first=2) as page:
        cell_at(page, 1).locator(".agentnb-runs table").wait_for()
        yield page


@pytest.mark.parametrize("theme", THEMES)
def test_at_460_px_each_run_is_one_readable_line(
    lab_page: Any, theme: str, artifacts: Path
) -> None:
    page = lab_page
    set_theme(page, theme)
    root = narrow_table(page, 1)
    page.screenshot(path=str(artifacts / f"history-table-460-{theme.split()[-1].lower()}.png"))
    assert_one_line_per_run(root.evaluate(ROWS))
    low = [t for t in root.evaluate(CONTRASTS) if t["ratio"] < 4.5]
    assert low == [], "\n".join(
        f"{t['what']} {t['text']!r} {t['ratio']:.2f} fg={t['fg']} bg={t['bg']}" for t in low
    )
    statuses = root.evaluate(COLUMN, "status")
    assert statuses == ["completed", "failed", "cancelled", "interrupted", "running", "completed"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_clicking_a_header_sorts_the_rows(lab_page: Any, artifacts: Path) -> None:
    page = lab_page
    root = narrow_table(page, 1)
    status = root.locator("th", has_text="status")
    status.click()
    ordered = ["cancelled", "completed", "completed", "failed", "interrupted", "running"]
    assert root.evaluate(COLUMN, "status") == ordered
    assert status.get_attribute("aria-sort") == "ascending"
    status.click()
    assert root.evaluate(COLUMN, "status") == ordered[::-1]
    root.locator("th", has_text="started").click()
    started = root.evaluate(COLUMN, "status")
    assert started[0] == "interrupted", "oldest first: the run from last year"
    page.screenshot(path=str(artifacts / "history-table-sorted.png"))


def test_saved_and_untrusted_the_table_still_reads_one_line_per_run(
    browser: Any, jupyterlab: Any, artifacts: Path
) -> None:
    namespace: dict[str, Any] = {}
    exec(HISTORY, namespace)  # the same table, rendered here and saved as a cell's output
    html = namespace["history"]._repr_html_()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    cell = nbformat.v4.new_code_cell("history")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result", {"text/html": html, "text/plain": "RunHistory"}, execution_count=1
        )
    ]
    notebook.cells = [cell]
    nbformat.write(notebook, jupyterlab.root / "saved-history.ipynb")
    context, page, _ = new_page(browser)
    try:
        open_notebook_at(page, url_of(jupyterlab, "jupyterlab", "saved-history.ipynb"))
        root = narrow_table(page, 0)
        page.screenshot(path=str(artifacts / "history-table-untrusted.png"))
        head = root.locator("thead")
        assert head.get_attribute("onclick") is None, "JupyterLab sanitized the saved output"
        assert_one_line_per_run(root.evaluate(ROWS))
    finally:
        context.close()
