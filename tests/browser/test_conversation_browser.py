"""Retry, Edit and Continue in JupyterLab (light, its cells shot in
dark too), clicked on a real kernel, checked on what the agents of the built-in server (in
this process) received:

- a chat on a dialect that forks (``vercel``): Retry and Edit of the second turn are given
  the thread before it, token for token; no note beside them;
- a chat on one that cannot (``seekrflow``, the kernel's default): the note beside Retry says
  so before anything is sent;
- an opened past run: "Continue this conversation" (pressed with Enter, which stays in the
  cell) opens the input box, and the next message goes on the run's thread on its connection;
  a past run that cannot go on says why in place of the button.

Screenshots go to test-artifacts/ (conversation-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    NOTEBOOK_STATE,
    THEMES,
    WIDGET_APPS,
    cell_at,
    notebook_page,
    run_and_wait,
    set_theme,
    setup_cell,
    wait_for_state,
    widget_errors,
)

from agentnb.server import ServerHandle
from agentnb.server._run_log import RunLog

pytestmark = pytest.mark.browser


def asked(server: ServerHandle, message: str) -> list[RunLog]:
    return [log for log in server.app.state.agentnb.runs.all() if log.request.message == message]


def contents(log: RunLog) -> list[str]:
    return [m.content for m in log.request.history]


def send(cell: Any, text: str) -> None:
    box = cell.locator(".anb-input-text")
    box.click()
    box.fill(text)
    box.press("Enter")


def shoot(page: Any, cell: Any, artifacts: Path, name: str) -> None:
    cell.scroll_into_view_if_needed()
    cell.screenshot(path=str(artifacts / f"conversation-{name}.png"))


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_retry_edit_and_continue(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    shade = f"light-{app}"
    tag = f"({shade})"
    graphs = (
        f'agentnb.connect("langgraph", base_url="{agent_server.url_for("langgraph")}", '
        f'api_key="{agent_server.api_key}", name="graphs")'
    )
    cells = [
        setup_cell(agent_server) + "\n" + graphs,
        'forks = agentnb.chat("echo", via="trading", followups=False)',
        'stays = agentnb.chat("echo", followups=False)',
        f'past = agentnb.ask("echo", "remember kiwi {tag}", via="graphs", wait=True, '
        "display=False)\nagentnb.show(past.run.local_id)",
        f'lost = agentnb.ask("echo", "forget me {tag}", via="trading", wait=True, display=False)'
        f'\nagentnb.connect("vercel", base_url="{agent_server.url_for("vercel")}", '
        f'api_key="{agent_server.api_key}", name="trading")\nagentnb.show(lost.run.local_id)',
    ]
    with notebook_page(browser, jupyter, f"conversation_{shade}.ipynb", cells, app=app) as page:
        set_theme(page, THEMES[0])

        # a dialect that forks: Retry and Edit replace the second turn
        run_and_wait(page, 1)
        cell = cell_at(page, 1)
        first_q, second_q = f"first {tag}", f"second {tag}"
        send(cell, first_q)
        wait_for_state(page, 1, "Completed")
        send(cell, second_q)
        wait_for_state(page, 1, "Completed", turn=1)
        turns = cell.locator(".anb-turn")
        assert turns.nth(1).locator(".anb-retry-note").is_hidden()
        turns.nth(1).locator(".anb-retry").click()
        wait_for_state(page, 1, "Completed", turn=2)
        original, again = asked(agent_server, second_q)
        assert contents(again) == contents(original) == [first_q, first_q]
        again_usage, original_usage = again.usage(), original.usage()
        assert again_usage is not None and original_usage is not None
        assert again_usage.prompt_tokens == original_usage.prompt_tokens
        shown = [turns.nth(t).locator(".anb-tokens").inner_text() for t in (1, 2)]
        assert shown[0] == shown[1] and shown[0], "the cell shows the same prompt, too"
        turns.nth(2).locator(".anb-edit").click()
        edited_q = f"second, edited {tag}"
        box = cell.locator(".anb-input-text")
        box.fill(edited_q)
        box.press("Enter")
        wait_for_state(page, 1, "Completed", turn=3)
        [edited] = asked(agent_server, edited_q)
        assert contents(edited) == [first_q, first_q]
        assert turns.nth(3).locator(".anb-started-as").inner_text() == "edited"
        shoot(page, cell, artifacts, f"fork-{shade}")

        # a dialect that cannot fork: the note is there before Retry is used
        run_and_wait(page, 2)
        cell = cell_at(page, 2)
        send(cell, f"one {tag}")
        wait_for_state(page, 2, "Completed")
        send(cell, f"two {tag}")
        wait_for_state(page, 2, "Completed", turn=1)
        note = cell.locator(".anb-turn").nth(1).locator(".anb-retry-note")
        assert note.is_visible()
        assert "the earlier attempt stays in it" in note.inner_text()
        # the default connection, set up from AGENTNB_PROVIDER: named by its dialect
        assert "SeekrFlow keeps the conversation on its side" in note.inner_text()
        shoot(page, cell, artifacts, f"no-fork-{shade}")

        # an opened past run goes on: Enter on the control stays in the cell
        run_and_wait(page, 3)
        cell = cell_at(page, 3)
        control = cell.locator(".anb-continue-button")
        control.wait_for()
        assert cell.locator(".anb-input-text").count() == 0
        shoot(page, cell, artifacts, f"past-{shade}")
        before = page.evaluate(NOTEBOOK_STATE, 3)
        control.focus()
        page.keyboard.press("Enter")
        box = cell.locator(".anb-input-text")
        box.wait_for()
        page.wait_for_function("() => document.activeElement?.classList.contains('anb-input-text')")
        assert page.evaluate(NOTEBOOK_STATE, 3) == before, "Enter reached the notebook"
        follow_q = f"which fruit? {tag}"
        box.type(follow_q)
        box.press("Enter")
        wait_for_state(page, 3, "Completed", turn=1)
        [log] = asked(agent_server, follow_q)
        assert contents(log) == [f"remember kiwi {tag}"] * 2  # the run's own thread
        caption = cell.locator(".anb-turn").nth(1).locator(".anb-started-as")
        assert caption.inner_text() == "continued"
        shoot(page, cell, artifacts, f"continued-{shade}")

        # a past run that cannot go on says why, up front
        run_and_wait(page, 4)
        cell = cell_at(page, 4)
        why = cell.locator(".anb-continue-note")
        why.wait_for()
        assert "this kernel does not hold thread" in why.inner_text()
        assert cell.locator(".anb-continue-button").is_hidden()
        shoot(page, cell, artifacts, f"cannot-{shade}")
        if app == "jupyterlab":  # the same cells in the dark theme, as they ended
            set_theme(page, THEMES[1])
            for index, shot in enumerate(["fork", "no-fork", "continued", "cannot"], start=1):
                shoot(page, cell_at(page, index), artifacts, f"{shot}-dark-{app}")
        assert widget_errors(page.errors) == []
