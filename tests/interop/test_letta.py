"""Letta (``letta``, Letta Code, ``.tools/letta``, pinned in
``tests/sdk_envs/on_demand/letta.txt``): its own server's OpenAI-compatible chat completions
(``letta server --openai-api``, each agent a model) serving an agent on the scripted model of
``framework_testing``, read by the ``openai`` dialect: the answer, a second turn, Stop.

Not installed for every run: ``letta`` bundles its own Node.js runtime and app (254 MB), and
its server is set up by three runs of its CLI before it starts; skipped without its venv, the
reason naming the command that makes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from framework_testing import framework_client, framework_server, stopped_at_the_first_text

pytestmark = [pytest.mark.slow]

HEAVY = "letta bundles its own Node.js runtime and app: 254 MB, set up by three runs of its CLI"


@pytest.fixture(scope="module")
def letta_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("letta")
    env = {"HOME": str(folder)}  # Letta keeps its settings and agents there
    with framework_server(
        "letta", "letta_server.py", folder, "/v1/models", on_demand=HEAVY, **env
    ) as url:
        yield f"{url}/v1"


async def test_the_answer_and_a_second_turn_in_the_thread(letta_url: str) -> None:
    """agentnb sends the thread (Letta hands the model the messages it is sent); no usage
    reaches agentnb: Letta's stream sends none."""
    async with framework_client("openai", letta_url) as letta:
        first = await letta.run("calc", "hello")
        second = await letta.run("calc", "again?", thread_id=first.thread_id)
    assert (first.status, first.text, first.usage) == (
        "completed",
        "This thread holds 1 questions.",
        None,
    )
    assert (second.thread_id, second.text) == (first.thread_id, "This thread holds 2 questions.")
    assert not first.unknown_events


async def test_a_notebook_tool_is_not_handed_to_the_model(letta_url: str) -> None:
    """Letta's agent calls its own tools: the ``tools`` a client declares do not reach the
    model, which then answers without calling ``add``."""

    def add(a: int, b: int) -> int:
        """Adds two whole numbers."""
        return a + b

    async with framework_client("openai", letta_url) as letta:
        run = await letta.run("calc", "please add 2 and 3", tools=[add])
    assert (run.status, run.text, run.tool_calls) == (
        "completed",
        "This thread holds 1 questions.",
        [],
    )


async def test_stop_closes_the_stream(letta_url: str) -> None:
    """Stop ends the run here; Letta's request to the model stayed open (tried by hand)."""
    run = await stopped_at_the_first_text(framework_client("openai", letta_url))
    assert (run.status, run.text) == ("cancelled", "1 ")
