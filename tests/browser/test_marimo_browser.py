"""The chat cell in a real marimo notebook server (``marimo edit``), driven by Playwright with
Debian's Chromium.

The notebook is notebooks/marimo_chat.py, the example the docs point to, copied to a
temporary folder (marimo writes its session cache next to the notebook). The tests share
one page and run in file order: "Run all" starts the ``finance_agent`` run of
``agentnb.ask``, which ends in its chat cell with the status line; a follow-up chip
streams the next run into the same cell; a message typed into the ``agentnb.chat`` cell
starts a long ``writer`` run that streams until Stop cancels it; a marimo form starts a
run in its own cell; a cell waits for a run and uses it; re-running the first chat's cell
and reloading the page leave every chat cell working. Last, ``marimo run`` (the app view)
in marimo's dark theme shows the run, legibly. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    CONTRASTS,
    RUN_ALL,
    new_marimo_page,
    serve_marimo,
    wait_for_chat_state,
)

from agentnb.server import ServerHandle

pytest.importorskip("marimo", reason="needs marimo (the dev extra) to serve a marimo notebook")

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "marimo_chat.py"

# marimo hosts each widget view in an open shadow root: Playwright's CSS locators pierce it,
# page scripts do not. RECORD samples the last turn of one chat cell (the one whose first
# turn is AGENT's, or with "" the chat with an input box that no finance_agent run fills)
# until STOP_RECORDING.
RECORD = """
(agent) => {
  const roots = () => [...document.querySelectorAll("marimo-anywidget")]
    .map((host) => host.shadowRoot && host.shadowRoot.querySelector(".agentnb"))
    .filter(Boolean);
  const asks = (root) => [...root.querySelectorAll(".anb-agent")]
    .some((name) => name.textContent === "finance_agent");
  const chosen = () => roots().find((root) => agent
    ? (root.querySelector(".anb-agent") || {}).textContent === agent
    : root.querySelector(".anb-input") && !asks(root));
  window.__anbLog = [];
  window.__anbTimer = setInterval(() => {
    const turns = (chosen() || document).querySelectorAll(".anb-turn");
    const turn = turns[turns.length - 1];
    if (!turn) return;
    const answer = turn.querySelector(".anb-answer");
    const list = turn.querySelector(".anb-answer ul");
    window.__anbLog.push({
      bullets: list ? getComputedStyle(list).listStyleType : null,
      turns: turns.length,
      tools: turn.querySelectorAll(".anb-tool").length,
      answer: answer ? answer.textContent.length : 0,
      state: (turn.querySelector(".anb-state") || {}).textContent || "",
    });
  }, 20);
}
"""
STOP_RECORDING = "() => { clearInterval(window.__anbTimer); return window.__anbLog; }"

# CONTRASTS finds a text's background among its ancestors; in marimo these go on past the
# shadow root, to its host.
SHADOW_CONTRASTS = CONTRASTS.replace(
    "node = node.parentElement)", "node = node.parentElement || node.getRootNode().host)"
)
assert "getRootNode" in SHADOW_CONTRASTS


@pytest.fixture(scope="module")
def marimo_url(
    agent_server: ServerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    base = tmp_path_factory.mktemp("marimo-edit")
    with serve_marimo("edit", agent_server, base, source=NOTEBOOK) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser: Any, marimo_url: str, artifacts: Path) -> Iterator[Any]:
    context, page, errors = new_marimo_page(browser)
    page.goto(marimo_url)
    page.locator(".marimo-cell.needs-run").first.wait_for()
    page.errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        page.screenshot(path=str(artifacts / "marimo-last.png"), full_page=True)
        context.close()


def chat_cell(page: Any, agent: str) -> Any:
    """The chat cell whose first turn is ``agent``'s, or (``""``) the ``agentnb.chat`` cell:
    the one with an input box that is not an asked finance_agent run's (an ``ask`` cell has
    its chat box too, for a follow-up in its own cell)."""
    if agent == "":
        asked = page.locator(".anb-agent", has_text="finance_agent")
        with_input = page.locator(".agentnb", has=page.locator(".anb-input"))
        return with_input.filter(has_not=asked).first
    return page.locator(".agentnb", has=page.locator(".anb-agent", has_text=agent)).first


def test_an_asked_run_shows_in_its_chat_cell_with_the_status_line(
    page: Any, artifacts: Path
) -> None:
    page.locator(RUN_ALL).click()
    finance = chat_cell(page, "finance_agent")
    wait_for_chat_state(finance, "Completed")
    finance.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "marimo-finance-done.png"))
    answer = finance.locator(".anb-answer")
    assert "NVDA" in answer.inner_text()
    assert answer.locator("table").count() >= 1
    assert finance.locator(".anb-tool-name").all_inner_texts() == [
        "get_stock_price",
        "calculator",
    ]
    assert "tokens" in finance.locator(".anb-tokens").inner_text()
    assert finance.locator(".anb-runid code").inner_text().startswith("run_")
    assert finance.locator(".anb-stop").is_hidden()
    # styled: the stylesheet reached the shadow root marimo renders the cell in
    border = finance.locator(".anb-tool").first.evaluate("e => getComputedStyle(e).borderLeftWidth")
    assert border != "0px"
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_followup_chip_streams_the_next_run_into_the_same_cell(
    page: Any, artifacts: Path
) -> None:
    finance = chat_cell(page, "finance_agent")
    chip = finance.locator(".anb-chip").first
    question = chip.inner_text()
    page.evaluate(RECORD, "finance_agent")
    chip.click()
    turn = finance.locator(".anb-turn").nth(1)
    turn.locator(".anb-tool").first.wait_for()
    page.screenshot(path=str(artifacts / "marimo-followup-streaming.png"))
    wait_for_chat_state(finance, "Completed", turn=1)
    log = [entry for entry in page.evaluate(STOP_RECORDING) if entry["turns"] == 2]

    running = [entry for entry in log if entry["state"] != "Completed"]
    assert [entry for entry in running if entry["tools"] >= 1 and entry["answer"] == 0], (
        "the tool cards showed before the answer, while the run went on"
    )
    growing = sorted({entry["answer"] for entry in running if entry["answer"] > 0})
    assert len(growing) >= 3, f"the answer grew in steps while the run went on: {growing}"
    assert turn.locator(".anb-message").inner_text() == question
    assert "tokens" in turn.locator(".anb-tokens").inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


def test_stop_cancels_a_writer_run_started_from_the_chat_input(page: Any, artifacts: Path) -> None:
    chat = chat_cell(page, "")
    page.evaluate(RECORD, "")
    chat.locator(".anb-input-text").fill("Write a long report on GPUs.")
    chat.locator(".anb-send").click()
    answer = chat.locator(".anb-turn").last.locator(".anb-answer")
    answer.wait_for()
    page.wait_for_function(
        "() => window.__anbLog.some((entry) => entry.answer > 200 && entry.bullets)",
        polling="raf",
    )
    stop = chat.locator(".anb-stop")
    assert stop.is_visible()
    stop.focus()  # from the keyboard: the button may move while the answer grows
    page.keyboard.press("Enter")
    wait_for_chat_state(chat, "Cancelled")
    log = page.evaluate(STOP_RECORDING)
    page.screenshot(path=str(artifacts / "marimo-writer-cancelled.png"))
    growing = sorted({entry["answer"] for entry in log if entry["state"] != "Cancelled"})
    # marimo's CSS reset, which reaches the widget's shadow root, would drop list bullets
    assert {entry["bullets"] for entry in log} - {None} == {"disc"}
    assert len([length for length in growing if length > 0]) >= 3, growing
    partial = answer.inner_text()
    assert len(partial) > 200
    assert stop.is_hidden()
    page.wait_for_timeout(500)
    assert answer.inner_text() == partial, "nothing arrives after Stop"
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_question_submitted_through_a_marimo_form_streams_in_its_own_chat_cell(
    page: Any,
) -> None:
    question = "What is AAPL trading at?"  # not a follow-up chip's: only this cell has it
    page.get_by_placeholder("Ask the finance agent…", exact=False).fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    asked = page.locator(".agentnb", has=page.locator(".anb-message", has_text=question))
    wait_for_chat_state(asked, "Completed")
    assert "AAPL" in asked.locator(".anb-answer").inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_cell_can_wait_for_the_run_and_use_it(page: Any) -> None:
    page.get_by_role("button", name="Summarize the NVDA run").click()
    page.get_by_text("completed in").wait_for()
    assert page.errors == []  # type: ignore[attr-defined]


def test_rerunning_the_first_chat_cells_cell_leaves_every_chat_cell_working(page: Any) -> None:
    # In Jupyter the chat cells share code sent once per kernel; marimo closes a widget with
    # the cell that made it, so a cell that shared the first chat's code would lose it here.
    finance = chat_cell(page, "finance_agent")
    cell = page.locator(".marimo-cell", has=finance).first
    cell.hover()
    cell.locator("[data-testid='run-button']").first.click()
    finance.locator(".anb-turn").nth(1).wait_for(state="detached")
    wait_for_chat_state(chat_cell(page, "finance_agent"), "Completed")
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_reload_renders_both_chat_cells_again(page: Any, artifacts: Path) -> None:
    page.reload()
    finance = chat_cell(page, "finance_agent")
    wait_for_chat_state(finance, "Completed")
    chat = chat_cell(page, "writer")
    wait_for_chat_state(chat, "Cancelled")
    assert "NVDA" in finance.locator(".anb-answer").first.inner_text()
    assert chat.locator(".anb-input-text").is_visible()
    page.screenshot(path=str(artifacts / "marimo-reloaded.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_app_view_streams_the_asked_run_legibly_in_the_dark_theme(
    browser: Any, agent_server: ServerHandle, tmp_path: Path, artifacts: Path
) -> None:
    # `marimo run` runs every cell on open, each session's kernel a thread of the server.
    dark = '[display]\ntheme = "dark"\n'
    with serve_marimo("run", agent_server, tmp_path, source=NOTEBOOK, config=dark) as url:
        context, page, errors = new_marimo_page(browser)
        try:
            page.goto(url)
            finance = chat_cell(page, "finance_agent")
            wait_for_chat_state(finance, "Completed")
            assert "tokens" in finance.locator(".anb-tokens").inner_text()
            assert chat_cell(page, "").locator(".anb-input-text").is_visible()
            assert page.evaluate("() => document.body.classList.contains('dark')")
            page.screenshot(path=str(artifacts / "marimo-run-dark.png"), full_page=True)
            texts = finance.evaluate(SHADOW_CONTRASTS)
            assert len(texts) >= 10, texts
            low = [t for t in texts if t["ratio"] < (3.0 if t["decorative"] else 4.5)]
            assert low == [], "\n".join(
                f"{t['what']} {t['text']!r} {t['ratio']:.2f} fg={t['fg']} bg={t['bg']}" for t in low
            )
            assert errors == []
        finally:
            context.close()
