"""An ACP agent's own permission request to call the notebook's server (Claude Code's
``mcp__notebook__notebook_add_cell``; Codex's "Approve MCP tool call" of the server named
``notebook``) is given at once for a turn the server is shared with: the server asks on its own
card, the call shown as it will run; every other call is left to the turn's ``approve=``. And
the server tells the agent what it may do: read only, or add, edit and run cells."""

from __future__ import annotations

from typing import Any

import pytest

from agentnb._app.context.context_server import _asks_to_call
from agentnb._app.context.mcp_http import INSTRUCTIONS, READ_ONLY, WRITING
from agentnb._core.transcript import ToolCall
from agentnb.providers._acp_calls import AcpCall

TOOLS = {"notebook_add_cell", "notebook_variables"}
"""The server's tools (``ContextServer.asking_on_its_card`` takes them from its declarations;
the chat cell's browser tests run it whole with Claude Code and Codex)."""


def codex_asks(server: str, tool: str = "notebook_add_cell", kind: str = "mcp_tool_call") -> Any:
    """Codex's permission request for an MCP tool call, as the ACP dialect names it."""
    meta = {"codex_approval_kind": kind, "tool_params": {"source": "1"}}
    message = f'Allow the {server} MCP server to run tool "{tool}"?'
    request = {"mode": "form", "_meta": meta, "message": message}
    asked = AcpCall()
    asked.merge(
        {"title": "Approve MCP tool call", "rawInput": {"server_name": server, "request": request}}
    )
    return asked.name, asked.arguments()


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("mcp__notebook__notebook_add_cell", {"source": "1"}),
        ("notebook/notebook_variables", {}),
        codex_asks("notebook"),
    ],
)
def test_an_agents_own_ask_to_call_the_server_is_known(name: str, arguments: Any) -> None:
    assert _asks_to_call(ToolCall("c", name, arguments), TOOLS)


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("mcp__other__notebook_add_cell", {}),  # another server's tool of the same name
        ("mcp__notebook__notebook_add_cell_and_shell", {}),
        ("mcp__notebook__notebook_run_cell", {}),  # not served: a server that only reads
        codex_asks("notebook", tool="notebook_run_cell"),
        ("Bash", {"command": "rm -rf ."}),
        codex_asks("other"),
        codex_asks(""),  # no server named: no MCP call of the notebook's
        codex_asks("notebook", kind="exec"),
        ("Approve MCP tool call", {"input": {"server_name": "notebook"}}),
        ("Approve MCP tool call", {"input": "notebook"}),
    ],
)
def test_every_other_call_is_left_to_the_turns_policy(name: str, arguments: Any) -> None:
    assert not _asks_to_call(ToolCall("c", name, arguments), TOOLS)


def test_the_servers_instructions_say_whether_it_changes_the_notebook() -> None:
    assert "never change it" in INSTRUCTIONS.format(change=READ_ONLY)
    assert "add, edit and run its cells" in INSTRUCTIONS.format(change=WRITING)
