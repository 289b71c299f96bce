"""The built-in server's ``finance_agent`` with tools the client declared, in each dialect
that takes them: it calls the first one, left to the client (Chat Completions' standard
``tool_calls``, a Responses ``function_call``, an AG-UI tool call without a result, a UI
message tool part without output), and answers with the result the client sends back, so
the loop runs offline."""

from __future__ import annotations

import pytest
from agentnb_testing import client_for

from agentnb.server import ServerHandle


@pytest.mark.parametrize("dialect", ["openai", "openai-responses", "ag-ui", "vercel"])
async def test_the_demo_agent_calls_the_notebooks_function(
    server: ServerHandle, dialect: str
) -> None:
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.5 * shares

    async with client_for(server, dialect, record=False) as client:
        run = await client.run("finance_agent", "My AMD position?", tools=[position_value])
    assert seen == [("AMD", 1)]
    assert (run.status, run.text) == ("completed", "Your notebook's tool says: 100.5")
    [call] = run.tool_calls
    assert (call.name, call.status, call.ran_by) == ("position_value", "succeeded", "client")


async def test_without_tools_the_demo_agent_runs_its_own(server: ServerHandle) -> None:
    async with client_for(server, "openai", record=False) as client:
        run = await client.run("finance_agent", "NVDA?")
    assert [c.name for c in run.tool_calls] == ["get_stock_price", "calculator"]
    assert all(c.ran_by is None for c in run.tool_calls)
