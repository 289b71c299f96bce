"""Keys typed in a chat cell stay in it, in a real marimo notebook server (``marimo edit``),
driven by Playwright with Debian's Chromium.

marimo binds keys on its page: Shift+Enter runs the cell and makes a new one below,
Ctrl+Enter runs it, Ctrl+Shift+J/K go to the next/previous cell, Ctrl+Shift+O/P create cells,
Ctrl+K opens the command palette, Ctrl+I interrupts the kernel, Esc leaves a cell for its
command mode, whose letters create, copy, cut and paste cells. Each of them is typed into
every input of the chat cell (the question box of ``agentnb.chat``, an approval's reason box,
the answer box of an agent's question): the text stays in the box (Shift+Enter a new line),
no cell runs, moves or appears, no palette or panel opens, no key reaches the page, and Enter
then sends, and so does Ctrl+Enter (the box's own send key, not marimo's "run"). Screenshots go to test-artifacts/ (marimo-keys-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PAUSED,
    RECORD_ESCAPED,
    RUN_ALL,
    new_marimo_page,
    serve_marimo,
    wait_for_chat_state,
)

from agentnb.server import ServerHandle

pytest.importorskip("marimo", reason="needs marimo (the dev extra) to serve a marimo notebook")

pytestmark = pytest.mark.browser

# marimo's own bindings (its keyboard-shortcuts list, "Mod" being Control here), then the
# command-mode letters; Shift+Backspace ("delete cell") and Ctrl+Z stay the box's own edits.
# Ctrl+Enter ("run the cell" in marimo) is the box's send key: each test sends with it.
MARIMO_KEYS = [
    "Control+Shift+Enter",
    "Alt+Enter",
    "Control+Shift+k",
    "Control+Shift+j",
    "Control+Shift+o",
    "Control+Shift+p",
    "Control+Shift+9",
    "Control+Shift+0",
    "Control+k",
    "Control+j",
    "Control+i",
    "Control+Period",
    "Control+Shift+h",
    "Control+Shift+r",
    "Control+Shift+f",
    "Control+Shift+g",
    "Control+p",
    "Control+h",
    "Escape",
    "a",
    "b",
    "c",
    "x",
    "v",
    "d",
    "d",
    "Escape",
]
TYPED_LETTERS = "abcxvdd"  # the command-mode letters above, typed as text

SETUP = """
import marimo

app = marimo.App(width="medium")


@app.cell
def _():
    import agentnb

    agentnb.connect("vercel", base_url={trading!r}, api_key={key!r}, name="trading")
    agentnb.connect("operativus", base_url={planning!r}, api_key={key!r}, name="planning")
    return (agentnb,)


@app.cell
def _(agentnb):
    chat = agentnb.chat("echo")
    return (chat,)


@app.cell
def _(agentnb):
    trade = agentnb.ask("trader", "buy 10 NVDA", via="trading")
    return (trade,)


@app.cell
def _(agentnb):
    trip = agentnb.ask("planner", "plan a trip", via="planning")
    return (trip,)


if __name__ == "__main__":
    app.run()
"""

# What a leaked key would change: cells added, deleted or moved (their order by content),
# a palette, panel or dialog open, the app view on, the focus out of the box.
PAGE_STATE = """
() => {
  const cells = [...document.querySelectorAll(".marimo-cell")];
  const host = document.activeElement;
  const inner = host && host.shadowRoot ? host.shadowRoot.activeElement : null;
  return {
    cells: cells.length,
    order: cells.map((cell) => cell.textContent.slice(0, 40)).join("|"),
    dialogs: document.querySelectorAll("[role=dialog], [role=alertdialog], [cmdk-root]").length,
    focus: inner ? inner.className : (host ? host.tagName + "." + host.className : ""),
  };
}
"""


def notebook_source(agent_server: ServerHandle) -> str:
    return SETUP.format(
        trading=agent_server.url_for("vercel"),
        planning=agent_server.client_settings("operativus")["base_url"],
        key=agent_server.api_key,
    )


@pytest.fixture(scope="module", params=["light", "dark"])
def page(
    browser: Any,
    agent_server: ServerHandle,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """The notebook in ``marimo edit`` (in marimo's light, then dark theme), every cell run."""
    base = tmp_path_factory.mktemp("marimo-keys")
    source = base / "source" / "keys.py"
    source.parent.mkdir()
    source.write_text(notebook_source(agent_server))
    theme = f'[display]\ntheme = "{request.param}"\n'
    with serve_marimo("edit", agent_server, base, source=source, config=theme) as url:
        context, page, errors = new_marimo_page(browser)
        page.goto(url)
        page.locator(".marimo-cell.needs-run").first.wait_for()
        page.locator(RUN_ALL).click()
        page.evaluate(RECORD_ESCAPED)
        page.errors = errors  # type: ignore[attr-defined]
        page.theme = request.param  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()


def chat_in_cell(page: Any, index: int) -> Any:
    return page.locator(".marimo-cell").nth(index).locator(".agentnb").first


def press_marimo_keys(page: Any, box: Any) -> dict[str, Any]:
    """Every marimo key in ``box``, checking after each that the page did not change."""
    before = page.evaluate(PAGE_STATE)
    for key in MARIMO_KEYS:
        box.press(key)
        assert page.evaluate(PAGE_STATE) == before, f"{key} reached marimo"
    assert page.evaluate("() => window.__anbEscaped") == []
    return before


def test_the_question_box_keeps_every_marimo_key(page: Any, artifacts: Path) -> None:
    chat = chat_in_cell(page, 1)
    box = chat.locator(".anb-input-text")
    box.click()
    box.type("first question")
    box.press("Enter")
    wait_for_chat_state(chat, "Completed")

    box.click()
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two ")
    press_marimo_keys(page, box)
    assert box.input_value() == f"line one\nline two {TYPED_LETTERS}", box.input_value()
    assert chat.locator(".anb-turn").count() == 1, "the cell did not run again"
    page.screenshot(path=str(artifacts / f"marimo-keys-question-{page.theme}.png"))
    box.press("Control+Enter")
    wait_for_chat_state(chat, "Completed", turn=1)
    turns = chat.locator(".anb-turn")
    assert turns.count() == 2
    assert turns.nth(1).locator(".anb-message").inner_text().startswith("line one\nline two")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_approval_reason_box_keeps_every_marimo_key(page: Any, artifacts: Path) -> None:
    trade = chat_in_cell(page, 2)
    wait_for_chat_state(trade, PAUSED)
    reason = trade.get_by_role("textbox", name="Reason for denying place_trade")
    reason.click()
    reason.type("too ")
    reason.press("Shift+Enter")  # an input: no new line, and nothing sent
    press_marimo_keys(page, reason)
    reason.type(" risky")
    assert reason.input_value() == f"too {TYPED_LETTERS} risky"
    assert trade.locator(".anb-state").last.inner_text() == PAUSED, "nothing was decided"
    page.screenshot(path=str(artifacts / f"marimo-keys-reason-{page.theme}.png"))
    reason.press("Control+Enter")
    wait_for_chat_state(trade, "Completed")
    assert "too abcxvdd risky" in trade.inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_answer_box_keeps_every_marimo_key(page: Any, artifacts: Path) -> None:
    trip = chat_in_cell(page, 3)
    wait_for_chat_state(trip, PAUSED)
    answer = trip.locator(".anb-answer-input")
    answer.click()
    answer.type("Oslo ")
    answer.press("Shift+Enter")
    press_marimo_keys(page, answer)
    assert answer.input_value() == f"Oslo {TYPED_LETTERS}"
    assert trip.locator(".anb-state").last.inner_text() == PAUSED, "nothing was sent"
    answer.fill("Oslo")
    page.screenshot(path=str(artifacts / f"marimo-keys-answer-{page.theme}.png"))
    answer.press("Enter")
    wait_for_chat_state(trip, "Completed")
    assert "Oslo" in trip.locator(".anb-answer").last.inner_text()
    assert page.errors == []  # type: ignore[attr-defined]
