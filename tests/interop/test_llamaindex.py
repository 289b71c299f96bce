"""LlamaIndex workflows (``llama-index-protocols-ag-ui``, ``.tools/llamaindex``, pinned in
``tests/sdk_envs/llamaindex.txt``): its own AG-UI router serving a workflow with one backend
tool, on the scripted model of ``framework_testing``: the tool call with its result, which
LlamaIndex sends only in ``MESSAGES_SNAPSHOT``, and the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from framework_testing import framework_client, framework_server, the_sum

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def llamaindex_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("llamaindex")
    with framework_server("llamaindex", "llamaindex_agui.py", folder, "/health") as url:
        yield f"{url}/run"


async def test_the_tool_llamaindex_ran_with_its_result_from_the_snapshot(
    llamaindex_url: str,
) -> None:
    async with framework_client("ag-ui", llamaindex_url) as llamaindex:
        run = await llamaindex.run("calc", "please add 2 and 3")
    assert str(the_sum(run).output) == "5"
    assert (run.reasoning, run.usage) == ("", None)  # LlamaIndex's AG-UI sends neither
    assert [part.kind for part in run.parts] == ["tool", "text"]
    assert not run.unknown_events


async def test_a_second_turn_sends_the_thread_llamaindex_keeps_none_of(
    llamaindex_url: str,
) -> None:
    """The workflow keeps no thread: the second turn reaches the model with the first, as
    agentnb sends it (LlamaIndex passes a tool's result to the model as a user message)."""
    async with framework_client("ag-ui", llamaindex_url) as llamaindex:
        first = await llamaindex.run("calc", "please add 2 and 3")
        second = await llamaindex.run("calc", "again?", thread_id=first.thread_id)
    assert (second.status, second.thread_id) == ("completed", first.thread_id), second.error
    assert second.text == "This thread holds 3 questions."  # the prompt, the result, again?
