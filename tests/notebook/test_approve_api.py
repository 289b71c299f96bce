"""``approve=`` on every notebook-level way a run starts — ``ask``, ``start_run``, ``chat``
and its follow-up turns, ``batch``, through a named connection or a client — against the
built-in server's ``trader`` agent in both dialects that can carry a decision.

What a policy leaves undecided waits for a human (``handle.approve`` / ``deny``, the chat
cell's buttons) unless nothing can decide: a caller blocked until the end (``wait=True``,
``handle.wait()``, ``await handle``) or a batch. Then the call is denied, saying no one could
approve it, and the run ends instead of waiting forever."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb import AgentClient, ConfigurationError, Run
from agentnb._app.front import connections as conns
from agentnb._app.front.run_start import start_run
from agentnb._core.request import build_request
from agentnb.approvals import ApprovalDecision
from agentnb.server import ServerHandle
from agentnb.types import Connection, RunHandle, ToolCall

ORDER = "Buy 10 NVDA"
APPROVING = ["vercel", "operativus"]
NO_ONE = "no one could approve it: the caller was waiting for the run to end"
NO_ONE_IN_A_BATCH = "no one could approve it: batch runs are unattended"


@pytest.fixture(autouse=True)
def _own_connections() -> Iterator[None]:
    saved = dict(conns._connections)
    yield
    conns.close_all()
    conns._connections.clear()
    conns._connections.update(saved)


def connect(server: ServerHandle, dialect: str) -> Connection:
    return agentnb.connect(
        dialect,
        **server.client_settings(dialect),
        api_key=server.api_key,
        name=f"approvals-{dialect}",
    )


def trade(run: Run) -> ToolCall:
    return next(c for c in run.tool_calls if c.name == "place_trade")


def until_paused(handle: RunHandle) -> ToolCall:
    """The call the run pauses for (waits until it does, or the run ends)."""
    deadline = time.monotonic() + PATIENCE_S
    while handle.status != "paused" and not handle.done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert handle.status == "paused", handle.run.error
    (call,) = handle.awaiting_approval
    return call


# ---- ask -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", APPROVING)
@pytest.mark.parametrize(
    ("approve", "status"),
    [
        (True, "succeeded"),
        (False, "denied"),
        (lambda call: call.arguments["ticker"] == "NVDA", "succeeded"),
        (lambda call: ApprovalDecision(call.call_id, False, "limits"), "denied"),
    ],
)
def test_ask_follows_its_policy(
    server: ServerHandle, dialect: str, approve: Any, status: str
) -> None:
    conn = connect(server, dialect)
    handle = agentnb.ask("trader", ORDER, via=conn.name, display=False, approve=approve)
    run = handle.wait()
    assert (run.status, trade(run).status) == ("completed", status)


@pytest.mark.parametrize("dialect", APPROVING)
def test_ask_that_waits_without_a_policy_denies_as_no_one_could_approve(
    server: ServerHandle, dialect: str
) -> None:
    conn = connect(server, dialect)
    handle = agentnb.ask("trader", ORDER, via=conn.name, display=False, wait=True)
    denied = trade(handle.run)
    assert handle.status == "completed" and denied.status == "denied"
    assert (denied.error or "").startswith(NO_ONE)


@pytest.mark.parametrize("dialect", APPROVING)
@pytest.mark.parametrize("approved", [True, False])
def test_ask_leaves_the_call_to_a_human_who_decides_on_the_handle(
    server: ServerHandle, dialect: str, approved: bool
) -> None:
    with AgentClient(
        dialect, **server.client_settings(dialect), api_key=server.api_key, record=False
    ) as client:
        handle = agentnb.ask("trader", ORDER, client=client, display=False)
        call = until_paused(handle)
        if approved:
            handle.approve(call.call_id)
        else:
            handle.deny(call.call_id, reason="let me think")
        run = handle.wait(PATIENCE_S)
    assert trade(run).status == ("succeeded" if approved else "denied")
    assert approved or trade(run).error == "let me think"


def test_waiting_on_a_paused_handle_denies_what_nobody_can_decide(server: ServerHandle) -> None:
    conn = connect(server, "vercel")
    handle = agentnb.ask("trader", ORDER, via=conn.name, display=False)
    until_paused(handle)
    run = handle.wait()
    assert (trade(run).error or "").startswith(NO_ONE)
    assert run.status == "completed"


async def test_awaiting_a_handle_is_waiting_too(server: ServerHandle) -> None:
    conn = connect(server, "operativus")
    handle = agentnb.ask("trader", ORDER, via=conn.name, display=False)
    run = await handle
    assert (trade(run).error or "").startswith(NO_ONE)


def test_a_wait_with_a_timeout_leaves_the_decision_open(server: ServerHandle) -> None:
    conn = connect(server, "vercel")
    handle = agentnb.ask("trader", ORDER, via=conn.name, display=False)
    call = until_paused(handle)
    with pytest.raises(TimeoutError, match="did not end within"):
        handle.wait(0.2)
    assert handle.awaiting_approval == [call]
    handle.approve(call.call_id)
    assert trade(handle.wait(PATIENCE_S)).status == "succeeded"


def test_a_policy_that_leaves_it_to_a_human_is_consulted_once(server: ServerHandle) -> None:
    conn = connect(server, "operativus")
    consulted: list[dict[str, Any]] = []
    handle = agentnb.ask(
        "trader",
        ORDER,
        via=conn.name,
        display=False,
        approve=lambda call: consulted.append(call.arguments),
    )
    call = until_paused(handle)
    handle.approve(call.call_id)
    assert trade(handle.wait(PATIENCE_S)).status == "succeeded"
    assert consulted == [{"ticker": "NVDA", "side": "buy", "shares": 10}]


# ---- start_run and chat ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", APPROVING)
def test_start_run_takes_a_policy(server: ServerHandle, dialect: str) -> None:
    conn = connect(server, dialect)
    handle = start_run(conn, build_request("trader", ORDER), record=False, approve=True)
    assert trade(handle.wait()).status == "succeeded"


@pytest.mark.parametrize("dialect", APPROVING)
def test_chat_applies_its_policy_to_every_turn(server: ServerHandle, dialect: str) -> None:
    conn = connect(server, dialect)
    cell = agentnb.chat("trader", via=conn.name, followups=False, approve=False)
    first = cell.ask(ORDER).wait()
    second = cell.ask("Sell 3 AAPL").wait()
    assert [trade(r).status for r in (first, second)] == ["denied", "denied"]
    assert trade(second).arguments == {"ticker": "AAPL", "side": "sell", "shares": 3}


def test_a_chat_turn_without_a_policy_waits_for_a_decision(server: ServerHandle) -> None:
    conn = connect(server, "vercel")
    cell = agentnb.chat("trader", via=conn.name, followups=False)
    handle = cell.ask(ORDER)
    handle.approve(until_paused(handle).call_id)
    assert trade(handle.wait(PATIENCE_S)).status == "succeeded"


# ---- batch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", APPROVING)
def test_a_batch_without_a_policy_denies_every_call(server: ServerHandle, dialect: str) -> None:
    conn = connect(server, dialect)
    table = agentnb.batch("trader", [ORDER, "Sell 2 MSFT"], via=conn.name, progress=False)
    assert [r.status for r in table] == ["completed", "completed"]
    calls = [c for c in table.tool_calls() if c.name == "place_trade"]
    assert [c.status for c in calls] == ["denied", "denied"]
    assert all((c.error or "").startswith(NO_ONE_IN_A_BATCH) for c in calls)


@pytest.mark.parametrize("dialect", APPROVING)
def test_a_batch_follows_its_policy(server: ServerHandle, dialect: str) -> None:
    conn = connect(server, dialect)
    table = agentnb.batch(
        "trader",
        [ORDER, "Buy 500 AAPL"],
        via=conn.name,
        progress=False,
        approve=lambda call: call.arguments["shares"] < 100,
    )
    calls = {c.local_id: c for c in table.tool_calls() if c.name == "place_trade"}
    assert [calls[r.local_id].status for r in table] == ["succeeded", "denied"]


# ---- refusals ------------------------------------------------------------------------------


def test_every_entry_point_refuses_a_bad_approve_value(server: ServerHandle) -> None:
    conn = connect(server, "vercel")
    request = build_request("trader", ORDER)
    yes: Any = "yes"
    starts: list[Callable[[], object]] = [
        lambda: agentnb.ask("trader", ORDER, via=conn.name, display=False, approve=yes),
        lambda: agentnb.chat("trader", via=conn.name, approve=yes),
        lambda: agentnb.batch("trader", [ORDER], via=conn.name, progress=False, approve=yes),
        lambda: start_run(conn, request, approve=yes),
    ]
    for start in starts:
        with pytest.raises(ConfigurationError, match="approve= must be True, False, None"):
            start()


def test_a_policy_on_a_dialect_whose_tools_run_without_asking_is_refused(
    server: ServerHandle,
) -> None:
    conn = connect(server, "openai")
    with pytest.raises(ConfigurationError, match="cannot carry tool approval decisions"):
        agentnb.ask("echo", "hi", via=conn.name, display=False, approve=True)
    with pytest.raises(ConfigurationError, match="cannot carry tool approval decisions"):
        agentnb.chat("echo", via=conn.name, approve=True)
    with pytest.raises(ConfigurationError, match="cannot carry tool approval decisions"):
        agentnb.batch("echo", ["hi"], via=conn.name, progress=False, approve=False)
