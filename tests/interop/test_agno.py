"""Agno (``agno`` AgentOS, ``.tools/agno``, pinned in ``tests/sdk_envs/agno.txt``): its own
app serving an agent with one tool over AG-UI and A2A, on the scripted model of
``framework_testing``: the tool call with its result, the answer, a second turn in the
session, each way."""

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
    the_sum,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def agno_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("agno")
    with framework_server("agno", "agno_os.py", folder, "/health") as url:
        yield url


async def test_over_ag_ui_the_tool_agno_ran_its_result_the_answer_and_a_second_turn(
    agno_url: str,
) -> None:
    async with framework_client("ag-ui", f"{agno_url}/agui") as agno:
        run = await agno.run("calc", "please add 2 and 3")
        again = await agno.run("calc", "again?", thread_id=run.thread_id)
    assert str(the_sum(run).output) == "5"
    assert (run.reasoning, run.usage) == ("", None)  # Agno's AG-UI sends neither
    assert (again.thread_id, again.text) == (run.thread_id, "This thread holds 2 questions.")


async def test_over_a2a_agnos_tool_events_are_its_tool_call_and_a_second_turn(
    agno_url: str,
) -> None:
    """Agno's card names its ``.../v1/message:stream`` URL; its tool events are status
    updates marked ``metadata.agno_event_type`` (the result is not in them)."""
    async with framework_client("a2a", f"{agno_url}/a2a/agents/calc") as agno:
        run = await agno.run("calc", "please add 2 and 3")
        again = await agno.run("calc", "again?", thread_id=run.thread_id)
    assert the_sum(run).output is None
    assert [part.kind for part in run.parts] == ["tool", "text"]
    assert not run.unknown_events
    assert (again.thread_id, again.text) == (run.thread_id, "This thread holds 2 questions.")


async def test_over_a2a_stop_posts_the_cancel_to_agnos_own_path(agno_url: str) -> None:
    """Agno cancels at ``.../v1/tasks:cancel`` beside the card's ``.../v1/message:stream``
    (elsewhere: a 400, kept as the run's ``cancel_error``), and lets the model go."""
    run = await stopped_at_the_first_text(framework_client("a2a", f"{agno_url}/a2a/agents/calc"))
    assert (run.status, run.text, run.cancel_error) == ("cancelled", "1 ", None)
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)
