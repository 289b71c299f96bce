"""``%%agent`` in a real Jupyter kernel on an ACP agent (the scripted agent on the official SDK,
``.tools/acp``, run as a subprocess by the kernel): the turn streams into the chat cell (its
frames carry the answer and the tool call with its diff), the cell returns at once, the turn
is a row of the history that a new process reads, and the agent's process ends with the
kernel."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentnb_testing import PATIENCE_S, process_ended, sdk_python
from kernel_session import WIDGET_MIME, Session, running_kernel
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

SCRIPTED = Path(__file__).parents[1] / "interop" / "acp_agents" / "scripted_agent.py"


def connect_coder(folder: Path) -> str:
    """The kernel's line connecting ``coder``: the scripted agent, run in ``folder``."""
    command = [str(sdk_python("acp")), str(SCRIPTED)]
    return f'agentnb.connect("acp", command={command!r}, name="coder", cwd={str(folder)!r})'


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def kernel(history: Path) -> Iterator[Any]:
    with running_kernel({**os.environ, "AGENTNB_HISTORY": str(history)}) as client:
        yield client


def test_an_acp_turn_streams_into_the_chat_cell_and_is_in_the_history(
    kernel: Any, history: Path, tmp_path: Path
) -> None:
    (tmp_path / "prices.py").write_text("old line\n")
    session = Session(kernel)
    session.execute(
        f"""
        %load_ext agentnb
        import agentnb
        {connect_coder(tmp_path)}
        """
    )
    cell = session.execute(f"%%agent coder\nedit {tmp_path / 'prices.py'}")
    displays = session.of(cell, "display_data")
    view = next(d["content"] for d in displays if WIDGET_MIME in d["content"]["data"])
    comm_id = view["data"][WIDGET_MIME]["model_id"]
    ended = session.execute(f"run = _agent.wait({PATIENCE_S:g}); print(run.status, run.text)")
    assert session.stdout(ended) == "completed edited\n"

    def streamed() -> str:
        return json.dumps(session.comm_data(comm_id))

    session.wait_for(lambda: "edited" in streamed() and "+new line" in streamed())
    assert '"arguments": {"path": ' in streamed()  # the tool card: what the edit does first

    pid = session.execute(
        "print(agentnb.connections()['coder'].client().transport._agent.wire.process.pid)"
    )
    agent_pid = int(session.stdout(pid))

    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import agentnb; r = agentnb.runs(agent='coder')[0]; "
            "print(r.provider, r.connection, r.status, r.answer, r.cost_usd, r.tool_calls[0].name)",
        ],
        env={**os.environ, "AGENTNB_HISTORY": str(history)},
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "acp coder completed edited 0.25 edit"

    kernel.shutdown()  # the kernel ends as a restart ends it: its agent with it
    end = time.monotonic() + PATIENCE_S
    while not process_ended(agent_pid) and time.monotonic() < end:
        time.sleep(0.1)
    assert process_ended(agent_pid), "the agent's process outlived the kernel"


def test_context_hands_an_acp_agent_the_notebook_as_an_mcp_server(
    kernel: Any, tmp_path: Path
) -> None:
    session = Session(kernel)
    session.execute(
        f"""
        import agentnb
        {connect_coder(tmp_path)}
        first = agentnb.ask("coder", "mcp", context=True, wait=True, display=False).run
        again = agentnb.ask("coder", "mcp", context=True, wait=True, display=False).run
        server = agentnb.connections()["coder"]._context_server
        """
    )
    shown = session.execute("print(first.tool_calls, first.status)")
    assert session.stdout(shown) == "[] completed\n"
    said = session.execute(
        "print(first.text, '|', again.text, '|', server.running, server.url.endswith('/mcp'))"
    )
    assert session.stdout(said) == (
        "mcp servers: ['notebook'] | mcp servers: ['notebook'] | True True\n"
    )


def test_the_notebook_tools_reach_an_acp_agent_as_the_notebooks_server_write_tools(
    kernel: Any, tmp_path: Path
) -> None:
    """``tools=agentnb.notebook_tools()`` (``--notebook``) on an ACP agent: the notebook's
    server with its write tools, the agent's add-cell call taken through the server's one path
    of calls (here, a kernel no Lab page shows: refused before any card, the agent told why
    and that nothing changed); ``context=True`` alone serves no write tool."""
    session = Session(kernel)
    session.execute(
        f"""
        import agentnb
        {connect_coder(tmp_path)}
        add = 'mcpcall notebook_add_cell {{"source": "print(41 + 1)"}}'
        def said(**options):
            return agentnb.ask("coder", add, wait=True, display=False, **options).run.text
        """
    )
    reading = session.execute("print(said(context=True, approve=True))")
    asked = session.execute("print(said(tools=agentnb.notebook_tools(), approve=False))")
    # a later turn that only reads: the server now serves the write tools, but not to it
    reading_again = session.execute("print(said(context=True, approve=True))")
    served = session.execute(
        "server = agentnb.connections()['coder']._context_server\n"
        "print([(c.tool, c.status) for c in server.calls], server.writes)"
    )
    magic = session.execute(
        '%%agent coder --notebook --approve none\nmcpcall notebook_add_cell {"source": "1"}'
    )
    session.execute(f"_agent.wait({PATIENCE_S:g})")
    shown = session.execute("print(_agent.run.text)")
    assert "notebook_add_cell" in session.stdout(reading)  # unknown to a reading server
    assert "unknown tool" in session.stdout(reading)
    for text in (session.stdout(asked), session.stdout(shown)):
        assert "no JupyterLab 4 or Notebook 7 page" in text and "was not changed" in text
    assert "served only while a turn that asked for them" in session.stdout(reading_again)
    assert "was not changed" in session.stdout(reading_again)
    assert session.stdout(served).endswith("True\n")
    assert session.stdout(served).count("notebook_add_cell") == 2, session.stdout(served)
    assert session.of(magic, "error") == []


def test_a_batch_with_context_hands_an_acp_agent_the_notebook_and_decides_its_reads(
    kernel: Any, tmp_path: Path
) -> None:
    """``batch(context=True)`` fits the tools as ``ask`` does (the notebook as the agent's
    MCP server), shares the notebook with the batch's turns, and decides each read as a
    batch decides the context tools: by ``approve=``, what it leaves undecided denied."""
    session = Session(kernel)
    session.execute(
        f"""
        import agentnb
        {connect_coder(tmp_path)}
        plan = "launch on tuesday"
        def said(**options):
            [run] = agentnb.batch(
                "coder", ["mcpcall notebook_variables"], context=True, progress=False, **options
            )
            return run.answer
        """
    )
    approved = session.execute("print(said(approve=True))")
    assert session.stdout(approved).startswith("the notebook said: <notebook-data")  # read
    unattended = session.execute("print(said())")
    assert "batch runs are unattended" in session.stdout(unattended)


def test_an_at_name_attachment_reaches_an_acp_agent_in_the_nonced_data_block(
    kernel: Any, tmp_path: Path
) -> None:
    session = Session(kernel)
    session.execute(
        f"""
        %load_ext agentnb
        import agentnb
        {connect_coder(tmp_path)}
        cfg = {{"host": "db.internal"}}
        """
    )
    session.execute("%%agent coder --approve all\nlook at @cfg")
    said = session.execute(f"run = _agent.wait({PATIENCE_S:g}); print(run.status); print(run.text)")
    status, text = session.stdout(said).split("\n", 1)
    assert status == "completed" and text.startswith("echo: look at @cfg\n\n<notebook-data id=")
    assert "@cfg: dict, 1 key" in text and "db.internal" in text
    nonce = text.split('<notebook-data id="', 1)[1].split('"', 1)[0]
    assert text.rstrip().endswith(f'</notebook-data id="{nonce}">')


def test_an_experiment_in_a_kernel_compares_two_acp_agents_with_their_cost_per_arm(
    kernel: Any, tmp_path: Path
) -> None:
    (tmp_path / "prices.py").write_text("old line\n")
    session = Session(kernel)
    scripted = [str(sdk_python("acp")), str(SCRIPTED)]
    raw = [sys.executable, str(SCRIPTED.parent / "raw_agent.py")]
    session.execute(
        f"""
        import agentnb
        from agentnb import evals
        agentnb.connect("acp", command={scripted!r}, name="alpha", cwd={str(tmp_path)!r})
        agentnb.connect("acp", command={raw!r}, name="beta", cwd={str(tmp_path)!r})
        questions = ["think", "edit {tmp_path / "prices.py"}"]
        exp = evals.experiment("alpha-vs-beta", ["alpha", "beta"], questions, progress=False)
        table = exp.to_pandas()
        """
    )
    shown = session.execute(
        "for row in table.itertuples(): print(row.arm, row.status, row.answer)\n"
        "print(table.groupby('arm')['cost_usd'].sum().to_dict())"
    )
    lines = session.stdout(shown).splitlines()
    assert lines[:4] == [
        "alpha completed thought it through",
        "beta completed raw: think",
        "alpha completed edited",
        f"beta completed raw: edit {tmp_path / 'prices.py'}",
    ]
    assert lines[4] == "{'alpha': 0.25, 'beta': 0.0}"  # the scripted agent's reported cost


def test_each_acp_turn_decides_its_own_notebook_reads_and_one_without_context_reads_none(
    kernel: Any, tmp_path: Path
) -> None:
    """The notebook's server stays with the connection (the agent keeps it in its session),
    but a call is served only during a turn asked with ``context=True``, decided by that
    turn's ``approve=``: a later turn's denial holds, and a turn without it reads nothing."""
    session = Session(kernel)
    session.execute(
        f"""
        import contextlib, json
        import agentnb
        {connect_coder(tmp_path)}
        plan = "launch on tuesday"

        def turn(**options):
            global going
            going = agentnb.ask("coder", "slow", wait=False, display=False, **options)

        def stop():
            going.cancel()
            with contextlib.suppress(Exception):
                going.wait({PATIENCE_S:g})

        turn(context=True, approve=True)
        server = agentnb.connections()["coder"]._context_server
        """
    )
    url, token = json.loads(
        session.stdout(session.execute("print(json.dumps([server.url, server.token]))"))
    )

    def read_plan() -> tuple[bool, str]:
        async def call() -> tuple[bool, str]:
            headers = {"Authorization": f"Bearer {token}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(PATIENCE_S)) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as client,
            ):
                await client.initialize()
                result = await client.call_tool("notebook_describe", {"name": "plan"})
            [block] = result.content
            assert block.type == "text"
            return result.is_error, block.text

        return asyncio.run(call())

    approved = read_plan()
    session.execute("stop(); turn(context=True, approve=False, continue_thread=True)")
    denied = read_plan()
    session.execute("stop(); turn(continue_thread=True)")
    unshared = read_plan()
    session.execute("stop()")
    after = read_plan()
    assert approved[0] is False and "tuesday" in approved[1]
    assert denied[0] is True and "denied" in denied[1]
    assert unshared[0] is True and "not shared" in unshared[1]
    assert after[0] is True and "not shared" in after[1]


def test_a_later_context_turn_shows_the_notebooks_mcp_server_in_its_own_cell(
    kernel: Any, tmp_path: Path
) -> None:
    """The notebook's MCP server starts with the first ``--context`` turn and is shown in its
    cell; a later cell's turn, which may wait for one of its calls, shows it too (once), so
    the call's card is where the turn waits, not only in the earlier cell."""
    session = Session(kernel)
    session.execute(
        f"""
        %load_ext agentnb
        import agentnb
        {connect_coder(tmp_path)}
        """
    )

    def servers_shown(cell: str) -> int:
        shown = [
            d["content"]["data"].get("text/plain", "") for d in session.of(cell, "display_data")
        ]
        return sum("served over MCP" in text for text in shown)

    first = session.execute("%%agent coder --context\nmcp")
    session.execute(f"_agent.wait({PATIENCE_S:g})")
    later = session.execute("%%agent coder --context\nmcp")
    session.execute(f"_agent.wait({PATIENCE_S:g})")
    twice = session.execute(
        "for _ in range(2): agentnb.ask('coder', 'mcp', context=True, wait=True)"
    )
    plain = session.execute("%%agent coder\nmcp")
    assert [servers_shown(c) for c in (first, later, twice, plain)] == [1, 1, 1, 0]
