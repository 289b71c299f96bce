"""The async client against the built-in server over a real socket, in every dialect."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import jsonschema
import pytest
from agentnb_testing import client_for

from agentnb import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
)
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.request import build_request
from agentnb.events import RunCompleted, RunStarted, TextDelta
from agentnb.server import DIALECT_PROVIDERS, ServerHandle

PROVIDERS = sorted(DIALECT_PROVIDERS)  # the dialects the built-in server speaks
QUESTION = "What is NVDA trading at, and how did it move this week?"


def server_run(server: ServerHandle, run_id: str | None) -> Any:
    """The server's own record of a run (OpenAI ids are ``chatcmpl-<hex>`` for ``run_<hex>``,
    Responses ids ``resp_<hex>``)."""
    assert run_id is not None
    if run_id.startswith("chatcmpl-"):
        run_id = "run_" + run_id.removeprefix("chatcmpl-")
    if run_id.startswith("resp_"):
        run_id = "run_" + run_id.removeprefix("resp_").partition("_")[0]
    log = server.app.state.agentnb.runs.get(run_id)
    assert log is not None, run_id
    return log


class RequestLog:
    """Counts the requests a client really sends (an httpx event hook: a real seam)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.clients: list[httpx.AsyncClient] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def client(self) -> httpx.AsyncClient:
        """An HTTP client to pass in (the agent client does not close what it did not make)."""
        client = httpx.AsyncClient(event_hooks={"request": [self]})
        self.clients.append(client)
        return client

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for r in self.requests if r.method == method and path_part in r.url.path)


@pytest.fixture
async def requests() -> AsyncIterator[RequestLog]:
    log = RequestLog()
    yield log
    for client in log.clients:
        await client.aclose()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_finance_agent_in_every_dialect(server: ServerHandle, provider: str) -> None:
    async with client_for(server, provider) as client:
        async with client.stream("finance_agent", QUESTION) as stream:
            events = [event async for event in stream]
        run = stream.run
    log = server_run(server, run.run_id)
    assert run.status == "completed" and run.provider == provider
    assert run.text == log.answer_text()
    assert "| NVDA | NVIDIA Corp. | $875.40 |" in run.text  # the markdown table
    assert any(line.startswith("|:--") for line in run.text.splitlines())
    usage = log.usage()
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
    )
    assert (run.thread_id and run.thread_id == log.thread_id) or provider == "openai"
    assert [e.seq for e in events] == list(range(len(events)))
    assert all(e.received_at > 0 for e in events)
    assert isinstance(events[-1], RunCompleted) and not run.unknown_events
    if provider == "runagent":  # the documented stream has the answer text only
        assert run.reasoning == "" and run.tool_calls == []
        return
    assert run.reasoning == log.reasoning_text() != ""
    expected = [(c["name"], c["arguments"], c.get("output")) for c in log.tool_calls()]
    got = [(c.name, c.arguments, c.output) for c in run.tool_calls]
    assert got == expected and len(got) >= 2
    assert all(c.status == "succeeded" for c in run.tool_calls)
    assert {"get_stock_price", "calculator"} <= {c.name for c in run.tool_calls}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_echo_followups_and_second_turn(server: ServerHandle, provider: str) -> None:
    async with client_for(server, provider) as client:
        first = await client.run("echo", "Hello there", followups=True)
        second = await client.run("echo", "And again", thread_id=first.thread_id)
    assert first.text == "Hello there" and second.text == "And again"
    assert first.followups == ["Say it again.", "Say it louder."]
    # a chain of Responses API responses moves its thread along: each response is the next
    # one's previous_response_id
    moved = provider == "openai-responses" and second.thread_id == second.run_id
    assert second.thread_id == first.thread_id or moved
    history = server_run(server, second.run_id).request.history
    assert [(m.role, m.content) for m in history] == [
        ("user", "Hello there"),
        ("assistant", "Hello there"),
    ]


async def test_run_and_stream_take_a_ready_request(server: ServerHandle) -> None:
    request = build_request("echo", "Hello there", followups=True)
    async with client_for(server, "operativus") as client:
        ran = await client.run(request)
        async with client.stream(request) as stream:
            async for _ in stream:
                pass
    assert ran.text == stream.run.text == "Hello there"
    assert ran.followups == stream.run.followups == ["Say it again.", "Say it louder."]


async def test_a_ready_request_with_options_beside_it_is_refused_before_any_io(
    server: ServerHandle, requests: RequestLog
) -> None:
    request = build_request("echo", "hi")
    loose: Any = request  # the overloads refuse these to a type checker; at run time as well
    async with client_for(server, "openai", http_client=requests.client()) as client:
        with pytest.raises(ConfigurationError, match=r"RunRequest carries .* got temperature"):
            client.stream(loose, temperature=0.5)
        with pytest.raises(ConfigurationError, match=r"got message beside it"):
            await client.run(loose, "again")
        with pytest.raises(ConfigurationError, match="need the message to send to 'echo'"):
            await client.run(cast(Any, "echo"))
        with pytest.raises(ConfigurationError, match="or a RunRequest, not a dict"):
            client.stream(cast(Any, {"agent": "echo"}), "hi")
    assert requests.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_structured_answer_follows_the_schema(server: ServerHandle, provider: str) -> None:
    schema = {
        "title": "Quote",
        "type": "object",
        "properties": {
            "ticker": {"type": "string", "enum": ["NVDA", "AAPL"]},
            "price": {"type": "number", "minimum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        },
        "required": ["ticker", "price", "tags"],
    }
    async with client_for(server, provider) as client:
        run = await client.run("structured", "Quote NVDA", response_format=schema)
    jsonschema.validate(json.loads(run.text), schema)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_server_validation_error_is_typed_with_field_errors(
    server: ServerHandle, provider: str
) -> None:
    unusable = {"$ref": "#/$defs/Missing"}
    async with client_for(server, provider) as client:
        with pytest.raises(InvalidRequestError) as caught:
            await client.run("structured", "x", response_format=unusable)
    error = caught.value
    # OpenAI answers invalid parameters with 400 (the official SDK's BadRequestError)
    openai_shaped = provider in ("openai", "openai-responses")
    status, reason = (400, "Bad Request") if openai_shaped else (422, "Unprocessable Entity")
    assert error.status_code == status and error.errors
    where = json.dumps(error.errors)  # the Responses API's place is text.format.schema
    assert any(name in where for name in ("response_format", "responseFormat", '"format"'))
    assert f"{status} {reason}" in str(error) and error.url in str(error)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_agent_is_not_found(server: ServerHandle, provider: str) -> None:
    async with client_for(server, provider) as client:
        stream = client.stream("nope", "hi")
        with pytest.raises(NotFoundError, match="404 Not Found") as caught:
            async for _ in stream:
                pass
    assert stream.run.status == "failed"
    assert stream.run.error is not None and stream.run.error.code == "NotFoundError"
    assert server.api_key not in str(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_wrong_key_is_an_authentication_error(server: ServerHandle, provider: str) -> None:
    secret = "sk-wrong-" + uuid.uuid4().hex
    client = AsyncAgentClient(provider, **server.client_settings(provider), api_key=secret)
    async with client:
        with pytest.raises(AuthenticationError, match="401 Unauthorized") as caught:
            await client.run("echo", "hi")
    assert secret not in str(caught.value) and secret not in repr(client)


async def test_run_options_are_checked_before_any_io(
    server: ServerHandle, requests: RequestLog
) -> None:
    async with client_for(server, "openai", http_client=requests.client()) as client:
        with pytest.raises(ConfigurationError, match="temperature"):
            client.stream("echo", "hi", temperature=3)
        with pytest.raises(ConfigurationError, match="top_p"):
            client.stream("echo", "hi", top_p=-0.1)
        with pytest.raises(ConfigurationError, match="does not support team_id"):
            client.stream("echo", "hi", team_id="t")
    async with client_for(server, "operativus") as client:
        with pytest.raises(ConfigurationError, match="presence_penalty"):
            client.stream("echo", "hi", presence_penalty=1)
    assert requests.requests == []


async def test_seekrflow_list_runs_pages_with_offset(
    server: ServerHandle, requests: RequestLog
) -> None:
    async with client_for(server, "seekrflow", http_client=requests.client()) as client:
        first = await client.run("echo", "one")
        thread = first.thread_id
        assert thread is not None
        runs = [first, *[await client.run("echo", m, thread_id=thread) for m in ("two", "3")]]
        before = requests.count("GET", "/runs")
        listed = await client.list_runs(thread, page_size=2)
        assert requests.count("GET", "/runs") - before == 2  # a full page, then a short one
        assert [r.run_id for r in listed] == [r.run_id for r in reversed(runs)]
        assert [r.total_tokens for r in listed] == [
            r.usage.total_tokens if r.usage else None for r in reversed(runs)
        ]
        oldest = await client.list_runs(thread, order="asc", limit=2, page_size=1)
        assert [r.run_id for r in oldest] == [runs[0].run_id, runs[1].run_id]
        assert listed[0].status == "completed" and listed[0].agent == "echo"
        with pytest.raises(NotFoundError):
            await client.list_runs("thread_missing")
        with pytest.raises(ConfigurationError, match="order"):
            await client.list_runs(thread, order="sideways")


@pytest.mark.parametrize("provider", ["runagent", "operativus", "runtools", "vercel", "openai"])
async def test_dialects_without_run_lists_say_so(server: ServerHandle, provider: str) -> None:
    async with client_for(server, provider) as client:
        with pytest.raises(ConfigurationError, match="does not list runs"):
            await client.list_runs("t")


async def test_operativus_run_status_in_batches_of_100(
    server: ServerHandle, requests: RequestLog
) -> None:
    async with client_for(server, "operativus", http_client=requests.client()) as client:
        runs = [await client.run("echo", f"m{i}") for i in range(2)]
        ids = [r.run_id for r in runs if r.run_id]
        unknown = [f"run_unknown_{i}" for i in range(205)]
        before = requests.count("GET", "/status")
        found = await client.run_status("echo", [unknown[0], ids[0], *unknown[1:], ids[1]])
        assert requests.count("GET", "/status") - before == math.ceil(207 / 100)
        assert sorted(r.run_id for r in found) == sorted(ids)
        assert all(r.status == "COMPLETED" and r.total_tokens for r in found)
        (single,) = await client.run_status("echo", ids[0])
        assert single.run_id == ids[0] and single.thread_id == runs[0].thread_id
        assert await client.run_status("echo", "run_missing") == []
        assert await client.run_status("echo", []) == []
    async with client_for(server, "openai") as client:
        with pytest.raises(ConfigurationError, match="does not report run status"):
            await client.run_status("echo", ["x"])


async def test_openai_threads_are_kept_client_side(server: ServerHandle) -> None:
    async with client_for(
        server, "openai", provider_options={"system": "You are terse."}
    ) as client:
        first = await client.run("echo", "first")
        second = await client.run("echo", "second", thread_id=first.thread_id)
        other = await client.run("echo", "elsewhere")
    assert first.thread_id and first.thread_id.startswith("thread_")
    assert other.thread_id != first.thread_id
    history = server_run(server, second.run_id).request.history
    assert [(m.role, m.content) for m in history] == [
        ("system", "You are terse."),
        ("user", "first"),
        ("assistant", "first"),
    ]


async def test_base_url_with_a_path_prefix_and_extra_headers(server: ServerHandle) -> None:
    # the OpenAI dialect's base URL carries /v1; the delay header shows extra headers are sent
    client = AsyncAgentClient(
        "openai",
        base_url=server.base_url + "/v1/",
        api_key=server.api_key,
        headers={"X-AgentNB-Delay-Ms": "0"},
    )
    async with client:
        run = await client.run("echo", "prefix")
    assert run.text == "prefix"
    assert client.base_url == server.base_url + "/v1/"  # kept as given: see join_url


def test_client_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="no public URL"):
        AsyncAgentClient("operativus")
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        AsyncAgentClient("openai", base_url="ftp://example.com")
    with pytest.raises(ConfigurationError, match="timeout"):
        AsyncAgentClient("openai", timeout=-1)
    with pytest.raises(ConfigurationError, match="max_retries"):
        AsyncAgentClient("openai", max_retries=-1)
    client = AsyncAgentClient("openai", api_key="sk-abcdefghijklmnop1234")
    assert "abcdefghijklmnop" not in repr(client) and "'***1234'" in repr(client)
    assert client.base_url == "https://api.openai.com/v1"


async def test_run_started_carries_the_thread(server: ServerHandle) -> None:
    async with client_for(server, "seekrflow") as client, client.stream("echo", "x") as stream:
        first = await stream.__anext__()
        assert isinstance(first, RunStarted) and first.thread_id
        assert stream.run.status == "running"
        rest = [event async for event in stream]
    assert "".join(e.delta for e in rest if isinstance(e, TextDelta)) == "x"
    assert stream.run.status == "completed"
