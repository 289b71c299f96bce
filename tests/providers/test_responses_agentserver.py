"""The ``openai-responses`` dialect against a Responses server others wrote, offline: the
``azure-ai-agentserver-responses`` host (its routes, event stream state machine, in-memory
store, background mode, ``starting_after`` replay and cancel) with a scripted handler
(``sdk_servers/responses_agentserver.py``, in the ``.tools/agentserver`` venv pinned by
``tests/sdk_envs/agentserver.txt``). Cuts are made by a relay that drops the connection
after a number of events, as a network would."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PEER_TIMEOUT, patient_polls

from agentnb import AsyncAgentClient
from agentnb._core.request import RunRequest
from agentnb.approvals import ApprovalDecision
from agentnb.providers import RunRef

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from hostile_server import CuttingRelay, HostileServer


def client_of(url: str, **options: object) -> AsyncAgentClient:
    options.setdefault("timeout", PEER_TIMEOUT)
    return AsyncAgentClient("openai-responses", base_url=url, record=False, **options)


@pytest.fixture
async def client(agentserver_url: str) -> AsyncIterator[AsyncAgentClient]:
    async with client_of(agentserver_url) as agent_client:
        yield agent_client


async def test_reasoning_is_reasoning_and_the_text_is_the_answer(client: AsyncAgentClient) -> None:
    run = await client.run("scripted", "What is NVDA at?")
    assert run.status == "completed"
    assert run.text == "NVDA trades at 875.4"
    assert run.reasoning == "Looking it up"
    assert run.run_id and run.run_id == run.thread_id  # the next turn continues this response
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (
        12,
        20,
        32,
    )
    assert (run.usage.cached_tokens, run.usage.reasoning_tokens) == (4, 8)
    assert run.finish_reason == "stop"
    assert not run.unknown_events


async def test_previous_response_id_carries_the_conversation(client: AsyncAgentClient) -> None:
    first = await client.run("scripted", "turns")
    second = await client.run("scripted", "turns", thread_id=first.thread_id)
    other = await client.run("scripted", "turns")
    assert (first.text, second.text, other.text) == ("turn 1", "turn 2", "turn 1")
    assert second.thread_id == second.run_id != first.run_id


async def test_a_function_call_waits_for_the_clients_output(client: AsyncAgentClient) -> None:
    run = await client.run("scripted", "weather")
    assert run.status == "completed"  # not an error: the client has a call to run
    assert run.finish_reason == "tool_calls"
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments) == (
        "call_weather_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert call.status == "no_result"


async def test_a_refusal_is_what_the_model_answered(client: AsyncAgentClient) -> None:
    run = await client.run("scripted", "refuse")
    assert (run.status, run.text, run.finish_reason) == (
        "completed",
        "I can't help with that.",
        "refusal",
    )


@pytest.mark.parametrize("approved", [True, False])
async def test_an_mcp_approval_request_is_an_approval(
    client: AsyncAgentClient, approved: bool
) -> None:
    async with client.stream("scripted", "trade") as stream:
        async for event in stream:
            if event.type == "tool_approval_requested":
                decision = ApprovalDecision(event.call_id, approved, reason="policy")
                stream.approvals.decide(decision)
    run = stream.run
    assert run.status == "completed", run.error
    assert run.text == ("traded" if approved else "not traded")
    [call] = run.tool_calls
    assert call.name == "place_trade"
    assert call.arguments == {"ticker": "NVDA", "shares": 10}
    assert call.approval is not None and call.approval.approved is approved
    if approved:
        assert (call.status, call.output) == ("succeeded", {"order": "filled"})
    else:
        assert call.status == "denied"


async def test_a_background_run_cut_mid_stream_resumes_after_its_last_event(
    agentserver_url: str,
) -> None:
    relay = CuttingRelay(agentserver_url, cut_after=12)
    with HostileServer(relay) as hostile:
        async with client_of(hostile.url, provider_options={"background": True}) as agent_client:
            run = await agent_client.run("scripted", "slow 30")
    assert run.status == "completed", run.error
    assert run.text == "".join(f"{n} " for n in range(30))  # nothing lost, nothing twice
    assert run.resumes == 1
    [first, resumed] = relay.targets
    assert first == "POST /responses"
    assert resumed == f"GET /responses/{run.run_id}?stream=true&starting_after=11"


async def started_elsewhere(url: str, message: str) -> str:
    """A background response started and left after its first text (a kernel that died):
    its id, as a history row keeps it."""
    provider = client_of(url, provider_options={"background": True}).provider
    first = provider.stream_http_request(RunRequest(agent="scripted", message=message))
    async with (
        httpx.AsyncClient(base_url=url) as http,
        http.stream("POST", first.path, json=first.json, headers=dict(first.headers)) as answer,
    ):
        async for line in answer.aiter_lines():
            if '"response.created"' in line and line.startswith("data:"):
                response_id: str = json.loads(line[5:])["response"]["id"]
            if '"response.output_text.delta"' in line:
                return response_id
    raise AssertionError("the response never streamed text")


async def test_attach_streams_a_background_run_after_a_restart(agentserver_url: str) -> None:
    response_id = await started_elsewhere(agentserver_url, "slow 20")
    async with client_of(agentserver_url, provider_options={"background": True}) as agent_client:
        attached = agent_client.attach("scripted", response_id)
        async with attached:
            await attached.consume()
        run = attached.run
        assert run.status == "completed", run.error
        assert run.text == "".join(f"{n} " for n in range(20))  # from its start, once
        found = await agent_client.retrieve_run(RunRef("scripted", response_id))
    assert found is not None
    assert (found.run_id, found.status, found.total_tokens) == (response_id, "completed", 32)


async def test_stop_cancels_the_response_on_the_server(agentserver_url: str) -> None:
    async with client_of(agentserver_url, provider_options={"background": True}) as agent_client:
        async with agent_client.stream("scripted", "slow 200") as stream:
            async for event in stream:
                if event.type == "text_delta":
                    break  # Stop: the stream is closed early
        run = stream.run
        assert run.status == "cancelled" and run.run_id
        ref = RunRef("scripted", run.run_id)
        found = None
        for _ in patient_polls():
            found = await agent_client.retrieve_run(ref)
            if found is not None and found.status == "cancelled":
                break
            await asyncio.sleep(0.05)
        assert found is not None and found.status == "cancelled"
        assert run.cancel_error is None
    async with httpx.AsyncClient() as http:
        cancelled = (await http.get(f"{agentserver_url}/log")).json()["cancelled"]
    assert run.run_id in cancelled  # the handler saw the cancellation


async def test_stop_of_a_foreground_response_closes_its_stream_and_sends_no_cancel(
    client: AsyncAgentClient, agentserver_url: str
) -> None:
    """A response not in background is generated for its stream: closing the stream is the
    Stop (the handler sees it cancelled). The host answers a cancel of such a response with
    404 (while it ends) or 400 "Cannot cancel a synchronous response", as OpenAI's reference
    says only background responses can be cancelled: none is sent, and the run reports no
    failed cancel (before, it said "the platform was not told to stop the run")."""
    async with client.stream("scripted", "slow 200") as stream:
        async for event in stream:
            if event.type == "text_delta":
                break  # Stop
    run = stream.run
    assert run.status == "cancelled" and run.run_id
    await client.aclose()  # waits for any request sent after the run's end
    assert run.cancel_error is None
    async with httpx.AsyncClient() as http:
        for _ in patient_polls():
            cancelled = (await http.get(f"{agentserver_url}/log")).json()["cancelled"]
            if run.run_id in cancelled:
                break
            await asyncio.sleep(0.05)
        refused = await http.post(f"{agentserver_url}/responses/{run.run_id}/cancel")
    assert run.run_id in cancelled  # the handler saw the stream close
    assert refused.status_code in (400, 404)  # "Cannot cancel a synchronous response"
