"""A notebook function the agent calls gets only what it declared: a Chat Completions stream
on 127.0.0.1 calls the tool with crafted arguments, and what the function receives is held to
the JSON Schema its type hints declare (strict types, no NaN or infinity, the size bound
measured on what it receives, deep nesting refused); what it raises goes back cut like a
result and readable even when the exception cannot say what it is."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pydantic
import pytest
from agentnb_testing import asgi_body, serving_asgi
from chat_chunks import chat_chunk

import agentnb
from agentnb._core.client_tools import MAX_ARGUMENT_CHARS, MAX_RESULT_CHARS

CALLS: list[list[Any]] = []
"""The pieces of the next tool call's ``arguments`` (text, or an object some servers send)."""
SENT_BACK: list[str] = []
CALLED_BACK: list[str] = []
"""The call's ``arguments`` as the thread sent back gives them."""


def _frames(request: dict[str, Any]) -> list[bytes]:
    last = request["messages"][-1]
    if last["role"] == "tool":
        SENT_BACK.append(last["content"])
        CALLED_BACK.append(request["messages"][-2]["tool_calls"][0]["function"]["arguments"])
        return [chat_chunk({"role": "assistant", "content": "done"}), chat_chunk({}, "stop")]
    name = request["tools"][0]["function"]["name"]
    pieces = [{"index": 0, "id": "call_1", "type": "function", "function": {"name": name}}]
    pieces += [{"index": 0, "function": {"arguments": piece}} for piece in CALLS.pop(0)]
    return [chat_chunk({"tool_calls": [piece]}) for piece in pieces] + [
        chat_chunk({}, "tool_calls")
    ]


async def _calls_the_tool(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = await asgi_body(scope, receive, send)
    if body is None:
        return
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    for frame in [*_frames(json.loads(body)), b"data: [DONE]\n\n"]:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(_calls_the_tool) as base:
        yield f"{base}/v1"


def _call(url: str, fn: Any, *pieces: Any) -> tuple[agentnb.Run, str]:
    """Run an agent that calls ``fn`` once with ``pieces`` as its arguments: the run, and
    what the notebook sent back for the call."""
    CALLS[:] = [list(pieces)]
    SENT_BACK.clear()
    with agentnb.AgentClient("openai", base_url=url, api_key="k", record=False) as client:
        run = client.run("m", "go", tools=[fn])
    [sent] = SENT_BACK
    return run, sent


def test_json_that_is_not_the_declared_type_never_reaches_the_function(url: str) -> None:
    received: list[Any] = []

    def pay(amount: float, times: int = 1) -> str:
        """Pay an amount."""
        if amount > 100:
            return "refused: too much"
        received.append((amount, times))
        return "paid"

    for arguments, wrong in (
        ('{"amount": NaN}', "not standard JSON (no NaN or Infinity)"),
        ('{"amount": Infinity}', "not standard JSON (no NaN or Infinity)"),
        ('{"amount": -Infinity}', "not standard JSON (no NaN or Infinity)"),
        ('{"amount": 5, "times": true}', "times: Input should be a valid integer"),
        ('{"amount": 5, "times": 2.0}', "times: Input should be a valid integer"),
        ('{"amount": 5, "times": "2"}', "times: Input should be a valid integer"),
        ('{"amount": "5"}', "amount: Input should be a valid number"),
    ):
        run, sent = _call(url, pay, arguments)
        [call] = run.tool_calls
        assert call.status == "failed" and wrong in sent, arguments
        assert sent == call.error and sent.startswith("invalid arguments for pay: ")
    assert received == []
    run, sent = _call(url, pay, '{"amount": 5, "times": 2}')  # an int is a JSON number
    assert (sent, received) == ("paid", [(5.0, 2)]) and type(received[0][0]) is float


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.Enum):
    OFF = 0
    ON = 1


def test_a_boolean_is_not_a_number_a_literal_or_an_enum_holds(url: str) -> None:
    # pydantic's strict mode takes JSON true for Literal[1] and an IntEnum (pydantic#9991)
    received: list[Any] = []

    def set_level(
        level: Level,
        mode: Mode = Mode.OFF,
        one: Literal[1] = 1,
        flag: Literal[True] = True,
        either: Literal[1, "x"] = "x",
        many: list[Literal[0, 1]] | None = None,
    ) -> str:
        """Set a level."""
        received.append((level, mode, one, flag, either, many))
        return "set"

    for arguments, wrong in (
        ('{"level": true}', "level: Input should be a number (one of 1, 2), not a boolean"),
        ('{"level": 1, "mode": true}', "mode: Input should be a number (one of 0, 1)"),
        ('{"level": 1, "mode": false}', "mode: Input should be a number (one of 0, 1)"),
        ('{"level": 1, "one": true}', "one: Input should be a number (1), not a boolean"),
        ('{"level": 1, "flag": 1}', "flag: Input should be a boolean (true), not a number"),
        ('{"level": 1, "either": true}', "either: Input should be a number or a string"),
        ('{"level": 1, "many": [0, false]}', "many.1: Input should be a number (one of 0, 1)"),
    ):
        run, sent = _call(url, set_level, arguments)
        [call] = run.tool_calls
        assert call.status == "failed" and wrong in sent, (arguments, sent)
    assert received == []
    arguments = '{"level": 2, "mode": 1, "one": 1, "flag": true, "either": 1, "many": [1, 0]}'
    assert _call(url, set_level, arguments)[1] == "set"
    assert received == [(Level.HIGH, Mode.ON, 1, True, 1, [1, 0])]
    assert type(received[0][4]) is int


def test_nan_arrives_only_where_the_annotation_allows_it(url: str) -> None:
    received: list[Any] = []

    def measure(reading: Annotated[float, pydantic.Field(allow_inf_nan=True)]) -> str:
        """Keep a reading, which may be NaN."""
        received.append(reading)
        return "kept"

    def note(values: list[Any]) -> str:
        """Note some values."""
        received.append(values)
        return "noted"

    assert _call(url, measure, '{"reading": NaN}')[1] == "kept"
    assert math.isnan(received.pop())
    _, sent = _call(url, note, '{"values": [1, Infinity]}')  # untyped, still JSON only
    assert sent.startswith("invalid arguments for note: not standard JSON (no NaN or Infinity)")
    assert received == []


def test_the_annotations_constraints_hold(url: str) -> None:
    received: list[float] = []

    def pay(amount: Annotated[float, pydantic.Field(gt=0, le=100)]) -> str:
        """Pay an amount."""
        received.append(amount)
        return "paid"

    assert agentnb.tool(pay).parameters["properties"]["amount"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 100,
    }
    _, sent = _call(url, pay, '{"amount": -5}')
    assert sent == "invalid arguments for pay: amount: Input should be greater than 0"
    assert _call(url, pay, '{"amount": 100}')[1] == "paid" and received == [100.0]


def test_the_size_bound_measures_what_the_function_would_receive(url: str) -> None:
    received: list[int] = []

    def take(items: list[str]) -> str:
        """Take the items."""
        received.append(len(items))
        return "taken"

    big = {"items": ["x" * 1000] * 3000}  # 3,000,000 characters, after 12 of streamed text
    run, sent = _call(url, take, '{"items": []', big)
    assert received == []
    assert sent.startswith("the arguments are 30") and f"over the {MAX_ARGUMENT_CHARS}" in sent
    assert run.tool_calls[0].status == "failed" and run.status == "completed"
    fits = {"items": ["x" * 1000] * 90}
    assert _call(url, take, fits)[1] == "taken" and received == [90]


def test_streamed_text_and_parsed_arguments_that_disagree_run_nothing(url: str) -> None:
    """Text pieces, then the arguments as an object, saying another thing: the function
    would run with the object while the thread sent back says the text; denied."""
    received: list[int] = []

    def take(items: list[str]) -> str:
        """Take the items."""
        received.append(len(items))
        return "taken"

    run, sent = _call(url, take, '{"items": []}', {"items": ["a", "b"]})
    assert received == [] and "versions of this call that disagree" in sent
    assert run.tool_calls[0].status == "failed" and run.status == "completed"
    run, sent = _call(url, take, '{"items": ["a", "b"]}', {"items": ["a", "b"]})
    assert (sent, received) == ("taken", [2])  # the same call twice over: it runs
    assert json.loads(CALLED_BACK[-1]) == {"items": ["a", "b"]}  # as it ran, said once


def test_deep_nesting_is_a_tool_error_not_the_end_of_the_run(url: str) -> None:
    def take(items: list[Any]) -> str:
        """Take the items."""
        return "taken"

    depth = 45_000  # 90,000 characters of nested arrays
    run, sent = _call(url, take, '{"items": ' + "[" * depth + "]" * depth + "}")
    assert run.status == "completed" and run.text == "done"
    assert run.tool_calls[0].status == "failed"
    assert sent.startswith("invalid arguments for take: ") and "nested too deep" in sent


def test_an_exception_goes_back_cut_like_a_result(url: str) -> None:
    def boom() -> str:
        """Fail loudly."""
        raise ValueError("e" * 5_000_000)

    run, sent = _call(url, boom, "{}")
    assert run.status == "completed"
    assert len(sent) < MAX_RESULT_CHARS + 100 and sent.startswith("ValueError: eee")
    assert sent.endswith(f"[cut: {5_000_012 - MAX_RESULT_CHARS} more characters not sent]")
    assert run.tool_calls[0].error == sent


class Unreadable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str broke")

    def __repr__(self) -> str:
        raise RuntimeError("repr broke")


def test_an_exception_that_cannot_say_what_it_is_is_still_an_error(url: str) -> None:
    def bad() -> str:
        """Fail without a message."""
        raise Unreadable

    run, sent = _call(url, bad, "{}")
    assert run.status == "completed" and run.text == "done"
    assert sent == "Unreadable (its message could not be read: RuntimeError)"
    assert run.tool_calls[0].status == "failed"


class UnreadableResult:
    def __repr__(self) -> str:
        raise RuntimeError("repr broke")


def test_a_result_that_cannot_be_written_as_text_is_still_a_result(url: str) -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    given: list[Any] = []

    def give() -> Any:
        """Give back something."""
        return given[-1]

    for returned, said in (
        (UnreadableResult(), "UnreadableResult (it could not be written as text: RuntimeError)"),
        (deep, "list (it could not be written as text: RecursionError)"),
    ):
        given.append(returned)
        run, sent = _call(url, give, "{}")
        assert (run.status, run.text, sent) == ("completed", "done", said)
