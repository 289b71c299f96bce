"""A coding agent's command of several lines on its approval card, in a real JupyterLab
(Debian's Chromium), light and dark: the command reads as its lines, each under the first
(not a JSON string with ``\\n``), a script of five hundred lines shows its first lines with
what is hidden counted, and its whole call scrolls in its box, the buttons still in reach.
The approval's reason is said once: not above the command it repeats (Codex's title), and
one of several lines as its lines, each later one hung under the first.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    CONTRASTS,
    PAUSED,
    THEMES,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

SETUP = """%load_ext agentnb
import time
import agentnb
from agentnb._core.run import Run
from agentnb._core.transcript import CardArguments
from agentnb.events import RunPaused, ToolApprovalRequested, ToolCallStarted

def asking(reason="run the tests", **arguments):
    now = time.time()
    run = Run(agent="coder", message="Run the tests")
    card = CardArguments(arguments)
    run.apply(ToolCallStarted(call_id="c1", name="execute", arguments=card, received_at=now))
    run.apply(ToolApprovalRequested(call_id="c1", reason=reason, received_at=now))
    run.apply(RunPaused(received_at=now))
    return run
"""
COMMAND = "/bin/bash -lc 'cd src\n  pytest -q'"
SCRIPT = "\n".join(f"echo {i}" for i in range(500))
REPEATED = "/bin/bash -lc 'cd src\npytest -q'"
REASON = "runs the checks first\nthen the linter\u202e\nApprove"
LINE_LEFTS = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return [...range.getClientRects()].map((rect) => Math.round(rect.left));
}"""
FACE = [
    "execute(",
    "  command: /bin/bash -lc 'cd src",
    "             pytest -q'",
    "  cwd: /work",
    ")",
]


@pytest.fixture(scope="module")
def lab_page(browser: Any, jupyterlab: Any) -> Iterator[Any]:
    cells = [
        SETUP,
        f"agentnb.show(asking(command={COMMAND!r}, cwd='/work'))",
        f"agentnb.show(asking(script={SCRIPT!r}))",
        f"agentnb.show(asking('cd src\\npytest -q\\n', command={REPEATED!r}, cwd='/work'))",
        f"agentnb.show(asking({REASON!r}, command='make check', cwd='/work'))",
    ]
    with notebook_page(browser, jupyterlab, "card-lines.ipynb", cells, run_first=5) as page:
        yield page


def card_of(page: Any, index: int) -> Any:
    wait_for_state(page, index, PAUSED)
    return widget_at(page, index).locator(".anb-approval")


@pytest.mark.parametrize("theme", THEMES)
def test_a_command_of_several_lines_reads_as_its_lines(
    lab_page: Any, theme: str, artifacts: Path
) -> None:
    page = lab_page
    set_theme(page, theme)
    light = "true" if theme.endswith("Light") else "false"
    box = card_of(page, 1)
    assert box.locator(".anb-approval-call-text").inner_text().splitlines() == FACE
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"card-lines-command-{light}.png"))
    low = [t for t in box.evaluate(CONTRASTS) if t["ratio"] < 4.5 and not t["decorative"]]
    assert low == [], low

    box = card_of(page, 2)
    text = box.locator(".anb-approval-call-text")
    lines = text.inner_text().splitlines()
    assert lines[1:3] == ["  script: echo 0", "          echo 1"], lines
    assert lines[-2].startswith("          echo 11… (+") and len(lines) == 12 + 2, lines
    box.get_by_role("button", name="Show every argument value whole").click()
    assert "echo 499" in text.inner_text()
    height, scrolled = text.evaluate("(el) => [el.clientHeight, el.scrollHeight]")
    assert scrolled > 10 * height, (height, scrolled)  # the whole call scrolls in its box
    approve = box.locator(".anb-approve")
    approve.scroll_into_view_if_needed()
    top = text.bounding_box()["y"]
    assert approve.bounding_box()["y"] - top < 2 * height  # the buttons right below it
    page.screenshot(path=str(artifacts / f"card-lines-whole-script-{light}.png"))
    box.get_by_role("button", name="Show every argument value whole").click()
    assert widget_errors(page.errors) == []


@pytest.mark.parametrize("theme", THEMES)
def test_the_reason_is_said_once_and_its_lines_hang_under_the_first(
    lab_page: Any, theme: str, artifacts: Path
) -> None:
    page = lab_page
    set_theme(page, theme)
    light = "true" if theme.endswith("Light") else "false"
    repeated = card_of(page, 3)
    ask = repeated.locator(".anb-approval-ask")
    assert ask.inner_text() == "Approval needed before execute runs.", ask.inner_text()
    assert "pytest -q" in repeated.locator(".anb-approval-call-text").inner_text()
    box = card_of(page, 4)
    ask = box.locator(".anb-approval-ask")
    said = ["Approval needed: runs the checks first", "then the linter⟨U+202E⟩", "Approve"]
    assert ask.inner_text().splitlines() == said, ask.inner_text()
    first, *later = ask.evaluate(LINE_LEFTS)
    assert later and all(left > first + 10 for left in later), (first, later)
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"card-lines-reason-{light}.png"))
    low = [t for t in box.evaluate(CONTRASTS) if t["ratio"] < 4.5 and not t["decorative"]]
    assert low == [], low
    assert widget_errors(page.errors) == []
