"""CrewAI (``ag-ui-crewai`` with ``crewai``, ``.tools/crewai``, pinned in
``tests/sdk_envs/on_demand/crewai.txt``): its own AG-UI endpoint serving a flow as its README
writes one, on the scripted model of ``framework_testing``, read by the ``ag-ui`` dialect: a
notebook function the flow's model calls (that flow runs no tool of its own: it hands the
model the client's), its result and the answer, the model's reasoning, a second turn, Stop;
and a flow whose CrewAI ``Agent`` runs a tool of its own.

Not installed for every run: ``crewai`` brings chromadb, lancedb, onnxruntime and litellm,
152 packages and 1 GB (seven times the largest other framework's venv here); skipped without
its venv, the reason naming the command that makes it."""

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
)

pytestmark = [pytest.mark.slow]

HEAVY = "crewai brings chromadb, lancedb, onnxruntime and litellm: 152 packages, 1 GB"
QUIET = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
}


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


@pytest.fixture(scope="module")
def crewai_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("crewai")
    env = {**QUIET, "CREWAI_STORAGE_DIR": str(folder)}
    with framework_server(
        "crewai", "crewai_agui.py", folder, "/health", on_demand=HEAVY, **env
    ) as url:
        yield url


async def test_a_notebook_tool_its_result_reasoning_and_the_answer(crewai_url: str) -> None:
    async with framework_client("ag-ui", crewai_url) as crewai:
        run = await crewai.run("calc", "please add 2 and 3", tools=[add])
    assert (run.status, run.text) == ("completed", "The sum is 5."), run.error
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments) == ("call_add_1", "add", {"a": 2, "b": 3})
    assert (call.status, call.ran_by, str(call.output)) == ("succeeded", "client", "5")
    assert (run.reasoning, run.usage) == ("Adding it up.", None)  # ag-ui-crewai sends no usage
    assert [part.kind for part in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events


async def test_a_tool_a_crewai_agent_ran_with_its_result_its_answer_only_in_the_state(
    crewai_url: str,
) -> None:
    """A CrewAI ``Agent`` the flow kicks off runs ``add`` itself: ag-ui-crewai sends the call
    with its result (under an id of its own making), and drops the agent's own model stream,
    so its answer reaches the client only in the flow's state."""
    async with framework_client("ag-ui", f"{crewai_url}/agent") as crewai:
        run = await crewai.run("calc", "please add 2 and 3")
    [call] = run.tool_calls
    assert (call.name, call.arguments, str(call.output)) == ("add", {"a": 2, "b": 3}, "5")
    assert (call.status, call.ran_by) == ("succeeded", None)
    assert (run.status, run.text, run.unknown_events) == ("completed", "", [])
    assert run.state["messages"][-1] == {"role": "assistant", "content": "The sum is 5."}


async def test_a_second_turn_continues_the_thread(crewai_url: str) -> None:
    await the_second_turn(framework_client("ag-ui", crewai_url))


async def test_stop_closes_the_stream_and_crewai_lets_the_model_go(crewai_url: str) -> None:
    run = await stopped_at_the_first_text(framework_client("ag-ui", crewai_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
    assert await asyncio.to_thread(MODEL_LEFT.wait, PATIENCE_S)
