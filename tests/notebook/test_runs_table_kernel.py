"""The run table to browse in a real Jupyter kernel: ``agentnb.runs()`` as a cell's last line
(and ``%agent_runs``) displays the widget view, then the static table with its text; a page
asked for by the view is answered in the ``page`` trait (a bad request with its error); Open
and Compare show the run and the comparison as new outputs of the table's cell; a notebook
executed by nbclient keeps the first page in its widget state."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import history_records
from IPython.core.interactiveshell import InteractiveShell
from kernel_session import WIDGET_MIME, Session, executed_cell, running_kernel

from agentnb.history import HistoryStore, RunHistory

pytestmark = pytest.mark.kernel

jupyter_client = pytest.importorskip("jupyter_client")
COUNT = 60


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runs-table") / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records(history_records(COUNT))
    return path


@pytest.fixture(scope="module")
def kernel(history_file: Path) -> Iterator[Any]:
    with running_kernel(env={**os.environ, "AGENTNB_HISTORY": str(history_file)}) as client:
        yield client


def table_outputs(session: Session, msg_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    displays = [m["content"]["data"] for m in session.of(msg_id, "display_data")]
    assert session.of(msg_id, "execute_result") == [], "shown once, not echoed"
    assert len(displays) == 2, displays
    return displays[0], displays[1]


def send_to_view(kernel: Any, comm_id: str, content: dict[str, Any]) -> None:
    message = kernel.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}
    )
    kernel.shell_channel.send(message)


def page_states(session: Session, comm_id: str) -> list[dict[str, Any]]:
    return [d["state"]["page"] for d in session.comm_data(comm_id) if "page" in d.get("state", {})]


def test_a_history_as_a_cells_result_is_the_view_then_the_static_table(kernel: Any) -> None:
    session = Session(kernel)
    session.execute("import agentnb\n%load_ext agentnb")
    shown = session.execute("agentnb.runs(agent='echo')")
    view, static = table_outputs(session, shown)
    assert set(view) == {WIDGET_MIME, "text/plain"} and view["text/plain"] == ""
    assert set(static) == {"text/html", "text/plain"}
    assert re.match(
        r'<div class="agentnb-static [^"]*mathjax_ignore[^"]*"[^>]*><div class="agentnb-runs"',
        static["text/html"],
    )
    assert "agentnb-runs-table" in static["text/html"] and "<style>" in static["text/html"]
    assert static["text/plain"].startswith(f"RunHistory: {COUNT // 4} runs")
    opened = [m for m in session.of(shown, "comm_open")]
    table = next(m for m in opened if m["content"]["comm_id"] == view[WIDGET_MIME]["model_id"])
    state = table["content"]["data"]["state"]
    assert state["page"]["total"] == COUNT // 4 and len(state["page"]["rows"]) == COUNT // 4
    assert state["title"].startswith(f"RunHistory: {COUNT // 4} runs")
    assert [c["title"] for c in state["columns"]][:3] == ["started", "agent", "status"]

    magic = session.execute("%agent_runs --limit 5")
    view, static = table_outputs(session, magic)
    assert WIDGET_MIME in view and static["text/plain"].startswith("RunHistory: 5 runs")

    printed = session.execute("print(repr(agentnb.runs(limit=2)).splitlines()[0])")
    assert session.stdout(printed).strip().startswith("RunHistory: 2 runs"), "repr unchanged"


def test_the_view_asks_for_pages_and_opens_and_compares_runs_below(kernel: Any) -> None:
    session = Session(kernel)
    session.execute("import agentnb")
    shown = session.execute("table = agentnb.browse(agentnb.runs())\ntable")
    view, _ = table_outputs(session, shown)
    comm_id = view[WIDGET_MIME]["model_id"]

    query = {"sort": {"column": "tokens", "descending": True}, "filters": {"agent": "writer"},
             "search": "", "offset": 0, "limit": 5}  # fmt: skip
    send_to_view(kernel, comm_id, {"kind": "page", "id": 1, "query": query})
    send_to_view(
        kernel, comm_id, {"kind": "page", "id": 2, "query": {**query, "sort": {"column": "x"}}}
    )
    send_to_view(kernel, comm_id, {"kind": "page", "id": 3})
    session.execute("pass")
    pages = page_states(session, comm_id)
    first, bad, empty = pages[-3], pages[-2], pages[-1]
    assert empty["id"] == 3 and empty["error"] == "the view asked for no page"
    assert first["id"] == 1 and first["error"] is None and first["total"] == COUNT // 4
    assert len(first["rows"]) == 5 and first["query"] == query
    at = first["columns"].index("tokens")
    tokens = [int(r["cells"][at][0].replace(",", "") or 0) for r in first["rows"]]
    assert tokens == sorted(tokens, reverse=True)
    assert bad["id"] == 2 and "cannot sort by 'x'" in bad["error"]
    assert bad["rows"] == first["rows"], "a bad request keeps the rows shown"

    ids = [row["id"] for row in first["rows"][:2]]
    update = {"method": "update", "state": {"selection": ids}, "buffer_paths": []}
    kernel.shell_channel.send(kernel.session.msg("comm_msg", {"comm_id": comm_id, "data": update}))
    probe = session.execute("import json\nprint(json.dumps(table.selected.local_ids))")
    assert json.loads(session.stdout(probe)) == ids

    send_to_view(kernel, comm_id, {"kind": "compare", "ids": ids})
    send_to_view(kernel, comm_id, {"kind": "open", "ids": ids[:1]})
    send_to_view(kernel, comm_id, {"kind": "open", "ids": ids})
    session.execute("pass")
    below = [
        m for m in session.messages
        if m["msg_type"] in ("display_data", "update_display_data")
        and m["parent_header"].get("msg_id") == shown and m["content"].get("transient")
    ]  # fmt: skip
    compared, empty, opened_view, opened_copy = (m["content"]["data"] for m in below[:4])
    assert [m["msg_type"] for m in below[:2]] == ["display_data"] * 2, "new outputs of the cell"
    assert 'class="agentnb-compare ' in compared["text/html"] and empty == {"text/plain": ""}
    assert [m["msg_type"] for m in below[2:4]] == ["update_display_data"] * 2, "then replaced"
    assert WIDGET_MIME in opened_view
    assert "agentnb-static" in opened_copy["text/html"]
    opened_state = next(
        m["content"]["data"]["state"] for m in session.messages
        if m["msg_type"] == "comm_open"
        and m["content"]["comm_id"] == opened_view[WIDGET_MIME]["model_id"]
    )  # fmt: skip
    # Open shows the run as agentnb.show() does: with its Continue control, which says here
    # why it cannot go on (the generated runs' connection does not exist in this kernel).
    assert opened_state["options"]["can_continue"] is True
    assert "connection" in opened_state["options"]["continue_note"]
    notices = [
        d["content"] for d in session.comm_data(comm_id)
        if d.get("method") == "custom" and d["content"].get("kind") == "notice"
    ]  # fmt: skip
    assert [n["error"] for n in notices] == [False, False, True]
    assert notices[-1]["text"] == "Open shows one run; 2 are selected"

    send_to_view(kernel, comm_id, {"kind": "compare", "ids": ids})
    session.execute("pass")
    closed = [m["content"]["comm_id"] for m in session.messages if m["msg_type"] == "comm_close"]
    assert opened_view[WIDGET_MIME]["model_id"] in closed, "the replaced chat cell is closed"


def test_nbclient_keeps_the_first_page_in_the_widget_state(history_file: Path) -> None:
    env = {**os.environ, "AGENTNB_HISTORY": str(history_file)}
    (view, static), state = executed_cell("import agentnb\nagentnb.runs(status='failed')", env)
    assert static.data["text/plain"].startswith(f"RunHistory: {COUNT // 5} runs")
    page = state[view.data[WIDGET_MIME]["model_id"]]["page"]
    assert page["total"] == COUNT // 5 and len(page["rows"]) == COUNT // 5
    statuses = {row["cells"][page["columns"].index("status")][0] for row in page["rows"]}
    assert statuses == {"failed"}


def test_outside_a_kernel_a_history_shows_as_before() -> None:
    shell = InteractiveShell.instance()
    history = RunHistory.from_records(history_records(3))
    data, _ = shell.display_formatter.format(history)
    assert WIDGET_MIME not in data
    assert data["text/plain"] == repr(history)
    assert data["text/html"].startswith('<div class="agentnb-runs"')
    assert "agentnb-static" not in data["text/html"]
