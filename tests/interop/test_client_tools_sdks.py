"""The notebook's functions as the agent's tools, against the protocols' own servers: a
pydantic-ai agent over AG-UI whose tool the client declares (``.tools/agui``), and a Responses
server made by ``azure-ai-agentserver-responses`` (``.tools/agentserver``). In each, the
function is called once with the agent's arguments, its result reaches the agent and the same
run ends with the answer that uses it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, PEER_TIMEOUT

import agentnb
from agentnb import AsyncAgentClient
from agentnb._app.front.connections import disconnect
from agentnb._client.tool_rounds import STOPPED_WHILE_RUNNING
from agentnb._core.client_tools import MAX_CALLS_PER_ROUND
from agentnb.history import HistoryStore


@pytest.fixture
async def agui(agui_url: str) -> AsyncIterator[AsyncAgentClient]:
    async with AsyncAgentClient(
        "ag-ui",
        base_url=agui_url,
        provider_options={"path": "/{agent}"},
        record=False,
        timeout=PEER_TIMEOUT,
    ) as c:
        yield c


@pytest.fixture
async def responses(agentserver_url: str) -> AsyncIterator[AsyncAgentClient]:
    async with AsyncAgentClient(
        "openai-responses", base_url=agentserver_url, record=False, timeout=PEER_TIMEOUT
    ) as c:
        yield c


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def position_value(self, ticker: str, shares: int = 1) -> float:
        """The value of a position at the demo price.

        Args:
            ticker: The stock symbol.
            shares: How many shares.
        """
        self.seen.append((ticker, shares))
        print("pricing", ticker)
        return {"NVDA": 100.5}[ticker] * shares


def portfolio_tool(calls: Calls, **overrides: object) -> agentnb.ClientTool:
    return agentnb.tool(calls.position_value, **overrides)  # type: ignore[arg-type]


@pytest.fixture(params=["agui", "responses"])
def dialect_client(request: pytest.FixtureRequest) -> tuple[AsyncAgentClient, str]:
    client = request.getfixturevalue(request.param)
    return client, "portfolio"


async def test_the_function_runs_once_and_the_run_ends_with_an_answer_using_it(
    dialect_client: tuple[AsyncAgentClient, str],
) -> None:
    client, agent = dialect_client
    calls = Calls()
    run = await client.run(agent, "portfolio", tools=[calls.position_value])
    assert calls.seen == [("NVDA", 3)]
    assert run.status == "completed"
    assert run.text == "The position is worth 301.5."
    [call] = run.tool_calls
    assert (call.name, call.arguments, call.status, call.ran_by) == (
        "position_value",
        {"ticker": "NVDA", "shares": 3},
        "succeeded",
        "client",
    )
    assert call.output == {"returned": "301.5", "printed": "pricing NVDA\n"}


async def test_a_raising_function_sends_its_error_and_the_run_goes_on(
    dialect_client: tuple[AsyncAgentClient, str],
) -> None:
    client, agent = dialect_client

    def position_value(ticker: str, shares: int = 1) -> float:
        raise LookupError(f"no price for {ticker}")

    run = await client.run(agent, "portfolio", tools=[position_value])
    assert run.status == "completed"
    assert run.text == "The position is worth LookupError: no price for NVDA."
    [call] = run.tool_calls
    assert (call.status, call.error, call.ran_by) == (
        "failed",
        "LookupError: no price for NVDA",
        "client",
    )


async def test_a_denied_tool_never_runs_and_the_agent_is_told(
    dialect_client: tuple[AsyncAgentClient, str],
) -> None:
    client, agent = dialect_client
    calls = Calls()
    tool = portfolio_tool(calls, approve=True)
    run = await client.run(agent, "portfolio", tools=[tool], approve=False)
    assert calls.seen == []
    assert run.status == "completed"
    assert run.text.startswith("The position is worth the user denied this call")
    [call] = run.tool_calls
    assert call.status == "denied"


async def test_an_approved_tool_runs(dialect_client: tuple[AsyncAgentClient, str]) -> None:
    client, agent = dialect_client
    calls = Calls()
    run = await client.run(
        agent, "portfolio", tools=[portfolio_tool(calls, approve=True)], approve=True
    )
    assert calls.seen == [("NVDA", 3)]
    assert run.text == "The position is worth 301.5."


async def test_a_call_to_a_name_not_declared_runs_nothing(responses: AsyncAgentClient) -> None:
    calls = Calls()
    lookalike = agentnb.tool(calls.position_value, name="position_valve")
    run = await responses.run("portfolio", "portfolio", tools=[lookalike])
    assert calls.seen == []
    [call] = run.tool_calls
    assert (call.name, call.status, call.ran_by) == ("undeclared_tool", "failed", "client")
    assert call.error == (
        "no tool named 'undeclared_tool' was declared by the client (declared: position_valve)"
    )
    assert run.text == f"The position is worth {call.error}."


async def test_pydantic_ai_refuses_an_undeclared_name_itself(agui: AsyncAgentClient) -> None:
    calls = Calls()
    lookalike = agentnb.tool(calls.position_value, name="position_valve")
    run = await agui.run("portfolio", "portfolio", tools=[lookalike])
    assert calls.seen == []
    assert run.tool_calls and all(c.ran_by is None for c in run.tool_calls)


async def test_invalid_arguments_go_back_to_the_agent(
    dialect_client: tuple[AsyncAgentClient, str],
) -> None:
    client, agent = dialect_client
    seen: list[str] = []

    def position_value(ticker: str, shares: bool) -> str:  # 3 is not a bool
        seen.append(ticker)
        return "never"

    run = await client.run(agent, "portfolio", tools=[position_value])
    assert seen == []
    [call] = run.tool_calls
    assert call.status == "failed"
    assert call.error is not None and call.error.startswith(
        "invalid arguments for position_value: shares"
    )


async def test_a_call_storm_runs_only_the_calls_one_step_may_ask_for(
    responses: AsyncAgentClient,
) -> None:
    calls = Calls()
    run = await responses.run("portfolio", "storm 20", tools=[calls.position_value])
    assert calls.seen == [("NVDA", n) for n in range(MAX_CALLS_PER_ROUND)]
    failed = [c for c in run.tool_calls if c.status == "failed"]
    assert [c.call_id for c in failed] == [f"call_{n}" for n in range(MAX_CALLS_PER_ROUND, 20)]
    assert {c.error for c in failed} == {"at most 16 client tool calls are run per step"}
    assert run.status == "completed"


async def test_an_argument_bomb_never_reaches_the_function(responses: AsyncAgentClient) -> None:
    calls = Calls()
    run = await responses.run("portfolio", "bomb", tools=[calls.position_value])
    assert calls.seen == []
    [call] = run.tool_calls
    assert call.status == "failed" and call.error is not None
    received = len(json.dumps(call.arguments, separators=(",", ":")))  # as the function gets it
    assert received > 200_000
    assert call.error == f"the arguments are {received} characters, over the 100000 allowed"
    assert run.status == "completed"


@pytest.mark.parametrize("dialect", ["a2a", "langgraph", "operativus", "seekrflow"])
def test_a_dialect_without_client_tools_refuses_them_before_sending(dialect: str) -> None:
    def position_value(ticker: str) -> float:
        return 1.0

    agentnb.connect(
        dialect, base_url="http://127.0.0.1:9", api_key="k", name="no_tools", timeout=PEER_TIMEOUT
    )
    try:
        with pytest.raises(agentnb.UnsupportedOptionError) as refused:
            agentnb.ask("portfolio", "portfolio", via="no_tools", tools=[position_value])
    finally:
        disconnect("no_tools")
    assert refused.value.options == ("tools",)
    assert (
        "The dialects that send tools: adk, ag-ui, anthropic, openai, openai-responses, vercel."
        in str(refused.value)
    )


async def test_the_history_tells_a_client_call_from_a_platforms(
    agentserver_url: str, tmp_path: Path
) -> None:
    calls = Calls()
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        async with AsyncAgentClient(
            "openai-responses", base_url=agentserver_url, recorder=store, timeout=PEER_TIMEOUT
        ) as client:
            await client.run("portfolio", "portfolio", tools=[calls.position_value])
            await client.run("portfolio", "weather")  # a function call left to the client
        recorded = {(r.name, r.status, r.ran_by) for r in store.runs().tool_calls()}
        frame = store.runs().tool_calls().to_pandas()
    assert recorded == {
        ("position_value", "succeeded", "client"),
        ("get_weather", "no_result", None),
    }
    assert (frame["ran_by"] == "client").sum() == 1 and frame["ran_by"].isna().sum() == 1


async def test_the_call_shows_running_in_the_notebook_before_it_ends(
    responses: AsyncAgentClient,
) -> None:
    calls = Calls()
    seen: list[tuple[str, str | None]] = []
    async with responses.stream("portfolio", "portfolio", tools=[calls.position_value]) as stream:
        async for event in stream:
            if getattr(event, "call_id", None) == "call_pos_1":
                seen.append((event.type, getattr(event, "ran_by", None)))
    assert seen[-2:] == [("tool_call_progress", "client"), ("tool_call_finished", "client")]


async def test_stop_during_a_call_ends_the_run_and_says_what_became_of_it(
    responses: AsyncAgentClient,
) -> None:
    started, release = threading.Event(), threading.Event()

    def position_value(ticker: str, shares: int = 1) -> float:
        started.set()
        release.wait(PATIENCE_S)
        return 1.0

    stream = responses.stream("portfolio", "portfolio", tools=[position_value])
    reading = asyncio.create_task(stream.consume())
    await asyncio.to_thread(started.wait, PATIENCE_S)
    await stream.aclose()
    await reading
    release.set()
    run = stream.run
    assert run.status == "cancelled"
    [call] = run.tool_calls
    assert (call.status, call.ran_by) == ("failed", "client")
    assert call.error == STOPPED_WHILE_RUNNING
