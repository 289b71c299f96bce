"""Mastra (``mastra dev`` serving the Mastra project ``frameworks/mastra``, from
``.tools/mastra``, pinned in ``tests/sdk_envs/on_demand/mastra.npm``: run on demand, see
``HEAVY``): an agent with one tool on the
scripted model of ``framework_testing``, read by the ``vercel`` dialect behind
``@mastra/ai-sdk``'s ``chatRoute`` (the tool call with its result, the reasoning and usage the
route is told to send, the answer, a second turn in the thread, Stop) and by the ``a2a``
dialect at Mastra's own A2A endpoint (the answer alone, a turn, Stop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from agentnb_testing import PATIENCE_S
from framework_testing import (
    MODEL_COUNTING,
    MODEL_LEFT,
    framework_client,
    framework_server,
    stopped_at_the_first_text,
    the_second_turn,
    the_sum,
)

from agentnb import AsyncAgentClient
from agentnb.events import Event

pytestmark = [pytest.mark.slow]

HEAVY = (
    "283 MB of npm packages, and `mastra dev` bundles the project before it serves: "
    "about a minute of CPU each run"
)


@pytest.fixture(scope="module")
def mastra_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mastra")
    quiet = {"MASTRA_TELEMETRY_DISABLED": "1"}  # its CLI reports to PostHog otherwise
    with framework_server("mastra", "mastra", folder, "/health", on_demand=HEAVY, **quiet) as url:
        yield url


def chat_route(mastra_url: str) -> AsyncAgentClient:
    """A client of the agent's chat route (``chatRoute``'s ``/chat/:agentId``)."""
    return framework_client("vercel", f"{mastra_url}/chat/calc", path="")


async def test_the_tool_mastra_ran_its_result_reasoning_usage_and_the_answer(
    mastra_url: str,
) -> None:
    async with chat_route(mastra_url) as mastra:
        run = await mastra.run("calc", "please add 2 and 3")
    assert str(the_sum(run).output) == "5"
    assert run.reasoning == "Adding it up."
    assert run.usage is not None
    assert [part.kind for part in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events  # usage only with the route's `messageMetadata` (above)
    assert (run.usage.prompt_tokens, run.usage.total_tokens) == (24, 34)  # both model calls


async def test_a_second_turn_continues_the_thread(mastra_url: str) -> None:
    await the_second_turn(chat_route(mastra_url))


async def test_stop_closes_the_stream_and_mastra_lets_the_model_go(mastra_url: str) -> None:
    run = await stopped_at_the_first_text(chat_route(mastra_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)


async def test_over_a2a_the_answer_without_the_tool_and_a_turn_without_the_first(
    mastra_url: str,
) -> None:
    async with framework_client("a2a", f"{mastra_url}/api/a2a/calc") as mastra:
        run = await mastra.run("calc", "please add 2 and 3")
        again = await mastra.run("calc", "again?", thread_id=run.thread_id)
    assert (run.status, run.text) == ("completed", "The sum is 5."), run.error
    assert (run.tool_calls, run.reasoning, run.usage) == ([], "", None)  # Mastra sends none
    assert not run.unknown_events
    assert (again.status, again.thread_id) == ("completed", run.thread_id)
    assert again.text == "This thread holds 1 questions."  # no Memory: the new message only


async def test_over_a2a_stop_while_nothing_is_shown_lets_the_model_go(mastra_url: str) -> None:
    """Mastra's A2A stream sends nothing before the answer is whole (not the model's text, not
    the task): Stop is given once the model is counting, and closes the stream."""
    MODEL_LEFT.clear()
    MODEL_COUNTING.clear()
    mastra = framework_client("a2a", f"{mastra_url}/api/a2a/calc")
    async with mastra, mastra.stream("calc", "count") as stream:
        reading = asyncio.create_task(drained(stream))
        assert await asyncio.to_thread(MODEL_COUNTING.wait, PATIENCE_S)
        await stream.aclose()  # Stop
        await reading
    assert (stream.run.status, stream.run.text) == ("cancelled", "")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)


async def drained(stream: AsyncIterator[Event]) -> None:
    async for _ in stream:
        pass
