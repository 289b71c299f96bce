"""An experiment's question × arm grid as a person uses it in JupyterLab and Notebook 7 on
Debian's Chromium: a cell's **Open** shows that run as a chat cell below the grid, a
question's **Compare** sets its runs side by side there instead; the grid fits its output;
reopened without a kernel the notebook shows the static grid (no widget error) whose cells
name their run. Screenshots go to test-artifacts/ (experiment-grid-*.png)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PROGRAM_PATIENCE_S
from notebook_pages import (
    PATIENCE_MS,
    SHUTDOWN_KERNEL,
    cell_at,
    notebook_page,
    open_notebook_at,
    scroll_to,
    url_of,
    widget_errors,
)

pytestmark = pytest.mark.browser

MAKE = """
import os, sys
os.environ["AGENTNB_HISTORY"] = sys.argv[1]
import agentnb
import agentnb.evals
from agentnb.server import start_server
server = start_server(delay_ms=0)
agentnb.connect("operativus", base_url=server.url_for("operativus"), api_key=server.api_key,
                name="local")
agentnb.evals.experiment("quotes", ["finance_agent", "echo"], [{"id": "nvda", "question": "What is NVDA trading at?"},
               {"id": "pair", "question": "Compare AAPL and MSFT"}], via="local", progress=False)
"""
FITS = "(el) => el.closest('.jp-OutputArea-output').scrollWidth - el.clientWidth"


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "history.sqlite3"
    subprocess.run([sys.executable, "-c", MAKE, str(path)], check=True, timeout=PROGRAM_PATIENCE_S)
    return path


def cells_for(history_file: Path) -> list[str]:
    return [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history_file)!r}\nimport agentnb, agentnb.evals",
        "agentnb.evals.experiment('quotes')",
    ]


def test_a_cells_open_shows_its_run_and_a_questions_compare_its_runs(
    browser: Any, jupyterlab: Any, history_file: Path, artifacts: Path
) -> None:
    cells = cells_for(history_file)
    with notebook_page(browser, jupyterlab, "grid.ipynb", cells, run_first=2) as page:
        grid = cell_at(page, 1).locator(".anb-grid-view")
        grid.wait_for()
        assert not cell_at(page, 1).locator(".agentnb-static").is_visible(), "the view hides it"
        assert grid.evaluate(FITS) <= 0, "the grid fits its output"
        opens = grid.locator(".anb-grid-open")
        assert opens.count() == 4 and grid.locator(".anb-grid-compare").count() == 2
        grid.screenshot(path=str(artifacts / "experiment-grid.png"))

        grid.locator("tbody tr").nth(0).locator(".anb-grid-open").nth(1).click()  # echo's run
        chat = cell_at(page, 1).locator(".agentnb .anb-message")
        chat.wait_for()
        assert chat.first.inner_text().strip() == "What is NVDA trading at?"
        grid.locator(".anb-runs-status", has_text="Opened below.").wait_for()
        scroll_to(chat.first)
        page.screenshot(path=str(artifacts / "experiment-grid-opened.png"))

        grid.locator("tbody tr").nth(1).locator(".anb-grid-compare").click()
        comparison = cell_at(page, 1).locator(".agentnb-compare")
        comparison.wait_for()
        assert cell_at(page, 1).locator(".agentnb .anb-message").count() == 0, "replaced"
        heads = comparison.locator(".agentnb-compare-table > thead th").all_inner_texts()
        assert [h.split(" · ")[0] for h in heads[1:]] == ["finance_agent", "echo"], heads
        assert "Compare AAPL and MSFT" in comparison.inner_text()
        comparison.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "experiment-grid-compared.png"))
        assert widget_errors(page.errors) == []


def test_reopened_without_a_kernel_the_static_grid_reads(
    browser: Any, jupyterlab: Any, history_file: Path, artifacts: Path
) -> None:
    name = "grid-reopened.ipynb"
    with notebook_page(browser, jupyterlab, name, cells_for(history_file), run_first=2) as page:
        cell_at(page, 1).locator(".anb-grid-view").wait_for()
        page.evaluate(SHUTDOWN_KERNEL)
        open_notebook_at(page, url_of(jupyterlab, "jupyterlab", name))
        page.wait_for_function(
            """() => [...document.querySelectorAll(".jp-OutputArea-output:not([data-mime-type])")]
                 .some((el) => el.textContent.startsWith("Error"))""",
            timeout=PATIENCE_MS,
        )
        static = cell_at(page, 1).locator(".agentnb-static .agentnb-experiment")
        static.wait_for(timeout=PATIENCE_MS)
        assert "Compare AAPL and MSFT" in static.inner_text()
        named = static.locator("td[title^='run ']")
        assert named.count() == 4, "each cell names its run for agentnb.show"
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        cell_at(page, 1).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "experiment-grid-reopened.png"))


def test_in_notebook_7_a_cells_open_shows_its_run(
    browser: Any, notebook7: Any, history_file: Path, artifacts: Path
) -> None:
    cells = cells_for(history_file)
    with notebook_page(
        browser, notebook7, "grid-seven.ipynb", cells, app="notebook7", run_first=2
    ) as page:
        grid = cell_at(page, 1).locator(".anb-grid-view")
        grid.locator("tbody tr").nth(1).locator(".anb-grid-open").first.click()
        chat = cell_at(page, 1).locator(".agentnb .anb-message")
        chat.wait_for()
        assert chat.first.inner_text().strip() == "Compare AAPL and MSFT"
        scroll_to(chat.first)
        page.screenshot(path=str(artifacts / "experiment-grid-notebook7.png"))
        assert widget_errors(page.errors) == []
