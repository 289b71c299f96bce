"""Human-in-the-loop tool approval, end to end against the built-in server's ``trader``
agent: its ``place_trade`` call waits for a decision in the dialects that can say so
(``vercel``: the AI SDK's approval request and response; ``operativus``: the ``PAUSED``
status and agentnb's ``/approvals`` extension; ``ag-ui``: an interrupt outcome, resumed with
``resume`` entries; ``a2a``: an ``input-required`` task, answered by a message to the task)
and is refused in the others."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, client_for, growing_limits

from agentnb import (
    AsyncAgentClient,
    ConfigurationError,
    InvalidRequestError,
    StreamStallError,
)
from agentnb._core.approvals import ApprovalDecision, as_approver
from agentnb._core.handle import RunHandle
from agentnb._core.loop import run_sync
from agentnb._core.request import build_request
from agentnb._core.run import Run, ToolCall
from agentnb.events import Event, RunPaused, ToolApprovalRequested, ToolApprovalResponded
from agentnb.providers import available_providers
from agentnb.server import DIALECT_PROVIDERS, ServerHandle

ORDER = "Buy 10 NVDA"
APPROVING = sorted(
    name
    for name, p in available_providers().items()
    if p.supports_approvals and name in DIALECT_PROVIDERS  # the built-in server's trader
)


def trade(run: Run) -> ToolCall:
    return next(c for c in run.tool_calls if c.name == "place_trade")


@pytest.mark.parametrize("provider", APPROVING)
async def test_an_approved_trade_is_placed(server: ServerHandle, provider: str) -> None:
    seen: list[Event] = []
    async with (
        client_for(server, provider, record=False) as client,
        client.stream("trader", ORDER) as stream,
    ):
        async for event in stream:
            seen.append(event)
            if isinstance(event, RunPaused):
                call = stream.run.awaiting_approval[0]
                assert (call.name, call.arguments["shares"]) == ("place_trade", 10)
                assert stream.run.status == "paused"
                stream.approvals.approve(call.call_id)
    run = stream.run
    assert run.status == "completed"
    placed = trade(run)
    assert placed.status == "succeeded"
    assert placed.output["order_id"].startswith("demo_") and placed.output["shares"] == 10
    assert placed.approval is not None and placed.approval.approved is True
    assert placed.approval.decided_by == "user" and not placed.approval.arguments_changed
    assert run.unapproved_calls == []  # a platform's echo of the decision is not the server's
    assert "Placed a **demo** order" in run.text
    kinds = [type(e) for e in seen]
    assert kinds.index(ToolApprovalRequested) < kinds.index(RunPaused)
    assert kinds.index(RunPaused) < kinds.index(ToolApprovalResponded)


@pytest.mark.parametrize("provider", APPROVING)
async def test_a_denied_trade_is_not_placed(server: ServerHandle, provider: str) -> None:
    async with (
        client_for(server, provider, record=False) as client,
        client.stream("trader", ORDER) as stream,
    ):
        async for event in stream:
            if isinstance(event, RunPaused):
                call = stream.run.awaiting_approval[0]
                stream.approvals.deny(call.call_id, reason="too risky")
    run = stream.run
    denied = trade(run)
    assert (denied.status, denied.error, denied.output) == ("denied", "too risky", None)
    assert denied.approval is not None and denied.approval.decided_by == "user"
    assert run.status == "completed" and run.unapproved_calls == []
    assert "declined (too risky)" in run.text


@pytest.mark.parametrize("provider", APPROVING)
@pytest.mark.parametrize(
    ("policy", "status"),
    [
        (True, "succeeded"),
        (False, "denied"),
        (lambda call: call.arguments["shares"] < 100, "succeeded"),
        (lambda call: ApprovalDecision(call.call_id, False, "not today"), "denied"),
    ],
)
async def test_a_policy_decides_for_batch_runs(
    server: ServerHandle, provider: str, policy: Any, status: str
) -> None:
    async with (
        client_for(server, provider, record=False) as client,
        client.stream("trader", ORDER) as stream,
    ):
        stream.approvals.approver = policy
        async for _ in stream:
            pass
    assert trade(stream.run).status == status
    assert trade(stream.run).approval.decided_by == "policy"  # type: ignore[union-attr]
    assert stream.run.status == "completed" and stream.run.unapproved_calls == []


async def test_an_async_policy_is_awaited(server: ServerHandle) -> None:
    async def ask_someone(call: ToolCall) -> bool:
        await asyncio.sleep(0.01)
        return True

    async with (
        client_for(server, "vercel", record=False) as client,
        client.stream("trader", ORDER) as stream,
    ):
        stream.approvals.approver = ask_someone
        async for _ in stream:
            pass
    assert trade(stream.run).status == "succeeded"


async def test_the_operativus_status_says_paused_while_waiting(server: ServerHandle) -> None:
    async with client_for(server, "operativus", record=False) as client:
        async with client.stream("trader", ORDER) as stream:
            async for event in stream:
                if isinstance(event, RunPaused):
                    (listed,) = await client.run_status("trader", stream.run.run_id or "")
                    assert listed.status == "PAUSED"
                    stream.approvals.approve(stream.run.awaiting_approval[0].call_id)
        (listed,) = await client.run_status("trader", stream.run.run_id or "")
    assert listed.status == "COMPLETED"


def test_a_handle_waits_for_a_human_then_finishes(server: ServerHandle) -> None:
    client = client_for(server, "vercel", record=False)
    stream = client.stream("trader", ORDER)
    handle = RunHandle.start(lambda: stream, run=stream.run)
    try:
        deadline = time.monotonic() + PATIENCE_S
        while handle.status != "paused" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert handle.status == "paused" and not handle.done
        (call,) = handle.awaiting_approval
        assert call.arguments == {"ticker": "NVDA", "side": "buy", "shares": 10}
        with pytest.raises(ConfigurationError, match="not awaiting approval"):
            handle.approve("call_nope")
        handle.approve(call.call_id)
        with pytest.raises(ConfigurationError, match="already approved"):
            handle.deny(call.call_id)
        run = handle.wait(PATIENCE_S)
    finally:
        run_sync(client.aclose())
    assert run.status == "completed" and trade(run).status == "succeeded"


def test_a_handle_runs_the_policy_its_stream_was_given(server: ServerHandle) -> None:
    client = client_for(server, "operativus", record=False)
    stream = client.stream("trader", ORDER, approve=False)
    handle = RunHandle.start(lambda: stream, run=stream.run)
    try:
        run = handle.wait(PATIENCE_S)
    finally:
        run_sync(client.aclose())
    assert trade(run).status == "denied"


async def test_waiting_for_a_human_is_not_a_stall(server: ServerHandle) -> None:
    # a person takes twice the idle limit (a stream that goes on is never that silent); the
    # limit grows while a loaded machine took longer than it to bring the pause
    for limit in growing_limits("the pause"):
        client = client_for(server, "vercel", record=False, idle_timeout=limit)
        paused = False
        with contextlib.suppress(StreamStallError):
            async with client, client.stream("trader", ORDER) as stream:
                async for event in stream:
                    if isinstance(event, RunPaused):
                        paused = True
                        call_id = stream.run.awaiting_approval[0].call_id
                        decide = stream.approvals.approve
                        asyncio.get_running_loop().call_later(2 * limit, decide, call_id)
        if paused:
            break
    assert stream.run.status == "completed"


async def drain(client: AsyncAgentClient, policy: Any = None) -> Run:
    """Stream a trade to its end (with ``policy`` deciding, if given); the run."""
    async with client.stream(build_request("trader", ORDER)) as stream:
        stream.approvals.approver = policy
        async for _ in stream:
            pass
    return stream.run


async def test_the_run_timeout_still_bounds_a_paused_run(server: ServerHandle) -> None:
    async with client_for(server, "vercel", record=False, run_timeout=1) as client:
        with pytest.raises(StreamStallError, match="run_timeout") as caught:
            await drain(client)
    assert caught.value.run is not None and caught.value.run.status == "interrupted"


async def test_a_policy_that_answers_nonsense_fails_the_run_clearly(server: ServerHandle) -> None:
    async with client_for(server, "vercel", record=False) as client:
        with pytest.raises(ConfigurationError, match="must return True, False, None") as caught:
            await drain(client, lambda call: "yes")
    assert caught.value.run is not None and caught.value.run.status == "failed"


@pytest.mark.parametrize("provider", ["openai", "runagent", "runtools", "seekrflow"])
async def test_dialects_that_cannot_express_approval_refuse_the_agent(
    server: ServerHandle, provider: str
) -> None:
    async with client_for(server, provider, record=False) as client:
        with pytest.raises(InvalidRequestError, match="cannot express"):
            await client.run("trader", ORDER)


def test_a_policy_on_a_dialect_without_approvals_is_refused(server: ServerHandle) -> None:
    client = client_for(server, "openai", record=False)
    stream = client.stream("echo", "hi")
    with pytest.raises(ConfigurationError, match="cannot carry"):
        stream.approvals.approver = True
    run_sync(client.aclose())


@pytest.mark.parametrize("policy", ["yes", 1, [True]])
def test_a_bad_policy_is_refused(policy: Any) -> None:
    with pytest.raises(ConfigurationError, match="approve= must be True, False, None or a call"):
        as_approver(policy)
