"""The ``a2a`` dialect against the protocol's own software, offline: the ``a2a-sdk`` server
(its JSON-RPC routes, request handler and task store) with a scripted ``AgentExecutor``
(``sdk_servers/a2a_sdk_server.py``, in the ``.tools/a2a`` venv pinned by
``tests/sdk_envs/a2a.txt``). agentnb's requests (stream, answer a question, CancelTask,
SubscribeToTask, GetTask) are sent as the provider builds them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from agentnb_testing import PEER_TIMEOUT, free_port, sdk_python, serving

import agentnb
from agentnb import AsyncAgentClient
from agentnb._app.front.connections import disconnect
from agentnb._core.exceptions import ConfigurationError, RunFailedError
from agentnb._core.request import RunRequest
from agentnb.approvals import ApprovalDecision
from agentnb.events import Event, RunFailed, RunStarted, TextDelta
from agentnb.providers import RunRef
from agentnb.providers.a2a import A2A
from agentnb.sse import ServerSentEvent, SSEDecoder

SERVERS = Path(__file__).parent / "sdk_servers"


@pytest.fixture(scope="module")
def sdk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = sdk_python("a2a")
    port = free_port()
    log = tmp_path_factory.mktemp("a2a") / "server.log"
    command = [str(python), str(SERVERS / "a2a_sdk_server.py"), str(port)]
    url = f"http://127.0.0.1:{port}"
    with serving(command, ready_url=f"{url}/.well-known/agent-card.json", log_path=log):
        yield url


def card_endpoint(sdk_url: str) -> str:
    """The JSON-RPC endpoint as the agent card names it."""
    card = httpx.get(f"{sdk_url}/.well-known/agent-card.json").json()
    url: str = card["supportedInterfaces"][0]["url"]
    return url


@pytest.fixture(params=["1.0", "0.3"])
async def client(sdk_url: str, request: pytest.FixtureRequest) -> AsyncIterator[AsyncAgentClient]:
    base_url = card_endpoint(sdk_url)
    options = {"provider_options": {"path": "", "version": request.param}, "timeout": PEER_TIMEOUT}
    async with AsyncAgentClient("a2a", base_url=base_url, record=False, **options) as agent_client:
        yield agent_client


async def test_streamed_artifact_chunks_are_the_answer(client: AsyncAgentClient) -> None:
    run = await client.run("scripted", "What is NVDA at?")
    assert run.status == "completed"
    assert run.text == "NVDA trades at 875.4"
    assert run.reasoning == "Looking it up"  # the working status's message
    assert run.run_id and run.thread_id and run.run_id != run.thread_id
    [quote] = [e.value for e in run.custom_events if e.name == "a2a.artifact"]
    assert quote["name"] == "quote"
    [part] = quote["parts"]
    assert part["data"] == {"ticker": "NVDA", "price": 875.4}
    assert not run.unknown_events


async def test_the_context_id_carries_a_conversation(client: AsyncAgentClient) -> None:
    first = await client.run("scripted", "count")
    second = await client.run("scripted", "count", thread_id=first.thread_id)
    other = await client.run("scripted", "count")
    assert (first.text, second.text, other.text) == ("turn 1", "turn 2", "turn 1")
    assert second.thread_id == first.thread_id != other.thread_id
    assert second.run_id != first.run_id


async def test_input_required_is_a_question_answered_in_the_same_task(
    client: AsyncAgentClient,
) -> None:
    asked: list[str | None] = []

    def answer(call: object) -> object:
        asked.append(getattr(call, "approval", None) and call.approval.reason)  # type: ignore[attr-defined]
        return ApprovalDecision(call.call_id, True, answer="10")  # type: ignore[attr-defined]

    run = await client.run("scripted", "trade NVDA", approve=answer)
    assert asked == ["How many shares?"]
    assert run.status == "completed"
    assert run.text == "Bought 10 shares."
    [question] = run.tool_calls
    assert question.name == "input-required"
    assert question.output == "10"
    assert question.approval is not None and question.approval.approved


@pytest.mark.parametrize(
    ("message", "code", "text"),
    [("fail", "failed", "the scripted agent failed"), ("reject", "rejected", "I do not do that")],
)
async def test_failed_and_rejected_tasks_fail_the_run(
    client: AsyncAgentClient, message: str, code: str, text: str
) -> None:
    with pytest.raises(RunFailedError) as raised:
        await client.run("scripted", message)
    assert str(raised.value) == text
    run = raised.value.run
    assert (
        run is not None
        and run.status == "failed"
        and run.error is not None
        and run.error.code == code
    )


async def cancel_while_streaming(client: AsyncAgentClient, provider: A2A) -> tuple[str, str]:
    """Start the slow task, send CancelTask while its stream is still open (closing the
    stream would cancel it anyway: Stop reaches the platform), return its ids."""
    async with client.stream("scripted", "slow") as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
        run = stream.run
        assert run.run_id and run.thread_id
        cancel = provider.cancel_request(RunRef("scripted", run.run_id, run.thread_id))
        task = (await client.send_json(cancel))["result"]
        assert task["status"]["state"] in ("TASK_STATE_CANCELED", "canceled")
        return run.run_id, run.thread_id


async def test_cancel_request_cancels_the_task_in_the_sdk(
    client: AsyncAgentClient, sdk_url: str
) -> None:
    provider = client.provider
    assert isinstance(provider, A2A)
    task_id, context_id = await cancel_while_streaming(client, provider)
    async with httpx.AsyncClient() as http:
        seen = (await http.get(f"{sdk_url}/log")).json()
    assert task_id in seen["cancelled"]
    [remote] = await client.run_status("scripted", task_id)
    assert (remote.run_id, remote.thread_id, remote.status) == (task_id, context_id, "cancelled")


async def attached_events(
    client: AsyncAgentClient, ref: RunRef, *, until_text: bool
) -> list[Event]:
    """The events of the provider's attach request, read by a fresh translator: SSE frames,
    or a plain JSON answer (what the SDK sends for an error in A2A 1.0) as one frame."""
    provider = client.provider
    attach = provider.attach_request(ref, None)
    assert attach is not None
    translator = provider.translator(RunRequest(agent=ref.agent, message=""))
    events: list[Event] = []
    base_url = str(client.transport.base_url)
    async with (
        httpx.AsyncClient(base_url=base_url) as http,
        http.stream("POST", attach.path, json=attach.json, headers=dict(attach.headers)) as resp,
    ):
        if not resp.headers["content-type"].startswith("text/event-stream"):
            body = (await resp.aread()).decode()
            return translator.translate(ServerSentEvent(data=body))
        decoder = SSEDecoder()
        async for chunk in resp.aiter_bytes():
            for sse in decoder.feed(chunk):
                events.extend(translator.translate(sse))
            if translator.done or (until_text and any(isinstance(e, TextDelta) for e in events)):
                break
    return events


async def test_attach_request_resubscribes_to_a_running_task(client: AsyncAgentClient) -> None:
    async with client.stream("scripted", "slow") as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
        task_id, context_id = stream.run.run_id, stream.run.thread_id
        assert task_id and context_id
        ref = RunRef("scripted", task_id, context_id)
        events = await attached_events(client, ref, until_text=True)
    assert isinstance(events[0], RunStarted)
    assert (events[0].run_id, events[0].thread_id) == (task_id, context_id)
    assert any(isinstance(e, TextDelta) and set(e.delta) == {"."} for e in events)


async def test_an_unknown_task_to_resubscribe_is_a_typed_failure(client: AsyncAgentClient) -> None:
    [failed] = await attached_events(client, RunRef("scripted", "no-such-task"), until_text=False)
    assert isinstance(failed, RunFailed)
    assert failed.code == "task_not_found"


async def test_get_task_reads_a_finished_task(client: AsyncAgentClient) -> None:
    run = await client.run("scripted", "What is NVDA at?")
    assert run.run_id
    [remote] = await client.run_status("scripted", run.run_id)
    assert (remote.status, remote.thread_id) == ("completed", run.thread_id)
    assert remote.raw["artifacts"]
    assert await client.run_status("scripted", "no-such-task") == []


async def test_a_jsonrpc_error_answered_as_plain_json_is_a_typed_error(
    client: AsyncAgentClient,
) -> None:
    """The SDK validates params before streaming and answers an error as one JSON object
    (1.0) or one SSE frame (0.3): either way a RunFailedError with the error's name (not a
    ProtocolError about the content type)."""
    bad = {"configuration": {"historyLength": "lots"}}
    with pytest.raises(RunFailedError) as raised:
        await client.run("scripted", "hi", extra=bad)
    run = raised.value.run
    assert run is not None and run.error is not None
    provider = client.provider
    assert isinstance(provider, A2A)
    # the SDK's 0.3 adapter calls it an invalid request (-32600), its 1.0 handler bad params
    expected = {"1.0": "invalid_params", "0.3": "invalid_request"}[provider.version]
    assert run.error.code == expected


async def test_the_documented_recipe_works_when_the_cards_url_has_a_path(sdk_url: str) -> None:
    """``base_url=<the card's url>, provider_options={"path": ""}`` with a card URL that has
    a path: the run posts to that URL exactly (a trailing slash would get a 307 from the
    server and fail)."""
    async with httpx.AsyncClient() as http:
        card_url = f"{sdk_url}/agents/scripted/.well-known/agent-card.json"
        card = (await http.get(card_url)).json()
    endpoint = card["supportedInterfaces"][0]["url"]
    assert endpoint == f"{sdk_url}/agents/scripted"
    async with AsyncAgentClient(
        "a2a", base_url=endpoint, provider_options={"path": ""}, record=False, timeout=PEER_TIMEOUT
    ) as client:
        run = await client.run("scripted", "What is NVDA at?")
    assert run.text == "NVDA trades at 875.4"


@pytest.mark.parametrize(
    "pasted",
    [
        "{url}",
        "{url}/",
        "{url}/.well-known/agent-card.json",
        "{url}/agents/scripted",
        "{url}/agents/scripted/.well-known/agent-card.json",
    ],
)
async def test_a_base_or_card_url_is_resolved_through_the_card(sdk_url: str, pasted: str) -> None:
    """The URL a user is given (the agent's base, or its card's URL), with no ``path``: the
    card names the JSON-RPC endpoint and its version, the run goes there."""
    base_url = pasted.format(url=sdk_url)
    async with AsyncAgentClient(
        "a2a", base_url=base_url, record=False, timeout=PEER_TIMEOUT
    ) as client:
        run = await client.run("scripted", "What is NVDA at?")
        provider = client.provider
        assert isinstance(provider, A2A) and provider.card is not None
        assert provider.version == "1.0"  # the card's interface says so
        [agent] = await client.list_agents()
    assert run.text == "NVDA trades at 875.4"
    assert (agent.name, agent.description) == (
        "scripted",
        "A scripted A2A agent for agentnb's tests",
    )
    assert agent.skills == ("Stock quotes",)


def test_connect_lists_the_cards_agent_and_what_it_supports(sdk_url: str) -> None:
    conn = agentnb.connect(
        "a2a", base_url=sdk_url + "/agents/scripted", name="card", timeout=PEER_TIMEOUT
    )
    try:
        assert conn.supports() == ["streaming", "cancel", "attach", "approvals", "listing"]
        assert [a.name for a in conn.agents()] == ["scripted"]
        shown = conn._repr_html_()
        assert "Stock quotes" in shown and "A scripted A2A agent" in shown
        assert "agents=['scripted']" in repr(conn)
        listed = repr(agentnb.connections())
        rows = [line.split()[:2] for line in listed.splitlines()]
        assert ["card", "a2a"] in rows and "listing" in listed  # other tests' connections too
        handle = agentnb.ask(
            "scripted", "What is NVDA at?", via="card", display=False, wait=True, record=False
        )
    finally:
        disconnect("card")
    assert handle.run.text == "NVDA trades at 875.4"


def test_a_card_without_a_jsonrpc_interface_is_a_clear_error() -> None:
    from agentnb.providers.a2a import _jsonrpc_interface

    card = {"name": "grpc-only", "supportedInterfaces": [{"url": "x", "protocolBinding": "GRPC"}]}
    with pytest.raises(ConfigurationError, match=r"offers no JSON-RPC interface.*GRPC"):
        _jsonrpc_interface(card)
    old = {"name": "old", "url": "http://h/rpc", "protocolVersion": "0.3.0"}
    assert _jsonrpc_interface(old) == ("http://h/rpc", "0.3")


async def test_list_tasks_reads_a_contexts_tasks_from_the_sdk(client: AsyncAgentClient) -> None:
    """A2A 1.0's ``ListTasks`` as ``a2a-sdk`` answers it: a context's tasks, every page read
    by its token; A2A 0.3 has no such method."""
    first = await client.run("scripted", "count")
    second = await client.run("scripted", "count", thread_id=first.thread_id)
    await client.run("scripted", "count")  # another context
    assert first.thread_id is not None
    if client.provider.options.get("version") == "0.3":
        with pytest.raises(agentnb.ConfigurationError, match="does not list runs"):
            await client.list_runs(first.thread_id)
        return
    listed = await client.list_runs(first.thread_id, page_size=1)
    assert {r.run_id for r in listed} == {first.run_id, second.run_id}
    assert {(r.status, r.thread_id) for r in listed} == {("completed", first.thread_id)}
