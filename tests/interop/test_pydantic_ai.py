"""Pydantic AI (``pydantic-ai-slim`` with fasta2a, ``.tools/pydanticai``, pinned in
``tests/sdk_envs/pydanticai.txt``): an agent with one tool served both ways Pydantic AI
serves one (``AGUIAdapter`` with ``include_usage``; ``agent_to_a2a``), on the scripted model
of ``framework_testing``: the tool call with its result, the answer, a second turn in the
thread, and Stop, each way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S
from framework_testing import (
    MODEL_LEFT,
    framework_client,
    framework_server,
    stopped_counting,
    the_sum,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def pydantic_ai_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("pydanticai")
    with framework_server("pydanticai", "pydantic_ai_servers.py", folder, "/ping") as url:
        yield url


async def test_over_ag_ui_the_tool_its_result_reasoning_usage_and_a_second_turn(
    pydantic_ai_url: str,
) -> None:
    async with framework_client("ag-ui", f"{pydantic_ai_url}/agui") as pydantic_ai:
        run = await pydantic_ai.run("calc", "please add 2 and 3")
        again = await pydantic_ai.run("calc", "again?", thread_id=run.thread_id)
    assert str(the_sum(run).output) == "5"
    assert run.reasoning == "Adding it up."
    assert run.usage is not None  # two model calls, each the scripted usage
    assert (run.usage.prompt_tokens, run.usage.total_tokens) == (24, 34)
    assert [part.kind for part in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events
    assert (again.thread_id, again.text) == (run.thread_id, "This thread holds 2 questions.")


async def test_over_ag_ui_stop_closes_the_stream_and_lets_the_model_go(
    pydantic_ai_url: str,
) -> None:
    run = await stopped_counting(framework_client("ag-ui", f"{pydantic_ai_url}/agui"))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)


async def test_over_a2a_the_answer_once_and_a_second_turn(pydantic_ai_url: str) -> None:
    """fasta2a streams the answer as ``append`` chunks of an artifact, then sends the whole
    answer again as a final artifact: shown once. It sends no tool events."""
    async with framework_client("a2a", pydantic_ai_url) as pydantic_ai:
        run = await pydantic_ai.run("calc", "please add 2 and 3")
        again = await pydantic_ai.run("calc", "again?", thread_id=run.thread_id)
    assert (run.status, run.text, run.tool_calls) == ("completed", "The sum is 5.", [])
    assert [part.kind for part in run.parts] == ["text"]
    assert not run.unknown_events
    assert (again.thread_id, again.text) == (run.thread_id, "This thread holds 2 questions.")


async def test_over_a2a_stop_ends_the_run_though_fasta2a_leaves_cancel_unanswered(
    pydantic_ai_url: str,
) -> None:
    """fasta2a's ``cancel_task`` does nothing and never answers CancelTask: the run ends
    cancelled all the same, the unanswered cancel kept as its ``cancel_error``."""
    pydantic_ai = framework_client("a2a", pydantic_ai_url)
    async with pydantic_ai, pydantic_ai.stream("calc", "count") as stream:
        async for event in stream:
            if event.type == "text_delta":
                break  # Stop
    run = stream.run
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert run.cancel_error is not None
    assert "not told to stop" in run.cancel_error
