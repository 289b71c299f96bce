"""Strands (``strands-agents`` behind ``ag-ui-strands``, ``.tools/strands``, pinned in
``tests/sdk_envs/strands.txt``): its own AG-UI app (``create_strands_app``) serving an agent
with one tool, on the scripted model of ``framework_testing``, read by the ``ag-ui``
dialect: the tool call with its result, the answer, and a second turn in the thread; and
Strands' own A2A server (``A2AServer``) read by the ``a2a`` dialect: the answer once in
either of its streams, a second turn, and Stop."""

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
    the_whole_sum,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def strands_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("strands")
    with framework_server("strands", "strands_servers.py", folder, "/ping") as url:
        yield url


async def test_the_tool_strands_ran_its_result_reasoning_usage_and_the_answer(
    strands_url: str,
) -> None:
    async with framework_client("ag-ui", strands_url) as strands:
        run = await strands.run("calc", "please add 2 and 3")
    the_whole_sum(run)


async def test_a_second_turn_continues_the_thread(strands_url: str) -> None:
    await the_second_turn(framework_client("ag-ui", strands_url))


async def test_stop_closes_the_stream_and_strands_lets_the_model_go(strands_url: str) -> None:
    run = await stopped_at_the_first_text(framework_client("ag-ui", strands_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)


@pytest.mark.parametrize("mode", ["legacy", "compliant"])
async def test_over_a2a_the_answer_once_and_a_second_turn(strands_url: str, mode: str) -> None:
    """Strands' ``A2AServer`` sends no tool events (its executor streams the model's text
    only): the answer, shown once whichever stream it chose (by default working-status
    messages then the whole answer as an artifact; compliant, chunks of one artifact), and a
    second turn in the context (an agent per context, its ``agent_factory``'s)."""
    async with framework_client("a2a", f"{strands_url}/a2a/{mode}") as strands:
        run = await strands.run("calc", "please add 2 and 3")
        again = await strands.run("calc", "again?", thread_id=run.thread_id)
    # By default the artifact is ``str(AgentResult)``: the answer with a line break.
    end = "\n" if mode == "legacy" else ""
    assert (run.status, run.text, run.tool_calls) == ("completed", "The sum is 5." + end, [])
    assert [part.kind for part in run.parts] == ["text"]
    assert not run.unknown_events
    assert (again.thread_id, again.text) == (run.thread_id, "This thread holds 2 questions." + end)


async def test_over_a2a_stop_cancels_the_task_and_strands_lets_the_model_go(
    strands_url: str,
) -> None:
    """Stop sends ``CancelTask``, which Strands answers, cancelling its agent."""
    run = await stopped_at_the_first_text(framework_client("a2a", f"{strands_url}/a2a/compliant"))
    assert (run.status, run.text, run.cancel_error) == ("cancelled", "1 ", None)
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)
