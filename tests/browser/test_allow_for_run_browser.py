"""Allow for this run in a real JupyterLab (Playwright, Debian's Chromium): a run with
``context=True`` against a scripted agent that reads the notebook three times
(``tests/reading_agent.py``, served from the kernel) pauses at its first read with Approve,
Allow for this run and Deny, naming what the read will read; one click on Allow for
this run and the run completes, its later reads approved by that decision without another
pause. Light and dark screenshots go to test-artifacts/."""

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

TESTS = Path(__file__).resolve().parents[1]
CELLS = [
    f"import sys\nsys.path[:0] = [{str(TESTS)!r}]\n"
    "import agentnb\nfrom agentnb_testing import serving_asgi\n"
    "from reading_agent import reading_agent\n"
    "serving = serving_asgi(reading_agent)\n"
    'reader = agentnb.AgentClient("openai", base_url=serving.__enter__() + "/v1", api_key="k")\n'
    'cfg = {"host": "db.internal", "retries": 3}',
    'agentnb.ask("m", "What is in my notebook?", client=reader, context=True)',
]
READING = 1


def test_allow_for_this_run_lets_the_later_reads_pass(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "allow-for-run.ipynb", CELLS) as page:
        page.evaluate(RUN_CELL, READING)
        wait_for_state(page, READING, PAUSED)
        widget = widget_at(page, READING)
        pending = widget.locator('.anb-tool[data-status="awaiting_approval"]')
        box = pending.locator(".anb-approval")
        asked = box.locator(".anb-approval-ask").inner_text()
        assert asked.endswith("the names, types and sizes of its variables (page 1)")
        assert box.locator(".anb-approval-sends").is_hidden()  # nothing is read before
        buttons = box.locator(".anb-approval-actions button:visible")
        assert buttons.all_inner_texts() == ["Approve", "Allow for this run", "Deny"]
        for theme in THEMES:
            set_theme(page, theme)
            pending.scroll_into_view_if_needed()
            shade = "light" if theme.endswith("Light") else "dark"
            page.screenshot(path=str(artifacts / f"allow-for-run-paused-{shade}.png"))
        set_theme(page, THEMES[0])

        box.locator(".anb-approve-run").click()
        wait_for_state(page, READING, "Completed")
        cards = widget.locator(".anb-tool")
        assert cards.count() == 3
        statuses = [cards.nth(i).get_attribute("data-status") for i in range(3)]
        assert statuses == ["succeeded"] * 3
        heads = cards.locator(".anb-tool-status").all_inner_texts()
        assert all("approved by you" in head for head in heads), heads
        for theme in THEMES:
            set_theme(page, theme)
            cell_at(page, READING).scroll_into_view_if_needed()
            shade = "light" if theme.endswith("Light") else "dark"
            page.screenshot(path=str(artifacts / f"allow-for-run-done-{shade}.png"))
        set_theme(page, THEMES[0])
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
