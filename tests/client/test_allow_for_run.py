"""Allow for this run: a read of the notebook approved with ``for_run=True`` lets the run's
later reads pass without asking, each recorded as approved by that decision. A scripted
Chat Completions agent on 127.0.0.1 (``tests/reading_agent.py``) calls ``notebook_variables``,
then ``notebook_describe`` and ``notebook_error`` in one step, then answers; the request
bodies say what was sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agentnb_testing import serving_asgi
from reading_agent import BODIES, reading_agent

import agentnb
from agentnb._app.context.context_tools import Kernel, context_tools
from agentnb._core.approval_fold import open_approval
from agentnb._core.client_tools import tool
from agentnb._core.transcript import ToolCall
from agentnb._display.approval_prompt import question
from agentnb.approvals import ApprovalDecision
from agentnb.events import RunPaused, ToolApprovalRequested


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(reading_agent) as base:
        yield f"{base}/v1"


def _kernel() -> Kernel:
    return Kernel({"cfg": {"host": "db.internal", "retries": 3}})


async def test_reads_after_one_allowed_for_the_run_pass_without_asking(url: str) -> None:
    BODIES.clear()
    asked: list[str] = []
    pauses = 0
    tools = context_tools(_kernel(), "0123456789abcdef")
    client = agentnb.AsyncAgentClient("openai", base_url=url, api_key="k", record=False)
    async with client, client.stream("m", "what is in my notebook?", tools=tools) as stream:
        async for event in stream:
            if isinstance(event, ToolApprovalRequested):
                asked.append(event.call_id)
                assert event.for_run == "reads of the notebook"
            if isinstance(event, RunPaused):
                pauses += 1
                stream.approvals.approve(asked[-1], for_run=True)
    run = stream.run
    assert run.text == "done"
    assert pauses == 1  # only the first read asked
    decided = [(c.name, c.status, c.approval and c.approval.approved) for c in run.tool_calls]
    assert decided == [
        ("notebook_variables", "succeeded", True),
        ("notebook_describe", "succeeded", True),
        ("notebook_error", "succeeded", True),
    ]
    first, *later = run.tool_calls
    assert first.approval is not None and first.approval.decided_by == "user"
    assert first.approval.decision_reason == "reads of the notebook allowed for this run"
    for call in later:
        assert call.approval is not None and call.approval.decided_by == "user"
        assert call.approval.decision_reason == (
            f"reads of the notebook allowed for this run (with the decision on {first.call_id})"
        )
    results = [m for m in BODIES[-1]["messages"] if m["role"] == "tool"]
    assert "'host': str 'db.internal'" in results[1]["content"]  # the reads' results were sent
    assert "no cell has raised an exception" in results[2]["content"]


async def test_a_policy_that_allows_for_the_run_is_asked_once(url: str) -> None:
    BODIES.clear()
    consulted: list[str] = []

    def once(call: agentnb.types.ToolCall) -> ApprovalDecision:
        consulted.append(call.name)
        return ApprovalDecision(call.call_id, True, for_run=True)

    tools = context_tools(_kernel(), "0123456789abcdef")
    client = agentnb.AsyncAgentClient("openai", base_url=url, api_key="k", record=False)
    async with client:
        run = await client.run("m", "what is in my notebook?", tools=tools, approve=once)
    assert consulted == ["notebook_variables"]
    assert [c.approval.decided_by for c in run.tool_calls if c.approval] == ["policy"] * 3
    assert [c.status for c in run.tool_calls] == ["succeeded"] * 3


async def test_a_call_that_offers_nothing_for_the_run_is_approved_alone(url: str) -> None:
    BODIES.clear()

    def notebook_variables() -> str:
        """A function of the user's own that asks first."""
        return "mine"

    mine = tool(notebook_variables, approve=True)
    refused: list[str] = []
    client = agentnb.AsyncAgentClient("openai", base_url=url, api_key="k", record=False)
    async with client, client.stream("m", "go", tools=[mine]) as stream:
        async for event in stream:
            if isinstance(event, ToolApprovalRequested):
                assert event.for_run is None
                with pytest.raises(agentnb.ConfigurationError) as error:
                    stream.approvals.approve(event.call_id, for_run=True)
                refused.append(str(error.value))
                stream.approvals.approve(event.call_id)
            if len(BODIES) > 1:
                break
    assert refused and "can only be approved on its own" in refused[0]


def test_a_read_of_one_line_is_named_at_the_prompt_too() -> None:
    """The head line of a read stands above the question whether or not lines follow it: the
    one line says what will be read."""
    call = ToolCall(call_id="c1", name="notebook_variables", arguments={})
    said = "reads the notebook once approved, at the sample level: the names\x1b[2J"
    open_approval(
        call, ToolApprovalRequested(call_id="c1", reason=said, for_run="reads of the notebook")
    )
    asked = question(call)
    assert asked.splitlines()[0] == (
        "reads the notebook once approved, at the sample level: the names⟨U+001B⟩[2J"
    )


def test_the_terminal_prompt_shows_the_read_and_takes_a_for_the_run() -> None:
    call = ToolCall(call_id="c1", name="notebook_error", arguments={})
    open_approval(
        call,
        ToolApprovalRequested(
            call_id="c1",
            reason="reads the notebook; it would send:\nno error\x1b[2J",
            for_run="reads of the notebook",
        ),
    )
    asked = question(call)
    assert asked.splitlines()[:2] == ["reads the notebook; it would send:", "no error⟨U+001B⟩[2J"]
    assert asked.endswith(
        "Approve notebook_error()? (a: approve, and the later reads of the notebook in this run) "
        "[y/a/N] "
    )
    plain = ToolCall(call_id="c2", name="lookup", arguments={})
    open_approval(plain, ToolApprovalRequested(call_id="c2", reason="asks before it runs"))
    assert question(plain) == "Approve lookup()? [y/N] "
