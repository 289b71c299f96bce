"""The built-in server's ``finance_agent`` with tools the client declared (the ``openai``
dialect): it calls the first one in standard ``tool_calls`` (finish reason ``tool_calls``),
and answers with the ``tool`` message the client sends back, so the loop runs offline."""

from __future__ import annotations

from agentnb_testing import client_for

from agentnb.server import ServerHandle


async def test_the_demo_agent_calls_the_notebooks_function(server: ServerHandle) -> None:
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.5 * shares

    async with client_for(server, "openai", record=False) as client:
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
