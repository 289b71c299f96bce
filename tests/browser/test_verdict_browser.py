"""A person's verdict by a click, in a real JupyterLab on Debian's Chromium: ✓ (thumbs up)
under a finished chat cell's answer (with a note) and ✗ (thumbs down) on a row of the run
table (found by its metadata filter, with a note) are kept in the history as the runs' score ``verdict``, read back by the
next kernel (the notebook's kernel restarted); typing the note reaches no notebook shortcut.
Screenshots, light and dark, go to test-artifacts/ (verdict-*.png)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    EXECUTION_COUNT,
    PATIENCE_MS,
    RECORD_ESCAPED,
    RUN_CELL,
    cell_at,
    notebook_page,
    run_and_wait,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

CHAT, SECOND, TABLE, CHECK = 1, 2, 3, 4

NOTES_SHOWN = """
(view) => {
  const scroll = view.querySelector(".anb-runs-scroll");
  return {
    notes: [...view.querySelectorAll(".anb-runs-note")].map((note) => note.value),
    cut: [...view.querySelectorAll(".anb-runs-note")]
      .filter((note) => note.scrollWidth > note.clientWidth + 1
        || note.scrollHeight > note.clientHeight + 1)
      .map((note) => note.value),
    scrolls: scroll.scrollWidth > scroll.clientWidth + 1,
  };
}
"""
LONG_NOTE = "the figures are right, but it never says which week it compares against"
CHAT_NOTE = "right answer, a b m; " + LONG_NOTE + ", so a reader has to guess the base"
CHAT_NOTE_SHOWN = """
(chat) => {
  const note = chat.querySelector(".anb-verdict-note");
  const cell = chat.getBoundingClientRect(), box = note.getBoundingClientRect();
  return {
    note: note.value,
    cut: note.scrollWidth > note.clientWidth + 1 || note.scrollHeight > note.clientHeight + 1,
    overflows: chat.scrollWidth > chat.clientWidth + 1 || box.left < cell.left - 1
      || box.right > cell.right + 1,
  };
}
"""

THUMBS = """
(root, selector) => [...root.querySelectorAll(selector)].map((b) => {
  const box = b.getBoundingClientRect();
  return [box.width, box.height, getComputedStyle(b).backgroundColor];
})
"""

RESTART_KERNEL = """
async () => {
  const panel = window.__anbPanel();
  await panel.sessionContext.session.kernel.restart();
}
"""


def cells(history: Path) -> list[str]:
    return [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history)!r}\n"
        "%load_ext agentnb\nimport agentnb",
        "%%agent echo --meta user=alice\nIs NVDA up this week?",
        "%%agent echo --meta user=bob\nAnd AAPL?",
        "table = agentnb.browse()\ntable",
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history)!r}\n"
        "import json, agentnb\nframe = agentnb.runs().to_pandas()\n"
        "print(json.dumps(sorted([m['user'], bool(v)] for m, v in "
        "zip(frame['metadata'], frame['score.verdict']) if v is not __import__('pandas').NA)))\n"
        "print(json.dumps(sorted(s.comment for s in agentnb._history.default_store().scores())))",
    ]


@pytest.fixture(scope="module")
def page(
    browser: Any, jupyterlab: Any, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[Any]:
    history = tmp_path_factory.mktemp("verdicts") / "history.sqlite3"
    shot = artifacts / "verdict-last.png"
    with notebook_page(
        browser,
        jupyterlab,
        "verdicts.ipynb",
        cells(history),
        run_first=1,
        height=800,
        last_shot=shot,
    ) as opened:
        yield opened


def test_a_thumb_under_a_chat_answer_keeps_the_verdict(page: Any, artifacts: Path) -> None:
    run_and_wait(page, CHAT)
    wait_for_state(page, CHAT, "Completed")
    chat = widget_at(page, CHAT)
    verdict = chat.locator(".anb-verdict")
    verdict.wait_for()
    page.evaluate(RECORD_ESCAPED)
    note = verdict.locator(".anb-verdict-note")
    note.click()
    note.type(CHAT_NOTE)
    assert page.evaluate("() => window.__anbEscaped") == [], "the note's keys stay in the cell"
    shown = chat.evaluate(CHAT_NOTE_SHOWN)  # a person reads all they wrote, in a cell that fits
    assert shown == {"note": CHAT_NOTE, "cut": False, "overflows": False}, shown
    up = verdict.locator(".anb-verdict-up")
    up.click()
    page.wait_for_function(
        "(el) => el.getAttribute('aria-pressed') === 'true'", arg=up.element_handle()
    )
    assert chat.locator(".anb-notice").inner_text() == "Verdict kept: good"
    assert verdict.locator(".anb-verdict-down").get_attribute("aria-pressed") == "false"
    looks = chat.evaluate(THUMBS, ".anb-verdict-up, .anb-verdict-down")
    assert all(w >= 24 and h >= 24 for w, h, _ in looks), looks  # WCAG 2.5.8's target size
    assert looks[0][2] != looks[1][2], "the chosen ✓ is filled, the other not"
    assert chat.evaluate(CHAT_NOTE_SHOWN) == shown, "the kept verdict leaves the note as typed"
    verdict.scroll_into_view_if_needed()
    chat.screenshot(path=str(artifacts / "verdict-chat.png"))


def test_a_thumb_on_a_run_table_row_keeps_the_verdict(page: Any, artifacts: Path) -> None:
    run_and_wait(page, SECOND)
    wait_for_state(page, SECOND, "Completed")
    run_and_wait(page, TABLE)
    view = cell_at(page, TABLE).locator(".agentnb-runs-view")
    view.locator("tbody tr").nth(1).wait_for()
    assert view.locator("tbody tr").count() == 2
    alice = view.locator("tbody tr").nth(1)
    assert alice.locator(".anb-runs-up").get_attribute("aria-pressed") == "true", (
        "the verdict given in the chat cell"
    )
    view.locator(".anb-runs-meta").fill("user=bob")
    page.wait_for_function(
        "(el) => el.querySelectorAll('tbody tr').length === 1", arg=view.element_handle()
    )
    assert "And AAPL?" in view.locator("tbody tr").first.inner_text()
    bob = view.locator("tbody tr").first
    bob.locator(".anb-runs-note").fill("too vague")
    down = bob.locator(".anb-runs-down")
    down.click()
    page.wait_for_function(
        "(el) => el.querySelector('tbody tr .anb-runs-down').getAttribute('aria-pressed') === "
        "'true'",
        arg=view.element_handle(),
    )
    page.wait_for_function(  # the notice comes after the page that shows the verdict
        "(el) => el.querySelector('.anb-runs-status').textContent === 'Verdict kept: bad'",
        arg=view.element_handle(),
    )
    assert view.locator(".anb-runs-selected").inner_text() == "", "a verdict selects no row"
    shown = view.evaluate(NOTES_SHOWN)  # a person reads what they wrote, in a table that fits
    assert shown == {"notes": ["too vague"], "cut": [], "scrolls": False}, shown
    # the ask cell that first showed bob's run shows the verdict and its note too
    bobs_cell = widget_at(page, SECOND)
    page.wait_for_function(
        "(el) => el.querySelector('.anb-verdict-down').getAttribute('aria-pressed') === 'true'",
        arg=bobs_cell.element_handle(),
    )
    assert bobs_cell.locator(".anb-verdict-note").input_value() == "too vague"
    bob.locator(".anb-runs-note").fill(LONG_NOTE)  # a longer note wraps in its box
    shown = view.evaluate(NOTES_SHOWN)
    assert shown == {"notes": [LONG_NOTE], "cut": [], "scrolls": False}, shown
    view.locator(".anb-runs-meta").fill("")  # both rows: a chosen ✓ and a chosen ✗
    page.wait_for_function(
        "(el) => el.querySelectorAll('tbody tr').length === 2", arg=view.element_handle()
    )
    looks = view.evaluate(THUMBS, ".anb-runs-up, .anb-runs-down")
    assert all(w >= 24 and h >= 24 for w, h, _ in looks), looks  # WCAG 2.5.8's target size
    bob_up, bob_down, alice_up, alice_down = (fill for _, _, fill in looks)
    assert bob_up == alice_down, "neither is chosen: the same plain look"
    assert len({bob_up, bob_down, alice_up}) == 3, "a chosen ✗ and a chosen ✓ look different"
    view.screenshot(path=str(artifacts / "verdict-table.png"))
    set_theme(page, "JupyterLab Dark")
    view.screenshot(path=str(artifacts / "verdict-table-dark.png"))
    widget_at(page, CHAT).screenshot(path=str(artifacts / "verdict-chat-dark.png"))
    set_theme(page, "JupyterLab Light")

    view.locator("tbody tr").first.click()  # bob's run, opened as a chat cell from the table
    view.locator(".anb-runs-open").click()
    opened = cell_at(page, TABLE).locator(".agentnb .anb-verdict-down")
    page.wait_for_function(
        "(el) => el.getAttribute('aria-pressed') === 'true'", arg=opened.element_handle()
    )
    note = cell_at(page, TABLE).locator(".agentnb .anb-verdict-note")
    assert note.input_value() == "too vague"  # the kept note (the longer one was only typed)

    page.evaluate(RESTART_KERNEL)  # the next kernel reads only the history file
    page.evaluate(RUN_CELL, CHECK)
    page.wait_for_function(f"() => ({EXECUTION_COUNT})({CHECK}) > 0", timeout=PATIENCE_MS)
    assert page.evaluate(EXECUTION_COUNT, CHECK) == 1, "the first cell of a new kernel"
    printed = cell_at(page, CHECK).locator(".jp-OutputArea-output").inner_text().splitlines()
    assert json.loads(printed[0]) == [["alice", True], ["bob", False]]
    assert json.loads(printed[1]) == [CHAT_NOTE, "too vague"]
    assert widget_errors(page.errors) == []
