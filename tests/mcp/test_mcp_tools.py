"""An MCP server written with the ``mcp`` SDK (``notes_server.py``, over stdio) gives its
tools to a remote agent through ``agentnb.mcp_tools``: the built-in server's
``finance_agent`` calls the first tool it is offered, over Chat Completions and AG-UI. A
read-only tool runs and the agent answers with its result; a tool that raises is an error
the agent reads; a call denied at the gate never reaches the server; a server that ends in
the middle of a call fails that call, not the run; the calls are in the run and the history
under the server's name; a changed list is followed; the process ends with the tools."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, wait_until
from mcp_servers import calling_first as first
from mcp_servers import server_command

import agentnb
from agentnb import AgentClient, ConfigurationError
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

DIALECTS = ["openai", "ag-ui"]


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return tmp_path / "notes.txt"


@pytest.fixture
def tools(notes: Path) -> Iterator[agentnb.types.McpTools]:
    with agentnb.mcp_tools(command=server_command("notes_server.py", str(notes))) as made:
        yield made


def client(server: ServerHandle, dialect: str, store: HistoryStore | None = None) -> AgentClient:
    settings = server.client_settings(dialect)
    if store is None:
        return AgentClient(dialect, api_key=server.api_key, record=False, **settings)
    return AgentClient(dialect, api_key=server.api_key, recorder=store, **settings)


def test_the_tools_are_named_after_the_server_and_ask_as_it_marks_them(
    tools: agentnb.types.McpTools,
) -> None:
    assert tools.name == "notes"
    asks = {t.name: t.approve for t in tools}
    assert asks == {
        "notes__lookup": False,
        "notes__write_note": True,  # not read-only (destructive): asks before it runs
        "notes__fail": False,
        "notes__die": False,
        "notes__grow": False,
    }
    lookup = next(t for t in tools if t.name == "notes__lookup")
    assert lookup.description == "Look a key up in the notes."
    assert lookup.parameters["required"] == ["key"]
    assert "notes__lookup" in repr(tools) and "running" in repr(tools)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_read_only_tool_s_result_is_what_the_agent_answers_with(
    server: ServerHandle, tools: agentnb.types.McpTools, tmp_path: Path, dialect: str
) -> None:
    with HistoryStore(tmp_path / "history.db") as store:
        with client(server, dialect, store) as c:
            run = c.run(
                "finance_agent", "what do my notes say?", tools=first(tools, "notes__lookup")
            )
        store.flush()
        [record] = store.runs()
        kept = [(call.name, call.status, call.output) for call in record.tool_calls]
    said = "the note on NVDA says: buy low"
    assert [(call.name, call.status, call.output) for call in run.tool_calls] == [
        ("notes__lookup", "succeeded", said)
    ]
    assert run.tool_calls[0].arguments == {"key": "NVDA"}
    assert run.text == f"Your notebook's tool says: {said}"
    assert kept == [("notes__lookup", "succeeded", said)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_tool_that_raises_is_an_error_the_agent_reads(
    server: ServerHandle, tools: agentnb.types.McpTools, dialect: str
) -> None:
    with client(server, dialect) as c:
        run = c.run("finance_agent", "what do my notes say?", tools=first(tools, "notes__fail"))
    [call] = run.tool_calls
    assert call.status == "failed"
    assert "no note on NVDA: the notebook of notes is closed" in str(call.error)
    assert call.error is not None and call.error in run.text
    assert run.status == "completed"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_denied_call_never_reaches_the_server(
    server: ServerHandle, tools: agentnb.types.McpTools, notes: Path, tmp_path: Path, dialect: str
) -> None:
    with HistoryStore(tmp_path / "history.db") as store:
        with client(server, dialect, store) as c:
            run = c.run(
                "finance_agent", "note this", tools=first(tools, "notes__write_note"), approve=False
            )
        store.flush()
        [record] = store.runs()
        kept = [(call.name, call.status) for call in record.tool_calls]
    assert [(call.name, call.status) for call in run.tool_calls] == [
        ("notes__write_note", "denied")
    ]
    assert "the user denied this call" in run.text
    assert kept == [("notes__write_note", "denied")]
    assert not notes.exists(), "the server never ran the call"
    with client(server, dialect) as c:
        run = c.run(
            "finance_agent", "note this", tools=first(tools, "notes__write_note"), approve=True
        )
    assert notes.read_text() == "NVDA\n", "approved, it runs"


def test_approve_true_asks_before_every_call(server: ServerHandle, notes: Path) -> None:
    """Even a read-only tool's call then asks, and the run's ``approve=`` decides it."""
    with agentnb.mcp_tools(
        command=server_command("notes_server.py", str(notes)), approve=True
    ) as t:
        assert all(tool.approve for tool in t)
        with client(server, "openai") as c:
            denied = c.run(
                "finance_agent", "notes?", tools=first(t, "notes__lookup"), approve=False
            )
            approved = c.run(
                "finance_agent", "notes?", tools=first(t, "notes__lookup"), approve=True
            )
    assert [(call.status, call.output) for call in denied.tool_calls] == [("denied", None)]
    assert [(call.status, call.output) for call in approved.tool_calls] == [
        ("succeeded", "the note on NVDA says: buy low")
    ]
    with agentnb.mcp_tools(
        command=server_command("notes_server.py", str(notes)), approve=False
    ) as t:
        assert not any(tool.approve for tool in t)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_server_that_ends_mid_call_fails_that_call_not_the_run(
    server: ServerHandle, tools: agentnb.types.McpTools, dialect: str
) -> None:
    with client(server, dialect) as c:
        run = c.run("finance_agent", "what do my notes say?", tools=first(tools, "notes__die"))
        [call] = run.tool_calls
        assert call.status == "failed"
        assert "ended during the call" in str(call.error)
        assert run.status == "completed"
        assert not tools.running
        again = c.run("finance_agent", "and now?", tools=first(tools, "notes__lookup"))
    assert again.status == "completed"
    assert "is not running" in str(again.tool_calls[0].error)


def test_a_changed_list_of_tools_is_followed(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    assert "notes__count" not in [t.name for t in tools]
    with client(server, "openai") as c:
        c.run("finance_agent", "grow", tools=first(tools, "notes__grow"))
        wait_until(lambda: "notes__count" in [t.name for t in tools])
        run = c.run("finance_agent", "how many notes?", tools=first(tools, "notes__count"))
    assert run.text == "Your notebook's tool says: 0 notes"


def test_the_server_s_process_ends_with_its_tools(notes: Path) -> None:
    tools = agentnb.mcp_tools(command=server_command("notes_server.py", str(notes)))
    pid = int(Path(f"{notes}.pid").read_text())
    os.kill(pid, 0)  # running
    tools.stop()
    tools.stop()

    wait_until(lambda: not alive(pid))
    assert not tools.running and "stopped" in repr(tools)


def test_close_is_the_old_spelling_of_stop(notes: Path) -> None:
    tools = agentnb.mcp_tools(command=server_command("notes_server.py", str(notes)))
    pid = int(Path(f"{notes}.pid").read_text())
    with pytest.warns(DeprecationWarning, match=r"\.stop\(\)"):
        tools.close()
    wait_until(lambda: not alive(pid))
    assert not tools.running


def test_a_command_that_is_no_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"the MCP server .*no-such-server.* could not start"
    ):
        agentnb.mcp_tools(command=[str(tmp_path / "no-such-server")])
    with pytest.raises(ConfigurationError, match="could not start"):
        agentnb.mcp_tools(command=[sys.executable, "-c", "print('not MCP')"])
    with pytest.raises(ConfigurationError, match=r"a command=.* or a url="):
        agentnb.mcp_tools()
    with pytest.raises(ConfigurationError, match="list of strings"):
        agentnb.mcp_tools(command="python server.py")  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_the_server_s_process_ends_with_the_process_that_started_it(notes: Path, how: str) -> None:
    script = (
        "import sys, agentnb\n"
        f"tools = agentnb.mcp_tools(command={server_command('notes_server.py', str(notes))!r})\n"
        "print('started', flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as owner:
        assert owner.stdout is not None and owner.stdin is not None
        assert owner.stdout.readline() == "started\n"
        pid = int(Path(f"{notes}.pid").read_text())
        if how == "exits":
            owner.stdin.close()
        else:
            owner.kill()
        owner.wait(PATIENCE_S)
    wait_until(lambda: not alive(pid))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
