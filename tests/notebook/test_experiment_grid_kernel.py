"""An experiment's question × arm grid in a real Jupyter kernel: ``agentnb.evals.experiment(name)``
as a cell's last line displays the grid's view (each cell's run id for its Open) and then its
static table; the view's Open shows that cell's run below the grid, its Compare the
question's runs side by side, as the run table's buttons do; ``exp.run(question, arm)`` and
``exp.pair(question)`` give the same runs to ``agentnb.show`` and ``agentnb.compare``; a
notebook executed by nbclient keeps the grid in its widget state and the static table in its
outputs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_session import WIDGET_MIME, Session, executed_cell, running_kernel

import agentnb
import agentnb.evals
from agentnb.server import ServerHandle

pytestmark = pytest.mark.kernel

jupyter_client = pytest.importorskip("jupyter_client")

QUESTIONS = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA"},
    {"id": "pair", "question": "Compare AAPL and MSFT", "expected": "AAPL"},
]


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory, server: ServerHandle) -> Path:
    path = tmp_path_factory.mktemp("grid") / "history.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTNB_HISTORY", str(path))
        agentnb.connect("operativus", base_url=server.base_url, api_key=server.api_key, name="grid")
        agentnb.evals.experiment(
            "quotes", ["finance_agent", "echo"], QUESTIONS, via="grid", progress=False
        )
    return path


@pytest.fixture(scope="module")
def kernel(history_file: Path) -> Iterator[Any]:
    with running_kernel(env={**os.environ, "AGENTNB_HISTORY": str(history_file)}) as client:
        yield client


def send_to_view(kernel: Any, comm_id: str, content: dict[str, Any]) -> None:
    message = kernel.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}
    )
    kernel.shell_channel.send(message)


def test_the_grid_opens_a_cells_run_and_compares_a_questions_runs_below(kernel: Any) -> None:
    session = Session(kernel)
    session.execute("import agentnb, agentnb.evals")
    shown = session.execute("exp = agentnb.evals.experiment('quotes')\nexp")
    assert session.of(shown, "execute_result") == [], "shown once, not echoed"
    view, static = (m["content"]["data"] for m in session.of(shown, "display_data"))
    assert set(view) == {WIDGET_MIME, "text/plain"}
    assert "agentnb-static" in static["text/html"] and "agentnb-experiment" in static["text/html"]
    assert static["text/plain"].startswith("experiment quotes: 2 questions × 2 arms")
    comm_id = view[WIDGET_MIME]["model_id"]
    state = next(
        m["content"]["data"]["state"]
        for m in session.of(shown, "comm_open")
        if m["content"]["comm_id"] == comm_id
    )
    grid = state["grid"]
    assert grid["arms"] == ["finance_agent", "echo"]
    assert [row["question"] for row in grid["rows"]] == [
        "[nvda] What is NVDA trading at?",
        "[pair] Compare AAPL and MSFT",
    ]
    nvda, pair = ([cell["id"] for cell in row["cells"]] for row in grid["rows"])
    probe = session.execute(
        "import json\n"
        "print(json.dumps([exp.run('nvda', 'echo').local_id, exp.pair('pair').local_ids,"
        " exp.run(1, 0).local_id]))"
    )
    assert json.loads(session.stdout(probe)) == [nvda[1], pair, pair[0]]

    send_to_view(kernel, comm_id, {"kind": "open", "ids": [nvda[1]]})
    send_to_view(kernel, comm_id, {"kind": "compare", "ids": pair})
    session.execute("pass")
    below = [
        m for m in session.messages
        if m["msg_type"] in ("display_data", "update_display_data")
        and m["parent_header"].get("msg_id") == shown and m["content"].get("transient")
    ]  # fmt: skip
    # three outputs below the grid (the run's view, its copy, what the grid adds beside them:
    # nothing here, no run changed files), then the comparison in the copy's place, and what
    # the grid adds beside the compared runs in the third
    opened_view, opened_copy, _, compared, _ = (m["content"]["data"] for m in below[:5])
    assert WIDGET_MIME in opened_view and "What is NVDA trading at?" in opened_copy["text/plain"]
    assert [m["msg_type"] for m in below] == ["display_data"] * 3 + ["update_display_data"] * 2, (
        "then replaced"
    )
    assert 'class="agentnb-compare ' in compared["text/html"]
    assert "Compare AAPL and MSFT" in compared["text/plain"]
    notices = [
        d["content"]["text"] for d in session.comm_data(comm_id)
        if d.get("method") == "custom" and d["content"].get("kind") == "notice"
    ]  # fmt: skip
    assert notices == ["Opened below.", "Compared below."]


def test_nbclient_keeps_the_grid_and_its_static_table(history_file: Path) -> None:
    env = {**os.environ, "AGENTNB_HISTORY": str(history_file)}
    (view, static), state = executed_cell(
        "import agentnb, agentnb.evals\nagentnb.evals.experiment('quotes')", env
    )
    assert "run " in static.data["text/html"] and "agentnb.show(" in static.data["text/html"]
    assert len(state[view.data[WIDGET_MIME]["model_id"]]["grid"]["rows"]) == 2
