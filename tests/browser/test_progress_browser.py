"""A batch's progress bar in Notebook 7 on Debian's Chromium: live, the bar shows and its
static copy does not; the notebook saved and reopened without its kernel's widgets shows the
copy (the bar's last counts) where the bar was, and no "Error displaying widget". Screenshots
go to test-artifacts/ (progress-*.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PATIENCE_MS,
    SHUTDOWN_KERNEL,
    cell_at,
    notebook_page,
    open_notebook_at,
    url_of,
    widget_errors,
)

pytestmark = pytest.mark.browser

CELLS = [
    "import os\nos.environ['AGENTNB_HISTORY'] = 'off'\nimport agentnb",
    "results = agentnb.batch('echo', ['Is NVDA up?', 'And AAPL?'])",
]
SHOWN = """
(cell) => [...cell.querySelectorAll(".jp-OutputArea-child")]
  .filter((child) => getComputedStyle(child).display !== "none")
  .map((child) => child.innerText.trim())
"""


def test_a_reopened_notebook_shows_the_batchs_progress_as_text(
    browser: Any, notebook7: Any, artifacts: Path
) -> None:
    name = "batch-progress.ipynb"
    shot = artifacts / "progress-last.png"
    with notebook_page(
        browser, notebook7, name, CELLS, app="notebook7", run_first=2, last_shot=shot
    ) as page:
        live = cell_at(page, 1)
        page.wait_for_function(
            "(cell) => cell.innerText.includes('2/2 runs')", arg=live.element_handle()
        )
        shown = live.evaluate(SHOWN)
        assert len(shown) == 1 and "batch echo: 2/2 runs" in shown[0], shown  # the bar alone
        assert live.locator(".jupyter-widgets").count() > 0, "the live bar is the widget"
        page.screenshot(path=str(artifacts / "progress-live.png"))
        page.evaluate(SHUTDOWN_KERNEL)
        open_notebook_at(page, url_of(notebook7, "notebook7", name))
        reopened = cell_at(page, 1)
        reopened.locator(".agentnb-progress").wait_for(timeout=PATIENCE_MS)
        page.wait_for_function(  # the widget manager gives up on the missing model
            """() => [...document.querySelectorAll(".jp-OutputArea-output:not([data-mime-type])")]
                 .some((el) => el.textContent.startsWith("Error"))""",
            timeout=PATIENCE_MS,
        )
        shown = reopened.evaluate(SHOWN)
        assert len(shown) == 1 and shown[0].startswith("batch echo: 2/2 runs"), shown
        assert "Error displaying widget" not in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "progress-reopened.png"))
        assert widget_errors(page.errors) == []
