"""Coding agents work in the notebook through agentnb's gate, in a real JupyterLab 4
(Playwright, Debian's Chromium, agentnb's extension): the real Claude Code and Codex over ACP
on the scripted model (``tests/coding_agents.py``; its ``mcpcall TOOL JSON`` calls the MCP tool
the agent declares by that name), handed the notebook's tools with ``--notebook``. Each add,
edit and run asks on the chat cell's card; approved, the cell appears marked as the agent's,
its edit's card shows the diff, its run's output lands in the notebook and the agent's answer
quotes it; a denial leaves the notebook unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from coding_agents import claude_code, codex, scripted_model
from notebook_pages import (
    PATIENCE_MS,
    notebook_page,
    scroll_to,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

AGENTS = {"claude": claude_code, "codex": codex}
ADDED = "print(6 * 7)"
EDITED = "print(6 * 7, 'edited')"
SOURCES = "() => window.__anbPanel().content.widgets.map((c) => c.model.sharedModel.getSource())"
SAID = re.compile(r"cell (?P<id>\S+) \(source hash (?P<hash>[0-9a-f]{16})\)")
ASK_CELL = 1
SET_AND_RUN = """
([index, code]) => {
  const panel = window.__anbPanel();
  panel.content.widgets[index].model.sharedModel.setSource(code);
  panel.content.activeCellIndex = index;
  window.jupyterapp.commands.execute("notebook:run-cell");
}
"""
LAST_CELL = """
() => {
  const cells = window.__anbPanel().content.widgets;
  const cell = cells[cells.length - 1].model;
  return { source: cell.sharedModel.getSource(), by: cell.sharedModel.getMetadata("agentnb"),
           outputs: cell.outputs.toJSON(), count: cells.length };
}
"""


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with scripted_model(tmp_path_factory.mktemp("scripted-model")) as url:
        yield url


def ask(page: Any, agent: str, tool: str, arguments: dict[str, str]) -> Any:
    """The agent asked to call ``tool``: its card, waiting, with what the call writes or runs
    drawn (the agent's own permission for the call, where it asks one, given first; a card
    is drawn as soon as the call awaits, its diff once the notebook's server has said it)."""
    code = f"%%agent {agent} --notebook\nmcpcall {tool} {json.dumps(arguments)}"
    page.evaluate(SET_AND_RUN, [ASK_CELL, code])
    card = widget_at(page, ASK_CELL).locator(
        f'.anb-tool[data-status="awaiting_approval"]:has-text("{tool}") '
        ".anb-approval:has(.anb-diff:not([hidden]))"
    )
    card.wait_for(timeout=PATIENCE_MS)
    scroll_to(card)
    return card


def answered(page: Any) -> str:
    wait_for_state(page, ASK_CELL, "Completed")
    return str(widget_at(page, ASK_CELL).locator(".anb-answer").last.inner_text())


@pytest.mark.parametrize("agent", AGENTS)
def test_a_coding_agent_adds_edits_and_runs_a_cell_each_approved(
    agent: str,
    request: pytest.FixtureRequest,
    browser: Any,
    artifacts: Path,
    tmp_path: Path,
    model_url: str,
) -> None:
    command, env = AGENTS[agent](model_url, tmp_path / "home")
    server = request.getfixturevalue("jupyterlab")
    connect = (
        "%load_ext agentnb\nimport agentnb\n"
        f"agentnb.connect('acp', command={command!r}, name={agent!r}, cwd={str(tmp_path)!r}, "
        f"env={env!r})"
    )
    cells = [connect, ""]
    shot = artifacts / f"acp-notebook-last-{agent}.png"
    with notebook_page(browser, server, f"acp-cells-{agent}.ipynb", cells, last_shot=shot) as page:
        card = ask(page, agent, "notebook_add_cell", {"source": ADDED})
        page.screenshot(path=str(artifacts / f"acp-notebook-add-{agent}.png"))
        assert f"+{ADDED}" in card.locator(".anb-diff").inner_text()
        card.locator(".anb-approve").click()
        added = SAID.search(answered(page))
        assert added is not None
        cell = page.evaluate(LAST_CELL)
        assert cell["source"] == ADDED and cell["by"]["added_by"]

        edit = {"cell_id": added["id"], "source": EDITED, "source_hash": added["hash"]}
        card = ask(page, agent, "notebook_edit_cell", edit)
        diff = card.locator(".anb-diff").inner_text()
        assert f"-{ADDED}" in diff and f"+{EDITED}" in diff, diff
        card.locator(".anb-approve").click()
        edited = SAID.search(answered(page))
        assert edited is not None and page.evaluate(LAST_CELL)["source"] == EDITED

        run = {"cell_id": added["id"], "source_hash": edited["hash"]}
        card = ask(page, agent, "notebook_run_cell", run)
        assert EDITED in card.locator(".anb-diff").inner_text()
        card.locator(".anb-approve").click()
        answer = answered(page)
        assert "42 edited" in answer, answer
        assert page.evaluate(LAST_CELL)["outputs"][0]["text"] == "42 edited\n"
        page.screenshot(path=str(artifacts / f"acp-notebook-ran-{agent}.png"))

        before = page.evaluate(SOURCES)[ASK_CELL + 1 :]
        card = ask(page, agent, "notebook_add_cell", {"source": "print('never')"})
        card.locator(".anb-deny").click()
        assert "denied" in answered(page)
        assert page.evaluate(SOURCES)[ASK_CELL + 1 :] == before
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
