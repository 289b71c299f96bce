"""Free-form answers to an agent's question, end to end against the built-in server's
``planner`` agent: its ``ask_user`` call carries a question in the dialects that can say so
(``operativus``: ``question`` in ``APPROVAL_REQUIRED``, ``answer`` in the ``/approvals``
decisions; ``langgraph``: an interrupt answered by ``command: {resume}``; ``ag-ui``: an
interrupt answered by the ``resume`` payload) and is refused in the dialects that take only
approve / deny."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, client_for

from agentnb import ConfigurationError, InvalidRequestError
from agentnb._core.handle import RunHandle
from agentnb._core.run import Run
from agentnb.events import RunPaused, ToolApprovalResponded
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle
from agentnb.server.agents._planner_agent import QUESTION

ANSWERING = ["operativus", "langgraph", "ag-ui"]
"""The built-in server's dialects that carry the planner's question and its answer."""


async def answer_the_planner(
    server: ServerHandle, provider: str, answer: str
) -> tuple[Run, list[ToolApprovalResponded]]:
    """The planner's run with its one question answered, and the decisions it reported."""
    responded: list[ToolApprovalResponded] = []
    async with (
        client_for(server, provider, record=False) as client,
        client.stream("planner", "Plan a trip") as stream,
    ):
        async for event in stream:
            if isinstance(event, RunPaused):
                (call,) = stream.run.awaiting_approval
                assert call.approval is not None and call.approval.question == QUESTION
                stream.approvals.answer(None, answer)
            elif isinstance(event, ToolApprovalResponded):
                responded.append(event)
    return stream.run, responded


@pytest.mark.parametrize("provider", ANSWERING)
async def test_an_answer_reaches_the_agent(server: ServerHandle, provider: str) -> None:
    run, responded = await answer_the_planner(server, provider, "Lisbon, in May")
    assert run.status == "completed"
    asked = next(c for c in run.tool_calls if c.name == "ask_user")
    assert asked.status == "succeeded" and asked.output == {"answer": "Lisbon, in May"}
    # the question is asked on the call that asks it (AG-UI: the interrupt's toolCallId)
    assert [c.name for c in run.tool_calls if c.approval and c.approval.question] == ["ask_user"]
    assert asked.approval is not None and asked.approval.answer == "Lisbon, in May"
    assert asked.approval.approved is True
    assert [e.answer for e in responded] == ["Lisbon, in May"]
    assert "plan for Lisbon, in May" in run.text


@pytest.mark.parametrize("provider", ANSWERING)
async def test_a_denied_question_gets_no_plan(server: ServerHandle, provider: str) -> None:
    async with (
        client_for(server, provider, record=False) as client,
        client.stream("planner", "Plan a trip") as stream,
    ):
        async for event in stream:
            if isinstance(event, RunPaused):
                (waiting,) = stream.run.awaiting_approval
                stream.approvals.deny(waiting.call_id, "no")
    assert waiting.name == "ask_user" and waiting.status == "denied"
    assert [c.status for c in stream.run.tool_calls] == ["denied"]
    assert "without a destination" in stream.run.text


async def test_bad_answers_are_refused_saying_why(server: ServerHandle) -> None:
    async with (
        client_for(server, "operativus", record=False) as client,
        client.stream("planner", "Plan a trip") as stream,
    ):
        async for event in stream:
            if isinstance(event, RunPaused):
                call_id = stream.run.awaiting_approval[0].call_id
                with pytest.raises(ConfigurationError, match="answer is text"):
                    stream.approvals.answer(call_id, 42)  # type: ignore[arg-type]
                with pytest.raises(ConfigurationError, match="not a call of this run"):
                    stream.approvals.answer("nope", "x")
                stream.approvals.answer(call_id, "Oslo")
                with pytest.raises(ConfigurationError, match="already approved"):
                    stream.approvals.answer(call_id, "again")
    assert "plan for Oslo" in stream.run.text


async def test_a_plain_approval_takes_no_answer(server: ServerHandle) -> None:
    async with (
        client_for(server, "operativus", record=False) as client,
        client.stream("trader", "Buy 1 NVDA") as stream,
    ):
        async for event in stream:
            if isinstance(event, RunPaused):
                call_id = stream.run.awaiting_approval[0].call_id
                with pytest.raises(ConfigurationError, match="asks no question"):
                    stream.approvals.answer(call_id, "yes")
                with pytest.raises(ConfigurationError, match="0 calls wait for an answer"):
                    stream.approvals.answer(None, "yes")
                stream.approvals.approve(call_id)
    assert stream.run.status == "completed"


@pytest.mark.parametrize("provider", ANSWERING)
async def test_a_policy_may_answer(server: ServerHandle, provider: str) -> None:
    async with (
        client_for(server, provider, record=False) as client,
        client.stream("planner", "Plan a trip") as stream,
    ):
        stream.approvals.approver = lambda call: "Kyoto"
        async for _ in stream:
            pass
    assert "plan for Kyoto" in stream.run.text


# a2a: the client can answer (tests/providers/test_a2a_sdk.py), the built-in server cannot ask
@pytest.mark.parametrize("provider", ["vercel", "seekrflow", "openai", "a2a"])
async def test_dialects_without_questions_refuse_the_agent(
    server: ServerHandle, provider: str
) -> None:
    async with client_for(server, provider, record=False) as client:
        with pytest.raises(InvalidRequestError, match="planner"):
            await client.run("planner", "Plan a trip")


def test_a_dialect_without_answers_says_so(server: ServerHandle) -> None:
    client = client_for(server, "vercel", record=False)
    stream = client.stream("trader", "Buy 1 NVDA")
    handle = RunHandle.start(lambda: stream, run=stream.run)
    try:
        deadline = time.monotonic() + PATIENCE_S
        while handle.status != "paused" and time.monotonic() < deadline:
            time.sleep(0.02)
        (call,) = handle.awaiting_approval
        with pytest.raises(ConfigurationError, match="takes only approve / deny"):
            handle.answer(call.call_id, "hello")
        handle.approve(call.call_id)
        assert handle.wait(timeout=PATIENCE_S).status == "completed"
    finally:
        handle.cancel()


def test_a_handle_answers(server: ServerHandle) -> None:
    client = client_for(server, "operativus", record=False)
    stream = client.stream("planner", "Plan a trip")
    handle = RunHandle.start(lambda: stream, run=stream.run)
    try:
        deadline = time.monotonic() + PATIENCE_S
        while handle.status != "paused" and time.monotonic() < deadline:
            time.sleep(0.02)
        handle.answer(None, "Reykjavík")
        run = handle.wait(timeout=PATIENCE_S)
    finally:
        handle.cancel()
    assert run.status == "completed" and "plan for Reykjavík" in run.text


async def test_the_history_records_the_question_and_the_answer(
    server: ServerHandle, tmp_path: Path
) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        async with (
            client_for(server, "operativus", recorder=store) as client,
            client.stream("planner", "Plan a trip") as stream,
        ):
            stream.approvals.approver = lambda call: "Lisbon, in May"
            async for _ in stream:
                pass
        (call,) = store.tool_calls([stream.run.local_id])
    assert (call.name, call.question, call.answer) == ("ask_user", QUESTION, "Lisbon, in May")
    assert call.status == "succeeded"
