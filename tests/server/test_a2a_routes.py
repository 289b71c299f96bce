"""The built-in server's A2A routes beyond streaming (which the generic suites cover): the
agent card, GetTask, CancelTask of a running task, SubscribeToTask, JSON-RPC errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from agentnb_testing import PATIENCE_S
from server_testing import parse_sse, state_of

from agentnb import AsyncAgentClient
from agentnb.events import TextDelta
from agentnb.providers import RunRef
from agentnb.providers.a2a import A2A
from agentnb.server import ServerHandle


@pytest.fixture
def http(server: ServerHandle) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(
        base_url=server.url_for("a2a"), headers=headers, timeout=PATIENCE_S
    ) as client:
        yield client


def rpc(http: httpx.Client, method: str, params: dict[str, object]) -> dict[str, object]:
    answer = http.post(
        "/echo", json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    )
    assert answer.status_code == 200
    body: dict[str, object] = answer.json()
    assert body["id"] == 7
    return body


def test_the_agent_card_names_the_endpoint(http: httpx.Client, server: ServerHandle) -> None:
    card = http.get("/finance_agent/.well-known/agent-card.json").json()
    [interface] = card["supportedInterfaces"]
    assert interface["url"] == server.url_for("a2a") + "/finance_agent"
    assert interface["protocolBinding"] == "JSONRPC"
    assert card["capabilities"]["streaming"] is True
    assert card["skills"]


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("tasks/pushNotificationConfig/set", {}, -32601),
        ("GetTask", {"id": "no-such-task"}, -32001),
        ("SendStreamingMessage", {"message": {"parts": []}}, -32602),
    ],
)
def test_jsonrpc_errors(
    http: httpx.Client, method: str, params: dict[str, object], code: int
) -> None:
    error = rpc(http, method, params)["error"]
    assert isinstance(error, dict) and error["code"] == code


async def test_cancel_stops_a_running_task_and_get_task_reads_it(server: ServerHandle) -> None:
    options = {"headers": {"X-AgentNB-Delay-Ms": "200"}, "record": False}
    async with AsyncAgentClient(
        "a2a", **server.client_settings("a2a"), api_key=server.api_key, **options
    ) as client:
        provider = client.provider
        assert isinstance(provider, A2A)
        async with client.stream("finance_agent", "NVDA?") as stream:
            async for event in stream:
                if isinstance(event, TextDelta) or stream.run.tool_calls:
                    break
            task_id, context_id = stream.run.run_id, stream.run.thread_id
        assert task_id and context_id
        ref = RunRef("finance_agent", task_id, context_id)
        cancel = provider.cancel_request(ref)
        task = (await client.send_json(cancel))["result"]
        assert task["status"]["state"] == "TASK_STATE_CANCELED"
        await asyncio.sleep(0)
        [remote] = await client.run_status("finance_agent", task_id)
        assert (remote.status, remote.thread_id) == ("cancelled", context_id)


async def test_a_subscription_repeats_no_text_the_run_made_before_its_first_frame(
    server: ServerHandle,
) -> None:
    """``SubscribeToTask`` streams the task as it stands, then the frames after it. A piece
    of answer the run makes after the request came and before the response's first frame
    is in the task or after it, never both: an attach after a killed run once read
    "Tool calls show Tool calls show" there."""
    from starlette.requests import Request

    from agentnb.server._run_log import RunLog
    from agentnb.server._steps import Finish, Text
    from agentnb.server.agents import AgentInput
    from agentnb.server.routes._a2a_routes import _subscribe

    log = RunLog("run_sub", "a2a", "echo", AgentInput(message="x"), thread_id="ctx")
    log.append(Text("one "))
    response = _subscribe(Request({"type": "http", "headers": []}), state_of(server), log)
    log.append(Text("two "))  # made while the response is on its way
    log.append(Finish())
    log.end("completed")

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]

    body = await asyncio.wait_for(read(), timeout=PATIENCE_S)
    results = [json.loads(frame.data)["result"] for frame in parse_sse(body.decode())]
    seen = results[0]["task"]["artifacts"][0]["parts"][0]["text"]
    seen += "".join(
        result["artifactUpdate"]["artifact"]["parts"][0]["text"]
        for result in results[1:]
        if "artifactUpdate" in result
    )
    assert seen == log.answer_text() == "one two "
