"""A free-form answer in a real JupyterLab, driven by Playwright with Debian's Chromium.

The built-in server's ``planner`` agent, over the ``operativus`` and ``ag-ui`` dialects (which
carry a question and its answer; AG-UI as an ``input_required`` interrupt on the ``ask_user``
call), asks where to go before it plans. The chat cell shows
the question with an answer box, Send and Deny (no Approve); an answer typed from the keyboard
and sent with Enter reaches the agent and the run finishes with it. Screenshots go to
test-artifacts/.
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
from agentnb.server.agents._planner_agent import QUESTION

pytestmark = pytest.mark.browser

NOTEBOOK = "answers.ipynb"
ASKS = {"operativus": 1, "ag-ui": 2}


def cells(server: ServerHandle) -> list[str]:
    setup = "import agentnb\n" + "\n".join(
        f'agentnb.connect("{provider}", **{server.client_settings(provider)!r}, '
        f'api_key="{server.api_key}", name="planning_{cell}")'
        for provider, cell in ASKS.items()
    )
    asks = [
        f'trip = agentnb.ask("planner", "plan a trip", via="planning_{cell}")'
        for cell in ASKS.values()
    ]
    return [setup, *asks]


@pytest.fixture(scope="module")
def page(
    browser: Any, jupyterlab: Any, agent_server: ServerHandle, artifacts: Path
) -> Iterator[Any]:
    with notebook_page(
        browser, jupyterlab, NOTEBOOK, cells(agent_server), last_shot=artifacts / "answers-last.png"
    ) as page:
        yield page


@pytest.mark.parametrize("provider", list(ASKS))
def test_an_answer_typed_in_the_chat_cell_finishes_the_run(
    page: Any, provider: str, artifacts: Path
) -> None:
    ask = ASKS[provider]
    page.evaluate(RUN_CELL, ask)
    wait_for_state(page, ask, PAUSED)
    card = cell_at(page, ask).locator('.anb-tool[data-status="awaiting_approval"]')
    card.wait_for()
    assert cell_at(page, ask).locator(".anb-tool").count() == 1, "the question is on ask_user"
    assert card.locator(".anb-approval-ask").inner_text() == f"ask_user asks: {QUESTION}"
    assert card.locator(".anb-approve").is_hidden(), "a question is answered, not approved"
    box = card.get_by_role("textbox", name="Your answer to ask_user's question")
    send = card.get_by_role("button", name="Send your answer to ask_user")
    assert box.is_visible() and send.is_enabled()
    assert card.get_by_role("button", name="Deny ask_user: do not run it").is_enabled()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"answer-pending-{provider}.png"))

    box.click()
    page.keyboard.type("Lisbon, in May")
    assert box.input_value() == "Lisbon, in May", "the notebook took no keystroke"
    page.keyboard.press("Enter")
    wait_for_state(page, ask, "Completed")
    widget = widget_at(page, ask)
    asked = widget.locator(".anb-tool", has_text="ask_user")
    assert asked.get_attribute("data-status") == "succeeded"
    assert asked.locator(".anb-approval-outcome").inner_text() == "Answered: Lisbon, in May"
    assert box.is_hidden(), "no answer box once answered"
    assert "plan for Lisbon, in May" in widget.locator(".anb-answer").inner_text()
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"answer-answered-{provider}.png"))
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
