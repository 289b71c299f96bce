"""``approve=`` on the clients, against the built-in server's ``trader`` agent (its
``place_trade`` call waits for a decision) in the dialects that can carry one.

A stream you drive waits at the pause for your decision; ``run()`` returns only at the end, so
nothing can decide while it waits and the calls its policy leaves undecided are denied, saying
no one could approve them."""

from __future__ import annotations

from typing import Any

import pytest
from agentnb_testing import client_for

from agentnb import AgentClient, ConfigurationError, Run
from agentnb.approvals import ApprovalDecision
from agentnb.events import RunPaused, ToolApprovalResponded
from agentnb.server import ServerHandle
from agentnb.types import ToolCall

ORDER = "Buy 10 NVDA"
APPROVING = ["vercel", "operativus", "langgraph"]
NO_ONE = "no one could approve it: the caller was waiting for the run to end"


def trade(run: Run) -> ToolCall:
    return next(c for c in run.tool_calls if c.name == "place_trade")


def sync_client(server: ServerHandle, dialect: str) -> AgentClient:
    return AgentClient(
        dialect, **server.client_settings(dialect), api_key=server.api_key, record=False
    )


# ---- AsyncAgentClient ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", APPROVING)
@pytest.mark.parametrize(
    ("approve", "status", "answer"),
    [
        (True, "succeeded", "Placed a **demo** order"),
        (False, "denied", "I did not place the order"),
        (lambda call: call.arguments["shares"] <= 10, "succeeded", "Placed"),
        (lambda call: ApprovalDecision(call.call_id, False, "over budget"), "denied", "budget"),
    ],
)
async def test_run_follows_its_policy(
    server: ServerHandle, dialect: str, approve: Any, status: str, answer: str
) -> None:
    async with client_for(server, dialect, record=False) as client:
        run = await client.run("trader", ORDER, approve=approve)
    assert run.status == "completed"
    assert trade(run).status == status
    assert answer in run.text


@pytest.mark.parametrize("dialect", APPROVING)
async def test_run_without_a_policy_denies_as_no_one_could_approve(
    server: ServerHandle, dialect: str
) -> None:
    async with client_for(server, dialect, record=False) as client:
        run = await client.run("trader", ORDER)
    denied = trade(run)
    assert run.status == "completed"
    assert denied.status == "denied"
    assert denied.error is not None and denied.error.startswith(NO_ONE)
    assert denied.approval is not None and denied.approval.approved is False
    assert "no one could approve it" in run.text  # the platform saw the reason


async def test_a_policy_that_leaves_the_call_to_a_human_is_denied_by_run(
    server: ServerHandle,
) -> None:
    asked: list[str] = []

    def undecided(call: ToolCall) -> None:
        asked.append(call.name)

    async with client_for(server, "vercel", record=False) as client:
        run = await client.run("trader", ORDER, approve=undecided)
    assert asked == ["place_trade"]
    assert (trade(run).error or "").startswith(NO_ONE)


@pytest.mark.parametrize("dialect", APPROVING)
async def test_a_stream_waits_for_the_caller_to_decide(server: ServerHandle, dialect: str) -> None:
    decided: list[ToolApprovalResponded] = []
    async with (
        client_for(server, dialect, record=False) as client,
        client.stream("trader", ORDER) as stream,
    ):
        async for event in stream:
            if isinstance(event, RunPaused):
                stream.approvals.approve(stream.run.awaiting_approval[0].call_id, "fine")
            if isinstance(event, ToolApprovalResponded):
                decided.append(event)
    assert [(d.approved, d.reason) for d in decided] == [(True, "fine")]
    assert trade(stream.run).status == "succeeded"


async def test_a_stream_takes_approve(server: ServerHandle) -> None:
    async with (
        client_for(server, "operativus", record=False) as client,
        client.stream("trader", ORDER, approve=False) as stream,
    ):
        async for _ in stream:
            pass
    assert trade(stream.run).status == "denied"


# ---- AgentClient ---------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", APPROVING)
def test_the_sync_client_runs_with_a_policy(server: ServerHandle, dialect: str) -> None:
    with sync_client(server, dialect) as client:
        approved = client.run("trader", ORDER, approve=True)
        unattended = client.run("trader", ORDER)
    assert trade(approved).status == "succeeded"
    assert (trade(unattended).error or "").startswith(NO_ONE)


@pytest.mark.parametrize("dialect", APPROVING)
def test_the_sync_stream_takes_decisions_from_the_loop_body(
    server: ServerHandle, dialect: str
) -> None:
    with sync_client(server, dialect) as client, client.stream("trader", ORDER) as stream:
        for event in stream:
            if isinstance(event, RunPaused):
                (call,) = stream.run.awaiting_approval
                stream.approvals.deny(call.call_id, "not now")
    denied = trade(stream.run)
    assert (stream.run.status, denied.status, denied.error) == ("completed", "denied", "not now")


def test_the_sync_stream_takes_approve(server: ServerHandle) -> None:
    with (
        sync_client(server, "vercel") as client,
        client.stream("trader", ORDER, approve=True) as stream,
    ):
        events = list(stream)
    assert any(isinstance(e, ToolApprovalResponded) and e.approved for e in events)
    assert trade(stream.run).status == "succeeded"


# ---- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("approve", ["yes", 1, {"place_trade": True}])
def test_a_bad_approve_value_is_refused_before_anything_is_sent(
    server: ServerHandle, approve: Any
) -> None:
    with sync_client(server, "vercel") as client:
        with pytest.raises(ConfigurationError, match="approve= must be True, False, None"):
            client.run("trader", ORDER, approve=approve)
        with pytest.raises(ConfigurationError, match="approve= must be True, False, None"):
            client.stream("trader", ORDER, approve=approve)


@pytest.mark.parametrize("dialect", ["openai", "runagent", "runtools", "seekrflow"])
def test_a_policy_where_tools_run_without_asking_is_refused(
    server: ServerHandle, dialect: str
) -> None:
    with (
        sync_client(server, dialect) as client,
        pytest.raises(ConfigurationError, match="cannot carry tool approval decisions"),
    ):
        client.run("echo", "hi", approve=False)
