"""An MCP tool's rich result in a real JupyterLab (Playwright, Debian's Chromium): a server
written with the ``mcp`` SDK (tests/mcp/rich_server.py) returns an image and a table, and the
call's card shows the image (decoded) and the table; another returns a tree, shown as
collapsible ``<details>``; markup the server put where text goes shows as its text. Light and
dark screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp_servers import server_command
from notebook_pages import (
    RUN_CELL,
    THEMES,
    calling_cell,
    cell_at,
    mcp_cells,
    notebook_page,
    scroll_to,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser


def asked(tool: str) -> str:
    """A cell whose run's agent calls ``rich__<tool>``."""
    return calling_cell("rich", f"rich__{tool}", f"Show me {tool}")


CELLS = [
    *mcp_cells("rich", server_command("rich_server.py")),
    asked("report"),
    asked("nested"),
    asked("hostile"),
]
REPORT, TREE, HOSTILE = 2, 3, 4
DECODED = "(img) => img.complete && img.naturalWidth === 64 && img.naturalHeight === 32"


def test_an_mcp_tool_s_image_table_and_tree_show_in_the_card(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "mcp-rich.ipynb", CELLS, run_first=2) as page:
        page.evaluate(RUN_CELL, REPORT)
        wait_for_state(page, REPORT, "Completed")
        card = widget_at(page, REPORT).locator(".anb-tool", has_text="rich__report")
        image = card.locator(".anb-tool-html img")
        image.wait_for()
        scroll_to(image)
        page.wait_for_function(DECODED, arg=image.element_handle())
        rows = card.locator(".anb-tool-html table tr").all_inner_texts()
        assert [row.split() for row in rows] == [
            ["ticker", "close"],
            ["NVDA", "875.4"],
            ["AAPL", "229.87"],
        ]
        assert "the report" in card.locator(".anb-tool-output pre").inner_text()

        page.evaluate(RUN_CELL, TREE)
        wait_for_state(page, TREE, "Completed")
        tree = widget_at(page, TREE).locator(".anb-tool-html details").first
        scroll_to(tree)
        assert tree.get_attribute("open") is not None, "the top level is open"
        inner = tree.locator("details", has_text="quote")
        assert inner.get_attribute("open") is None, "the levels under it are closed"
        inner.locator("summary").first.click()
        assert "875.4" in inner.inner_text()

        page.evaluate(RUN_CELL, HOSTILE)
        wait_for_state(page, HOSTILE, "Completed")
        hostile = widget_at(page, HOSTILE).locator(".anb-tool-html")
        scroll_to(hostile)
        assert "<script>alert(2)</script>" in hostile.inner_text()
        assert hostile.locator("script, img, b").count() == 0
        link = hostile.locator("a")
        assert link.get_attribute("onmouseover") is None
        assert link.get_attribute("rel") == "noopener noreferrer nofollow"

        for theme in THEMES:
            set_theme(page, theme)
            shade = "light" if theme.endswith("Light") else "dark"
            for index, name in ((REPORT, "report"), (TREE, "tree")):
                scroll_to(widget_at(page, index).locator(".anb-tool-shown"))
                cell_at(page, index).screenshot(
                    path=str(artifacts / f"mcp-rich-{name}-lab-{shade}.png")
                )
        set_theme(page, THEMES[0])
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
