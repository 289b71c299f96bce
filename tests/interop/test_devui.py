"""Microsoft Agent Framework's DevUI (``agent-framework-devui``, ``.tools/devui``, pinned in
``tests/sdk_envs/devui.txt``), started as its docs start it (``devui ./agents``), serving an
agent on a scripted chat client (``devui_agents/finance``): its ``/v1/responses`` routes a
response to an agent by ``metadata.entity_id`` (its 400 without it is answered by sending the run
again with it, no option needed), and streams the result of a tool the framework ran
itself as its own ``response.function_result.complete`` event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PEER_TIMEOUT, free_port, sdk_python, serving

from agentnb import AsyncAgentClient, NotFoundError

pytestmark = [pytest.mark.slow]

AGENTS = Path(__file__).resolve().parent / "devui_agents"


@pytest.fixture(scope="module")
def devui_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    devui, port = sdk_python("devui").parent / "devui", free_port()
    log = tmp_path_factory.mktemp("devui") / "devui.log"
    command = [str(devui), str(AGENTS), "--port", str(port), "--headless", "--no-open", "--no-auth"]
    with serving(command, ready_url=f"http://127.0.0.1:{port}/health", log_path=log):
        # DevUI's own page loads an agent's info before its first run; without it this beta
        # runs a directory agent as type "unknown" and fails
        httpx.get(f"http://127.0.0.1:{port}/v1/entities/finance/info").raise_for_status()
        yield f"http://127.0.0.1:{port}/v1"


def client(url: str, **options: object) -> AsyncAgentClient:
    options.setdefault("timeout", PEER_TIMEOUT)
    return AsyncAgentClient("openai-responses", base_url=url, record=False, **options)


async def test_the_agent_named_runs_and_its_own_tool_call_is_finished(devui_url: str) -> None:
    async with client(devui_url) as devui:  # no option: DevUI's 400 says where the name goes
        run = await devui.run("finance", "What is my NVDA position worth?")
        again = await devui.run("finance", "And now?")
    for each in (run, again):
        assert (each.status, each.text) == ("completed", "The position is worth 301.5.")
        assert each.retries == 0 and each.client_tool_calls == [] and each.finish_reason == "stop"
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments) == (
        "call_1",
        "position_value",
        {"ticker": "NVDA", "shares": 3},
    )
    assert (call.status, call.output, call.ran_by) == ("succeeded", "301.5", None)


async def test_the_agent_named_by_the_option_runs_at_the_first_request(devui_url: str) -> None:
    async with client(devui_url, provider_options={"agent_metadata": "entity_id"}) as devui:
        run = await devui.run("finance", "What is my NVDA position worth?")
    assert (run.status, run.text) == ("completed", "The position is worth 301.5.")


async def test_an_agent_devui_does_not_have_is_its_404(devui_url: str) -> None:
    async with client(devui_url) as devui:
        with pytest.raises(NotFoundError, match="Entity not found: nobody"):
            await devui.run("nobody", "hi")
