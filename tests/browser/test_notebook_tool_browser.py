"""A notebook tool in a real JupyterLab and Notebook 7 (Playwright, Debian's Chromium): the
README's ``%%agent finance_agent --tool position_value`` as printed (no connection set up),
then a tool that asks first, prints and returns a table: the run reads ``Paused — waiting for
your approval`` until Approve is clicked, and the card shows the returned table, then what it
printed, with their line breaks. Light and dark screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PAUSED,
    RUN_CELL,
    THEMES,
    cell_at,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

CELLS = [
    # nothing configured, as in the README (this server's kernels get a default connection)
    "import os\nfor key in [k for k in os.environ if k.startswith('AGENTNB_')"
    " and k != 'AGENTNB_HISTORY']:\n    del os.environ[key]\n%load_ext agentnb\nimport agentnb",
    "def position_value(ticker: str, shares: int) -> str:\n"
    '    """The value of my position in a stock."""\n'
    '    return f"{shares} {ticker} shares, worth ${shares * 875.4:,.2f}"',
    "%%agent finance_agent --tool position_value\nWhat is my NVDA position worth?",
    "def positions(ticker: str) -> str:\n"
    '    """The positions I hold in a stock, as a table."""\n'
    '    print(f"looking up {ticker}...")\n'
    '    return f"  ticker  shares\\n0   {ticker}      10"',
    'agentnb.ask("finance_agent", "My NVDA position?",\n'
    "            tools=[agentnb.tool(positions, approve=True)])",
]
README_TOOL, ASKING = 2, 4


@pytest.mark.parametrize("app", ["jupyterlab", "notebook7"])
def test_a_notebook_tool_pauses_for_approval_and_its_output_reads_as_printed(
    request: pytest.FixtureRequest, browser: Any, app: str, artifacts: Path
) -> None:
    server = request.getfixturevalue(app)
    with notebook_page(browser, server, f"tools-{app}.ipynb", CELLS, app=app, run_first=2) as page:
        page.evaluate(RUN_CELL, README_TOOL)
        wait_for_state(page, README_TOOL, "Completed")
        card = widget_at(page, README_TOOL).locator(".anb-tool", has_text="position_value")
        assert card.get_attribute("data-status") == "succeeded"
        assert "in your notebook" in card.locator(".anb-tool-status").inner_text()

        page.evaluate(RUN_CELL, ASKING - 1)
        page.evaluate(RUN_CELL, ASKING)
        wait_for_state(page, ASKING, PAUSED)
        widget = widget_at(page, ASKING)
        pending = widget.locator('.anb-tool[data-status="awaiting_approval"]')
        pending.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"notebook-tool-paused-{app}.png"))
        pending.locator(".anb-approve").click()
        wait_for_state(page, ASKING, "Completed")
        done = widget.locator(".anb-tool", has_text="positions")
        if done.get_attribute("data-folded") == "true":
            done.locator(".anb-tool-fold").click()
        done.locator(".anb-tool-output summary").click()
        output = done.locator(".anb-tool-output pre").inner_text()
        assert output == "  ticker  shares\n0   NVDA      10\n\nPrinted:\nlooking up NVDA...\n"
        for theme in THEMES:
            set_theme(page, theme)
            cell_at(page, ASKING).scroll_into_view_if_needed()
            shade = "light" if theme.endswith("Light") else "dark"
            page.screenshot(path=str(artifacts / f"notebook-tool-output-{app}-{shade}.png"))
        set_theme(page, THEMES[0])
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
