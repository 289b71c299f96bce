"""Strands (``strands-agents`` behind ``ag-ui-strands``, ``.tools/strands``, pinned in
``tests/sdk_envs/strands.txt``): its own AG-UI app (``create_strands_app``) serving an agent
with one tool, on the scripted model of ``framework_testing``, read by the ``ag-ui``
dialect: the tool call with its result, the answer, and a second turn in the thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S
from framework_testing import (
    MODEL_LEFT,
    a_second_turn,
    framework_client,
    framework_server,
    stopped_counting,
    the_sum,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def strands_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("strands")
    with framework_server("strands", "strands_agui.py", folder, "/ping") as url:
        yield url


async def test_the_tool_strands_ran_its_result_reasoning_usage_and_the_answer(
    strands_url: str,
) -> None:
    async with framework_client("ag-ui", strands_url) as strands:
        run = await strands.run("calc", "please add 2 and 3")
    assert str(the_sum(run).output) == "5"
    assert run.reasoning == "Adding it up."
    assert run.usage is not None  # two model calls, each the scripted usage
    assert (run.usage.prompt_tokens, run.usage.total_tokens) == (24, 34)
    assert [part.kind for part in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events


async def test_a_second_turn_continues_the_thread(strands_url: str) -> None:
    await a_second_turn(framework_client("ag-ui", strands_url))


async def test_stop_closes_the_stream_and_strands_lets_the_model_go(strands_url: str) -> None:
    run = await stopped_counting(framework_client("ag-ui", strands_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)
