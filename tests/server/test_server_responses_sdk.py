"""The built-in server's Responses API as the official ``openai`` SDK reads it: the typed
stream (``responses.create(stream=True)``), the SDK's own accumulator
(``responses.stream(...)``), retrieve, background runs streamed again after a sequence
number, cancel, conversations and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from agentnb_testing import PATIENCE_S

from agentnb.server import ServerHandle

QUESTION = "What is NVDA trading at?"
SLOW = {"X-AgentNB-Delay-Ms": "40"}


@pytest.fixture
def sdk(server: ServerHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=server.url_for("openai-responses"),
        api_key=server.api_key,
        max_retries=0,
        timeout=PATIENCE_S,
    ) as client:
        yield client


def events_of(sdk: openai.OpenAI, **request: Any) -> list[Any]:
    return list(sdk.responses.create(stream=True, **request))


def test_the_stream_is_typed_numbered_and_complete(sdk: openai.OpenAI) -> None:
    events = events_of(sdk, model="finance_agent", input=QUESTION)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[-1].type == "response.completed"
    final = events[-1].response
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == final.output_text and "$875.40" in text
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary.startswith("The user asks about NVDA")
    assert summary not in text  # reasoning is never the answer
    calls = [o for o in final.output if o.type == "function_call"]
    outputs = [o for o in final.output if o.type == "function_call_output"]
    assert [c.name for c in calls] == ["get_stock_price", "calculator"]
    assert [o.call_id for o in outputs] == [c.call_id for c in calls]  # each call was run
    arguments = {
        e.item_id: "" for e in events if e.type == "response.function_call_arguments.delta"
    }
    for e in events:
        if e.type == "response.function_call_arguments.delta":
            arguments[e.item_id] += e.delta
    assert list(arguments.values()) == [c.arguments for c in calls]
    usage = final.usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens > 0
    assert usage.input_tokens_details.cached_tokens == 0
    assert 0 < usage.output_tokens_details.reasoning_tokens < usage.output_tokens


def test_the_sdks_own_accumulator_reads_the_stream(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model="finance_agent", input=QUESTION) as stream:
        snapshots = [e.snapshot for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert snapshots[-1] == final.output_text
    assert [o.type for o in final.output] == [
        "reasoning",
        "function_call",
        "function_call_output",
        "reasoning",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert final.status == "completed" and final.usage is not None


def test_not_streamed_the_answer_is_the_finished_response(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(model="echo", input="hello there")
    assert (response.status, response.output_text) == ("completed", "hello there")
    again = sdk.responses.retrieve(response.id)
    assert again.model_dump() == response.model_dump()


def test_a_background_response_streams_again_after_a_sequence_number(
    sdk: openai.OpenAI,
) -> None:
    first = events_of(sdk, model="echo", input="one two three", background=True)
    response_id = first[0].response.id
    assert first[0].response.background is True
    replayed = list(sdk.responses.retrieve(response_id, stream=True, starting_after=3))
    assert [e.model_dump() for e in replayed] == [e.model_dump() for e in first[4:]]
    with sdk.responses.stream(response_id=response_id, starting_after=1) as stream:
        assert stream.get_final_response().output_text == "one two three"


def test_background_without_streaming_answers_at_once(sdk: openai.OpenAI) -> None:
    started = sdk.responses.create(
        model="writer", input="write", background=True, extra_headers=SLOW
    )
    assert started.status == "in_progress" and started.background is True
    cancelled = sdk.responses.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert sdk.responses.retrieve(started.id).status == "cancelled"


def test_a_finished_background_response_is_retrieved(sdk: openai.OpenAI) -> None:
    started = sdk.responses.create(model="echo", input="later", background=True)
    deadline = time.monotonic() + PATIENCE_S
    while (found := sdk.responses.retrieve(started.id)).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert found.output_text == "later" and found.usage is not None


def test_previous_response_id_continues_the_conversation(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model="echo", input="one two")
    second = sdk.responses.create(model="echo", input="three", previous_response_id=first.id)
    alone = sdk.responses.create(model="echo", input="three")
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > alone.usage.input_tokens  # it saw the first turn


def test_a_named_conversation_is_kept_by_the_server(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model="echo", input="one two", conversation="conv_sdk_test")
    second = sdk.responses.create(model="echo", input="three", conversation="conv_sdk_test")
    assert first.conversation is not None and first.conversation.id == "conv_sdk_test"
    assert second.usage.input_tokens > first.usage.input_tokens


@pytest.mark.parametrize(
    ("request_", "status", "param"),
    [
        ({"model": "nope", "input": "x"}, 404, "model"),
        ({"model": "echo", "input": "x", "temperature": 5}, 400, "temperature"),
        ({"model": "echo", "input": "x", "max_output_tokens": 0}, 400, "max_output_tokens"),
        ({"model": "echo", "input": "x", "previous_response_id": "resp_nope"}, 404, None),
    ],
)
def test_bad_requests_are_openai_errors(
    sdk: openai.OpenAI, request_: dict[str, Any], status: int, param: str | None
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.responses.create(**request_)
    assert caught.value.status_code == status
    if param is not None:
        assert getattr(caught.value, "param", None) == param


def test_an_unknown_response_is_a_404(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve("resp_nope")
