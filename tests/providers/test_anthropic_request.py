"""What the ``anthropic`` dialect sends (headers, body, the thread sent back) and what it
keeps of frames it cannot read. The wire against real servers: tests/interop/
test_anthropic_messages.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentnb import ConfigurationError, UnsupportedOptionError
from agentnb._core.client_tools import ToolResult, client_tools
from agentnb._core.request import build_request
from agentnb.events import Event, RunCompleted, UnknownEvent
from agentnb.providers.anthropic import Anthropic, AnthropicTranslator
from agentnb.sse import ServerSentEvent


def frames(translator: AnthropicTranslator, *events: dict[str, Any]) -> list[Event]:
    read: list[Event] = []
    for event in events:
        read += translator.translate(ServerSentEvent(event=event["type"], data=json.dumps(event)))
    return read


def start(message_id: str = "msg_1") -> dict[str, Any]:
    usage = {"input_tokens": 3, "output_tokens": 1}
    message = {"id": message_id, "model": "claude-x", "content": [], "usage": usage}
    return {"type": "message_start", "message": message}


def block(index: int, content: dict[str, Any], *deltas: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": content},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def end(reason: str) -> list[dict[str, Any]]:
    usage = {"output_tokens": 7, "input_tokens": None}
    delta = {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": usage}
    return [delta, {"type": "message_stop"}]


def position_value(ticker: str) -> float:
    """A position's value."""
    return 1.0


def test_the_request_carries_anthropics_headers_and_fields() -> None:
    provider = Anthropic(system="Be brief.")
    request = build_request(
        "claude-x", "hi", thread_id="t1", temperature=0.5, user_id="u1",
        tools=client_tools([position_value]),
    )  # fmt: skip
    http = provider.stream_http_request(request)
    assert (http.method, http.path) == ("POST", "/v1/messages")
    assert http.headers["anthropic-version"] == "2023-06-01"
    assert provider.auth_headers("sk-ant") == {"X-API-Key": "sk-ant"}
    body = http.json
    assert (body["model"], body["max_tokens"], body["stream"]) == ("claude-x", 4096, True)
    assert (body["system"], body["temperature"], body["metadata"]) == (
        "Be brief.",
        0.5,
        {"user_id": "u1"},
    )
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    [tool] = body["tools"]
    assert tool["name"] == "position_value" and tool["input_schema"]["required"] == ["ticker"]


def test_max_tokens_from_the_run_then_the_connection() -> None:
    request = build_request("m", "hi", thread_id="t", max_tokens=10)
    assert Anthropic().stream_http_request(request).json["max_tokens"] == 10
    plain = build_request("m", "hi", thread_id="t")
    assert Anthropic(max_tokens=99).stream_http_request(plain).json["max_tokens"] == 99
    with pytest.raises(ConfigurationError, match="max_tokens"):
        Anthropic(max_tokens="many")


def test_options_it_has_no_field_for_are_refused() -> None:
    with pytest.raises(UnsupportedOptionError, match="response_format"):
        Anthropic().check_request(build_request("m", "hi", response_format={"type": "object"}))


async def test_the_thread_keeps_signed_thinking_and_answered_calls_only() -> None:
    provider = Anthropic()
    request = build_request("m", "hi", thread_id="t1")
    translator = provider.translator(request)
    assert isinstance(translator, AnthropicTranslator)
    read = frames(
        translator,
        start(),
        *block(
            0, {"type": "thinking", "thinking": ""}, {"type": "thinking_delta", "thinking": "hm"}
        ),
        *block(1, {"type": "redacted_thinking", "data": "xyz"}),
        *block(2, {"type": "text", "text": ""}, {"type": "text_delta", "text": "Hi"}),
        *block(3, {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {}}),
        *end("tool_use"),
    )
    completed = read[-1]
    assert isinstance(completed, RunCompleted) and completed.finish_reason == "tool_use"
    assert completed.usage is not None and completed.usage.completion_tokens == 7
    # unsigned thinking cannot go back; nobody answered toolu_9: both are left out
    assert translator.answered() == [
        {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xyz"}, {"type": "text", "text": "Hi"}]}
    ]  # fmt: skip


def test_results_go_back_as_tool_result_blocks() -> None:
    provider = Anthropic()
    request = build_request("m", "hi", thread_id="t1")
    translator = provider.translator(request)
    assert isinstance(translator, AnthropicTranslator)
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}, "caller": None}
    pieces = [{"type": "input_json_delta", "partial_json": p} for p in ('{"a"', ": 1}")]
    frames(translator, start(), *block(0, tool_use, *pieces), *end("tool_use"))
    results = [ToolResult("toolu_1", "f", '{"a": 1}', "boom", failed=True)]
    sent = provider.tool_results_request(request, translator, results).json["messages"]
    assert sent[1:] == [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "boom", "is_error": True}]},
    ]  # fmt: skip


def test_frames_it_cannot_read_are_kept() -> None:
    translator = AnthropicTranslator("t")
    odd = [
        ServerSentEvent(event="message_start", data="not json"),
        ServerSentEvent(event="brand_new_event", data='{"type": "brand_new_event"}'),
        ServerSentEvent(
            event="content_block_delta", data='{"type": "content_block_delta", "index": 5}'
        ),
    ]
    for sse in odd:
        assert [type(e) for e in translator.translate(sse)] == [UnknownEvent]
    assert translator.translate(ServerSentEvent(event="ping", data='{"type": "ping"}')) == []


def test_a_delta_that_does_not_fit_its_block_is_kept_not_read() -> None:
    translator = AnthropicTranslator("t")
    frames(
        translator,
        start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "name": "f"}},
    )  # fmt: skip
    odd = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{"}},
        {"type": "content_block_delta", "index": [0], "delta": {"type": "text_delta", "text": "x"}},
        {"type": "content_block_stop", "index": {"a": 1}},
    ]  # fmt: skip
    for event in odd:
        assert [type(e) for e in frames(translator, event)] == [UnknownEvent], event
