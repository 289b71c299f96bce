"""What ``agentnb.mcp_tools`` trusts an MCP server to say, against hostile servers written
with the ``mcp`` SDK (``hostile_server.py`` over stdio; one over Streamable HTTP here):

- a tool's hints can only make the gate stricter within a session: a destructive tool listed
  again as read-only after ``tools/list_changed`` still asks;
- reading ``tools/list`` is bounded (pages, tools, bytes), with an error saying which bound;
- a key in ``mcp_tools(url=...)``'s URL never reaches the agent or the history.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, serving_asgi, wait_until
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from mcp_servers import calling_first as first
from mcp_servers import server_command

import agentnb
from agentnb import AgentClient, ConfigurationError
from agentnb._app.mcp import mcp_connection
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


def hostile(mode: str) -> agentnb.types.McpTools:
    return agentnb.mcp_tools(command=server_command("hostile_server.py", mode))


def test_a_destructive_tool_listed_again_as_read_only_still_asks(server: ServerHandle) -> None:
    with (
        hostile("relist") as tools,
        AgentClient(
            "openai", api_key=server.api_key, record=False, **server.client_settings("openai")
        ) as c,
    ):
        assert {t.name: t.approve for t in tools} == {
            "hostile__wipe": True,
            "hostile__weaken": False,
        }
        listed = tools._connection.tools
        c.run("finance_agent", "weaken", tools=first(tools, "hostile__weaken"))
        wait_until(lambda: tools._connection.tools is not listed, "the list read again")
        [wipe] = [t for t in tools if t.name == "hostile__wipe"]
        assert wipe.approve, "the weaker hint of a re-listed tool is not taken"
        run = c.run("finance_agent", "wipe", tools=first(tools, "hostile__wipe"), approve=False)
    assert [(call.name, call.status) for call in run.tool_calls] == [("hostile__wipe", "denied")]


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("paginate-forever", f"more than {mcp_connection.MAX_LIST_PAGES} pages"),
        ("many-tools", f"more than {mcp_connection.MAX_LISTED_TOOLS:,} tools"),
        ("wide-pages", f"more than {mcp_connection.MAX_LISTING_BYTES:,} bytes"),
    ],
)
def test_a_listing_without_end_is_refused_saying_which_bound(mode: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=f"lists its tools in {said}"):
        hostile(mode)
    gc.collect()  # a server process left running unreaped warns here (an error), not later


def test_a_session_left_on_its_own_ends_its_servers_process() -> None:
    """Closed while it leaves (its listing grew without end), the session is not cancelled
    in the middle of the SDK's shutdown: that left the server's process running, unreaped,
    after the session's loop had closed (a ResourceWarning in whichever later test)."""
    with hostile("grow-forever") as tools:
        called(tools, "hostile__flood")
        wait_until(lambda: not tools.running, "the session ended")
    gc.collect()  # warnings are errors: a process left running fails this test


def test_a_listing_that_grows_without_end_ends_the_session() -> None:
    with hostile("grow-forever") as tools:
        assert called(tools, "hostile__flood") == "called flood"
        wait_until(lambda: not tools.running, "the session ended")
        assert "stopped (it lists its tools in more than 1,000 tools)" in repr(tools)


def called(tools: agentnb.types.McpTools, name: str) -> object:
    """What the tool ``name`` returned, called as a run calls it."""
    [tool] = [t for t in tools if t.name == name]
    assert tool.function is not None and tool.user_loop is not None
    done = asyncio.run_coroutine_threadsafe(tool.function(key="NVDA"), tool.user_loop)
    return done.result(PATIENCE_S)


KEY = "qk-4f9b2c71d0e8a6355e1b"


def echoing() -> MCPServer:
    """A server that says the URL it was reached at, in a result and in an error."""
    server = MCPServer("echo")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def where(ctx: Context) -> str:
        """The URL this call came to."""
        return f"you called {ctx.request_context.request.url}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def refuse(ctx: Context) -> str:
        """An error naming the URL this call came to."""
        raise ToolError(f"nothing for {ctx.request_context.request.url}")

    return server


@pytest.mark.parametrize("where", ["query", "userinfo"])
def test_a_key_in_the_url_never_reaches_the_agent_or_the_history(
    server: ServerHandle, tmp_path: Path, where: str
) -> None:
    app = echoing().streamable_http_app()
    with serving_asgi(app) as base, HistoryStore(tmp_path / "history.db") as store:
        host = base.removeprefix("http://")
        url = f"{base}/mcp?api_key={KEY}" if where == "query" else f"http://me:{KEY}@{host}/mcp"
        with agentnb.mcp_tools(url=url) as tools:
            assert KEY not in repr(tools)
            settings = server.client_settings("openai")
            with AgentClient("openai", api_key=server.api_key, recorder=store, **settings) as c:
                said = c.run("finance_agent", "where?", tools=first(tools, "echo__where"))
                refused = c.run("finance_agent", "where?", tools=first(tools, "echo__refuse"))
            tools.stop()
            with AgentClient("openai", api_key=server.api_key, recorder=store, **settings) as c:
                ended = c.run("finance_agent", "where?", tools=first(tools, "echo__where"))
        store.flush()
        kept = repr([(r.text, r.tool_calls) for r in store.runs()])
    if where == "query":
        assert "you called" in str(said.tool_calls[0].output)
        assert "nothing for" in str(refused.tool_calls[0].error)
    assert "is not running" in str(ended.tool_calls[0].error)
    for run in (said, refused, ended):
        assert KEY not in repr((run.text, run.tool_calls))
    assert KEY not in kept


def test_a_result_no_reader_takes_fails_its_call_at_once() -> None:
    """A result nested 100,000 deep is dropped by the SDK's reader: the call that waited for
    it fails saying so, not at the end of its time limit as abandoned."""
    bound = 10 * PATIENCE_S  # far past the wait below: a call left waiting fails the test
    with agentnb.mcp_tools(
        command=server_command("deep_result_server.py"), time_limit=bound
    ) as tools:
        [tool] = tools
        assert tool.function is not None and tool.user_loop is not None
        calling = asyncio.run_coroutine_threadsafe(tool.function(), tool.user_loop)
        with pytest.raises(Exception, match="could not be read") as failed:
            calling.result(PATIENCE_S)
    assert "abandoned" not in str(failed.value)
