"""Every dialect's translator on random and malformed frames: only events come out (unknown
ones kept), never a KeyError/TypeError/AttributeError; the Run folds whatever comes out."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._core.request import build_request
from agentnb._core.run import Run
from agentnb.events import Event, UnknownEvent
from agentnb.providers import Translator, available_providers, get_provider
from agentnb.providers.openai import OpenAITranslator
from agentnb.sse import ServerSentEvent

EVENT_TYPES = get_args(get_args(Event)[0])

DIALECTS = sorted(available_providers())
"""Every dialect in the registry (built-ins and plugins alike)."""


def translator_for(dialect: str) -> Translator:
    """A fresh translator of ``dialect`` for one run on thread ``t``."""
    return get_provider(dialect).translator(build_request("a", "b", thread_id="t"))


# Keys and names the dialects use, so random objects often look almost right.
KEYS = [
    "type",
    "event",
    "data",
    "delta",
    "content",
    "text",
    "reasoning",
    "reasoning_content",
    "choices",
    "index",
    "id",
    "function",
    "name",
    "arguments",
    "tool_calls",
    "usage",
    "prompt_tokens",
    "total_tokens",
    "inputTokens",
    "error",
    "message",
    "code",
    "retry_after",
    "retryAfter",
    "toolCallId",
    "toolName",
    "input",
    "output",
    "inputTextDelta",
    "errorText",
    "messageMetadata",
    "tool_id",
    "tool_name",
    "tool_args",
    "tool_output",
    "meta_data",
    "final_output",
    "followups",
    "session_id",
    "runId",
    "sessionId",
    "result",
    "finish_reason",
    "sequence_number",
    "item",
    "item_id",
    "call_id",
    "output_index",
    "content_index",
    "summary_index",
    "response",
    "approval_request_id",
    "summary",
    "provider_specific_fields",
    "agentnb_tool_calls",
    "agentnb_tool_result",
    "agentnb_followups",
    "role",
    "tool_call_id",
    "is_error",
    "run_id",
]
NAMES = [
    "start",
    "chunk",
    "done",
    "error",
    "text-delta",
    "reasoning-delta",
    "tool-input-start",
    "tool-input-delta",
    "tool-input-available",
    "tool-output-available",
    "tool-output-error",
    "finish",
    "data-x",
    "data-followups",
    "message-metadata",
    "streaming_chunk",
    "text_delta",
    "stream_reasoning",
    "streaming_tool_request",
    "streaming_tool_response",
    "end_node",
    "START",
    "REASONING_DELTA",
    "CONTENT_DELTA",
    "TOOL_START",
    "TOOL_END",
    "STOP",
    "ERROR",
    "thinking",
    "tool_call",
    "tool_result",
    "complete",
    "text",
    "tool",
    "assistant",
    # the Responses API's
    "response.created",
    "response.output_item.added",
    "response.output_item.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_part.added",
    "response.function_call_arguments.delta",
    "response.mcp_call_arguments.delta",
    "response.refusal.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "message",
    "function_call",
    "function_call_output",
    "mcp_call",
    "mcp_approval_request",
    "web_search_call",
    "reasoning",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NAMES),
    st.text(max_size=12),
)


def nested(list_size: int, object_size: int, max_leaves: int) -> st.SearchStrategy[Any]:
    """JSON values: scalars, and lists (up to ``list_size`` items) and objects (up to
    ``object_size`` keys) of them, ``max_leaves`` scalars in all."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=list_size),
            st.dictionaries(
                st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=object_size
            ),
        ),
        max_leaves=max_leaves,
    )


json_values = nested(list_size=4, object_size=6, max_leaves=25)
field_values = nested(list_size=3, object_size=3, max_leaves=4)
"""A field's value in a near-miss object: a wrong type, at the top or a level or two down.
(With ``json_values`` in each of ~40 fields, drawing an object took nearly all the test's CPU.)"""


def as_data(value: Any) -> str:
    return json.dumps(value)


def json_in_string(value: Any) -> str:
    """Operativus-style: JSON whose ``data`` is itself JSON in a string."""
    inner = value.get("data") if isinstance(value, dict) else None
    if isinstance(value, dict) and inner is not None:
        return json.dumps({**value, "data": json.dumps(inner)})
    return json.dumps(value)


frame_data = st.one_of(
    json_values.map(as_data),
    json_values.map(json_in_string),
    st.text(max_size=40),
    st.sampled_from(["[DONE]", "", "{", "null", "[]", '{"type": null}', "\x00", "NaN"]),
)
frames = st.builds(
    ServerSentEvent,
    event=st.sampled_from(["message", *NAMES]) | st.text(max_size=8),
    data=frame_data,
    id=st.sampled_from(["", "run_1:1"]),
)


def check(translator: Translator, batch: list[ServerSentEvent]) -> None:
    run = Run(agent="a", message="m")
    translator.on_response({"X-Run-ID": "r", "X-Thread-ID": "t"})
    for sse in batch:
        events = translator.translate(sse)
        assert isinstance(events, list)
        for event in events:
            assert isinstance(event, EVENT_TYPES)
            if isinstance(event, UnknownEvent):
                assert event.data == sse.data  # kept verbatim, never lost
            run.apply(event)
    _ = translator.cursor
    assert isinstance(run.text, str)


FUZZ = settings(max_examples=80)


@pytest.mark.parametrize("dialect", DIALECTS)
@FUZZ
@given(batch=st.lists(frames, max_size=12))
def test_random_frames_every_dialect(dialect: str, batch: list[ServerSentEvent]) -> None:
    check(translator_for(dialect), batch)


# Structured near-misses: right type names with wrong field types.
def near_miss(kinds: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(kinds)},
        optional={key: field_values for key in KEYS if key != "type"},
    )


@pytest.mark.slow
@FUZZ
@given(objs=st.lists(near_miss(NAMES), max_size=10), name=st.sampled_from(DIALECTS))
def test_near_miss_objects_every_dialect(objs: list[dict[str, Any]], name: str) -> None:
    batch = [ServerSentEvent(event="message", data=json.dumps(o)) for o in objs]
    named = [ServerSentEvent(event=str(o["type"]), data=json.dumps(o)) for o in objs]
    check(translator_for(name), batch + named)


@FUZZ
@given(
    deltas=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "index": json_values,
                "id": json_values,
                "function": st.fixed_dictionaries(
                    {}, optional={"name": json_values, "arguments": json_values}
                ),
            },
        ),
        max_size=6,
    )
)
def test_openai_tool_call_deltas_of_any_shape(deltas: list[dict[str, Any]]) -> None:
    chunks = [{"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [d]}}]} for d in deltas]
    batch = [ServerSentEvent(data=json.dumps(c)) for c in chunks]
    check(OpenAITranslator(None), [*batch, ServerSentEvent(data="[DONE]")])
