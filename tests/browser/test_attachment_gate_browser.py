"""What a ``%%agent`` cell attaches waits for the person's decision in a real JupyterLab
(Playwright, Debian's Chromium): ``@df`` in the cell pauses the run before anything is sent,
its approval card naming the mention and showing the summary that would go; one click on
Approve and the message goes with it ("As sent" shows only then), the run completes, the
card saying who let it go; Deny, and nothing goes: the run
ends as the person decided, no red failure box. Light and dark screenshots go to
test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PAUSED,
    RUN_CELL,
    THEMES,
    WIDGET_APPS,
    cell_at,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext agentnb\nimport agentnb, pandas as pd\n"
    "agentnb.context.configure(ask_first=True)\n"
    'df = pd.DataFrame({"region": ["north", "south"], "revenue": [1.5, 2.5]})',
    "%%agent finance_agent\nWhy is @df short?",
    "%%agent finance_agent\nAnd @df again?",
]
ASKING, DENYING = 1, 2


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_approve_on_the_attachment_card_sends_the_message_with_it(
    app: str, browser: Any, jupyter: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyter, f"attachment-gate-{app}.ipynb", CELLS, app=app) as page:
        page.evaluate(RUN_CELL, ASKING)
        wait_for_state(page, ASKING, PAUSED)
        widget = widget_at(page, ASKING)
        pending = widget.locator('.anb-tool[data-status="awaiting_approval"]')
        assert pending.locator(".anb-tool-name").inner_text() == "attach"
        box = pending.locator(".anb-approval")
        asked = box.locator(".anb-approval-ask").inner_text()
        assert asked == "Approval needed: attaches to the message, sent once approved: @df"
        sends = box.locator(".anb-approval-sends").inner_text()
        assert sends.startswith("@df: pandas DataFrame, 2 rows × 2 columns"), sends
        buttons = box.locator(".anb-approval-actions button:visible")
        assert buttons.all_inner_texts() == ["Approve", "Allow for this run", "Deny"]
        assert widget.locator(".anb-answer").count() == 0  # nothing came back: nothing went
        assert widget.locator(".anb-sent").is_hidden()  # nor is anything "As sent" yet
        for theme in THEMES:
            set_theme(page, theme)
            pending.scroll_into_view_if_needed()
            shade = "light" if theme.endswith("Light") else "dark"
            page.screenshot(path=str(artifacts / f"attachment-gate-paused-{app}-{shade}.png"))
        set_theme(page, THEMES[0])

        box.get_by_role("button", name="Approve attach: let it run").click()
        wait_for_state(page, ASKING, "Completed")
        attached = widget.locator(".anb-tool", has_text="attach").first
        assert attached.get_attribute("data-status") == "succeeded"
        assert "approved by you" in attached.locator(".anb-tool-status").inner_text()
        assert widget.locator(".anb-answer").inner_text().strip() != ""
        assert widget.locator(".anb-sent summary").inner_text() == "As sent"  # now it went
        cell_at(page, ASKING).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"attachment-gate-approved-{app}.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


def test_deny_on_the_attachment_card_sends_nothing_and_is_the_persons_decision(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "attachment-deny.ipynb", CELLS) as page:
        page.evaluate(RUN_CELL, DENYING)
        wait_for_state(page, DENYING, PAUSED)
        widget = widget_at(page, DENYING)
        widget.locator(".anb-approval").get_by_role(
            "button", name="Deny attach: do not run it"
        ).click()
        wait_for_state(page, DENYING, "Completed · ended at your denial of attach")
        assert widget.locator(".anb-error:visible").count() == 0  # no red failure box
        card = widget.locator(".anb-tool", has_text="attach").first
        assert card.get_attribute("data-status") == "denied"
        assert "denied by you" in card.locator(".anb-tool-status").inner_text()
        assert widget.locator(".anb-answer").count() == 0  # nothing went, nothing came back
        cell_at(page, DENYING).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "attachment-gate-denied.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
