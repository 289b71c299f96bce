"""The chat cell as a person meets it, in JupyterLab 4 (Debian's Chromium); in Notebook 7 too
where its front differs (keys, a reopened or reloaded page: ``APPS``).

- Keys stay where they are typed: every key sent to the real inputs of the cell (the question
  box of ``agentnb.chat``, an approval's reason box) stays there: Shift+Enter makes a new line
  instead of re-running the cell (which wiped the conversation), Esc and the command-mode
  letters neither leave the cell nor add, delete or retype cells.
- Stop stays in reach: scrolled to the end of a long streaming answer, the Stop control is
  inside the viewport (light and dark themes), and a click on it stops the run.
- A reopened notebook (saved, its kernel shut down) shows the saved answer and no "Error
  displaying widget"; nbconvert's HTML shows the answer too.

Screenshots go to test-artifacts/ (cell-*.png).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from notebook_pages import (
    APPS,
    NOTEBOOK_STATE,
    PATIENCE_MS,
    PAUSED,
    RECORD_ESCAPED,
    RUN_CELL,
    SHUTDOWN_KERNEL,
    THEMES,
    WIDGET_APPS,
    cell_at,
    load_jupyter_app,
    nbconvert,
    new_page,
    notebook_page,
    open_notebook_at,
    open_with_live_view,
    run_and_wait,
    set_theme,
    setup_cell,
    url_of,
    wait_for_final_view,
    wait_for_state,
    widget_errors,
)

from agentnb.server import ServerHandle

pytestmark = pytest.mark.browser

CHAT = 'w = agentnb.chat("echo")'
SHORTCUT_KEYS = ["Escape", "a", "b", "d", "d", "m", "y", "z", "Alt+Enter", "Control+Shift+-"]


# ---- keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_keys_typed_in_the_cell_stay_in_the_cell(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    cells = [
        setup_cell(agent_server),
        'w = agentnb.chat("echo")',
        'trade = agentnb.ask("trader", "buy 10 NVDA", via="trading")',
    ]
    with notebook_page(browser, jupyter, f"keys_{app}.ipynb", cells, app=app) as page:
        page.evaluate(RECORD_ESCAPED)
        run_and_wait(page, 1)
        box = cell_at(page, 1).locator(".anb-input-text")
        box.click()
        box.type("first question")
        box.press("Enter")
        wait_for_state(page, 1, "Completed")
        before = page.evaluate(NOTEBOOK_STATE, 1)

        box.click()
        box.type("line one")
        box.press("Shift+Enter")
        box.type("line two")
        for key in SHORTCUT_KEYS:
            box.press(key)
        assert box.input_value().startswith("line one\nline two"), box.input_value()
        assert page.evaluate(NOTEBOOK_STATE, 1) == before, "no shortcut of the notebook ran"
        assert cell_at(page, 1).locator(".anb-turn").count() == 1, "the conversation is kept"
        page.screenshot(path=str(artifacts / f"cell-keys-{app}.png"))
        box.press("Enter")
        wait_for_state(page, 1, "Completed", turn=1)
        turns = cell_at(page, 1).locator(".anb-turn")
        assert turns.count() == 2
        assert turns.nth(1).locator(".anb-message").inner_text().startswith("line one\nline two")
        assert page.evaluate(NOTEBOOK_STATE, 1) == before

        page.evaluate(RUN_CELL, 2)
        wait_for_state(page, 2, PAUSED)
        before = page.evaluate(NOTEBOOK_STATE, 2)
        reason = cell_at(page, 2).get_by_role("textbox", name="Reason for denying place_trade")
        reason.click()
        reason.type("too")
        for key in ["Shift+Enter", *SHORTCUT_KEYS]:
            reason.press(key)
        reason.type(" risky")
        assert page.evaluate(NOTEBOOK_STATE, 2) == before
        assert reason.input_value().endswith(" risky")
        reason.press("Enter")
        wait_for_state(page, 2, "Completed")
        assert page.evaluate(NOTEBOOK_STATE, 2) == before
        assert page.evaluate("() => window.__anbEscaped") == []
        assert widget_errors(page.errors) == []


# ---- Stop -------------------------------------------------------------------------------

SCROLL_TO_END = """
async (index) => {
  const cell = window.__anbPanel().content.widgets[index].node;
  const footer = cell.querySelector(".anb-turn .anb-footer");
  footer.scrollIntoView({ block: "end" });
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  await frame();
  await frame();
  const stop = cell.querySelector(".anb-stop");
  const head = cell.querySelector(".anb-turn").getBoundingClientRect();
  const box = stop.getBoundingClientRect();
  return {
    turnTop: head.top, top: box.top, bottom: box.bottom, left: box.left, right: box.right,
    width: innerWidth, height: innerHeight, hidden: stop.hidden,
    hit: document.elementFromPoint((box.left + box.right) / 2, (box.top + box.bottom) / 2) === stop,
  };
}
"""


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_stop_is_in_the_viewport_at_the_end_of_a_long_streaming_answer(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    cells = [setup_cell(agent_server), "%%agent echo --via fast\n{{doc}}"]
    with notebook_page(browser, jupyter, f"stop_{app}.ipynb", cells, app=app) as page:
        page.evaluate(RUN_CELL, 1)
        page.wait_for_function(
            """() => {
              const a = window.__anbPanel().content.widgets[1].node.querySelector(".anb-answer");
              return a && a.textContent.length > 8000;
            }""",
            timeout=PATIENCE_MS,
        )
        for theme in THEMES:  # switched to while the answer streams on
            set_theme(page, theme)
            for _ in range(3):
                box = page.evaluate(SCROLL_TO_END, 1)
                assert box["turnTop"] < -500, ("the turn's head is far above", box)
                assert not box["hidden"]
                assert box["top"] >= 0 and box["bottom"] <= box["height"], ("Stop in view", box)
                assert box["left"] >= 0 and box["right"] <= box["width"], ("Stop in view", box)
                assert box["hit"], ("nothing covers Stop", box)
                page.wait_for_timeout(300)
            page.screenshot(path=str(artifacts / f"cell-stop-{app}-{theme[-5:].strip()}.png"))
        cell_at(page, 1).locator(".anb-stop").click()
        wait_for_state(page, 1, "Cancelled")
        assert widget_errors(page.errors) == []


# ---- a reopened notebook ----------------------------------------------------------------

# Why no error shows: trusted, ipywidgets writes its error and the copy's style (kept) hides
# it; untrusted, ipywidgets' renderer (registered unsafe) is not used, the widget output shows
# its empty text, and the sanitizer drops the copy's style.
HOW_HIDDEN = """
() => {
  const notebook = document.querySelector(".jp-Notebook");
  const errors = [...notebook.querySelectorAll(".jp-OutputArea-output.jupyter-widgets")]
    .filter((el) => el.textContent.includes("model not found"));
  return {
    errors: errors.length,
    shown: errors.filter((el) => el.getClientRects().length > 0).length,
    styles: notebook.querySelectorAll(".jp-OutputArea-output style").length,
  };
}
"""


NO_ERRORS = {"errors": 0, "shown": 0, "styles": 0}
STILL_LOADING = """
() => {
  const outputs = [...document.querySelectorAll(".jp-Notebook .jp-OutputArea-output")];
  const copies = document.querySelectorAll(".jp-Notebook .agentnb-static");
  const loading = outputs.filter((el) => el.textContent.startsWith("Loading widget"));
  return copies.length === 4 && loading.length === 4;
}
"""
ALL_REOPENED = """
() => {
  const outputs = [...document.querySelectorAll(".jp-Notebook .jp-OutputArea-output")];
  const copies = document.querySelectorAll(".jp-Notebook .agentnb-static");
  return copies.length === 4 && !outputs.some((el) => el.textContent.startsWith("Loading widget"));
}
"""
"""`REOPENED` for ``saved_chat``'s notebook: its four chat cells (two in one cell)."""


def open_with_an_unreachable_kernel(page: Any, url: str) -> None:
    """Open ``url`` with the kernel's websocket answered by nobody (a kernel slow to start,
    a proxy that drops websockets): the widget manager never hears from the kernel."""
    page.route_web_socket("**/api/kernels/**", lambda socket: None)
    load_jupyter_app(page, url)
    page.wait_for_function("() => window.__anbPanel() && window.__anbPanel().context.isReady")


def untrust(path: Path) -> None:
    """Change the saved notebook behind the server's back, as a notebook someone sends you
    is: its signature no longer matches, so the server opens it untrusted."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["edited_elsewhere"] = True
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def saved_chats() -> dict[str, Path]:
    """The notebooks ``saved_chat`` ran and saved, by app: each is reopened several ways."""
    return {}


def saved_chat(
    app: str, server: Any, browser: Any, agent_server: ServerHandle, saved: dict[str, Path]
) -> Path:
    """Notebook ``reopen_APP.ipynb`` run in ``app`` (a finance agent's answer, a chat cell's
    turn typed in its box, two asks in one cell: only the first copy of a cell carries the
    style that hides the views), saved with the final static copies, its kernel shut down;
    run once per app and module (``saved``), with no script error on its page."""
    if app not in saved:
        name = f"reopen_{app}.ipynb"
        cells = [
            setup_cell(agent_server),
            "%%agent finance_agent\nWhat is NVDA trading at?",
            'w = agentnb.chat("echo")',
            'twins = [agentnb.ask("echo", f"Twin {i}") for i in range(2)]',
        ]
        with notebook_page(browser, server, name, cells, app=app) as page:
            run_and_wait(page, 1)
            wait_for_state(page, 1, "Completed")
            run_and_wait(page, 2)
            box = cell_at(page, 2).locator(".anb-input-text")
            box.click()
            box.type("Hello from the chat box")
            box.press("Enter")
            wait_for_final_view(page, 1, "NVDA")  # the static copies, refreshed, are saved
            wait_for_final_view(page, 2, "Hello from the chat box")
            run_and_wait(page, 3)
            wait_for_final_view(page, 3, "Twin 1")
            page.evaluate(SHUTDOWN_KERNEL)
            assert widget_errors(page.errors) == []
        notebook = json.loads((server.root / name).read_text())
        assert "application/vnd.jupyter.widget-view+json" in json.dumps(notebook["cells"][1])
        saved[app] = server.root / name
    return saved[app]


@pytest.mark.parametrize(
    ("app", "trust"),
    # a trusted copy in both fronts (each saves and reopens it); trust is the widget's own
    [
        *[(app, "trusted") for app in APPS],
        ("jupyterlab", "untrusted"),
        ("jupyterlab", "unreachable"),
    ],
)
def test_a_reopened_notebook_shows_the_saved_answer_and_no_error(
    app: str,
    trust: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
    saved_chats: dict[str, Path],
) -> None:
    name = f"reopen_{app}_{trust}.ipynb"
    # a copy of the one saved run: the same content, so the server's signature still holds
    shutil.copy(saved_chat(app, jupyter, browser, agent_server, saved_chats), jupyter.root / name)
    if trust == "untrusted":
        untrust(jupyter.root / name)

    context, page, errors = new_page(browser)
    try:
        if trust == "unreachable":
            open_with_an_unreachable_kernel(page, url_of(jupyter, app, name))
        else:
            open_notebook_at(page, url_of(jupyter, app, name))
        trusted = page.evaluate("() => window.__anbPanel().content.widgets[1].model.trusted")
        assert trusted == (trust != "untrusted")
        if trust == "unreachable":
            # the widget manager waits for the kernel: "Loading widget..." for as long
            page.wait_for_function(STILL_LOADING, timeout=PATIENCE_MS)
        else:
            # the widget manager gives up on the missing models after a few seconds
            page.wait_for_function(ALL_REOPENED, timeout=PATIENCE_MS)
        if trust != "unreachable":
            expected = {"errors": 4, "shown": 0, "styles": 3} if trusted else NO_ERRORS
            assert page.evaluate(HOW_HIDDEN) == expected
        for theme in THEMES:
            set_theme(page, theme)
            text = page.locator(".jp-Notebook").inner_text()
            assert "Error displaying widget" not in text, text[:2000]
            assert "model not found" not in text
            assert "Loading widget" not in text
            finance = cell_at(page, 1).locator(".agentnb-static")
            assert finance.is_visible()
            assert "NVDA" in finance.inner_text()
            chat = cell_at(page, 2).locator(".agentnb-static")
            assert chat.is_visible() and "Hello from the chat box" in chat.inner_text()
            twins = cell_at(page, 3).locator(".agentnb-static")
            assert [twin.is_visible() for twin in twins.all()] == [True, True]
            assert "Twin 1" in twins.nth(1).inner_text()
            cell_at(page, 1).scroll_into_view_if_needed()
            shade = "dark" if "Dark" in theme else "light"
            page.screenshot(path=str(artifacts / f"cell-reopened-{app}-{trust}-{shade}.png"))
        set_theme(page, "JupyterLab Light")
        assert widget_errors(errors) == []
    finally:
        context.close()


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_a_saved_notebook_exports_its_answers_to_html(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    saved_chats: dict[str, Path],
    tmp_path: Path,
) -> None:
    saved = saved_chat(app, jupyter, browser, agent_server, saved_chats)
    nbconvert("--to", "html", "--output-dir", str(tmp_path), str(saved))
    exported = (tmp_path / saved.name.replace(".ipynb", ".html")).read_text()
    assert "NVDA" in exported and "Hello from the chat box" in exported
    assert "Twin 0" in exported and "Twin 1" in exported, "both copies of the two-ask cell"


@pytest.mark.parametrize("app", APPS)
def test_a_page_reloaded_while_its_kernel_runs_shows_the_live_cell(
    app: str, browser: Any, agent_server: ServerHandle, jupyter: Any
) -> None:
    name = f"reload_{app}.ipynb"
    with notebook_page(browser, jupyter, name, [setup_cell(agent_server), CHAT], app=app) as page:
        run_and_wait(page, 1)
        box = cell_at(page, 1).locator(".anb-input-text")
        box.fill("Hello before the reload")
        box.press("Enter")
        wait_for_state(page, 1, "Completed")
        page.evaluate("() => window.__anbPanel().context.save()")

        # the kernel goes on running
        open_with_live_view(page, url_of(jupyter, app, name), 1, ".agentnb .anb-message")
        chat = cell_at(page, 1)
        wait_for_state(page, 1, "Completed")
        assert "Hello before the reload" in chat.locator(".agentnb .anb-message").inner_text()
        assert not chat.locator(".agentnb-static").is_visible(), "one copy of the conversation"
        assert "Error displaying widget" not in page.locator(".jp-Notebook").inner_text()
        box = chat.locator(".anb-input-text")
        box.fill("Hello after the reload")
        box.press("Enter")
        wait_for_state(page, 1, "Completed", turn=1)
        assert widget_errors(page.errors) == []


# ---- a conversation ---------------------------------------------------------------------

LOOKS = """
(index) => {
  const cell = window.__anbPanel().content.widgets[index].node;
  const turn = cell.querySelectorAll(".anb-turn")[0];
  const style = (sel) => getComputedStyle(turn.querySelector(sel));
  const message = style(".anb-message"), answer = style(".anb-answer p");
  const when = turn.querySelector(".anb-when");
  return {
    messageSize: message.fontSize, answerSize: answer.fontSize,
    messageColor: message.color, answerColor: answer.color,
    you: turn.querySelector(".anb-you").textContent,
    when: when.textContent, whenTitle: when.title,
  };
}
"""


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_the_cell_reads_as_a_conversation(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    cells = [
        setup_cell(agent_server),
        "%%agent finance_agent --followups\nWhat is NVDA trading at?",
    ]
    with notebook_page(browser, jupyter, f"talk_{app}.ipynb", cells, app=app) as page:
        page.evaluate(RUN_CELL, 1)
        wait_for_state(page, 1, "Completed")
        # (a running card shown whole: js/test/parts.test.js; the demo's calls can start and
        # end within one frame here)
        cell = cell_at(page, 1)
        cards = cell.locator(".anb-turn").first.locator(".anb-tool")
        assert cards.count() == 2
        for i in range(2):
            assert cards.nth(i).get_attribute("data-folded") == "true", "done: folded"
            assert cards.nth(i).locator(".anb-tool-args").is_hidden()
        cards.first.locator(".anb-tool-head").click()
        assert cards.first.locator(".anb-tool-args").is_visible(), "a click unfolds a card"

        chip = cell.locator(".anb-turn").first.locator(".anb-chip").first
        asked = chip.inner_text()
        chip.click()
        wait_for_state(page, 1, "Completed", turn=1)
        first = cell.locator(".anb-turn").first
        assert first.locator(".anb-followups").get_attribute("data-spent") == "true"
        assert first.locator('.anb-chip[data-asked="true"]').inner_text() == asked
        for theme in THEMES:
            set_theme(page, theme)
            looks = page.evaluate(LOOKS, 1)
            assert looks["messageSize"] == looks["answerSize"], (theme, looks)
            assert looks["messageColor"] == looks["answerColor"], (theme, looks)
            assert looks["you"] == "You" and looks["when"] and looks["whenTitle"], looks
            cell.locator(".anb-turn").nth(1).scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"cell-talk-{app}-{theme[-5:].strip()}.png"))
        assert widget_errors(page.errors) == []


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_retry_edit_and_new_conversation_from_the_chat_cell(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    cells = [setup_cell(agent_server), 'w = agentnb.chat("echo")']
    with notebook_page(browser, jupyter, f"again_{app}.ipynb", cells, app=app) as page:
        run_and_wait(page, 1)
        cell = cell_at(page, 1)
        box = cell.locator(".anb-input-text")
        box.click()
        box.type("first question")
        box.press("Enter")
        wait_for_state(page, 1, "Completed")
        turns = cell.locator(".anb-turn")
        turns.first.locator(".anb-retry").click()
        wait_for_state(page, 1, "Completed", turn=1)
        assert turns.nth(1).locator(".anb-message").inner_text() == "first question"
        assert turns.nth(1).locator(".anb-started-as").inner_text() == "retry"
        assert turns.first.locator(".anb-retry").is_hidden(), "only the last turn retries"

        turns.nth(1).locator(".anb-edit").click()
        assert box.input_value() == "first question"
        box.fill("edited question")
        box.press("Enter")
        wait_for_state(page, 1, "Completed", turn=2)
        assert turns.nth(2).locator(".anb-message").inner_text() == "edited question"
        assert turns.nth(2).locator(".anb-started-as").inner_text() == "edited"

        cell.locator(".anb-new").click()
        cell.locator(".anb-notice").get_by_text("New conversation").wait_for()
        box.click()
        box.type("a new topic")
        box.press("Enter")
        wait_for_state(page, 1, "Completed", turn=3)
        assert turns.nth(3).get_attribute("data-started-as") == "new"
        turns.nth(3).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"cell-again-{app}.png"))
        assert widget_errors(page.errors) == []
