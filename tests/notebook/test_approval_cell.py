"""Tool approval in the chat cell, kernel side: a real ``trader`` run on the built-in server
pauses, the views get the pending call and the paused status, and a view's Approve or Deny
(the message the comm delivers) decides it through the run's handle. Refusals come back as
notices. The wire also resends a whole turn after a step reset, and carries interim outputs
and the finish reason.

The widget's ``send`` is replaced by a recorder: the seam between the kernel and the browser.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, Scripted, wait_until
from chat_cell_views import (
    Recorder,
    Replica,
    capture,
    loop_caught_up,
    notices,
    paused,
    replica_of,
    start,
    transcript_turn,
    view,
)

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.handle import RunHandle
from agentnb._core.run import Run
from agentnb._display.widget import ChatCell
from agentnb._display.widget_protocol import Turn
from agentnb.events import (
    RunCompleted,
    StepReset,
    StepStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallProgress,
    ToolCallStarted,
    ToolQuestionAsked,
)
from agentnb.server import ServerHandle
from agentnb.server.agents._trader_agent import APPROVAL_REASON

ORDER = "Buy 10 NVDA"
APPROVING = ["vercel", "operativus"]


def trader_cell(
    server: ServerHandle, provider: str, copies: list[str] | None = None, *, late: bool = False
) -> tuple[ChatCell, Recorder, RunHandle]:
    """A chat cell showing a ``trader`` run; ``copies`` gets the static copy's HTML each time
    the cell refreshes it (the display seam). The cell follows the run as it starts, as
    ``%%agent`` does (whether its first events come before is the loop's race), or with
    ``late`` only once it paused (a kernel too busy to follow it sooner)."""
    client = AsyncAgentClient(
        provider, **server.client_settings(provider), api_key=server.api_key, record=False
    )
    stream = client.stream("trader", ORDER)
    cell = ChatCell()
    recorder = capture(cell)
    if copies is not None:
        cell.refresh_copies = lambda: copies.append(cell.static_bundle()["text/html"])  # type: ignore[method-assign]
    handle = RunHandle.start(lambda: stream, run=stream.run)
    if late:
        wait_until(lambda: handle.run.status == "paused")
    cell.add(handle)
    return cell, recorder, handle


def trade_of(turn: dict[str, Any]) -> dict[str, Any]:
    tools = turn["tools"].values() if isinstance(turn["tools"], dict) else turn["tools"]
    return next(c for c in tools if c["name"] == "place_trade")


@pytest.mark.parametrize("late", [False, True], ids=["followed", "followed-late"])
@pytest.mark.parametrize("provider", APPROVING)
def test_a_paused_run_shows_the_pending_call_and_approve_from_a_view_completes_it(
    server: ServerHandle, provider: str, late: bool
) -> None:
    copies: list[str] = []  # the display seam: what a saved notebook's copy says
    cell, recorder, handle = trader_cell(server, provider, copies, late=late)
    wait_until(lambda: paused(cell))  # the synced transcript is written at the pause
    loop_caught_up()  # the flush that wrote it has refreshed the copy too
    assert len(copies) == 1, "the pause refreshed the copy, whether the cell saw it or not"
    assert "Paused: waiting for a human to approve place_trade." in copies[0]
    pending = trade_of(transcript_turn(cell))
    assert pending["status"] == "awaiting_approval"
    assert pending["arguments"] == {"ticker": "NVDA", "side": "buy", "shares": 10}
    assert pending["approval"] == {
        "state": "awaiting",
        "reason": APPROVAL_REASON,
        "decision_reason": None,
        "question": None,
        "answer": None,
        "decided_by": None,
        "decided_at": None,
        "for_run": None,
        "agent_option": None,
        "shown": {
            "name": "place_trade",
            "name_is_plain": True,
            "arguments": [["ticker", '"NVDA"', 0], ["side", '"buy"', 0], ["shares", "10", 0]],
            "whole": [["ticker", '"NVDA"'], ["side", '"buy"'], ["shares", "10"]],
            "aside": [],
            "warnings": [],
            "others": [],
            "protocol_error": None,
            "diff": [],  # a call that writes no file has no diff to show
            "head": APPROVAL_REASON,  # the face's: it repeats no value shown
            "sends": [],  # no read of the notebook
        },
    }
    recorder.wait_for(lambda: replica_of(recorder).turns[0]["meta"]["status"] == "paused")
    shown = trade_of(replica_of(recorder).turns[0])
    assert (shown["status"], shown["approval"]["state"]) == ("awaiting_approval", "awaiting")
    assert (
        "Paused: waiting for a human to approve place_trade." in cell.static_bundle()["text/html"]
    )

    view(cell, {"kind": "approve", "t": 0, "call_id": pending["call_id"]})
    run = cell.wait(PATIENCE_S)
    assert run.status == "completed"
    wait_until(lambda: transcript_turn(cell)["meta"]["status"] == "completed")
    placed = trade_of(transcript_turn(cell))
    assert placed["status"] == "succeeded"
    assert placed["approval"]["state"] == "approved"
    assert placed["output"]["order_id"].startswith("demo_")
    final = replica_of(recorder).turns[0]
    assert trade_of(final)["approval"]["state"] == "approved"
    assert final["meta"]["finish_reason"] == run.finish_reason
    assert notices(recorder) == []
    wait_until(lambda: len(copies) == 2)
    assert "<p><em>Approved.</em></p>" in copies[1] and "Paused" not in copies[1]
    assert handle.done


@pytest.mark.parametrize("provider", APPROVING)
def test_deny_from_a_view_ends_the_call_denied_with_the_reason(
    server: ServerHandle, provider: str
) -> None:
    cell, recorder, _ = trader_cell(server, provider)
    wait_until(lambda: paused(cell))
    call_id = trade_of(transcript_turn(cell))["call_id"]
    view(cell, {"kind": "deny", "t": 0, "call_id": call_id, "reason": "  too risky "})
    run = cell.wait(PATIENCE_S)
    assert run.status == "completed"
    wait_until(lambda: transcript_turn(cell)["meta"]["status"] == "completed")
    denied = trade_of(transcript_turn(cell))
    assert (denied["status"], denied["error"]) == ("denied", "too risky")
    assert isinstance(denied["approval"]["decided_at"], float)  # when the person decided
    assert {k: v for k, v in denied["approval"].items() if k not in ("shown", "decided_at")} == {
        "state": "denied",
        "reason": APPROVAL_REASON,
        "decision_reason": "too risky",
        "question": None,
        "answer": None,
        "decided_by": "user",
        "for_run": None,
        "agent_option": None,
    }
    assert denied["unapproved"] is None
    assert "declined (too risky)" in run.text
    assert notices(recorder) == []
    assert "shares: 10) ⊘ denied: too risky" in cell.static_bundle()["text/plain"]


def test_a_decision_the_run_refuses_comes_back_as_a_notice(server: ServerHandle) -> None:
    cell, recorder, _ = trader_cell(server, "vercel")
    wait_until(lambda: paused(cell))
    call_id = trade_of(transcript_turn(cell))["call_id"]
    view(cell, {"kind": "approve", "t": 0, "call_id": "no-such-call"})
    recorder.wait_for(lambda: len(notices(recorder)) == 1)
    # the handle's own words: which call, and which calls do wait
    unknown = notices(recorder)[0]
    assert unknown.startswith("Could not approve tool call no-such-call: "), unknown
    assert "not a call of this run" in unknown and repr(call_id) in unknown
    view(cell, {"kind": "approve", "call_id": call_id})
    view(cell, {"kind": "deny", "call_id": call_id, "reason": "changed my mind"})
    recorder.wait_for(lambda: len(notices(recorder)) == 2)
    twice = notices(recorder)[1]
    assert twice.startswith(f"Could not deny tool call {call_id}: "), twice
    assert "already approved" in twice
    run = cell.wait(PATIENCE_S)
    assert next(c for c in run.tool_calls if c.name == "place_trade").status == "succeeded"
    view(cell, {"kind": "deny", "t": 0, "call_id": call_id})
    recorder.wait_for(lambda: len(notices(recorder)) == 3)
    assert notices(recorder)[2] == notices(recorder)[1], "still decided, after the run too"


def test_a_cell_showing_a_finished_run_says_it_cannot_decide() -> None:
    run = Run(agent="trader", message=ORDER)
    run.apply(ToolCallStarted(call_id="c", name="place_trade", received_at=1.0))
    run.apply(RunCompleted(received_at=2.0))
    cell = ChatCell(run)
    recorder = capture(cell)
    view(cell, {"kind": "approve", "call_id": "c"})
    for bad in ({"kind": "approve"}, {"kind": "deny", "call_id": "c", "reason": 3}):
        view(cell, bad)
    recorder.wait_for(lambda: bool(notices(recorder)))
    # a hello is answered after every message before it (a snapshot, or "current" where the
    # view holds all there is: the same flush sent the first delta), so no notice is to come
    view(cell, {"kind": "hello", "have": 0})
    recorder.wait_for(lambda: bool(recorder.of_kind("snapshot") or recorder.of_kind("current")))
    assert notices(recorder) == ["Cannot approve tool call c: this cell shows no live run."], (
        "malformed decisions are ignored"
    )


# ---- the wire ---------------------------------------------------------------------------


def applied(run: Run, *events: Any) -> None:
    for event in events:
        run.apply(event.model_copy(update={"received_at": time.time()}))


def test_a_step_reset_sends_the_whole_turn_again_without_what_the_step_streamed() -> None:
    run = Run(agent="vercel_agent", message="hi")
    run.start()
    turn = Turn(run=run, handle=None)
    replica = Replica()
    seq = 0

    def send() -> list[dict[str, Any]]:
        nonlocal seq
        seq += 1
        ops = turn.diff(0)
        replica.feed({"kind": "delta", "seq": seq, "ops": ops})
        return ops

    applied(run, TextDelta(delta="Kept. "), StepStarted(), TextDelta(delta="DRAFT"))
    applied(run, ToolCallStarted(call_id="c1", name="lookup", arguments={"q": 1}))
    send()
    assert replica.answer() == "Kept. DRAFT" and "c1" in replica.turns[0]["tools"]
    applied(run, StepReset(), TextDelta(delta="Final answer."))
    ops = send()
    assert [op["op"] for op in ops] == ["turn"]
    assert replica.answer() == "Kept. Final answer."
    assert replica.turns[0]["tools"] == {}
    applied(run, TextDelta(delta="!"), RunCompleted(finish_reason="stop"))
    ops = send()
    assert {op["op"] for op in ops} == {"text", "meta"}, "after the resend, only what grows"
    assert replica.answer() == run.text == "Kept. Final answer.!"
    assert replica.turns[0]["meta"]["finish_reason"] == "stop"


def test_interim_outputs_of_a_running_call_reach_the_views() -> None:
    run = Run(agent="a", message="m")
    run.start()
    turn = Turn(run=run, handle=None)
    turn.diff(0)
    applied(run, ToolCallStarted(call_id="c", name="fill"), ToolCallProgress(call_id="c", output=1))
    first = [op for op in turn.diff(0) if op["op"] == "tool"]
    assert [op["call"]["output"] for op in first] == [1]
    assert [op for op in turn.diff(0) if op["op"] == "tool"] == [], "unchanged: nothing sent"
    applied(run, ToolCallProgress(call_id="c", output=2))
    applied(run, ToolCallFinished(call_id="c", output=3))
    last = [op["call"] for op in turn.diff(0) if op["op"] == "tool"]
    assert [(c["status"], c["output"]) for c in last] == [("succeeded", 3)]


@pytest.mark.parametrize("given", ["before its question", "after its question"])
def test_a_question_a_call_asks_refreshes_the_copy_to_say_it_waits(given: str) -> None:
    """A notebook saved while a call's question waits (an MCP server's form) says so: the
    question refreshes the static copy, as a pause for an approval does; also where it came
    before the cell was given the run (a busy kernel), when it went to no listener."""
    question = {"server": "travel", "message": "Seats?", "mode": "form", "fields": [{}]}
    asked = [
        ToolCallStarted(call_id="c1", name="book", arguments={"city": "Paris"}),
        ToolQuestionAsked(call_id="c1", question=question),
        TextDelta(delta="never sent"),
    ]
    stream = Scripted(asked, pause_after=2)
    copies: list[str] = []
    cell = ChatCell()
    capture(cell)
    cell.refresh_copies = lambda: copies.append(cell.static_bundle()["text/html"])  # type: ignore[method-assign]
    handle = start(stream)
    if given == "before its question":
        cell.add(handle)
    assert stream.paused.wait(PATIENCE_S)
    wait_until(lambda: handle.run.tool_calls and handle.run.tool_calls[0].asks, "the question")
    if given == "after its question":
        cell.add(handle)
    wait_until(lambda: copies, "a refreshed copy")
    assert "book asks: Seats? (a form of 1 field): waiting for an answer" in copies[-1]
    assert "Waiting: book asks a question; answer it in the live cell." in copies[-1]
    handle.cancel()
    cell.close()
