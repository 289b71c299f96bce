"""The official ``openai`` Python SDK against the built-in server, beyond what
``tests/server/test_server_openai_sdk.py`` covers (errors in OpenAI's shape, tool-call turns,
the stream helper, non-streamed tool calls): the async client, ``.parse()`` and the parsing
stream helper with a pydantic model, usage, in-stream and status errors, the whole-turn
history agentnb now sends, and the same stream read by the SDK and by agentnb alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from agentnb_testing import PATIENCE_S
from pydantic import BaseModel

from agentnb import AsyncAgentClient
from agentnb.server import ServerHandle

NVDA: list[Any] = [{"role": "user", "content": "What is NVDA trading at?"}]


class Quote(BaseModel):
    ticker: str
    price: float
    reasons: list[str]


@pytest.fixture
def sdk(server: ServerHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=server.url_for("openai"), api_key=server.api_key, max_retries=0, timeout=PATIENCE_S
    ) as client:
        yield client


@pytest.fixture
async def async_sdk(server: ServerHandle) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=server.url_for("openai"), api_key=server.api_key, max_retries=0, timeout=PATIENCE_S
    ) as client:
        yield client


# ---- the async client ----------------------------------------------------------------------


async def test_the_async_client_streams_a_whole_run(async_sdk: openai.AsyncOpenAI) -> None:
    stream = await async_sdk.chat.completions.create(
        model="finance_agent",
        messages=NVDA,
        stream=True,
        stream_options={"include_usage": True},
    )
    content, reasons, usage = [], [], None
    async with stream:
        async for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices:
                content.append(choice.delta.content or "")
                reasons.append(choice.finish_reason)
    assert "| NVDA |" in "".join(content)
    assert [r for r in reasons if r] == ["stop"]
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_the_async_client_gets_a_non_streamed_answer(async_sdk: openai.AsyncOpenAI) -> None:
    completion = await async_sdk.chat.completions.create(model="echo", messages=NVDA)
    assert completion.choices[0].message.content == NVDA[0]["content"]
    assert completion.usage is not None and completion.usage.prompt_tokens > 0


async def test_the_async_stream_helper_accumulates(async_sdk: openai.AsyncOpenAI) -> None:
    async with async_sdk.chat.completions.stream(model="finance_agent", messages=NVDA) as stream:
        completion = await stream.get_final_completion()
    assert completion.choices[0].finish_reason == "stop"


# ---- structured output ---------------------------------------------------------------------


def test_parse_returns_the_pydantic_model(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.parse(
        model="structured", messages=NVDA, response_format=Quote
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Quote)
    assert completion.choices[0].message.refusal is None


def test_the_parsing_stream_helper_returns_the_model(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(
        model="structured", messages=NVDA, response_format=Quote
    ) as stream:
        completion = stream.get_final_completion()
    assert isinstance(completion.choices[0].message.parsed, Quote)


async def test_async_parse_returns_the_pydantic_model(async_sdk: openai.AsyncOpenAI) -> None:
    completion = await async_sdk.chat.completions.parse(
        model="structured", messages=NVDA, response_format=Quote
    )
    assert isinstance(completion.choices[0].message.parsed, Quote)


# ---- errors ----------------------------------------------------------------------------------


def test_a_wrong_key_is_an_authentication_error(server: ServerHandle) -> None:
    with (
        openai.OpenAI(
            base_url=server.url_for("openai"), api_key="wrong-key-1234", max_retries=0
        ) as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.chat.completions.create(model="echo", messages=NVDA)
    assert caught.value.status_code == 401
    assert "wrong-key-1234" not in str(caught.value)


def test_an_error_inside_the_stream_raises_api_error(sdk: openai.OpenAI) -> None:
    fault = {"X-AgentNB-Fault": "stream-error=CAPACITY_ERROR;retry-after=1"}
    stream = sdk.chat.completions.create(
        model="echo", messages=NVDA, stream=True, extra_headers=fault
    )
    with pytest.raises(openai.APIError, match="injected fault"), stream:
        list(stream)


def test_an_overloaded_server_is_a_status_error(sdk: openai.OpenAI) -> None:
    fault = {"X-AgentNB-Fault": "status=503;retry-after=1"}
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.chat.completions.create(model="echo", messages=NVDA, extra_headers=fault)
    assert caught.value.status_code == 503


def test_an_agent_that_needs_approval_is_a_bad_request(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="cannot express"):
        sdk.chat.completions.create(model="trader", messages=NVDA)


# ---- the history agentnb sends, and reading alike --------------------------------------------


async def test_the_sdk_accepts_the_history_agentnb_keeps(
    server: ServerHandle, sdk: openai.OpenAI
) -> None:
    """agentnb's thread history (assistant tool_calls + tool messages) is a valid
    conversation for the SDK's types and the server."""
    async with AsyncAgentClient(
        "openai", base_url=server.url_for("openai"), api_key=server.api_key, record=False
    ) as client:
        run = await client.run("finance_agent", NVDA[0]["content"])
        history = client.provider.history(run.thread_id or "")
    follow_up = [*history, {"role": "user", "content": "And in euros?"}]
    completion = sdk.chat.completions.create(model="echo", messages=follow_up)
    assert completion.choices[0].message.content == "And in euros?"
    assert history[1]["tool_calls"][0]["function"]["name"] == "get_stock_price"


async def test_the_sdk_and_agentnb_read_the_same_run(
    server: ServerHandle, sdk: openai.OpenAI
) -> None:
    server_calls: dict[int, dict[str, str]] = {}
    with sdk.chat.completions.stream(model="finance_agent", messages=NVDA) as stream:
        for event in stream:
            if event.type != "chunk" or not event.chunk.choices:
                continue
            extension = (event.chunk.choices[0].delta.model_extra or {}).get(
                "provider_specific_fields", {}
            )
            for piece in extension.get("agentnb_tool_calls", []):
                call = server_calls.setdefault(piece["index"], {"name": "", "arguments": ""})
                call["name"] += piece["function"].get("name") or ""
                call["arguments"] += piece["function"]["arguments"]
        completion = stream.get_final_completion()
    async with AsyncAgentClient(
        "openai", base_url=server.url_for("openai"), api_key=server.api_key, record=False
    ) as client:
        run = await client.run("finance_agent", NVDA[0]["content"])
    message = completion.choices[0].message
    assert run.text == message.content
    assert run.reasoning  # the reasoning_content deltas agentnb shows
    assert not message.tool_calls  # the server ran them: nothing for the SDK's user to run
    sdk_calls = [(c["name"], json.loads(c["arguments"])) for c in server_calls.values()]
    assert [(c.name, c.arguments) for c in run.tool_calls] == sdk_calls
    assert len(sdk_calls) == 2
    assert all(c.status == "succeeded" for c in run.tool_calls)
