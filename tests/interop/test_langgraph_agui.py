"""LangGraph behind ``ag-ui-langgraph`` (``.tools/langgraphagui``, pinned in
``tests/sdk_envs/langgraphagui.txt``): a ReAct graph with one tool served by the adapter's
own FastAPI endpoint, on the scripted model of ``framework_testing``, read by the ``ag-ui``
dialect: the tool call with its result, the answer, usage, a second turn in the thread, and
Stop (which ends the run here, not the graph's request to the model)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from framework_testing import (
    framework_client,
    framework_server,
    stopped_at_the_first_text,
    the_second_turn,
    the_sum,
)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def langgraph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("langgraphagui")
    with framework_server("langgraphagui", "langgraph_agui.py", folder, "/health") as url:
        yield url


async def test_the_tool_langgraph_ran_its_result_usage_and_the_answer(langgraph_url: str) -> None:
    """The call's arguments come only in ``MESSAGES_SNAPSHOT`` (the scripted model sends the
    call whole in one chunk, and ag-ui-langgraph streams arguments only from later chunks);
    no reasoning: ``ChatOpenAI`` reads no ``reasoning_content`` from Chat Completions."""
    async with framework_client("ag-ui", langgraph_url) as langgraph:
        run = await langgraph.run("calc", "please add 2 and 3")
    assert str(the_sum(run).output) == "5"
    assert run.reasoning == ""
    assert run.usage is not None  # both model calls, in ``RUN_FINISHED``'s ``usage``
    assert (run.usage.prompt_tokens, run.usage.total_tokens) == (24, 34)
    assert [part.kind for part in run.parts] == ["tool", "text"]
    assert not run.unknown_events


async def test_a_second_turn_continues_the_thread(langgraph_url: str) -> None:
    await the_second_turn(framework_client("ag-ui", langgraph_url))


async def test_stop_closes_the_stream(langgraph_url: str) -> None:
    """Stop ends the run here, but not the graph's request to the model: ag-ui-langgraph's
    endpoint notices its client left only when it next writes, and AG-UI has no cancel to
    send. ``ChatOpenAI`` lets the model go after its stream-chunk timeout (120 s,
    ``LANGCHAIN_OPENAI_STREAM_CHUNK_TIMEOUT_S``), or when the server stops."""
    run = await stopped_at_the_first_text(framework_client("ag-ui", langgraph_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
