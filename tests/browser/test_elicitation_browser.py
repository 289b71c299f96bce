"""An MCP server's question in the middle of a call, answered from the chat cell's card in a
real JupyterLab (Playwright, Debian's Chromium): a server written with the
``mcp`` SDK (tests/mcp/elicit_server.py) asks for a date and a number of seats; the call's
card shows the form (its fields typed: a text box, a number box bounded 1 to 9, both
required), the browser refuses a number out of bounds, and the answer submitted reaches the
server, whose result the agent reads. A form titled with markup and a bidi override shows
them as text, and says how many more fields it does not show; a link to open shows its host
and is declined. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp_servers import server_command
from notebook_pages import (
    RUN_CELL,
    WIDGET_APPS,
    calling_cell,
    cell_at,
    mcp_cells,
    notebook_page,
    scroll_to,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser


def asked(tool: str) -> str:
    """A cell whose run's agent calls ``travel__<tool>``."""
    return calling_cell("travel", f"travel__{tool}", f"book {tool}", bound="run = ")


CELLS = [
    *mcp_cells("travel", server_command("elicit_server.py")),
    asked("book"),
    asked("preferences"),
    asked("pay"),
]
BOOK, PREFERENCES, PAY = 2, 3, 4


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_a_server_s_form_is_answered_from_the_card(
    app: str, browser: Any, jupyter: Any, artifacts: Path
) -> None:
    with notebook_page(
        browser, jupyter, f"elicit-{app}.ipynb", CELLS, run_first=2, app=app
    ) as page:
        page.evaluate(RUN_CELL, BOOK)
        question = widget_at(page, BOOK).locator(".anb-question")
        question.wait_for()
        scroll_to(question)
        assert question.locator(".anb-question-message").inner_text() == (
            "Which date and how many seats for NVDA?"
        )
        labels = question.locator(".anb-question-label").all_inner_texts()
        assert labels == ["<b>Date</b> of travel *", "Seats *"], "markup shows as its text"
        assert question.locator("b").count() == 0
        date = question.locator("input").nth(0)
        seats = question.locator('input[type="number"]')
        assert (seats.get_attribute("min"), seats.get_attribute("max")) == ("1", "9")
        date.fill("2026-12-01")
        seats.fill("12")
        question.get_by_role("button", name="Submit").click()
        assert seats.evaluate("(el) => el.validity.rangeOverflow"), "the browser refused 12"
        assert question.is_visible(), "nothing was sent"
        seats.fill("3")
        cell_at(page, BOOK).screenshot(path=str(artifacts / f"elicit-form-{app}.png"))
        question.get_by_role("button", name="Submit").click()
        wait_for_state(page, BOOK, "Completed")
        card = widget_at(page, BOOK).locator(".anb-tool", has_text="travel__book")
        assert question.is_hidden(), "the card's question goes once answered"
        assert (
            "accepted {'date': '2026-12-01', 'seats': 3}"
            in card.locator(".anb-tool-output pre").inner_text()
        )
        cell_at(page, BOOK).screenshot(path=str(artifacts / f"elicit-answered-{app}.png"))

        page.evaluate(RUN_CELL, PREFERENCES)
        hostile = widget_at(page, PREFERENCES).locator(".anb-question")
        hostile.wait_for()
        scroll_to(hostile)
        first = hostile.locator(".anb-question-label").first.inner_text()
        assert first == "<img src=x onerror=alert(1)>⟨U+202E⟩evil 0"
        assert hostile.locator("img").count() == 0
        assert hostile.locator(".anb-question-field").count() == 20
        assert hostile.locator(".anb-question-hidden").inner_text() == (
            "10 more fields not shown (optional: left empty)"
        )
        cell_at(page, PREFERENCES).screenshot(path=str(artifacts / f"elicit-hostile-{app}.png"))
        hostile.get_by_role("button", name="Cancel").click()
        wait_for_state(page, PREFERENCES, "Completed")
        output = widget_at(page, PREFERENCES).locator(".anb-tool-output pre").inner_text()
        assert "cancelled" in output

        page.evaluate(RUN_CELL, PAY)
        link = widget_at(page, PAY).locator(".anb-question")
        link.wait_for()
        scroll_to(link)
        assert link.locator(".anb-question-host").inner_text() == (
            "Opens a page on pay.example.com"
        )
        assert link.locator(".anb-question-url").inner_text() == (
            "https://pay.example.com/checkout/42"
        )
        assert link.locator("a").count() == 0, "no link to follow by accident"
        cell_at(page, PAY).screenshot(path=str(artifacts / f"elicit-link-{app}.png"))
        link.get_by_role("button", name="Decline").click()
        wait_for_state(page, PAY, "Completed")
        assert "declined" in widget_at(page, PAY).locator(".anb-tool-output pre").inner_text()
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
