"""The front page's picture of the chat cell, taken from a real run: ``%%agent finance_agent
--followups`` against the built-in server in JupyterLab (light theme, Debian's Chromium). The
test checks that the picture shows what the README says it shows (reasoning, both tool cards,
the answer with its table, the follow-up chips, the status line), then photographs the cell's
output to ``test-artifacts/chat-cell.png``; with ``AGENTNB_DOCS_SCREENSHOTS=1`` also to
``docs/img/chat-cell.png`` (the README's and the docs site's picture).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    RUN_CELL,
    cell_at,
    notebook_page,
    run_and_wait,
    set_theme,
    wait_for_final_view,
    widget_errors,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "picture.ipynb"
QUESTION = "What is NVDA trading at, and how did it move this week?"
CELLS = ["%load_ext agentnb", f"%%agent finance_agent --followups\n{QUESTION}"]
ASK = 1
DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "chat-cell.png"


@pytest.fixture(scope="module")
def page(browser: Any, jupyterlab: Any, artifacts: Path) -> Iterator[Any]:
    with notebook_page(browser, jupyterlab, NOTEBOOK, CELLS, run_first=0, width=1100) as page:
        set_theme(page, "JupyterLab Light")
        run_and_wait(page, 0)
        yield page


def test_the_chat_cell_picture_shows_a_whole_finance_run(page: Any, artifacts: Path) -> None:
    page.evaluate(RUN_CELL, ASK)
    wait_for_final_view(page, ASK, "NVDA")
    cell = cell_at(page, ASK)
    widget = cell.locator(".agentnb")
    widget.locator(".anb-followups .anb-chip").first.wait_for()
    assert widget.locator(".anb-tool-name").all_inner_texts() == ["get_stock_price", "calculator"]
    assert widget.locator(".anb-answer table").count() >= 1
    assert widget.locator(".anb-reasoning").count() >= 1
    assert "tokens" in widget.locator(".anb-tokens").inner_text()
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "true"
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    cell.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = artifacts / "chat-cell.png"
    cell.screenshot(path=str(shot))
    if os.environ.get("AGENTNB_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMAGE)
