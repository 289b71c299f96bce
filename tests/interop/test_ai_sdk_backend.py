"""agentnb's ``vercel`` dialect against a chat backend built with the ``ai`` package itself
(``js/test/interop/ai_sdk_backend.mjs``: ``streamText`` with ``MockLanguageModelV4``,
``validateUIMessages``, ``convertToModelMessages``, ``createUIMessageStream``): what such an
app streams is read right, and what agentnb sends back — whole turns, approval decisions —
is what the SDK accepts."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from interop_testing import JS, SCRIPTS

from agentnb import AsyncAgentClient
from agentnb._core.run import Run


@pytest.fixture(scope="module")
def backend(node: str) -> Iterator[str]:
    command = [node, str(SCRIPTS / "ai_sdk_backend.mjs"), "serve"]
    with subprocess.Popen(command, cwd=JS, stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                pytest.fail("the AI SDK backend did not start (its error is above)")
            yield f"http://127.0.0.1:{json.loads(line)['port']}"
        finally:
            process.terminate()


def client(url: str) -> AsyncAgentClient:
    return AsyncAgentClient("vercel", base_url=url, record=False)


async def test_a_plain_answer(backend: str) -> None:
    async with client(backend) as c:
        run = await c.run("model", "hello")
    assert (run.status, run.text, run.finish_reason) == (
        "completed",
        "Hello from the AI SDK.",
        "stop",
    )


async def test_a_reset_step_is_discarded(backend: str) -> None:
    async with client(backend) as c:
        run = await c.run("model", "reset please")
    assert run.text == "Final answer."
    assert run.status == "completed"


@pytest.mark.parametrize("approved", [True, False])
async def test_an_approval_goes_back_the_way_the_sdk_expects(backend: str, approved: bool) -> None:
    c = client(backend)
    async with c, c.stream("model", "trade NVDA") as stream:
        stream.approvals.approver = approved
        async for _ in stream:
            pass
    run = stream.run
    (call,) = run.tool_calls
    assert call.name == "place_trade" and call.arguments == {"ticker": "NVDA", "shares": 10}
    assert call.approval is not None and call.approval.approval_id
    assert run.status == "completed"
    if approved:
        assert call.status == "succeeded"
        assert call.output == {"filled": True, "ticker": "NVDA", "shares": 10}
        assert '"filled":true' in run.text
    else:
        assert call.status == "denied"
        assert "execution-denied" in run.text  # the model was told the call was denied


def prompt_of(run: Run) -> list[dict[str, Any]]:
    prompt: list[dict[str, Any]] = json.loads(run.text)
    return prompt


async def test_the_whole_earlier_turn_reaches_the_model(backend: str) -> None:
    async with client(backend) as c:
        first = await c.run("model", "lookup the price")
        second = await c.run("model", "summary please", thread_id=first.thread_id)
    prompt = prompt_of(second)
    assert [m["role"] for m in prompt] == ["user", "assistant", "tool", "assistant", "user"]
    call = prompt[1]["content"][0]
    assert (call["type"], call["toolName"], call["input"]) == (
        "tool-call",
        "lookup",
        {"q": "lookup the price"},
    )
    result = prompt[2]["content"][0]
    assert result["type"] == "tool-result" and result["output"]["value"] == {"found": 16}
    assert prompt[3]["content"][0]["text"] == first.text


async def test_the_turn_after_an_approval_is_valid_history(backend: str) -> None:
    async with client(backend) as c:
        async with c.stream("model", "trade NVDA") as stream:
            stream.approvals.approver = True
            async for _ in stream:
                pass
        second = await c.run("model", "summary please", thread_id=stream.run.thread_id)
    roles = [m["role"] for m in prompt_of(second)]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]


async def test_a_tool_without_execute_is_run_by_the_client_within_the_run(backend: str) -> None:
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int = 1) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.5 * shares

    async with client(backend) as c:
        run = await c.run("model", "portfolio", tools=[position_value])
    assert seen == [("NVDA", 3)]
    assert run.status == "completed"
    assert run.text == 'Tool said: {"type":"text","value":"301.5"}'
    [call] = run.tool_calls
    assert (call.status, call.output, call.ran_by) == ("succeeded", "301.5", "client")
