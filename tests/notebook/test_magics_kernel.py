"""The magics in a real Jupyter kernel, as a notebook runs them.

Executed with nbclient (what ``jupyter nbconvert --execute``, papermill and nbval use) or
driven with jupyter_client: a question ending in ``?`` runs; a refused run fails its cell with
its error shown once and stops a top-to-bottom run; the first-use notice is ordinary output,
not a red stderr box; and interrupting the idle kernel (JupyterLab's ■) stops a run that
streams in the background.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from kernel_session import notebook_client, running_kernel

from agentnb.server import ServerHandle

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("jupyter_client")


def connect_code(server: ServerHandle, **headers: str) -> str:
    return (
        "%load_ext agentnb\n"
        "import agentnb\n"
        f"agentnb.connect('operativus', base_url={server.base_url!r}, "
        f"api_key={server.api_key!r}, name='test', headers={headers!r});"
    )


def execute(*sources: str, env: dict[str, str] | None = None) -> tuple[Any, list[str]]:
    """Run ``sources`` as a notebook's cells top to bottom, stopping at the first failing
    cell as "Run All" does; return the notebook and each executed cell's reply status."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources]
    )
    statuses: list[str] = []

    def executed(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        statuses.append(execute_reply["content"]["status"])

    client = notebook_client(notebook, on_cell_executed=executed)
    with contextlib.suppress(nbclient.exceptions.CellExecutionError):
        client.execute(**({} if env is None else {"env": env}))
    return notebook, statuses


def output_text(cell: Any) -> str:
    """Everything a cell shows, as text: streams, error tracebacks and every display's data.
    A stream's consecutive outputs are one text, as the notebook shows them (a busy kernel may
    send one ``print`` as two messages)."""
    parts: list[str] = []
    previous: Any = None
    for output in cell.outputs:
        if output.output_type == "stream":
            stream = previous is not None and previous.output_type == "stream"
            if stream and previous.name == output.name:
                parts[-1] += output.text
            else:
                parts.append(output.text)
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
        else:
            parts.extend(str(value) for value in output.get("data", {}).values())
        previous = output
    return "\n".join(parts)


def test_a_question_ending_in_a_question_mark_runs(server: ServerHandle) -> None:
    notebook, statuses = execute(
        connect_code(server),
        "%agent echo --via test --wait what is NVDA at?",
        "%agent echo --via test --temperature 0.2 --wait what is up??",
        "print(repr(_agent.text))",
    )
    assert statuses == ["ok", "ok", "ok", "ok"]
    assert "Object `at` not found" not in output_text(notebook.cells[1])
    assert notebook.cells[3].outputs[0].text.strip() == repr("what is up??")


def test_the_magics_work_after_import_agentnb_without_load_ext(server: ServerHandle) -> None:
    """``import agentnb`` in a notebook is enough: ``%%agent`` loads the magics at its first
    use, as ``%load_ext agentnb`` would (it was IPython's "Cell magic not found")."""
    connect = connect_code(server).replace("%load_ext agentnb\n", "")
    notebook, statuses = execute(
        connect,
        "%agent echo --via test --wait what is NVDA at?",
        "%%agent echo --via test --wait\nhello there",
        "%agent_runs",
        "%load_ext agentnb",
    )
    assert statuses == ["ok", "ok", "ok", "ok", "ok"], output_text(notebook.cells[1])
    assert "Object `at` not found" not in output_text(notebook.cells[1])
    assert "hello there" in output_text(notebook.cells[2])
    assert "already loaded" in output_text(notebook.cells[4])


@pytest.mark.parametrize(
    "source",
    [
        "%%agent no_such_agent --via test\nhi",
        "%%agent no_such_agent --via test --wait\nhi",
        "%%agent no_such_agent --via test --plain\nhi",
    ],
)
def test_a_refused_run_shows_its_error_once_and_stops_run_all(
    server: ServerHandle, source: str
) -> None:
    notebook, statuses = execute(connect_code(server), source, "print('after')")
    assert statuses == ["ok", "error"]  # the cell failed and the next one never ran
    assert notebook.cells[2].outputs == []
    shown = output_text(notebook.cells[1])
    assert shown.count("unknown agent 'no_such_agent'") == 1, shown


def test_a_run_failing_midway_with_wait_shows_its_error_once(server: ServerHandle) -> None:
    fault = f"drop-after=20;no-ids;tag={uuid.uuid4().hex}"
    notebook, statuses = execute(
        connect_code(server, **{"X-AgentNB-Fault": fault}),
        "%%agent writer --via test --wait --meta paragraphs=5\ngo",
    )
    assert statuses == ["ok", "error"]
    shown = output_text(notebook.cells[1])
    assert "interrupted" in shown  # the run is shown, with its partial answer
    assert shown.count("cut mid-stream") == 1, shown


def test_the_first_use_notice_is_ordinary_output(server: ServerHandle) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env["AGENTNB_HISTORY"] = "off"
    notebook, statuses = execute("%load_ext agentnb", "%%agent echo --wait\nhello", env=env)
    assert statuses == ["ok", "ok"]
    outputs = notebook.cells[1].outputs
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert "built-in local agent server" in output_text(notebook.cells[1])


# ---- interrupting the kernel ------------------------------------------------------------------
class Kernel:
    def __init__(self, manager: Any, client: Any) -> None:
        self.manager, self.client = manager, client

    def run(self, code: str, timeout: float = PATIENCE_S) -> str:
        """Execute ``code``; return its stdout; fail with the traceback on an error.

        A request the kernel aborted (it does so for a moment after a cell failed, so that
        "Run All" stops) is sent again."""
        printed: list[str] = []

        def keep(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                printed.append("\n".join(msg["content"]["traceback"]))

        for _ in range(20):
            printed.clear()
            reply = self.client.execute_interactive(code, timeout=timeout, output_hook=keep)
            if reply["content"]["status"] != "aborted":
                break
            time.sleep(0.05)
        assert reply["content"]["status"] == "ok", "".join(printed)
        return "".join(printed)


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    with running_kernel() as client:
        yield Kernel(client.parent, client)  # the client's parent is its kernel's manager


def wait_for_status(kernel: Kernel, name: str, within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        status = kernel.run(f"print({name}.status)").strip()
        if status != "running" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_interrupting_the_idle_kernel_cancels_a_background_run(
    kernel: Kernel, server: ServerHandle
) -> None:
    kernel.run(connect_code(server, **{"X-AgentNB-Delay-Ms": "20"}))
    kernel.run("%%agent writer --via test --plain --meta paragraphs=200\ngo")
    assert kernel.run("print(_agent.status)").strip() == "running"
    kernel.manager.interrupt_kernel()
    assert wait_for_status(kernel, "_agent", within=PATIENCE_S) == "cancelled"
    # the kernel is fine afterwards: new runs complete, and a later interrupt while idle
    # with nothing streaming does nothing
    kernel.run("%agent echo --via test --wait still here")
    kernel.manager.interrupt_kernel()
    time.sleep(0.3)
    assert kernel.run("print(_agent.status, _agent.text)").strip() == "completed still here"


def test_interrupting_a_cell_cancels_the_runs_it_started(
    kernel: Kernel, server: ServerHandle
) -> None:
    kernel.run(connect_code(server, **{"X-AgentNB-Delay-Ms": "20"}))
    kernel.run("%%agent writer --via test --plain --out earlier --meta paragraphs=200\nearlier")
    msg_id = kernel.client.execute(
        "%agent writer --via test --plain --out mine --meta paragraphs=200 go\n"
        "import time; time.sleep(30)"
    )
    time.sleep(1.0)
    kernel.manager.interrupt_kernel()
    reply = kernel.client.get_shell_msg(timeout=PATIENCE_S)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"  # KeyboardInterrupt
    assert wait_for_status(kernel, "mine", within=PATIENCE_S) == "cancelled"
    assert kernel.run("print(earlier.status)").strip() == "running"  # not that cell's run
    kernel.run("earlier.cancel()")


def test_interrupting_the_idle_kernel_leaves_a_run_waiting_for_a_person(
    kernel: Kernel, server: ServerHandle
) -> None:
    # issue 27: ■ while the kernel is idle stops what streams, not a decision a person owes
    kernel.run(connect_code(server, **{"X-AgentNB-Delay-Ms": "20"}))
    kernel.run("%%agent trader --via test --plain --out asking\nbuy 3 NVDA")
    assert wait_for_status(kernel, "asking", within=PATIENCE_S) == "paused"
    kernel.run("%%agent writer --via test --plain --out streaming --meta paragraphs=200\ngo")
    assert kernel.run("print(streaming.status)").strip() == "running"
    kernel.manager.interrupt_kernel()
    assert wait_for_status(kernel, "streaming", within=PATIENCE_S) == "cancelled"
    time.sleep(0.3)
    assert kernel.run("print(asking.status)").strip() == "paused"  # the decision is still owed
    kernel.run(f"asking.approve(asking.awaiting_approval[0].call_id); asking.wait({PATIENCE_S:g})")
    assert kernel.run("print(asking.status)").strip() == "completed"


# ---- tool approval --------------------------------------------------------------------------
def test_a_waiting_cell_denies_a_call_awaiting_approval_unless_told(server: ServerHandle) -> None:
    report = "c = _agent.run.tool_calls[-1]; print(c.status, '|', c.error)"
    notebook, statuses = execute(
        connect_code(server),
        "%%agent trader --via test --wait\nbuy 3 NVDA",
        report,
        "%%agent trader --via test --wait --approve all\nbuy 3 NVDA",
        report,
    )
    assert statuses == ["ok"] * 5
    status, reason = output_text(notebook.cells[2]).strip().split(" | ")
    assert status == "denied"
    assert "--wait" in reason and "--approve all" in reason  # says why, and what to do
    assert output_text(notebook.cells[4]).strip() == "succeeded | None"


# ---- re-running a cell (issue 27) -------------------------------------------------------------
def test_a_continued_conversation_says_so_and_cells_get_the_chat_box(server: ServerHandle) -> None:
    notebook, statuses = execute(
        connect_code(server),
        "%%agent echo --via test --wait\none",
        "%%agent echo --via test --wait --continue\ntwo",
        "%%agent echo --via test --wait\nthree",
    )
    assert statuses == ["ok"] * 4
    first, continued, fresh = (output_text(notebook.cells[i]) for i in (1, 2, 3))
    assert "continues thread" in continued and "(turn 2, after run " in continued
    assert "continues thread" not in first and "continues thread" not in fresh
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    cells = [m["state"] for m in states.values() if "options" in m["state"]]
    assert len(cells) == 3 and all(c["options"]["input"] for c in cells)


def test_a_refused_run_s_error_in_a_notebook_is_not_cut_at_a_terminal_s_width(
    server: ServerHandle,
) -> None:
    """A notebook wraps its output at its own width: the server's reason follows "The server
    refused the request:" on its line, not cut at 78 columns as in a terminal."""
    notebook, statuses = execute(
        connect_code(server), "%%agent writer --via test --meta paragraphs=lots\nhi"
    )
    assert statuses == ["ok", "error"]
    shown = output_text(notebook.cells[1])  # IPython prints a UsageError to stderr
    first, second = shown.strip().splitlines()
    assert first == (
        "UsageError: The server refused the request: body.metadata.paragraphs: paragraphs "
        "must be an integer, got 'lots'"
    ), shown
    assert second.startswith("(422 Unprocessable Entity from POST http"), shown


TESTS = Path(__file__).resolve().parents[1]
CELL_AGENT = (
    f"import sys\nsys.path[:0] = [{str(TESTS)!r}]\n"
    "import agentnb\nfrom agentnb_testing import serving_asgi\nfrom cell_agent import cell_agent\n"
    "serving = serving_asgi(cell_agent)\n"
    "agentnb.connect('openai', base_url=serving.__enter__() + '/v1', api_key='k', name='cells')"
)


def test_notebook_hands_the_notebook_tools_to_the_run() -> None:
    """``%%agent AGENT --notebook`` gives the agent the notebook tools: here, a kernel no
    JupyterLab page shows (nbclient), each call says the notebook cannot be edited and
    nothing asks."""
    notebook, statuses = execute(
        CELL_AGENT,
        "%%agent m --via cells --notebook --wait --plain\nWork in my notebook",
        "print([c.name for c in _agent.run.tool_calls])",
    )
    assert statuses == ["ok", "ok", "ok"], output_text(notebook.cells[1])
    assert "Stopped: no JupyterLab 4 or Notebook 7 page" in output_text(notebook.cells[1])
    assert "['notebook_list_cells', 'notebook_add_cell']" in output_text(notebook.cells[2])
