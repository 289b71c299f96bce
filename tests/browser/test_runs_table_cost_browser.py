"""A cost is never cut and never pushes the table out of its output: in the table to browse
(a real JupyterLab at 1280 px, Debian's Chromium), the widest costs a page can hold (a few
billionths of a dollar, millions of dollars: 12 to 15 characters) show whole in the cost
column, and the question's column gives way so the verdict stays in view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import cell_at, notebook_page, widget_errors

from agentnb._history import RunRecord
from agentnb._history._records import RUN_COLUMNS
from agentnb.history import HistoryStore

pytestmark = pytest.mark.browser

COSTS = [0.000000726, 0.00000000123, 0.0000000000015, 12_345_678.9, 0.0123]
"""``$0.000000726``, ``$0.00000000123``, ``$0.000000000002``, ``$12,345,678.90``, and an
ordinary one."""


def record(i: int, cost: float) -> RunRecord:
    row = {
        "local_id": f"cost-run-{i}",
        "run_id": f"run_cost_{i}",
        "agent": "finance_agent",
        "status": "completed",
        "message": f"Quote {i}",
        "started_at": time.time() - i,
        "duration": 0.4,
        "cost_usd": cost,
        "cost_source": "genai-prices",
        "model": "gemini-2.0-flash-lite",
    }
    return RunRecord.from_row(tuple(row.get(name) for name, _ in RUN_COLUMNS))


CUT = """
(view) => {
  const head = view.querySelector("thead th[data-column='cost']");
  const cells = [...view.querySelectorAll(`tbody tr[data-id] td:nth-child(${head.cellIndex + 1})`)];
  const output = view.closest(".jp-OutputArea-output").getBoundingClientRect();
  const table = view.querySelector(".anb-runs-table").getBoundingClientRect();
  return {
    past: Math.round(table.right - output.right),
    costs: cells.map((td) => td.textContent),
    cut: cells.filter((td) => td.scrollWidth > td.clientWidth).map((td) =>
      `${td.textContent}: ${td.scrollWidth - td.clientWidth} px`),
  };
}
"""


def test_the_widest_costs_show_whole(
    jupyterlab: Any, browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records([record(i, cost) for i, cost in enumerate(COSTS)])
    cells = [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(path)!r}\nimport agentnb",
        "agentnb.browse()",
    ]
    with notebook_page(browser, jupyterlab, "costs.ipynb", cells, run_first=2) as page:
        page.evaluate("() => localStorage.removeItem('agentnb.runs-table.columns')")
        view = cell_at(page, 1).locator(".agentnb-runs-view")
        view.locator("tbody tr[data-id]").nth(len(COSTS) - 1).wait_for()
        seen = view.evaluate(CUT)
        assert sorted(seen["costs"]) == sorted(
            ["$0.000000726", "$0.00000000123", "$0.000000000002", "$12,345,678.90", "$0.0123"]
        )
        assert seen["cut"] == []
        assert seen["past"] <= 1, "the table fits its output: the question gives way"
        view.screenshot(path=str(artifacts / "runs-table-costs.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
