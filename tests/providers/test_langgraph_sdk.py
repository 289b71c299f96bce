"""The ``langgraph`` dialect against the LangGraph Agent Server itself, offline:
``langgraph dev`` (``langgraph-api`` in memory, ``.tools/langgraph`` venv pinned by
``tests/sdk_envs/langgraph.txt``) serving the graphs of ``sdk_servers/langgraph_app`` on a
scripted chat model (a tool node, a subgraph, an ``interrupt()``)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PATIENCE_S, PEER_TIMEOUT, free_port, patient_polls, sdk_python, serving

from agentnb import AsyncAgentClient
from agentnb._core.request import build_request
from agentnb.events import CustomEvent, Event
from agentnb.providers import HttpRequest, RunRef
from agentnb.providers.langgraph import LangGraph, LangGraphTranslator
from agentnb.server import ServerHandle
from agentnb.sse import ServerSentEvent, SSEDecoder
from agentnb.types import Fork

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "sdk_servers" / "langgraph_app"
OFFLINE = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_API_KEY": "",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
}


@pytest.fixture(scope="module")
def langgraph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    langgraph = sdk_python("langgraph").parent / "langgraph"
    port = free_port()
    home = tmp_path_factory.mktemp("langgraph")
    app = home / "app"  # the server keeps its in-memory state on disk beside the graphs
    shutil.copytree(APP, app)
    log = home / "server.log"
    command = [
        str(langgraph),
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n-jobs-per-worker",
        "4",
    ]
    env = {**os.environ, **OFFLINE}
    url = f"http://127.0.0.1:{port}"
    with serving(command, ready_url=f"{url}/ok", log_path=log, env=env, cwd=app):
        yield url


@pytest.fixture
async def client(langgraph_url: str) -> AsyncIterator[AsyncAgentClient]:
    async with AsyncAgentClient(
        LangGraph(), base_url=langgraph_url, record=False, timeout=PEER_TIMEOUT
    ) as agent:
        yield agent


async def test_text_reasoning_a_tool_call_its_result_and_usage(client: AsyncAgentClient) -> None:
    run = await client.run("quotes", "What is NVDA at?")
    assert run.status == "completed"
    assert run.text == "NVDA trades at $875.4."
    assert run.reasoning == "The price is in."
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments) == ("call_q1", "get_price", {"ticker": "NVDA"})
    assert (call.status, call.output) == ("succeeded", "875.4")  # content is text
    assert run.usage is not None and run.usage.total_tokens == 30  # two model turns
    assert run.run_id and run.thread_id
    assert not run.unknown_events
    assert run.resumes == 1  # the stream just closes: joining the run again found it over


async def test_values_are_the_runs_state(client: AsyncAgentClient) -> None:
    run = await client.run("quotes", "What is NVDA at?")
    messages = run.state["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[-1]["content"] == "NVDA trades at $875.4."


async def test_a_second_turn_continues_the_servers_thread(client: AsyncAgentClient) -> None:
    first = await client.run("quotes", "What is NVDA at?")
    second = await client.run("quotes", "again?", thread_id=first.thread_id)
    assert second.status == "completed" and second.text == "You asked 2 times."
    assert second.thread_id == first.thread_id and second.run_id != first.run_id


async def test_an_interrupt_is_a_question_answered_with_a_command(
    client: AsyncAgentClient,
) -> None:
    async with client.stream("trade", "Buy NVDA") as stream:
        async for event in stream:
            if event.type == "tool_approval_requested":
                assert event.question == "How many shares?"
            if event.type == "run_paused":
                [call] = stream.run.tool_calls
                stream.approvals.approve(call.call_id, answer=10)
    run = stream.run
    assert run.status == "completed" and run.text == "Bought 10 NVDA."
    [call] = run.tool_calls
    assert call.status == "succeeded" and call.output == 10


async def test_a_subgraph_reads_as_a_tree(client: AsyncAgentClient) -> None:
    events: list[Event] = []
    async with client.stream("research", "Research NVDA") as stream:
        events = [event async for event in stream]
    run = stream.run
    assert run.text.endswith("Summary: buy.")
    calls = {call.call_id: call for call in run.tool_calls}
    [subgraph] = [c for c in calls.values() if c.name == "researcher"]
    assert subgraph.status == "succeeded"
    price = calls["call_r1"]
    assert price.output == "875.4"
    started = [e for e in events if e.type == "tool_call_started" and e.call_id == "call_r1"]
    assert started[0].parent_call_id == subgraph.call_id
    assert started[0].agent == "researcher"
    nested_text = [e for e in events if e.type == "text_delta" and e.agent == "researcher"]
    assert "".join(e.delta for e in nested_text) == "Research: NVDA at 875.4."
    customs = [e for e in events if isinstance(e, CustomEvent)]
    assert any(e.value == {"progress": "researching"} for e in customs)


async def _start_slow(client: AsyncAgentClient) -> tuple[RunRef, AsyncIterator[Event]]:
    """A ``slow`` run streaming until its first custom event: (its ref, the rest)."""
    stream = client.stream("slow", "work")
    events = stream.__aiter__()
    await stream.__aenter__()
    async for event in events:
        if isinstance(event, CustomEvent):
            break
    run = stream.run
    assert run.run_id and run.thread_id
    return RunRef("slow", run.run_id, run.thread_id), events


async def test_cancel_stops_the_run_on_the_server(client: AsyncAgentClient) -> None:
    ref, _ = await _start_slow(client)
    cancel = client.provider.cancel_request(ref)
    assert cancel is not None
    await client.send_json(cancel)
    for _ in patient_polls():
        status = (await client.send_json(_run_status(ref)))["status"]
        if status != "running":
            break
        await asyncio.sleep(0.1)
    assert status == "interrupted"
    [listed] = [r for r in await client.list_runs(ref.thread_id or "") if r.run_id == ref.run_id]
    assert listed.status == "interrupted" and listed.thread_id == ref.thread_id


async def test_a_running_run_can_be_joined(client: AsyncAgentClient, langgraph_url: str) -> None:
    ref, _ = await _start_slow(client)
    join = client.provider.attach_request(ref, None)
    assert join is not None and join.method == "GET"
    translator = LangGraphTranslator(ref.thread_id)
    ticks: list[object] = []
    http = httpx.AsyncClient(base_url=langgraph_url, timeout=PATIENCE_S)
    async with http, http.stream(join.method, join.path, headers=dict(join.headers)) as response:
        decoder = SSEDecoder()
        async for chunk in response.aiter_bytes():
            for sse in decoder.feed(chunk):
                ticks += [e.value for e in translator.translate(sse) if isinstance(e, CustomEvent)]
            if len(ticks) >= 3:
                break
    numbers = [t["tick"] for t in ticks if isinstance(t, dict)]
    assert len(numbers) >= 3 and numbers == sorted(numbers)  # the run's own, still going
    cancel = client.provider.cancel_request(ref)
    assert cancel is not None
    await client.send_json(cancel)


async def test_runs_of_a_thread_are_listed(client: AsyncAgentClient) -> None:
    first = await client.run("quotes", "What is NVDA at?")
    second = await client.run("quotes", "again?", thread_id=first.thread_id)
    runs = await client.list_runs(first.thread_id or "")
    assert {r.run_id for r in runs} == {first.run_id, second.run_id}
    assert {r.status for r in runs} == {"success"}


def _run_status(ref: RunRef) -> HttpRequest:
    return HttpRequest("GET", f"/threads/{ref.thread_id}/runs/{ref.run_id}")


async def test_a_join_after_last_event_id_goes_on_from_there(
    client: AsyncAgentClient, langgraph_url: str
) -> None:
    ref, _ = await _start_slow(client)
    provider = client.provider
    http = httpx.AsyncClient(base_url=langgraph_url, timeout=PATIENCE_S)
    async with http:
        first = await _ticks(http, provider.attach_request(ref, None), 3)
        last_id, last_tick = first[-1]
        again = await _ticks(http, provider.attach_request(ref, last_id), 1)
        cancel = provider.cancel_request(ref)
        assert cancel is not None
        await client.send_json(cancel)
    assert again[0][1] == last_tick + 1  # nothing repeated, nothing skipped


async def _ticks(
    http: httpx.AsyncClient, join: HttpRequest | None, count: int
) -> list[tuple[str, int]]:
    """The first ``count`` custom ``tick`` frames of a join, with their event ids."""
    assert join is not None
    found: list[tuple[str, int]] = []
    async with http.stream(join.method, join.path, headers=dict(join.headers)) as response:
        decoder = SSEDecoder()
        async for chunk in response.aiter_bytes():
            for sse in decoder.feed(chunk):
                data = json.loads(sse.data) if sse.event == "custom" else None
                if isinstance(data, dict) and "tick" in data:
                    found.append((sse.id, data["tick"]))
            if len(found) >= count:
                return found
    return found


async def test_stop_cancels_the_run_on_the_server(client: AsyncAgentClient) -> None:
    async with client.stream("slow", "work") as stream:
        async for event in stream:
            if isinstance(event, CustomEvent):
                break  # closing the stream early is Stop
    run = stream.run
    assert run.status == "cancelled" and run.run_id and run.thread_id
    ref = RunRef("slow", run.run_id, run.thread_id)
    for _ in patient_polls():
        status = (await client.send_json(_run_status(ref)))["status"]
        if status != "running":
            break
        await asyncio.sleep(0.1)
    assert status == "interrupted"  # the platform's run stopped, not only the stream


NAMESPACE_ENTRY = re.compile(
    r"^[a-z_]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
MODES = ["messages-tuple", "updates", "values", "custom"]


def _subgraph_frames(
    base_url: str, graph: str, message: str, **headers: str
) -> list[ServerSentEvent]:
    """The frames of one run streamed with ``stream_subgraphs``, as the server sends them."""
    with httpx.Client(base_url=base_url, headers=headers, timeout=PATIENCE_S) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        body = {
            "assistant_id": graph,
            "input": {"messages": [{"type": "human", "content": message}]},
            "stream_mode": MODES,
            "stream_subgraphs": True,
        }
        answer = http.post(f"/threads/{thread_id}/runs/stream", json=body)
    assert answer.status_code == 200, answer.text
    return list(SSEDecoder().feed(answer.content))


def _subgraph_shape(frames: list[ServerSentEvent]) -> set[tuple[str, int]]:
    """What the frames of subgraphs have in common across servers; asserts each one's grammar:
    namespace entries ``node:uuid``; a ``messages`` frame's metadata naming its node and
    ``checkpoint_ns`` (the namespace); each subgraph ended by an ``updates`` frame of the
    level above that names its node, after the subgraph's last frame."""
    shape: set[tuple[str, int]] = set()
    last_seen: dict[str, int] = {}
    ended: dict[str, int] = {}
    for number, sse in enumerate(frames):
        mode, *namespace = (sse.event or "").split("|")
        data = json.loads(sse.data)
        for depth, entry in enumerate(namespace):
            assert NAMESPACE_ENTRY.match(entry), entry
            last_seen["|".join(namespace[: depth + 1])] = number
        if mode == "messages" and namespace:
            metadata = data[1]
            assert metadata["checkpoint_ns"] == "|".join(namespace)
            assert isinstance(metadata["langgraph_node"], str)
        if mode == "updates":
            for node in data:
                for path in last_seen:
                    above, _, entry = path.rpartition("|")
                    if above == "|".join(namespace) and entry.startswith(f"{node}:"):
                        ended.setdefault(path, number)
        if namespace:
            shape.add((mode, len(namespace)))
    assert set(ended) == set(last_seen)
    assert all(ended[path] > last_seen[path] for path in ended)
    return shape


def test_the_builtin_servers_subgraphs_are_streamed_as_langgraph_dev_streams_them(
    langgraph_url: str, server: ServerHandle
) -> None:
    """``langgraph dev``'s ``research`` graph (a node running a subgraph) and the built-in
    server's ``research_team`` (sub-agents as subgraphs, two levels deep) share the grammar
    of subgraph frames, and agentnb reads both as a tree (see test_a_subgraph_reads_as_a_tree
    and tests/server/test_sub_agents.py)."""
    theirs = _subgraph_shape(_subgraph_frames(langgraph_url, "research", "Research NVDA"))
    key = {"Authorization": f"Bearer {server.api_key}"}
    ours = _subgraph_shape(
        _subgraph_frames(server.url_for("langgraph"), "research_team", "NVDA and AAPL", **key)
    )
    assert {("messages", 1), ("updates", 1)} <= theirs
    assert {("messages", 1), ("messages", 2), ("updates", 1)} <= ours


async def test_the_servers_assistants_are_the_agents_a_connection_lists(
    client: AsyncAgentClient, langgraph_url: str
) -> None:
    """Each graph's default assistant by its graph id; an assistant made with the API by its
    id, with its name and description; and a run by that id runs it."""
    async with httpx.AsyncClient(base_url=langgraph_url) as http:
        made = await http.post(
            "/assistants",
            json={"graph_id": "quotes", "name": "Quote desk", "description": "Prices, politely"},
        )
        made.raise_for_status()
    assistant_id = made.json()["assistant_id"]
    agents = {agent.name: agent for agent in await client.list_agents()}
    assert {"quotes", "trade", "research", "slow", assistant_id} <= set(agents)
    mine = agents[assistant_id]
    assert (mine.title, mine.description) == ("Quote desk", "Prices, politely")
    assert client.provider.capabilities().listing
    run = await client.run(assistant_id, "What is NVDA at?")
    assert run.text == "NVDA trades at $875.4."


async def test_a_retried_turn_runs_from_the_checkpoint_before_it(client: AsyncAgentClient) -> None:
    """Retry as the chat cell sends it: the thread branches at the checkpoint before the
    replaced turn, so the graph counts the questions of the branch, not of every attempt."""
    first = await client.run("quotes", "What is NVDA at?")
    second = await client.run("quotes", "again?", thread_id=first.thread_id)
    assert second.text == "You asked 2 times."
    fork = Fork(thread_id=second.thread_id or "", run_id=second.run_id)
    request = build_request("quotes", "again?", thread_id=first.thread_id)
    retried = await client.run(request.model_copy(update={"fork": fork}))
    assert retried.text == "You asked 2 times."  # continuing would have counted 3
    assert retried.thread_id == first.thread_id
    after = await client.run("quotes", "and now?", thread_id=first.thread_id)
    assert after.text == "You asked 3 times."  # the thread goes on from the new branch
    values = after.state["messages"]
    assert [m["content"] for m in values if m["type"] == "human"] == [
        "What is NVDA at?",
        "again?",
        "and now?",
    ]


async def test_a_retried_first_turn_starts_a_new_thread(client: AsyncAgentClient) -> None:
    first = await client.run("quotes", "What is NVDA at?")
    fork = Fork(thread_id=first.thread_id or "", run_id=first.run_id)
    request = build_request("quotes", "What is NVDA at?", thread_id=first.thread_id)
    retried = await client.run(request.model_copy(update={"fork": fork}))
    assert retried.text == "NVDA trades at $875.4."
    assert retried.thread_id not in (None, first.thread_id)
