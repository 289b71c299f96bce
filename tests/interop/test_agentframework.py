"""Microsoft Agent Framework (``agent-framework-ag-ui``, ``.tools/agentframework``, pinned in
``tests/sdk_envs/agentframework.txt``): its own AG-UI endpoint serving an agent with one
tool, on the scripted model of ``framework_testing``, read by the ``ag-ui`` dialect: the tool
call with its result, the model's reasoning (the chat client's ``response_parser`` reads it),
usage (its ``CUSTOM`` ``usage`` events), a second turn in the thread, and Stop."""

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
def agentframework_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("agentframework")
    with framework_server("agentframework", "agentframework_agui.py", folder, "/health") as url:
        yield url


async def test_the_tool_it_ran_its_result_reasoning_usage_and_the_answer(
    agentframework_url: str,
) -> None:
    async with framework_client("ag-ui", agentframework_url) as maf:
        run = await maf.run("calc", "please add 2 and 3")
    the_whole_sum(run)  # its usage: the last of its usage events, the run's so far
    assert run.custom_events == []  # those events read as usage, not kept as custom ones


async def test_a_second_turn_continues_the_thread(agentframework_url: str) -> None:
    await the_second_turn(framework_client("ag-ui", agentframework_url))


async def test_stop_closes_the_stream_and_the_framework_lets_the_model_go(
    agentframework_url: str,
) -> None:
    run = await stopped_at_the_first_text(framework_client("ag-ui", agentframework_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)
