"""The OpenAI dialect as the official ``openai`` SDK sees it: errors answer as OpenAI's do, and
a run whose tools the server ran reads as one model turn (one finish reason, the whole answer
and usage, the server's calls in extension fields the SDK keeps in ``model_extra``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from agentnb_testing import PATIENCE_S
from openai.types.chat import ChatCompletionChunk

from agentnb.server import ServerHandle

NVDA = [{"role": "user", "content": "What is NVDA trading at?"}]


@pytest.fixture
def sdk(server: ServerHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=server.url_for("openai"), api_key=server.api_key, max_retries=0, timeout=PATIENCE_S
    ) as client:
        yield client


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "param", "code"),
    [
        ({"temperature": 5}, "temperature", "decimal_above_max_value"),
        ({"temperature": -1}, "temperature", "decimal_below_min_value"),
        ({"top_p": 1.5}, "top_p", "decimal_above_max_value"),
        ({"max_tokens": 0}, "max_tokens", "integer_below_min_value"),
        ({"n": 2}, "n", "integer_above_max_value"),
        (
            {"stream_options": {"include_usage": "maybe"}},
            "stream_options.include_usage",
            "invalid_type",
        ),
        ({"response_format": {"type": "xml"}}, "response_format.type", "invalid_value"),
    ],
)
def test_invalid_parameters_raise_bad_request_naming_the_param(
    sdk: openai.OpenAI, setting: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="echo", messages=NVDA, **setting)  # type: ignore[call-overload]
    error = caught.value
    assert error.status_code == 400
    assert error.param == param
    assert error.type == "invalid_request_error"
    assert error.code == code
    assert isinstance(error.body, dict)
    assert f"'{param}'" in error.body["message"]


def test_the_temperature_error_reads_like_openais(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="echo", messages=NVDA, temperature=5)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == (
        "Invalid 'temperature': decimal above maximum value. "
        "Expected a value <= 2, but got 5 instead."
    )


@pytest.mark.parametrize(
    ("messages", "param", "code"),
    [
        ([], "messages", "empty_array"),
        ([{"role": "robot", "content": "x"}], "messages[0].role", "invalid_value"),
        (
            [{"role": "user", "content": "a"}, {"content": "b"}],
            "messages[1].role",
            "missing_required_parameter",
        ),
        ([{"role": "user", "content": 5}], "messages[0].content", "invalid_type"),
        ([{"role": "assistant", "content": "hi"}], "messages", "invalid_value"),
    ],
)
def test_bad_messages_name_the_message(
    sdk: openai.OpenAI, messages: list[Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="echo", messages=messages)
    assert caught.value.param == param
    assert caught.value.code == code


def test_a_missing_parameter_and_broken_json_are_bad_requests(
    server: ServerHandle, client: httpx.Client
) -> None:
    missing = client.post("/v1/chat/completions", json={"messages": NVDA})
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "message": "Missing required parameter: 'model'.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "missing_required_parameter",
    }
    broken = client.post("/v1/chat/completions", content=b'{"model": ')
    assert broken.status_code == 400
    error = broken.json()["error"]
    assert error["param"] is None
    assert "could not parse the JSON body" in error["message"]


def test_an_unusable_response_format_is_a_bad_request(sdk: openai.OpenAI) -> None:
    unusable = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "#/x"}}}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model="structured",
            messages=NVDA,
            response_format=unusable,  # type: ignore[arg-type]
        )
    assert caught.value.param == "response_format.json_schema.schema"


def test_an_unknown_model_is_not_found(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model="gpt-nope", messages=NVDA)
    assert caught.value.code == "model_not_found"
    assert caught.value.param is None


# --- tool calls and finish reasons ----------------------------------------------------------


def stream_chunks(sdk: openai.OpenAI, model: str, question: str) -> list[ChatCompletionChunk]:
    messages = [{"role": "user", "content": question}]
    with sdk.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        return list(stream)


def finish_reasons(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]


def extension(chunk: ChatCompletionChunk, key: str) -> Any:
    """An agentnb extension field of the chunk's delta (under ``provider_specific_fields``)."""
    if not chunk.choices:
        return None
    return (chunk.choices[0].delta.model_extra or {}).get("provider_specific_fields", {}).get(key)


def test_a_run_whose_tools_the_server_ran_is_one_turn(sdk: openai.OpenAI) -> None:
    chunks = stream_chunks(sdk, "finance_agent", "How did NVDA and AMD move this week?")
    assert finish_reasons(chunks) == ["stop"]
    kinds = []
    for chunk in chunks:
        if not chunk.choices:
            kinds.append("usage")
        elif chunk.choices[0].finish_reason:
            kinds.append(chunk.choices[0].finish_reason)
        elif chunk.choices[0].delta.tool_calls:
            kinds.append("standard tool_calls")
        elif (calls := extension(chunk, "agentnb_tool_calls")) and calls[0].get("id"):
            kinds.append("call")
        elif extension(chunk, "agentnb_tool_result") is not None:
            kinds.append("result")
    # two lookups and two calculations, each run by the server, then the answer
    assert kinds == ["call", "result"] * 4 + ["stop", "usage"]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_tool_call_indexes_stay_unique_across_turns(sdk: openai.OpenAI) -> None:
    chunks = stream_chunks(sdk, "finance_agent", "NVDA and AMD?")
    heads = [
        call
        for chunk in chunks
        for call in extension(chunk, "agentnb_tool_calls") or []
        if call.get("id")
    ]
    assert [call["index"] for call in heads] == [0, 1, 2, 3]
    results = [r for chunk in chunks if (r := extension(chunk, "agentnb_tool_result"))]
    assert [(r["index"], r["id"]) for r in results] == [(c["index"], c["id"]) for c in heads]


def test_a_run_without_tools_ends_with_stop_only(sdk: openai.OpenAI) -> None:
    assert finish_reasons(stream_chunks(sdk, "echo", "hello")) == ["stop"]


def test_the_sdk_stream_helper_leaves_the_client_nothing_to_execute(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(model="finance_agent", messages=NVDA) as stream:
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert "| NVDA |" in (choice.message.content or "")
    assert not choice.message.tool_calls


def test_non_streamed_server_run_calls_are_in_the_extension(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="finance_agent", messages=NVDA)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    message = choice.message
    assert message.tool_calls is None  # nothing for the client to execute
    assert "| NVDA |" in (message.content or "")
    assert message.model_extra is not None
    calls = message.model_extra["provider_specific_fields"]["agentnb_tool_calls"]
    assert [call["name"] for call in calls] == ["get_stock_price", "calculator"]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["arguments"] == {"ticker": "NVDA"}
    assert calls[0]["output"]["price"] == 875.4
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_non_streamed_answers_without_tools_have_no_tool_calls(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="echo", messages=NVDA)
    message = completion.choices[0].message
    assert message.tool_calls is None
    assert message.content == NVDA[0]["content"]
    assert completion.choices[0].finish_reason == "stop"
