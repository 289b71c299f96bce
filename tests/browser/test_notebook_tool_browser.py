"""A notebook tool in a real JupyterLab (Playwright, Debian's Chromium): the
README's ``%%agent finance_agent --tool position_value`` as printed (no connection set up),
then a tool that asks first, prints and returns a table: the run reads ``Paused — waiting for
your approval`` until Approve is clicked, its clock standing still while a person reads the
call, and the time and tokens per second it then shows are the kernel's, the wait left out; the
card shows the returned table, then what it printed, with their line breaks. Light and dark
screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    KERNELS_OWN_SERVER_CELL,
    PAUSED,
    RUN_CELL,
    THEMES,
    WIDGET_APPS,
    cell_at,
    notebook_page,
    run_and_wait,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

CELLS = [
    # nothing configured, as in the README (this server's kernels get a default connection)
    KERNELS_OWN_SERVER_CELL,
    "def position_value(ticker: str, shares: int) -> str:\n"
    '    """The value of my position in a stock."""\n'
    '    return f"{shares} {ticker} shares, worth ${shares * 875.4:,.2f}"',
    "%%agent finance_agent --tool position_value\nWhat is my NVDA position worth?",
    "def positions(ticker: str) -> str:\n"
    '    """The positions I hold in a stock, as a table."""\n'
    '    print(f"looking up {ticker}...")\n'
    '    return f"  ticker  shares\\n0   {ticker}      10"',
    'asked = agentnb.ask("finance_agent", "My NVDA position?",\n'
    "                    tools=[agentnb.tool(positions, approve=True)])",
    "from agentnb._display.run_text import seconds\n"
    "print(asked.run.paused_seconds >= 2, seconds(asked.run.duration),"
    ' f"{asked.run.tokens_per_second:.1f} tok/s", sep="|")',
]
README_TOOL, ASKING, FIGURES = 2, 4, 5
A_PERSON_READS_MS = 2_000
"""How long the test reads the call before approving it."""


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_a_notebook_tool_pauses_for_approval_and_its_output_reads_as_printed(
    jupyter: Any, browser: Any, app: str, artifacts: Path
) -> None:
    with notebook_page(browser, jupyter, f"tools-{app}.ipynb", CELLS, app=app, run_first=2) as page:
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
        clock = widget.locator(".anb-elapsed")
        paused_at = clock.inner_text()
        page.wait_for_timeout(A_PERSON_READS_MS)  # a person reads the call
        assert clock.inner_text() == paused_at, "the agent's clock stands still while you read"
        pending.locator(".anb-approve").click()
        wait_for_state(page, ASKING, "Completed")
        run_and_wait(page, FIGURES)
        printed = cell_at(page, FIGURES).locator(".jp-OutputArea-output").inner_text()
        waited, took, rate = printed.strip().split("|")
        assert waited == "True", printed
        # the kernel's figures, the wait left out (tests/notebook/test_notebook_tool_output.py)
        assert (clock.inner_text(), widget.locator(".anb-tps").inner_text()) == (took, rate)
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
