"""The ``adk`` dialect against Google ADK's own REST server: ``adk api_server`` started the way
ADK's docs start it, on a folder of agents (``sdk_servers/adk_agents``: ``calc``, one tool
``add`` and a scripted ``BaseLlm``, no network, no key), from the ``.tools/google-adk`` venv
pinned by ``tests/sdk_envs/google-adk.txt``."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import free_port, sdk_python, serving

from agentnb import AsyncAgentClient
from agentnb._core.exceptions import (
    InvalidRequestError,
    NotFoundError,
    RunFailedError,
    UnsupportedOptionError,
)
from agentnb.types import ToolCall

pytestmark = pytest.mark.timeout(300)

AGENTS = Path(__file__).parent / "sdk_servers" / "adk_agents"


def add(a: int, b: int) -> int:
    """Adds two numbers in the notebook."""
    return a + b


@pytest.fixture(scope="module")
def agents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the agents: ADK writes its sessions (``.adk/``) beside each agent."""
    folder = tmp_path_factory.mktemp("adk") / "agents"
    shutil.copytree(AGENTS, folder)
    return folder


@pytest.fixture(scope="module")
def adk_url(agents_dir: Path) -> Iterator[str]:
    adk = sdk_python("google-adk").parent / "adk"
    port = free_port()
    command = [str(adk), "api_server", "--host", "127.0.0.1", "--port", str(port), str(agents_dir)]
    log = agents_dir.parent / "server.log"
    with serving(command, ready_url=f"http://127.0.0.1:{port}/list-apps", log_path=log):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def client(adk_url: str) -> AsyncIterator[AsyncAgentClient]:
    async with AsyncAgentClient("adk", base_url=adk_url, record=False) as agent_client:
        yield agent_client


async def test_a_tool_call_streamed_text_reasoning_and_usage(client: AsyncAgentClient) -> None:
    deltas: list[str] = []
    async with client.stream("calc", "please add 2 and 2") as stream:
        async for event in stream:
            if event.type == "text_delta":
                deltas.append(event.delta)
    run = stream.run
    assert run.status == "completed", run.error
    assert deltas == ["The answer ", "is ", "4."]  # the pieces; the whole is not shown again
    assert run.text == "The answer is 4."
    assert run.reasoning == "Thinking it over."
    [call] = run.tool_calls
    assert (call.name, call.arguments, call.output, call.status) == (
        "add",
        {"a": 2, "b": 2},
        4,
        "succeeded",
    )
    assert call.call_id.startswith("adk-") and call.ran_by is None  # ADK ran it
    assert run.usage is not None  # two model calls: 12 + 5, then 20 + 7 and 3 thinking
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (32, 15)
    assert (run.usage.total_tokens, run.usage.reasoning_tokens) == (47, 3)
    assert run.model == "scripted-model-1"
    assert run.run_id and run.run_id.startswith("e-")  # ADK's invocation id
    assert [p.kind for p in run.parts] == ["tool", "reasoning", "text"]
    assert not run.unknown_events


async def test_a_second_turn_continues_the_session(client: AsyncAgentClient, adk_url: str) -> None:
    first = await client.run("calc", "hello")
    assert first.text == "You said: hello"
    second = await client.run("calc", "again?", thread_id=first.thread_id)
    assert second.status == "completed", second.error
    assert second.thread_id == first.thread_id
    assert second.text == "This session holds 2 questions."
    session = f"{adk_url}/apps/calc/users/agentnb/sessions/{first.thread_id}"
    async with httpx.AsyncClient() as http:
        sessions = (await http.get(f"{adk_url}/apps/calc/users/agentnb/sessions")).json()
        events = (await http.get(session)).json()["events"]
    assert first.thread_id in [s["id"] for s in sessions]
    assert [e["author"] for e in events] == ["user", "calc", "user", "calc"]


async def test_a_thread_named_by_the_caller_is_made_once_then_reused(
    client: AsyncAgentClient, adk_url: str
) -> None:
    first = await client.run("calc", "hello", thread_id="notebook-thread", user_id="ada")
    second = await client.run("calc", "again?", thread_id="notebook-thread", user_id="ada")
    assert (first.thread_id, second.thread_id) == ("notebook-thread", "notebook-thread")
    assert second.text == "This session holds 2 questions."
    async with AsyncAgentClient("adk", base_url=adk_url, record=False) as fresh:
        third = await fresh.run("calc", "again?", thread_id="notebook-thread", user_id="ada")
    assert third.text == "This session holds 3 questions."  # ADK had it: 409, then used


async def test_stop_closes_the_stream_and_adk_ends_the_run(
    client: AsyncAgentClient, agents_dir: Path
) -> None:
    async with client.stream("calc", "count") as stream:
        async for event in stream:
            if event.type == "text_delta":
                break  # Stop
    run = stream.run
    assert run.status == "cancelled"
    assert run.text.startswith("1 ")
    stopped = agents_dir / "stopped.log"
    for _ in range(200):
        if stopped.exists():
            break
        await asyncio.sleep(0.05)
    assert stopped.read_text().startswith("stopped at ")  # the model's stream was closed


async def test_an_error_event_fails_the_run_with_its_code(client: AsyncAgentClient) -> None:
    with pytest.raises(RunFailedError) as caught:
        await client.run("calc", "break")
    assert "the quota is spent" in str(caught.value)
    run = caught.value.run
    assert run is not None and run.error is not None
    assert run.error.code == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("approve", "status", "answer"),
    [(True, "succeeded", "The answer is 4."), (False, "denied", "rejected")],
)
async def test_a_tool_adk_asks_to_confirm_is_an_approval_of_that_call(
    client: AsyncAgentClient, approve: bool, status: str, answer: str
) -> None:
    """``require_confirmation=True``: ADK calls ``adk_request_confirmation`` and ends the
    stream; the person decides on ``add`` and the decision resumes the same run."""
    shown: list[tuple[str, object]] = []

    def decide(call: ToolCall) -> bool:
        shown.append((call.name, call.arguments))
        return approve

    run = await client.run("confirm", "please add 2 and 2", approve=decide)
    assert run.status == "completed", run.error
    assert shown == [("add", {"a": 2, "b": 2})]
    [call] = run.tool_calls  # neither ADK's confirmation call nor its placeholder result
    assert (call.name, call.status) == ("add", status)
    assert call.output == (4 if approve else None)
    assert call.approval is not None and call.approval.approved is approve
    assert answer in run.text
    assert run.usage is not None and run.usage.total_tokens == 47  # both streams


async def test_notebook_tools_are_refused_before_any_request(client: AsyncAgentClient) -> None:
    with pytest.raises(UnsupportedOptionError, match="does not support tools"):
        await client.run("calc", "please add", tools=[add])


async def test_the_connection_lists_adks_apps(client: AsyncAgentClient) -> None:
    assert [agent.name for agent in await client.list_agents()] == ["calc", "confirm"]


async def test_another_dialect_at_adks_run_endpoint_is_told_to_use_adk(adk_url: str) -> None:
    async with AsyncAgentClient("ag-ui", base_url=f"{adk_url}/run_sse", record=False) as other:
        with pytest.raises(InvalidRequestError) as caught:
            await other.run("calc", "hello")
    assert "this looks like a Google ADK server: use the `adk` dialect" in str(caught.value)


@pytest.fixture(scope="module")
def adk_a2a_url(agents_dir: Path) -> Iterator[str]:
    """The same agent over A2A, served by ADK's own ``to_a2a()``."""
    python = sdk_python("google-adk")
    port = free_port()
    command = [str(python), str(AGENTS.parent / "adk_a2a.py"), str(port), str(agents_dir)]
    ready = f"http://127.0.0.1:{port}/.well-known/agent-card.json"
    with serving(command, ready_url=ready, log_path=agents_dir.parent / "a2a.log"):
        yield f"http://127.0.0.1:{port}"


async def test_over_a2a_adks_tool_call_is_a_tool_call_and_the_answer_shows_once(
    adk_a2a_url: str,
) -> None:
    async with AsyncAgentClient("a2a", base_url=adk_a2a_url, record=False) as a2a:
        run = await a2a.run("calc", "please add 2 and 2")
    assert run.status == "completed", run.error
    [call] = run.tool_calls
    assert (call.name, call.arguments, call.output, call.status) == (
        "add",
        {"a": 2, "b": 2},  # 2.0 on the wire: A2A 1.0 data is a protobuf Struct
        4,
        "succeeded",
    )
    assert call.call_id.startswith("adk-")
    assert run.text == "The answer is 4."  # the artifact, once
    assert run.reasoning == "Thinking it over."  # not the answer again
    assert [p.kind for p in run.parts] == ["tool", "reasoning", "text"]
    assert run.usage is not None and run.usage.total_tokens == 47  # adk_usage_metadata
    assert not run.custom_events


@pytest.fixture(scope="module")
def adk_agui_url(agents_dir: Path) -> Iterator[str]:
    """The agent behind ``ag-ui-adk``, its ``add`` needing confirmation."""
    python = sdk_python("google-adk")
    port = free_port()
    command = [str(python), str(AGENTS.parent / "adk_agui.py"), str(port), str(agents_dir)]
    ready = f"http://127.0.0.1:{port}/health"
    with serving(command, ready_url=ready, log_path=agents_dir.parent / "agui.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("path", ["", "/interrupts"])
@pytest.mark.parametrize(
    ("approve", "status", "answer"),
    [(True, "succeeded", "The answer is 4."), (False, "denied", "rejected")],
)
async def test_over_ag_ui_adks_confirmation_is_the_approval_of_its_call(
    adk_agui_url: str, path: str, approve: bool, status: str, answer: str
) -> None:
    """``ag-ui-adk`` streams ADK's ``adk_request_confirmation`` as a tool call (and, with
    ``emit_interrupt_outcome``, an interrupt on it): the person decides on ``add`` itself."""
    shown: list[tuple[str, object]] = []

    def decide(call: ToolCall) -> bool:
        shown.append((call.name, call.arguments))
        return approve

    async with AsyncAgentClient("ag-ui", base_url=adk_agui_url + path, record=False) as agui:
        run = await agui.run("calc", "please add 2 and 2", approve=decide)
    assert run.status == "completed", run.error
    assert shown == [("add", {"a": 2, "b": 2})]
    [call] = run.tool_calls  # no call of adk_request_confirmation, no call without a result
    assert (call.name, call.arguments, call.status) == ("add", {"a": 2, "b": 2}, status)
    assert call.approval is not None and call.approval.approved is approve
    assert call.approval.asked is not None and call.approval.asked.name == "add"
    assert answer in run.text


@pytest.mark.parametrize("dialect", ["openai", "seekrflow", "a2a"])
async def test_another_dialect_given_adks_url_is_told_to_use_adk(
    adk_url: str, dialect: str
) -> None:
    """Its run's request answers 404 there; ADK's ``GET /list-apps`` says what it is."""
    async with AsyncAgentClient(dialect, base_url=adk_url, record=False) as other:
        with pytest.raises(NotFoundError) as caught:
            await other.run("calc", "hello")
    assert str(caught.value).endswith(
        " (this looks like a Google ADK server: use the `adk` dialect)"
    )


async def test_a_404_elsewhere_says_nothing_of_adk(adk_agui_url: str) -> None:
    async with AsyncAgentClient("openai", base_url=adk_agui_url, record=False) as other:
        with pytest.raises(NotFoundError) as caught:
            await other.run("calc", "hello")
    assert "ADK" not in str(caught.value)
