"""The ``adk`` dialect against Google ADK's own REST server: ``adk api_server`` started the way
ADK's docs start it, on a folder of agents (``sdk_servers/adk_agents``: ``calc``, one tool
``add``; ``confirm``, its ``add`` confirmed first; ``notebook``, its ``add`` a long-running
function tool the notebook answers; all on a scripted ``BaseLlm``, no network, no key), from
the ``.tools/google-adk`` venv pinned by ``tests/sdk_envs/google-adk.txt``."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PATIENCE_S, PEER_TIMEOUT, free_port, patient_polls, sdk_python, serving

import agentnb
from agentnb import AsyncAgentClient
from agentnb._app.front.connections import disconnect
from agentnb._client.tool_rounds import STOPPED_WHILE_RUNNING
from agentnb._core.exceptions import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    RunFailedError,
)
from agentnb._history import close_default_stores
from agentnb.types import ToolCall

AGENTS = Path(__file__).parent / "sdk_servers" / "adk_agents"


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
    async with AsyncAgentClient(
        "adk", base_url=adk_url, record=False, timeout=PEER_TIMEOUT
    ) as agent_client:
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
    async with AsyncAgentClient(
        "adk", base_url=adk_url, record=False, timeout=PEER_TIMEOUT
    ) as fresh:
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
    for _ in patient_polls():
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


def multiply(a: int, b: int) -> int:
    """Multiplies two numbers in the notebook."""
    return a * b


@pytest.mark.parametrize(
    ("approve", "status", "answer"),
    [(True, "succeeded", "The answer is 4."), (False, "denied", "rejected")],
)
async def test_a_tool_adk_asks_to_confirm_is_an_approval_of_that_call(
    client: AsyncAgentClient, approve: bool, status: str, answer: str
) -> None:
    """``require_confirmation=True``: ADK calls ``adk_request_confirmation`` and ends the
    stream; the person decides on ``add`` and the decision resumes the same run. (A
    notebook function ``confirm`` declares no tool for is refused before sending:
    ``test_a_notebook_tool_the_agent_does_not_declare_is_refused_before_sending``.)"""
    tools: list[object] = []
    shown: list[tuple[str, object]] = []

    def decide(call: ToolCall) -> bool:
        shown.append((call.name, call.arguments))
        return approve

    run = await client.run("confirm", "please add 2 and 2", approve=decide, tools=tools)
    assert run.status == "completed", run.error
    assert shown == [("add", {"a": 2, "b": 2})]
    [call] = run.tool_calls  # neither ADK's confirmation call nor its placeholder result
    assert (call.name, call.status) == ("add", status)
    assert call.output == (4 if approve else None)
    assert call.approval is not None and call.approval.approved is approve
    assert answer in run.text
    assert run.usage is not None and run.usage.total_tokens == 47  # both streams


async def _session_events(adk_url: str, app: str, session_id: str | None) -> list[dict]:
    async with httpx.AsyncClient() as http:
        session = await http.get(f"{adk_url}/apps/{app}/users/agentnb/sessions/{session_id}")
    events: list[dict] = session.json()["events"]
    return events


async def _sessions(adk_url: str, app: str) -> list[str]:
    """The ids of the sessions ADK holds for the app's default user."""
    async with httpx.AsyncClient() as http:
        listed = await http.get(f"{adk_url}/apps/{app}/users/agentnb/sessions")
    return sorted(session["id"] for session in listed.json())


async def test_a_notebook_function_answers_adks_long_running_call(
    client: AsyncAgentClient, adk_url: str
) -> None:
    """``notebook``'s ``add`` is a ``LongRunningFunctionTool``: ADK pauses the run at its call,
    the notebook's ``add`` runs it, and its result resumes the same run on the session."""
    seen: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        """Adds two numbers in the notebook."""
        seen.append((a, b))
        return a + b

    run = await client.run("notebook", "please add 2 and 2", tools=[add])
    assert run.status == "completed", run.error
    assert seen == [(2, 2)]
    [call] = run.tool_calls
    assert (call.name, call.arguments, call.output, call.status, call.ran_by) == (
        "add",
        {"a": 2, "b": 2},
        "4",
        "succeeded",
        "client",
    )
    assert run.text == "The answer is 4."
    assert run.usage is not None and run.usage.total_tokens == 47  # both of ADK's steps
    assert run.model == "scripted-model-1"
    assert run.run_id and run.run_id.startswith("e-")  # one run: ADK's one invocation
    events = await _session_events(adk_url, "notebook", run.thread_id)
    assert [e["author"] for e in events] == ["user", "notebook", "user", "notebook"]
    assert events[1]["longRunningToolIds"] == [call.call_id]
    answered = {"id": call.call_id, "name": "add", "response": {"result": "4"}}
    assert events[2]["content"]["parts"] == [{"functionResponse": answered}]
    assert {e["invocationId"] for e in events} == {run.run_id}

    second = await client.run("notebook", "again?", thread_id=run.thread_id, tools=[add])
    assert second.status == "completed", second.error
    assert second.text == "This session holds 2 questions."
    assert second.tool_calls == [] and seen == [(2, 2)]


def test_connect_and_ask_run_a_notebook_tool_the_history_keeps(
    adk_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The front door: ``connect("adk", base_url=URL)``, then ``ask(..., tools=[fn])``."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))

    def add(a: int, b: int) -> int:
        """Adds two numbers in the notebook."""
        return a + b

    agentnb.connect("adk", base_url=adk_url, name="adk_notebook", timeout=PEER_TIMEOUT)
    try:
        handle = agentnb.ask(
            "notebook", "please add 2 and 2", via="adk_notebook", tools=[add], display=False
        )
        run = handle.wait()
        recorded = agentnb.runs(agent="notebook").tool_calls()
        rows = [(c.name, c.status, c.ran_by) for c in recorded]
    finally:
        disconnect("adk_notebook")
        close_default_stores()
    assert run.text == "The answer is 4."
    assert rows == [("add", "succeeded", "client")]


@pytest.mark.parametrize("approve", [True, False])
async def test_a_notebook_tool_that_asks_first_is_approved_or_denied(
    client: AsyncAgentClient, approve: bool
) -> None:
    ran: list[int] = []

    def add(a: int, b: int) -> int:
        """Adds two numbers in the notebook."""
        ran.append(a + b)
        return a + b

    asked: list[tuple[str, object]] = []

    def decide(call: ToolCall) -> bool:
        asked.append((call.name, call.arguments))
        return approve

    run = await client.run(
        "notebook", "please add 2 and 2", tools=[agentnb.tool(add, approve=True)], approve=decide
    )
    assert run.status == "completed", run.error
    assert asked == [("add", {"a": 2, "b": 2})]
    [call] = run.tool_calls
    assert call.approval is not None and call.approval.approved is approve
    if approve:
        assert (ran, call.status, call.output) == ([4], "succeeded", "4")
        assert run.text == "The answer is 4."
    else:
        assert (ran, call.status) == ([], "denied")
        assert run.text == "The tool failed: the user denied this call."


async def test_a_notebook_function_that_raises_tells_the_agent(client: AsyncAgentClient) -> None:
    def add(a: int, b: int) -> int:
        """Adds two numbers in the notebook."""
        raise ValueError("no adding today")

    run = await client.run("notebook", "please add 2 and 2", tools=[add])
    assert run.status == "completed", run.error
    [call] = run.tool_calls
    assert (call.status, call.error, call.ran_by) == (
        "failed",
        "ValueError: no adding today",
        "client",
    )
    assert run.text == "The tool failed: ValueError: no adding today."


async def test_stop_while_the_notebook_runs_the_call_ends_the_run_and_the_session_goes_on(
    client: AsyncAgentClient,
) -> None:
    started, release = threading.Event(), threading.Event()

    def add(a: int, b: int) -> int:
        """Adds two numbers in the notebook."""
        started.set()
        release.wait(PATIENCE_S)
        return a + b

    stream = client.stream("notebook", "please add 2 and 2", tools=[add])
    reading = asyncio.create_task(stream.consume())
    await asyncio.to_thread(started.wait, PATIENCE_S)
    await stream.aclose()
    await reading
    release.set()
    run = stream.run
    assert run.status == "cancelled"
    [call] = run.tool_calls
    assert (call.status, call.ran_by, call.error) == ("failed", "client", STOPPED_WHILE_RUNNING)
    after = await client.run("notebook", "again?", thread_id=run.thread_id, tools=[add])
    assert after.text == "This session holds 2 questions."  # the session goes on


async def test_a_notebook_tool_the_agent_does_not_declare_is_refused_before_sending(
    client: AsyncAgentClient, adk_url: str
) -> None:
    """ADK's agent declares its tools; ``multiply`` is none of them, so ADK would never call
    it: refused before any request, naming what a notebook function can answer (ADK's
    ``GET /apps/{app}/app-info``: ``add``, long-running)."""
    before = await _sessions(adk_url, "notebook")
    with pytest.raises(ConfigurationError) as caught:
        await client.run("notebook", "please add 2 and 2", tools=[multiply])
    said = str(caught.value)
    assert "agent 'notebook' declares no tool 'multiply'" in said
    assert "its long-running tools, which a notebook function answers: add" in said
    assert await _sessions(adk_url, "notebook") == before  # nothing was sent


async def test_without_notebook_tools_a_long_running_call_is_left_open(
    client: AsyncAgentClient,
) -> None:
    run = await client.run("notebook", "please add 2 and 2")
    assert run.status == "completed", run.error
    [call] = run.tool_calls
    assert (call.name, call.status, call.output) == ("add", "no_result", None)
    assert run.text == ""


async def test_a_notebook_function_for_a_tool_adk_runs_itself_is_refused(
    client: AsyncAgentClient,
) -> None:
    """``calc``'s ``add`` is ADK's own (not long-running): ADK would run it and never call
    the notebook's ``add``; refused before sending, saying the agent has no long-running
    tool."""
    called: list[int] = []

    def add(a: int, b: int) -> int:
        """Adds two numbers in the notebook."""
        called.append(a + b)
        return a + b

    with pytest.raises(ConfigurationError) as caught:
        await client.run("calc", "please add 2 and 2", tools=[add])
    said = str(caught.value)
    assert "agent 'calc' runs its tool 'add' itself (it is not long-running)" in said
    assert "its long-running tools, which a notebook function answers: none" in said
    assert called == []
    run = await client.run("calc", "please add 2 and 2")  # without it: ADK's own add
    assert run.tool_calls[0].output == 4


async def test_the_connection_lists_adks_apps(client: AsyncAgentClient) -> None:
    names = [agent.name for agent in await client.list_agents()]
    assert names == ["calc", "confirm", "notebook"]


async def test_another_dialect_at_adks_run_endpoint_is_told_to_use_adk(adk_url: str) -> None:
    async with AsyncAgentClient(
        "ag-ui", base_url=f"{adk_url}/run_sse", record=False, timeout=PEER_TIMEOUT
    ) as other:
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
    async with AsyncAgentClient(
        "a2a", base_url=adk_a2a_url, record=False, timeout=PEER_TIMEOUT
    ) as a2a:
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

    async with AsyncAgentClient(
        "ag-ui", base_url=adk_agui_url + path, record=False, timeout=PEER_TIMEOUT
    ) as agui:
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
    async with AsyncAgentClient(
        dialect, base_url=adk_url, record=False, timeout=PEER_TIMEOUT
    ) as other:
        with pytest.raises(NotFoundError) as caught:
            await other.run("calc", "hello")
    assert str(caught.value).endswith(
        " (this looks like a Google ADK server: use the `adk` dialect)"
    )


async def test_a_404_elsewhere_says_nothing_of_adk(adk_agui_url: str) -> None:
    async with AsyncAgentClient(
        "openai", base_url=adk_agui_url, record=False, timeout=PEER_TIMEOUT
    ) as other:
        with pytest.raises(NotFoundError) as caught:
            await other.run("calc", "hello")
    assert "ADK" not in str(caught.value)
