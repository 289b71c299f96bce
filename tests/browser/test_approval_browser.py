"""Tool approval in a real JupyterLab, driven by Playwright with Debian's Chromium.

The built-in server's ``trader`` agent, over the ``vercel`` dialect, asks before its
``place_trade`` runs. One notebook, one kernel, run cell by cell (the tests run in file order
and share the page): ``agentnb.ask("trader", ...)`` pauses with the pending call, its
arguments and Approve / Deny on screen, and a click on Approve continues the run to the
filled demo order; a second run is denied with a reason typed from the keyboard; a
``%%agent trader`` cell is approved from the keyboard. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PAUSED,
    RUN_CELL,
    cell_at,
    notebook_page,
    wait_for_state,
    widget_at,
    widget_errors,
)

from agentnb.server import ServerHandle
from agentnb.server.agents._trader_agent import APPROVAL_REASON

pytestmark = pytest.mark.browser

NOTEBOOK = "approvals.ipynb"
SETUP, APPROVE, DENY, MAGIC = 0, 1, 2, 3
IS_ACTIVE = "(el) => el === document.activeElement"


def cells(server: ServerHandle) -> list[str]:
    return [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("vercel", base_url="{server.url_for("vercel")}", '
        f'api_key="{server.api_key}", name="trading")',
        'buy = agentnb.ask("trader", "buy 10 NVDA", via="trading")',
        'sell = agentnb.ask("trader", "sell 3 NVDA", via="trading")',
        "%%agent trader --via trading\nBuy 5 AAPL",
    ]


@pytest.fixture(scope="module")
def page(
    browser: Any, jupyterlab: Any, agent_server: ServerHandle, artifacts: Path
) -> Iterator[Any]:
    with notebook_page(
        browser,
        jupyterlab,
        NOTEBOOK,
        cells(agent_server),
        last_shot=artifacts / "approvals-last.png",
    ) as page:
        yield page


def pending_card(page: Any, index: int) -> Any:
    """Run the cell and wait until its run pauses on ``place_trade``; return its card."""
    page.evaluate(RUN_CELL, index)
    wait_for_state(page, index, PAUSED)
    card = cell_at(page, index).locator('.anb-tool[data-status="awaiting_approval"]')
    card.wait_for()
    return card


def test_approve_click_continues_the_paused_run_to_the_placed_trade(
    page: Any, artifacts: Path
) -> None:
    card = pending_card(page, APPROVE)
    widget = widget_at(page, APPROVE)
    assert card.locator(".anb-tool-name").inner_text() == "place_trade"
    assert card.locator(".anb-tool-status").inner_text() == "awaiting approval"
    arguments = card.locator(".anb-approval-call-text").inner_text()  # the call as decided on
    assert 'ticker: "NVDA"' in arguments and "shares: 10" in arguments
    assert card.locator(".anb-approval-ask").inner_text() == f"Approval needed: {APPROVAL_REASON}"
    approve = card.get_by_role("button", name="Approve place_trade: let it run")
    deny = card.get_by_role("button", name="Deny place_trade: do not run it")
    assert approve.is_visible() and approve.is_enabled() and deny.is_enabled()
    assert widget.locator(".anb-stop").is_visible(), "a paused run can still be stopped"
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "approval-pending.png"))

    approve.click()
    wait_for_state(page, APPROVE, "Completed")
    placed = widget.locator(".anb-tool", has_text="place_trade")
    assert placed.get_attribute("data-status") == "succeeded"
    assert placed.locator(".anb-approval-outcome").inner_text() == "Approved"
    # folded, its head still says a person let it run, and when
    assert (
        placed.locator(".anb-tool-status").inner_text().startswith("succeeded · approved by you ")
    )
    assert placed.locator(".anb-approve").is_hidden(), "no buttons once decided"
    assert "demo_" in placed.locator(".anb-tool-output summary").inner_text()
    assert "Placed a demo order" in widget.locator(".anb-answer").inner_text()
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "approval-approved.png"))
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


def test_deny_with_a_reason_typed_from_the_keyboard_ends_the_call_denied(
    page: Any, artifacts: Path
) -> None:
    card = pending_card(page, DENY)
    approve = card.locator(".anb-approve")
    reason = card.get_by_role("textbox", name="Reason for denying place_trade (optional)")
    # Keyboard order: Approve, the reason, Deny.
    approve.focus()
    page.keyboard.press("Tab")
    assert reason.evaluate(IS_ACTIVE)
    page.keyboard.type("too risky")
    assert reason.input_value() == "too risky", "the notebook took no keystroke"
    page.keyboard.press("Tab")
    assert card.locator(".anb-deny").evaluate(IS_ACTIVE)
    page.keyboard.press("Enter")
    wait_for_state(page, DENY, "Completed")
    widget = widget_at(page, DENY)
    denied = widget.locator(".anb-tool", has_text="place_trade")
    assert denied.get_attribute("data-status") == "denied"
    assert denied.locator(".anb-tool-status").inner_text().startswith("denied by you ")
    assert denied.locator(".anb-tool-icon").inner_text() == "⊘"
    assert denied.locator(".anb-approval-outcome").inner_text() == "Denied: too risky"
    assert "declined (too risky)" in widget.locator(".anb-answer").inner_text()
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "approval-denied.png"))
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


def test_an_agent_magic_cell_is_approved_from_the_keyboard(page: Any, artifacts: Path) -> None:
    card = pending_card(page, MAGIC)
    assert 'ticker: "AAPL"' in card.locator(".anb-approval-call-text").inner_text()
    card.locator(".anb-approve").focus()
    page.keyboard.press("Enter")
    wait_for_state(page, MAGIC, "Completed")
    widget = widget_at(page, MAGIC)
    placed = widget.locator(".anb-tool", has_text="place_trade")
    assert placed.get_attribute("data-status") == "succeeded"
    assert "Placed a demo order" in widget.locator(".anb-answer").inner_text()
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "approval-magic.png"))
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
