"""The agent works in the notebook, in a real JupyterLab 4 and Notebook 7 (Playwright, Debian's
Chromium) with agentnb's prebuilt extension: a scripted agent (``tests/cell_agent.py``,
served from the kernel) lists the cells, adds one, edits it and runs it through
``agentnb.notebook_tools()``, each write asking on its card with a real click. Approved, the
cell appears marked as the agent's, the edit's card shows the diff against the cell as it
is, the run's output lands in the notebook and the answer quotes it; denied, the notebook is
unchanged to the byte; a person's typing between the card and the click makes the edit
refused, the person's text kept. The saved notebook holds the agent's cell."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentnb_testing import PATIENCE_S, wait_until
from cell_agent import ADDED, EDITED
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from notebook_pages import (
    APPS,
    PATIENCE_MS,
    PAUSED,
    RUN_CELL,
    cell_at,
    notebook_page,
    wait_for_state,
    widget_at,
    widget_errors,
)

from agentnb.history import HistoryStore

pytestmark = pytest.mark.browser

TESTS = Path(__file__).resolve().parents[1]
SETUP = (
    f"import sys\nsys.path[:0] = [{str(TESTS)!r}]\n"
    "import agentnb\nfrom agentnb_testing import serving_asgi\n"
    "from cell_agent import cell_agent\n"
    "serving = serving_asgi(cell_agent)\n"
    'worker = agentnb.AgentClient("openai", base_url=serving.__enter__() + "/v1", api_key="k")\n'
    "tools = agentnb.notebook_tools()"
)
ASK = 'agentnb.ask("m", "Work in my notebook", client=worker, tools=tools)'
CELLS = [SETUP, ASK]
ASKING = 1
NOTEBOOK_JSON = """
() => {
  const notebook = window.__anbPanel().content.model.toJSON();
  notebook.cells[1].outputs = [];  // the run's own view, which goes on changing
  return JSON.stringify(notebook);
}
"""
CELL_SOURCES = (
    "() => window.__anbPanel().content.widgets.map((c) => c.model.sharedModel.getSource())"
)
AGENT_CELL = """
() => {
  const cells = window.__anbPanel().content.widgets;
  const cell = cells[cells.length - 1].model;
  return {
    source: cell.sharedModel.getSource(),
    by: cell.sharedModel.getMetadata("agentnb"),
    count: cell.executionCount,
    outputs: cell.outputs.toJSON(),
  };
}
"""


def _card(page: Any, name: str) -> Any:
    """The waiting card of the call to ``name``, once it asks."""
    waiting = widget_at(page, ASKING).locator(
        f'.anb-tool[data-status="awaiting_approval"]:has-text("{name}")'
    )
    waiting.wait_for(timeout=PATIENCE_MS)
    return waiting.locator(".anb-approval")


@pytest.mark.parametrize("app", APPS)
def test_the_agent_adds_edits_and_runs_a_cell_each_approved(
    app: str, jupyterlab: Any, notebook7: Any, browser: Any, artifacts: Path
) -> None:
    server = jupyterlab if app == "jupyterlab" else notebook7
    with notebook_page(browser, server, f"cells-{app}.ipynb", CELLS, app=app) as page:
        page.evaluate(RUN_CELL, ASKING)
        add = _card(page, "notebook_add_cell")
        assert "adds a code cell at the end of the notebook" in add.inner_text()
        assert "+print('agent was here')" in add.locator(".anb-diff").inner_text()
        add.locator(".anb-approve").click()

        edit = _card(page, "notebook_edit_cell")
        diff = edit.locator(".anb-diff").inner_text()
        assert "-print('agent was here')" in diff
        assert "+print('agent was here', 6 * 7)" in diff
        assert page.evaluate(AGENT_CELL)["source"] == "print('agent was here')"
        edit.locator(".anb-approve").click()

        run = _card(page, "notebook_run_cell")
        assert "print('agent was here', 6 * 7)" in run.locator(".anb-diff").inner_text()
        page.screenshot(path=str(artifacts / f"notebook-tools-run-card-{app}.png"))
        run.locator(".anb-approve").click()

        wait_for_state(page, ASKING, "Completed")
        answer = widget_at(page, ASKING).locator(".anb-answer").last.inner_text()
        assert "The cell printed: agent was here 42" in answer
        cell = page.evaluate(AGENT_CELL)
        assert cell["source"] == "print('agent was here', 6 * 7)"
        assert cell["by"]["added_by"]
        assert cell["count"] is not None
        assert cell["outputs"][0]["text"] == "agent was here 42\n"
        page.evaluate("() => window.__anbPanel().context.save()")
        saved = json.loads((server.root / f"cells-{app}.ipynb").read_text())
        assert saved["cells"][-1]["metadata"]["agentnb"]["added_by"] == cell["by"]["added_by"]
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
        _the_run_kept_each_operation(server.root / "history.sqlite3", cell["by"]["added_by"])


def _the_run_kept_each_operation(history: Path, local_id: str) -> None:
    """The cell's ``added_by`` is the run's id in the history, whose tool calls keep the
    new cell's source, the edit's diff, the code that ran and what it printed."""
    store = HistoryStore(history)
    wait_until(lambda: len(store.tool_calls([local_id])) == 4, "the run's four calls recorded")
    record = store.get(local_id)
    assert record is not None and record.message == "Work in my notebook"
    calls = {c.name: c for c in store.tool_calls([local_id])}
    assert ADDED in str(calls["notebook_add_cell"].arguments)
    edited = str(calls["notebook_edit_cell"].output)
    assert f"-{ADDED}" in edited and f"+{EDITED}" in edited, edited
    ran = str(calls["notebook_run_cell"].output)
    assert f"  {EDITED}" in ran and "agent was here 42" in ran, ran


def test_a_denied_add_leaves_the_notebook_as_it_was(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "cells-denied.ipynb", CELLS) as page:
        page.evaluate(RUN_CELL, ASKING)
        add = _card(page, "notebook_add_cell")
        wait_for_state(page, ASKING, PAUSED)
        before = page.evaluate(NOTEBOOK_JSON)
        add.locator(".anb-deny").click()
        wait_for_state(page, ASKING, "Completed")
        answer = widget_at(page, ASKING).locator(".anb-answer").last.inner_text()
        assert "Stopped: the user denied this call" in answer
        assert page.evaluate(NOTEBOOK_JSON) == before
        assert page.evaluate(CELL_SOURCES) == CELLS


def test_a_persons_typing_between_the_card_and_the_click_refuses_the_edit(
    jupyterlab: Any, browser: Any
) -> None:
    with notebook_page(browser, jupyterlab, "cells-typed.ipynb", CELLS) as page:
        page.evaluate(RUN_CELL, ASKING)
        _card(page, "notebook_add_cell").locator(".anb-approve").click()
        edit = _card(page, "notebook_edit_cell")
        added = cell_at(page, len(CELLS))
        added.locator(".cm-content").click()
        page.keyboard.press("End")
        page.keyboard.type("  # mine")
        edit.locator(".anb-approve").click()
        wait_for_state(page, ASKING, "Completed")
        answer = widget_at(page, ASKING).locator(".anb-answer").last.inner_text()
        assert "changed" in answer and "Stopped" in answer, answer
        assert page.evaluate(AGENT_CELL)["source"] == "print('agent was here')  # mine"


# ---- a hostile agent ---------------------------------------------------------------------

KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
HOSTILE_SETUP = f"{SETUP}\napi_key = {KEY!r}"


def _hostile(message: str) -> list[str]:
    """The setup and a run of the scripted agent on ``message``, every call approved."""
    return [
        HOSTILE_SETUP,
        f"agentnb.ask('m', {message!r}, client=worker, tools=tools, approve=True)",
    ]


def _answer_to(page: Any, message: str) -> str:
    page.evaluate(RUN_CELL, ASKING)
    wait_for_state(page, ASKING, "Completed")
    return str(widget_at(page, ASKING).locator(".anb-answer").last.inner_text())


def test_a_key_a_cell_prints_is_redacted_in_what_goes_back(jupyterlab: Any, browser: Any) -> None:
    message = "Run: print('the key is', api_key)"
    with notebook_page(browser, jupyterlab, "cells-key.ipynb", _hostile(message)) as page:
        answer = _answer_to(page, message)
        assert "the key is ***" in answer, answer
        assert KEY not in answer and KEY[:12] not in answer
        assert KEY in page.evaluate(AGENT_CELL)["outputs"][0]["text"]  # the person sees it


def test_a_markdown_cell_with_script_is_rendered_sanitized(jupyterlab: Any, browser: Any) -> None:
    message = (
        "Markdown: **hi**\n\n<script>window.__pwned = 1</script>\n\n"
        '<img src=x onerror="window.__pwned = 2">'
    )
    with notebook_page(browser, jupyterlab, "cells-markdown.ipynb", _hostile(message)) as page:
        assert "Added: added cell" in _answer_to(page, message)
        page.evaluate(
            "() => { const cells = window.__anbPanel().content.widgets;"
            " cells[cells.length - 1].rendered = true; }"
        )
        rendered = cell_at(page, len(CELLS)).locator(".jp-RenderedMarkdown")
        rendered.locator("strong").wait_for(timeout=PATIENCE_MS)
        assert rendered.locator("script").count() == 0
        assert page.evaluate("() => window.__pwned === undefined")


def test_a_cell_of_another_notebook_is_refused_unasked(jupyterlab: Any, browser: Any) -> None:
    message = "Edit: 0b7c2a9e-of-another-notebook"
    cells = [HOSTILE_SETUP, f"agentnb.ask('m', {message!r}, client=worker, tools=tools)"]
    with notebook_page(browser, jupyterlab, "cells-other.ipynb", cells) as page:
        answer = _answer_to(page, message)
        assert "has no cell '0b7c2a9e-of-another-notebook'" in answer, answer
        assert page.evaluate(CELL_SOURCES) == cells


def test_a_thousand_adds_are_bounded(jupyterlab: Any, browser: Any) -> None:
    with notebook_page(browser, jupyterlab, "cells-flood.ipynb", _hostile("Flood: ")) as page:
        answer = _answer_to(page, "Flood: ")
        assert "added 50 cells already, the most they add" in answer, answer
        assert len(page.evaluate(CELL_SOURCES)) == len(CELLS) + 50


# ---- any MCP client: the notebook's MCP server with write tools ---------------------------

SERVING = (
    "import json, agentnb, agentnb.context\n"
    "yes = agentnb.context.serve(write=True, approve=True)\n"
    "no = agentnb.context.serve(write=True, approve=False)\n"
    "json.dump({'yes': [yes.url, yes.token, yes.handle.run.local_id],"
    " 'no': [no.url, no.token]}, open('servers.json', 'w'))"
)


def _mcp_calls(url: str, token: str, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    """The tools listed, then each call's result, made by the ``mcp`` SDK's own client in
    turn (on a thread of its own: Playwright's loop holds this one): ``calls`` may name the
    cell the last add made as ``{cell}``, its hash as ``{hash}``."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _called(url, token, calls)).result()


async def _called(url: str, token: str, calls: tuple[tuple[str, dict[str, Any]], ...]) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}"}
    results: list[Any] = []
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(PATIENCE_S)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        results.append((await client.list_tools()).tools)
        named = {"cell": "", "hash": ""}
        for tool, arguments in calls:
            filled = {k: str(v).format(**named) for k, v in arguments.items()}
            results.append(await client.call_tool(tool, filled))
            added = re.search(r"cell (\S+) \(source hash (\w+)\)", results[-1].content[0].text)
            if added is not None:
                named = {"cell": added[1], "hash": added[2]}
    return results


def test_an_mcp_client_adds_and_runs_a_cell_through_the_servers_gate(
    jupyterlab: Any, browser: Any
) -> None:
    with notebook_page(browser, jupyterlab, "cells-mcp.ipynb", [SERVING]) as page:
        servers = json.loads((jupyterlab.root / "servers.json").read_text())
        url, token, local_id = servers["yes"]
        calls = [
            ("notebook_add_cell", {"source": "print(6 * 7)"}),
            ("notebook_run_cell", {"cell_id": "{cell}", "source_hash": "{hash}"}),
        ]
        listed, added, ran = _mcp_calls(url, token, *calls)
        hints = {t.name: t.annotations.read_only_hint for t in listed}
        assert hints["notebook_variables"] and hints["notebook_list_cells"]
        assert not hints["notebook_add_cell"] and not hints["notebook_run_cell"]
        assert not added.is_error and not ran.is_error, ran.content[0].text
        assert "  print(6 * 7)" in ran.content[0].text and "42" in ran.content[0].text
        cell = page.evaluate(AGENT_CELL)
        assert cell["source"] == "print(6 * 7)" and cell["by"]["added_by"] == local_id
        assert cell["outputs"][0]["text"] == "42\n"

        before = page.evaluate(CELL_SOURCES)
        url, token = servers["no"]
        _, denied = _mcp_calls(url, token, ("notebook_add_cell", {"source": "1"}))
        assert denied.is_error and "denied" in denied.content[0].text, denied.content[0].text
        assert page.evaluate(CELL_SOURCES) == before


def test_a_cell_past_its_time_limit_is_interrupted(jupyterlab: Any, browser: Any) -> None:
    """The limit is timed off the kernel's loop, which the agent's running cell holds."""
    message = "Run: import time\ntime.sleep(600)"
    limited = "import agentnb._app.context.live_notebook as live\nlive.CELL_TIME_LIMIT = 3\n"
    cells = _hostile(message)
    with notebook_page(
        browser, jupyterlab, "cells-limit.ipynb", [limited + cells[0], cells[1]]
    ) as page:
        answer = _answer_to(page, message)
        assert "): interrupted" in answer, answer
        stopped = f"() => ({AGENT_CELL})().outputs.some((o) => o.ename === 'KeyboardInterrupt')"
        page.wait_for_function(stopped, timeout=PATIENCE_MS)


def test_stop_interrupts_the_agents_running_cell_and_ends_the_turn(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    """The chat cell's Stop reaches a kernel whose shell the agent's cell holds: the page
    interrupts the kernel, then the run ends, its call to the cell stopped, not running.
    The cell's limit is past the test's patience: only Stop can end the cell in time."""
    message = "Run: import time\ntime.sleep(600)"
    unlimited = "import agentnb._app.context.live_notebook as live\nlive.CELL_TIME_LIMIT = 3600\n"
    setup, run = _hostile(message)
    with notebook_page(browser, jupyterlab, "cells-stop.ipynb", [unlimited + setup, run]) as page:
        page.evaluate(RUN_CELL, ASKING)
        running = "() => { const cells = window.__anbPanel().content.widgets;"
        running += " return cells.length > 2 && cells[cells.length - 1].promptNode"
        running += ".textContent.includes('*'); }"
        page.wait_for_function(running, timeout=PATIENCE_MS)
        widget_at(page, ASKING).locator(".anb-stop").click()
        stopped = f"() => ({AGENT_CELL})().outputs.some((o) => o.ename === 'KeyboardInterrupt')"
        page.wait_for_function(stopped, timeout=PATIENCE_MS)
        wait_for_state(page, ASKING, "Cancelled")
        page.screenshot(path=str(artifacts / "notebook-tools-stopped.png"))
        store = HistoryStore(jupyterlab.root / "history.sqlite3")
        local_id = page.evaluate(AGENT_CELL)["by"]["added_by"]
        wait_until(lambda: len(store.tool_calls([local_id])) == 2, "the run's two calls recorded")
        ran = next(c for c in store.tool_calls([local_id]) if c.name == "notebook_run_cell")
        assert ran.status == "failed" and "stopped" in str(ran.error), ran
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


UNDO_AT = 2
RUN_UNDO = """
([index, localId]) => {
  const cell = window.__anbPanel().content.widgets[index];
  cell.model.sharedModel.setSource(
    `try:\\n    print(await agentnb.undo_notebook(${JSON.stringify(localId)}))\\n` +
    `except ValueError as e:\\n    print('refused:', e)`);
}
"""
UNDO_SAID = (
    "(index) => window.__anbPanel().content.widgets[index].model.outputs.toJSON()"
    ".map((o) => o.text || '').join('')"
)


def _undo(page: Any, local_id: str) -> str:
    """What ``agentnb.undo_notebook(local_id)`` said, run from the cell :data:`UNDO_AT`."""
    page.evaluate(RUN_UNDO, [UNDO_AT, local_id])
    page.evaluate(RUN_CELL, UNDO_AT)
    page.wait_for_function(f"(i) => ({UNDO_SAID})(i).length > 0", arg=UNDO_AT)
    return str(page.evaluate(UNDO_SAID, UNDO_AT))


def test_undo_takes_back_the_runs_cells_and_names_what_a_person_changed(
    jupyterlab: Any, browser: Any
) -> None:
    """The run added a cell and edited it: undone, the edit is taken back and the cell
    removed. Again, with a person's typing in the agent's cell: it is kept, and named."""
    ask = ASK.replace(")", ", approve=True)")
    cells = [SETUP, ask, "# undo"]
    with notebook_page(browser, jupyterlab, "cells-undo-run.ipynb", cells) as page:
        page.evaluate(RUN_CELL, ASKING)
        wait_for_state(page, ASKING, "Completed")
        local_id = page.evaluate(AGENT_CELL)["by"]["added_by"]
        said = _undo(page, local_id)
        assert "restored cell" in said and "removed cell" in said, said
        assert len(page.evaluate(CELL_SOURCES)) == len(cells)

        page.evaluate(RUN_CELL, ASKING)
        wait_for_state(page, ASKING, "Completed", turn=-1)
        cell = page.evaluate(AGENT_CELL)
        assert cell["by"]["added_by"] != local_id and cell["source"] == EDITED
        mine = f"{EDITED}  # mine"
        page.evaluate(
            "(s) => { const c = window.__anbPanel().content.widgets;"
            " c[c.length - 1].model.sharedModel.setSource(s); }",
            mine,
        )
        said = _undo(page, cell["by"]["added_by"])
        assert said.startswith("refused: not undone: cell ") and "changed" in said, said
        assert page.evaluate(CELL_SOURCES)[-1] == mine


def test_a_person_undoes_the_agents_added_cell_as_their_own_edit(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    """The extension adds the cell on the notebook's own model, so JupyterLab's undo (command
    mode ``z``, Edit › Undo Cell Operation) takes it away as a person's edit; the kernel side
    reads the notebook as it is then, and the agent adds a cell again."""
    message = "Markdown: **undo me**"
    cells = _hostile(message)
    with notebook_page(browser, jupyterlab, "cells-undo.ipynb", cells) as page:
        first = _answer_to(page, message)
        assert "Added: added cell" in first
        assert page.evaluate(CELL_SOURCES)[len(cells)] == "**undo me**"
        cell_at(page, 0).locator(".cm-content").click()
        page.keyboard.press("Escape")  # command mode
        page.keyboard.press("z")
        page.wait_for_function(f"() => window.__anbPanel().content.widgets.length === {len(cells)}")
        page.screenshot(path=str(artifacts / "notebook-tools-undone.png"))
        assert page.evaluate(CELL_SOURCES) == cells
        again = _answer_to(page, message)  # the kernel side goes on: another cell, another id
        assert "Added: added cell" in again and again != first
        page.wait_for_function(
            f"() => window.__anbPanel().content.widgets.length === {len(cells) + 1}"
        )
        assert page.evaluate(CELL_SOURCES) == [*cells, "**undo me**"]
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
