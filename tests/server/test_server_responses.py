"""agentnb's ``openai-responses`` client against the built-in server's Responses API: the
server's tools as finished cards, reasoning, usage, both kinds of thread, a background run
cut by the network and resumed after its last event, attach, Stop and retrieve."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agentnb_testing import patient_polls

from agentnb import AsyncAgentClient, InvalidRequestError
from agentnb.providers import RunRef
from agentnb.server import ServerHandle

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from hostile_server import CuttingRelay, HostileServer

QUESTION = "What is NVDA trading at?"


def client_of(url: str, key: str, **options: object) -> AsyncAgentClient:
    return AsyncAgentClient("openai-responses", base_url=url, api_key=key, record=False, **options)


@pytest.fixture
async def client(server: ServerHandle) -> AsyncIterator[AsyncAgentClient]:
    async with client_of(server.url_for("openai-responses"), server.api_key) as agent_client:
        yield agent_client


async def test_a_run_reads_as_in_any_dialect(client: AsyncAgentClient) -> None:
    run = await client.run("finance_agent", QUESTION)
    assert run.status == "completed" and not run.unknown_events
    assert "$875.40" in run.text and run.text.count("$875.40") == run.text.count("875.40")
    assert run.reasoning.startswith("The user asks about NVDA")
    assert "The user asks" not in run.text
    assert [(c.name, c.status) for c in run.tool_calls] == [
        ("get_stock_price", "succeeded"),
        ("calculator", "succeeded"),
    ]
    assert run.tool_calls[0].arguments == {"ticker": "NVDA"}
    assert run.tool_calls[0].output["price"] == 875.4
    assert run.usage is not None and run.usage.reasoning_tokens
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    assert run.finish_reason == "stop"


async def test_a_thread_of_responses_moves_along_the_chain(client: AsyncAgentClient) -> None:
    first = await client.run("echo", "one two")
    second = await client.run("echo", "three", thread_id=first.thread_id)
    alone = await client.run("echo", "three")
    assert first.thread_id == first.run_id and second.thread_id == second.run_id
    assert second.usage is not None and alone.usage is not None
    assert second.usage.prompt_tokens > alone.usage.prompt_tokens  # it saw the first turn


async def test_a_conversation_id_is_a_thread_that_stays(client: AsyncAgentClient) -> None:
    first = await client.run("echo", "one two", thread_id="conv_agentnb_thread")
    second = await client.run("echo", "three", thread_id=first.thread_id)
    assert first.thread_id == second.thread_id == "conv_agentnb_thread"
    assert first.usage is not None and second.usage is not None
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


async def test_a_background_run_cut_by_the_network_resumes(
    server: ServerHandle, client: AsyncAgentClient
) -> None:
    relay = CuttingRelay(server.base_url, cut_after=20)
    with HostileServer(relay) as hostile:
        url = hostile.url + "/v1"
        async with client_of(
            url, server.api_key, provider_options={"background": True}
        ) as agent_client:
            run = await agent_client.run("finance_agent", QUESTION)
            whole = await client.run("finance_agent", QUESTION)
    assert run.status == "completed" and run.resumes == 1
    assert (
        run.text == whole.text and run.reasoning == whole.reasoning
    )  # nothing lost, nothing twice
    assert [c.status for c in run.tool_calls] == ["succeeded", "succeeded"]
    assert relay.targets[1] == (f"GET /v1/responses/{run.run_id}?stream=true&starting_after=19")


async def test_attach_streams_a_response_from_its_start(client: AsyncAgentClient) -> None:
    first = await client.run("finance_agent", QUESTION)
    assert first.run_id
    attached = client.attach("finance_agent", first.run_id)
    async with attached:
        await attached.consume()
    again = attached.run
    assert again.status == "completed"
    assert (again.text, again.reasoning) == (first.text, first.reasoning)
    found = await client.retrieve_run(RunRef("finance_agent", first.run_id))
    assert found is not None
    # A response names only its model (the demo agent's: the Responses API's agent is a model)
    assert (found.status, found.agent, found.model, found.total_tokens) == (
        "completed",
        "gpt-4o-mini",
        "gpt-4o-mini",
        first.usage.total_tokens if first.usage else None,
    )


async def test_stop_cancels_the_response_on_the_server(server: ServerHandle) -> None:
    slow = {"X-AgentNB-Delay-Ms": "40"}
    url = server.url_for("openai-responses")
    async with (
        client_of(
            url, server.api_key, provider_options={"background": True}, headers=slow
        ) as agent_client,
        agent_client.stream("writer", "write") as stream,
    ):
        async for event in stream:
            if event.type == "text_delta":
                break
    run = stream.run
    assert run.status == "cancelled" and run.run_id
    ref = RunRef("writer", run.run_id)
    async with client_of(url, server.api_key) as reader:
        for _ in patient_polls():
            found = await reader.retrieve_run(ref)
            if found is not None and found.status == "cancelled":
                break
            await asyncio.sleep(0.05)
    assert found is not None and found.status == "cancelled"
    assert run.cancel_error is None


async def test_an_agent_that_asks_questions_is_refused_clearly(client: AsyncAgentClient) -> None:
    with pytest.raises(InvalidRequestError, match="free-form question"):
        await client.run("planner", "Plan a trip")


async def test_an_approval_continues_the_paused_response_in_a_new_one(
    client: AsyncAgentClient,
) -> None:
    started: list[str | None] = []
    async with client.stream("trader", "Buy 10 NVDA") as stream:
        async for event in stream:
            if event.type == "run_started":
                started.append(event.run_id)
            if event.type == "run_paused":
                paused = stream.run.run_id
                stream.approvals.approve(stream.run.awaiting_approval[0].call_id)
    run = stream.run
    assert run.status == "completed"
    assert started == [paused, f"{paused}_1"] == [paused, run.run_id]  # the decision's response
    [trade] = [c for c in run.tool_calls if c.name == "place_trade"]
    assert trade.status == "succeeded" and trade.approval is not None
    ref = RunRef("trader", paused)
    first = await client.retrieve_run(ref)
    assert first is not None and first.status == "completed"
    assert [i["type"] for i in first.raw["output"]][-1] == "mcp_approval_request"
