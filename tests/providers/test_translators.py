"""Each dialect's translator on recorded frames (the seeds' own examples first), and each
provider's request mapping. Pure: no I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentnb import ConfigurationError, Media
from agentnb._core.run import Run
from agentnb.events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    UnknownEvent,
    Usage,
)
from agentnb.providers import HttpRequest, RunsPage, Translator, get_provider
from agentnb.providers.openai import OpenAI, OpenAITranslator
from agentnb.providers.operativus import Operativus, OperativusTranslator
from agentnb.providers.runagent import RunAgent, RunAgentTranslator
from agentnb.providers.runtools import RunTools, RunToolsTranslator
from agentnb.providers.seekrflow import SeekrFlow, SeekrFlowTranslator, SeekrFlowVercel
from agentnb.providers.vercel import UIMessageTranslator, Vercel
from agentnb.sse import ServerSentEvent, SSEDecoder
from agentnb.types import ModelSettings, RunRequest


def frame(data: Any, event: str = "message", id: str = "") -> ServerSentEvent:
    text = data if isinstance(data, str) else json.dumps(data)
    return ServerSentEvent(event=event, data=text, id=id)


def translate_all(translator: Translator, frames: list[ServerSentEvent]) -> list[Event]:
    events: list[Event] = []
    for sse in frames:
        events.extend(translator.translate(sse))
    return events


def fold(events: list[Event]) -> Run:
    run = Run(agent="a", message="m")
    for event in events:
        run.apply(event)
    return run


def decode(raw: str) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [*decoder.feed(raw.encode()), *decoder.end()]


def request(**fields: Any) -> RunRequest:
    return RunRequest(agent=fields.pop("agent", "finance_agent"), message="hi", **fields)


# ---- Operativus ---------------------------------------------------------------------------
OPERATIVUS_SEED = r"""data: {"event":"START","data":"{\"runId\":\"run_abc123\",\"sessionId\":\"sess_xyz\"}","timestamp":1746518400000}

data: {"event":"REASONING_DELTA","data":"The user wants the NVDA stock price. I should call get_stock_price.","timestamp":1746518400120}

data: {"event":"TOOL_START","data":"{\"name\":\"get_stock_price\",\"arguments\":{\"ticker\":\"NVDA\"}}","timestamp":1746518400250}

data: {"event":"TOOL_END","data":"{\"name\":\"get_stock_price\",\"result\":\"875.40\"}","timestamp":1746518401100}

data: {"event":"CONTENT_DELTA","data":"The current stock price of NVIDIA (NVDA) is ","timestamp":1746518401200}

data: {"event":"CONTENT_DELTA","data":"**$875.40**","timestamp":1746518401280}

data: {"event":"CONTENT_DELTA","data":", up 2.3% today.","timestamp":1746518401350}

data: {"event":"STOP","data":"","timestamp":1746518401400}

"""


def test_operativus_seed_example_reads_as_documented() -> None:
    translator = OperativusTranslator(session_id=None)
    events = translate_all(translator, decode(OPERATIVUS_SEED))
    assert [type(e) for e in events] == [
        RunStarted,
        ReasoningDelta,
        ToolCallStarted,
        ToolCallFinished,
        TextDelta,
        TextDelta,
        TextDelta,
        RunCompleted,
    ]
    run = fold(events)
    assert (run.run_id, run.thread_id) == ("run_abc123", "sess_xyz")
    assert run.text == "The current stock price of NVIDIA (NVDA) is **$875.40**, up 2.3% today."
    assert run.reasoning.startswith("The user wants the NVDA stock price.")
    (call,) = run.tool_calls
    assert (call.name, call.arguments, call.output, call.status) == (
        "get_stock_price",
        {"ticker": "NVDA"},
        "875.40",
        "succeeded",
    )
    assert run.status == "completed"
    assert translator.done


def test_operativus_stop_followups_error_and_tool_error() -> None:
    translator = OperativusTranslator(session_id="s")
    start = {
        "event": "TOOL_START",
        "data": json.dumps({"name": "calc", "arguments": {}, "id": "c1"}),
    }
    end = {"event": "TOOL_END", "data": json.dumps({"name": "calc", "error": "bad", "id": "c1"})}
    stop = {"event": "STOP", "data": json.dumps({"followups": ["Why?", 3, "How?"]})}
    events = translate_all(translator, [frame(start), frame(end), frame(stop)])
    assert events[1] == ToolCallFinished(call_id="c1", error="bad")
    assert isinstance(events[2], RunCompleted)
    assert events[2].followups == ["Why?", "How?"]

    failed = OperativusTranslator(None).translate(frame({"event": "ERROR", "data": "boom"}))
    assert failed == [RunFailed(message="boom")]


def test_operativus_unknown_and_wrong_shapes_are_kept() -> None:
    translator = OperativusTranslator(None)
    for data in [
        "not json",
        "[1,2]",
        '{"event": 5}',
        '{"event": "CONTENT_DELTA", "data": 7}',
        '{"event": "NEW_KIND", "data": "x"}',
        '{"event": "TOOL_START", "data": "[]"}',
    ]:
        (event,) = translator.translate(frame(data))
        assert isinstance(event, UnknownEvent)
        assert event.data == data


def test_operativus_request_mapping() -> None:
    provider = Operativus(model="gpt-x")
    http = provider.stream_http_request(
        request(
            thread_id="sess_1",
            user_id="u",
            org_id="o",
            followups=True,
            media=(Media(type="image/png", data="QUJD"),),
            model_settings=ModelSettings(temperature=0.2, max_tokens=50),
            response_format={"type": "object"},
            metadata={"paragraphs": "2"},
        )
    )
    assert (http.method, http.path) == ("POST", "/api/agents/finance_agent/runs/stream")
    assert http.json == {
        "message": "hi",
        "sessionId": "sess_1",
        "userId": "u",
        "orgId": "o",
        "generateFollowups": True,
        "media": [{"type": "image/png", "data": "QUJD"}],
        "options": {"model": "gpt-x", "temperature": 0.2, "maxTokens": 50},
        "responseFormat": {"type": "object"},
        "metadata": {"paragraphs": "2"},
    }
    with pytest.raises(ConfigurationError, match="top_p"):
        provider.check_request(request(model_settings=ModelSettings(top_p=0.5)))
    with pytest.raises(ConfigurationError, match="team_id"):
        provider.check_request(request(team_id="t"))


def test_operativus_status_requests_and_parsing() -> None:
    provider = Operativus()
    single = provider.run_status_request("finance agent", ["r/1"])
    assert single is not None and single.path == "/api/agents/finance%20agent/runs/r%2F1/status"
    batch = provider.run_status_request("a", ["x", "y"])
    assert batch is not None
    assert (batch.path, dict(batch.params)) == ("/api/agents/a/runs/status", {"runIds": "x,y"})
    runs = provider.parse_runs(
        [
            {
                "id": "x",
                "agentId": "a",
                "sessionId": "s",
                "status": "COMPLETED",
                "usage": {"promptTokens": 3, "completionTokens": 4, "totalTokens": 7},
            },
            {"no": "id"},
            "junk",
        ]
    )
    assert [(r.run_id, r.status, r.total_tokens, r.prompt_tokens) for r in runs] == [
        ("x", "COMPLETED", 7, 3)
    ]
    assert provider.parse_runs({"id": "y", "status": "RUNNING"})[0].run_id == "y"


# ---- run-agent ----------------------------------------------------------------------------
def test_runagent_seed_examples() -> None:
    translator = RunAgentTranslator(session_id=None)
    events = translate_all(
        translator,
        [
            frame({"message": "Stream started", "session_id": "abc123"}, "start"),
            frame({"content": "Hello, ", "index": 0}, "chunk"),
            frame({"content": "world"}, "chunk"),
            frame(
                {
                    "message": "Stream complete",
                    "usage": {"total_tokens": 150},
                    "execution_time": 2.5,
                },
                "done",
            ),
        ],
    )
    assert events == [
        RunStarted(thread_id="abc123"),
        TextDelta(delta="Hello, "),
        TextDelta(delta="world"),
        RunCompleted(usage=Usage(total_tokens=150), execution_time=2.5),
    ]
    assert translator.cursor == 2
    assert translator.session_id == "abc123"


def test_runagent_errors_capacity_is_retryable() -> None:
    stream_error = RunAgentTranslator(None).translate(
        frame({"error": "Processing failed", "code": "STREAM_ERROR"}, "error")
    )
    assert stream_error == [RunFailed(message="Processing failed", code="STREAM_ERROR")]
    capacity = RunAgentTranslator(None).translate(
        frame({"error": "Model overloaded", "code": "CAPACITY_ERROR", "retry_after": 30}, "error")
    )
    assert capacity == [
        RunFailed(
            message="Model overloaded", code="CAPACITY_ERROR", retry_after=30.0, retryable=True
        )
    ]


def test_runagent_skips_chunks_replayed_after_a_resume() -> None:
    translator = RunAgentTranslator(None)
    first = [frame({"content": c, "index": i}, "chunk") for i, c in enumerate("abc")]
    translate_all(translator, first)
    replay = [
        frame({"session_id": "s"}, "start"),
        *[frame({"content": c, "index": i}, "chunk") for i, c in enumerate("abcde")],
    ]
    events = translate_all(translator, replay)
    assert [e.delta for e in events if isinstance(e, TextDelta)] == ["d", "e"]
    assert translator.cursor == 5


def test_runagent_request_and_resume_requests() -> None:
    provider = RunAgent()
    req = request(
        thread_id="s1",
        model_settings=ModelSettings(temperature=0.5),
        response_format={"type": "object"},
        metadata={"paragraphs": "2"},
        followups=True,
        extra={"parameters": {"chunk_size": 4}, "trace": True},
    )
    http = provider.stream_http_request(req)
    assert http.path == "/v1/agents/finance_agent/stream"
    assert http.json == {
        "query": "hi",
        "parameters": {
            "paragraphs": "2",
            "temperature": 0.5,
            "response_format": {"type": "object"},
            "followups": True,
            "chunk_size": 4,
        },
        "session_id": "s1",
        "trace": True,
    }
    translator = RunAgentTranslator("s1")
    # without the start frame the session's latest run may be another one: no cursor resume
    assert provider.resume_request(req, None, translator) is None
    translate_all(
        translator,
        [frame({"session_id": "s2"}, "start"), frame({"content": "x", "index": 0}, "chunk")],
    )
    cursor = provider.resume_request(req, None, translator)
    assert cursor is not None and cursor.json is not None
    assert cursor.json["parameters"]["resume_from_index"] == 1
    assert cursor.json["session_id"] == "s2"
    by_id = provider.resume_request(req, "run_1:4", translator)
    assert by_id is not None and by_id.headers["Last-Event-ID"] == "run_1:4"
    assert "resume_from_index" not in by_id.json["parameters"]


# ---- SeekrFlow legacy -----------------------------------------------------------------------
def chunk(inner: dict[str, Any], run_id: str = "run_9") -> dict[str, Any]:
    meta = {"run_id": run_id, "thread_id": "t1", "agent_id": "a"}
    return {"type": "streaming_chunk", "data": {"meta_data": {}, **inner}, "meta_data": meta}


def test_seekrflow_legacy_frames() -> None:
    translator = SeekrFlowTranslator("t1")
    assert translator.on_response({}) == [RunStarted(thread_id="t1")]
    assert translator.on_response({}) == []
    frames = [
        frame(chunk({"type": "user_prompt", "user_prompt": "hi"})),
        frame(chunk({"type": "node_header", "node_type": "ModelRequestNode", "description": ""})),
        frame(chunk({"type": "stream_reasoning", "reasoning": "think"})),
        frame(
            chunk(
                {
                    "type": "streaming_tool_request",
                    "tool_id": "c1",
                    "tool_name": "calc",
                    "tool_args": {"expression": "1+1"},
                }
            )
        ),
        frame(chunk({"type": "tool_call_part_delta", "part_index": 0, "args_delta": "{"})),
        frame(
            chunk({"type": "streaming_tool_response", "tool_id": "c1", "tool_output": {"value": 2}})
        ),
        frame(
            chunk(
                {
                    "type": "streaming_tool_request",
                    "tool_id": "c2",
                    "tool_name": "calc",
                    "tool_args": {},
                }
            )
        ),
        frame(
            chunk(
                {
                    "type": "streaming_tool_response",
                    "tool_id": "c2",
                    "tool_output": {"error": "nope"},
                    "meta_data": {"is_error": True},
                }
            )
        ),
        frame(chunk({"type": "text_delta", "text": "Two."})),
        frame(
            chunk(
                {"type": "end_node", "final_output": "Two.", "meta_data": {"followups": ["More?"]}}
            )
        ),
        frame("[DONE]"),
    ]
    events = translate_all(translator, frames)
    run = fold(events)
    assert run.run_id == "run_9"
    assert run.reasoning == "think" and run.text == "Two."
    assert [(c.call_id, c.output, c.error) for c in run.tool_calls] == [
        ("c1", {"value": 2}, None),
        ("c2", None, "nope"),
    ]
    assert run.status == "completed" and run.followups == ["More?"]
    assert run.final_output == "Two."
    assert not run.unknown_events
    assert translator.run_id == "run_9"


def test_seekrflow_error_and_bare_done() -> None:
    error = {
        "type": "error",
        "message": "Model overloaded",
        "code": "CAPACITY_ERROR",
        "retry_after": 2,
    }
    started, failed = SeekrFlowTranslator("t").translate(frame(chunk(error)))
    assert started == RunStarted(run_id="run_9", thread_id="t")
    assert isinstance(failed, RunFailed)
    assert (failed.code, failed.retry_after, failed.retryable) == ("CAPACITY_ERROR", 2.0, True)
    translator = SeekrFlowTranslator("t")
    assert translator.translate(frame("[DONE]")) == [RunCompleted()]
    assert translator.translate(frame("[DONE]")) == []


def test_seekrflow_request_mapping_and_runs() -> None:
    provider = SeekrFlow()
    http = provider.stream_http_request(
        request(
            thread_id="t 1",
            model_settings=ModelSettings(
                temperature=0, top_p=1, frequency_penalty=-2, presence_penalty=2, max_tokens=9
            ),
            response_format={"type": "object"},
            metadata={"k": "v"},
            team_id="team7",
            followups=True,
            extra={"group": "g"},
        )
    )
    assert http.path == "/v1/threads/t%201/runs/stream"
    assert http.headers["x-team-id"] == "team7"
    assert http.json == {
        "agent_id": "finance_agent",
        "model_settings": {
            "temperature": 0,
            "top_p": 1,
            "frequency_penalty": -2,
            "presence_penalty": 2,
            "max_tokens": 9,
        },
        "response_format": {"json_schema": {"type": "object"}},
        "metadata": {"k": "v", "followups": "true"},
        "group": "g",
    }
    assert SeekrFlowVercel().stream_http_request(request(thread_id="t")).path == (
        "/v1/threads/t/runs/stream/vercel"
    )
    with pytest.raises(ConfigurationError, match="media"):
        provider.check_request(request(media=(Media(type="image/png", data="x"),)))
    listing = provider.list_runs_request(RunsPage("t", 5, offset=10, order="asc"))
    assert listing is not None
    assert dict(listing.params) == {"limit": "5", "offset": "10", "order": "asc"}
    runs = provider.parse_runs(
        [
            {
                "id": "r1",
                "agent_id": "a",
                "thread_id": "t",
                "status": "completed",
                "completed_at": "2025-01-01T00:00:00Z",
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
            },
            5,
        ]
    )
    assert [(r.run_id, r.finished_at, r.total_tokens) for r in runs] == [
        ("r1", "2025-01-01T00:00:00Z", 3)
    ]


# ---- Vercel UI message stream ----------------------------------------------------------------
VERCEL_FRAMES = [
    {
        "type": "start",
        "messageId": "msg_1",
        "messageMetadata": {"runId": "run_1", "threadId": "chat_1"},
    },
    {"type": "start-step"},
    {"type": "reasoning-start", "id": "r1"},
    {"type": "reasoning-delta", "id": "r1", "delta": "Think."},
    {"type": "reasoning-end", "id": "r1"},
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "get_stock_price"},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"ticker":'},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": ' "NVDA"}'},
    {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "get_stock_price",
        "input": {"ticker": "NVDA"},
    },
    {"type": "tool-output-available", "toolCallId": "c1", "output": {"price": 875.4}},
    {"type": "tool-input-start", "toolCallId": "c2", "toolName": "calculator"},
    {"type": "tool-output-error", "toolCallId": "c2", "errorText": "division by zero"},
    {"type": "finish-step"},
    {"type": "start-step"},
    {"type": "text-start", "id": "t1"},
    {"type": "text-delta", "id": "t1", "delta": "NVDA is "},
    {"type": "text-delta", "id": "t1", "delta": "$875.40."},
    {"type": "text-end", "id": "t1"},
    {"type": "source-url", "sourceId": "s", "url": "https://example.com"},
    {"type": "data-weather", "data": {"temp": 20}},
    {"type": "data-followups", "data": {"followups": ["And AAPL?"]}},
    {"type": "finish-step"},
    {
        "type": "finish",
        "messageMetadata": {
            "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
            "executionTime": 1.5,
        },
    },
]


def test_vercel_every_part_type() -> None:
    translator = UIMessageTranslator(thread_id="chat_0")
    events = translate_all(translator, [*map(frame, VERCEL_FRAMES), frame("[DONE]")])
    run = fold(events)
    assert (run.run_id, run.thread_id) == ("run_1", "chat_1")
    assert run.reasoning == "Think." and run.text == "NVDA is $875.40."
    first, second = run.tool_calls
    assert (first.name, first.arguments, first.arguments_text, first.output) == (
        "get_stock_price",
        {"ticker": "NVDA"},
        '{"ticker": "NVDA"}',
        {"price": 875.4},
    )
    assert (second.status, second.error) == ("failed", "division by zero")
    assert run.usage == Usage(prompt_tokens=5, completion_tokens=7, total_tokens=12)
    assert run.execution_time == 1.5 and run.followups == ["And AAPL?"]
    assert [json.loads(u.data)["type"] for u in run.unknown_events] == [
        "source-url",
        "data-weather",
    ]
    assert translator.text == "NVDA is $875.40." and translator.done


def test_vercel_error_abort_and_bad_shapes() -> None:
    (error,) = UIMessageTranslator().translate(frame({"type": "error", "errorText": "boom"}))
    assert error == RunFailed(message="boom")
    (abort,) = UIMessageTranslator().translate(frame({"type": "abort"}))
    assert isinstance(abort, RunFailed) and abort.code == "aborted"
    for bad in [
        {"type": "text-delta"},
        {"type": "tool-input-delta", "toolCallId": 1},
        {"no": "type"},
        [1],
        "{",
    ]:
        (kept,) = UIMessageTranslator().translate(frame(bad))
        assert isinstance(kept, UnknownEvent)
    assert UIMessageTranslator().translate(frame("[DONE]")) == [RunCompleted()]


def test_vercel_request_and_client_side_history() -> None:
    provider = Vercel(path="/chat", agent_field="assistant")
    req = request(
        thread_id="chat_7",
        metadata={"k": "v"},
        followups=True,
        response_format={"type": "object"},
        extra={"x": 1},
    )
    http = provider.stream_http_request(req)
    assert http.path == "/chat"
    body = http.json
    assert body["id"] == "chat_7" and body["assistant"] == "finance_agent"
    assert body["messages"][0]["parts"] == [{"type": "text", "text": "hi"}]
    assert (body["metadata"], body["followups"], body["responseFormat"], body["x"]) == (
        {"k": "v"},
        True,
        {"type": "object"},
        1,
    )
    with pytest.raises(ConfigurationError, match="Vercel"):
        Vercel(nope=1)


# ---- OpenAI-compatible ------------------------------------------------------------------------
def completion_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def extension(**fields: Any) -> dict[str, Any]:
    """A delta carrying agentnb's extension fields, where the built-in server puts them."""
    return {"provider_specific_fields": fields}


def test_openai_stream_with_tool_calls_reasoning_and_usage() -> None:
    translator = OpenAITranslator(thread_id="thread_1")
    frames = [
        completion_chunk({"role": "assistant", "content": ""}),
        completion_chunk({"reasoning_content": "Let me "}),
        completion_chunk({"reasoning": "look."}),
        completion_chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_stock_price", "arguments": ""},
                    }
                ]
            }
        ),
        completion_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"tick'}}]}),
        completion_chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "function": {"name": "calculator", "arguments": '{"expression"'},
                    }
                ]
            }
        ),
        completion_chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'er": "X"}'}}]}),
        completion_chunk({"tool_calls": [{"index": 1, "function": {"arguments": ': "1+1"}'}}]}),
        completion_chunk(
            extension(
                agentnb_tool_result={"index": 0, "id": "call_a", "output": {"p": 1}, "error": None}
            )
        ),
        completion_chunk({"content": "Done"}),
        {"id": "chatcmpl-1", "choices": [{"index": 1, "delta": {"content": "other choice"}}]},
        completion_chunk(extension(agentnb_followups=["Next?"]), "stop"),
        {
            "id": "chatcmpl-1",
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        },
    ]
    events = translate_all(translator, [*map(frame, frames), frame("[DONE]")])
    assert events[0] == RunStarted(run_id="chatcmpl-1", thread_id="thread_1")
    assert ToolCallDelta(call_id="call_a", arguments_delta='{"tick') in events
    run = fold(events)
    assert run.reasoning == "Let me look." and run.text == "Done"
    a, b = run.tool_calls
    assert (a.name, a.arguments_text, a.output, a.status) == (
        "get_stock_price",
        '{"ticker": "X"}',
        {"p": 1},
        "succeeded",
    )
    assert (b.name, b.arguments, b.output) == ("calculator", {"expression": "1+1"}, None)
    assert run.usage == Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    assert run.followups == ["Next?"] and run.status == "completed"
    assert translator.text == "Done"


def test_openai_server_run_calls_in_the_extension_are_shown_and_kept() -> None:
    # A server that runs its own tools sends them outside the standard tool_calls (which are
    # the client's to execute), in one turn that ends "stop", as LiteLLM relays it: the
    # follow-ups in their own chunk just before the finishing one.
    translator = OpenAITranslator(thread_id="thread_1")
    head = {"index": 0, "id": "call_s", "type": "function", "function": {"name": "calc"}}
    frames = [
        completion_chunk(extension(agentnb_tool_calls=[head])),
        completion_chunk(
            extension(agentnb_tool_calls=[{"index": 0, "function": {"arguments": '{"x": 1}'}}])
        ),
        completion_chunk(extension(agentnb_tool_result={"id": "call_s", "output": 2})),
        completion_chunk({"content": "It is 2."}),
        completion_chunk(extension(agentnb_followups=["Why?"])),
        completion_chunk({}, "stop"),
    ]
    run = fold(translate_all(translator, [*map(frame, frames), frame("[DONE]")]))
    (call,) = run.tool_calls
    assert (call.name, call.arguments, call.output, call.status) == (
        "calc",
        {"x": 1},
        2,
        "succeeded",
    )
    assert (run.text, run.finish_reason, run.followups) == ("It is 2.", "stop", ["Why?"])
    assert [m["role"] for m in translator.history.messages()] == ["assistant", "tool", "assistant"]


def test_openai_error_chunk_and_junk() -> None:
    error = {
        "error": {
            "message": "Model overloaded",
            "type": "server_error",
            "code": "CAPACITY_ERROR",
            "retry_after": 1,
        }
    }
    (failed,) = OpenAITranslator(None).translate(frame(error))
    assert isinstance(failed, RunFailed) and failed.retryable and failed.retry_after == 1.0
    for junk in ["{", "[]", '{"object": "x"}', '"text"']:
        (kept,) = OpenAITranslator(None).translate(frame(junk))
        assert isinstance(kept, UnknownEvent)
    weird = completion_chunk({"tool_calls": [None, {"index": "x", "function": []}]})
    assert all(
        isinstance(e, Event.__args__)
        for e in OpenAITranslator(None).translate(frame(weird))  # type: ignore[attr-defined]
    )


def test_openai_request_mapping() -> None:
    provider = OpenAI(system="Be brief.")
    schema = {"title": "Stock quote!", "type": "object"}
    req = request(
        thread_id="thread_1",
        model_settings=ModelSettings(
            temperature=1, top_p=0.5, max_tokens=3, frequency_penalty=0.1, presence_penalty=0.2
        ),
        response_format=schema,
        media=(
            Media(type="image/png", data="QUJD"),
            Media(type="image/jpeg", data="https://x/y.jpg"),
        ),
    )
    body = provider.stream_http_request(req).json
    assert body["model"] == "finance_agent" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (1, 0.5, 3)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Stock_quote_", "schema": schema},
    }
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    parts = body["messages"][1]["content"]
    assert parts[1]["image_url"]["url"] == "data:image/png;base64,QUJD"
    assert parts[2]["image_url"]["url"] == "https://x/y.jpg"
    with pytest.raises(ConfigurationError, match="image media only"):
        provider.check_request(request(media=(Media(type="audio/wav", data="x"),)))
    with pytest.raises(ConfigurationError, match="team_id"):
        provider.check_request(request(team_id="t"))
    assert "stream_options" not in OpenAI(include_usage=False).stream_http_request(req).json


# ---- runtools (generic frames) -------------------------------------------------------------------
def test_runtools_reads_the_server_names_and_generic_spellings() -> None:
    translator = RunToolsTranslator(thread_id=None)
    started = translator.on_response({"x-run-id": "run_1", "X-Thread-ID": "thr_1"})
    assert started == [RunStarted(run_id="run_1", thread_id="thr_1")]
    frames = [
        frame({"runId": "run_1", "threadId": "thr_1"}, "start"),
        frame({"content": "hmm "}, "thinking"),
        frame("raw reasoning", "reasoning"),
        frame({"id": "c1", "name": "calc", "arguments": {"x": 1}}, "tool_call"),
        frame({"id": "c1", "name": "calc", "result": 2}, "tool_result"),
        frame({"name": "search", "args": '{"q": "a"}'}, "tool-call"),
        frame({"name": "search", "output": ["r"]}, "tool.result"),
        frame({"content": "A"}, "text"),
        frame({"delta": "B"}, "delta"),
        frame({"token": "C"}, "token"),
        frame({"type": "content", "data": {"text": "D"}}),
        frame({"text": "E"}),
        frame({"what": "ever"}, "progress"),
        frame(
            {
                "output": "ABCDE",
                "usage": {"promptTokens": 1, "completionTokens": 2},
                "executionTime": 0.5,
                "followups": ["F?"],
            },
            "complete",
        ),
    ]
    run = fold(started + translate_all(translator, frames))
    assert run.text == "ABCDE" and run.reasoning == "hmm raw reasoning"
    assert [(c.call_id, c.name, c.arguments, c.output) for c in run.tool_calls] == [
        ("c1", "calc", {"x": 1}, 2),
        ("call_1", "search", {"q": "a"}, ["r"]),
    ]
    assert run.usage == Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
    assert run.execution_time == 0.5 and run.followups == ["F?"]
    assert len(run.unknown_events) == 1 and run.unknown_events[0].event == "progress"


def test_runtools_errors_and_request() -> None:
    (failed,) = RunToolsTranslator(None).translate(
        frame({"message": "Model overloaded", "code": "CAPACITY_ERROR", "retryAfter": 3}, "error")
    )
    assert failed == RunFailed(
        message="Model overloaded", code="CAPACITY_ERROR", retry_after=3.0, retryable=True
    )
    assert RunToolsTranslator(None).translate(frame("oops", "error")) == [RunFailed(message="oops")]
    assert RunToolsTranslator(None).translate(frame("[DONE]"))[0] == RunCompleted()
    provider = RunTools()
    assert provider.auth_headers("k") == {"X-API-Key": "k"}
    body = provider.stream_http_request(
        request(
            thread_id="thr",
            model_settings=ModelSettings(top_p=0.3, max_tokens=5),
            response_format={"type": "object"},
            metadata={"a": "b"},
            followups=True,
        )
    ).json
    assert body == {
        "agent": "finance_agent",
        "prompt": "hi",
        "stream": True,
        "threadId": "thr",
        "config": {"topP": 0.3, "maxTokens": 5, "responseFormat": {"type": "object"}},
        "metadata": {"a": "b", "followups": "true"},
    }


# ---- the registry ----------------------------------------------------------------------------
def test_registry_builtins_entry_points_and_errors() -> None:
    from importlib.metadata import entry_points

    from agentnb.providers import ENTRY_POINT_GROUP, available_providers
    from agentnb.server import DIALECT_PROVIDERS

    names = set(DIALECT_PROVIDERS)  # every dialect the built-in server speaks has a client
    assert names <= set(available_providers())
    assert names <= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in names:
            assert ep.load().name == ep.name
    with pytest.raises(ConfigurationError, match=r"unknown provider 'nope'.*openai"):
        get_provider("nope")
    with pytest.raises(ConfigurationError, match=r"does not take option\(s\) \['colour'\]"):
        get_provider("openai", colour="red")
    assert isinstance(get_provider(" OpenAI "), OpenAI)


def test_default_resume_needs_an_event_id() -> None:
    provider = Operativus()
    req = request()
    assert provider.resume_request(req, None, provider.translator(req)) is None
    resumed = provider.resume_request(req, "run_1:3", provider.translator(req))
    assert resumed is not None and resumed.headers["Last-Event-ID"] == "run_1:3"
    assert resumed.json == provider.stream_http_request(req).json


def test_a_listing_in_the_old_spelling_still_lists_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"list_runs_request\(page\)"):

        class OldListing(SeekrFlow):
            def list_runs_request(  # type: ignore[override]
                self,
                thread_id: str,
                *,
                limit: int,
                offset: int,
                order: str,
                agent: str | None = None,
                page_token: str | None = None,
            ) -> HttpRequest:
                asked = f"{thread_id} {limit} {offset} {order} {agent} {page_token}"
                return HttpRequest("GET", "/runs", params={"asked": asked})

    listing = OldListing().list_runs_request(RunsPage("t", 5, offset=10, agent="a"))
    assert listing is not None
    assert dict(listing.params) == {"asked": "t 5 10 desc a None"}
