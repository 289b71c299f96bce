"""A notebook tool's figure and table in a real JupyterLab (Playwright, Debian's Chromium): a
tool returning a matplotlib figure shows the figure (a decoded PNG) in its card, one returning
a DataFrame shows its table, with what the DataFrame's HTML carried beyond the answer's
allow-list (its ``<style>``, a value's markup) gone; the agent got the text form. Light and
dark screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    KERNELS_OWN_SERVER_CELL,
    RUN_CELL,
    THEMES,
    cell_at,
    notebook_page,
    scroll_to,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

CELLS = [
    # the kernels' own built-in server, which calls a notebook's tools
    KERNELS_OWN_SERVER_CELL,
    "from matplotlib.figure import Figure\nimport pandas as pd\n\n"
    "def price_chart(ticker: str) -> Figure:\n"
    '    """A chart of a stock\'s price this week."""\n'
    "    figure = Figure(figsize=(4, 2.4))\n"
    "    axes = figure.subplots()\n"
    "    axes.plot(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], [871.2, 880.1, 868.4, 875.9, 875.4])\n"
    "    axes.set_title(f'{ticker} this week')\n"
    "    axes.set_ylabel('USD')\n"
    "    return figure\n\n"
    "def holdings(ticker: str) -> pd.DataFrame:\n"
    '    """The shares I hold, as a table."""\n'
    "    return pd.DataFrame({'ticker': [ticker, '<b>MSFT</b>'], 'shares': [10, 4],"
    " 'value': [8754.0, 1710.4]})",
    'agentnb.ask("finance_agent", "Chart NVDA for me", tools=[price_chart])',
    'agentnb.ask("finance_agent", "What do I hold in NVDA?", tools=[holdings])',
]
CHART, TABLE = 2, 3
DECODED = "(img) => img.complete && img.naturalWidth > 100 && img.naturalHeight > 50"


def test_a_tool_s_figure_and_table_show_in_the_card_in_light_and_dark(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "rich-tools.ipynb", CELLS, run_first=2) as page:
        page.evaluate(RUN_CELL, CHART)
        wait_for_state(page, CHART, "Completed")
        chart = widget_at(page, CHART).locator(".anb-tool", has_text="price_chart")
        image = chart.locator(".anb-tool-shown img")
        image.wait_for()
        page.wait_for_function(DECODED, arg=image.element_handle())
        assert image.get_attribute("src").startswith("data:image/png;base64,")  # type: ignore[union-attr]
        assert "Figure" in chart.locator(".anb-tool-output pre").inner_text(), "the agent's text"

        page.evaluate(RUN_CELL, TABLE)
        wait_for_state(page, TABLE, "Completed")
        table = widget_at(page, TABLE).locator(".anb-tool-html table")
        scroll_to(table)  # the notebook lays out only the cells in sight
        rows = table.locator("tr").all_inner_texts()
        assert [row.split() for row in rows] == [
            ["ticker", "shares", "value"],
            ["0", "NVDA", "10", "8754.0"],
            ["1", "<b>MSFT</b>", "4", "1710.4"],
        ], "a value's markup shows as its text"
        assert widget_at(page, TABLE).locator(".anb-tool-html style, .anb-tool-html b").count() == 0

        for theme in THEMES:
            set_theme(page, theme)
            shade = "light" if theme.endswith("Light") else "dark"
            for index, name in ((CHART, "figure"), (TABLE, "table")):
                scroll_to(widget_at(page, index).locator(".anb-tool-shown"))
                cell_at(page, index).screenshot(
                    path=str(artifacts / f"tool-rich-{name}-lab-{shade}.png")
                )
        set_theme(page, THEMES[0])
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
