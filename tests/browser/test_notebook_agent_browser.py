"""The built-in server's ``notebook_agent`` works in a newcomer's notebook: no connection
configured, ``%%agent notebook_agent --notebook`` in JupyterLab 4 (Playwright, Debian's
Chromium, agentnb's extension as the wheel installs it). The agent's add and its run each ask
on the chat cell's card and go on once clicked; the cell appears at the end marked as the
agent's (its prompt reads "agent", a saved one's too), runs in the kernel, and the answer says
what it printed; the chat cell's "Undo notebook changes" then takes the cell back out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import PATIENCE_MS, RUN_CELL, notebook_page, wait_for_state, widget_at

pytestmark = pytest.mark.browser

NEWCOMER = (
    "import os\n"
    "for name in ('AGENTNB_PROVIDER', 'AGENTNB_BASE_URL', 'AGENTNB_API_KEY'):\n"
    "    os.environ.pop(name, None)  # nothing configured: the built-in server\n"
    "%load_ext agentnb"
)
ASK = "%%agent notebook_agent --notebook\nAdd a cell that runs `print(6 * 7)` please"
CELL_COUNT = "() => window.__anbPanel().content.widgets.length"
LAST_CELL = """
() => {
  const cells = window.__anbPanel().content.widgets;
  const cell = cells[cells.length - 1].model;
  return { source: cell.sharedModel.getSource(), by: cell.sharedModel.getMetadata("agentnb"),
           outputs: cell.outputs.toJSON() };
}
"""


def test_a_newcomers_notebook_agent_adds_and_runs_a_cell_each_approved(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "newcomer-agent.ipynb", [NEWCOMER, ASK]) as page:
        page.evaluate(RUN_CELL, 1)
        for tool in ("notebook_add_cell", "notebook_run_cell"):
            card = widget_at(page, 1).locator(
                f'.anb-tool[data-status="awaiting_approval"]:has-text("{tool}") .anb-approval'
            )
            card.wait_for(timeout=PATIENCE_MS)
            assert "print(6 * 7)" in card.locator(".anb-diff").inner_text()
            card.locator(".anb-approve").click()
        wait_for_state(page, 1, "Completed")
        answer = widget_at(page, 1).locator(".anb-answer").last.inner_text()
        page.screenshot(path=str(artifacts / "notebook-agent-newcomer.png"), full_page=True)
        assert "It printed:" in answer and "42" in answer, answer
        cell = page.evaluate(LAST_CELL)
        assert cell["source"] == "print(6 * 7)"
        assert cell["by"]["added_by"]
        assert cell["outputs"][0]["text"] == "42\n"
        marked = page.locator(".jp-Notebook .jp-Cell.anb-agent-cell")
        marked.wait_for(timeout=PATIENCE_MS)
        assert marked.count() == 1 and "print(6 * 7)" in marked.inner_text()
        assert (
            page.locator(".jp-Notebook .jp-Cell")
            .nth(0)
            .get_attribute("class")
            .count("anb-agent-cell")
            == 0
        )

        # the chat cell's "Undo notebook changes" takes the agent's cell back out
        widget_at(page, 1).locator(".anb-undo-notebook").click()
        page.wait_for_function(f"() => ({CELL_COUNT})() === 2", timeout=PATIENCE_MS)
        notice = widget_at(page, 1).locator(".anb-notice")
        notice.filter(has_text="Undone: removed cell").wait_for(timeout=PATIENCE_MS)
        page.screenshot(path=str(artifacts / "notebook-agent-undone.png"), full_page=True)
