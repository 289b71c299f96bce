"""More of the chat cell in a real browser: follow-up chips and ``agentnb.chat`` in JupyterLab,
and a ``%%agent`` cell in Jupyter Notebook 7.

The JupyterLab tests share one notebook and one kernel and run in file order: a follow-up chip
starts the next turn in the same output, on the same thread; ``agentnb.chat("echo")`` answers
what is typed in its input box, and the box is reachable and stays usable from the keyboard.
The Notebook 7 test opens its own notebook in the Notebook 7 UI. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    LAST_TURN_STATE,
    PATIENCE_MS,
    RECORD,
    RUN_CELL,
    cell_at,
    notebook_page,
    wait_for_final_view,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

LAB_NOTEBOOK = "more.ipynb"
SEVEN_NOTEBOOK = "seven.ipynb"
LOAD, FOLLOWUPS, THREADS, CHAT = 0, 1, 2, 3
LAB_CELLS = [
    "%load_ext agentnb\nimport agentnb",
    "%%agent finance_agent --followups\nWhat is NVDA trading at, and how did it move this week?",
    "for r in agentnb.runs(agent='finance_agent', limit=2):\n"
    "    print(r.status, r.thread_id, r.message, sep=' | ')",
    'w = agentnb.chat("echo")',
]
LONG_TAIL = " ".join(f"w{i}" for i in range(150))
PACE_MS = 300
"""The built-in server's pause between frames in the Notebook 7 run: the run (37 frames)
then takes ~11 s, its tool cards ~2 s before its answer and the answer ~6 s growing, so a
view sees each stage at the kernel's frame rate even on a busy machine. At the browser tests'
40 ms the whole run took 1.5 s, within the chat cell's first held frame and its first frames at
a second's spacing before the view said it is on screen: on a busy machine (CI) its tools and
its answer's start landed in one frame."""
SEVEN_CELLS = [
    "%load_ext agentnb\nimport agentnb\n"
    f'agentnb.connect(headers={{"X-AgentNB-Delay-Ms": "{PACE_MS}"}})',
    "%%agent finance_agent\nWhat is NVDA trading at, and how did it move this week?",
]


def completed_run_id(page: Any, index: int, turn: int) -> str:
    """Wait for the turn to say Completed and return its run id."""
    handle = page.wait_for_function(
        f"""(args) => {{
          if (({LAST_TURN_STATE})(args) !== "Completed") return null;
          const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[args[0]];
          const code = cell.querySelectorAll(".anb-turn")[args[1]].querySelector(".anb-runid code");
          return code && code.textContent;
        }}""",
        arg=[index, turn],
        timeout=PATIENCE_MS,
    )
    run_id: str = handle.json_value()
    return run_id


@pytest.fixture(scope="module")
def lab_page(browser: Any, jupyterlab: Any, artifacts: Path) -> Iterator[Any]:
    last_shot = artifacts / "more-browser-last.png"
    with notebook_page(browser, jupyterlab, LAB_NOTEBOOK, LAB_CELLS, last_shot=last_shot) as page:
        yield page


def test_a_followup_chip_runs_the_next_turn_in_the_same_output_on_the_same_thread(
    lab_page: Any, artifacts: Path
) -> None:
    page = lab_page
    page.evaluate(RUN_CELL, FOLLOWUPS)
    cell = cell_at(page, FOLLOWUPS)
    first_run_id = completed_run_id(page, FOLLOWUPS, 0)
    wait_for_final_view(page, FOLLOWUPS, first_run_id)
    first_chips = cell.locator(".anb-turn").first.locator(".anb-chip")
    chip_texts = first_chips.all_inner_texts()
    assert len(chip_texts) == 3 and "NVDA" in chip_texts[0], chip_texts

    chip = first_chips.first
    assert chip.is_enabled() and "anb-chip-copy" not in (chip.get_attribute("class") or "")
    cell.locator(".agentnb").evaluate("(root) => { root.__anbSameView = true; }")
    chip.click()
    second = cell.locator(".anb-turn").nth(1)
    second.wait_for()
    assert second.locator(".anb-message").inner_text() == chip_texts[0]
    second_run_id = completed_run_id(page, FOLLOWUPS, 1)
    wait_for_final_view(page, FOLLOWUPS, second_run_id, turn=1)
    cell.locator(".anb-turn").nth(1).locator(".anb-footer").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "followup-second-turn.png"))

    assert page.locator(".jp-Notebook .jp-Cell").count() == len(LAB_CELLS), "no cell was added"
    assert cell.locator(".agentnb").count() == 1, "one view holds both turns"
    assert cell.locator(".agentnb").evaluate("(root) => root.__anbSameView === true"), (
        "a run's end does not re-create the view"
    )
    assert cell.locator(".jp-OutputArea-output").count() == 2, "the view and its static copy"
    assert not cell.locator(".agentnb-static").is_visible(), "the copy hides by the view"
    turns = cell.locator(".anb-turn")
    assert turns.count() == 2
    second = turns.nth(1)
    assert second.locator(".anb-tool").count() >= 2
    assert second.locator(".anb-answer table").count() >= 1
    assert second.locator(".anb-runid code").inner_text() == second_run_id
    assert turns.first.locator(".anb-runid code").inner_text() == first_run_id
    assert first_run_id != second_run_id
    # Only the last turn's chips start runs; the first turn's now copy their question.
    assert turns.first.locator(".anb-chip:not(.anb-chip-copy)").count() == 0
    offered = second.locator(".anb-chip:not(.anb-chip-copy)").all_inner_texts()
    assert offered and chip_texts[0] not in offered, "the question just asked is not offered again"

    page.evaluate(RUN_CELL, THREADS)
    page.wait_for_function(
        """(i) => {
          const cell = window.__anbPanel().content.widgets[i];
          return cell.model.executionCount && cell.node.querySelector(".jp-OutputArea-output")
            && cell.node.querySelector(".jp-OutputArea").innerText.split("\\n")
              .filter((line) => line.includes(" | ")).length >= 2;
        }""",
        arg=THREADS,
    )
    text = cell_at(page, THREADS).locator(".jp-OutputArea").inner_text()
    rows = [line.split(" | ") for line in text.splitlines() if " | " in line]
    assert len(rows) == 2, rows
    (latest_status, latest_thread, latest_message), (first_status, first_thread, _) = rows
    assert latest_message == chip_texts[0]
    assert latest_status == first_status == "completed"
    assert latest_thread not in ("", "None")
    assert latest_thread == first_thread, "the follow-up continued the first run's thread"
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


def test_chat_answers_typed_messages_as_turns_and_is_keyboard_usable(
    lab_page: Any, artifacts: Path
) -> None:
    page = lab_page
    page.evaluate(RUN_CELL, CHAT)
    cell = cell_at(page, CHAT)
    box = cell.locator(".anb-input-text")
    send = cell.locator(".anb-send")
    box.wait_for()
    assert box.get_attribute("aria-label") == "Message"
    hint = "(Enter to send, Shift+Enter for a new line)"
    assert box.get_attribute("placeholder") == f"Message echo… {hint}"
    assert cell.locator(".anb-turn").count() == 0

    box.click()
    page.keyboard.type("Hello from the browser")
    assert box.input_value() == "Hello from the browser", "the notebook took no keystroke"
    send.click()
    cell.locator(".anb-turn").first.wait_for()
    wait_for_final_view(page, CHAT, "Hello from the browser", turn=0)
    first = cell.locator(".anb-turn").first
    assert first.locator(".anb-answer").inner_text().strip() == "Hello from the browser"
    assert first.locator(".anb-message").inner_text() == "Hello from the browser"

    # From the last turn's last control (its verdict's note, after Copy), Tab reaches the
    # input box, then Send.
    first.evaluate(
        "(turn) => [...turn.querySelectorAll('button, input, textarea, [tabindex]')]"
        ".filter((el) => el.tabIndex >= 0 && !el.disabled && el.offsetParent).pop().focus()"
    )
    page.keyboard.press("Tab")
    assert box.evaluate("(el) => el === document.activeElement")
    page.keyboard.type("Again: ")
    page.keyboard.insert_text(LONG_TAIL)  # long enough to stream for a couple of seconds
    page.keyboard.press("Tab")
    assert send.evaluate("(el) => el === document.activeElement")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    second = cell.locator(".anb-turn").nth(1)
    second.wait_for()
    page.wait_for_function(
        f"(args) => ({LAST_TURN_STATE})(args) === 'Running' && document.querySelectorAll("
        "'.jp-Notebook .jp-Cell')[args[0]].querySelectorAll('.anb-turn')[1]"
        ".querySelector('.anb-answer')",
        arg=[CHAT, 1],
    )
    assert send.is_disabled(), "no second send while the answer streams"
    page.keyboard.type("draft")  # the next message, typed while the answer streams
    wait_for_final_view(page, CHAT, "w149", turn=1)
    assert second.locator(".anb-answer").inner_text().strip() == f"Again: {LONG_TAIL}"
    assert cell.locator(".anb-turn").count() == 2
    assert first.locator(".anb-answer").inner_text().strip() == "Hello from the browser"
    assert send.is_enabled()

    # The run's end leaves the view in place (only the static copy after it is refreshed):
    # the draft and the keyboard stay in the box, so typing goes on where it was.
    try:
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.matches('.anb-input-text')",
            timeout=PATIENCE_MS,
        )
    except Exception:
        active = page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)")
        pytest.fail(f"the keyboard was not given back to the input box; it is on {active}")
    assert box.input_value() == "draft"
    page.keyboard.type(" and more")
    assert box.input_value() == "draft and more"
    assert page.locator(".jp-Notebook .jp-Cell").count() == len(LAB_CELLS)
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "chat-two-turns.png"))
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


def test_agent_cell_streams_in_notebook_7(browser: Any, notebook7: Any, artifacts: Path) -> None:
    with notebook_page(
        browser, notebook7, SEVEN_NOTEBOOK, SEVEN_CELLS, app="notebook7", run_first=0
    ) as page:
        assert page.evaluate("() => document.body.dataset.notebook") == "notebooks", (
            "the Notebook 7 UI, not JupyterLab"
        )
        # Run the cells as a user does: Shift+Enter runs a cell and selects the next one.
        cell_at(page, 0).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_function("() => window.__anbPanel().content.widgets[0].model.executionCount")
        page.evaluate(RECORD, 1)
        page.keyboard.press("Shift+Enter")
        widget = widget_at(page, 1)
        widget.locator(".anb-tool").first.wait_for()
        page.screenshot(path=str(artifacts / "notebook7-streaming.png"))
        wait_for_final_view(page, 1, "get_stock_price")
        log = page.evaluate("() => window.__anbLog")
        page.evaluate("() => window.__anbObserver.disconnect()")
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "notebook7-done.png"))

        assert [e for e in log if e["tools"] >= 1 and e["answer"] == 0], "tools before answer"
        growing = sorted({e["answer"] for e in log if e["answer"] > 0})
        assert len(growing) >= 3, f"the answer grew in steps, not at once: {growing}"
        assert any(e["state"] == "Running" for e in log), "the status said Running meanwhile"
        answer = widget.locator(".anb-answer")
        assert "NVDA" in answer.inner_text()
        assert answer.locator("table").count() >= 1
        names = widget.locator(".anb-tool-name").all_inner_texts()
        assert names == ["get_stock_price", "calculator"]
        assert widget.locator('.anb-tool[data-status="succeeded"]').count() == 2
        assert "tokens" in widget.locator(".anb-tokens").inner_text()
        assert widget.locator(".anb-stop").is_hidden()
        static = cell_at(page, 1).locator(".agentnb-static")
        assert static.count() == 1 and static.is_hidden(), "the copy hides by the live view"
        assert widget_errors(page.errors) == []
