"""The OpenAI Agents SDK for JavaScript (``@openai/agents`` with ``@openai/agents-extensions``'
ai-sdk-ui stream, ``.tools/openai-agents-js``, pinned in
``tests/sdk_envs/openai-agents-js.npm``): a chat route of its own making serving an agent
with one tool, its model the SDK's default (the Responses API) on the scripted model of
``framework_testing``, read by the ``vercel`` dialect: the tool call with its result, the
reasoning, the answer, a second turn in the thread, and Stop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S
from framework_testing import (
    MODEL_LEFT,
    framework_client,
    framework_server,
    stopped_at_the_first_text,
    the_second_turn,
    the_sum,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def agents_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("openai-agents-js")
    with framework_server("openai-agents-js", "openai_agents_chat.mjs", folder, "/ping") as url:
        yield url


async def test_the_tool_the_agent_ran_its_result_the_reasoning_and_the_answer(
    agents_url: str,
) -> None:
    async with framework_client("vercel", agents_url) as agents:
        run = await agents.run("calc", "please add 2 and 3")
    assert str(the_sum(run).output) == "5"
    assert run.reasoning == "Adding it up."  # the Responses API's summary, sent once it is done
    assert run.usage is None  # the ai-sdk-ui stream carries none, though the model gives it
    assert [part.kind for part in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events


async def test_a_second_turn_continues_the_thread(agents_url: str) -> None:
    await the_second_turn(framework_client("vercel", agents_url))


async def test_stop_closes_the_stream_and_the_run_lets_the_model_go(agents_url: str) -> None:
    run = await stopped_at_the_first_text(framework_client("vercel", agents_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)
