"""The approval cards of coding agents in a real JupyterLab (Playwright, Debian's Chromium):
what a person reads on a card is what will happen. The scripted agent on the official SDK
(``.tools/acp``) asks as Codex's and Claude Code's adapters do, then the real Codex and
Claude Code on the scripted model (``tests/coding_agents.py``):

- a command's card shows the command line and its cwd (the adapter's notes and its whole
  input kept aside, behind "Show whole call"), and no "versions disagree" warning where the request only adds to the
  announced call; the agent's own "always" is offered in its own words (Codex's amends its
  command policy), never as agentnb's "Allow for this run";
- a write is one card, its diff rendered line by line (the call's ``diff`` pointing there,
  not repeated as an escaped string), and the write it approved is made without a second
  card;
- a denial is the person's: the run reads ``Completed · ended at your denial of …``, no red
  box, the card denied by you, never "without your approval";
- the agent's separate messages are separate paragraphs;
- with ``--context``, a read of the notebook that a later cell's turn waits on has its card in
  that cell, and the agent's call is named by its ACP title.

Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import sdk_python
from coding_agents import claude_code, codex, scripted_model
from notebook_pages import (
    PAUSED,
    RUN_CELL,
    notebook_page,
    scroll_to,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

SCRIPTED = Path(__file__).parents[1] / "interop" / "acp_agents" / "scripted_agent.py"


def connect_cell(name: str, command: list[str], folder: Path, env: dict[str, str]) -> str:
    return (
        "%load_ext agentnb\nimport agentnb\n"
        f"agentnb.connect('acp', command={command!r}, name={name!r}, cwd={str(folder)!r}, "
        f"env={env!r})"
    )


def pending(page: Any, index: int) -> Any:
    card = widget_at(page, index).locator('.anb-tool[data-status="awaiting_approval"]')
    scroll_to(card)
    return card


def decided(page: Any, index: int, state: str) -> Any:
    wait_for_state(page, index, state)
    widget = widget_at(page, index)
    assert widget.locator(".anb-error:visible").count() == 0  # no red box
    return widget


def check_command_card(card: Any, command: str, cwd: Path) -> None:
    """The command (quoted as a shell reads it, not as JSON) and its cwd, nothing else on
    the face; the agent's notes and whole input one click away."""
    text = card.locator(".anb-approval-call-text").inner_text()
    assert text.splitlines()[1:] == [f"  command: {command}", f"  cwd: {cwd}", ")"], text
    assert "details and input kept aside" in card.locator(".anb-approval-clipped").inner_text()
    assert "disagree" not in card.inner_text() and card.locator(".anb-approve").inner_text() == (
        "Approve"
    )
    card.locator(".anb-show-whole").click()
    whole = card.locator(".anb-approval-call-text").inner_text()
    assert whole.splitlines()[-2].startswith("  input: {"), whole  # the agent's whole input
    card.locator(".anb-show-whole").click()


def check_write_card(card: Any, path: Path, added: str) -> None:
    text = card.locator(".anb-approval-call-text").inner_text()
    assert "  diff: (the diff below)" in text.splitlines(), text  # read once, as lines
    rows = card.locator(".anb-diff-line")
    kinds = rows.evaluate_all("(rows) => rows.map((r) => [r.dataset.kind, r.textContent])")
    assert ["add", f"+{added}"] in kinds, kinds
    assert ["file", f"+++ b/{str(path).lstrip('/')}"] in kinds, kinds
    assert "disagree" not in card.inner_text()


def check_denied(widget: Any, name: str) -> None:
    card = widget.locator(".anb-tool")
    assert card.count() == 1 and card.get_attribute("data-status") == "denied"
    assert "without your approval" not in widget.inner_text()
    state = widget.locator(".anb-state").last.inner_text()
    assert state == f"Completed · ended at your denial of {name}", state


def test_the_scripted_agents_cards_read_as_what_will_happen(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    server = request.getfixturevalue("jupyterlab")
    command = [str(sdk_python("acp")), str(SCRIPTED)]
    cells = [
        connect_cell("coder", command, tmp_path, {}),
        "%%agent coder\naskrun touch made.txt",
        f"%%agent coder\naskwrite {tmp_path / 'new.txt'} hello there",
        f"%%agent coder\naskwrite {tmp_path / 'other.txt'} never written",
    ]
    with notebook_page(browser, server, "acp-cards.ipynb", cells) as page:
        page.evaluate(RUN_CELL, 1)
        wait_for_state(page, 1, PAUSED)
        card = pending(page, 1)
        check_command_card(card, "/bin/bash -lc 'touch made.txt'", tmp_path)
        page.screenshot(path=str(artifacts / "acp-cards-command.png"))
        card.locator(".anb-approve").click()
        widget = decided(page, 1, "Completed")
        paragraphs = widget.locator(".anb-answer p").all_inner_texts()
        assert paragraphs == [
            "Model metadata not found; this can cause issues.",
            "The command ran.",
        ]

        page.evaluate(RUN_CELL, 2)
        wait_for_state(page, 2, PAUSED)
        card = pending(page, 2)
        check_write_card(card, tmp_path / "new.txt", "hello there")
        page.screenshot(path=str(artifacts / "acp-cards-write.png"))
        card.locator(".anb-approve").click()
        widget = decided(page, 2, "Completed")
        assert widget.locator(".anb-tool").count() == 1  # the write was not asked again
        assert (tmp_path / "new.txt").read_text() == "hello there"

        page.evaluate(RUN_CELL, 3)
        wait_for_state(page, 3, PAUSED)
        pending(page, 3).locator(".anb-deny").click()
        widget = decided(page, 3, "Completed · ended at your denial of edit")
        check_denied(widget, "edit")
        scroll_to(widget.locator(".anb-state").last)
        page.screenshot(path=str(artifacts / "acp-cards-denied.png"))
        assert not (tmp_path / "other.txt").exists()
        assert widget_errors(page.errors) == []


def test_a_notebook_read_a_later_turn_waits_on_is_decided_in_its_own_cell(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    server = request.getfixturevalue("jupyterlab")
    command = [str(sdk_python("acp")), str(SCRIPTED)]
    cells = [
        connect_cell("coder", command, tmp_path, {})
        + "\nagentnb.context.configure(ask_first=True)\nprices = [1.5, 2.5]",
        "%%agent coder --context\nmcp",
        "%%agent coder --context\nmcpcall notebook_variables",
    ]
    with notebook_page(browser, server, "acp-context.ipynb", cells) as page:
        page.evaluate(RUN_CELL, 1)
        wait_for_state(page, 1, "Completed")
        page.evaluate(RUN_CELL, 2)
        card = pending(page, 2)  # the server's card, in the cell whose turn waits on it
        assert card.locator(".anb-tool-name").inner_text() == "notebook_variables"
        assert widget_at(page, 1).locator(".anb-tool").count() == 1  # there too, as before
        page.screenshot(path=str(artifacts / "acp-context-read.png"))
        card.locator(".anb-approve").click()
        widget = decided(page, 2, "Completed")
        said = widget.locator(".anb-answer").last.inner_text()
        assert said.startswith("the notebook said:"), said
        named = widget.locator(".anb-tool-name").all_inner_texts()
        assert "notebook/notebook_variables" in named, named  # its ACP title, not "tool"
        assert widget_errors(page.errors) == []


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scripted_model(tmp_path_factory.mktemp("scripted-model")) as url:
        yield url


def test_codex_and_claude_codes_cards_read_as_what_will_happen(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path, model_url: str
) -> None:
    codex_command, codex_env = codex(model_url, tmp_path / "codex-home")
    claude_command, claude_env = claude_code(model_url, tmp_path / "claude-home")
    server = request.getfixturevalue("jupyterlab")
    notes = tmp_path / "notes.txt"
    cells = [
        connect_cell("codex", codex_command, tmp_path, codex_env)
        + "\n"
        + connect_cell("claude", claude_command, tmp_path, claude_env).split("\n", 2)[2],
        "%%agent codex\nrun touch made.txt",
        f"%%agent claude\nwrite {notes} hello there",
        "%%agent codex\nrun touch again.txt",
    ]
    with notebook_page(browser, server, "acp-real-cards.ipynb", cells) as page:
        page.evaluate(RUN_CELL, 1)
        wait_for_state(page, 1, PAUSED)
        card = pending(page, 1)
        check_command_card(card, "/bin/bash -lc 'touch made.txt'", tmp_path)
        # Codex's "always" amends its command policy: the choice says so in Codex's words
        always = card.locator(".anb-approve-run").inner_text()
        assert always.startswith("Yes, and don't ask again for commands that start with"), always
        page.screenshot(path=str(artifacts / "acp-codex-command.png"))
        card.locator(".anb-deny").click()
        widget = decided(page, 1, "Completed · ended at your denial of execute")
        check_denied(widget, "execute")

        page.evaluate(RUN_CELL, 2)
        wait_for_state(page, 2, PAUSED)
        card = pending(page, 2)
        check_write_card(card, notes, "hello there")
        always = card.locator(".anb-approve-run").inner_text()  # Claude Code's own words
        assert always not in ("", "Allow for this run"), always
        page.screenshot(path=str(artifacts / "acp-claude-write.png"))
        card.locator(".anb-approve").click()
        widget = decided(page, 2, "Completed")
        assert widget.locator(".anb-tool").count() == 1  # one card for the write
        assert notes.read_text() == "hello there\n"
        scroll_to(widget.locator(".anb-state").last)
        page.screenshot(path=str(artifacts / "acp-claude-written.png"))

        page.evaluate(RUN_CELL, 3)
        wait_for_state(page, 3, PAUSED)
        pending(page, 3).locator(".anb-approve").click()
        widget = decided(page, 3, "Completed")
        paragraphs = widget.locator(".anb-answer p").all_inner_texts()
        assert paragraphs[0].endswith("cause issues.") and len(paragraphs) == 2, paragraphs
        assert widget_errors(page.errors) == []
