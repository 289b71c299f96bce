"""Retry and Edit of a turn that attached something, in a real JupyterLab (Playwright,
Debian's Chromium), against the built-in server's ``echo`` agent (it answers with the
message it got, so each answer shows what was sent): the turn shows the question as typed,
with what was sent to open under it; Retry sends that question again with one data block
(a literal ``@@x`` stays literal, a removed attachment stays removed), and Edit puts the
question as typed in the box, its chips read again. A screenshot goes to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import notebook_page, wait_for_state, widget_at, widget_errors

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext agentnb\nimport agentnb, pandas as pd\n"
    'df = pd.DataFrame({"region": ["north", "south"], "revenue": [10.0, 12.5]})\n'
    'cfg = {"host": "db.internal"}',
    'agentnb.chat("echo")',
]
CHAT = 1
TYPED = "Sum @df by region, not @@x or @cfg"
KEPT = "Sum @df by region, not @@x or @@cfg"  # @cfg removed in the input: kept removed
SENT = "Sum @df by region, not @x or @cfg"


def test_retry_and_edit_of_a_turn_with_df_send_what_was_typed(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "resend.ipynb", CELLS, run_first=2) as page:
        widget = widget_at(page, CHAT)
        box = widget.locator(".anb-input-text")
        chips = widget.locator(".anb-attachments")
        box.fill(TYPED)
        cfg_chip = chips.locator('.anb-attachment[data-mention="@cfg"]')
        cfg_chip.wait_for()
        cfg_chip.locator(".anb-attachment-remove").click()
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed")
        turns = widget.locator(".anb-turn")
        first = turns.first
        assert first.locator(".anb-message").inner_text() == KEPT
        sent = first.locator(".anb-sent")
        assert sent.is_visible() and sent.locator(".anb-sent-text").is_hidden()
        sent.locator("summary").click()
        assert sent.locator(".anb-sent-text").inner_text().startswith(f"{SENT}\n\n<notebook-data")

        first.locator(".anb-retry").click()
        wait_for_state(page, CHAT, "Completed", turn=1)
        retried = turns.nth(1)
        assert retried.locator(".anb-message").inner_text() == KEPT
        answer = retried.locator(".anb-answer").inner_text()
        assert answer.count("<notebook-data id=") == 1
        assert SENT in answer and "@df: pandas DataFrame, 2 rows × 2 columns" in answer
        assert "@x:" not in answer and "@cfg: dict" not in answer

        retried.locator(".anb-edit").click()
        assert box.input_value() == KEPT
        chips.locator('.anb-attachment[data-mention="@df"]').wait_for()
        assert chips.locator(".anb-attachment-name").all_inner_texts() == ["@df"]
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "attachment-resend-edit.png"))
        box.fill(KEPT + ", briefly")
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed", turn=2)
        edited = turns.nth(2)
        assert edited.locator(".anb-message").inner_text() == KEPT + ", briefly"
        answer = edited.locator(".anb-answer").inner_text()
        assert answer.count("<notebook-data id=") == 1 and SENT + ", briefly" in answer
        edited.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "attachment-resend-done.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
